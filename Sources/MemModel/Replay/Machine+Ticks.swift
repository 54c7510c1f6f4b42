/// Closing a tick: `kswapd_tick()`, then the state the metrics row records.
extension Machine {
    /// Runs `kswapd_tick()` and returns the gauges of the closing tick.
    public mutating func closeTick() -> Gauges {
        kswapd_tick()
        proactiveCompaction()
        closedShapes = frames.physical.nodes.map { FreeSpaceShape($0.bitmap) }
        return gauges(closedShapes)
    }

    /// The machine's state now.
    public func gauges() -> Gauges {
        gauges(frames.physical.nodes.map { FreeSpaceShape($0.bitmap) })
    }

    /// The machine's state, given each node's free-space shape.
    func gauges(_ shapes: [FreeSpaceShape]) -> Gauges {
        var g = Gauges()
        g.freePages = frames.freeCount
        g.usedPages = usedFrames
        g.usagePct = mem_usage_pct()
        // Runs never cross a node boundary: allocations cannot span nodes.
        for shape in shapes {
            g.largestFreeBlock = max(g.largestFreeBlock, shape.largestFreeRun)
            for o in 0...maxOrder { g.freeBlocks[o] += shape.blocksPerOrder[o] }
            g.freeHuge += shape.freeHugeBlocks
        }
        g.fragIndex = g.freePages == 0 ? 0 : 1 - Double(g.largestFreeBlock) / Double(g.freePages)
        g.pagetablePages = tables.tableFrames
        g.processes = processCount
        let slabTotals = slab.totals
        g.slabPages = slabTotals.pages
        g.slabObjects = slabTotals.objects
        g.slabCapacity = slabTotals.capacity
        g.slabWasteBytes = slabTotals.wasteBytes
        g.kmallocLargePages = slab.kmallocLargeFrames
        g.kmemBytesRequested = slab.kmem.liveRequested
        g.kmemBytesAllocated = slab.kmem.liveAllocated
        g.pagecachePages = pageCache.count
        g.pagecacheDirty = pageCache.dirtyCount
        g.kswapdActive = reclaim.ranThisTick.contains(true)
        return g
    }

    /// Each node's state at the last tick close, with its counters since `start`.
    public func nodeSamples(since start: [NodeCounters]) -> [NodeSample] {
        frames.physical.nodes.indices.map { k in
            let n = frames.physical.nodes[k]
            let allocatable = frames.physical.allocatable(k)
            let shape = k < closedShapes.count ? closedShapes[k] : FreeSpaceShape(n.bitmap)
            var s = NodeSample(node: k)
            s.freePages = n.freeCount
            s.usedPages = allocatable - n.freeCount
            s.usagePct = allocatable == 0 ? 100 : 100 * Double(s.usedPages) / Double(allocatable)
            s.largestFreeBlock = shape.largestFreeRun
            s.fragIndex = n.freeCount == 0 ? 0 : 1 - Double(shape.largestFreeRun) / Double(n.freeCount)
            s.kswapdActive = reclaim.ranThisTick[k]
            s.delta = nodeCounters[k].since(start[k])
            s.pageTypes = n.pageTypes
            return s
        }
    }

    /// Opens tick `n` (the replay loop has closed the previous one).
    public mutating func beginTick(_ n: UInt64) { tick = n }
}
