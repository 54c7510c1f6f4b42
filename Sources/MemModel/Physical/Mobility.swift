/// What grouping by mobility reports: the free lists by migrate type, the
/// pageblocks' types, and the allocations that had to fall back.
///
/// Linux 3.6 names, `mm/vmstat.c` lines 611–620 (`migratetype_names`) and
/// the `mm_page_alloc_extfrag` tracepoint (`include/trace/events/kmem.h`
/// lines 267–303).

/// `/proc/pagetypeinfo` of one zone: free blocks per migrate type and
/// order, and pageblocks per type.
public struct PageTypeInfo: Sendable, Equatable {
    /// The pageblock types, in `enum migratetype` order (3.6, CMA off):
    /// the three allocation types, then MIGRATE_RESERVE. MIGRATE_ISOLATE,
    /// which only memory hot-remove and CMA use, is never set here and
    /// prints as zeros.
    public static let typeNames = ["Unmovable", "Reclaimable", "Movable", "Reserve"]
    /// The index of MIGRATE_RESERVE.
    public static let reserve = 3

    /// `freeBlocks[type][order]`: entries on `free_area[order].free_list[type]`.
    public var freeBlocks: [[Int]]
    /// Pageblocks whose type bits say each type.
    public var pageblocks: [Int]

    public init(freeBlocks: [[Int]], pageblocks: [Int]) {
        self.freeBlocks = freeBlocks
        self.pageblocks = pageblocks
    }
}

/// Allocations an allocator served from another migrate type's free lists,
/// counted as the `mm_page_alloc_extfrag` tracepoint reports them.
public struct MobilityCounters: CounterSet {
    /// Every `__rmqueue_fallback()` that returned a page: one
    /// `mm_page_alloc_extfrag` event.
    public var fallbacks = 0
    /// Of those, the ones with `fragmenting=1`: the block taken was smaller
    /// than a pageblock, so two types now share a pageblock.
    public var fragmenting = 0
    /// Of those, the ones with `change_ownership=1` (3.6's meaning): the
    /// free pages of the whole pageblock moved to the requested type's lists.
    public var steals = 0
    /// Pageblocks whose type changed to the requested type (a steal that
    /// found at least half of the pageblock free).
    public var claims = 0
    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("extfrag_fallbacks", &fallbacks)
        v.counter("extfrag_fragmenting", &fragmenting)
        v.counter("extfrag_steals", &steals)
        v.counter("pageblock_claims", &claims)
    }
}
