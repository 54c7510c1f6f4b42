import Testing
import MemTrace
@testable import MemModel

/// Two TLB levels (`--l2tlb`, `--tlb l1d=…,l1i=…,l2=…`), by hand: a
/// first-level miss looks in the second level, whose hit fills the first;
/// a walk fills both; `invlpg` and CR3 loads reach both.
@Suite struct TLBHierarchyTests {
    static func machine(l1: String, l1i: String? = nil, l2: String) throws -> MachineConfig {
        config(mem: 4 << 20) { c in
            c.tlb = try! TLBSpec(parsing: l1)
            c.itlb = l1i.map { try! TLBSpec(parsing: $0) }
            c.l2tlb = try! TLBSpec(parsing: l2)
        }
    }

    /// L1 of 2 entries, L2 of 4, both fully associative LRU; pages A B C A B A.
    /// A, B, C: misses in both (demand faults fill both; L1 gives up A for C).
    /// A: L1 miss, L2 hit, L1 gives up B. B: L1 miss, L2 hit, L1 gives up C.
    /// A: L1 hit. L1: 6 lookups, 1 hit, 5 misses; L2: 2 hits, 3 misses.
    @Test func secondLevelHitsFillTheFirst() throws {
        let s = try script(StackAllocator.self, Self.machine(l1: "2:full", l2: "4:full"), """
            spawn 1
            mmap 1 0x10000000 0x10010000 rw
            r 1 0x10000000
            r 1 0x10001000
            r 1 0x10002000
            r 1 0x10000004
            r 1 0x10001008
            r 1 0x1000000c

            """)
        let t = s.totals.tlb
        #expect((t.lookups, t.hits, t.misses, t.l2Hits, t.l2Misses) == (6, 1, 5, 2, 3))
        #expect(s.totals.paging.demandFaults == 3)
        #expect(Set(s.machine.translation.tlb.validEntries.map(\.0.address)) == [0x1000_0000, 0x1000_1000])
        #expect(Set(s.machine.translation.l2.validEntries.map(\.0.address)) == [0x1000_0000, 0x1000_1000, 0x1000_2000])
    }

    /// Split first level (1 entry each) over one L2 of 4: x A, r D, x A, r D,
    /// r A, r D. The fetch and the read of D miss everywhere; x A and r D
    /// then hit their L1; r A misses the L1 data TLB and hits the L2 (the
    /// fetch put A there), as r D does next. 6 lookups, 2 hits, 4 misses;
    /// L2: 2 hits, 2 misses.
    @Test func instructionsAndDataShareTheSecondLevel() throws {
        let s = try script(StackAllocator.self, Self.machine(l1: "1:full", l1i: "1:full", l2: "4:full"), """
            spawn 1
            mmap 1 0x8048000 0x8050000 rx
            mmap 1 0x10000000 0x10010000 rw
            x 1 0x8048000
            r 1 0x10000000
            x 1 0x8048004
            r 1 0x10000004
            r 1 0x8048008
            r 1 0x10000008

            """)
        let t = s.totals.tlb
        #expect((t.lookups, t.hits, t.misses, t.l2Hits, t.l2Misses) == (6, 2, 4, 2, 2))
    }

    /// munmap's invlpg and a switch's CR3 load reach the second level: the
    /// page mapped again, and the same address in another process, miss it.
    @Test func invalidationsReachTheSecondLevel() throws {
        let s = try script(StackAllocator.self, Self.machine(l1: "4:full", l2: "16:4"), """
            spawn 1
            spawn 2
            mmap 1 0x10000000 0x10001000 rw
            mmap 2 0x10000000 0x10001000 rw
            r 1 0x10000000
            munmap 1 0x10000000
            mmap 1 0x10000000 0x10001000 rw
            r 1 0x10000000
            r 2 0x10000000
            r 1 0x10000000

            """)
        let t = s.totals.tlb
        // Every access misses both levels: after munmap, after a switch
        // (process 2), and after the switch back (process 1).
        #expect((t.lookups, t.hits, t.misses, t.l2Hits, t.l2Misses) == (4, 0, 4, 0, 4))
        #expect(t.invlpg >= 1 && t.flushes >= 2)
    }

    /// Without --l2tlb nothing changes: the second-level counters stay 0.
    @Test func noSecondLevelNoCounts() throws {
        let s = try script(StackAllocator.self, config(mem: 4 << 20), """
            spawn 1
            mmap 1 0x10000000 0x10010000 rw
            r 1 0x10000000
            r 1 0x10001000

            """)
        #expect((s.totals.tlb.l2Hits, s.totals.tlb.l2Misses) == (0, 0))
        #expect(s.totals.tlb.misses == 2)
    }
}
