/// `kswapd_tick()` and the calls into the registered reclaimers.
extension Machine {
    /// Runs one reclaimer, asking for `want` frames; returns frames freed.
    mutating func reclaim(_ r: Reclaimer, want: Int) -> Int {
        reclaiming = true
        defer { reclaiming = false }
        switch r {
        case .slabReclaim: return slab_reclaim(want)
        case .pageCacheReclaim: return page_cache_reclaim(want)
        }
    }

    /// `kswapd_tick()`, once per closed tick: wake above the high watermark;
    /// while awake, run the reclaimers in order, each asked for the frames
    /// still needed to reach the low watermark, until it is reached or a whole
    /// pass frees nothing; sleep only at or below the low watermark.
    public mutating func kswapd_tick() {
        kswapdRanThisTick = false
        if !kswapd.awake && kswapd.aboveHigh(used: usedFrames, allocatable: allocatableFrames) {
            kswapd.wake()
            counters.kswapdWakeups += 1
        }
        guard kswapd.awake else { return }
        kswapdRanThisTick = true
        let target = kswapd.lowTarget(allocatable: allocatableFrames)
        while usedFrames > target {
            var freed = 0
            for r in kswapd.reclaimers where usedFrames > target {
                freed += reclaim(r, want: usedFrames - target)
            }
            if freed == 0 { break }
        }
        if usedFrames <= target { kswapd.sleep() }
    }
}
