import MemTrace

/// Memory compaction (`--compaction`): `compact_zone()` on a node, the
/// reverse map that finds every reference to a page, and the moves. See
/// ``CompactionState`` for the sources and what is simplified.
extension Machine {
    // MARK: Entry points

    /// Direct compaction for an allocation of `count` frames (order > 0)
    /// that found no free block: an async run, then a sync one if the
    /// allocation still fails (`__alloc_pages_slowpath`, page_alloc.c
    /// L2425–2435, L2510–2517; the machine's direct reclaim follows, not
    /// in between). Each run counts a `compact_stall` and then a
    /// `compact_success` or `compact_fail` (L2138, L2147); a failed sync run
    /// defers compaction at that order (L2153–2154). The frames, or nil.
    mutating func compactForAllocation(_ count: Int, for purpose: FrameUse, type: MigrateType, first: Int) -> FrameNumber? {
        let order = BuddyAllocator.orderFor(count)
        guard compaction.mode != .off, order > 0, order <= maxOrder, Frames.supportsCompaction else { return nil }
        for sync in [false, true] {
            if compaction.deferred(node: first, order: order) { return nil }
            compaction.counters.stalls += 1
            var ran = false
            for k in frames.physical.order[first] {
                if compactZone(node: k, order: order, type: type, sync: sync) != .skipped { ran = true }
                if let (f, node) = frames.take(count, for: purpose, type: type, preferred: first) {
                    if node != first { nodeCounters[node].fallbackAllocations += 1 }
                    compaction.counters.successes += 1
                    compaction.succeeded(node: first, order: order)
                    return f
                }
            }
            // try_to_compact_pages() returned COMPACT_SKIPPED everywhere:
            // neither counted as a failure nor deferred (L2123).
            guard ran else { return nil }
            compaction.counters.failures += 1
            if sync { compaction.deferAfterFailure(node: first, order: order) }
        }
        return nil
    }

    /// Proactive compaction at tick close (kcompactd, Linux 5.9
    /// `proactive_compact_node()`): on each node whose kswapd did not run
    /// this tick, while its fragmentation score — the share of free memory
    /// outside free blocks of order 9 (`extfrag_for_order()` at
    /// COMPACTION_HPAGE_ORDER, x86-64's 2 MiB pages, which `free_huge`
    /// counts) — is above the high watermark, one sync run over the whole
    /// zone that stops once the score is at or below the low watermark. A
    /// run that does not lower the score defers the node's next 64 runs
    /// (`proactive_defer = score < prev_score ? 0 : 1 << COMPACT_MAX_DEFER_SHIFT`).
    mutating func proactiveCompaction() {
        guard compaction.mode == .proactive, Frames.supportsCompaction else { return }
        let marks = compaction.scoreWatermarks
        for k in 0..<nodeCount where !reclaim.ranThisTick[k] {
            let before = fragmentationScore(node: k)
            guard before > marks.high else { continue }
            if compaction.proactiveDefer[k] > 0 {
                compaction.proactiveDefer[k] -= 1
                continue
            }
            compaction.counters.proactiveRuns += 1
            _ = compactZone(node: k, order: -1, type: .movable, sync: true, proactiveLow: marks.low)
            compaction.proactiveDefer[k] = fragmentationScore(node: k) < before ? 0 : 1 << 6
        }
    }

    /// 5.9's `fragmentation_score_node()` for a node of one zone:
    /// `extfrag_for_order(zone, 9)` — 100 · (free − free in blocks of order
    /// ≥ 9) / free, 0 when nothing is free — times present / (present + 1),
    /// truncated.
    func fragmentationScore(node k: Int) -> Int {
        let info = FragmentationIndex.contigPageInfo(frames.physical.nodes[k].freeBlockCounts, suitableOrder: 9)
        guard info.freePages > 0 else { return 0 }
        let present = frames.physical.framesPerNode
        return (info.freePages - (info.freeBlocksSuitable << 9)) * 100 / info.freePages * present / (present + 1)
    }

    // MARK: One run

    enum CompactResult { case skipped, partial, complete }

    /// `compact_zone()` on node `k` for an allocation of `order` and `type`
    /// (order −1: the whole zone, proactively, until the score is at most
    /// `proactiveLow`). Async runs migrate only from MOVABLE pageblocks.
    mutating func compactZone(node k: Int, order: Int, type: MigrateType, sync: Bool, proactiveLow: Int = 0) -> CompactResult {
        let zoneFrames = frames.physical.framesPerNode
        let base = k * zoneFrames
        let block = 1 << MobilityBuddyAllocator.pageblockOrder
        if order > 0 {
            // compaction_suitable(), L743–749, without its watermark checks.
            let index = FragmentationIndex.extfrag(frames.physical.nodes[k].freeBlockCounts, order: order)
            if index >= 0 && index <= compaction.extfragThreshold { return .skipped }
            if index == -1000 { return .partial }
        }
        var rmap = ReverseMap(self)
        var migratePfn = 0
        var freePfn = zoneFrames & ~(block - 1)  // start_free_pfn(), L439–445
        var targets: [Int] = []                  // cc->freepages: the last isolated first
        var result = CompactResult.complete
        scan: while true {
            // compact_finished(), L645–702.
            if freePfn <= migratePfn { result = .complete; break }
            if order < 0 {
                if fragmentationScore(node: k) <= proactiveLow { result = .partial; break }
            } else if frames.physical.nodes[k].hasFreeBlock(order: order, type: type) {
                result = .partial
                break
            }
            // isolate_migratepages(), L618–643: ALIGN(low + pageblock,
            // pageblock), the end of the next pageblock when `low` is
            // inside one (3.6's quirk), of this one when it starts one.
            let end = (migratePfn + 2 * block - 1) & ~(block - 1)
            if end > freePfn { migratePfn = end; continue }
            var pages: [Int] = []
            var pfn = migratePfn
            var lastBlock = 0  // L273: pageblock 0 is never skipped in async mode
            while pfn < end && pages.count < 32 {
                if !sync && pfn / block != lastBlock {
                    lastBlock = pfn / block
                    if let t = frames.physical.nodes[k].pageblockMigrateType(of: pfn), t != Int(MigrateType.movable.rawValue) {
                        // L352–359: low_pfn += pageblock; ALIGN(low_pfn, pageblock).
                        pfn = (pfn + 2 * block - 1) & ~(block - 1)
                        continue
                    }
                }
                compaction.counters.migrateScanned += 1
                if rmap.isMovable(base + pfn) {
                    pages.append(base + pfn)
                    compaction.counters.isolated += 1
                }
                pfn += 1
            }
            migratePfn = pfn
            // migrate_pages() with compaction_alloc(), L565–585.
            for page in pages {
                if targets.isEmpty {
                    // Until it holds as many as the batch (`nr_migratepages`).
                    isolateFreePages(node: k, base: base, freePfn: &freePfn, migratePfn: migratePfn,
                                     wanted: pages.count, into: &targets)
                }
                guard let target = targets.popLast() else {
                    // -ENOMEM: the rest go back to the LRU untouched (L815–816).
                    result = .partial
                    break scan
                }
                move(page, to: target, rmap: &rmap)
            }
        }
        // release_freepages(), L824.
        for f in targets { frames.releaseIsolated(FrameNumber(f)) }
        return result
    }

    /// `isolate_freepages()`, L451–559: pageblocks downward from `freePfn`
    /// while above the migration scanner's next pageblock, each suitable one
    /// scanned upward and every free block in it isolated as single pages
    /// (`split_free_page()`), until `wanted` pages are held.
    private mutating func isolateFreePages(node k: Int, base: Int, freePfn: inout Int, migratePfn: Int,
                                           wanted: Int, into targets: inout [Int]) {
        let zoneFrames = frames.physical.framesPerNode
        let block = 1 << MobilityBuddyAllocator.pageblockOrder
        var pfn = freePfn
        let lowPfn = migratePfn + block
        var highPfn = min(lowPfn, pfn)
        while pfn > lowPfn && targets.count < wanted {
            defer { pfn -= block }
            // start_free_pfn() of a zone that ends on a pageblock boundary
            // is the zone's end: that first "pageblock" is outside it.
            guard pfn < zoneFrames, suitableMigrationTarget(node: k, pfn) else { continue }
            var f = pfn
            var isolated = false
            let end = min(pfn + block, zoneFrames)
            while f < end {
                compaction.counters.freeScanned += 1
                if let o = frames.isolateFreeBlock(at: FrameNumber(base + f), node: k) {
                    for g in f..<f + 1 << o { targets.append(base + g) }
                    compaction.counters.isolated += 1 << o
                    isolated = true
                    f += 1 << o
                } else {
                    f += 1
                }
            }
            if isolated { highPfn = max(highPfn, pfn) }
        }
        freePfn = highPfn
    }

    /// `suitable_migration_target()`, L412–431: not MIGRATE_RESERVE; a wholly
    /// free pageblock, or a MOVABLE one (every pageblock where the variant
    /// has no types).
    private func suitableMigrationTarget(node k: Int, _ pfn: Int) -> Bool {
        let n = frames.physical.nodes[k]
        guard let t = n.pageblockMigrateType(of: pfn) else { return true }
        if t == PageTypeInfo.reserve { return false }
        if let o = n.freeBlockOrder(at: pfn), o >= MobilityBuddyAllocator.pageblockOrder { return true }
        return t == MigrateType.movable.rawValue
    }

    /// Moves the page in frame `old` to the isolated free frame `new`:
    /// every PTE that maps it rewritten (with an `invlpg` where the TLB may
    /// hold it), its handle, segment or page-cache entry pointed at `new`,
    /// and `old` given back to the allocator.
    private mutating func move(_ old: Int, to new: Int, rmap: inout ReverseMap) {
        var o = rmap.head[old]
        while o >= 0 {
            switch rmap.owners[Int(o)] {
            case let .pte(table, index, va, owner, visible):
                let e = tables[table, index]
                tables.write(table, index, PTE(raw: e.raw & ~PTEFlags.frameMask | UInt32(new) << 12))
                if visible {
                    translation.invalidate(VirtualPage(containing: va))
                    compaction.counters.tlbInvalidations += 1
                } else {
                    changedOffCPU(owner)
                }
            case let .handle(h):
                handles[h] = .frames(base: FrameNumber(new), count: 1, movable: true)
            case let .segment(id, page):
                segments[id]!.frames[page] = FrameNumber(new)
            case let .pageCache(slot):
                pageCache.relocate(slot: slot, to: FrameNumber(new))
            }
            o = rmap.next[Int(o)]
        }
        rmap.head[new] = rmap.head[old]
        rmap.head[old] = ReverseMap.notMovable
        frames.migrate(FrameNumber(old), to: FrameNumber(new))
        compaction.counters.migrated += 1
    }
}

/// Every reference to each movable page, built from the machine when a
/// compaction run starts (Linux finds them through `anon_vma` and the
/// mapping's `i_mmap`, `rmap_walk()`).
///
/// A page is movable when it is on Linux's LRU: anonymous, shared-segment
/// and page-cache pages, and `palloc`s of one frame declared `movable`.
/// Page tables, directories, slabs and other handles never move.
struct ReverseMap {
    static let notMovable: Int32 = -2
    /// Per frame: the first owner's index, -1 for a movable page without
    /// one yet, `notMovable` otherwise.
    var head: [Int32]
    var owners: [FrameOwner] = []
    var next: [Int32] = []

    init<F: FrameAllocator, R: TLBReplacement>(_ m: Machine<F, R>) {
        head = m.frames.use.map { u in
            switch u {
            case .anonymous, .segment, .pageCache: -1
            default: ReverseMap.notMovable
            }
        }
        for (h, b) in m.handles.enumerated() {
            if case let .frames(base, 1, true) = b {
                head[base.index] = -1
                add(base.index, .handle(h))
            }
        }
        for (id, s) in m.segments.enumerated() {
            guard let s else { continue }
            for (page, f) in s.frames.enumerated() {
                if let f { add(f.index, .segment(id, page: page)) }
            }
        }
        m.pageCache.forEachPage { slot, f in add(f.index, .pageCache(slot: slot)) }
        // User space of each address space, then kernel space once: its
        // tables are shared by every directory.
        let current = m.currentDirectory
        for slot in m.processes.liveSlots {
            guard let dir = m.processes[Int(slot)].directory else { continue }
            addMappings(m.tables, dir, 0..<Paging.userSlots, owner: slot, visible: dir == current)
        }
        addMappings(m.tables, m.kernelDirectory, Paging.kernelSlots, owner: -1, visible: true)
    }

    private mutating func addMappings(_ tables: TableMemory, _ dir: FrameNumber, _ slots: Range<Int>, owner: Int32, visible: Bool) {
        for di in slots {
            let pde = tables[dir, di]
            guard pde.isPresent else { continue }
            if pde.has(.pageSize) {
                // 4 MiB pages stay where they are (the model does not migrate them).
                for f in pde.frame.index ..< pde.frame.index + Paging.hugeFrames { head[f] = Self.notMovable }
                continue
            }
            var ti = tables.nextPresent(in: pde.frame, after: -1)
            while ti < 1024 {
                let f = tables[pde.frame, ti].frame.index
                if head[f] != Self.notMovable {
                    add(f, .pte(table: pde.frame, index: ti, va: UInt32(di << 22 | ti << 12), owner: owner, visible: visible))
                }
                ti = tables.nextPresent(in: pde.frame, after: ti)
            }
        }
    }

    @inline(__always)
    func isMovable(_ f: Int) -> Bool { head[f] != Self.notMovable }

    /// `--check`: the map finds every owner the frame table counts — a
    /// movable page's PTEs, plus its handle or segment, are its reference
    /// count, and a page-cache page has its cache entry and no PTE.
    func violation(use: [FrameUse], refcount: [UInt32]) -> String? {
        for f in head.indices where head[f] != Self.notMovable {
            var ptes = 0, handles = 0, segments = 0, cached = 0
            var o = head[f]
            while o >= 0 {
                switch owners[Int(o)] {
                case .pte: ptes += 1
                case .handle: handles += 1
                case .segment: segments += 1
                case .pageCache: cached += 1
                }
                o = next[Int(o)]
            }
            if use[f] == .pageCache {
                if cached != 1 || ptes + handles + segments != 0 { return "page-cache frame \(f) has \(cached) cache entries and \(ptes + handles + segments) other owners" }
            } else if ptes + handles + segments != Int(refcount[f]) || cached != 0 {
                return "frame \(f) (\(use[f])) has \(ptes) PTEs, \(handles) handles and \(segments) segments mapping it, reference count \(refcount[f])"
            } else if (use[f] == .handle) != (handles == 1) || (use[f] == .segment) != (segments == 1) {
                return "frame \(f) (\(use[f])) is owned by \(handles) handles and \(segments) segments"
            }
        }
        return nil
    }

    private mutating func add(_ f: Int, _ owner: FrameOwner) {
        owners.append(owner)
        next.append(head[f])
        head[f] = Int32(owners.count - 1)
    }
}
