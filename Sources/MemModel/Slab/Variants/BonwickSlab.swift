/// Bonwick's slab allocator (Bonwick, "The Slab Allocator: An Object-Caching
/// Kernel Memory Allocator", USENIX Summer 1994), as the seed kernel has it.
///
/// The generic kmalloc caches (`kmalloc-8` … `kmalloc-4096`, powers of two)
/// are created at boot, before any trace cache, as Linux's
/// `create_kmalloc_caches()` does; a `kmalloc` above 4096 bytes takes whole
/// contiguous frames instead. Each cache is a ``BonwickCache``: slabs on
/// full/partial/empty lists, free lists inside the objects, the 1/8-waste
/// order rule; empty slabs stay cached until `slab_reclaim`.
public struct BonwickSlab: SlabVariant {
    /// A cache's slabs are its own, so they take its mobility.
    public static var slabPagesFollowCache: Bool { true }

    private(set) var caches: [BonwickCache] = []
    /// Cache index of `kmalloc-2^(k+3)`.
    private var kmallocCaches: [Int32] = []

    public var kmallocMax: Int { 4096 }

    /// ⌈size / 4096⌉ frames: the seed kernel takes just enough.
    public func largeFrames(for size: Int) -> Int { (size + 4095) / 4096 }

    public init() {
        var size = 8
        while size <= kmallocMax {
            kmallocCaches.append(Int32(caches.count))
            caches.append(BonwickCache(name: "kmalloc-\(size)", size: size, align: 8))
            size <<= 1
        }
    }

    public var cacheCount: Int { caches.count }
    public func name(of cache: Int32) -> String { caches[Int(cache)].name }
    public func objectSize(of cache: Int32) -> Int { caches[Int(cache)].objectSize }

    public func cache(named name: String) -> Int32? {
        caches.firstIndex { $0.name == name }.map(Int32.init)
    }

    public mutating func createCache(name: String, size: Int, align: Int, reclaimable: Bool) -> Int32 {
        caches.append(BonwickCache(name: name, size: size, align: align))
        return Int32(caches.count - 1)
    }

    /// The power-of-two class: `kmalloc-2^⌈log2 max(size, 8)⌉`.
    public func kmallocCache(for size: Int) -> Int32 {
        let rounded = max(size, 8)
        let k = Int.bitWidth - (rounded - 1).leadingZeroBitCount - 3
        return kmallocCaches[k]
    }

    @inline(__always)
    public mutating func allocate(from cache: Int32) -> SlabObject? {
        guard let (s, i) = caches[Int(cache)].allocate() else { return nil }
        return SlabObject(cache: cache, slab: s, index: i)
    }

    public func growthFrames(of cache: Int32) -> Int { caches[Int(cache)].pagesPerSlab }

    public mutating func grow(_ cache: Int32, base: FrameNumber) { caches[Int(cache)].grow(base: base) }

    /// Empty slabs stay cached until `slab_reclaim`: never a slab back.
    @inline(__always)
    public mutating func free(_ object: SlabObject) -> [SlabRun] {
        caches[Int(object.cache)].free(slab: object.slab, index: object.index)
        return []
    }

    public mutating func releaseEmptySlab(of cache: Int32, where accept: (FrameNumber) -> Bool) -> [SlabRun] {
        guard let base = caches[Int(cache)].releaseEmptySlab(where: accept) else { return [] }
        return [SlabRun(base: base, frames: caches[Int(cache)].pagesPerSlab)]
    }

    public func activeObjects(of cache: Int32) -> Int { caches[Int(cache)].activeObjects }

    public var emptySlabs: Int { caches.reduce(0) { $0 + $1.emptySlabs } }

    public func slabinfo() -> [SlabInfoRow] {
        caches.map {
            SlabInfoRow(name: $0.name, activeObjects: $0.activeObjects, objects: $0.capacity,
                        objectSize: $0.objectSize, objectsPerSlab: $0.objectsPerSlab,
                        pagesPerSlab: $0.pagesPerSlab, slabs: $0.slabCount, activeSlabs: $0.slabCount - $0.emptySlabs)
        }
    }

    public var totals: SlabTotals {
        var t = SlabTotals()
        for c in caches {
            t.pages += c.slabCount * c.pagesPerSlab
            t.objects += c.activeObjects
            t.capacity += c.capacity
            t.wasteBytes += c.wasteBytes
        }
        return t
    }

    public func invariantViolation() -> String? {
        for c in caches {
            if let v = c.invariantViolation() { return v }
        }
        return nil
    }
}
