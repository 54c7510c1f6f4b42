import Testing
import MemTrace
@testable import MemModel

/// Paging, processes, COW, shared memory: frame numbers worked out by hand.
/// Every machine here has 1 MiB (256 frames) and no reserve, so with the
/// default stack allocator frames come out lowest first: the kernel's page
/// directory is frame 0.
@Suite struct PagingTests {
    @Test func recursiveWindowAddresses() {
        #expect(Paging.recursivePTEAddress(0x0000_0000) == 0xFFC0_0000)
        #expect(Paging.recursivePTEAddress(0x0040_0000) == 0xFFC0_1000)
        #expect(Paging.recursivePTEAddress(0x1234_5678) == 0xFFC4_8D14)
        #expect(Paging.recursivePTEAddress(0xC000_0000) == 0xFFF0_0000)
        // The directory itself shows at 0xFFFFF000; its own PTE is the last word.
        #expect(Paging.recursivePTEAddress(0xFFFF_F000) == 0xFFFF_FFFC)
    }

    @Test func recursiveWindowResolvesToTheDirectWalksEntry() throws {
        let r = try script(StackAllocator.self, config(), """
            spawn 1
            mmap 1 0x00400000 0x00800000 rw
            w 1 0x00400000
            w 1 0x00401000
            w 1 0x007FF000
            """)
        let m = r.machine
        let dir = m.process(1)!.directory!
        #expect(dir == FrameNumber(1))
        for va: UInt32 in [0x0040_0000, 0x0040_1000, 0x007F_F000] {
            let hit = try #require(m.tables.resolve(dir, Paging.recursivePTEAddress(va)))
            let pde = m.tables[dir, Paging.directoryIndex(va)]
            #expect(hit.frame == pde.frame)
            #expect(hit.offset == Paging.tableIndex(va) * 4)
            #expect(m.tables[hit.frame, hit.offset / 4] == m.tables.walk(dir, va))
        }
        // 0xFFFFF000 is the directory itself.
        #expect(m.tables.resolve(dir, 0xFFFF_F000)?.frame == dir)
    }

    /// Fork, then writes by child and parent: exact frames and counts.
    @Test func forkThenWrite() throws {
        let r = try script(StackAllocator.self, config(), """
            spawn 1                      # directory: frame 1
            mmap 1 0x1000 0x3000 rw
            w 1 0x1000                   # page table 2, page 3
            w 1 0x2000                   # page 4
            fork 1 2                     # directory 5, table 6; pages 3 and 4 now COW, 2 references each
            w 2 0x1000                   # COW fault, copied to frame 7
            w 1 0x1000                   # COW fault, sole reference left: made writable in place
            """)
        let m = r.machine
        #expect(m.usedFrames == 8)
        #expect(m.counters.paging.demandFaults == 2)
        #expect(m.counters.paging.cowFaults == 2)
        #expect(m.counters.paging.cowCopies == 1)
        #expect(m.counters.paging.pageFaults == 4)
        #expect(m.counters.paging.segv == 0)
        #expect(m.frames.refcount[3] == 1 && m.frames.refcount[4] == 2 && m.frames.refcount[7] == 1)
        let parentPTE = m.tables.walk(FrameNumber(1), 0x1000)
        let childPTE = m.tables.walk(FrameNumber(5), 0x1000)
        #expect(parentPTE == PTE.make(FrameNumber(3), [.present, .user, .writable]))
        #expect(childPTE == PTE.make(FrameNumber(7), [.present, .user, .writable]))
        // 0x2000 is still shared COW and read-only in both.
        #expect(m.tables.walk(FrameNumber(1), 0x2000) == PTE.make(FrameNumber(4), [.present, .user, .cow]))
        #expect(m.tables.walk(FrameNumber(5), 0x2000) == PTE.make(FrameNumber(4), [.present, .user, .cow]))
        #expect(m.process(1)!.faults == 3 && m.process(1)!.cowFaults == 1)
        #expect(m.process(2)!.faults == 1 && m.process(2)!.cowFaults == 1)
        #expect(m.process(2)!.resident == 2)
        // TLB: every access missed (each followed a CR3 load); fork flushed too.
        #expect(m.counters.tlb.lookups == 4 && m.counters.tlb.misses == 4)
        #expect(m.counters.tlb.flushes == 4)
        #expect(m.counters.paging.switches == 3)
        #expect(m.counters.tlb.invlpg == 2)
        #expect(m.tables.tableFrames == 5)  // 3 directories + 2 tables
    }

    @Test func exitFreesBackToTheCountBeforeSpawn() throws {
        let r = try script(StackAllocator.self, config(), """
            spawn 1
            mmap 1 0x1000 0x3000 rw
            mmap 1 0x00800000 0x00802000 rwx
            w 1 0x1000
            w 1 0x2000
            x 1 0x00800000
            fork 1 2
            w 2 0x1000
            palloc h
            map 2 0x5000 h rw
            unmap 2 0x5000
            pfree h
            exit 2
            exit 1
            """)
        #expect(r.machine.usedFrames == 1)  // the kernel's directory alone
        #expect(r.machine.tables.tableFrames == 1)
        #expect(r.machine.currentPID == 0)
        #expect(r.sink.processes.map(\.pid).sorted() == [0, 1, 2])
        let child = r.sink.processes.first { $0.pid == 2 }!
        #expect(child.parent == 1 && child.exitedTick == 0 && child.peakResident == 4)
    }

    @Test func sharedSegmentAcrossThreeProcesses() throws {
        let r = try script(StackAllocator.self, config(), """
            spawn 1
            spawn 2
            spawn 3
            mmap 1 0x10000 0x12000 rw shared=shm
            mmap 2 0x20000 0x22000 rw shared=shm
            mmap 3 0x10000 0x12000 r shared=shm
            w 1 0x10000                  # table 4, segment page 0 = frame 5
            r 2 0x20000                  # table 6, the same frame 5
            r 3 0x10000                  # table 7, frame 5
            r 3 0x11000                  # segment page 1 = frame 8
            w 3 0x11000                  # read-only region: segmentation fault
            """)
        let m = r.machine
        let shm = r.symbol(.segment, "shm")
        #expect(m.segmentFrames(shm) == [FrameNumber(5), FrameNumber(8)])
        #expect(m.frames.refcount[5] == 4)  // the segment + three mappings
        #expect(m.frames.refcount[8] == 2)
        #expect(m.usedFrames == 9)
        #expect(m.counters.paging.segv == 1)
        #expect(m.tables.walk(FrameNumber(2), 0x20000) == PTE.make(FrameNumber(5), [.present, .user, .writable]))
        #expect(m.tables.walk(FrameNumber(3), 0x10000) == PTE.make(FrameNumber(5), [.present, .user]))

        let after = try script(StackAllocator.self, config(), """
            spawn 1
            spawn 2
            mmap 1 0x10000 0x12000 rw shared=shm
            mmap 2 0x20000 0x22000 rw shared=shm
            w 1 0x10000
            r 2 0x21000
            munmap 1 0x10000             # table 3 emptied and freed; the segment lives on
            exit 2                       # last region gone: frames freed
            """)
        #expect(after.machine.usedFrames == 2)
        #expect(after.machine.segmentFrames(after.symbol(.segment, "shm")) == nil)
    }

    @Test func segmentLengthsMustAgree() {
        let e = scriptError(StackAllocator.self, config(), "spawn 1\nmmap 1 0x1000 0x3000 rw shared=s\nmmap 1 0x8000 0x9000 rw shared=s\n")
        #expect(e?.line == 4)
        #expect(e?.message == "mmap: shared segment s is 2 pages long; this region is 1")
    }

    @Test func regionsLimitOverlapAndErrors() throws {
        var body = "spawn 7\n"
        for i in 0..<17 { body += "mmap 7 0x\(String((i * 2 + 1) * 0x1000, radix: 16)) 0x\(String((i * 2 + 2) * 0x1000, radix: 16)) r\n" }
        let r = try script(StackAllocator.self, config(), body)
        #expect(r.totals.paging.regionFailures == 1)
        #expect(r.machine.process(7)!.regions.count == 16)

        let overlap = scriptError(StackAllocator.self, config(), "spawn 1\nmmap 1 0x1000 0x4000 rw\nmmap 1 0x3000 0x5000 r\n")
        #expect(overlap?.line == 4)
        #expect(overlap?.message == "mmap: [0x3000, 0x5000) overlaps region [0x1000, 0x4000) of PID 1")
        #expect(scriptError(StackAllocator.self, config(), "spawn 1\nspawn 1\n")?.message == "spawn: PID 1 already exists")
        #expect(scriptError(StackAllocator.self, config(), "r 9 0x1000\n")?.message == "r: unknown PID 9")
        #expect(scriptError(StackAllocator.self, config(), "x 9 0x1000\n")?.message == "x: unknown PID 9")
        #expect(scriptError(StackAllocator.self, config(), "switch 9\n")?.message == "switch: unknown PID 9")
        #expect(scriptError(StackAllocator.self, config(), "exit 0\n")?.message == "exit: PID 0 is the kernel and cannot exit")
        #expect(scriptError(StackAllocator.self, config(), "spawn 1\nmunmap 1 0x1000\n")?.message == "munmap: PID 1 has no region starting at 0x1000")
        #expect(scriptError(StackAllocator.self, config(), "spawn 1\nfork 1 1\n")?.message == "fork: child PID 1 already exists")
    }

    @Test func faultsOutsideRegionsAndPermissions() throws {
        let r = try script(StackAllocator.self, config(), """
            spawn 1
            mmap 1 0x1000 0x2000 r
            mmap 1 0x3000 0x4000 rx
            r 1 0x9000                   # outside every region
            w 1 0x1000                   # not writable: no page is mapped
            x 1 0x1000                   # not executable
            r 1 0x1000                   # demand fault, read-only page
            w 1 0x1000                   # present, read-only, not COW
            x 1 0x1000                   # present: succeeds (no execute bit on x86-32)
            x 1 0x3000                   # demand fault
            r 1 0xC0000000               # user access to kernel space
            """)
        #expect(r.totals.paging.segv == 5)
        #expect(r.totals.paging.demandFaults == 2)
        #expect(r.totals.paging.pageFaults == 7)
        #expect(r.totals.tlb.lookups == 8)
        // Hits: the write and the execute of 0x1000 after the read filled it.
        #expect(r.totals.tlb.hits == 2)
    }

    @Test func cr3FlushKeepsGlobalKernelEntries() throws {
        let r = try script(StackAllocator.self, config(), """
            palloc k
            map 0 0xC0000000 k rw        # kernel page table, global PTE
            r 0 0xC0000000               # miss, fills a global entry
            spawn 1
            switch 1                     # load_cr3: non-global entries go
            r 1 0xC0000000               # a TLB hit, then a fault (user access): segv
            r 0 0xC0000000               # implicit switch to the kernel: hit again
            """)
        #expect(r.totals.tlb.lookups == 3)
        #expect(r.totals.tlb.hits == 2)
        #expect(r.totals.paging.segv == 1)
        #expect(r.totals.tlb.flushes == 2)
        // The kernel table is shared with the new directory.
        let dir = r.machine.process(1)!.directory!
        #expect(r.machine.tables[dir, 768] == r.machine.tables[r.machine.kernelDirectory, 768])
    }

    @Test func unmapInvalidatesAndKeepsTheFrame() throws {
        let r = try script(StackAllocator.self, config(), """
            palloc h
            spawn 1
            map 1 0x40000000 h rw
            r 1 0x40000000               # miss + fill
            r 1 0x40000000               # hit
            unmap 1 0x40000000           # invlpg
            r 1 0x40000000               # miss, not present, outside regions: segv
            """)
        #expect(r.totals.tlb.hits == 1)
        #expect(r.totals.tlb.invlpg == 1)
        #expect(r.totals.paging.segv == 1)
        #expect(r.machine.frame(ofHandle: r.symbol(.handle, "h")) == FrameNumber(1))
        #expect(r.machine.frames.refcount[1] == 1)
    }

    @Test func forkOutOfMemoryFailsWholeAndTheChildIsIgnored() throws {
        // 8 frames: kernel dir, dir 1, table, 2 pages, 3 more taken by handles: 0 free.
        let r = try script(StackAllocator.self, config(mem: 32 << 10), """
            spawn 1
            mmap 1 0x1000 0x3000 rw
            w 1 0x1000
            w 1 0x2000
            palloc fill 3
            fork 1 2
            w 2 0x1000
            exit 2
            """)
        #expect(r.totals.reclaim.oom == 1)
        #expect(r.machine.usedFrames == 8)
        #expect(r.machine.process(2) == nil)
    }
}

/// Page tables are stored sparsely: only 32-entry chunks that hold a present
/// entry. Chunk counts are worked out by hand from the indices
/// (`| chunk 5 | entry 5 |` of each 10-bit table index).
@Suite struct TableMemoryTests {
    static func pte(_ f: Int32) -> PTE { PTE.make(FrameNumber(raw: f), [.present, .user]) }

    @Test func onlyChunksWithPresentEntriesAreStored() {
        var t = TableMemory(frames: 8)
        let table = FrameNumber(3)
        t.attach(table)
        t.activate(table)  // as load_cr3 would: walks start here
        #expect(t.storedEntries == 0)  // a fresh table holds nothing (densely: 1024 entries)
        t.write(table, 0, Self.pte(5))     // chunk 0
        t.write(table, 31, Self.pte(6))    // chunk 0
        t.write(table, 32, Self.pte(7))    // chunk 1
        t.write(table, 1023, Self.pte(3))  // chunk 31
        #expect(t.storedEntries == 3 * 32)
        #expect(t.present(in: table) == 4)
        #expect(t[table, 0] == Self.pte(5) && t[table, 31] == Self.pte(6))
        #expect(t[table, 32] == Self.pte(7) && t[table, 1023] == Self.pte(3))
        #expect(t[table, 33] == .none && t[table, 500] == .none && t[table, 1022] == .none)
        var order: [Int] = []
        var i = t.nextPresent(in: table, after: -1)
        while i < 1024 { order.append(i); i = t.nextPresent(in: table, after: i) }
        #expect(order == [0, 31, 32, 1023])
        // Entry 1023 points back at the table, so the window at 0xFFC00000 reads it.
        #expect(t.walkActive(0xFFC2_0000) == Self.pte(7) && t.walkActive(0xFFC2_1000) == .none)
        #expect(t.walk(table, 0xFFFF_F000) == Self.pte(3))
        #expect(t.invariantViolation() == nil)

        t.write(table, 32, .none)  // chunk 1 emptied: given back
        #expect(t.storedEntries == 2 * 32 && t.present(in: table) == 3)
        t.write(table, 31, .none)  // chunk 0 still holds entry 0
        #expect(t.storedEntries == 2 * 32)
        t.write(table, 500, .none)  // clearing an absent entry takes no chunk
        #expect(t.storedEntries == 2 * 32)
        #expect(t.invariantViolation() == nil)

        t.detach(table)  // drops what it still held
        #expect(t.storedEntries == 0 && t.tableFrames == 0)
        t.attach(FrameNumber(5))  // reuses the code and a chunk: all zero again
        t.activate(FrameNumber(5))
        #expect(t[FrameNumber(5), 0] == .none && t[FrameNumber(5), 1023] == .none)
        t.write(FrameNumber(5), 700, Self.pte(2))
        #expect(t.storedEntries == 32 && t[FrameNumber(5), 700] == Self.pte(2))
        #expect(t.invariantViolation() == nil)
    }

    /// Three processes of two user tables each: 16 chunks, where 4 KiB per
    /// table would be 10 tables of 1024 entries.
    @Test func forkedProcessesHoldOnlyTheirPresentChunks() throws {
        let forked = """
            spawn 1
            mmap 1 0x00400000 0x00800000 rw   # directory entry 1: chunk 0
            mmap 1 0xBF000000 0xBF100000 rw   # directory entry 764: chunk 23
            w 1 0x00400000                    # table entries 0 and 1: chunk 0
            w 1 0x00401000
            w 1 0xBF0FF000                    # table entry 255: chunk 7
            fork 1 2
            fork 1 3

            """
        let r = try script(StackAllocator.self, config(), forked)
        // Kernel directory: entry 1023 (chunk 31). Each process: its
        // directory (chunks 0, 23, 31) and two tables of one chunk each.
        #expect(r.machine.tables.tableFrames == 1 + 3 * 3)
        #expect(r.machine.tables.storedEntries == (1 + 3 * 5) * 32)
        let exited = try script(StackAllocator.self, config(), forked + "exit 2\nexit 3\nw 1 0x00401000\n")
        // Back to the kernel's chunk and process 1's five; the COW write changed an entry, not a chunk.
        #expect(exited.machine.tables.storedEntries == (1 + 5) * 32)
    }

    /// `--check` sees a broken count or a stray bit in the sparse layout.
    @Test func invariantsCoverTheSparseLayout() throws {
        // Blocks in the order taken: 1 the kernel directory's map, 2 its
        // chunk 31 (entry 1023); 3 and 4 the same for PID 1's directory (frame
        // 1); 5 the map of the table (frame 2), 6 the directory's chunk 0
        // (entry 0), 7 the table's chunk 0 (entry 1: page 0x1000).
        let r = try script(StackAllocator.self, config(), "spawn 1\nmmap 1 0x1000 0x3000 rw\nw 1 0x1000\n")
        var m = r.machine
        #expect(m.tables.present == [0, 1, 1, 2, 1, 1, 1, 1])  // a map counts its whole table: PID 1's directory holds 2
        #expect(m.tables.words[7 << 5 | 1] == PTE.make(FrameNumber(3), [.present, .user, .writable]).raw)
        #expect(m.invariantViolation() == nil)
        m.tables.present[7] = 2
        #expect(m.invariantViolation() == "page tables: table in frame 2: chunk 0 holds 1 present entries, counted 2")
        m.tables.present[7] = 1
        m.tables.present[5] = 0
        #expect(m.invariantViolation() == "page tables: table in frame 2: 1 present entries, counted 0")
        m.tables.present[5] = 1
        m.tables.words[7 << 5 | 2] = 0x3000  // frame 3, not present
        #expect(m.invariantViolation() == "page tables: table in frame 2: chunk 0 holds a non-present entry that is not zero")
        m.tables.words[7 << 5 | 2] = 0
        m.tables.words[6 << 5] = 0  // the directory loses its entry 0: block 7 is no one's
        #expect(m.invariantViolation() == "page tables: table in frame 1: chunk 0 holds no present entry but is kept")
    }
}
