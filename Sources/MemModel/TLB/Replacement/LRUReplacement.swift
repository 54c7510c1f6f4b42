/// Least recently used: the victim is the entry whose last hit or fill is
/// oldest.
///
/// Every hit and fill takes the next value of one clock shared by all sets
/// (a 64-bit counter that cannot wrap in a replay); the victim is the way
/// with the smallest stamp, the lowest way on a tie.
/// - Complexity: O(1) per hit, O(ways) per victim.
public struct LRUReplacement: TLBReplacement {
    private var stamps: Stamps

    public init(_ spec: TLBSpec, seed: UInt64) { stamps = Stamps(spec) }

    @inline(__always)
    public mutating func touched(_ entry: Int) { stamps.stamp(entry) }

    @inline(__always)
    public mutating func victim(set: Int, base: Int) -> Int { stamps.oldest(base) }

    @inline(__always)
    public mutating func inserted(_ entry: Int) { stamps.stamp(entry) }
}

/// One age stamp per entry from a clock shared by all sets: the state of the
/// policies that evict the oldest entry (LRU stamps hits and fills, FIFO
/// fills only).
struct Stamps: Sendable {
    private var stamps: [UInt64]
    private var clock: UInt64 = 0
    private let ways: Int

    init(_ spec: TLBSpec) {
        stamps = Array(repeating: 0, count: spec.entries)
        ways = spec.ways
    }

    @inline(__always)
    mutating func stamp(_ entry: Int) {
        clock &+= 1
        stamps[entry] = clock
    }

    /// The way of `base ..< base + ways` with the smallest stamp, the lowest on a tie.
    @inline(__always)
    func oldest(_ base: Int) -> Int {
        var victim = base
        for i in base &+ 1 ..< base &+ ways where stamps[i] < stamps[victim] { victim = i }
        return victim
    }
}
