import MemModel

/// The columns of `tick_metrics` after `run_id`, in schema order, each with
/// how its value is read from a closed tick. Adding a metric is one line in
/// ``visit(_:_:)`` and one column in `schema.sql` (a test checks the two agree).
public enum TickColumns {
    /// A column: its name and whether it is REAL.
    public struct Column: Sendable, Equatable {
        public let name: String
        public let isReal: Bool
    }

    /// Receives a tick's columns in schema order. The writer's visitor
    /// ignores the names, and the visit specializes and inlines into one
    /// straight run of stores: no closure call and no reference counting per
    /// value, which per-column closures cost (a third of the writing time).
    public protocol Visitor {
        mutating func int(_ name: StaticString, _ value: Int)
        mutating func real(_ name: StaticString, _ value: Double)
    }

    /// The one list of columns.
    @inline(__always)
    public static func visit<V: Visitor>(_ s: TickSample, _ v: inout V) {
        v.int("tick", Int(truncatingIfNeeded: s.tick))
        v.int("events", s.delta.events)
        v.int("free_pages", s.gauges.freePages)
        v.int("used_pages", s.gauges.usedPages)
        v.real("usage_pct", s.gauges.usagePct)
        v.int("largest_free_block", s.gauges.largestFreeBlock)
        v.real("frag_index", s.gauges.fragIndex)
        v.int("oom", s.delta.oom)
        s.gauges.freeBlocks.withUnsafeBufferPointer { b in
            v.int("free_o0", b[0]); v.int("free_o1", b[1]); v.int("free_o2", b[2])
            v.int("free_o3", b[3]); v.int("free_o4", b[4]); v.int("free_o5", b[5])
            v.int("free_o6", b[6]); v.int("free_o7", b[7]); v.int("free_o8", b[8])
            v.int("free_o9", b[9]); v.int("free_o10", b[10])
        }
        v.int("frames_allocated", s.delta.framesAllocated)
        v.int("frames_freed", s.delta.framesFreed)
        v.int("processes", s.gauges.processes)
        v.int("pagetable_pages", s.gauges.pagetablePages)
        v.int("tlb_lookups", s.delta.tlbLookups)
        v.int("tlb_hits", s.delta.tlbHits)
        v.int("tlb_misses", s.delta.tlbMisses)
        v.int("tlb_flushes", s.delta.tlbFlushes)
        v.int("tlb_invlpg", s.delta.tlbInvlpg)
        v.int("page_faults", s.delta.pageFaults)
        v.int("demand_faults", s.delta.demandFaults)
        v.int("cow_faults", s.delta.cowFaults)
        v.int("cow_copies", s.delta.cowCopies)
        v.int("segv", s.delta.segv)
        v.int("switches", s.delta.switches)
        v.int("region_failures", s.delta.regionFailures)
        v.int("slab_pages", s.gauges.slabPages)
        v.int("slab_objects", s.gauges.slabObjects)
        v.int("slab_capacity", s.gauges.slabCapacity)
        v.int("slab_waste_bytes", s.gauges.slabWasteBytes)
        v.int("kmalloc_large_pages", s.gauges.kmallocLargePages)
        v.int("pagecache_pages", s.gauges.pagecachePages)
        v.int("pagecache_dirty", s.gauges.pagecacheDirty)
        v.int("pagecache_hits", s.delta.pagecacheHits)
        v.int("pagecache_misses", s.delta.pagecacheMisses)
        v.int("kswapd_active", s.gauges.kswapdActive ? 1 : 0)
        v.int("kswapd_wakeups", s.delta.kswapdWakeups)
        v.int("reclaimed_slab_pages", s.delta.reclaimedSlabPages)
        v.int("reclaimed_pagecache_pages", s.delta.reclaimedPagecachePages)
        v.int("direct_reclaims", s.delta.directReclaims)
    }

    /// Every column, in schema order.
    public static let all: [Column] = {
        struct Names: Visitor {
            var columns: [Column] = []
            mutating func int(_ name: StaticString, _ value: Int) { columns.append(Column(name: "\(name)", isReal: false)) }
            mutating func real(_ name: StaticString, _ value: Double) { columns.append(Column(name: "\(name)", isReal: true)) }
        }
        var names = Names()
        visit(TickSample(tick: 0, delta: Counters(), gauges: Gauges()), &names)
        return names.columns
    }()

    /// Writes a tick's values to consecutive slots (a REAL as its bit pattern).
    public struct RowWriter: Visitor {
        public var slot: UnsafeMutablePointer<Int64>
        public init(slot: UnsafeMutablePointer<Int64>) { self.slot = slot }
        @inline(__always) public mutating func int(_ name: StaticString, _ value: Int) {
            slot.pointee = Int64(value)
            slot += 1
        }
        @inline(__always) public mutating func real(_ name: StaticString, _ value: Double) {
            slot.pointee = Int64(bitPattern: value.bitPattern)
            slot += 1
        }
    }
}
