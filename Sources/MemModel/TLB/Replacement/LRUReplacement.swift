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
    /// Narrow sets: the stamps alone.
    private var stamps: [UInt64]
    private var clock: UInt64 = 0
    private let ways: Int
    private let entries: Int
    private let listed: Bool
    /// Wide sets: entry `e`'s stamp and list links at `e`; set `s`'s
    /// sentinel at `entries + s`, whose `newer` is the set's oldest entry
    /// and whose `older` its newest (a circular list, so a move has no end
    /// cases). One array, so a stamp checks one buffer's uniqueness.
    private var nodes: [Node] = []

    struct Node: Sendable {
        var older: Int32
        var newer: Int32
        var stamp: UInt64
    }

    init(_ spec: TLBSpec) {
        ways = spec.ways
        entries = spec.entries
        listed = spec.ways > TLB<LRUReplacement>.scanWays
        stamps = listed ? [] : Array(repeating: 0, count: spec.entries)
        if listed {
            // Unstamped entries rank by way: each list starts in way order.
            nodes.reserveCapacity(spec.entries + spec.sets)
            for e in 0 ..< spec.entries {
                let way = e % ways, sentinel = Int32(spec.entries + e / ways)
                nodes.append(Node(older: way == 0 ? sentinel : Int32(e - 1),
                                  newer: way == ways - 1 ? sentinel : Int32(e + 1), stamp: 0))
            }
            for s in 0 ..< spec.sets {
                nodes.append(Node(older: Int32(s * ways + ways - 1), newer: Int32(s * ways), stamp: 0))
            }
        }
    }

    @inline(__always)
    mutating func stamp(_ entry: Int) {
        clock &+= 1
        if listed { moveToTail(entry) } else { stamps[entry] = clock }
    }

    @inline(__always)
    private func sentinel(_ entry: Int) -> Int { ways == entries ? entries : entries &+ entry / ways }

    private mutating func moveToTail(_ entry: Int) {
        let sentinel = sentinel(entry)
        let clock = clock
        nodes.withUnsafeMutableBufferPointer { n in
            n[entry].stamp = clock
            let t = n[sentinel].older
            let e = Int32(truncatingIfNeeded: entry)
            guard t != e else { return }
            let o = Int(n[entry].older), w = Int(n[entry].newer)
            n[o].newer = Int32(truncatingIfNeeded: w)
            n[w].older = Int32(truncatingIfNeeded: o)
            n[Int(t)].newer = e
            n[entry].older = t
            n[entry].newer = Int32(truncatingIfNeeded: sentinel)
            n[sentinel].older = e
        }
    }

    /// The way of `base ..< base + ways` with the smallest stamp, the lowest on a tie.
    @inline(__always)
    func oldest(_ base: Int) -> Int {
        if listed { return Int(nodes[sentinel(base)].newer) }
        var victim = base
        for i in base &+ 1 ..< base &+ ways where stamps[i] < stamps[victim] { victim = i }
        return victim
    }

    /// Each list holds its set's entries in (stamp, way) order.
    func invariantViolation() -> String? {
        guard listed else { return nil }
        for set in 0 ..< (nodes.count - entries) {
            let sentinel = entries + set
            var seen = 0
            var previous = sentinel
            var i = Int(nodes[sentinel].newer)
            while i != sentinel {
                guard i >= 0, i < entries, i / ways == set, seen < ways else { return "LRU list of set \(set) holds entry \(i)" }
                if previous != sentinel && (nodes[previous].stamp, previous) >= (nodes[i].stamp, i) {
                    return "LRU list of set \(set): entry \(previous) before entry \(i) but not older"
                }
                guard nodes[i].older == Int32(previous) else { return "LRU list of set \(set): broken back link at entry \(i)" }
                previous = i
                seen += 1
                i = Int(nodes[i].newer)
            }
            guard seen == ways, nodes[sentinel].older == Int32(previous) else { return "LRU list of set \(set) holds \(seen) of \(ways) entries" }
        }
        return nil
    }
}
