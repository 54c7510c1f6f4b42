/// The reclaimers kswapd and direct reclaim call, in registration order.
public enum Reclaimer: String, Sendable, CaseIterable {
    /// `slab_reclaim`: returns empty slabs to the physical allocator.
    case slabReclaim = "slab_reclaim"
    /// `page_cache_reclaim`: evicts clean page-cache pages in policy order.
    case pageCacheReclaim = "page_cache_reclaim"
}

/// kswapd's state: asleep or awake, its watermarks, its reclaimers.
///
/// Usage is `100 · used / allocatable`. Comparisons are made exactly, in
/// integers (`used · 100 > high · allocatable`), so a watermark is never
/// crossed by rounding. kswapd wakes when usage is above `high` at a tick's
/// close and sleeps only once usage is at or below `low` (hysteresis).
public struct Kswapd: Sendable {
    public var high: Int
    public var low: Int
    public private(set) var awake = false
    public private(set) var reclaimers: [Reclaimer] = []

    public init(high: Int, low: Int) {
        self.high = high
        self.low = low
    }

    /// `kswapd_register_reclaimer()`.
    public mutating func kswapd_register_reclaimer(_ r: Reclaimer) {
        reclaimers.append(r)
    }

    mutating func wake() { awake = true }
    mutating func sleep() { awake = false }

    /// True when `used` frames of `allocatable` is above the high watermark.
    @inline(__always)
    func aboveHigh(used: Int, allocatable: Int) -> Bool { used * 100 > high * allocatable }

    /// The most frames that may be in use with usage at or below the low watermark.
    func lowTarget(allocatable: Int) -> Int { low * allocatable / 100 }
}

/// Reclaim's state across nodes: one kswapd per node (watermarks applied per
/// node, as Linux), which of them ran in the closing tick, and the counters
/// of reclaim and of the allocations it could not save.
public struct ReclaimState: Sendable {
    public internal(set) var kswapds: [Kswapd]
    var ranThisTick: [Bool]
    /// A reclaimer is running: an allocation it makes does not reclaim again.
    var reclaiming = false
    public internal(set) var counters = ReclaimCounters()

    init(_ config: MachineConfig) {
        var k = Kswapd(high: config.highWatermark, low: config.lowWatermark)
        k.kswapd_register_reclaimer(.slabReclaim)
        k.kswapd_register_reclaimer(.pageCacheReclaim)
        kswapds = Array(repeating: k, count: config.nodes)
        ranThisTick = Array(repeating: false, count: config.nodes)
    }
}

/// What reclaim did, and the allocations that failed even after it.
public struct ReclaimCounters: CounterSet {
    /// Allocations that failed even after direct reclaim.
    public var oom = 0
    /// Allocations that found no free frame and ran the reclaimers synchronously.
    public var directReclaims = 0
    public var kswapdWakeups = 0
    public var reclaimedSlabPages = 0
    public var reclaimedPagecachePages = 0
    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("oom", &oom)
        v.counter("direct_reclaims", &directReclaims)
        v.counter("kswapd_wakeups", &kswapdWakeups)
        v.counter("reclaimed_slab_pages", &reclaimedSlabPages)
        v.counter("reclaimed_pagecache_pages", &reclaimedPagecachePages)
    }
}
