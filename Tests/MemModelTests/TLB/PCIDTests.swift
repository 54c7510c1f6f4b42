import Testing
import MemTrace
@testable import MemModel

/// PCIDs (`--pcid`), by hand from the rule of Linux 4.14's
/// `choose_new_asid()` (see ``PCIDTags``): tags handed out round robin from
/// 1 (the kernel holds 0), a switch to an address space holding its tag
/// keeps the TLB, a new tag or one behind its address space's changes is
/// flushed. Every script runs with `--check` after each event, which walks
/// each cached entry in the address space holding its tag.
@Suite struct PCIDTests {
    static func machine(tags: Int = 4096, tlb: String = "4:full") -> MachineConfig {
        config(mem: 4 << 20) { c in
            c.tlb = try! TLBSpec(parsing: tlb)
            c.pcid = true
            c.pcidTags = tags
            c.checkEvery = 1
        }
    }

    static let twoProcesses = """
        spawn 1
        spawn 2
        mmap 1 0x10000000 0x10001000 rw
        mmap 2 0x10000000 0x10001000 rw
        r 1 0x10000000
        r 2 0x10000000
        r 1 0x10000004
        r 2 0x10000008

        """

    /// Switches 0→1, 1→2, 2→1, 1→2. Without PCIDs each flushes: 4 misses.
    /// With them, 1 and 2 take tags 1 and 2 (2 flushes), and the switches
    /// back find their entries: 2 misses, 2 hits.
    @Test func switchesKeepTheOtherAddressSpacesEntries() throws {
        var plain = Self.machine()
        plain.pcid = false
        let without = try script(StackAllocator.self, plain, Self.twoProcesses).totals
        #expect((without.tlb.lookups, without.tlb.misses, without.tlb.flushes, without.paging.switches) == (4, 4, 4, 4))
        let with = try script(StackAllocator.self, Self.machine(), Self.twoProcesses).totals
        #expect((with.tlb.lookups, with.tlb.hits, with.tlb.misses, with.tlb.flushes, with.paging.switches) == (4, 2, 2, 2, 4))
    }

    /// Two tags. 1 takes tag 1 (flush); 2 takes tag 0 from the kernel
    /// (`next_asid` wrapped; flush); 1 and 2 then hit. 3 takes tag 1 from
    /// 1 (flush, miss); 1 takes tag 0 from 2 (flush, miss); 2 takes tag 1
    /// from 3 (flush, miss). 7 lookups: 2 hits, 5 misses, 5 flushes.
    @Test func recycledTagsAreFlushed() throws {
        let s = try script(StackAllocator.self, Self.machine(tags: 2), """
            spawn 1
            spawn 2
            spawn 3
            mmap 1 0x10000000 0x10001000 rw
            mmap 2 0x10000000 0x10001000 rw
            mmap 3 0x10000000 0x10001000 rw
            r 1 0x10000000
            r 2 0x10000000
            r 1 0x10000004
            r 2 0x10000004
            r 3 0x10000000
            r 1 0x10000008
            r 2 0x10000008

            """)
        let t = s.totals.tlb
        #expect((t.lookups, t.hits, t.misses, t.flushes) == (7, 2, 5, 5))
        #expect(s.machine.translation.pcids.context[1] == s.machine.processes[Int(s.machine.processes.slot(of: 2)!)].context)
    }

    /// One tag: every switch to another address space recycles tag 0 and
    /// flushes, which is a TLB without PCIDs.
    @Test func oneTagIsNoPCIDs() throws {
        let t = try script(StackAllocator.self, Self.machine(tags: 1), Self.twoProcesses).totals.tlb
        #expect((t.lookups, t.misses, t.flushes) == (4, 4, 4))
    }

    /// munmap of 1's pages while 2 runs: 1's tag is behind, and the switch
    /// back flushes it (else its two entries would still translate the
    /// unmapped pages; `--check` would say so). Misses: 1's two first
    /// touches, 2's, then 1's two again after the flush; 2's second read
    /// hits. Flushes: tags 1 and 2 new, tag 1 behind.
    @Test func changesWhileSwitchedOutFlushTheTagOnReturn() throws {
        let s = try script(StackAllocator.self, Self.machine(), """
            spawn 1
            spawn 2
            mmap 1 0x10000000 0x10002000 rw
            mmap 2 0x20000000 0x20001000 rw
            r 1 0x10000000
            r 1 0x10001000
            r 2 0x20000000
            munmap 1 0x10000000
            mmap 1 0x10000000 0x10002000 rw
            r 2 0x20000004
            r 1 0x10000000
            r 1 0x10001000

            """)
        let t = s.totals.tlb
        #expect((t.lookups, t.hits, t.misses, t.flushes) == (6, 1, 5, 3))
        #expect(s.totals.paging.demandFaults == 5)
    }

    /// fork of the running process flushes its tag (`flush_tlb_mm()`): the
    /// write after it misses and takes the COW fault. fork of a process
    /// that is not running puts its tag behind: its write after the switch
    /// back misses too. Lookups: w 1 (miss), w 1 (miss, COW), w 3 (miss,
    /// new tag), fork 1 4 while 3 runs, w 1 (switch, behind: flush, miss,
    /// COW). Flushes: tag 1 new, fork, tag 2 new, tag 1 behind.
    @Test func forkFlushesTheParentsTag() throws {
        let s = try script(StackAllocator.self, Self.machine(), """
            spawn 1
            spawn 3
            mmap 1 0x10000000 0x10001000 rw
            mmap 3 0x30000000 0x30001000 rw
            w 1 0x10000000
            fork 1 2
            w 1 0x10000004
            w 3 0x30000000
            fork 1 4
            w 1 0x10000008

            """)
        let t = s.totals.tlb
        #expect((t.lookups, t.misses, t.flushes) == (4, 4, 4))
        #expect(s.totals.paging.cowFaults == 2)
    }

    /// The same rules through the index of a wide TLB and with a second
    /// level: the first scenario's counts.
    @Test func indexedAndTwoLevelTLBsKeepTags() throws {
        let wide = try script(StackAllocator.self, Self.machine(tlb: "64:full"), Self.twoProcesses).totals.tlb
        #expect((wide.hits, wide.misses, wide.flushes) == (2, 2, 2))
        var two = Self.machine(tlb: "1:full")
        two.l2tlb = try TLBSpec(parsing: "16:4")
        let t = try script(StackAllocator.self, two, Self.twoProcesses).totals.tlb
        // The 1-entry L1 loses 1's entry to 2's; the L2 keeps both.
        #expect((t.hits, t.misses, t.l2Hits, t.l2Misses, t.flushes) == (0, 4, 2, 2, 2))
    }
}
