import Testing
import MemTrace
@testable import MemModel

/// SLUB (Linux 3.6, `mm/slub.c`) on one CPU: expectations worked out by hand
/// from the kernel's rules, as cited in `SLUBSlab.swift`.
@Suite struct SLUBTests {
    /// What `kmalloc(size)` really takes, for every size from 1 byte to
    /// 64 KiB, against the ranges `get_slab()` gives: `size_index[(size -
    /// 1) / 8]` up to 192 (8, 16, 32, 32, 64 ×4, 96 ×4, 128 ×4, 192 ×8),
    /// `1 << fls(size - 1)` up to `SLUB_MAX_SIZE` (8192), then
    /// `kmalloc_large()`: 4096 << get_order(size).
    @Test func everyRequestSizeGetsTheKernelsClass() {
        let table: [(upTo: Int, bytes: Int)] = [
            (8, 8), (16, 16), (32, 32), (64, 64), (96, 96), (128, 128), (192, 192), (256, 256),
            (512, 512), (1024, 1024), (2048, 2048), (4096, 4096), (8192, 8192),
            // Above SLUB_MAX_SIZE: whole compound pages, not slab objects.
            (16384, 16384), (32768, 32768), (65536, 65536),
        ]
        let slab = SlabAllocator(.slub, totalPages: 16384)
        var row = 0
        var wrong: [(Int, Int, Int)] = []
        for size in 1...65536 {
            if size > table[row].upTo { row += 1 }
            let got = slab.kmallocBytes(size)
            if got != table[row].bytes { wrong.append((size, got, table[row].bytes)) }
        }
        #expect(wrong.isEmpty, "first (size, model, kernel): \(wrong.prefix(5))")
        // The slab layer ends at 8192; above it the frames are 2^order.
        #expect(slab.kmallocMax == 8192)
        #expect(slab.largeFrames(for: 8193) == 4 && slab.largeFrames(for: 12288) == 4 && slab.largeFrames(for: 12289) == 4)
        #expect(slab.largeFrames(for: 16385) == 8 && slab.largeFrames(for: 65536) == 16)
    }

    /// `calculate_order()` with 8 minimum objects (one CPU), maximum order 3,
    /// leftover 1/16, 1/8, 1/4. By hand, e.g. 640 B (600 aligned to 64):
    /// 8 objects need 5120 B, so order ⌈log2 5120⌉ - 12 = 1; 8192 % 640 = 512
    /// ≤ 8192 / 16: order 1, 12 objects. 3000 B: order 3 (24000 B); 32768 %
    /// 3000 = 2768 > 2048 (1/16) fails at every order ≤ 3, ≤ 4096 (1/8)
    /// holds: order 3, 10 objects. 8192 B: min(8, 32768 / 8192) = 4 objects,
    /// order 3.
    @Test(arguments: [
        // (size, align) -> (s->size, order, objects per slab, min_partial, cpu_partial)
        (8, 8, 8, 0, 512, 5, 30), (16, 8, 16, 0, 256, 5, 30), (32, 8, 32, 0, 128, 5, 30),
        (64, 8, 64, 0, 64, 5, 30), (96, 8, 96, 0, 42, 5, 30), (128, 8, 128, 0, 32, 5, 30),
        (192, 8, 192, 0, 21, 5, 30), (256, 8, 256, 0, 16, 5, 13), (512, 8, 512, 0, 8, 5, 13),
        (1024, 8, 1024, 1, 8, 5, 6), (2048, 8, 2048, 2, 8, 5, 6), (4096, 8, 4096, 3, 8, 6, 2),
        (8192, 8, 8192, 3, 4, 6, 2), (100, 8, 104, 0, 39, 5, 30), (600, 64, 640, 1, 12, 5, 13),
        (600, 8, 600, 1, 13, 5, 13), (2000, 8, 2000, 2, 8, 5, 6), (3000, 8, 3000, 3, 10, 5, 6),
        (20000, 8, 20000, 3, 1, 7, 2), (1, 1, 8, 0, 512, 5, 30),
    ])
    func layout(size: Int, align: Int, objectSize: Int, order: Int, perSlab: Int, minPartial: Int, cpuPartial: Int) {
        let c = SLUBSlab.Cache(name: "t", objectSize: SLUBSlab.objectSize(size: size, align: align))
        #expect(c.objectSize == objectSize)
        #expect(c.order == order)
        #expect(c.objectsPerSlab == perSlab)
        #expect(c.minPartial == minPartial)
        #expect(c.cpuPartial == cpuPartial)
    }

    /// `find_mergeable()`: a cache whose rounded size equals an existing
    /// one's (within `sizeof(void *)`) is an alias, with no slabinfo row.
    @Test func sameSizedCachesMerge() throws {
        var slab = SLUBSlab()
        let k4096 = slab.cache(named: "kmalloc-4096")!
        #expect(slab.createCache(name: "dentry", size: 4096, align: 8, reclaimable: false) == k4096)
        #expect(slab.cache(named: "dentry") == k4096)
        let inode = slab.createCache(name: "inode", size: 600, align: 64, reclaimable: false)
        #expect(inode != k4096 && slab.objectSize(of: inode) == 640)
        // 638 rounds to 640 (4-byte words, 8-byte alignment): the same cache.
        #expect(slab.createCache(name: "inode2", size: 638, align: 8, reclaimable: false) == inode)
        // 636 rounds to 640 as well; 630 to 632, which is 8 smaller: a new cache.
        #expect(slab.createCache(name: "small", size: 630, align: 8, reclaimable: false) != inode)
        #expect(!slab.slabinfo().contains { $0.name == "dentry" || $0.name == "inode2" })
    }

    /// The CPU slab, then the per-CPU partial list newest first, then a new
    /// slab — on `kmalloc-4096` (8 objects in 8 frames).
    @Test func allocationTakesTheCPUSlabThenThePerCPUListThenANewSlab() throws {
        var body = ""
        for s in ["a", "b", "c"] { for i in 0..<8 { body += "kmalloc \(s)\(i) 4096\n" } }
        // A and B are full and on no list, C is the CPU slab (full).
        body += "kfree a0\nkfree b0\nkfree c0\n"  // A, then B to the per-CPU list; c0 back to C
        body += "kmalloc x1 4096\nkmalloc x2 4096\nkmalloc x3 4096\nkmalloc x4 4096\n"
        let r = try script(StackAllocator.self, config { $0.slab = .slub }, body)
        func slabOf(_ name: String) -> Int32? {
            guard let sym = r.reader.symbols[.object].lookup(name),
                  case let .object(o, _) = r.machine.slab.binding(sym) else { return nil }
            return o.slab
        }
        #expect(slabOf("x1") == slabOf("c1"))  // the CPU slab's one free object
        #expect(slabOf("x2") == slabOf("b1"))  // then the newest per-CPU partial slab
        #expect(slabOf("x3") == slabOf("a1"))
        #expect(slabOf("x4") != slabOf("a1") && slabOf("x4") != slabOf("b1") && slabOf("x4") != slabOf("c1"))
        let row = r.machine.slabinfo().first { $0.name == "kmalloc-4096" }!
        // 4 slabs of 8; the CPU slab's 7 free objects count as active, as
        // /proc/slabinfo prints them under SLUB.
        #expect(row.slabs == 4 && row.objects == 32 && row.activeObjects == 32)
        #expect(r.machine.slab.variant.activeObjects(of: r.machine.slab.variant.cache(named: "kmalloc-4096")!) == 25)
    }

    /// Frees that find full slabs freeze them onto the per-CPU list; a push
    /// that finds more than `cpu_partial` (2) objects recorded drains the
    /// list to the node first, freeing empty slabs once the node keeps more
    /// than `min_partial` (7 for 20000-byte objects). One object per slab
    /// (order 3, 8 frames). By hand, freeing o0 … o18 of 20 slabs:
    /// pushes record 1, 2, 3 objects, the fourth drains; drains at o3 and o6
    /// move 3 slabs each to the node (6), the drain at o9 moves S8 (7) and
    /// S7 (8) and frees S6; the drains at o12, o15 and o18 free their 3
    /// slabs each. Left: S0–S5, S7, S8 on the node (8, all empty), S18 on
    /// the per-CPU list, S19 the CPU slab: 10 slabs, 80 frames given back.
    @Test func drainsMoveSlabsToTheNodeAndFreeEmptyOnesAboveMinPartial() throws {
        var body = "cache big 20000\n"
        for i in 0..<20 { body += "salloc big o\(i)\n" }
        let full = try script(StackAllocator.self, config { $0.slab = .slub }, body)
        for i in 0..<19 { body += "sfree big o\(i)\n" }
        var r = try script(StackAllocator.self, config { $0.slab = .slub }, body)
        let c = r.machine.slab.variant.cache(named: "big")!
        let row = r.machine.slabinfo().first { $0.name == "big" }!
        #expect(row.objectsPerSlab == 1 && row.pagesPerSlab == 8)
        #expect(row.slabs == 10)
        #expect(row.activeObjects == 2)  // 10 objects, 8 free on the node list
        #expect(r.machine.slab.variant.activeObjects(of: c) == 1)
        #expect(r.machine.frames.freeCount == full.machine.frames.freeCount + 80)
        #expect(r.machine.slab.variant.emptySlabs == 9)  // 8 on the node, S18 on the per-CPU list
        // slab_reclaim flushes S18 to the node and frees every empty slab;
        // S19 (full, the CPU slab) goes to no list and stays.
        let before = r.machine.frames.freeCount
        #expect(r.machine.slab_reclaim(1000) == 72)
        #expect(r.machine.frames.freeCount == before + 72)
        #expect(r.machine.slabinfo().first { $0.name == "big" }!.slabs == 1)
        #expect(r.machine.invariantViolation() == nil)
    }

    /// A node-list slab emptied by a free goes back at once when the node
    /// keeps more than `min_partial` partial slabs, and stays otherwise.
    @Test func aFreeEmptyingANodeSlabFreesItAboveMinPartial() throws {
        // kmalloc-8192: 4 objects per 8-frame slab, min_partial 6, cpu_partial 2.
        var body = ""
        for s in 0..<9 { for i in 0..<4 { body += "kmalloc s\(s)o\(i) 8192\n" } }
        // Slabs 0–7 full on no list, 8 the CPU slab. One free each from 0–7:
        // pushes record 1, 2, 3 objects; the fourth and seventh drain 3
        // slabs each to the node (none empty), so the node holds 6.
        for s in 0..<8 { body += "kfree s\(s)o0\n" }
        let r0 = try script(StackAllocator.self, config { $0.slab = .slub }, body)
        var partial = r0.machine.slabinfo().first { $0.name == "kmalloc-8192" }!
        // Node: 6 slabs of 3 objects + 1 free each → 6 free there; the per-CPU list holds 2 slabs.
        #expect(partial.slabs == 9 && partial.objects - partial.activeObjects == 6)
        // Emptying a node slab while the node holds 6 (not more than 6): kept.
        var keep = body
        for i in 1..<4 { keep += "kfree s0o\(i)\n" }
        let r1 = try script(StackAllocator.self, config { $0.slab = .slub }, keep)
        partial = r1.machine.slabinfo().first { $0.name == "kmalloc-8192" }!
        #expect(partial.slabs == 9)
        #expect(r1.machine.slab.variant.emptySlabs == 1)
        #expect(r1.machine.frames.freeCount == r0.machine.frames.freeCount)
    }
}

extension SLUBTests {
    /// `get_partial_node()` as 3.6 has it: the node list's head becomes the
    /// CPU slab with `available` computed as 0 (acquire_slab() has just set
    /// `inuse` to `objects`), so the next slab always goes to the per-CPU
    /// list too, and the third as well once the recorded objects (1) are
    /// not above `cpu_partial / 2` = 1. On `kmalloc-8192` after the frees of
    /// the test above: the node holds S2, S1, S0, S5, S4, S3 (one free object
    /// each), the per-CPU list S7, S6, the CPU slab S8 is full. y0 and y1
    /// come from S7 and S6; y2 refills: S2 the CPU slab, S1 and S0 to the
    /// per-CPU list (recorded 1, then 2 > 1); y3, y4 from S0, S1; y5 refills
    /// from S5 (S4, S3 to the per-CPU list).
    @Test func refillsFromTheNodeTakeTwoMoreSlabsAsIn3_6() throws {
        var body = ""
        for s in 0..<9 { for i in 0..<4 { body += "kmalloc s\(s)o\(i) 8192\n" } }
        for s in 0..<8 { body += "kfree s\(s)o0\n" }
        let upToY2 = body + "kmalloc y0 8192\nkmalloc y1 8192\nkmalloc y2 8192\n"
        let mid = try script(StackAllocator.self, config { $0.slab = .slub }, upToY2)
        let row = mid.machine.slabinfo().first { $0.name == "kmalloc-8192" }!
        #expect(row.objects - row.activeObjects == 3)  // S5, S4, S3 left on the node (3.7 would leave 4)
        let r = try script(StackAllocator.self, config { $0.slab = .slub }, upToY2 + "kmalloc y3 8192\nkmalloc y4 8192\nkmalloc y5 8192\n")
        func slabOf(_ name: String) -> Int32? {
            guard let sym = r.reader.symbols[.object].lookup(name),
                  case let .object(o, _) = r.machine.slab.binding(sym) else { return nil }
            return o.slab
        }
        #expect(slabOf("y0") == slabOf("s7o1") && slabOf("y1") == slabOf("s6o1"))
        #expect(slabOf("y2") == slabOf("s2o1") && slabOf("y3") == slabOf("s0o1"))
        #expect(slabOf("y4") == slabOf("s1o1") && slabOf("y5") == slabOf("s5o1"))
        #expect(r.machine.slabinfo().first { $0.name == "kmalloc-8192" }!.slabs == 9)
    }

    /// SLUB's boot caches by name, `kmalloc-96` and `kmalloc-8192` among
    /// them; under Bonwick those names are unknown caches.
    @Test func bootCachesByName() throws {
        let body = "salloc kmalloc-96 a\nsalloc kmalloc-8192 b\nsfree kmalloc-96 a\n"
        let r = try script(StackAllocator.self, config { $0.slab = .slub }, body)
        #expect(r.machine.slabinfo().first { $0.name == "kmalloc-8192" }?.slabs == 1)
        #expect(r.machine.slabinfo().first { $0.name == "kmalloc-96" }?.objectsPerSlab == 42)
        #expect(scriptError(StackAllocator.self, config(), body)?.message == "salloc: unknown cache kmalloc-96")
        // Declared with its size (as the ftrace importer writes it), the name
        // works under both: SLUB's own cache, a cache of the trace's under Bonwick.
        let declared = "cache kmalloc-96 96\n" + "salloc kmalloc-96 a\nsfree kmalloc-96 a\n"
        let slub = try script(StackAllocator.self, config { $0.slab = .slub }, declared)
        #expect(slub.machine.slabinfo().filter { $0.name == "kmalloc-96" }.count == 1)
        let bonwick = try script(StackAllocator.self, config(), declared)
        #expect(bonwick.machine.slabinfo().first { $0.name == "kmalloc-96" }?.objectSize == 96)
        #expect(scriptError(StackAllocator.self, config { $0.slab = .slub }, "cache kmalloc-96 100\n")?.message
                    == "cache: cache kmalloc-96 already exists")
    }
}
