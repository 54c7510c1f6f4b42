import MemTrace

/// `fread`, `fwrite`, `fsync`, `fdrop` and `page_cache_reclaim`.
extension Machine {
    /// A lookup; a miss allocates a frame and inserts the page (dirty for a write).
    mutating func pageCacheAccess(_ file: Symbol, _ page: UInt32, write: Bool) throws(ModelError) {
        if pageCache.hit(file, page, dirty: write) { return }
        guard let f = pmm_alloc_page(for: .pageCache) else { return }
        pageCache.insert(file, page, frame: f, dirty: write)
    }

    /// `fsync`: a file with no cached pages (or never read) is fine, as the format says.
    mutating func fsync(_ file: Symbol) throws(ModelError) {
        pageCache.clean(file)
    }

    /// `fdrop`: frees the file's cached pages; a file with none is fine too.
    mutating func fdrop(_ file: Symbol) throws(ModelError) {
        for f in pageCache.drop(file) { pmm_free_page(f) }
    }

    /// `page_cache_reclaim`: evicts up to `want` clean pages, in policy order
    /// (with `node`, only pages held in that node's frames).
    mutating func page_cache_reclaim(_ want: Int, node: Int? = nil) -> Int {
        let nodes = frames.physical
        let victims = node == nil ? pageCache.evictClean(want) : pageCache.evictClean(want) { nodes.node(of: $0) == node }
        for f in victims {
            nodeCounters[frames.node(of: f)].reclaimedPages += 1
            pmm_free_page(f)
        }
        reclaim.counters.reclaimedPagecachePages += victims.count
        return victims.count
    }
}
