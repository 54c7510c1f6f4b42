/// A TLB replacement policy: which live entry of a full set to give up.
///
/// A policy owns its per-entry or per-set state and hears of every hit
/// (`touched`) and fill (`inserted`) by entry index (set · ways + way). The
/// TLB fills empty and stale ways itself, so `victim` is asked only when every
/// way of the set is live. Policies are value types and the TLB is generic
/// over them, so the lookup on the per-access path specializes and inlines.
///
/// Adding a policy is one file in `Replacement/` and one case in
/// ``TLBReplacementKind``.
public protocol TLBReplacement: Sendable {
    /// State for a TLB of `spec`'s geometry; `seed` feeds any randomness.
    init(_ spec: TLBSpec, seed: UInt64)
    /// A lookup hit entry `entry`.
    mutating func touched(_ entry: Int)
    /// The entry to evict from the full set `set`, whose ways are `base ..< base + ways`.
    mutating func victim(set: Int, base: Int) -> Int
    /// Entry `entry` was just filled.
    mutating func inserted(_ entry: Int)
    /// Whether, once the policy has heard of entry `e` (`touched` or
    /// `inserted`), more `touched(e)` — while it hears of no other entry of
    /// `e`'s set — change nothing that `victim` will ever see. When it
    /// holds, the TLB answers such hits without telling the policy (see
    /// ``TLB/lookup(_:)``). It holds for recency stamps (`e` is already its
    /// set's newest; sets never compare stamps with each other), FIFO and
    /// random (a hit is ignored) and tree PLRU (the same bits are set
    /// again); a policy that counts hits would say `false`, the default.
    static var repeatedTouchChangesNothing: Bool { get }
    /// Why this policy cannot run a TLB of `ways` ways, if it cannot.
    static func unsupported(ways: Int) -> String?
    /// The first disagreement in the policy's own state, if any (`--check`).
    func invariantViolation() -> String?
}

extension TLBReplacement {
    public static var repeatedTouchChangesNothing: Bool { false }
    public static func unsupported(ways: Int) -> String? { nil }
    public func invariantViolation() -> String? { nil }
}

/// The TLB replacement policies, by their command-line names
/// (`--tlb ENTRIES:WAYS:POLICY`).
public enum TLBReplacementKind: String, CaseIterable, Sendable, Codable {
    case lru, fifo, random, plru

    /// The one dispatch from a name to its policy type: calls `visitor`
    /// with the concrete type, so the code it runs is specialized for it.
    @inline(__always)
    public func visit<V: TLBReplacementVisitor>(_ visitor: V) throws(V.Failure) -> V.Result {
        switch self {
        case .lru: try visitor.visit(LRUReplacement.self)
        case .fifo: try visitor.visit(FIFOReplacement.self)
        case .random: try visitor.visit(RandomReplacement.self)
        case .plru: try visitor.visit(TreePLRUReplacement.self)
        }
    }

    /// Why this policy cannot run a TLB of `ways` ways, if it cannot.
    func unsupported(ways: Int) -> String? {
        struct Ask: TLBReplacementVisitor {
            let ways: Int
            func visit<R: TLBReplacement>(_ type: R.Type) -> String? { R.unsupported(ways: ways) }
        }
        return visit(Ask(ways: ways))
    }
}

/// Code to run with a TLB policy's concrete type (see ``TLBReplacementKind/visit(_:)``).
public protocol TLBReplacementVisitor {
    associatedtype Result
    associatedtype Failure: Error = Never
    func visit<R: TLBReplacement>(_ type: R.Type) throws(Failure) -> Result
}

/// Any policy, chosen when the replay starts: for a machine whose ITLB and
/// data TLB use different policies (both TLBs share the machine's type
/// parameter). Each call goes through the existential, which a replay with
/// one policy never pays.
public struct AnyTLBReplacement: TLBReplacement {
    private var base: any TLBReplacement

    public init(_ spec: TLBSpec, seed: UInt64) {
        struct Make: TLBReplacementVisitor {
            let spec: TLBSpec, seed: UInt64
            func visit<R: TLBReplacement>(_ type: R.Type) -> any TLBReplacement { R(spec, seed: seed) }
        }
        base = spec.policy.visit(Make(spec: spec, seed: seed))
    }

    public mutating func touched(_ entry: Int) { base.touched(entry) }
    public mutating func victim(set: Int, base b: Int) -> Int { base.victim(set: set, base: b) }
    public mutating func inserted(_ entry: Int) { base.inserted(entry) }
    public func invariantViolation() -> String? { base.invariantViolation() }
}
