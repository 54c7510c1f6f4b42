import Foundation
import Testing
import TestSupport
import MemModel
import MemTrace
@testable import MemStore

/// `memreplay show`: the kernel's `/proc` formats (3.6 `mm/vmstat.c`
/// L800–808, L821–931) over stored rows, checked byte for byte.
@Suite struct ProcFilesTests {
    /// 24 MiB under `--pmm buddy-mobility` (6144 frames: grouping on, block
    /// 0 the reserve). The kernel's directory falls back to MOVABLE's
    /// order-10 head, 5120, claiming that pageblock for UNMOVABLE; `palloc
    /// a` takes 5121. Free: UNMOVABLE one block of each order 1–9 (5122 …
    /// 5632), MOVABLE four of order 10, the reserve one.
    @Test func buddyinfoPagetypeinfoAndVmstat() throws {
        let trace = temporaryPath("p.trace")
        try "memtrace 1\nmem 24M\npalloc a\n".write(toFile: trace, atomically: true, encoding: .utf8)
        let store = try ResultStore(path: temporaryPath("p.db"))
        var options = ReplayOptions()
        options.machine.pmm = .buddyMobility
        let run = try record(trace, options: options, into: store)

        #expect(try ProcFiles.render(.buddyinfo, store: store, run: run, tick: 0)
                == "Node 0, zone   Normal      0      1      1      1      1      1      1      1      1      1      5 \n")
        let expected = """
            Page block order: 10
            Pages per block:  1024

            Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 \n\
            Node    0, zone   Normal, type    Unmovable      0      1      1      1      1      1      1      1      1      1      0 \n\
            Node    0, zone   Normal, type  Reclaimable      0      0      0      0      0      0      0      0      0      0      0 \n\
            Node    0, zone   Normal, type      Movable      0      0      0      0      0      0      0      0      0      0      4 \n\
            Node    0, zone   Normal, type      Reserve      0      0      0      0      0      0      0      0      0      0      1 \n\
            Node    0, zone   Normal, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 \n\

            Number of blocks type     Unmovable  Reclaimable      Movable      Reserve      Isolate \n\
            Node 0, zone   Normal            1            0            4            1            0 \n
            """
        #expect(try ProcFiles.render(.pagetypeinfo, store: store, run: run, tick: 0) == expected)
        let vmstat = try ProcFiles.render(.vmstat, store: store, run: run, tick: 0)
        #expect(vmstat.hasPrefix("nr_free_pages 6142\nnr_slab_unreclaimable 0\nnr_page_table_pages 1\n"))
        #expect(vmstat.contains("\ncompact_stall 0\n"))

        #expect(throws: ProcFiles.Missing.self) { try ProcFiles.render(.buddyinfo, store: store, run: run, tick: 7) }
        #expect(throws: ProcFiles.Missing.self) { try ProcFiles.render(.buddyinfo, store: store, run: 99, tick: 0) }
        // Without mobility grouping there is no pagetypeinfo to show.
        options.machine.pmm = .buddy
        let plain = try record(trace, options: options, into: store)
        #expect(throws: ProcFiles.Missing.self) { try ProcFiles.render(.pagetypeinfo, store: store, run: plain, tick: 0) }
        #expect(try ProcFiles.render(.buddyinfo, store: store, run: plain, tick: 0).hasPrefix("Node 0, zone   Normal "))
    }
}
