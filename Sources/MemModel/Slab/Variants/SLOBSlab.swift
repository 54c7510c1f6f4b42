/// SLOB as Linux 3.6 has it (`mm/slob.c`): the "simple list of blocks"
/// allocator for small machines, on this model's i386 (4 KiB pages,
/// `ARCH_KMALLOC_MINALIGN` = `ARCH_SLAB_MINALIGN` = `__alignof__(unsigned
/// long long)` = 8).
///
/// Theory of operation. Memory is counted in units of `SLOB_UNIT` = 2 bytes
/// (`slobidx_t` is 16 bits for pages up to 64 KiB), 2048 to a page. Every
/// page of the allocator holds objects of any cache and of `kmalloc` alike;
/// its free blocks form an address-ordered list inside the page. Pages with
/// free room sit on one of three lists, chosen by the size of the request
/// that put them there: small (< `SLOB_BREAK1` = 256 bytes), medium (<
/// `SLOB_BREAK2` = 1024) and large; a full page is on none.
///
/// - `slob_alloc()`: the list for the request's size, first fit: each page
///   with enough free units in total is tried (`slob_page_alloc()`: the
///   first block that holds the units after aligning its start; an aligning
///   head stays a free block of its own; an exact fit is unlinked, a larger
///   block split). After a success the list is rotated to start at the page
///   that served it (Knuth vol. 1, 2.5: "start our next search here"). No
///   page fits: a new page goes at the list's head and serves it.
/// - `slob_free()`: a page that becomes wholly free goes back to the page
///   allocator at once; a full page becomes free again with this one block
///   and joins the list for the freed size, at the head; otherwise the block
///   goes into the page's list by address, merged with its neighbours.
/// - `kmalloc(size)` below `PAGE_SIZE - align` (4088 bytes) allocates
///   `size + align` bytes aligned to 8 and keeps the size in the first word
///   (`*m = size`); the kmalloc tracepoint's `bytes_alloc` is `size +
///   align`. Larger requests take 2^`get_order(size)` pages.
/// - A cache (`kmem_cache_create`) keeps its size as given and its
///   alignment as at least `ARCH_SLAB_MINALIGN`; objects below a page come
///   from the shared pages, larger ones take 2^`get_order(size)` pages each.
///
/// Lines in Linux 3.6.0's 630-line `mm/slob.c`: `slobidx_t`, the three lists
/// and `SLOB_UNIT` L86-127; `slob_page_alloc()` L222-259; `slob_alloc()`'s
/// list choice L278-283, rotation L297-311 and new page L318-330;
/// `slob_free()` L359-416 (a wholly free page at L359, address-ordered
/// reinsertion from L391); `__kmalloc_node()` L431-460; `kfree()` L502-507;
/// `__kmem_cache_create()` L516-533; `kmem_cache_alloc_node()` L558-564.
///
/// `/proc/slabinfo` does not exist under SLOB. The rows written here say
/// what is meaningful: one per cache with its live objects (`active_objs` =
/// `num_objs`) and object size, no slabs of its own, `kmalloc` as a cache
/// of object size 0, and a row `slob_pages` for the shared pages (`num_slabs`
/// pages of one page each, `active_objs` the objects in them).
///
/// Simplified: one node (the node argument of `slob_alloc()` is -1); the
/// `struct kmem_cache` that `__kmem_cache_create()` itself takes from the
/// SLOB pages is not allocated (a trace's caches are few).
public struct SLOBSlab: SlabVariant {
    /// `slob_new_pages()` is called with the caller's flags only: pages on the shared free lists serve every cache.
    public static var slabPagesFollowCache: Bool { false }

    struct Cache: Sendable {
        let name: String
        /// `c->size`: as given.
        let size: Int
        /// `c->align`: at least `ARCH_SLAB_MINALIGN`.
        let align: Int
        var active = 0
    }

    struct Page: Sendable {
        var base: FrameNumber
        /// Frames: 1 for a shared page, 2^order for a large cache object.
        var frames: Int
        /// One cache object of a page or more (`slob_new_pages()` of its own).
        var large: Bool
        /// `sp->units`: free units.
        var units: Int
        /// Free blocks by address: start unit and length.
        var free: [(start: Int, units: Int)]
        /// The list it is on (0 small, 1 medium, 2 large), or -1.
        var list: Int8
        /// Objects in it.
        var objects: Int
    }

    static let unitsPerPage = 2048
    /// `max(ARCH_KMALLOC_MINALIGN, ARCH_SLAB_MINALIGN)`.
    static let kmallocAlign = 8

    /// Cache 0 is `kmalloc`: its objects are counted there.
    private(set) var caches: [Cache] = [Cache(name: "kmalloc", size: 0, align: kmallocAlign)]
    private(set) var pages = Slots<Page>()
    /// The three free lists in search order.
    private var lists: [[Int32]] = [[], [], []]
    /// `*m`: the size a kmalloc object's header keeps, by page and unit.
    private var kmallocSizes: [Int: Int] = [:]
    /// The page `grow` added for a large cache object, by cache.
    private var grown: [Int32: Int32] = [:]

    public init() {}

    /// `size < PAGE_SIZE - align`.
    public var kmallocMax: Int { 4096 - Self.kmallocAlign - 1 }
    public func largeFrames(for size: Int) -> Int { 1 << Self.getOrder(size) }

    static func getOrder(_ size: Int) -> Int {
        var order = 0
        while 4096 << order < size { order += 1 }
        return order
    }

    /// `SLOB_UNITS()`: bytes to 2-byte units, rounded up.
    static func units(_ bytes: Int) -> Int { (bytes + 1) / 2 }

    public var cacheCount: Int { caches.count }
    public func name(of cache: Int32) -> String { caches[Int(cache)].name }
    public func objectSize(of cache: Int32) -> Int { caches[Int(cache)].size }
    /// SLOB has no `kmalloc-N` caches to name.
    public func cache(named name: String) -> Int32? {
        caches.indices.dropFirst().first { caches[$0].name == name }.map(Int32.init)
    }

    public mutating func createCache(name: String, size: Int, align: Int, reclaimable: Bool) -> Int32 {
        caches.append(Cache(name: name, size: size, align: max(align, 8)))
        return Int32(caches.count - 1)
    }

    public func kmallocCache(for size: Int) -> Int32 { 0 }

    // MARK: kmalloc

    public mutating func kmalloc(size: Int) -> SlabObject? {
        guard let (page, unit) = slobAlloc(bytes: size + Self.kmallocAlign, align: Self.kmallocAlign) else { return nil }
        kmallocSizes[Int(page) * Self.unitsPerPage + unit] = size
        caches[0].active += 1
        return SlabObject(cache: 0, slab: page, index: Int32(unit))
    }

    public func kmallocGrowthFrames(size: Int) -> Int { 1 }

    public mutating func growForKmalloc(size: Int, base: FrameNumber, descriptor: SlabObject?) {
        precondition(descriptor == nil)
        newPage(base, list: Self.list(for: size + Self.kmallocAlign))
    }

    /// What SLOB's kmalloc tracepoint reports: `size + align`.
    public func kmallocBytes(size: Int) -> Int { size + Self.kmallocAlign }

    /// `kmem_cache_alloc_node()`'s tracepoint: `SLOB_UNITS(c->size) *
    /// SLOB_UNIT` below a page, `PAGE_SIZE << get_order(c->size)` from a page.
    public func cacheAllocationBytes(of cache: Int32) -> Int {
        let size = caches[Int(cache)].size
        return size < 4096 ? Self.units(size) * 2 : 4096 << Self.getOrder(size)
    }

    // MARK: Caches

    public mutating func allocate(from cache: Int32) -> SlabObject? {
        let c = caches[Int(cache)]
        if c.size >= 4096 {
            // slob_new_pages(get_order(size)): the page grow just added.
            guard let p = grown.removeValue(forKey: cache) else { return nil }
            pages[Int(p)].objects = 1
            caches[Int(cache)].active += 1
            return SlabObject(cache: cache, slab: p, index: 0)
        }
        guard let (page, unit) = slobAlloc(bytes: c.size, align: c.align) else { return nil }
        caches[Int(cache)].active += 1
        return SlabObject(cache: cache, slab: page, index: Int32(unit))
    }

    public func growthFrames(of cache: Int32) -> Int {
        let size = caches[Int(cache)].size
        return size >= 4096 ? 1 << Self.getOrder(size) : 1
    }

    public mutating func grow(_ cache: Int32, base: FrameNumber) {
        let c = caches[Int(cache)]
        if c.size >= 4096 {
            let frames = 1 << Self.getOrder(c.size)
            grown[cache] = pages.insert(Page(base: base, frames: frames, large: true, units: 0, free: [], list: -1, objects: 0))
        } else {
            newPage(base, list: Self.list(for: c.size))
        }
    }

    // MARK: The shared pages

    /// The list a request of `bytes` searches (and a page freed by one joins).
    static func list(for bytes: Int) -> Int { bytes < 256 ? 0 : bytes < 1024 ? 1 : 2 }

    /// A fresh page, wholly free, at the head of `list` (`set_slob_page_free`).
    private mutating func newPage(_ base: FrameNumber, list: Int) {
        let p = pages.insert(Page(base: base, frames: 1, large: false, units: Self.unitsPerPage,
                                  free: [(0, Self.unitsPerPage)], list: Int8(list), objects: 0))
        lists[list].insert(p, at: 0)
    }

    /// `slob_alloc()`: first fit on the list for `bytes`, then the rotation.
    private mutating func slobAlloc(bytes: Int, align: Int) -> (page: Int32, unit: Int)? {
        let l = Self.list(for: bytes)
        let need = Self.units(bytes)
        for (i, p) in lists[l].enumerated() where pages[Int(p)].units >= need {
            guard let unit = pageAlloc(p, units: need, align: align) else { continue }
            pages[Int(p)].objects += 1
            // list_move_tail(slob_list, prev->next) unless prev (the entry
            // before the page) is the head or, now, the last entry: the list
            // then starts at prev->next — the page, or if it left the list
            // (full) the one after it, both now at index i.
            if i > 0 && i < lists[l].count {
                lists[l] = Array(lists[l][i...] + lists[l][..<i])
            }
            return (p, unit)
        }
        return nil
    }

    /// `slob_page_alloc()`: the first free block that holds `units` after
    /// aligning its start to `align` bytes; the unit it starts at.
    private mutating func pageAlloc(_ p: Int32, units need: Int, align: Int) -> Int? {
        // The page's blocks are changed in place (no copy of the array).
        let found: Int? = Self.takeFit(&pages[Int(p)].free, units: need, align: align)
        guard let start = found else { return nil }
        pages[Int(p)].units -= need
        if pages[Int(p)].units == 0 { unlist(p) }
        return start
    }

    /// The first block of `blocks` that holds `need` units after aligning
    /// its start to `align` bytes, taken out; its start unit.
    private static func takeFit(_ blocks: inout [(start: Int, units: Int)], units need: Int, align: Int) -> Int? {
        for k in blocks.indices {
            let (start, avail) = blocks[k]
            // delta >= 0: a block too small unaligned is too small aligned.
            if avail < need { continue }
            let alignedByte = (start * 2 + align - 1) / align * align
            let delta = alignedByte / 2 - start
            guard avail >= need + delta else { continue }
            var at = k
            if delta > 0 {
                // The aligning head stays a block of its own.
                blocks[k] = (start, delta)
                blocks.insert((start + delta, avail - delta), at: k + 1)
                at = k + 1
            }
            let cur = blocks[at]
            if cur.units == need {
                blocks.remove(at: at)
            } else {
                blocks[at] = (cur.start + need, cur.units - need)
            }
            return cur.start
        }
        return nil
    }

    private mutating func unlist(_ p: Int32) {
        let l = Int(pages[Int(p)].list)
        guard l >= 0 else { return }
        lists[l].removeAll { $0 == p }
        pages[Int(p)].list = -1
    }

    // MARK: Freeing

    public mutating func free(_ object: SlabObject) -> [SlabRun] {
        let p = object.slab
        caches[Int(object.cache)].active -= 1
        let bytes: Int
        if object.cache == 0 {
            let key = Int(p) * Self.unitsPerPage + Int(object.index)
            bytes = kmallocSizes.removeValue(forKey: key)! + Self.kmallocAlign
        } else {
            bytes = caches[Int(object.cache)].size
            if bytes >= 4096 {
                let run = SlabRun(base: pages[Int(p)].base, frames: pages[Int(p)].frames)
                pages.remove(p)
                return [run]
            }
        }
        return slobFree(p, unit: Int(object.index), bytes: bytes)
    }

    /// `slob_free()`.
    private mutating func slobFree(_ p: Int32, unit b: Int, bytes: Int) -> [SlabRun] {
        let units = Self.units(bytes)
        pages[Int(p)].objects -= 1
        if pages[Int(p)].units + units == Self.unitsPerPage {
            // Wholly free: straight back to the page allocator.
            unlist(p)
            let base = pages[Int(p)].base
            pages.remove(p)
            return [SlabRun(base: base, frames: 1)]
        }
        if pages[Int(p)].list < 0 {
            // A full page becomes partially free: this block alone, on the
            // list for the freed size, at the head.
            pages[Int(p)].units = units
            pages[Int(p)].free = [(b, units)]
            let l = Self.list(for: bytes)
            pages[Int(p)].list = Int8(l)
            lists[l].insert(p, at: 0)
            return []
        }
        pages[Int(p)].units += units
        Self.insert(&pages[Int(p)].free, start: b, units: units)
        return []
    }

    /// Puts the block back by address, merged with the next block, then
    /// with the previous one, where they touch.
    private static func insert(_ blocks: inout [(start: Int, units: Int)], start b: Int, units: Int) {
        var units = units
        let k = blocks.firstIndex { $0.start > b } ?? blocks.count
        if k < blocks.count && b + units == blocks[k].start {
            units += blocks[k].units
            blocks.remove(at: k)
        }
        if k > 0 && blocks[k - 1].start + blocks[k - 1].units == b {
            blocks[k - 1].units += units
        } else {
            blocks.insert((b, units), at: k)
        }
    }

    // MARK: Reclaim and reporting

    /// Wholly free pages go back at once: none stay for `slab_reclaim`.
    public mutating func releaseEmptySlab(of cache: Int32, where accept: (FrameNumber) -> Bool) -> [SlabRun] { [] }
    public var emptySlabs: Int { 0 }

    public func activeObjects(of cache: Int32) -> Int { caches[Int(cache)].active }

    /// Pages in use: not freed, and not a large page `grow` made that its
    /// allocation has not taken yet.
    private var livePages: [Int] {
        let freed = Set(pages.freeSlots.map(Int.init)).union(grown.values.map(Int.init))
        return pages.indices.filter { !freed.contains($0) }
    }

    public func slabinfo() -> [SlabInfoRow] {
        let shared = livePages.filter { !pages[$0].large }
        let inShared = shared.reduce(0) { $0 + pages[$1].objects }
        var rows = caches.map {
            SlabInfoRow(name: $0.name, activeObjects: $0.active, objects: $0.active, objectSize: $0.size,
                        objectsPerSlab: 0, pagesPerSlab: 0, slabs: 0)
        }
        rows.append(SlabInfoRow(name: "slob_pages", activeObjects: inShared, objects: inShared, objectSize: 4096,
                                objectsPerSlab: 0, pagesPerSlab: 1, slabs: shared.count, activeSlabs: shared.count))
        return rows
    }

    public var totals: SlabTotals {
        var t = SlabTotals()
        for i in livePages {
            let page = pages[i]
            t.pages += page.frames
            t.objects += page.objects
            if !page.large { t.wasteBytes += page.units * 2 }
        }
        for (k, c) in caches.enumerated() where k > 0 && c.size >= 4096 {
            t.wasteBytes += c.active * ((4096 << Self.getOrder(c.size)) - c.size)
        }
        t.capacity = t.objects
        return t
    }

    public func invariantViolation() -> String? {
        var listed = Set<Int32>()
        for (l, list) in lists.enumerated() {
            for p in list {
                guard listed.insert(p).inserted else { return "slob: page \(p) on a list twice" }
                guard Int(pages[Int(p)].list) == l else { return "slob: page \(p) on list \(l) says \(pages[Int(p)].list)" }
            }
        }
        var objects = 0
        for i in livePages {
            let page = pages[i]
            objects += page.objects
            guard !page.large else { continue }
            let free = page.free.reduce(0) { $0 + $1.units }
            if free != page.units { return "slob: page \(i) counts \(page.units) free units, its blocks \(free)" }
            if (page.units > 0) != listed.contains(Int32(i)) { return "slob: page \(i) with \(page.units) free units listed \(listed.contains(Int32(i)))" }
            var end = -1
            for b in page.free {
                // Neighbours may touch: an aligning head stays a block of its own.
                if b.start < end || b.units <= 0 || b.start + b.units > Self.unitsPerPage {
                    return "slob: page \(i) free blocks out of order, empty or off the page at unit \(b.start)"
                }
                end = b.start + b.units
            }
        }
        let active = caches.reduce(0) { $0 + $1.active }
        if objects != active { return "slob: \(active) live objects counted, \(objects) in pages" }
        return nil
    }
}
