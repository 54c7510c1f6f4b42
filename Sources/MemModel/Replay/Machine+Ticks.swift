/// Closing a tick: `kswapd_tick()`, then the state the metrics row records.
extension Machine {
    /// Runs `kswapd_tick()` and returns the gauges of the closing tick.
    public mutating func closeTick() -> Gauges {
        kswapd_tick()
        return gauges()
    }

    /// The machine's state now.
    public func gauges() -> Gauges {
        var g = Gauges()
        g.freePages = frames.freeCount
        g.usedPages = usedFrames
        g.usagePct = mem_usage_pct()
        let shape = FreeSpaceShape(frames.bitmap)
        g.largestFreeBlock = shape.largestFreeRun
        g.freeBlocks = shape.blocksPerOrder
        g.fragIndex = g.freePages == 0 ? 0 : 1 - Double(shape.largestFreeRun) / Double(g.freePages)
        g.pagetablePages = tables.tableFrames
        g.processes = processCount
        g.slabPages = slab.slabPages
        g.slabObjects = slab.activeObjects
        g.slabCapacity = slab.capacity
        g.slabWasteBytes = slab.wasteBytes
        g.kmallocLargePages = kmallocLargeFrames
        g.pagecachePages = pageCache.count
        g.pagecacheDirty = pageCache.dirtyCount
        g.kswapdActive = kswapdRanThisTick
        return g
    }

    /// Opens tick `n` (the replay loop has closed the previous one).
    public mutating func beginTick(_ n: UInt64) { tick = n }
}
