/// A page-cache eviction policy: the order in which `page_cache_reclaim`
/// gives up clean pages.
///
/// The cache keeps every page on one age list (``AgeList``: young end `head`,
/// old end `tail`, pages in insertion order unless a policy moves them). A
/// policy owns whatever else it needs per page (CLOCK's referenced bits, its
/// hand) and hears of hits, insertions and removals by slot. To evict, the
/// cache calls ``beginEviction(_:)`` once, then ``nextCandidate(_:count:)``
/// until it has enough pages or the policy returns `nil`: a dirty candidate
/// (or one on another node) is skipped, a clean one is evicted unless the
/// policy ``spares(_:)`` it. Each victim is removed before the next call.
///
/// The page cache is off the per-access path, so it holds its policy as an
/// existential: adding a policy is one file in `Eviction/` and one case in
/// ``PageCacheEvictionKind``.
public protocol PageCacheEviction: Sendable {
    init()
    /// A lookup hit the page in `slot`.
    mutating func hit(_ slot: Int32, _ ages: inout AgeList)
    /// A page was inserted in `slot`, at the young end.
    mutating func inserted(_ slot: Int32)
    /// The page in `slot` is about to leave the cache (evicted or dropped).
    mutating func removing(_ slot: Int32, _ ages: AgeList)
    /// Starts one reclaim pass.
    mutating func beginEviction(_ ages: AgeList)
    /// The next page the pass looks at, or `nil` when it should stop.
    /// `count` is the number of cached pages now.
    mutating func nextCandidate(_ ages: AgeList, count: Int) -> Int32?
    /// Whether a clean candidate gets another chance instead of being evicted.
    mutating func spares(_ slot: Int32) -> Bool
}

extension PageCacheEviction {
    public mutating func spares(_ slot: Int32) -> Bool { false }
    public mutating func inserted(_ slot: Int32) {}
    public mutating func removing(_ slot: Int32, _ ages: AgeList) {}
}

/// The page-cache eviction policies, by their command-line names
/// (`--page-cache-policy`).
public enum PageCacheEvictionKind: String, CaseIterable, Sendable, Codable {
    case lru, fifo, clock

    /// The one dispatch from a name to its policy.
    public func makePolicy() -> any PageCacheEviction {
        switch self {
        case .lru: LRUEviction()
        case .fifo: FIFOEviction()
        case .clock: ClockEviction()
        }
    }
}

/// The cache's pages in age order, linked by slot: `older` towards the tail
/// (evicted first by LRU and FIFO), `newer` towards the head.
public struct AgeList: Sendable {
    public private(set) var head: Int32 = -1
    public private(set) var tail: Int32 = -1
    private var newerOf: [Int32] = []
    private var olderOf: [Int32] = []

    @inline(__always) public func newer(_ s: Int32) -> Int32 { newerOf[Int(s)] }
    @inline(__always) public func older(_ s: Int32) -> Int32 { olderOf[Int(s)] }

    /// Links `s` at the young end.
    mutating func pushYoung(_ s: Int32) {
        if Int(s) >= newerOf.count {
            newerOf.append(contentsOf: repeatElement(-1, count: Int(s) + 1 - newerOf.count))
            olderOf.append(contentsOf: repeatElement(-1, count: Int(s) + 1 - olderOf.count))
        }
        olderOf[Int(s)] = head
        newerOf[Int(s)] = -1
        if head >= 0 { newerOf[Int(head)] = s }
        head = s
        if tail < 0 { tail = s }
    }

    /// Unlinks `s`.
    mutating func unlink(_ s: Int32) {
        let newer = newerOf[Int(s)], older = olderOf[Int(s)]
        if newer >= 0 { olderOf[Int(newer)] = older } else { head = older }
        if older >= 0 { newerOf[Int(older)] = newer } else { tail = newer }
    }

    /// Moves `s` to the young end.
    @inline(__always)
    public mutating func moveToYoung(_ s: Int32) {
        guard s != head else { return }
        unlink(s)
        pushYoung(s)
    }
}

/// The scan LRU and FIFO share: one pass from the old end towards the young end.
struct OldestFirstScan: Sendable {
    private var cursor: Int32 = -1

    mutating func begin(_ ages: AgeList) { cursor = ages.tail }

    /// The page at the cursor, which moves on to the next younger page
    /// first, so the caller may remove the page returned.
    mutating func next(_ ages: AgeList) -> Int32? {
        guard cursor >= 0 else { return nil }
        let s = cursor
        cursor = ages.newer(s)
        return s
    }
}
