/// `kswapd_tick()` and the calls into the registered reclaimers.
extension Machine {
    /// Runs one reclaimer, asking for `want` frames (of `node` only, if given);
    /// returns frames freed.
    mutating func runReclaimer(_ r: Reclaimer, want: Int, node: Int?) -> Int {
        reclaim.reclaiming = true
        defer { reclaim.reclaiming = false }
        switch r {
        case .slabReclaim: return slab_reclaim(want, node: node)
        case .pageCacheReclaim: return page_cache_reclaim(want, node: node)
        }
    }

    /// `kswapd_tick()`, once per closed tick, for every node's kswapd: wake
    /// above the high watermark; while awake, run the reclaimers in order,
    /// each asked for the frames still needed to reach the low watermark,
    /// until it is reached or a whole pass frees nothing; sleep only at or
    /// below the low watermark.
    public mutating func kswapd_tick() {
        for k in reclaim.kswapds.indices { kswapdTick(node: k) }
    }

    mutating func kswapdTick(node k: Int) {
        reclaim.ranThisTick[k] = false
        let allocatable = frames.physical.allocatable(k)
        guard allocatable > 0 else { return }
        let scope: Int? = frames.physical.count == 1 ? nil : k
        func used() -> Int { allocatable - frames.physical.nodes[k].freeCount }
        if !reclaim.kswapds[k].awake && reclaim.kswapds[k].aboveHigh(used: used(), allocatable: allocatable) {
            reclaim.kswapds[k].wake()
            reclaim.counters.kswapdWakeups += 1
            nodeCounters[k].kswapdWakeups += 1
        }
        guard reclaim.kswapds[k].awake else { return }
        reclaim.ranThisTick[k] = true
        let target = reclaim.kswapds[k].lowTarget(allocatable: allocatable)
        while used() > target {
            var freed = 0
            for r in reclaim.kswapds[k].reclaimers where used() > target {
                freed += runReclaimer(r, want: used() - target, node: scope)
            }
            if freed == 0 { break }
        }
        if used() <= target { reclaim.kswapds[k].sleep() }
    }
}
