import Testing
import MemTrace
@testable import MemModel

/// 4 MiB pages (`mmap … huge`, PSE), by hand: one directory entry with PS
/// set maps 1024 aligned frames; one large-page TLB entry covers them; fork
/// shares them copy-on-write and a write copies all 1024; a fault that
/// finds no 1024 free aligned frames maps 4 KiB instead, counted. Every
/// script runs with `--check` after each event (PS entries, their frames'
/// owners, the recursive window onto them, the large-page TLB).
@Suite struct HugePageTests {
    static func machine(mem: UInt64 = 32 << 20, pcid: Bool = false) -> MachineConfig {
        config(mem: mem) { c in
            c.pmm = .buddy
            c.pcid = pcid
            c.checkEvery = 1
        }
    }

    static let region = "mmap 1 0x40000000 0x40400000 rw huge\n"

    /// w A (miss, no directory entry: 1 walk reference; the huge fault),
    /// then three reads across the 4 MiB page: large-page TLB hits. The
    /// same trace without `huge`: 4 misses, 4 demand faults.
    @Test func oneEntryCoversTheWholePage() throws {
        let accesses = """
            w 1 0x40000000
            r 1 0x40001000
            r 1 0x403ff004
            r 1 0x40200000

            """
        let s = try script(BuddyAllocator.self, Self.machine(), "spawn 1\n" + Self.region + accesses)
        let t = s.totals
        #expect((t.tlb.lookups, t.tlb.hits, t.tlb.largeHits, t.tlb.misses, t.tlb.walkRefs) == (4, 3, 3, 1, 1))
        #expect((t.paging.demandFaults, t.paging.hugeFaults, t.paging.hugeFallbacks) == (1, 1, 0))
        let m = s.machine
        let p = m.processes[Int(m.processes.slot(of: 1)!)]
        #expect(p.resident == 1024)
        let pde = m.tables[p.directory!, 0x100]
        #expect(pde.has([.present, .user, .writable, .pageSize]) && pde.frame.index % 1024 == 0)
        #expect(m.frames.use.filter { $0 == .pageTable }.isEmpty)
        #expect(m.translation.tlb.validEntries.isEmpty && m.translation.large.validEntries.count == 1)
        // The walk and the recursive window see through the PS entry.
        #expect(m.tables.walk(p.directory!, 0x403f_f004) == PTE.make(FrameNumber(raw: pde.frame.raw + 1023), [.present, .user, .writable, .pageSize]))

        let small = try script(BuddyAllocator.self, Self.machine(), "spawn 1\nmmap 1 0x40000000 0x40400000 rw\n" + accesses).totals
        #expect((small.tlb.misses, small.paging.demandFaults, small.paging.hugeFaults) == (4, 4, 0))
    }

    /// fork shares the page copy-on-write (both entries read-only, each
    /// frame's count 2). 1 writes: a COW fault that copies all 1024 frames.
    /// 2 writes: its page now has one mapping, made writable in place.
    @Test func forkAndCopyOnWriteOfAHugePage() throws {
        let s = try script(BuddyAllocator.self, Self.machine(), "spawn 1\n" + Self.region + """
            w 1 0x40000000
            fork 1 2
            w 1 0x40000008
            w 2 0x40000008
            r 1 0x40000000

            """)
        let t = s.totals
        #expect((t.paging.cowFaults, t.paging.cowCopies, t.paging.hugeFaults) == (2, 1, 1))
        let m = s.machine
        let one = m.tables[m.processes[Int(m.processes.slot(of: 1)!)].directory!, 0x100]
        let two = m.tables[m.processes[Int(m.processes.slot(of: 2)!)].directory!, 0x100]
        #expect(one.frame != two.frame)
        for e in [one, two] {
            #expect(e.has([.present, .writable, .pageSize]) && !e.has(.cow))
            #expect(m.frames.refcount[e.frame.index] == 1 && m.frames.refcount[e.frame.index + 1023] == 1)
        }
        #expect(m.frames.use.filter { $0 == .anonymous }.count == 2048)
    }

    /// 4 MiB of memory: no 1024 free aligned frames (the kernel's directory
    /// takes one). The first fault falls back to 4 KiB (a page table and a
    /// page); the second finds the table and maps 4 KiB without trying.
    @Test func noAlignedBlockFallsBackToSmallPages() throws {
        let s = try script(BuddyAllocator.self, Self.machine(mem: 4 << 20), "spawn 1\n" + Self.region + """
            w 1 0x40000000
            w 1 0x40001000

            """)
        let t = s.totals.paging
        #expect((t.demandFaults, t.hugeFaults, t.hugeFallbacks) == (2, 0, 1))
        #expect(s.machine.processes[Int(s.machine.processes.slot(of: 1)!)].resident == 2)
    }

    /// The seed's stack and bitmap allocators place runs anywhere: they are
    /// not asked for a 4 MiB page, even when a first fit would start at a
    /// 4 MiB boundary (here frames 1024…2047, between two pallocs), so a
    /// huge region leaves them exactly as a plain one does (a hostile test
    /// found the stack's free order changed by an unaligned attempt).
    @Test func allocatorsWithoutAlignedBlocksAreNotAsked() throws {
        func run<F: FrameAllocator>(_ type: F.Type, huge: Bool) throws -> ([FrameUse], Counters) {
            var c = Self.machine(mem: 12 << 20)
            c.pmm = type == StackAllocator.self ? .stack : .bitmap
            let body = "palloc a 1023\nspawn 1\npalloc b 1023\npalloc x\npalloc y\npfree x\npfree y\n"
                + "mmap 1 0x40000000 0x40400000 rw\(huge ? " huge" : "")\nw 1 0x40000000\n"
            let s = try script(type, c, body)
            return (s.machine.frames.use, s.totals)
        }
        for huge in [false, true] {
            let (stackUse, stack) = try run(StackAllocator.self, huge: huge)
            let (bitmapUse, bitmap) = try run(BitmapAllocator.self, huge: huge)
            #expect((stack.paging.hugeFaults, stack.paging.hugeFallbacks) == (0, huge ? 1 : 0))
            #expect((bitmap.paging.hugeFaults, bitmap.paging.hugeFallbacks) == (0, huge ? 1 : 0))
            #expect(stackUse == (try run(StackAllocator.self, huge: !huge)).0)
            #expect(bitmapUse == (try run(BitmapAllocator.self, huge: !huge)).0)
        }
    }

    /// A user access through the recursive window caches a directory entry
    /// as a PTE (the model checks only the last level's user bit). A 4 MiB
    /// page's entry seen so must go when munmap or a COW copy changes it:
    /// both `invlpg` the window's page too (`--check` found the stale entry
    /// before; a review found the path).
    @Test func recursiveWindowCopiesOfAHugeEntryAreInvalidated() throws {
        _ = try script(BuddyAllocator.self, Self.machine(), "spawn 1\n" + Self.region
            + "w 1 0x40000000\nr 1 0xffd00000\nmunmap 1 0x40000000\nr 1 0xffd00000\n")
        let cow = try script(BuddyAllocator.self, Self.machine(), "spawn 1\n" + Self.region
            + "w 1 0x40000000\nfork 1 2\nr 1 0xffd00000\nw 1 0x40000000\nr 1 0xffd00000\n")
        #expect(cow.totals.paging.cowCopies == 1)
    }

    /// Under PCIDs the recursive window is tagged: it shows each address
    /// space's own directory, so 2's read of its window misses instead of
    /// hitting 1's entry (a fully associative TLB of 16 entries: indexed).
    @Test func theRecursiveWindowIsTaggedUnderPCIDs() throws {
        var c = Self.machine(pcid: true)
        c.tlb = try TLBSpec(parsing: "16:16")
        let t = try script(BuddyAllocator.self, c, """
            spawn 1
            spawn 2
            mmap 1 0x10000 0x11000 rw
            mmap 2 0x10000 0x11000 rw
            w 1 0x10000
            r 1 0xffc00000
            w 2 0x10000
            r 2 0xffc00000
            r 1 0xffc00004

            """).totals.tlb
        // Four first touches miss; 1's window entry is still there under its tag.
        #expect((t.lookups, t.misses, t.hits) == (5, 4, 1))
    }

    /// munmap gives each 4 MiB page back as one block and exit the
    /// directory: 2049 frames taken for 1 (2 · 1024 + its directory), 2049 back.
    /// The child's mapping keeps a forked page until it exits.
    @Test func munmapAndExitGiveTheBlocksBack() throws {
        let s = try script(BuddyAllocator.self, Self.machine(), """
            spawn 1
            mmap 1 0x40000000 0x40800000 rw huge
            w 1 0x40000000
            w 1 0x40400000
            munmap 1 0x40000000
            exit 1

            """)
        // Taken: the kernel's directory at boot, 1's, two 4 MiB pages; back: all but the kernel's.
        #expect((s.totals.frames.allocated, s.totals.frames.freed) == (2050, 2049))
        let forked = try script(BuddyAllocator.self, Self.machine(), "spawn 1\n" + Self.region + """
            w 1 0x40000000
            fork 1 2
            exit 1

            """)
        let m = forked.machine
        let base = m.tables[m.processes[Int(m.processes.slot(of: 2)!)].directory!, 0x100].frame
        #expect(m.frames.refcount[base.index] == 1 && m.frames.use[base.index] == .anonymous)
        // 1's directory went back; the page stays with 2, beside the
        // kernel's directory and 2's.
        #expect(forked.totals.frames.allocated - forked.totals.frames.freed == 1024 + 2)
    }

    /// Under PCIDs a 4 MiB page's entry stays under its tag: 1's read after
    /// 2 ran hits the large-page TLB. Without PCIDs the switch flushed it.
    @Test func largePageEntriesAreTagged() throws {
        let text = """
            spawn 1
            spawn 2
            mmap 1 0x40000000 0x40400000 rw huge
            mmap 2 0x40000000 0x40400000 rw huge
            w 1 0x40000000
            w 2 0x40000000
            r 1 0x40000004

            """
        let without = try script(BuddyAllocator.self, Self.machine(), text).totals.tlb
        #expect((without.hits, without.largeHits, without.misses) == (0, 0, 3))
        let with = try script(BuddyAllocator.self, Self.machine(pcid: true), text).totals.tlb
        #expect((with.hits, with.largeHits, with.misses) == (1, 1, 2))
    }

    /// `map` and `unmap` work on 4 KiB pages: inside a 4 MiB page they stop
    /// the replay with an error naming the address.
    @Test func mapAndUnmapInsideAHugePageAreErrors() throws {
        let prefix = "spawn 1\n" + Self.region + "w 1 0x40000000\npalloc h\n"
        let map = scriptError(BuddyAllocator.self, Self.machine(), prefix + "map 1 0x40001000 h rw\n")
        #expect(map?.line == 6 && map?.message == "map: 0x40001000 lies in a 4 MiB page of PID 1 (a huge region: munmap it whole)")
        let unmap = scriptError(BuddyAllocator.self, Self.machine(), prefix + "unmap 1 0x40001000\n")
        #expect(unmap?.message == "unmap: 0x40001000 lies in a 4 MiB page of PID 1 (a huge region: munmap it whole)")
        let shared = scriptError(BuddyAllocator.self, Self.machine(), "spawn 1\nmmap 1 0x40000000 0x40400000 rw shared=s huge\n")
        #expect(shared?.line == 3 && shared?.message == "mmap: a shared region cannot be huge (the model maps shared segments in 4 KiB pages)")
    }
}
