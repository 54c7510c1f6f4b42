/// Cumulative event counters of a replay.
///
/// The figures of one tick are the difference of two snapshots taken at its
/// start and close (the ChampSim way), so counting costs one add per event.
public struct Counters: Sendable, Equatable {
    public var events = 0
    /// Allocations that failed even after direct reclaim.
    public var oom = 0
    public var tlbLookups = 0
    public var tlbHits = 0
    public var tlbMisses = 0
    /// CR3 loads that flushed the non-global TLB entries.
    public var tlbFlushes = 0
    public var tlbInvlpg = 0
    /// Every page-fault exception: demand + COW + segmentation faults.
    public var pageFaults = 0
    /// Faults that mapped a page on demand (zeroed or a shared segment's frame).
    public var demandFaults = 0
    public var cowFaults = 0
    /// COW faults that copied the frame (the rest reused a sole reference).
    public var cowCopies = 0
    public var segv = 0
    public var switches = 0
    /// `mmap`s refused because the process already had 16 regions.
    public var regionFailures = 0
    public var kswapdWakeups = 0
    public var reclaimedSlabPages = 0
    public var reclaimedPagecachePages = 0
    /// Allocations that found no free frame and ran the reclaimers synchronously.
    public var directReclaims = 0
    public var pagecacheHits = 0
    public var pagecacheMisses = 0
    /// Frames handed out and returned by the physical allocator (footprints).
    public var framesAllocated = 0
    public var framesFreed = 0

    public init() {}

    /// `self - earlier`, field by field.
    public func since(_ e: Counters) -> Counters {
        var d = Counters()
        d.events = events - e.events
        d.oom = oom - e.oom
        d.tlbLookups = tlbLookups - e.tlbLookups
        d.tlbHits = tlbHits - e.tlbHits
        d.tlbMisses = tlbMisses - e.tlbMisses
        d.tlbFlushes = tlbFlushes - e.tlbFlushes
        d.tlbInvlpg = tlbInvlpg - e.tlbInvlpg
        d.pageFaults = pageFaults - e.pageFaults
        d.demandFaults = demandFaults - e.demandFaults
        d.cowFaults = cowFaults - e.cowFaults
        d.cowCopies = cowCopies - e.cowCopies
        d.segv = segv - e.segv
        d.switches = switches - e.switches
        d.regionFailures = regionFailures - e.regionFailures
        d.kswapdWakeups = kswapdWakeups - e.kswapdWakeups
        d.reclaimedSlabPages = reclaimedSlabPages - e.reclaimedSlabPages
        d.reclaimedPagecachePages = reclaimedPagecachePages - e.reclaimedPagecachePages
        d.directReclaims = directReclaims - e.directReclaims
        d.pagecacheHits = pagecacheHits - e.pagecacheHits
        d.pagecacheMisses = pagecacheMisses - e.pagecacheMisses
        d.framesAllocated = framesAllocated - e.framesAllocated
        d.framesFreed = framesFreed - e.framesFreed
        return d
    }
}

/// The state of the machine at a tick's close (after `kswapd_tick()`).
public struct Gauges: Sendable, Equatable {
    public var freePages = 0
    public var usedPages = 0
    /// 100 · used / allocatable.
    public var usagePct = 0.0
    public var largestFreeBlock = 0
    /// 1 − largest_free_block / free_pages; 0 when nothing is free.
    public var fragIndex = 0.0
    public var freeBlocks = Array(repeating: 0, count: maxOrder + 1)
    /// Frames holding page directories and page tables.
    public var pagetablePages = 0
    public var processes = 0
    public var slabPages = 0
    public var slabObjects = 0
    public var slabCapacity = 0
    public var slabWasteBytes = 0
    public var kmallocLargePages = 0
    public var pagecachePages = 0
    public var pagecacheDirty = 0
    /// kswapd was awake at some point of this tick's `kswapd_tick()`.
    public var kswapdActive = false
    public init() {}
}

/// One closed tick: what `tick_metrics` stores.
public struct TickSample: Sendable, Equatable {
    public var tick: UInt64
    public var delta: Counters
    public var gauges: Gauges
    /// Per NUMA node (one entry without NUMA).
    public var nodes: [NodeSample] = []

    public init(tick: UInt64, delta: Counters, gauges: Gauges, nodes: [NodeSample] = []) {
        self.tick = tick
        self.delta = delta
        self.gauges = gauges
        self.nodes = nodes
    }
}

/// One `/proc/slabinfo` line.
public struct SlabInfoRow: Sendable, Equatable {
    public var name: String
    public var activeObjects: Int
    public var objects: Int
    public var objectSize: Int
    public var objectsPerSlab: Int
    public var pagesPerSlab: Int
    public var slabs: Int
}

/// Per-node event counters (cumulative; a tick's figures are differences).
public struct NodeCounters: Sendable, Equatable {
    /// Allocations this node served although another node was tried first
    /// (Linux's `numa_miss`).
    public var fallbackAllocations = 0
    /// Accesses by processes whose home is this node, to frames on it / elsewhere.
    public var localAccesses = 0
    public var remoteAccesses = 0
    public var reclaimedPages = 0
    public var kswapdWakeups = 0
    public init() {}

    public func since(_ e: NodeCounters) -> NodeCounters {
        var d = NodeCounters()
        d.fallbackAllocations = fallbackAllocations - e.fallbackAllocations
        d.localAccesses = localAccesses - e.localAccesses
        d.remoteAccesses = remoteAccesses - e.remoteAccesses
        d.reclaimedPages = reclaimedPages - e.reclaimedPages
        d.kswapdWakeups = kswapdWakeups - e.kswapdWakeups
        return d
    }
}

/// One node at a tick's close: what `node_metrics` stores.
public struct NodeSample: Sendable, Equatable {
    public var node: Int
    public var freePages = 0
    public var usedPages = 0
    public var usagePct = 0.0
    public var largestFreeBlock = 0
    public var fragIndex = 0.0
    public var kswapdActive = false
    public var delta = NodeCounters()
}
