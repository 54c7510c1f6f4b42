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
        #expect(cache.links[0] == 3 && cache.links[3] == -1)
    }

    @Test func kmallocClassesLargeAllocationsAndSlabinfo() throws {
        let r = try script(StackAllocator.self, config(), """
            kmalloc a 100
            kmalloc b 5000
            kmalloc c 8
            kmalloc d 4096
            """)
        let info = Dictionary(uniqueKeysWithValues: r.machine.slabinfo().map { ($0.name, $0) })
        #expect(info["kmalloc-128"] == SlabInfoRow(name: "kmalloc-128", activeObjects: 1, objects: 32, objectSize: 128, objectsPerSlab: 32, pagesPerSlab: 1, slabs: 1))
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
}

@Suite struct PageCacheTests {
    func cache(_ policy: PageCacheEvictionKind) -> PageCache {
        var c = PageCache(policy: policy)
        for p in 0..<4 { c.insert(Symbol(0), UInt32(p), frame: FrameNumber(10 + p), dirty: false) }
        let h0 = c.hit(Symbol(0), 0, dirty: false)
        let h1 = c.hit(Symbol(0), 1, dirty: false)
        #expect(h0 && h1)
        return c
    }

    @Test func evictionOrderPerPolicy() {
        var lru = cache(.lru)
        let l = lru.evictClean(2)
        #expect(l.map(\.index) == [12, 13])  // 0 and 1 were used since
        var fifo = cache(.fifo)
        let f = fifo.evictClean(2)
        #expect(f.map(\.index) == [10, 11])  // oldest insertions
        var clock = cache(.clock)
        let c1 = clock.evictClean(2)
        #expect(c1.map(\.index) == [12, 13])  // 0 and 1 get a second chance
        let c2 = clock.evictClean(1)
        #expect(c2.map(\.index) == [10])      // their bits were cleared in passing
        #expect(clock.invariantViolation() == nil)
    }

    @Test func dirtyPagesStayUntilSynced() {
        var c = PageCache(policy: .lru)
        c.insert(Symbol(1), 0, frame: FrameNumber(5), dirty: true)
        c.insert(Symbol(1), 1, frame: FrameNumber(6), dirty: false)
        let first = c.evictClean(2)
        #expect(first.map(\.index) == [6])
        let none = c.evictClean(2)
        #expect(none.map(\.index) == [])
        c.clean(Symbol(1))
        #expect(c.dirtyCount == 0)
        let last = c.evictClean(2)
        #expect(last.map(\.index) == [5])
        #expect(c.count == 0)
    }

    @Test func machineLevelReadsWritesSyncAndDrop() throws {
        let r = try script(StackAllocator.self, config(), """
            fread f 0
            fread f 0
            fwrite f 1
            fwrite g 0
            fsync f
            fdrop g
            """)
        #expect(r.totals.pageCache.misses == 3 && r.totals.pageCache.hits == 1)
        #expect(r.machine.pageCache.count == 2)
        #expect(r.machine.pageCache.dirtyCount == 0)
        #expect(r.machine.usedFrames == 3)
        // A file with no cached pages, even one never read, syncs and drops as a no-op.
        let none = try script(StackAllocator.self, config(), "fsync nope\nfread f 1\nfdrop f\nfdrop f\nfdrop g\n")
        #expect(none.machine.pageCache.count == 0 && none.machine.usedFrames == 1)
    }
}

/// kswapd on a 100-frame machine (400 KiB): high watermark 80 %, low 60 %,
/// so it wakes above 80 used frames and reclaims down to 60.
/// The page cache's hash index against `Dictionary`, through growth and
/// deletions that shift probe runs (keys crowded into few home slots).
@Suite struct PageIndexTests {
    @Test func agreesWithADictionary() {
        var rng = SplitMix64(seed: 21)
        var index = PageIndex()
        var reference: [UInt64: Int32] = [:]
        for step in 0..<60_000 {
            // Few files, few pages: many collisions and long probe runs.
            let key = UInt64(rng.below(6)) << 32 | UInt64(rng.below(step < 30_000 ? 3000 : 300))
            switch rng.below(3) {
            case 0, 1:
                let v = Int32(rng.below(1 << 20))
                index.set(key, v)
                reference[key] = v
            default:
                index.remove(key)
                reference[key] = nil
            }
            if step % 97 == 0 {
                #expect(index.count == reference.count)
                for (k, v) in reference { #expect(index[k] == v, "step \(step)") }
            }
            #expect(index[key] == reference[key])
        }
        for k in reference.keys { index.remove(k) }
        #expect(index.count == 0)
        #expect(index[0] == nil)
    }

    /// A deletion whose probe run wraps past the last slot: the member homed
    /// at slot 0 must stay put, the one homed at the end must move back.
    @Test func deletionAcrossTheWrap() {
        var index = PageIndex()
        func key(homedAt slot: Int, after: UInt64 = 0) -> UInt64 {
            var k = after
            while index.home(k) != slot { k += 1 }
            return k
        }
        let a = key(homedAt: 62), b = key(homedAt: 63), c = key(homedAt: 0), d = key(homedAt: 63, after: b + 1)
        index.set(a, 1)  // slot 62
        index.set(b, 2)  // slot 63
        index.set(d, 4)  // wraps to slot 0
        index.set(c, 3)  // slot 1
        index.remove(a)
        #expect(index[b] == 2)
        #expect(index[c] == 3)
        #expect(index[d] == 4)
        index.remove(b)
        #expect(index[c] == 3)
        #expect(index[d] == 4)
        #expect(index[a] == nil && index[b] == nil)
        #expect(index.count == 2)
    }
}

@Suite struct KswapdTests {
    let small = config(mem: 400 << 10)

    @Test func fullCycleEvictsExactlyTheOldestCleanPages() throws {
        var body = ""
        for p in 0..<5 { body += "fwrite f \(p)\n" }       // dirty: never evicted
        for p in 5..<80 { body += "fread f \(p)\n" }       // 1 + 80 = 81 used
        body += "tick\nfread f 30\n"                       // a hit: 30 becomes youngest
        for p in 80..<90 { body += "fread f \(p)\n" }      // 70 used: asleep stays asleep
        body += "tick\n"
        for p in 90..<101 { body += "fread f \(p)\n" }     // 81 used again
        let r = try script(StackAllocator.self, small, body)
        let t = r.ticks
        #expect(t.count == 3)
        #expect(t[0].gauges.kswapdActive && t[0].delta.reclaim.kswapdWakeups == 1)
        #expect(t[0].delta.reclaim.reclaimedPagecachePages == 21)  // pages 5...25
        #expect(t[0].gauges.usedPages == 60 && t[0].gauges.pagecacheDirty == 5)
        #expect(!t[1].gauges.kswapdActive && t[1].gauges.usedPages == 70)
        #expect(t[2].delta.reclaim.reclaimedPagecachePages == 21 && t[2].gauges.usedPages == 60)
        let cached = Set(r.machine.pageCache.ageOrder.map(\.page))
        for p: UInt32 in [0, 1, 2, 3, 4, 30, 48, 79, 80, 100] { #expect(cached.contains(p), "page \(p) should be cached") }
        for p: UInt32 in [5, 25, 26, 29, 31, 47] { #expect(!cached.contains(p), "page \(p) should be evicted") }
    }

    @Test func hysteresis() throws {
        var body = "palloc p 15\n"
        for p in 0..<70 { body += "fwrite f \(p)\n" }      // 86 used, all dirty
        body += "tick\npfree p\n"                          // 71: between the watermarks
        body += "tick\nfsync f\n"                          // now 11 can go
        body += "tick\n"
        for p in 0..<10 { body += "fread g \(p)\n" }       // 70: asleep, not woken
        let r = try script(StackAllocator.self, small, body)
        let t = r.ticks
        #expect(t.map(\.gauges.kswapdActive) == [true, true, true, false])
        #expect(t.map(\.delta.reclaim.kswapdWakeups) == [1, 0, 0, 0])
        #expect(t.map(\.delta.reclaim.reclaimedPagecachePages) == [0, 0, 11, 0])
        #expect(t.map(\.gauges.usedPages) == [86, 71, 60, 70])
        #expect(!r.machine.kswapd.awake)
    }

    @Test func slabReclaimRunsFirst() throws {
        var body = "cache big 4096\n"
        for i in 0..<20 { body += "salloc big o\(i)\n" }
        for i in 0..<20 { body += "sfree big o\(i)\n" }
        for p in 0..<60 { body += "fread f \(p)\n" }       // 1 + 20 + 60 = 81
        let r = try script(StackAllocator.self, small, body)
        #expect(r.ticks[0].delta.reclaim.reclaimedSlabPages == 20)
        #expect(r.ticks[0].delta.reclaim.reclaimedPagecachePages == 1)
        #expect(r.ticks[0].gauges.usedPages == 60)
        #expect(!r.machine.pageCache.ageOrder.contains { $0.page == 0 })
    }

    @Test func directReclaimSavesAnAllocation() throws {
        var body = ""
        for p in 0..<15 { body += "fread f \(p)\n" }       // 16 of 16 frames used
        body += "palloc a\n"
        let tiny = config(mem: 64 << 10)
        let r = try script(StackAllocator.self, tiny, body)
        #expect(r.totals.reclaim.oom == 0)
        #expect(r.totals.reclaim.directReclaims == 1)
        #expect(r.machine.frame(ofHandle: r.symbol(.handle, "a")) == FrameNumber(1))  // page 0's frame
        var off = tiny
        off.directReclaim = false
        let failed = try script(StackAllocator.self, off, body)
        #expect(failed.totals.reclaim.oom == 1)
        #expect(failed.totals.reclaim.directReclaims == 0)
    }

    @Test func watermarksAreExact() {
        let k = Kswapd(high: 80, low: 60)
        #expect(!k.aboveHigh(used: 80, allocatable: 100))
        #expect(k.aboveHigh(used: 81, allocatable: 100))
        // 80.5 % is above 80 even though it rounds down to 80.
        #expect(k.aboveHigh(used: 161, allocatable: 200))
        #expect(k.lowTarget(allocatable: 239) == 143)  // 143/239 = 59.8 %, 144 would be 60.25 %
    }

    /// What every slab variant must do, whatever its classes and layouts.
    @Test(arguments: SlabAllocatorKind.allCases)
    func slabVariantContract(kind: SlabAllocatorKind) throws {
        let cfg = config(mem: 4 << 20) { $0.slab = kind }
        var body = "cache dentry 192\n"
        for i in 0..<200 { body += "salloc dentry d\(i)\nkmalloc k\(i) \(1 + i * 37 % 5000)\n" }
        var r = try script(StackAllocator.self, cfg, body)
        let rows = r.machine.slabinfo()
        #expect(rows.count == r.machine.slab.cacheCount)
        #expect(rows.contains { $0.name == "dentry" && $0.activeObjects == 200 && $0.objectSize >= 192 })
        let g = r.machine.gauges()
        #expect(g.slabObjects == rows.reduce(0) { $0 + $1.activeObjects })
        #expect(g.slabObjects + (g.kmallocLargePages > 0 ? 1 : 0) <= 400)
        // Every kmalloc got an object at least as large as it asked for.
        for i in 0..<200 {
            let size = 1 + i * 37 % 5000
            switch r.machine.slab.binding(r.symbol(.object, "k\(i)")) {
            case let .object(o, kmalloc):
                #expect(kmalloc && size <= r.machine.slab.kmallocMax)
                let row = rows.first { $0.name == r.machine.slab.name(of: o.cache) }!
                #expect(row.objectSize >= size, "kmalloc(\(size)) from \(row.name)")
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
