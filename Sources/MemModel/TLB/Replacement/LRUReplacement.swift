/// Least recently used: the victim is the entry whose last hit or fill is
/// oldest.
///
/// Every hit and fill takes the next value of one clock shared by all sets
/// (a 64-bit counter that cannot wrap in a replay); the victim is the way
/// with the smallest stamp, the lowest way on a tie.
/// - Complexity: O(1) per hit; O(ways) per victim in sets of up to
///   ``TLB/scanWays`` ways, O(1) in wider ones.
public struct LRUReplacement: TLBReplacement {
    private var stamps: Stamps

    /// True: the entry touched last is already the newest.
    public static var repeatedTouchChangesNothing: Bool { true }

    public init(_ spec: TLBSpec, seed: UInt64) { stamps = Stamps(spec) }

    @inline(__always)
    public mutating func touched(_ entry: Int) { stamps.stamp(entry) }

    @inline(__always)
    public mutating func victim(set: Int, base: Int) -> Int { stamps.oldest(base) }

    @inline(__always)
    public mutating func inserted(_ entry: Int) { stamps.stamp(entry) }

    public func invariantViolation() -> String? { stamps.invariantViolation() }
}

/// One age stamp per entry from a clock shared by all sets: the state of the
/// policies that evict the oldest entry (LRU stamps hits and fills, FIFO
/// fills only).
///
/// Sets of up to ``TLB/scanWays`` ways find the oldest entry by scanning the
/// stamps. Wider sets also keep their entries in a doubly linked list in
/// order of (stamp, way) — the order a scan would rank them in — so the
/// oldest is the list's head: a stamp moves its entry to the tail (it is
/// the newest), in O(1) whatever the ways.
struct Stamps: Sendable {
    private var stamps: [UInt64]
    private var clock: UInt64 = 0
    private let ways: Int
    private let listed: Bool
    /// The lists (wide sets only): entry `e`'s older neighbour at `2e`, its
    /// newer one at `2e + 1`; -1 ends a list. One array, so a move checks
    /// one buffer's uniqueness instead of two.
    private var links: [Int32] = []
    /// Set `s`'s head (oldest) at `2s`, its tail (newest) at `2s + 1`.
    private var ends: [Int32] = []

    init(_ spec: TLBSpec) {
        stamps = Array(repeating: 0, count: spec.entries)
        ways = spec.ways
        listed = spec.ways > TLB<LRUReplacement>.scanWays
        if listed {
            // Unstamped entries rank by way: each list starts in way order.
            links.reserveCapacity(2 * spec.entries)
            for e in 0 ..< spec.entries {
                let way = e % ways
                links.append(way == 0 ? -1 : Int32(e - 1))
                links.append(way == ways - 1 ? -1 : Int32(e + 1))
            }
            for s in 0 ..< spec.sets {
                ends.append(Int32(s * ways))
                ends.append(Int32(s * ways + ways - 1))
            }
        }
    }

    @inline(__always)
    mutating func stamp(_ entry: Int) {
        clock &+= 1
        stamps[entry] = clock
        if listed { moveToTail(entry) }
    }

    private mutating func moveToTail(_ entry: Int) {
        let set = ways == stamps.count ? 0 : entry / ways
        let e = Int32(entry)
        ends.withUnsafeMutableBufferPointer { ends in
            guard ends[2 &* set &+ 1] != e else { return }
            links.withUnsafeMutableBufferPointer { links in
                let o = links[2 &* entry], n = links[2 &* entry &+ 1]
                if o >= 0 { links[2 &* Int(o) &+ 1] = n } else { ends[2 &* set] = n }
                links[2 &* Int(n)] = o  // not the tail, so it has a newer neighbour
                let t = ends[2 &* set &+ 1]
                links[2 &* Int(t) &+ 1] = e
                links[2 &* entry] = t
                links[2 &* entry &+ 1] = -1
                ends[2 &* set &+ 1] = e
            }
        }
    }

    /// The way of `base ..< base + ways` with the smallest stamp, the lowest on a tie.
    @inline(__always)
    func oldest(_ base: Int) -> Int {
        if listed { return Int(ends[2 * (ways == stamps.count ? 0 : base / ways)]) }
        var victim = base
        for i in base &+ 1 ..< base &+ ways where stamps[i] < stamps[victim] { victim = i }
        return victim
    }

    /// Each list holds its set's entries in (stamp, way) order.
    func invariantViolation() -> String? {
        guard listed else { return nil }
        for set in 0 ..< ends.count / 2 {
            var seen = 0
            var previous = -1
            var i = Int(ends[2 * set])
            while i >= 0 {
                guard i / ways == set, seen < ways else { return "LRU list of set \(set) holds entry \(i)" }
                if previous >= 0 && (stamps[previous], previous) >= (stamps[i], i) {
                    return "LRU list of set \(set): entry \(previous) before entry \(i) but not older"
                }
                guard links[2 * i] == Int32(previous) else { return "LRU list of set \(set): broken back link at entry \(i)" }
                previous = i
                seen += 1
                i = Int(links[2 * i + 1])
            }
            guard seen == ways, ends[2 * set + 1] == Int32(previous) else { return "LRU list of set \(set) holds \(seen) of \(ways) entries" }
        }
        return nil
    }
}
