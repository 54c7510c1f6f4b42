/// Least recently used first: a hit moves the page to the young end, and
/// reclaim takes clean pages from the old end.
public struct LRUEviction: PageCacheEviction {
    private var scan = OldestFirstScan()

    public init() {}

    @inline(__always)
    public mutating func hit(_ slot: Int32, _ ages: inout AgeList) { ages.moveToYoung(slot) }

    public mutating func beginEviction(_ ages: AgeList) { scan.begin(ages) }

    public mutating func nextCandidate(_ ages: AgeList, count: Int) -> Int32? { scan.next(ages) }
}
