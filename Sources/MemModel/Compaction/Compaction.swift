import MemTrace

/// When memory compaction runs (`--compaction`).
public enum CompactionMode: String, CaseIterable, Sendable, Codable {
    /// Never: fragmentation is only watched.
    case off
    /// For an allocation of order > 0 that finds no free block, before
    /// direct reclaim, when the fragmentation index says fragmentation is
    /// the cause (`__alloc_pages_direct_compact`, Linux 3.6).
    case direct
    /// As `direct`, and at every tick close while the fragmentation score is
    /// above the proactiveness watermark (kcompactd, Linux 5.9).
    case proactive
}

/// Memory compaction as Linux 3.6's `mm/compaction.c` does it, per NUMA
/// node (one zone each): the state that outlives one run and the counters,
/// named as `/proc/vmstat` names them (3.8's names for the scanner and
/// migration counts, which 3.6 did not have yet).
///
/// A run (`compact_zone`, L754–828) moves a **migration scanner** up from the
/// bottom of the zone, isolating movable in-use pages 32 at a time
/// (`isolate_migratepages_range`, L270–406), and a **free scanner** down
/// from the top, one pageblock at a time, isolating every free block of the
/// pageblocks it may fill (`isolate_freepages`, L451–559): MOVABLE ones and
/// wholly free ones, never MIGRATE_RESERVE (`suitable_migration_target`,
/// L412–431). Each isolated page is copied to an isolated free page
/// (`compaction_alloc`, L565–585, takes the most recently isolated). The
/// run ends when the scanners meet, or, for an allocation, when a free block
/// of its order is on its type's list or any free block is a whole pageblock
/// (`compact_finished`, L645–702). Unused free pages go back.
///
/// Moving a page (what `migrate_pages()` does for an anonymous or file page)
/// copies it to the new frame and rewrites every reference to the old one:
/// each PTE that maps it (found through a reverse map, as `rmap_walk()`
/// finds them through `anon_vma` and `i_mmap`), with an `invlpg` where the
/// running address space could hold it; the `palloc` handle, shared segment
/// or page-cache entry that owns it.
///
/// Simplifications: one CPU, so no lock contention and no `need_resched`
/// aborts; migration always succeeds (nothing is pinned, locked or under
/// writeback); no watermark checks (the machine's kswapd stands for them);
/// no `compact_cached_free_pfn` or its 3.6-only wrap-around (3.7 removed it):
/// the free scanner starts at the zone's last pageblock (`start_free_pfn()`);
/// the reverse map is built from the page tables, handles, segments and page
/// cache at the start of every run that passes `compaction_suitable()`, not
/// kept up to date on every PTE write.
public struct CompactionState: Sendable {
    public let mode: CompactionMode
    /// `/proc/sys/vm/extfrag_threshold` (3.6 `sysctl_extfrag_threshold`, L849).
    public let extfragThreshold: Int
    /// `/proc/sys/vm/compaction_proactiveness` (5.9, default 20).
    public let proactiveness: Int
    public internal(set) var counters = CompactionCounters()
    /// Deferral per node (`include/linux/compaction.h` L30–62 of 3.6).
    var deferShift: [Int]
    var considered: [Int]
    var orderFailed: [Int]
    /// Tick closes each node's proactive compaction still skips after a run
    /// that did not lower the score (5.9 kcompactd's `proactive_defer`).
    var proactiveDefer: [Int]

    init(_ config: MachineConfig) {
        mode = config.compaction
        extfragThreshold = config.extfragThreshold
        proactiveness = config.compactionProactiveness
        deferShift = Array(repeating: 0, count: config.nodes)
        considered = deferShift
        orderFailed = deferShift
        proactiveDefer = deferShift
    }

    /// `compaction_deferred()`: after n failed sync runs in a row, the next
    /// 2^n − 1 attempts at orders ≥ the failed one are skipped (n ≤ 6).
    mutating func deferred(node k: Int, order: Int) -> Bool {
        let limit = 1 << deferShift[k]
        if order < orderFailed[k] { return false }
        considered[k] = min(considered[k] + 1, limit)
        return considered[k] < limit
    }

    /// `defer_compaction()`.
    mutating func deferAfterFailure(node k: Int, order: Int) {
        considered[k] = 0
        deferShift[k] = min(deferShift[k] + 1, 6)
        if order < orderFailed[k] { orderFailed[k] = order }
    }

    /// What a successful allocation after compaction resets (page_alloc.c L2134–2137).
    mutating func succeeded(node k: Int, order: Int) {
        considered[k] = 0
        deferShift[k] = 0
        if order >= orderFailed[k] { orderFailed[k] = order + 1 }
    }

    /// The proactiveness watermarks (5.9 `fragmentation_score_wmark`): low
    /// `max(100 − proactiveness, 5)`, high `min(low + 10, 100)`.
    var scoreWatermarks: (low: Int, high: Int) {
        let low = max(100 - proactiveness, 5)
        return (low, min(low + 10, 100))
    }
}

/// Compaction's counters, as `/proc/vmstat` names them.
public struct CompactionCounters: CounterSet {
    /// Direct compaction attempts (`COMPACTSTALL`).
    public var stalls = 0
    /// Direct compactions after which the allocation succeeded / still failed.
    public var successes = 0
    public var failures = 0
    /// Pages the migration scanner looked at, and the free scanner.
    public var migrateScanned = 0
    public var freeScanned = 0
    /// Pages isolated by both scanners (`COMPACTISOLATED`).
    public var isolated = 0
    /// Pages moved (`PGMIGRATE_SUCCESS`).
    public var migrated = 0
    /// `invlpg`s the moves issued.
    public var tlbInvalidations = 0
    /// Proactive runs at tick close (`COMPACTDAEMONWAKE`'s proactive part).
    public var proactiveRuns = 0
    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("compact_stall", &stalls)
        v.counter("compact_success", &successes)
        v.counter("compact_fail", &failures)
        v.counter("compact_migrate_scanned", &migrateScanned)
        v.counter("compact_free_scanned", &freeScanned)
        v.counter("compact_isolated", &isolated)
        v.counter("pgmigrate_success", &migrated)
        v.counter("compact_tlb_invlpg", &tlbInvalidations)
        v.counter("compact_proactive_runs", &proactiveRuns)
    }
}

/// Who refers to a frame that compaction may move.
enum FrameOwner: Sendable {
    /// PTE `index` of the page table in `table`, mapping `va` in process
    /// slot `owner` (-1: kernel space); `visible` when the running address
    /// space (or every one, for kernel space) could hold it in the TLB.
    case pte(table: FrameNumber, index: Int, va: UInt32, owner: Int32, visible: Bool)
    case handle(Int)
    case segment(Int, page: Int)
    case pageCache(slot: Int)
}
