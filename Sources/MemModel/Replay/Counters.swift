/// Receives metrics, each named by its column in `tick_metrics` (or
/// `node_metrics`). Every per-tick figure reaches the store, the column list
/// and the per-tick difference through this one walk, so a metric is declared
/// once: a field and its line in its subsystem's `visit`.
public protocol MetricVisitor {
    /// A cumulative counter; a row holds its change over the tick.
    mutating func counter(_ column: StaticString, _ value: inout Int)
    /// A state at the tick's close.
    mutating func gauge(_ column: StaticString, _ value: Int)
    mutating func gauge(_ column: StaticString, _ value: Double)
}

extension MetricVisitor {
    public mutating func gauge(_ column: StaticString, _ value: Int) {}
    public mutating func gauge(_ column: StaticString, _ value: Double) {}
}

/// A subsystem's event counters: plain integers that only grow, declared
/// once in ``visit(_:)`` with their columns.
///
/// The figures of one tick are the difference of two snapshots taken at its
/// start and close (the ChampSim way), so counting costs one add per event;
/// ``since(_:)`` derives the difference from the declaration, so a counter
/// cannot be forgotten there.
public protocol CounterSet: Sendable, Equatable {
    init()
    /// Hands every counter to `v`, with its column.
    mutating func visit<V: MetricVisitor>(_ v: inout V)
}

extension CounterSet {
    /// `self - earlier`, counter by counter.
    public func since(_ earlier: Self) -> Self { combined(with: earlier, sign: -1) }

    /// `self + other`, counter by counter (summing nodes' counters).
    public func adding(_ other: Self) -> Self { combined(with: other, sign: 1) }

    /// `self + sign · other`, counter by counter.
    private func combined(with other: Self, sign: Int) -> Self {
        var o = other
        var collect = Collect()
        o.visit(&collect)
        var result = self
        var add = AddScaled(values: collect.values, sign: sign)
        result.visit(&add)
        return result
    }

    /// The columns of these counters, in declaration order.
    public static var columns: [String] {
        var c = Self()
        var n = CounterNames()
        c.visit(&n)
        return n.names
    }
}

/// The values of counters, in visiting order.
private struct Collect: MetricVisitor {
    var values: [Int] = []
    mutating func counter(_ column: StaticString, _ value: inout Int) { values.append(value) }
}

/// Adds `sign` times the collected values, in the same order
/// (``CounterSet/since(_:)`` and ``CounterSet/adding(_:)``).
private struct AddScaled: MetricVisitor {
    var values: [Int]
    let sign: Int
    var i = 0
    mutating func counter(_ column: StaticString, _ value: inout Int) {
        value += sign * values[i]
        i += 1
    }
}

/// The column names of counters, in visiting order.
private struct CounterNames: MetricVisitor {
    var names: [String] = []
    mutating func counter(_ column: StaticString, _ value: inout Int) { names.append("\(column)") }
}

/// Every counter of the machine: the replay loop's event count and each
/// subsystem's own set, as the subsystems hold them.
public struct Counters: CounterSet {
    public var events = 0
    public var frames = FrameCounters()
    public var reclaim = ReclaimCounters()
    public var tlb = TLBCounters()
    public var paging = PagingCounters()
    public var pageCache = PageCacheCounters()
    public var mobility = MobilityCounters()
    public var compaction = CompactionCounters()

    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("events", &events)
        frames.visit(&v)
        reclaim.visit(&v)
        tlb.visit(&v)
        paging.visit(&v)
        pageCache.visit(&v)
        mobility.visit(&v)
        compaction.visit(&v)
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
    /// Bytes the live `kmalloc`/`salloc` objects asked for, and the bytes
    /// the variant gave them (internal fragmentation is the difference).
    public var kmemBytesRequested = 0
    public var kmemBytesAllocated = 0
    /// Fully free, aligned 2 MiB blocks (512 frames): what could back a
    /// huge page on x86-64, LLFree's measure of fragmentation.
    public var freeHuge = 0
    public var pagecachePages = 0
    public var pagecacheDirty = 0
    /// kswapd was awake at some point of this tick's `kswapd_tick()`.
    public var kswapdActive = false
    public init() {}

    /// Every gauge with its `tick_metrics` column: the one declaration.
    public func visit<V: MetricVisitor>(_ v: inout V) {
        v.gauge("free_pages", freePages)
        v.gauge("used_pages", usedPages)
        v.gauge("usage_pct", usagePct)
        v.gauge("largest_free_block", largestFreeBlock)
        v.gauge("frag_index", fragIndex)
        freeBlocks.withUnsafeBufferPointer { b in
            v.gauge("free_o0", b[0]); v.gauge("free_o1", b[1]); v.gauge("free_o2", b[2])
            v.gauge("free_o3", b[3]); v.gauge("free_o4", b[4]); v.gauge("free_o5", b[5])
            v.gauge("free_o6", b[6]); v.gauge("free_o7", b[7]); v.gauge("free_o8", b[8])
            v.gauge("free_o9", b[9]); v.gauge("free_o10", b[10])
        }
        v.gauge("pagetable_pages", pagetablePages)
        v.gauge("processes", processes)
        v.gauge("slab_pages", slabPages)
        v.gauge("slab_objects", slabObjects)
        v.gauge("slab_capacity", slabCapacity)
        v.gauge("slab_waste_bytes", slabWasteBytes)
        v.gauge("kmalloc_large_pages", kmallocLargePages)
        v.gauge("pagecache_pages", pagecachePages)
        v.gauge("pagecache_dirty", pagecacheDirty)
        v.gauge("kswapd_active", kswapdActive ? 1 : 0)
        v.gauge("kmem_bytes_req", kmemBytesRequested)
        v.gauge("kmem_bytes_alloc", kmemBytesAllocated)
        v.gauge("free_huge", freeHuge)
    }
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
    /// slabdata's `active_slabs`: slabs with an object in use (SLAB: full
    /// and partial; SLUB prints every slab).
    public var activeSlabs = 0
    /// tunables' `limit` and `batchcount`: SLAB's per-CPU array (0 elsewhere,
    /// as SLUB prints them).
    public var limit = 0
    public var batchcount = 0
}

/// Per-node event counters (cumulative; a tick's figures are differences),
/// declared with their `node_metrics` columns.
public struct NodeCounters: CounterSet {
    /// Allocations this node served although another node was tried first
    /// (Linux's `numa_miss`).
    public var fallbackAllocations = 0
    /// Accesses by processes whose home is this node, to frames on it / elsewhere.
    public var localAccesses = 0
    public var remoteAccesses = 0
    public var reclaimedPages = 0
    public var kswapdWakeups = 0
    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("fallback_allocations", &fallbackAllocations)
        v.counter("local_accesses", &localAccesses)
        v.counter("remote_accesses", &remoteAccesses)
        v.counter("reclaimed_pages", &reclaimedPages)
        v.counter("kswapd_wakeups", &kswapdWakeups)
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
    /// `/proc/pagetypeinfo` of the node, for variants that group by mobility.
    public var pageTypes: PageTypeInfo? = nil
}
