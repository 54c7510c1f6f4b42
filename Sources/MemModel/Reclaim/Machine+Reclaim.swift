/// `kswapd_tick()` and the calls into the registered reclaimers.
extension Machine {
    /// Runs one reclaimer, asking for `want` frames (of `node` only, if given);
    /// returns frames freed.
    mutating func reclaim(_ r: Reclaimer, want: Int, node: Int?) -> Int {
        reclaiming = true
        defer { reclaiming = false }
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
        for k in kswapds.indices { kswapdTick(node: k) }
    }

    mutating func kswapdTick(node k: Int) {
        kswapdRanThisTick[k] = false
        let allocatable = frames.allocatable(k)
        guard allocatable > 0 else { return }
        let scope: Int? = frames.count == 1 ? nil : k
        func used() -> Int { allocatable - frames.nodes[k].freeCount }
        if !kswapds[k].awake && kswapds[k].aboveHigh(used: used(), allocatable: allocatable) {
            kswapds[k].wake()
            counters.kswapdWakeups += 1
            nodeCounters[k].kswapdWakeups += 1
        }
        guard kswapds[k].awake else { return }
        kswapdRanThisTick[k] = true
        let target = kswapds[k].lowTarget(allocatable: allocatable)
        while used() > target {
            var freed = 0
            for r in kswapds[k].reclaimers where used() > target {
                freed += reclaim(r, want: used() - target, node: scope)
            }
            if freed == 0 { break }
        }
        if used() <= target { kswapds[k].sleep() }
    }
}
