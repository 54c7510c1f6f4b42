import Testing
import MemTrace
@testable import MemModel

@Suite struct SlabTests {
    /// (size, align) -> (object size, order, objects per slab), by hand:
    /// e.g. 700 B rounds to 704; one page holds 5 (576 B tail > 512, 1/8 of
    /// the page), two pages hold 11 (448 B tail <= 1024).
    @Test(arguments: [
        (8, 8, 8, 0, 512), (100, 8, 104, 0, 39), (700, 8, 704, 1, 11), (3000, 8, 3000, 2, 5),
        (2049, 8, 2056, 2, 7), (4096, 8, 4096, 0, 1), (5000, 8, 5000, 2, 3), (100, 64, 128, 0, 32),
        (20000, 8, 20000, 4, 3), (1, 1, 4, 0, 1024),
    ])
    func layout(size: Int, align: Int, objectSize: Int, order: Int, perSlab: Int) {
        let c = BonwickCache(name: "t", size: size, align: align)
        #expect(c.objectSize == objectSize)
        #expect(c.order == order)
        #expect(c.objectsPerSlab == perSlab)
    }

    @Test func objectsSlabsWasteAndReclaim() throws {
        var body = "cache c 1000\n"
        for i in 0..<9 { body += "salloc c o\(i)\n" }
        var r = try script(StackAllocator.self, config(), body)
        // 1000 B objects: 4 per page (96 B tail): 9 objects need 3 slabs.
        let c = r.machine.slab.bonwick.caches.last!
        #expect(c.name == "c" && c.objectsPerSlab == 4 && c.order == 0)
        #expect(c.slabCount == 3 && c.activeObjects == 9 && c.capacity == 12)
        #expect(c.wasteBytes == 3 * 1000 + 3 * 96)
        let g = r.machine.gauges()
        #expect(g.slabPages == 3 && g.slabObjects == 9 && g.slabCapacity == 12 && g.slabWasteBytes == 3288)

        var free = body
        for i in 0..<9 { free += "sfree c o\(i)\n" }
        r = try script(StackAllocator.self, config(), free)
        let before = r.machine.frames.freeCount
        #expect(r.machine.slab.bonwick.caches.last!.slabCount == 3)  // empty slabs stay cached
        let reclaimed = r.machine.slab_reclaim(100)
        #expect(reclaimed == 3)
        #expect(r.machine.frames.freeCount == before + 3)
        #expect(r.machine.slab.totals.pages == 0)
        #expect(r.machine.invariantViolation() == nil)
    }

    @Test func freeListIsLIFOInsideObjects() throws {
        let r = try script(StackAllocator.self, config(), """
            cache c 1024
            salloc c a
            salloc c b
            salloc c d
            sfree c a
            sfree c d
            salloc c e
            """)
        let m = r.machine
        guard case let .object(e, _) = m.slab.binding(r.symbol(.object, "e")),
              case let .object(b, _) = m.slab.binding(r.symbol(.object, "b")) else {
            Issue.record("objects not bound")
            return
        }
        #expect(e.index == 2)  // d's slot, freed last
        #expect(b.index == 1)
        let cache = m.slab.bonwick.caches.last!
        // The chain inside the free objects: head 0 (a's slot) -> 3 -> end.
        #expect(cache.links[0, 0] == 3 && cache.links[0, 3] == -1)
    }

    @Test func kmallocClassesLargeAllocationsAndSlabinfo() throws {
        let r = try script(StackAllocator.self, config(), """
            kmalloc a 100
            kmalloc b 5000
            kmalloc c 8
            kmalloc d 4096
            """)
        let info = Dictionary(uniqueKeysWithValues: r.machine.slabinfo().map { ($0.name, $0) })
        #expect(info["kmalloc-128"] == SlabInfoRow(name: "kmalloc-128", activeObjects: 1, objects: 32, objectSize: 128, objectsPerSlab: 32, pagesPerSlab: 1, slabs: 1, activeSlabs: 1))
        #expect(info["kmalloc-8"]?.activeObjects == 1)
        #expect(info["kmalloc-4096"]?.objects == 1)
        #expect(info["kmalloc-64"]?.slabs == 0)
        #expect(r.machine.slab.kmallocLargeFrames == 2)
        #expect(r.machine.usedFrames == 1 + 1 + 2 + 1 + 1)
    }

    @Test func slabErrors() {
        #expect(scriptError(StackAllocator.self, config(), "cache c 64\ncache c 32\n")?.message == "cache: cache c already exists")
        #expect(scriptError(StackAllocator.self, config(), "cache kmalloc-64 64\n")?.message == "cache: cache kmalloc-64 already exists")
        #expect(scriptError(StackAllocator.self, config(), "salloc nope o\n")?.message == "salloc: unknown cache nope")
        #expect(scriptError(StackAllocator.self, config(), "cache c 64\nsalloc c o\nsalloc c o\n")?.message == "salloc: object o is still allocated (free it first)")
        let double = scriptError(StackAllocator.self, config(), "cache c 64\nsalloc c o\nsfree c o\nsfree c o\n")
        #expect(double?.line == 5)
        #expect(double?.message == "sfree: object o was never allocated (or is already freed)")
        #expect(scriptError(StackAllocator.self, config(), "cache c 64\ncache d 64\nsalloc c o\nsfree d o\n")?.message == "sfree: object o belongs to cache c, not d")
        #expect(scriptError(StackAllocator.self, config(), "kmalloc o 64\nsfree kmalloc-64 o\n")?.message == "sfree: object o came from kmalloc; free it with kfree")
        #expect(scriptError(StackAllocator.self, config(), "cache c 64\nsalloc c o\nkfree o\n")?.message == "kfree: object o came from salloc c; free it with sfree")
        #expect(scriptError(StackAllocator.self, config(), "kfree o\n")?.message == "kfree: object o was never allocated (or is already freed)")
    }

    @Test func kmallocCacheByNameWorksWithSalloc() throws {
        let r = try script(StackAllocator.self, config(), "salloc kmalloc-64 a\nsfree kmalloc-64 a\n")
        #expect(r.machine.slabinfo().first { $0.name == "kmalloc-64" }?.slabs == 1)
    }

    /// What every slab variant must do, whatever its classes and layouts.
    @Test(arguments: SlabAllocatorKind.allCases)
    func slabVariantContract(kind: SlabAllocatorKind) throws {
        let cfg = config(mem: 4 << 20) { $0.slab = kind }
        var body = "cache dentry 192\n"
        for i in 0..<200 { body += "salloc dentry d\(i)\nkmalloc k\(i) \(1 + i * 37 % 5000)\n" }
        var r = try script(StackAllocator.self, cfg, body)
        let rows = r.machine.slabinfo()
        // One row per cache (SLOB adds one for its shared pages).
        #expect(rows.count == r.machine.slab.cacheCount + (kind == .slob ? 1 : 0))
        // The cache may be an alias of an existing one of its size (SLUB
        // merges): its row is that cache's, under that name.
        let dentry = r.machine.slab.name(of: r.machine.slab.variant.cache(named: "dentry")!)
        #expect(rows.contains { $0.name == dentry && $0.activeObjects >= 200 && $0.objectSize >= 192 })
        let g = r.machine.gauges()
        // slabinfo's active_objs may count free objects a CPU holds (SLUB).
        #expect(g.slabObjects <= rows.reduce(0) { $0 + $1.activeObjects })
        if kind == .bonwick { #expect(g.slabObjects == rows.reduce(0) { $0 + $1.activeObjects }) }
        #expect(g.slabObjects + (g.kmallocLargePages > 0 ? 1 : 0) <= 400)
        // Every kmalloc got an object at least as large as it asked for.
        for i in 0..<200 {
            let size = 1 + i * 37 % 5000
            switch r.machine.slab.binding(r.symbol(.object, "k\(i)")) {
            case let .object(o, kmalloc):
                #expect(kmalloc && size <= r.machine.slab.kmallocMax)
                #expect(r.machine.slab.kmallocBytes(size) >= size, "kmalloc(\(size)) from \(r.machine.slab.name(of: o.cache))")
                if kind != .slob {
                    // A class cache: its objects are large enough.
                    #expect(rows.first { $0.name == r.machine.slab.name(of: o.cache) }!.objectSize >= size)
                }
            case .large:
                #expect(size > r.machine.slab.kmallocMax)
            default:
                Issue.record("k\(i) not bound")
            }
        }
        // Freed and reclaimed, the layer gives every frame back.
        for i in 0..<200 { body += "sfree dentry d\(i)\nkfree k\(i)\n" }
        r = try script(StackAllocator.self, cfg, body)
        #expect(r.machine.gauges().slabObjects == 0)
        _ = r.machine.slab_reclaim(1 << 20)
        #expect(r.machine.slab.totals.pages == 0)
        #expect(r.machine.usedFrames == 1)  // the kernel's directory
        #expect(r.machine.invariantViolation() == nil)
    }
}
