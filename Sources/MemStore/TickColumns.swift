import MemModel

/// The columns of `tick_metrics` after `run_id`, in schema order, each with
/// how its value is read from a closed tick. Adding a metric is one line here
/// and one column in `schema.sql` (a test checks the two agree).
public enum TickColumns {
    /// A column: its name, whether it is REAL, and its value (a REAL's bit pattern).
    public struct Column: Sendable {
        public let name: String
        public let isReal: Bool
        public let value: @Sendable (TickSample) -> Int64

        init(_ name: String, _ value: @escaping @Sendable (TickSample) -> Int) {
            self.name = name
            isReal = false
            self.value = { Int64(value($0)) }
        }

        init(_ name: String, real value: @escaping @Sendable (TickSample) -> Double) {
            self.name = name
            isReal = true
            self.value = { Int64(bitPattern: value($0).bitPattern) }
        }
    }

    public static let all: [Column] = head + orders + tail

    static let head: [Column] = [
        .init("tick") { Int(truncatingIfNeeded: $0.tick) },
        .init("events") { $0.delta.events },
        .init("free_pages") { $0.gauges.freePages },
        .init("used_pages") { $0.gauges.usedPages },
        .init("usage_pct", real: { $0.gauges.usagePct }),
        .init("largest_free_block") { $0.gauges.largestFreeBlock },
        .init("frag_index", real: { $0.gauges.fragIndex }),
        .init("oom") { $0.delta.oom },
    ]

    static let orders: [Column] = (0...maxOrder).map { order in
        Column("free_o\(order)") { $0.gauges.freeBlocks[order] }
    }

    static let tail: [Column] = [
        .init("frames_allocated") { $0.delta.framesAllocated },
        .init("frames_freed") { $0.delta.framesFreed },
        .init("processes") { $0.gauges.processes },
        .init("pagetable_pages") { $0.gauges.pagetablePages },
        .init("tlb_lookups") { $0.delta.tlbLookups },
        .init("tlb_hits") { $0.delta.tlbHits },
        .init("tlb_misses") { $0.delta.tlbMisses },
        .init("tlb_flushes") { $0.delta.tlbFlushes },
        .init("tlb_invlpg") { $0.delta.tlbInvlpg },
        .init("page_faults") { $0.delta.pageFaults },
        .init("demand_faults") { $0.delta.demandFaults },
        .init("cow_faults") { $0.delta.cowFaults },
        .init("cow_copies") { $0.delta.cowCopies },
        .init("segv") { $0.delta.segv },
        .init("switches") { $0.delta.switches },
        .init("region_failures") { $0.delta.regionFailures },
        .init("slab_pages") { $0.gauges.slabPages },
        .init("slab_objects") { $0.gauges.slabObjects },
        .init("slab_capacity") { $0.gauges.slabCapacity },
        .init("slab_waste_bytes") { $0.gauges.slabWasteBytes },
        .init("kmalloc_large_pages") { $0.gauges.kmallocLargePages },
        .init("pagecache_pages") { $0.gauges.pagecachePages },
        .init("pagecache_dirty") { $0.gauges.pagecacheDirty },
        .init("pagecache_hits") { $0.delta.pagecacheHits },
        .init("pagecache_misses") { $0.delta.pagecacheMisses },
        .init("kswapd_active") { $0.gauges.kswapdActive ? 1 : 0 },
        .init("kswapd_wakeups") { $0.delta.kswapdWakeups },
        .init("reclaimed_slab_pages") { $0.delta.reclaimedSlabPages },
        .init("reclaimed_pagecache_pages") { $0.delta.reclaimedPagecachePages },
        .init("direct_reclaims") { $0.delta.directReclaims },
    ]
}
