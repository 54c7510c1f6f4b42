import Testing
import MemTrace
@testable import MemModel

/// kswapd on a 100-frame machine (400 KiB): high watermark 80 %, low 60 %,
/// so it wakes above 80 used frames and reclaims down to 60.
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
}
