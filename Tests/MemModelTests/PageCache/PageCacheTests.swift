import Testing
import MemTrace
@testable import MemModel

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

    /// What every eviction policy must do, whatever its order: evict only
    /// clean pages (and only those `accept` allows), never more than asked,
    /// each at most once, and every clean page when asked often enough.
    @Test(arguments: PageCacheEvictionKind.allCases)
    func evictionContract(kind: PageCacheEvictionKind) {
        var c = PageCache(policy: kind)
        for p in 0..<40 { c.insert(Symbol(Int32(p % 3)), UInt32(p), frame: FrameNumber(100 + p), dirty: p % 5 == 0) }
        for p in stride(from: 0, to: 40, by: 3) { _ = c.hit(Symbol(Int32(p % 3)), UInt32(p), dirty: false) }
        let first = c.evictClean(10)
        #expect(first.count == 10 && Set(first).count == 10)
        #expect(first.allSatisfy { ($0.index - 100) % 5 != 0 }, "a dirty page was evicted")
        #expect(c.invariantViolation() == nil)
        let odd = c.evictClean(100) { $0.index % 2 == 1 }
        #expect(odd.allSatisfy { $0.index % 2 == 1 })
        var rest: [FrameNumber] = []
        for _ in 0..<4 { rest += c.evictClean(100) }
        #expect(Set(first + odd + rest).count == first.count + odd.count + rest.count)
        #expect(c.count == 8 && c.dirtyCount == 8)  // the dirty pages stay
        #expect(c.invariantViolation() == nil)
        #expect(c.counters.hits == 14 && c.counters.misses == 0)
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
