/// A TLB geometry and policy, as given on the command line: `ENTRIES[:WAYS|full][:POLICY]`.
public struct TLBSpec: Sendable, Codable, Equatable, CustomStringConvertible {
    public var entries: Int
    public var ways: Int
    public var policy: TLBReplacementKind

    public init(entries: Int, ways: Int, policy: TLBReplacementKind) {
        self.entries = entries
        self.ways = ways
        self.policy = policy
    }

    public static let defaultSpec = TLBSpec(entries: 64, ways: 4, policy: .lru)

    public var sets: Int { entries / ways }

    public var description: String {
        "\(entries):\(ways == entries ? "full" : String(ways)):\(policy.rawValue)"
    }

    static func policyNames(_ separator: String) -> String {
        TLBReplacementKind.allCases.map(\.rawValue).joined(separator: separator)
    }

    /// Parses `64`, `64:4`, `64:full`, `64:4:lru`, `256:8:random`.
    public init(parsing text: String) throws(SpecError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), let e = Int(parts[0]), e > 0 else {
            throw SpecError("bad TLB spec '\(text)': expected ENTRIES[:WAYS|full][:\(Self.policyNames("|"))]")
        }
        var ways = min(4, e)
        var policy = TLBReplacementKind.lru
        if parts.count >= 2 {
            if parts[1] == "full" {
                ways = e
            } else if let w = Int(parts[1]), w > 0 {
                ways = w
            } else if parts.count == 2, let p = TLBReplacementKind(rawValue: parts[1]) {
                policy = p
            } else {
                throw SpecError("bad TLB ways '\(parts[1])' in '\(text)': a number or 'full'")
            }
        }
        if parts.count == 3 {
            guard let p = TLBReplacementKind(rawValue: parts[2]) else {
                throw SpecError("bad TLB policy '\(parts[2])' in '\(text)': \(Self.policyNames(", "))")
            }
            policy = p
        }
        guard e <= 65_536 else { throw SpecError("TLB of \(e) entries is too large (at most 65536)") }
        guard e % ways == 0 else { throw SpecError("TLB entries \(e) are not a multiple of ways \(ways)") }
        let sets = e / ways
        guard sets & (sets - 1) == 0 else {
            throw SpecError("TLB of \(e) entries and \(ways) ways has \(sets) sets: the set count must be a power of two (sets are indexed by low page-number bits)")
        }
        if let why = policy.unsupported(ways: ways) {
            throw SpecError("TLB policy \(policy.rawValue) in '\(text)': \(why)")
        }
        self.init(entries: e, ways: ways, policy: policy)
    }
}

extension TLBSpec {
    /// Checks a spec made in code or decoded (a sweep plan, a stored
    /// config) by the rules of ``init(parsing:)``: a TLB of 0 entries or 0
    /// ways would trap in the model.
    public func validate() throws(SpecError) {
        guard entries > 0, ways > 0, ways <= entries else {
            throw SpecError("bad TLB geometry: \(entries) entries, \(ways) ways")
        }
        let parsed = try TLBSpec(parsing: description)
        guard parsed == self else { throw SpecError("bad TLB geometry: \(entries) entries, \(ways) ways") }
    }
}

/// A bad command-line specification.
public struct SpecError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
