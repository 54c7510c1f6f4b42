/// Oldest insertion first: hits do not reorder, reclaim takes clean pages
/// from the old end.
public struct FIFOEviction: PageCacheEviction {
    private var scan = OldestFirstScan()

    public init() {}

    @inline(__always)
    public mutating func hit(_ slot: Int32, _ ages: inout AgeList) {}

    public mutating func beginEviction(_ ages: AgeList) { scan.begin(ages) }

    public mutating func nextCandidate(_ ages: AgeList, count: Int) -> Int32? { scan.next(ages) }
}
