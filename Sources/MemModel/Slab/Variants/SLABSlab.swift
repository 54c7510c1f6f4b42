/// SLAB as Linux 3.6 has it (`mm/slab.c`, `include/linux/slab_def.h`,
/// `include/linux/kmalloc_sizes.h`), on this model's machine: i386, 4 KiB
/// pages, one CPU, one node, no `CONFIG_DEBUG_SLAB`, `sizeof(void *)` = 4,
/// `cache_line_size()` = 64.
///
/// Theory of operation, narrowed to one CPU. A cache's slabs are 2^order
/// frames of `num` objects; a slab's free objects are a LIFO chain of
/// `kmem_bufctl_t` indices (`slab_get_obj()`/`slab_put_obj()`). The node
/// (`kmem_list3`) keeps three lists — partial, full, free — and
/// `free_objects`, the free objects in its slabs. In front of them the CPU's
/// array cache (`array_cache`) holds up to `limit` object pointers, LIFO:
///
/// - **allocation** (`____cache_alloc()` L3360-3363) pops the array; an
///   empty array is refilled (`cache_alloc_refill()` L3190-3274) with up to
///   `batchcount` objects — 16 (`BATCHREFILL_LIMIT`) while the array was
///   never `touched` — from the head of the partial list, else the head of
///   the free list, each slab afterwards to the head of the full or partial
///   list; nothing there: one new slab (`cache_grow()`, added to the free
///   list's tail) and the refill again.
/// - **free** (`__cache_free()` L3822-3829) pushes onto the array; a full
///   array first sends its oldest `batchcount` objects back
///   (`cache_flusharray()` L3752-3794) through `free_block()` (L3717-3741):
///   each object to its slab, the slab to the partial list's tail, or, when
///   emptied, destroyed if the node already holds more than `free_limit`
///   free objects, else to the free list's head.
///
/// An object held in the array is free to the trace but in use to its
/// slab, so `/proc/slabinfo` (`s_show()` L4409-4449) counts it active, as the
/// kernel prints it.
///
/// Sizes and limits, with their lines in the 4759-line `mm/slab.c` of a
/// Linux 3.6.0 tree:
/// - kmalloc classes `size-32`, `size-64`, `size-128`, `size-192`,
///   `size-256`, … `size-4194304` (`kmalloc_sizes.h`: `CACHE(32)` when
///   `PAGE_SIZE` is 4096, 96 only when `L1_CACHE_BYTES` < 64, 192 when it
///   is < 128, powers of two up to `KMALLOC_MAX_SIZE` = 2^(`MAX_ORDER` +
///   `PAGE_SHIFT` - 1) = 4 MiB); a request takes the first class at least
///   its size (`__find_general_cachep()` L724-739) and above the last one
///   kmalloc returns NULL; the kmalloc tracepoint's `bytes_alloc` is the
///   class's `cachep->size` (`__do_kmalloc()` L3949-3955).
/// - The kmalloc caches are `SLAB_HWCACHE_ALIGN` (`ARCH_KMALLOC_FLAGS`,
///   L155-157): aligned to 32 bytes up to 32, 64 above (L2434-2436); other
///   caches to a word, at least `ARCH_SLAB_MINALIGN` = 8 (L2438-2463).
/// - Management: `struct slab` (28 bytes) plus a 4-byte `kmem_bufctl_t` per
///   object, in the slab (`slab_mgmt_size()` L749) or, for objects of 512
///   bytes and up created after early boot (L2522-2528: `size-32` and
///   `size-64` are created early), off-slab in a kmalloc object (`slabp_cache`,
///   L2581) — unless the slab's leftover holds it (L2547-2549).
/// - `cache_estimate()` L761-810 and `calculate_slab_order()` L2253-2298: the
///   first order with an object, accepted; the next tried while the leftover
///   exceeds 1/8 of the slab and the order is below `slab_max_order` (0,
///   1 on machines with more than 32 MiB, L1619-1620).
/// - `enable_cpucache()` L4204-4236: `limit` 120 / 54 / 24 / 8 / 1 by object
///   size (≤ 256, ≤ 1024, ≤ 4096, ≤ 128 KiB, larger), `batchcount` (limit +
///   1) / 2, no shared array on one CPU; `free_limit` = (1 + CPUs on the
///   node) × batchcount + num (`alloc_kmemlist()`, L4084-4085).
///
/// Where the model simplifies: `cache_reap()` (every 2 s of jiffies) does not
/// run — a trace has no clock — so arrays and free slabs drain only through
/// frees and `slab_reclaim`; `slab_reclaim` is `kmem_cache_shrink()` (drain the
/// array, free the free slabs from the list's tail) with slabs the drain
/// empties put on the free list rather than destroyed on the way; the
/// per-cache metadata (`struct kmem_cache`, `array_cache`, `kmem_list3`) and
/// the `kmem_cache` cache are not allocated (as the SLUB model leaves out
/// its `kmem_cache`/`kmem_cache_node`); no `size-N(DMA)` twins; colouring
/// changes object addresses only, not counts, and is not modelled.
public struct SLABSlab: SlabVariant {
    /// `kmem_getpages()` adds `__GFP_RECLAIMABLE` for `SLAB_RECLAIM_ACCOUNT`.
    public static var slabPagesFollowCache: Bool { true }

    private(set) var caches: [Cache] = []
    /// `slab_max_order`.
    let maxOrder: Int

    /// `KMALLOC_MAX_SIZE`.
    public var kmallocMax: Int { 4 << 20 }

    /// Above `KMALLOC_MAX_SIZE` there is no class: kmalloc returns NULL.
    public func largeFrames(for size: Int) -> Int { 0 }

    /// The classes of `kmalloc_sizes.h`: 32, 64, 128, 192, 256 … 4 MiB.
    static let classSizes = [32, 64, 128, 192] + (8...22).map { 1 << $0 }

    /// Boots with the kmalloc caches in `kmem_cache_init()`'s order (`size-32`
    /// and `size-64` first, early and so on-slab, then the rest by size: the
    /// same order). `totalPages` decides `slab_max_order`.
    public init(totalPages: Int) {
        maxOrder = totalPages > (32 << 20) >> 12 ? 1 : 0
        for size in Self.classSizes {
            let early = size <= 64
            caches.append(makeCache(name: "size-\(size)", size: size, align: 8, hardwareAligned: true, early: early))
        }
    }

    private func makeCache(name: String, size: Int, align: Int, hardwareAligned: Bool, early: Bool) -> Cache {
        let g = Self.geometry(size: size, align: align, hardwareAligned: hardwareAligned, early: early, maxOrder: maxOrder)
        // kmem_find_general_cachep(slab_size): the first class that holds it.
        let descriptorCache = g.descriptorBytes.map { bytes in Int32(Self.classSizes.firstIndex { $0 >= bytes }!) }
        return Cache(name: name, geometry: g, descriptorCache: descriptorCache)
    }

    public var cacheCount: Int { caches.count }
    public func name(of cache: Int32) -> String { caches[Int(cache)].name }
    public func objectSize(of cache: Int32) -> Int { caches[Int(cache)].objectSize }
    public func cache(named name: String) -> Int32? { caches.firstIndex { $0.name == name }.map(Int32.init) }

    /// `__kmem_cache_create()` with flags 0. SLAB does not merge caches.
    public mutating func createCache(name: String, size: Int, align: Int, reclaimable: Bool) -> Int32 {
        caches.append(makeCache(name: name, size: size, align: align, hardwareAligned: false, early: false))
        return Int32(caches.count - 1)
    }

    /// `__find_general_cachep()`: the first class of at least `size` bytes.
    public func kmallocCache(for size: Int) -> Int32 {
        precondition(size >= 1 && size <= kmallocMax)
        if size <= 32 { return 0 }
        if size <= 64 { return 1 }
        if size <= 128 { return 2 }
        if size <= 192 { return 3 }
        // 256 = class 4, then one class per power of two.
        return Int32(Int.bitWidth - (size - 1).leadingZeroBitCount - 4)
    }

    // MARK: Operations

    public mutating func allocate(from cache: Int32) -> SlabObject? {
        guard let (s, i) = caches[Int(cache)].allocate() else { return nil }
        return SlabObject(cache: cache, slab: s, index: i)
    }

    public func growthFrames(of cache: Int32) -> Int { caches[Int(cache)].pagesPerSlab }

    public func descriptorCache(of cache: Int32) -> Int32? { caches[Int(cache)].descriptorCache }

    public mutating func grow(_ cache: Int32, base: FrameNumber) { grow(cache, base: base, descriptor: nil) }

    /// `cache_grow()`: the frames, then the off-slab descriptor, a kmalloc
    /// object the machine took from ``descriptorCache(of:)``.
    public mutating func grow(_ cache: Int32, base: FrameNumber, descriptor: SlabObject?) {
        precondition((descriptor != nil) == (caches[Int(cache)].descriptorCache != nil))
        if let d = descriptor { caches[Int(d.cache)].descriptors += 1 }
        caches[Int(cache)].grow(base: base, descriptor: descriptor)
    }

    /// `__cache_free()`; the slabs `free_block()` destroyed, with those of
    /// their descriptors' caches.
    public mutating func free(_ object: SlabObject) -> [SlabRun] {
        var released: [SlabRun] = []
        // free_block() frees each destroyed slab's descriptor as it goes:
        // first destroyed, first freed.
        var pending = [object]
        var next = 0
        while next < pending.count {
            let o = pending[next]
            next += 1
            let c = Int(o.cache)
            for slab in caches[c].free(slab: o.slab, index: o.index) {
                released.append(SlabRun(base: slab.base, frames: caches[c].pagesPerSlab))
                // slab_destroy(): kmem_cache_free(cachep->slabp_cache, slabp).
                if let d = slab.descriptor {
                    caches[Int(d.cache)].descriptors -= 1
                    pending.append(d)
                }
            }
        }
        return released
    }

    /// `kmem_cache_shrink()` for `slab_reclaim`: the array drained, then a
    /// free slab from the list's tail whose base `accept`s; with it, any
    /// slab of its descriptor's cache that the descriptor's free destroyed.
    public mutating func releaseEmptySlab(of cache: Int32, where accept: (FrameNumber) -> Bool) -> [SlabRun] {
        guard let slab = caches[Int(cache)].shrinkOne(where: accept) else { return [] }
        var runs = [SlabRun(base: slab.base, frames: caches[Int(cache)].pagesPerSlab)]
        if let d = slab.descriptor {
            caches[Int(d.cache)].descriptors -= 1
            runs += free(d)
        }
        return runs
    }

    public func activeObjects(of cache: Int32) -> Int { caches[Int(cache)].live - caches[Int(cache)].descriptors }

    public var emptySlabs: Int { caches.reduce(0) { $0 + $1.emptySlabs } }

    /// `slab_caches` is walked newest first (`list_add()` at L2610), so the
    /// caches that hold off-slab slabs are shrunk before the kmalloc caches
    /// their descriptors go back to.
    public var reclaimsNewestFirst: Bool { true }

    /// `s_show()`: objects in the array count as active.
    public func slabinfo() -> [SlabInfoRow] {
        caches.map {
            SlabInfoRow(name: $0.name, activeObjects: $0.inUseObjects, objects: $0.capacity,
                        objectSize: $0.objectSize, objectsPerSlab: $0.objectsPerSlab,
                        pagesPerSlab: $0.pagesPerSlab, slabs: $0.slabCount,
                        activeSlabs: $0.slabCount - $0.freeListSlabs, limit: $0.limit, batchcount: $0.batchcount)
        }
    }

    public var totals: SlabTotals {
        var t = SlabTotals()
        for c in caches {
            t.pages += c.slabCount * c.pagesPerSlab
            // Off-slab descriptors are management, not the trace's objects:
            // their bytes count as waste.
            t.objects += c.live - c.descriptors
            t.capacity += c.capacity
            t.wasteBytes += (c.capacity - c.live + c.descriptors) * c.objectSize
                + c.slabCount * (c.pagesPerSlab * 4096 - c.objectsPerSlab * c.objectSize)
        }
        return t
    }

    public func invariantViolation() -> String? {
        var descriptors = Array(repeating: 0, count: caches.count)
        for c in caches {
            if let v = c.invariantViolation() { return v }
            for d in c.descriptorObjects { descriptors[Int(d.cache)] += 1 }
        }
        for (i, c) in caches.enumerated() where c.descriptors != descriptors[i] {
            return "slab cache \(c.name): \(c.descriptors) off-slab descriptors counted, \(descriptors[i]) held by slabs"
        }
        return nil
    }
}

extension SLABSlab {
    /// A cache's shape as `__kmem_cache_create()` computes it.
    struct Geometry: Sendable, Equatable {
        /// `cachep->size`: the object rounded to a word, then to the alignment.
        var objectSize: Int
        var align: Int
        /// `cachep->gfporder`.
        var order: Int
        /// `cachep->num`.
        var objectsPerSlab: Int
        /// Bytes of the off-slab `struct slab` + bufctl array (kmalloc'ed),
        /// or nil when the management lives in the slab.
        var descriptorBytes: Int?
        /// Bytes of the slab neither objects nor on-slab management use.
        var leftover: Int
    }

    /// `sizeof(struct slab)` and `sizeof(kmem_bufctl_t)` on i386.
    static let slabStruct = 28, bufctl = 4

    static func align(_ n: Int, _ a: Int) -> Int { (n + a - 1) / a * a }

    /// `cache_estimate()`: objects in a slab of `order` and the bytes left over.
    static func estimate(order: Int, size: Int, align a: Int, offSlab: Bool) -> (objects: Int, leftover: Int) {
        let slab = 4096 << order
        if offSlab { return (slab / size, slab - slab / size * size) }
        var n = (slab - slabStruct) / (size + bufctl)
        if align(slabStruct + bufctl * n, a) + n * size > slab { n -= 1 }
        return (n, slab - n * size - align(slabStruct + bufctl * n, a))
    }

    /// `__kmem_cache_create()` (L2420-2581) with `calculate_slab_order()`.
    static func geometry(size requested: Int, align requestedAlign: Int, hardwareAligned: Bool, early: Bool, maxOrder: Int) -> Geometry {
        var size = (requested + 3) & ~3
        var ralign = 4
        if hardwareAligned {
            ralign = 64
            while size <= ralign / 2 { ralign /= 2 }
        }
        ralign = max(ralign, 8, requestedAlign)
        var offSlab = size >= 4096 >> 3 && !early
        size = align(size, ralign)
        var objects = 0, order = 0, leftover = 0
        for o in 0...10 {
            let (n, left) = estimate(order: o, size: size, align: ralign, offSlab: offSlab)
            if n == 0 { continue }
            if offSlab && n > (size - slabStruct) / bufctl { break }
            (objects, order, leftover) = (n, o, left)
            if o >= maxOrder || left * 8 <= 4096 << o { break }
        }
        // An off-slab descriptor that fits the leftover moves into the slab.
        let management = align(objects * bufctl + slabStruct, ralign)
        if offSlab && leftover >= management {
            offSlab = false
            leftover -= management
        }
        return Geometry(objectSize: size, align: ralign, order: order, objectsPerSlab: objects,
                        descriptorBytes: offSlab ? objects * bufctl + slabStruct : nil, leftover: leftover)
    }

    /// `enable_cpucache()`: the array's `limit` by object size.
    static func limit(objectSize: Int) -> Int {
        objectSize > 131072 ? 1 : objectSize > 4096 ? 8 : objectSize > 1024 ? 24 : objectSize > 256 ? 54 : 120
    }

    /// One `struct kmem_cache` with its array cache and its node's lists.
    struct Cache: Sendable {
        let name: String
        let objectSize: Int
        let order: Int
        let objectsPerSlab: Int
        /// `cachep->slabp_cache`: where off-slab descriptors come from.
        let descriptorCache: Int32?
        let limit: Int
        let batchcount: Int
        /// `l3->free_limit`.
        let freeLimit: Int
        var pagesPerSlab: Int { 1 << order }

        enum List: Int, Sendable { case partial = 0, full, free }

        struct Slab: Sendable {
            var base: FrameNumber
            /// `slabp->inuse`: objects out of the slab, the array's included.
            var inUse: Int32
            /// Objects the trace (or a descriptor) holds.
            var live: Int32
            var freeHead: Int32
            var list: List
            var next: Int32
            var previous: Int32
            var descriptor: SlabObject?
        }

        struct Entry: Sendable { var slab: Int32; var index: Int32 }

        private(set) var slabs = Slots<Slab>()
        private var links: FreeChains
        /// `ac->entry[0 ..< avail]`.
        private(set) var array: [Entry] = []
        /// `ac->touched`.
        private(set) var touched = false
        private var heads: [Int32] = [-1, -1, -1]
        private var tails: [Int32] = [-1, -1, -1]
        /// `l3->free_objects`.
        private(set) var freeObjects = 0
        private(set) var slabCount = 0
        /// Objects out of slabs (`inuse` summed): slabinfo's `active_objs`.
        private(set) var inUseObjects = 0
        /// Objects held by the trace and by other caches' slabs as descriptors.
        private(set) var live = 0
        /// Of ``live``, the off-slab descriptors of other caches' slabs.
        var descriptors = 0
        /// Slabs no live object is in: what a shrink frees.
        private(set) var emptySlabs = 0

        var capacity: Int { slabCount * objectsPerSlab }

        init(name: String, geometry g: Geometry, descriptorCache: Int32?) {
            self.name = name
            objectSize = g.objectSize
            order = g.order
            objectsPerSlab = g.objectsPerSlab
            self.descriptorCache = descriptorCache
            limit = SLABSlab.limit(objectSize: g.objectSize)
            batchcount = (limit + 1) / 2
            freeLimit = 2 * batchcount + g.objectsPerSlab
            links = FreeChains(perSlab: g.objectsPerSlab)
        }

        /// Slabs on the free list (slabinfo counts the others active).
        var freeListSlabs: Int {
            var n = 0, s = heads[List.free.rawValue]
            while s >= 0 { n += 1; s = slabs[Int(s)].next }
            return n
        }

        /// The descriptors this cache's slabs hold.
        var descriptorObjects: [SlabObject] {
            let free = Set(slabs.freeSlots)
            return slabs.indices.filter { !free.contains(Int32($0)) }.compactMap { slabs[$0].descriptor }
        }

        // MARK: Allocation

        /// `____cache_alloc()`: the array's newest object, refilling it from
        /// the lists first; `nil` when the lists are empty too (the machine
        /// then grows the cache by one slab and asks again).
        mutating func allocate() -> (slab: Int32, index: Int32)? {
            if array.isEmpty {
                refill()
                if array.isEmpty { return nil }
            }
            touched = true
            let e = array.removeLast()
            slabs[Int(e.slab)].live += 1
            if slabs[Int(e.slab)].live == 1 { emptySlabs -= 1 }
            live += 1
            return (e.slab, e.index)
        }

        /// `cache_alloc_refill()`: up to `batchcount` objects (16 while the
        /// array is untouched) from the partial slabs, then the free ones.
        private mutating func refill() {
            var batch = batchcount
            if !touched && batch > 16 { batch = 16 }
            while batch > 0 {
                var s = heads[List.partial.rawValue]
                if s < 0 { s = heads[List.free.rawValue] }
                if s < 0 { break }
                unlink(s)
                while slabs[Int(s)].inUse < objectsPerSlab && batch > 0 {
                    batch -= 1
                    let i = slabs[Int(s)].freeHead
                    slabs[Int(s)].freeHead = links.take(s, i)
                    slabs[Int(s)].inUse += 1
                    inUseObjects += 1
                    freeObjects -= 1
                    array.append(Entry(slab: s, index: i))
                }
                push(s, on: slabs[Int(s)].freeHead < 0 ? .full : .partial, atHead: true)
            }
        }

        /// `cache_grow()`: a fresh slab at the free list's tail; its chain
        /// runs 0, 1, 2, … (`cache_init_objs()`).
        mutating func grow(base: FrameNumber, descriptor: SlabObject?) {
            let s = slabs.insert(Slab(base: base, inUse: 0, live: 0, freeHead: 0, list: .free, next: -1, previous: -1, descriptor: descriptor))
            links.fresh(s, slots: slabs.endIndex)
            push(s, on: .free, atHead: false)
            slabCount += 1
            freeObjects += objectsPerSlab
            emptySlabs += 1
        }

        // MARK: Freeing

        /// `__cache_free()`: onto the array, flushing its oldest `batchcount`
        /// objects first when it is full. The slabs `free_block()` destroyed.
        mutating func free(slab s: Int32, index i: Int32) -> [Slab] {
            slabs[Int(s)].live -= 1
            if slabs[Int(s)].live == 0 { emptySlabs += 1 }
            live -= 1
            var destroyed: [Slab] = []
            if array.count >= limit {
                let oldest = array.prefix(batchcount)
                array.removeFirst(batchcount)
                for e in oldest { freeBlock(e, destroying: true, into: &destroyed) }
            }
            array.append(Entry(slab: s, index: i))
            return destroyed
        }

        /// `free_block()` for one object: back into its slab; the slab to the
        /// partial list's tail, or emptied: destroyed when the node already
        /// holds more than `free_limit` free objects, else to the free
        /// list's head.
        private mutating func freeBlock(_ e: Entry, destroying: Bool, into destroyed: inout [Slab]) {
            let s = e.slab
            unlink(s)
            links.give(s, e.index, before: slabs[Int(s)].freeHead)
            slabs[Int(s)].freeHead = e.index
            slabs[Int(s)].inUse -= 1
            inUseObjects -= 1
            freeObjects += 1
            guard slabs[Int(s)].inUse == 0 else {
                push(s, on: .partial, atHead: false)
                return
            }
            if destroying && freeObjects > freeLimit {
                freeObjects -= objectsPerSlab
                destroyed.append(slabs[Int(s)])
                destroy(s)
            } else {
                push(s, on: .free, atHead: true)
            }
        }

        /// `slab_destroy()`: the caller gives the frames back.
        private mutating func destroy(_ s: Int32) {
            slabs.remove(s)
            slabCount -= 1
            emptySlabs -= 1
        }

        /// `__cache_shrink()` one slab at a time: the array drained into the
        /// slabs (emptied ones to the free list), then the free list's
        /// tail-most slab whose base `accept`s is destroyed.
        mutating func shrinkOne(where accept: (FrameNumber) -> Bool) -> Slab? {
            var none: [Slab] = []
            for e in array { freeBlock(e, destroying: false, into: &none) }
            array.removeAll(keepingCapacity: true)
            var s = tails[List.free.rawValue]
            while s >= 0 && !accept(slabs[Int(s)].base) { s = slabs[Int(s)].previous }
            guard s >= 0 else { return nil }
            let slab = slabs[Int(s)]
            unlink(s)
            freeObjects -= objectsPerSlab
            destroy(s)
            return slab
        }

        // MARK: Lists

        private mutating func push(_ s: Int32, on list: List, atHead: Bool) {
            let l = list.rawValue
            slabs[Int(s)].list = list
            if heads[l] < 0 {
                slabs[Int(s)].next = -1
                slabs[Int(s)].previous = -1
                heads[l] = s
                tails[l] = s
            } else if atHead {
                slabs[Int(s)].previous = -1
                slabs[Int(s)].next = heads[l]
                slabs[Int(heads[l])].previous = s
                heads[l] = s
            } else {
                slabs[Int(s)].next = -1
                slabs[Int(s)].previous = tails[l]
                slabs[Int(tails[l])].next = s
                tails[l] = s
            }
        }

        private mutating func unlink(_ s: Int32) {
            let slab = slabs[Int(s)]
            let l = slab.list.rawValue
            if slab.previous >= 0 { slabs[Int(slab.previous)].next = slab.next } else { heads[l] = slab.next }
            if slab.next >= 0 { slabs[Int(slab.next)].previous = slab.previous } else { tails[l] = slab.previous }
        }

        // MARK: Invariants

        /// Every live slab on the list its use says, each chain whole, the
        /// array's objects out of their slabs, and the counts adding up.
        func invariantViolation() -> String? {
            let freeSlots = Set(slabs.freeSlots)
            let liveSlabs = slabs.indices.filter { !freeSlots.contains(Int32($0)) }
            var seen = Set<Int>()
            for list in [List.partial, .full, .free] {
                var s = heads[list.rawValue], previous: Int32 = -1
                while s >= 0 {
                    guard !freeSlots.contains(s), seen.insert(Int(s)).inserted else {
                        return "slab cache \(name): slab \(s) listed twice or not live"
                    }
                    let slab = slabs[Int(s)]
                    if slab.list != list || slab.previous != previous { return "slab cache \(name): \(list) list broken at slab \(s)" }
                    let want: List = slab.inUse == 0 ? .free : slab.inUse == objectsPerSlab ? .full : .partial
                    if want != list { return "slab cache \(name): slab \(s) with \(slab.inUse) of \(objectsPerSlab) in use on the \(list) list" }
                    previous = s
                    s = slab.next
                }
                if previous != tails[list.rawValue] { return "slab cache \(name): \(list) list tail \(tails[list.rawValue]), last \(previous)" }
            }
            if seen.count != liveSlabs.count || seen.count != slabCount {
                return "slab cache \(name): \(slabCount) slabs counted, \(liveSlabs.count) live, \(seen.count) listed"
            }
            var cached = [Int: Int32]()
            for e in array { cached[Int(e.slab), default: 0] += 1 }
            if array.count > limit { return "slab cache \(name): array holds \(array.count) objects, limit \(limit)" }
            var inUse = 0, liveObjects = 0, free = 0, empty = 0
            for s in liveSlabs {
                let slab = slabs[s]
                if let v = links.violation(s, from: slab.freeHead, inUse: slab.inUse, cache: name) { return v }
                if slab.live + (cached[s] ?? 0) != slab.inUse {
                    return "slab cache \(name): slab \(s) has \(slab.inUse) in use, \(slab.live) live + \(cached[s] ?? 0) in the array"
                }
                inUse += Int(slab.inUse)
                liveObjects += Int(slab.live)
                free += objectsPerSlab - Int(slab.inUse)
                if slab.live == 0 { empty += 1 }
            }
            if inUse != inUseObjects || liveObjects != live || free != freeObjects || empty != emptySlabs {
                return "slab cache \(name): counts in use/live/free/empty \(inUseObjects)/\(live)/\(freeObjects)/\(emptySlabs), slabs \(inUse)/\(liveObjects)/\(free)/\(empty)"
            }
            return nil
        }
    }
}
