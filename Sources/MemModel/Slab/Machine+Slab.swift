import MemTrace

/// `kmem_cache_create`, `slab_alloc`, `slab_free`, `kmalloc`, `kfree`, `slab_reclaim`.
extension Machine {
    /// `kmem_cache_create`: a cache of `size`-byte objects.
    public mutating func kmem_cache_create(_ symbol: Symbol, name: String, size: Int, align: Int) throws(ModelError) {
        if slab.cacheIndex(symbol) != nil || slab.caches.contains(where: { $0.name == name }) {
            throw ModelError("cache: cache %s already exists", (.cache, symbol))
        }
        _ = slab.kmem_cache_create(symbol, name: name, size: size, align: align)
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
    mutating func slab_alloc(_ c: Int32) -> (slab: Int32, index: Int32)? {
        if let o = slab.caches[Int(c)].allocate() { return o }
        let order = slab.caches[Int(c)].order
        guard let base = allocate(1 << order, for: .slab) else { return nil }
        slab.caches[Int(c)].grow(base: base)
        return slab.caches[Int(c)].allocate()
    }

    /// `slab_free`.
    mutating func slab_free(_ c: Int32, slab s: Int32, index i: Int32) {
        slab.caches[Int(c)].free(slab: s, index: i)
    }

    mutating func salloc(_ cache: Symbol, _ object: Symbol) throws(ModelError) {
        let c = try requireCache(cache, "salloc")
        switch slab.binding(object) {
        case .object, .large:
            throw ModelError("salloc: object %s is still allocated (free it first)", (.object, object))
        case .none, .failed: break
        }
        if let (s, i) = slab_alloc(c) {
            slab.setBinding(object, .object(cache: c, slab: s, index: i, kmalloc: false))
        } else {
            slab.setBinding(object, .failed(kmalloc: false))
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
        case let .object(oc, s, i, kmalloc):
            if kmalloc { throw ModelError("sfree: object %s came from kmalloc; free it with kfree", (.object, object)) }
            guard oc == c else {
                throw ModelError("sfree: object %s belongs to cache \(slab.caches[Int(oc)].name), not %s", (.object, object), (.cache, cache))
            }
            slab_free(c, slab: s, index: i)
            slab.setBinding(object, .none)
        }
    }

    /// `kmalloc`: the power-of-two class cache for sizes up to 4096 bytes,
    /// whole contiguous frames (⌈size / 4096⌉) above.
    mutating func kmalloc(_ object: Symbol, size: Int) throws(ModelError) {
        switch slab.binding(object) {
        case .object, .large:
            throw ModelError("kmalloc: object %s is still allocated (kfree it first)", (.object, object))
        case .none, .failed: break
        }
        if size <= SlabAllocator.kmallocMax {
            let c = slab.kmallocCache(for: size)
            if let (s, i) = slab_alloc(c) {
                slab.setBinding(object, .object(cache: c, slab: s, index: i, kmalloc: true))
            } else {
                slab.setBinding(object, .failed(kmalloc: true))
            }
        } else {
            let n = (size + 4095) / 4096
            if let base = allocate(n, for: .kmallocLarge) {
                slab.kmallocLargeFrames += Frames.footprint(n)
                slab.setBinding(object, .large(base: base, frames: Int32(n)))
            } else {
                slab.setBinding(object, .failed(kmalloc: true))
            }
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
        case let .object(c, s, i, kmalloc):
            if !kmalloc {
                throw ModelError("kfree: object %s came from salloc \(slab.caches[Int(c)].name); free it with sfree", (.object, object))
            }
            slab_free(c, slab: s, index: i)
        }
        slab.setBinding(object, .none)
    }

    /// `slab_reclaim`: returns empty slabs to the physical allocator, caches in
    /// creation order, until at least `want` frames are freed (a slab counts
    /// whole). With `node`, only slabs on that node.
    mutating func slab_reclaim(_ want: Int, node: Int? = nil) -> Int {
        var freed = 0
        for c in slab.caches.indices where freed < want {
            while freed < want, let base = releaseEmptySlab(c, node: node) {
                let n = slab.caches[c].pagesPerSlab
                nodeCounters[frames.node(of: base)].reclaimedPages += n
                release(base, n)
                freed += n
            }
        }
        reclaim.counters.reclaimedSlabPages += freed
        return freed
    }

    private mutating func releaseEmptySlab(_ c: Int, node: Int?) -> FrameNumber? {
        guard let node else { return slab.caches[c].releaseEmptySlab() }
        let nodes = frames.physical
        return slab.caches[c].releaseEmptySlab { nodes.node(of: $0) == node }
    }

    /// One `/proc/slabinfo` line per cache.
    public func slabinfo() -> [SlabInfoRow] {
        slab.caches.map {
            SlabInfoRow(name: $0.name, activeObjects: $0.activeObjects, objects: $0.capacity,
                        objectSize: $0.objectSize, objectsPerSlab: $0.objectsPerSlab,
                        pagesPerSlab: $0.pagesPerSlab, slabs: $0.slabCount)
        }
    }
}
