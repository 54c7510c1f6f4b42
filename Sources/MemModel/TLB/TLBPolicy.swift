/// Replacement policies for a TLB set.
///
/// Each policy is a rule over two per-entry facts the TLB keeps: the tick of
/// the entry's last use and of its insertion (`stamp`), and a seeded random
/// stream. Adding a policy is one case here and its rule in `victim`/`touch`.
public enum TLBPolicy: String, CaseIterable, Sendable, Codable {
    /// Least recently used: a hit refreshes the entry's stamp.
    case lru
    /// First in, first out: the stamp is the insertion time only.
    case fifo
    /// A uniformly random way, from a seeded xorshift stream (reproducible).
    case random

    /// Whether a hit refreshes the entry's age.
    @inline(__always)
    var refreshesOnHit: Bool { self == .lru }
}

/// A TLB geometry and policy, as given on the command line: `ENTRIES[:WAYS|full][:POLICY]`.
public struct TLBSpec: Sendable, Codable, Equatable, CustomStringConvertible {
    public var entries: Int
    public var ways: Int
    public var policy: TLBPolicy

    public init(entries: Int, ways: Int, policy: TLBPolicy) {
        self.entries = entries
        self.ways = ways
        self.policy = policy
    }

    public static let defaultSpec = TLBSpec(entries: 64, ways: 4, policy: .lru)

    public var sets: Int { entries / ways }

    public var description: String {
        "\(entries):\(ways == entries ? "full" : String(ways)):\(policy.rawValue)"
    }

    /// Parses `64`, `64:4`, `64:full`, `64:4:lru`, `256:8:random`.
    public init(parsing text: String) throws(SpecError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), let e = Int(parts[0]), e > 0 else {
            throw SpecError("bad TLB spec '\(text)': expected ENTRIES[:WAYS|full][:lru|fifo|random]")
        }
        var ways = min(4, e)
        var policy = TLBPolicy.lru
        if parts.count >= 2 {
            if parts[1] == "full" {
                ways = e
            } else if let w = Int(parts[1]), w > 0 {
                ways = w
            } else if parts.count == 2, let p = TLBPolicy(rawValue: parts[1]) {
                policy = p
            } else {
                throw SpecError("bad TLB ways '\(parts[1])' in '\(text)': a number or 'full'")
            }
        }
        if parts.count == 3 {
            guard let p = TLBPolicy(rawValue: parts[2]) else {
                throw SpecError("bad TLB policy '\(parts[2])' in '\(text)': lru, fifo or random")
            }
            policy = p
        }
        guard e <= 65_536 else { throw SpecError("TLB of \(e) entries is too large (at most 65536)") }
        guard e % ways == 0 else { throw SpecError("TLB entries \(e) are not a multiple of ways \(ways)") }
        let sets = e / ways
        guard sets & (sets - 1) == 0 else {
            throw SpecError("TLB of \(e) entries and \(ways) ways has \(sets) sets: the set count must be a power of two (sets are indexed by low page-number bits)")
        }
        self.init(entries: e, ways: ways, policy: policy)
    }
}

/// A bad command-line specification.
public struct SpecError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
