import Testing
import MemTrace
@testable import MemModel

/// `--compaction`: a direct compaction worked out by hand from Linux 3.6's
/// `mm/compaction.c` (line numbers as `CompactionState` cites them).
@Suite struct CompactionTests {
    /// 16 MiB under `--pmm buddy` (four 1024-frame pageblocks, no types, so
    /// every one is a migration target). The kernel's directory is frame 0;
    /// 4095 movable single pages then take frames 1 … 4095 in order, and
    /// all but five are freed: 100, 200 (pageblock 0), 1100, 2100, 3100
    /// remain. `map` gives the kernel a page table, which comes from the
    /// head of the order-0 list: 3101, the last single frame freed. The
    /// kernel reads its mapping of frame 100 into the TLB.
    ///
    /// `palloc big 1024` finds no free order-10 block. The fragmentation
    /// index of order 10 is above 500, so direct compaction runs (async
    /// first). The migration scanner takes 100 and 200 from pageblock 0
    /// (1024 frames scanned). The free scanner starts at the zone's end
    /// (4096, outside the zone), then isolates every free block of
    /// pageblock 3 — 1022 frames, 11 steps over 3072 (o4), 3088 (o3), 3096
    /// (o2), the used 3100 and 3101, 3102 (o1), 3104 (o5), 3136 (o6), 3200
    /// (o7), 3328 (o8), 3584 (o9) — and hands out the last isolated first:
    /// 100 → 4095 (its PTE rewritten, one invlpg), 200 → 4094. Pageblock 1
    /// (1024 more scanned) gives 1100 → 4093, which leaves pageblock 1
    /// wholly free: compact_finished() sees an order-10 block, the other
    /// 1019 isolated frames go back, and `big` takes frames 1024 … 2047.
    @Test func directCompactionMovesPagesAndRewritesTheirPTEs() throws {
        let kept: Set<Int> = [100, 200, 1100, 2100, 3100]
        var body = (1...4095).map { "palloc h\($0) 1 movable\n" }.joined()
        body += (1...4095).filter { !kept.contains($0) }.map { "pfree h\($0)\n" }.joined()
        body += "map 0 0xC0000000 h100 rw\nr 0 0xC0000000\npalloc big 1024\nr 0 0xC0000000\n"
        let cfg = config(mem: 16 << 20) { c in
            c.pmm = .buddy
            c.compaction = .direct
            c.checkEvery = 1
        }
        let s = try script(BuddyAllocator.self, cfg, body)
        let m = s.machine
        let handle = { (name: String) in m.frame(ofHandle: s.symbol(.handle, name))?.index }
        #expect(handle("h100") == 4095 && handle("h200") == 4094 && handle("h1100") == 4093)
        #expect(handle("h2100") == 2100 && handle("h3100") == 3100)
        #expect(handle("big") == 1024)
        #expect(m.tables.walk(m.kernelDirectory, 0xC000_0000).frame.index == 4095)
        #expect(m.tables[m.kernelDirectory, 768].frame.index == 3101)
        #expect(m.frames.use[100] == .free && m.frames.use[4095] == .handle && m.frames.refcount[4095] == 2)
        let c = m.compaction.counters
        #expect(c.stalls == 1 && c.successes == 1 && c.failures == 0)
        #expect(c.migrateScanned == 2048)
        #expect(c.freeScanned == 11)
        #expect(c.isolated == 3 + 1022)
        #expect(c.migrated == 3)
        #expect(c.tlbInvalidations == 1)
        // The second read misses (the entry was invalidated) and walks to 4095.
        #expect(s.totals.tlb.misses == 2)
        #expect(s.totals.reclaim.oom == 0)
    }

    /// Proactive compaction that cannot lower the score (nothing movable:
    /// unmovable pages on every other frame) backs off for 64 tick closes
    /// (5.9 kcompactd's `proactive_defer`): of ticks 0 … 70 it runs at the
    /// close of 0 and of 65.
    @Test func proactiveCompactionBacksOffWithoutProgress() throws {
        var body = (1...4095).map { "palloc h\($0)\n" }.joined()
        body += stride(from: 2, through: 4094, by: 2).map { "pfree h\($0)\n" }.joined()
        body += String(repeating: "tick\n", count: 70)
        let cfg = config(mem: 16 << 20) { c in
            c.pmm = .buddy
            c.compaction = .proactive
            c.compactionProactiveness = 100
        }
        let s = try script(BuddyAllocator.self, cfg, body)
        let runs = s.ticks.filter { $0.delta.compaction.proactiveRuns > 0 }.map(\.tick)
        #expect(runs == [0, 65])
        #expect(s.totals.compaction.migrated == 0)
    }

    /// Compaction needs free blocks to isolate: the bitmap, stack and LLFree
    /// variants refuse it.
    @Test(arguments: [FrameAllocatorKind.bitmap, .stack, .llfree])
    func onlyBuddyVariantsCompact(kind: FrameAllocatorKind) {
        var c = MachineConfig()
        c.pmm = kind
        c.compaction = .direct
        #expect(throws: SpecError.self) { try c.validate() }
    }

    /// The proactiveness watermarks of Linux 5.9 and deferral after failed
    /// sync runs (`compaction.h` L30–62: after n failures the next 2^n − 1
    /// attempts are skipped).
    @Test func watermarksAndDeferral() {
        var c = MachineConfig()
        c.compactionProactiveness = 20
        #expect(CompactionState(c).scoreWatermarks == (80, 90))
        c.compactionProactiveness = 100
        #expect(CompactionState(c).scoreWatermarks == (5, 15))
        var s = CompactionState(c)
        var d = s.deferred(node: 0, order: 3)
        #expect(!d)
        s.deferAfterFailure(node: 0, order: 3)
        d = s.deferred(node: 0, order: 3)
        #expect(d)   // considered 1 < 2
        d = s.deferred(node: 0, order: 3)
        #expect(!d)  // 2: not deferred
        d = s.deferred(node: 0, order: 2)
        #expect(!d)  // below the failed order
        s.deferAfterFailure(node: 0, order: 3)
        var seen: [Bool] = []
        for _ in 0..<4 { seen.append(s.deferred(node: 0, order: 3)) }
        #expect(seen == [true, true, true, false])
        s.succeeded(node: 0, order: 3)
        d = s.deferred(node: 0, order: 3)
        #expect(!d)
        d = s.deferred(node: 0, order: 4)
        #expect(!d)
    }
}
