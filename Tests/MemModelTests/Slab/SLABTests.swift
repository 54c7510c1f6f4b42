import Testing
import MemTrace
@testable import MemModel

/// SLAB (Linux 3.6, `mm/slab.c`) on one CPU: expectations worked out by hand
/// from the kernel's rules, as cited in `SLABSlab.swift`.
@Suite struct SLABTests {
    /// What `kmalloc(size)` really takes, for every size from 1 byte to
    /// 64 KiB: the first class of `kmalloc_sizes.h` at least the size
    /// (`__find_general_cachep()` L724-739: 32, 64, 128, 192, 256, then
    /// powers of two), `bytes_alloc` = the class's `cachep->size`
    /// (`__do_kmalloc()` L3954-3955). SLAB has slab caches up to 4 MiB, so
    /// no request of 64 KiB or less leaves the slab layer; above 4 MiB
    /// kmalloc returns NULL (the sentinel class has no cache).
    @Test func everyRequestSizeGetsTheKernelsClass() throws {
        let table: [(upTo: Int, bytes: Int)] = [
            (32, 32), (64, 64), (128, 128), (192, 192), (256, 256), (512, 512), (1024, 1024),
            (2048, 2048), (4096, 4096), (8192, 8192), (16384, 16384), (32768, 32768), (65536, 65536),
        ]
        let slab = SlabAllocator(.slab, totalPages: 16384)
        var row = 0
        var wrong: [(Int, Int, Int)] = []
        for size in 1...65536 {
            if size > table[row].upTo { row += 1 }
            let got = slab.kmallocBytes(size)
            if got != table[row].bytes { wrong.append((size, got, table[row].bytes)) }
        }
        #expect(wrong.isEmpty, "first (size, model, kernel): \(wrong.prefix(5))")
        #expect(slab.kmallocMax == 4 << 20)
        #expect(slab.kmallocBytes(4 << 20) == 4 << 20 && slab.kmallocBytes((4 << 20) + 1) == 0)
        #expect(slab.name(of: slab.kmallocCache(for: 4 << 20)) == "size-4194304")
        #expect(slab.name(of: slab.kmallocCache(for: 129)) == "size-192")
        // kmalloc above KMALLOC_MAX_SIZE fails (NULL), taking no frame.
        let r = try script(StackAllocator.self, config(mem: 16 << 20) { $0.slab = .slab }, "kmalloc big 4194305\nkfree big\n")
        #expect(r.machine.frames.freeCount == config(mem: 16 << 20).allocatableFrames - 1)
    }

    /// `__kmem_cache_create()` and `calculate_slab_order()` by hand (the
    /// formulas of `cache_estimate()`: on-slab n = ⌊(slab − 28)/(size + 4)⌋,
    /// less one if ALIGN(28 + 4n, align) + n·size overflows; off-slab n =
    /// ⌊slab/size⌋). E.g. size-128: ⌊4068/132⌋ = 30, 192 + 3840 = 4032 ≤
    /// 4096. size-512: off-slab (≥ 512 after early boot), 8 per page, left 0,
    /// so the 60-byte descriptor (8·4 + 28) stays off-slab, in size-64.
    /// Custom 600 (align 8): 6 per page off-slab, left 496 ≥ ALIGN(52, 8) =
    /// 56: back on-slab. Custom 3000: order 0 leaves 1096 > 4096/8; with
    /// `slab_max_order` 1 (RAM > 32 MiB) order 1 holds 2 (left 2192, accepted
    /// at the order limit), with 0 order 0 holds 1.
    @Test(arguments: [
        // (size, align, hwcache, early, maxOrder) -> (objsize, align, order, objs/slab, descriptor bytes, limit, batch, free_limit)
        (32, 8, true, true, 0, 32, 32, 0, 113, 0, 120, 60, 233),
        (64, 8, true, true, 0, 64, 64, 0, 59, 0, 120, 60, 179),
        (128, 8, true, false, 0, 128, 64, 0, 30, 0, 120, 60, 150),
        (192, 8, true, false, 0, 192, 64, 0, 20, 0, 120, 60, 140),
        (256, 8, true, false, 0, 256, 64, 0, 15, 0, 120, 60, 135),
        (512, 8, true, false, 0, 512, 64, 0, 8, 60, 54, 27, 62),
        (1024, 8, true, false, 0, 1024, 64, 0, 4, 44, 54, 27, 58),
        (2048, 8, true, false, 0, 2048, 64, 0, 2, 36, 24, 12, 26),
        (4096, 8, true, false, 1, 4096, 64, 0, 1, 32, 24, 12, 25),
        (8192, 8, true, false, 1, 8192, 64, 1, 1, 32, 8, 4, 9),
        (262144, 8, true, false, 1, 262144, 64, 6, 1, 32, 1, 1, 3),
        (100, 8, false, false, 0, 104, 8, 0, 37, 0, 120, 60, 157),
        (600, 8, false, false, 0, 600, 8, 0, 6, 0, 54, 27, 60),
        (3000, 8, false, false, 1, 3000, 8, 1, 2, 0, 24, 12, 26),
        (3000, 8, false, false, 0, 3000, 8, 0, 1, 0, 24, 12, 25),
        (1, 1, false, false, 0, 8, 8, 0, 339, 0, 120, 60, 459),
    ])
    func layout(size: Int, align: Int, hwcache: Bool, early: Bool, maxOrder: Int,
                objectSize: Int, objectAlign: Int, order: Int, perSlab: Int, descriptor: Int,
                limit: Int, batch: Int, freeLimit: Int) {
        let g = SLABSlab.geometry(size: size, align: align, hardwareAligned: hwcache, early: early, maxOrder: maxOrder)
        #expect(g.objectSize == objectSize)
        #expect(g.align == objectAlign)
        #expect(g.order == order)
        #expect(g.objectsPerSlab == perSlab)
        #expect((g.descriptorBytes ?? 0) == descriptor)
        let c = SLABSlab.Cache(name: "t", geometry: g, descriptorCache: nil)
        #expect(c.limit == limit && c.batchcount == batch && c.freeLimit == freeLimit)
    }

    /// The first refill of an untouched array takes 16 objects
    /// (`BATCHREFILL_LIMIT`), later ones `batchcount`; the array hands them
    /// out newest first. `cache c 100`: 104-byte objects, 37 per slab. a0
    /// grows slab S0 and refills objects 0…15, taking 15; a1…a15 take 14…0;
    /// a16 refills (touched: up to 60) with the 21 left, 16…36, taking 36.
    @Test func refillsTakeSixteenThenABatchNewestFirst() throws {
        var body = "cache c 100\n"
        for i in 0...16 { body += "salloc c a\(i)\n" }
        let r = try script(StackAllocator.self, config { $0.slab = .slab }, body)
        func index(_ name: String) -> Int32? {
            guard case let .object(o, _) = r.machine.slab.binding(r.symbol(.object, name)) else { return nil }
            return o.index
        }
        #expect(index("a0") == 15 && index("a1") == 14 && index("a15") == 0 && index("a16") == 36)
        let row = r.machine.slabinfo().first { $0.name == "c" }!
        #expect(row.slabs == 1 && row.objects == 37 && row.activeObjects == 37)
        #expect(row.objectSize == 104 && row.objectsPerSlab == 37 && row.pagesPerSlab == 1)
        // slabdata and tunables as s_show() prints them.
        #expect(row.activeSlabs == 1 && row.limit == 120 && row.batchcount == 60)
        let c = r.machine.slab.variant.cache(named: "c")!
        #expect(r.machine.slab.variant.activeObjects(of: c) == 17)
        // After a0 alone, the 15 objects the array holds count as active.
        let one = try script(StackAllocator.self, config { $0.slab = .slab }, "cache c 100\nsalloc c a0\n")
        #expect(one.machine.slabinfo().first { $0.name == "c" }!.activeObjects == 16)
    }

    /// Frees go to the array; a full array sends its oldest `batchcount`
    /// back through `free_block()`, which destroys a slab it empties once the
    /// node holds more than `free_limit` free objects. `cache big 5000`:
    /// order 1, one object, management moved on-slab (left 3192 ≥ 32),
    /// limit 8, batchcount 4, free_limit 9. Twenty objects in S0…S19 (each
    /// allocation grows a slab), freed in order: o8 flushes o0…o3 (free
    /// objects 1…4, kept), o12 flushes o4…o7 (5…8, kept), o16 flushes
    /// o8…o11: S8 makes 9 (kept), S9, S10, S11 make 10 > 9 (destroyed).
    /// Left: 17 slabs, 9 on the free list, the array holding o12…o19.
    @Test func fullArraysFlushAndEmptiedSlabsGoAboveFreeLimit() throws {
        var body = "cache big 5000\n"
        for i in 0..<20 { body += "salloc big o\(i)\n" }
        let full = try script(StackAllocator.self, config { $0.slab = .slab }, body)
        for i in 0..<20 { body += "sfree big o\(i)\n" }
        var r = try script(StackAllocator.self, config { $0.slab = .slab }, body)
        let row = r.machine.slabinfo().first { $0.name == "big" }!
        #expect(row.objectsPerSlab == 1 && row.pagesPerSlab == 2)
        #expect(row.slabs == 17 && row.activeObjects == 8)
        #expect(row.activeSlabs == 8 && row.limit == 8 && row.batchcount == 4)  // 9 on the free list
        #expect(r.machine.frames.freeCount == full.machine.frames.freeCount + 6)
        #expect(r.machine.slab.variant.emptySlabs == 17)
        #expect(r.machine.invariantViolation() == nil)
        // slab_reclaim (kmem_cache_shrink): the array drains into its slabs,
        // then every free slab goes: 17 × 2 frames.
        let before = r.machine.frames.freeCount
        #expect(r.machine.slab_reclaim(1000) == 34)
        #expect(r.machine.frames.freeCount == before + 34)
        #expect(r.machine.slabinfo().first { $0.name == "big" }!.slabs == 0)
        #expect(r.machine.invariantViolation() == nil)
    }

    /// Off-slab management: a size-512 slab's 60-byte descriptor is a
    /// size-64 object (`alloc_slabmgmt()`), taken after the slab's frame;
    /// destroying the slab frees it (`slab_destroy()`).
    @Test func offSlabDescriptorsComeFromAKmallocCache() throws {
        var r = try script(StackAllocator.self, config { $0.slab = .slab }, "kmalloc k0 512\n")
        let rows = r.machine.slabinfo()
        let s512 = rows.first { $0.name == "size-512" }!, s64 = rows.first { $0.name == "size-64" }!
        #expect(s512.slabs == 1 && s512.activeObjects == 8)
        // The descriptor's refill took 16 size-64 objects (an untouched array).
        #expect(s64.slabs == 1 && s64.activeObjects == 16)
        let k64 = r.machine.slab.variant.cache(named: "size-64")!
        #expect(r.machine.slab.variant.activeObjects(of: k64) == 0)  // not a trace object
        #expect(r.machine.slab.totals.objects == 1)  // k0; the descriptor is management
        #expect(r.machine.frames.freeCount == config().allocatableFrames - 1 - 2)
        // kfree, then reclaim: size-64's slab keeps the descriptor until
        // size-512's slab is destroyed, which frees it into size-64's array.
        r = try script(StackAllocator.self, config { $0.slab = .slab }, "kmalloc k0 512\nkfree k0\n")
        #expect(r.machine.slab_reclaim(1) == 1)
        #expect(r.machine.slabinfo().first { $0.name == "size-512" }!.slabs == 0)
        #expect(r.machine.slab.totals.objects == 0 && r.machine.slab.variant.emptySlabs == 1)
        #expect(r.machine.invariantViolation() == nil)
        #expect(r.machine.slab_reclaim(1) == 1)
        #expect(r.machine.slab.totals.pages == 0)
        #expect(r.machine.invariantViolation() == nil)
    }

    /// SLAB's boot caches are `size-N`, reached through `kmalloc`; the
    /// trace's `kmalloc-N` names are unknown there (as under SLOB), and a
    /// trace cannot declare a cache under a boot cache's name.
    @Test func bootCachesByName() throws {
        #expect(scriptError(StackAllocator.self, config { $0.slab = .slab }, "cache size-192 192\n")?.message == "cache: cache size-192 already exists")
        #expect(scriptError(StackAllocator.self, config { $0.slab = .slab }, "salloc kmalloc-64 a\n")?.message == "salloc: unknown cache kmalloc-64")
    }
}
