/// SLUB as Linux 3.6 has it (`mm/slub.c`, `include/linux/slub_def.h`), on
/// this model's machine: i386, 4 KiB pages, one CPU, one node, no debugging
/// (no red zones, poisoning or tracking), `sizeof(void *)` = 4.
///
/// Theory of operation (slub.c's own comment, narrowed to one CPU). A slab
/// is 2^order frames of `objectsPerSlab` objects of `objectSize` bytes; its
/// free objects are a LIFO chain inside the slab. A slab is in one place:
///
/// - **the CPU slab** (`c->page`, frozen): every allocation takes an object
///   from it; frees into it just return the object, even the last one.
/// - **the per-CPU partial list** (`c->partial`, frozen): slabs a free found
///   full and froze (`__slab_free`), and slabs `get_partial_node()` took off
///   the node list beyond the one it made the CPU slab. Pushed at the
///   front; each pushed slab records the list's page and object counts at
///   that moment (`put_cpu_partial()`: `pobjects` is a snapshot, not updated
///   by later frees). A push that finds more than `cpu_partial` objects
///   recorded first moves the whole list to the node (`unfreeze_partials()`).
/// - **the node partial list** (`n->partial`): slabs with free objects, not
///   frozen; a free that empties one frees it to the page allocator when the
///   node already keeps more than `min_partial` partial slabs.
/// - **full**: on no list (without debugging SLUB does not track them).
///
/// When the CPU slab runs out, it is dropped, full (`get_freelist()` finds
/// no object and unfreezes it); the next CPU slab is the head of the per-CPU
/// partial list, else the head of the node list (taking more node slabs to
/// the per-CPU list until they hold over `cpu_partial / 2` free objects),
/// else a new slab.
///
/// Sizes, orders and limits, with their lines in Linux 3.6.0 (`mm/slub.c`
/// unless named; read from a 3.6.0 tree, 5518-line `slub.c`):
/// - kmalloc classes 8, 16, 32, 64, 96, 128, 192, 256 … 8192: `get_slab()`
///   (L3332-3349) with `size_index[]` (L3300-3324) up to 192 bytes,
///   `fls(size - 1)` above; `kmalloc-96` and `kmalloc-192` exist because
///   `KMALLOC_MIN_SIZE` is 8 on x86 (`slub_def.h` L117-120; created in
///   `kmem_cache_init()` L3811-3821, after the `kmem_cache_node` and
///   `kmem_cache` bootstrap caches). Above `SLUB_MAX_SIZE` (2 pages,
///   `slub_def.h` L134; `__kmalloc()` L3357) `kmalloc_large()` takes
///   2^`get_order(size)` contiguous frames with `__GFP_COMP` (`slub_def.h`
///   L261-263, L225): the tracepoint's `bytes_alloc` is `PAGE_SIZE << order`.
/// - `calculate_sizes()` (L2909-2998): the object rounded to `sizeof(void *)`,
///   then to the alignment (`calculate_alignment()` L2757: at least
///   `ARCH_SLAB_MINALIGN` = `__alignof__(unsigned long long)` = 8 on i386,
///   `slab.h` L176-177). The free pointer lives in the object (offset 0).
/// - `calculate_order()`/`slab_order()` (L2675-2752): `slub_min_objects` 0
///   gives `4 * (fls(nr_cpu_ids) + 1)` = 8 on one CPU, `slub_max_order` =
///   `PAGE_ALLOC_COSTLY_ORDER` = 3 (L2641), the leftover fraction tried at
///   1/16, 1/8, 1/4, then fewer objects, then one object.
/// - `set_min_partial()` (L2896-2901, called at L3071): `ilog2(size) / 2`
///   clamped to `MIN_PARTIAL` 5 … `MAX_PARTIAL` 10 (L145, L152);
///   `cpu_partial` 30 / 13 / 6 / 2 objects for sizes below 256 / 1024 /
///   4096 / from 4096 (`kmem_cache_open()` L3090-3099).
/// - The life cycle: `__slab_alloc()` L2197-2301, `get_partial_node()`
///   L1532-1574 (3.6 computes the first slab's `available` after
///   `acquire_slab()` set `inuse = objects`, so it is always 0 and a second
///   slab is always taken; 3.7 corrected it), `put_cpu_partial()`
///   L1942-1980, `unfreeze_partials()` L1874-1931 and `__slab_free()`
///   L2446-2558 (an emptied slab is freed only if `n->nr_partial >
///   s->min_partial`), `deactivate_slab()` L1728-1867.
/// - Cache merging (`find_mergeable()`, its tests at L3907-3931; `slab_unmergeable()`
///   L3878-3892): a new cache aliases the newest mergeable cache with the
///   same `s->size` (`s->size - size < sizeof(void *)` with sizes that are
///   multiples of 8) and a compatible alignment; it has no slabinfo row of
///   its own, as in `/proc/slabinfo`.
/// - `/proc/slabinfo` (`s_show()` L5426-5491, with `CONFIG_SLUB_DEBUG`, the
///   default): `active_objs` is all objects minus the free ones on the node
///   partial list (L5476-5481), so free objects in the CPU slab and on the
///   per-CPU partial list count as active, as the kernel prints them.
///
/// Where the model simplifies: no fallback to `s->min` (one object's order)
/// when the preferred order cannot be had (the allocation fails instead);
/// no `kmem_cache`/`kmem_cache_node` bootstrap caches; `slab_reclaim` acts
/// as `kmem_cache_shrink()` (L3502: flush the CPU slab and per-CPU list to
/// the node, free the node's empty slabs) one slab at a time until it has
/// what it wants, and does not re-sort the partial list by objects in use
/// as the shrink does.
public struct SLUBSlab: SlabVariant {
    /// `calculate_sizes()` puts `__GFP_RECLAIMABLE` in `s->allocflags` for `SLAB_RECLAIM_ACCOUNT`; `allocate_slab()` ORs them in.
    public static var slabPagesFollowCache: Bool { true }

    private(set) var caches: [Cache] = []
    /// Cache index of `kmalloc_caches[i]`, -1 where there is none.
    private var kmallocIndex: [Int32] = Array(repeating: -1, count: 14)
    /// Names of caches merged into another, with the cache they alias.
    private var aliases: [String: Int32] = [:]

    /// `SLUB_MAX_SIZE`: 2 × `PAGE_SIZE`.
    public var kmallocMax: Int { 8192 }

    /// `kmalloc_large()`: 2^`get_order(size)` frames.
    public func largeFrames(for size: Int) -> Int { 1 << Self.getOrder(size) }

    /// `get_order()`: the smallest order whose pages hold `size` bytes.
    static func getOrder(_ size: Int) -> Int {
        var order = 0
        while 4096 << order < size { order += 1 }
        return order
    }

    /// The kmalloc caches in `kmem_cache_init()`'s order: `kmalloc-96`,
    /// `kmalloc-192`, then 2^3 … 2^13 bytes.
    public init() {
        for (index, size) in [(1, 96), (2, 192)] + (3...13).map({ ($0, 1 << $0) }) {
            kmallocIndex[index] = Int32(caches.count)
            caches.append(Cache(name: "kmalloc-\(size)", objectSize: size))
        }
    }

    public var cacheCount: Int { caches.count }
    public func name(of cache: Int32) -> String { caches[Int(cache)].name }
    public func objectSize(of cache: Int32) -> Int { caches[Int(cache)].objectSize }

    public func cache(named name: String) -> Int32? {
        if let c = caches.firstIndex(where: { $0.name == name }) { return Int32(c) }
        return aliases[name]
    }

    /// `kmem_cache_create()`: an alias of a mergeable cache when one fits
    /// (`find_mergeable()`), else a new cache.
    public mutating func createCache(name: String, size: Int, align: Int, reclaimable: Bool) -> Int32 {
        let objectSize = Self.objectSize(size: size, align: align)
        let a = Self.alignment(align)
        // slab_caches is walked newest first (list_add at the head).
        for c in caches.indices.reversed() {
            let s = caches[c].objectSize
            // find_mergeable(): SLAB_RECLAIM_ACCOUNT is among SLUB_MERGE_SAME.
            if objectSize > s || s & ~(a - 1) != s || s - objectSize >= 4 || caches[c].reclaimable != reclaimable { continue }
            aliases[name] = Int32(c)
            return Int32(c)
        }
        var cache = Cache(name: name, objectSize: objectSize)
        cache.reclaimable = reclaimable
        caches.append(cache)
        return Int32(caches.count - 1)
    }

    /// `calculate_alignment()` without `SLAB_HWCACHE_ALIGN`: at least
    /// `ARCH_SLAB_MINALIGN`, rounded up to `sizeof(void *)`.
    static func alignment(_ align: Int) -> Int {
        let a = max(align, 8)
        return (a + 3) / 4 * 4
    }

    /// `calculate_sizes()`: `ALIGN(ALIGN(size, sizeof(void *)), align)`.
    static func objectSize(size: Int, align: Int) -> Int {
        let a = alignment(align)
        let words = (max(size, 1) + 3) / 4 * 4
        return (words + a - 1) / a * a
    }

    /// `get_slab()`: `size_index[(size - 1) / 8]` up to 192 bytes,
    /// `kmalloc_caches[fls(size - 1)]` above.
    public func kmallocCache(for size: Int) -> Int32 {
        precondition(size >= 1 && size <= kmallocMax)
        if size <= 192 { return kmallocIndex[Int(Self.sizeIndex[(size - 1) / 8])] }
        return kmallocIndex[Int.bitWidth - (size - 1).leadingZeroBitCount]
    }

    /// `size_index[]` of slub.c: 8, 16, 32, 32, 64 ×4, 96 ×4, 128 ×4, 192 ×8
    /// (1 and 2 are `kmalloc-96` and `kmalloc-192`).
    static let sizeIndex: [Int8] = [3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1, 7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2]

    public mutating func allocate(from cache: Int32) -> SlabObject? {
        guard let (s, i) = caches[Int(cache)].allocate() else { return nil }
        return SlabObject(cache: cache, slab: s, index: i)
    }

    public func growthFrames(of cache: Int32) -> Int { caches[Int(cache)].pagesPerSlab }

    public mutating func grow(_ cache: Int32, base: FrameNumber) { caches[Int(cache)].grow(base: base) }

    public mutating func free(_ object: SlabObject) -> [SlabRun] {
        let frames = caches[Int(object.cache)].pagesPerSlab
        return caches[Int(object.cache)].free(slab: object.slab, index: object.index).map { SlabRun(base: $0, frames: frames) }
    }

    public mutating func releaseEmptySlab(of cache: Int32, where accept: (FrameNumber) -> Bool) -> [SlabRun] {
        guard let base = caches[Int(cache)].releaseEmptySlab(where: accept) else { return [] }
        return [SlabRun(base: base, frames: caches[Int(cache)].pagesPerSlab)]
    }

    public func activeObjects(of cache: Int32) -> Int { caches[Int(cache)].activeObjects }

    /// Empty slabs, wherever they are (what `slab_reclaim` can take).
    public var emptySlabs: Int { caches.reduce(0) { $0 + $1.emptySlabs } }

    public func slabinfo() -> [SlabInfoRow] {
        caches.map {
            SlabInfoRow(name: $0.name, activeObjects: $0.capacity - $0.freeOnNode, objects: $0.capacity,
                        objectSize: $0.objectSize, objectsPerSlab: $0.objectsPerSlab,
                        pagesPerSlab: $0.pagesPerSlab, slabs: $0.slabCount, activeSlabs: $0.slabCount)
        }
    }

    public var totals: SlabTotals {
        var t = SlabTotals()
        for c in caches {
            t.pages += c.slabCount * c.pagesPerSlab
            t.objects += c.activeObjects
            t.capacity += c.capacity
            t.wasteBytes += (c.capacity - c.activeObjects) * c.objectSize
                + c.slabCount * (c.pagesPerSlab * 4096 - c.objectsPerSlab * c.objectSize)
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

extension SLUBSlab {
    /// `slab_order()`: the first order from the one that holds
    /// `minObjects` whose leftover is at most 1/`fraction` of the slab (the
    /// loop ends past `maxOrder` when none is).
    static func slabOrder(size: Int, minObjects: Int, maxOrder: Int, fraction: Int) -> Int {
        // order_objects(0) > MAX_OBJS_PER_PAGE (32767 in 3.6) needs objects of
        // under one byte per page: not reachable with 4 KiB pages.
        let need = minObjects * size
        var order = max(0, (Int.bitWidth - (need - 1).leadingZeroBitCount) - 12)
        while order <= maxOrder {
            let slab = 4096 << order
            if slab >= need && slab % size <= slab / fraction { break }
            order += 1
        }
        return order
    }

    /// `calculate_order()` with `slub_min_objects` = 8 (one CPU),
    /// `slub_max_order` = 3 and no reserved bytes.
    static func calculateOrder(size: Int) -> Int {
        let maxOrder = 3
        var minObjects = min(8, (4096 << maxOrder) / size)
        while minObjects > 1 {
            var fraction = 16
            while fraction >= 4 {
                let order = slabOrder(size: size, minObjects: minObjects, maxOrder: maxOrder, fraction: fraction)
                if order <= maxOrder { return order }
                fraction /= 2
            }
            minObjects -= 1
        }
        let order = slabOrder(size: size, minObjects: 1, maxOrder: maxOrder, fraction: 1)
        if order <= maxOrder { return order }
        return slabOrder(size: size, minObjects: 1, maxOrder: 11, fraction: 1)
    }

    /// One `struct kmem_cache` with its CPU slab and its node.
    struct Cache: Sendable {
        let name: String
        /// `s->size`.
        let objectSize: Int
        let order: Int
        let objectsPerSlab: Int
        /// `s->min_partial`.
        let minPartial: Int
        /// `s->cpu_partial`.
        let cpuPartial: Int
        /// `SLAB_RECLAIM_ACCOUNT`.
        var reclaimable = false
        var pagesPerSlab: Int { 1 << order }

        enum Place: UInt8, Sendable { case cpu, cpuPartial, nodePartial, full }

        struct Slab: Sendable {
            var base: FrameNumber
            var inUse: Int32
            var freeHead: Int32
            /// Per-CPU list: the next (older) slab. Node list: the next toward the tail.
            var next: Int32
            var previous: Int32
            var place: Place
            /// `page->pobjects` when pushed on the per-CPU list.
            var pobjects: Int32
        }

        private(set) var slabs = Slots<Slab>()
        /// The free chains inside the slabs.
        private var links: FreeChains
        private var cpuSlab: Int32 = -1
        private var cpuPartialHead: Int32 = -1
        private var nodeHead: Int32 = -1
        private var nodeTail: Int32 = -1
        /// `n->nr_partial`.
        private(set) var nrPartial = 0
        private(set) var slabCount = 0
        private(set) var activeObjects = 0
        /// Free objects and empty slabs on the node list (slabinfo, reclaim).
        private(set) var freeOnNode = 0
        private(set) var emptyOnNode = 0

        var capacity: Int { slabCount * objectsPerSlab }

        init(name: String, objectSize: Int) {
            self.name = name
            self.objectSize = objectSize
            order = SLUBSlab.calculateOrder(size: objectSize)
            objectsPerSlab = (4096 << order) / objectSize
            links = FreeChains(perSlab: objectsPerSlab)
            // set_min_partial(s, ilog2(s->size) / 2)
            let log = Int.bitWidth - 1 - objectSize.leadingZeroBitCount
            minPartial = min(max(log / 2, 5), 10)
            cpuPartial = objectSize >= 4096 ? 2 : objectSize >= 1024 ? 6 : objectSize >= 256 ? 13 : 30
        }

        // MARK: Allocation

        /// `slab_alloc()`: an object of the CPU slab, refilling it from the
        /// per-CPU partial list, then the node list; `nil` when a new slab
        /// is needed (``grow(base:)`` then makes it the CPU slab).
        mutating func allocate() -> (slab: Int32, index: Int32)? {
            while true {
                if cpuSlab >= 0 {
                    let s = cpuSlab
                    let i = slabs[Int(s)].freeHead
                    if i >= 0 {
                        slabs[Int(s)].freeHead = links.take(s, i)
                        slabs[Int(s)].inUse += 1
                        activeObjects += 1
                        return (s, i)
                    }
                    // get_freelist() found nothing: the slab is full, unfrozen, on no list.
                    slabs[Int(s)].place = .full
                    cpuSlab = -1
                }
                if cpuPartialHead >= 0 {
                    // new_slab: c->page = c->partial; c->partial = page->next
                    let s = cpuPartialHead
                    cpuPartialHead = slabs[Int(s)].next
                    slabs[Int(s)].place = .cpu
                    cpuSlab = s
                    continue
                }
                guard getPartialNode() else { return nil }
            }
        }

        /// `get_partial_node()` (slub.c 3.6): the node list's head becomes the
        /// CPU slab; following slabs go to the per-CPU list until the objects
        /// recorded there exceed `cpu_partial / 2`.
        private mutating func getPartialNode() -> Bool {
            var s = nodeHead
            guard s >= 0 else { return false }
            var first = true
            while s >= 0 {
                let next = slabs[Int(s)].next
                removeFromNode(s)
                let available: Int
                if first {
                    slabs[Int(s)].place = .cpu
                    cpuSlab = s
                    // 3.6 computes `page->objects - page->inuse` after
                    // acquire_slab() has set inuse to objects: always 0, so
                    // a second slab is always taken (corrected in 3.7).
                    available = 0
                    first = false
                } else {
                    available = putCPUPartial(s, drain: false)
                }
                if available > cpuPartial / 2 { break }
                s = next
            }
            return true
        }

        /// `put_cpu_partial()`: pushes `s`; with `drain`, a list already
        /// recording more than `cpu_partial` objects goes to the node first.
        /// The list's recorded object count.
        private mutating func putCPUPartial(_ s: Int32, drain: Bool) -> Int {
            var pobjects = cpuPartialHead >= 0 ? Int(slabs[Int(cpuPartialHead)].pobjects) : 0
            if drain && pobjects > cpuPartial {
                unfreezePartials()
                pobjects = 0
            }
            pobjects += objectsPerSlab - Int(slabs[Int(s)].inUse)
            slabs[Int(s)].pobjects = Int32(pobjects)
            slabs[Int(s)].next = cpuPartialHead
            slabs[Int(s)].place = .cpuPartial
            cpuPartialHead = s
            return pobjects
        }

        /// `unfreeze_partials()`: every per-CPU partial slab to the node
        /// list's tail, or freed when empty and the node keeps more than
        /// `min_partial` (their bases into ``discarded``).
        private mutating func unfreezePartials() {
            while cpuPartialHead >= 0 {
                let s = cpuPartialHead
                cpuPartialHead = slabs[Int(s)].next
                if slabs[Int(s)].inUse == 0 && nrPartial > minPartial {
                    discarded.append(slabs[Int(s)].base)
                    discard(s)
                } else {
                    addToNodeTail(s)
                }
            }
        }

        /// Slabs `unfreeze_partials()` freed during a free, for the caller.
        private var discarded: [FrameNumber] = []

        /// A fresh slab (`new_slab()`), which becomes the CPU slab; its chain
        /// runs 0, 1, 2, … in address order.
        mutating func grow(base: FrameNumber) {
            precondition(cpuSlab < 0)
            let s = slabs.insert(Slab(base: base, inUse: 0, freeHead: 0, next: -1, previous: -1, place: .cpu, pobjects: 0))
            links.fresh(s, slots: slabs.endIndex)
            slabCount += 1
            cpuSlab = s
        }

        // MARK: Freeing

        /// `__slab_free()` (the CPU slab's fast path included). The bases
        /// of the slabs to give back to the page allocator: the one the free
        /// emptied if the node need not keep it, or empty ones a drain of
        /// the per-CPU list found.
        mutating func free(slab s: Int32, index i: Int32) -> [FrameNumber] {
            defer { discarded.removeAll(keepingCapacity: true) }
            let prior = slabs[Int(s)].freeHead
            links.give(s, i, before: prior)
            slabs[Int(s)].freeHead = i
            slabs[Int(s)].inUse -= 1
            activeObjects -= 1
            switch slabs[Int(s)].place {
            case .cpu, .cpuPartial:
                // Frozen: the object just goes back.
                return []
            case .full:
                // prior == NULL: freeze it onto the per-CPU list (which may
                // first drain to the node, freeing empty slabs).
                _ = putCPUPartial(s, drain: true)
                return discarded
            case .nodePartial:
                freeOnNode += 1
                if slabs[Int(s)].inUse == 0 {
                    emptyOnNode += 1
                    if nrPartial > minPartial {
                        let base = slabs[Int(s)].base
                        removeFromNode(s)
                        discard(s)
                        return [base]
                    }
                }
                return []
            }
        }

        // MARK: Lists

        private mutating func addToNodeTail(_ s: Int32) {
            slabs[Int(s)].place = .nodePartial
            slabs[Int(s)].next = -1
            slabs[Int(s)].previous = nodeTail
            if nodeTail >= 0 { slabs[Int(nodeTail)].next = s } else { nodeHead = s }
            nodeTail = s
            nrPartial += 1
            let free = objectsPerSlab - Int(slabs[Int(s)].inUse)
            freeOnNode += free
            if free == objectsPerSlab { emptyOnNode += 1 }
        }

        private mutating func addToNodeHead(_ s: Int32) {
            addToNodeTail(s)
            guard nodeHead != s else { return }
            // Move it from the tail to the head.
            let p = slabs[Int(s)].previous
            slabs[Int(p)].next = -1
            nodeTail = p
            slabs[Int(s)].previous = -1
            slabs[Int(s)].next = nodeHead
            slabs[Int(nodeHead)].previous = s
            nodeHead = s
        }

        private mutating func removeFromNode(_ s: Int32) {
            let slab = slabs[Int(s)]
            if slab.previous >= 0 { slabs[Int(slab.previous)].next = slab.next } else { nodeHead = slab.next }
            if slab.next >= 0 { slabs[Int(slab.next)].previous = slab.previous } else { nodeTail = slab.previous }
            nrPartial -= 1
            let free = objectsPerSlab - Int(slab.inUse)
            freeOnNode -= free
            if free == objectsPerSlab { emptyOnNode -= 1 }
        }

        /// `discard_slab()`: the slab's frames go back (the caller releases them).
        private mutating func discard(_ s: Int32) {
            slabs.remove(s)
            slabCount -= 1
        }

        /// `kmem_cache_shrink()` for `slab_reclaim`: the CPU slab and the
        /// per-CPU list go to the node first (`flush_all()`: a full CPU slab
        /// to no list, a partial one to the head, the per-CPU slabs to the
        /// tail), then an empty slab of the node list whose base `accept`s
        /// is freed.
        mutating func releaseEmptySlab(where accept: (FrameNumber) -> Bool) -> FrameNumber? {
            flush()
            var s = nodeHead
            while s >= 0 && !(slabs[Int(s)].inUse == 0 && accept(slabs[Int(s)].base)) { s = slabs[Int(s)].next }
            guard s >= 0 else { return nil }
            let base = slabs[Int(s)].base
            removeFromNode(s)
            discard(s)
            return base
        }

        /// `flush_all()` without freeing: the shrink that follows frees
        /// every empty slab of the node list anyway.
        private mutating func flush() {
            if cpuSlab >= 0 {
                let s = cpuSlab
                cpuSlab = -1
                if slabs[Int(s)].freeHead < 0 {
                    slabs[Int(s)].place = .full
                } else {
                    addToNodeHead(s)
                }
            }
            while cpuPartialHead >= 0 {
                let s = cpuPartialHead
                cpuPartialHead = slabs[Int(s)].next
                addToNodeTail(s)
            }
        }

        /// Empty slabs anywhere: what a shrink would free.
        var emptySlabs: Int {
            var n = emptyOnNode
            if cpuSlab >= 0 && slabs[Int(cpuSlab)].inUse == 0 { n += 1 }
            var s = cpuPartialHead
            while s >= 0 {
                if slabs[Int(s)].inUse == 0 { n += 1 }
                s = slabs[Int(s)].next
            }
            return n
        }

        // MARK: Invariants

        /// Every live slab in exactly one place, each chain whole, the
        /// counts equal to the slabs'.
        func invariantViolation() -> String? {
            let live = Set(slabs.indices).subtracting(slabs.freeSlots.map(Int.init))
            var seen = Set<Int>()
            func walk(_ head: Int32, _ place: Place, forward: Bool = true) -> String? {
                var s = head, previous: Int32 = -1
                while s >= 0 {
                    guard live.contains(Int(s)), seen.insert(Int(s)).inserted else {
                        return "slab cache \(name): slab \(s) listed twice or not live"
                    }
                    guard slabs[Int(s)].place == place else { return "slab cache \(name): slab \(s) on the \(place) list says \(slabs[Int(s)].place)" }
                    if place == .nodePartial && slabs[Int(s)].previous != previous {
                        return "slab cache \(name): node list broken at slab \(s)"
                    }
                    previous = s
                    s = slabs[Int(s)].next
                }
                if place == .nodePartial && previous != nodeTail { return "slab cache \(name): node list tail \(nodeTail), last \(previous)" }
                return nil
            }
            if cpuSlab >= 0 {
                guard slabs[Int(cpuSlab)].place == .cpu else { return "slab cache \(name): the CPU slab is not marked so" }
                seen.insert(Int(cpuSlab))
            }
            if let v = walk(cpuPartialHead, .cpuPartial) { return v }
            if let v = walk(nodeHead, .nodePartial) { return v }
            var active = 0, count = 0, nodeSlabs = 0, nodeFree = 0, nodeEmpty = 0
            for s in live.sorted() {
                let slab = slabs[s]
                count += 1
                if let v = links.violation(s, from: slab.freeHead, inUse: slab.inUse, cache: name) { return v }
                let chain = objectsPerSlab - Int(slab.inUse)
                switch slab.place {
                case .full:
                    if chain != 0 { return "slab cache \(name): slab \(s) is on no list with \(chain) free objects" }
                    if seen.contains(s) { return "slab cache \(name): full slab \(s) is listed" }
                case .nodePartial:
                    if chain == 0 { return "slab cache \(name): full slab \(s) on the node list" }
                    nodeSlabs += 1
                    nodeFree += chain
                    if slab.inUse == 0 { nodeEmpty += 1 }
                    fallthrough
                case .cpu, .cpuPartial:
                    if !seen.contains(s) { return "slab cache \(name): slab \(s) marked \(slab.place) but not there" }
                }
                active += Int(slab.inUse)
            }
            if active != activeObjects { return "slab cache \(name): \(activeObjects) active objects counted, \(active) in slabs" }
            if count != slabCount { return "slab cache \(name): \(slabCount) slabs counted, \(count) live" }
            if nodeSlabs != nrPartial || nodeFree != freeOnNode || nodeEmpty != emptyOnNode {
                return "slab cache \(name): node list counts \(nrPartial)/\(freeOnNode)/\(emptyOnNode), slabs \(nodeSlabs)/\(nodeFree)/\(nodeEmpty)"
            }
            return nil
        }
    }
}
