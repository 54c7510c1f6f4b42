/// Second chance (CLOCK, Corbató 1968): a hit sets the page's referenced bit;
/// the hand sweeps from the old end towards the young end (wrapping to the
/// old end), clearing a set bit once before the page can be evicted.
///
/// The hand persists between reclaim passes. One pass takes at most
/// 2·count + 2 steps, so it ends even when every page is dirty or referenced.
public struct ClockEviction: PageCacheEviction {
    private var referenced: [Bool] = []
    /// The next page the sweep looks at, or -1 (start at the old end).
    private var hand: Int32 = -1
    private var steps = 0

    public init() {}

    @inline(__always)
    public mutating func hit(_ slot: Int32, _ ages: inout AgeList) { referenced[Int(slot)] = true }

    public mutating func inserted(_ slot: Int32) {
        if Int(slot) >= referenced.count {
            referenced.append(contentsOf: repeatElement(false, count: Int(slot) + 1 - referenced.count))
        }
        referenced[Int(slot)] = false
    }

    public mutating func removing(_ slot: Int32, _ ages: AgeList) {
        if hand == slot { hand = ages.newer(slot) }
    }

    public mutating func beginEviction(_ ages: AgeList) {
        steps = 0
        if hand < 0 { hand = ages.tail }
    }

    public mutating func nextCandidate(_ ages: AgeList, count: Int) -> Int32? {
        guard steps < 2 * count + 2 else { return nil }
        if hand < 0 { hand = ages.tail }
        let s = hand
        hand = ages.newer(s)
        steps += 1
        return s
    }

    /// A referenced page loses its bit instead of its place.
    public mutating func spares(_ slot: Int32) -> Bool {
        guard referenced[Int(slot)] else { return false }
        referenced[Int(slot)] = false
        return true
    }
}
