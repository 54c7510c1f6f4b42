import MemTrace

/// `kmem_cache_create`, `slab_alloc`, `slab_free`, `kmalloc`, `kfree`, `slab_reclaim`.
extension Machine {
    /// `kmem_cache_create`: a cache of `size`-byte objects.
    /// `type` is `.reclaimable` for a cache made with `SLAB_RECLAIM_ACCOUNT`.
    public mutating func kmem_cache_create(_ symbol: Symbol, name: String, size: Int, align: Int,
                                           type: MigrateType = .unmovable) throws(ModelError) {
        // A boot cache only some variants have (kmalloc-96 …), declared with
        // its size, is the variant's own where it has it.
        if symbol.raw >= KmallocCaches.commonCount, KmallocCaches.name(of: symbol) != nil, slab.cacheIndex(symbol) == nil,
           let own = slab.variant.cache(named: name), slab.variant.objectSize(of: own) == size {
            resolveCacheName(symbol, name: name)
            return
        }
        if slab.cacheIndex(symbol) != nil || slab.variant.cache(named: name) != nil {
            throw ModelError("cache: cache %s already exists", (.cache, symbol))
        }
        _ = slab.kmem_cache_create(symbol, name: name, size: size, align: align, type: type)
    }

    /// Lets trace names `kmalloc-64` etc. refer to the boot-time caches.
    public mutating func resolveCacheName(_ symbol: Symbol, name: String) {
        _ = slab.resolve(symbol, name: name)
    }

    func requireCache(_ symbol: Symbol, _ stmt: String) throws(ModelError) -> Int32 {
        guard let c = slab.cacheIndex(symbol) else { throw ModelError("\(stmt): unknown cache %s", (.cache, symbol)) }
        return c
    }

    /// `slab_alloc` from cache `c`, growing it by one slab if it has no free object.
    mutating func slab_alloc(_ c: Int32) -> SlabObject? {
        if let o = slab.allocate(from: c) { return o }
        let n = slab.growthFrames(of: c)
        guard let base = allocate(n, for: .slab, type: slab.migrateType(ofCache: c)) else { return nil }
        guard let descriptor = slabDescriptor(slab.descriptorCache(of: c), base: base, frames: n) else { return nil }
        slab.grow(c, base: base, descriptor: descriptor)
        return slab.allocate(from: c)
    }

    /// `alloc_slabmgmt()`: the off-slab descriptor of a new slab at `base`
    /// from `cache` (`.some(nil)` when the slab holds its own); nil, with the
    /// slab's frames given back, when it cannot be had (`cache_grow()`'s
    /// `opps1` path).
    private mutating func slabDescriptor(_ cache: Int32?, base: FrameNumber, frames n: Int) -> SlabObject?? {
        guard let cache else { return .some(nil) }
        if let d = slab_alloc(cache) { return d }
        release(base, n)
        return nil
    }

    /// `kmalloc(size)` from the variant's slabs, growing them by one slab
    /// if it has no room.
    mutating func slab_kmalloc(_ size: Int) -> SlabObject? {
        if let o = slab.kmalloc(size: size) { return o }
        let n = slab.kmallocGrowthFrames(size: size)
        guard let base = allocate(n, for: .slab) else { return nil }
        guard let descriptor = slabDescriptor(slab.kmallocDescriptorCache(size: size), base: base, frames: n) else { return nil }
        slab.growForKmalloc(size: size, base: base, descriptor: descriptor)
        return slab.kmalloc(size: size)
    }

    mutating func salloc(_ cache: Symbol, _ object: Symbol, site: UInt64 = 0, allocated: UInt32 = 0) throws(ModelError) {
        let c = try requireCache(cache, "salloc")
        switch slab.binding(object) {
        case .object, .large:
            throw ModelError("salloc: object %s is still allocated (free it first)", (.object, object))
        case .none, .failed: break
        }
        if let o = slab_alloc(c) {
            slab.setBinding(object, .object(o, kmalloc: false))
            let bytes = slab.variant.cacheAllocationBytes(of: c)
            slab.kmem.allocated(object, site: site, requested: slab.requestedSize(ofCache: cache, c), allocated: bytes)
            if allocated != 0 && config.checkEvery > 0 {
                let what = "salloc \(slab.name(of: c))"
                checkAllocated(what, model: bytes, kernel: allocated)
            }
        } else {
            slab.setBinding(object, .failed(kmalloc: false))
            slab.kmem.failed(site: site)
        }
    }

    mutating func sfree(_ cache: Symbol, _ object: Symbol) throws(ModelError) {
        let c = try requireCache(cache, "sfree")
        switch slab.binding(object) {
        case .none:
            throw ModelError("sfree: object %s was never allocated (or is already freed)", (.object, object))
        case .failed(let kmalloc):
            if kmalloc { throw ModelError("sfree: object %s came from kmalloc; free it with kfree", (.object, object)) }
            slab.setBinding(object, .none)
        case .large:
            throw ModelError("sfree: object %s came from kmalloc; free it with kfree", (.object, object))
        case let .object(o, kmalloc):
            if kmalloc { throw ModelError("sfree: object %s came from kmalloc; free it with kfree", (.object, object)) }
            guard o.cache == c else {
                throw ModelError("sfree: object %s belongs to cache \(slab.name(of: o.cache)), not %s", (.object, object), (.cache, cache))
            }
            slabFree(o)
            slab.kmem.freed(object)
            slab.setBinding(object, .none)
        }
    }

    /// `replay --check` against the recording kernel's `bytes_alloc`: keeps
    /// the first disagreement for the replay loop to report with its line.
    private mutating func checkAllocated(_ what: String, model: Int, kernel: UInt32) {
        guard slab.allocationMismatch == nil, model != Int(kernel) else { return }
        slab.allocationMismatch = "\(what) takes \(model) bytes under --slab \(config.slab.rawValue); the recording kernel gave \(kernel)"
    }

    /// `slab_free`, and the slab it emptied back to the page allocator if
    /// the variant gives it up at once (SLUB above `min_partial`).
    private mutating func slabFree(_ o: SlabObject) {
        for run in slab.free(o) { release(run.base, run.frames) }
    }

    /// `kmalloc`: the variant's class cache up to its largest class, whole
    /// contiguous frames (as many as the variant takes) above.
    mutating func kmalloc(_ object: Symbol, size: Int, site: UInt64 = 0, allocated: UInt32 = 0) throws(ModelError) {
        switch slab.binding(object) {
        case .object, .large:
            throw ModelError("kmalloc: object %s is still allocated (kfree it first)", (.object, object))
        case .none, .failed: break
        }
        var ok = false
        if size <= slab.kmallocMax {
            if let o = slab_kmalloc(size) {
                slab.setBinding(object, .object(o, kmalloc: true))
                ok = true
            }
        } else {
            let n = slab.largeFrames(for: size)
            if n > 0, let base = allocate(n, for: .kmallocLarge) {
                slab.kmallocLargeFrames += Frames.footprint(n)
                slab.setBinding(object, .large(base: base, frames: Int32(n)))
                ok = true
            }
        }
        if ok {
            let bytes = slab.kmallocBytes(size)
            slab.kmem.allocated(object, site: site, requested: size, allocated: bytes)
            if allocated != 0 && config.checkEvery > 0 { checkAllocated("kmalloc(\(size))", model: bytes, kernel: allocated) }
        } else {
            slab.setBinding(object, .failed(kmalloc: true))
            slab.kmem.failed(site: site)
        }
    }

    mutating func kfree(_ object: Symbol) throws(ModelError) {
        switch slab.binding(object) {
        case .none:
            throw ModelError("kfree: object %s was never allocated (or is already freed)", (.object, object))
        case .failed(let kmalloc):
            if !kmalloc { throw ModelError("kfree: object %s came from salloc; free it with sfree", (.object, object)) }
        case let .large(base, n):
            slab.kmallocLargeFrames -= Frames.footprint(Int(n))
            release(base, Int(n))
            slab.kmem.freed(object)
        case let .object(o, kmalloc):
            if !kmalloc {
                throw ModelError("kfree: object %s came from salloc \(slab.name(of: o.cache)); free it with sfree", (.object, object))
            }
            slabFree(o)
            slab.kmem.freed(object)
        }
        slab.setBinding(object, .none)
    }

    /// `slab_reclaim`: returns empty slabs to the physical allocator, caches in
    /// creation order (newest first where the variant says so), until at
    /// least `want` frames are freed (a slab counts whole). With `node`, only
    /// slabs on that node.
    mutating func slab_reclaim(_ want: Int, node: Int? = nil) -> Int {
        guard slab.variant.emptySlabs > 0 else { return 0 }
        var freed = 0
        let n = Int32(slab.cacheCount)
        let newestFirst = slab.variant.reclaimsNewestFirst
        for k in 0..<n where freed < want {
            let c = newestFirst ? n - 1 - k : k
            while freed < want {
                let runs = releaseEmptySlab(c, node: node)
                if runs.isEmpty { break }
                for run in runs {
                    nodeCounters[frames.node(of: run.base)].reclaimedPages += run.frames
                    release(run.base, run.frames)
                    freed += run.frames
                }
            }
        }
        reclaim.counters.reclaimedSlabPages += freed
        return freed
    }

    private mutating func releaseEmptySlab(_ c: Int32, node: Int?) -> [SlabRun] {
        guard let node else { return slab.releaseEmptySlab(of: c) { _ in true } }
        let nodes = frames.physical
        return slab.releaseEmptySlab(of: c) { nodes.node(of: $0) == node }
    }

    /// One `/proc/slabinfo` line per cache.
    public func slabinfo() -> [SlabInfoRow] { slab.slabinfo() }
}
