import MemModel

/// The columns of `tick_metrics` after `run_id`, in schema order, each with
/// how its value is read from a closed tick. Adding a metric is one line here
/// and one column in `schema.sql` (a test checks the two agree).
public enum TickColumns {
    public typealias Column = (name: String, value: @Sendable (TickSample) -> Value)

    public static let all: [Column] = head + orders + tail

    static let head: [Column] = [
        ("tick", { .int(Int64(bitPattern: $0.tick)) }),
        ("events", { .int(Int64($0.delta.events)) }),
        ("free_pages", { .int(Int64($0.gauges.freePages)) }),
        ("used_pages", { .int(Int64($0.gauges.usedPages)) }),
        ("usage_pct", { .real($0.gauges.usagePct) }),
        ("largest_free_block", { .int(Int64($0.gauges.largestFreeBlock)) }),
        ("frag_index", { .real($0.gauges.fragIndex) }),
        ("oom", { .int(Int64($0.delta.oom)) }),
    ]

    static let orders: [Column] = (0...maxOrder).map { order -> Column in
        (name: "free_o\(order)", value: { (s: TickSample) -> Value in .int(Int64(s.gauges.freeBlocks[order])) })
    }

    static let tail: [Column] = [
        ("frames_allocated", { .int(Int64($0.delta.framesAllocated)) }),
        ("frames_freed", { .int(Int64($0.delta.framesFreed)) }),
        ("processes", { .int(Int64($0.gauges.processes)) }),
        ("pagetable_pages", { .int(Int64($0.gauges.pagetablePages)) }),
        ("tlb_lookups", { .int(Int64($0.delta.tlbLookups)) }),
        ("tlb_hits", { .int(Int64($0.delta.tlbHits)) }),
        ("tlb_misses", { .int(Int64($0.delta.tlbMisses)) }),
        ("tlb_flushes", { .int(Int64($0.delta.tlbFlushes)) }),
        ("tlb_invlpg", { .int(Int64($0.delta.tlbInvlpg)) }),
        ("page_faults", { .int(Int64($0.delta.pageFaults)) }),
        ("demand_faults", { .int(Int64($0.delta.demandFaults)) }),
        ("cow_faults", { .int(Int64($0.delta.cowFaults)) }),
        ("cow_copies", { .int(Int64($0.delta.cowCopies)) }),
        ("segv", { .int(Int64($0.delta.segv)) }),
        ("switches", { .int(Int64($0.delta.switches)) }),
        ("region_failures", { .int(Int64($0.delta.regionFailures)) }),
        ("slab_pages", { .int(Int64($0.gauges.slabPages)) }),
        ("slab_objects", { .int(Int64($0.gauges.slabObjects)) }),
        ("slab_capacity", { .int(Int64($0.gauges.slabCapacity)) }),
        ("slab_waste_bytes", { .int(Int64($0.gauges.slabWasteBytes)) }),
        ("kmalloc_large_pages", { .int(Int64($0.gauges.kmallocLargePages)) }),
        ("pagecache_pages", { .int(Int64($0.gauges.pagecachePages)) }),
        ("pagecache_dirty", { .int(Int64($0.gauges.pagecacheDirty)) }),
        ("pagecache_hits", { .int(Int64($0.delta.pagecacheHits)) }),
        ("pagecache_misses", { .int(Int64($0.delta.pagecacheMisses)) }),
        ("kswapd_active", { .int($0.gauges.kswapdActive ? 1 : 0) }),
        ("kswapd_wakeups", { .int(Int64($0.delta.kswapdWakeups)) }),
        ("reclaimed_slab_pages", { .int(Int64($0.delta.reclaimedSlabPages)) }),
        ("reclaimed_pagecache_pages", { .int(Int64($0.delta.reclaimedPagecachePages)) }),
        ("direct_reclaims", { .int(Int64($0.delta.directReclaims)) }),
    ]
}
