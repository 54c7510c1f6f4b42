import Testing
import MemTrace
@testable import MemModel

/// SLOB (Linux 3.6, `mm/slob.c`): expectations worked out by hand in
/// 2-byte units, 2048 to a page, kmalloc with an 8-byte size header and
/// 8-byte alignment.
@Suite struct SLOBTests {
    /// `__do_kmalloc_node()`: below `PAGE_SIZE - align` (4088 bytes) the
    /// tracepoint's `bytes_alloc` is `size + align`; from 4088 on, `PAGE_SIZE
    /// << get_order(size)`.
    @Test func everyRequestSizeGetsWhatTheKernelReports() {
        let slab = SlabAllocator(.slob, totalPages: 16384)
        var wrong: [(Int, Int, Int)] = []
        for size in 1...65536 {
            let kernel = size < 4088 ? size + 8 : size <= 4096 ? 4096 : size <= 8192 ? 8192 : size <= 16384 ? 16384
                : size <= 32768 ? 32768 : 65536
            let got = slab.kmallocBytes(size)
            if got != kernel { wrong.append((size, got, kernel)) }
        }
        #expect(wrong.isEmpty, "first (size, model, kernel): \(wrong.prefix(5))")
        #expect(slab.kmallocMax == 4087)
    }

    func unit(_ r: Scripted<StackAllocator, AnyTLBReplacement>, _ name: String) -> (slab: Int32, unit: Int32)? {
        guard let sym = r.reader.symbols[.object].lookup(name),
              case let .object(o, _) = r.machine.slab.binding(sym) else { return nil }
        return (o.slab, o.index)
    }

    var slob: MachineConfig { config { $0.slab = .slob } }

    /// kmalloc(100) takes 108 bytes = 54 units at unit 0; kmalloc(10) takes
    /// 9 units, its start aligned from byte 108 to 112: a 2-unit head stays
    /// free at 54, the object at 56. Freeing a merges its 54 units with that
    /// head (0..56); kmalloc(40) (24 units) then fits at 0. Freeing b merges
    /// it with both neighbours; freeing c empties the page, which goes back.
    @Test func firstFitAlignmentAndCoalescing() throws {
        let body = "kmalloc a 100\nkmalloc b 10\nkfree a\nkmalloc c 40\n"
        let r = try script(StackAllocator.self, slob, body)
        #expect(unit(r, "b")?.unit == 56)
        #expect(unit(r, "c")?.unit == 0)
        let page = unit(r, "c")!.slab
        let blocks = (r.machine.slab.variant as! SLOBSlab).pages[Int(page)].free
        #expect(blocks.map { [$0.start, $0.units] } == [[24, 32], [65, 1983]])
        #expect(r.machine.slab.totals.pages == 1)
        let after = try script(StackAllocator.self, slob, body + "kfree b\n")
        #expect((after.machine.slab.variant as! SLOBSlab).pages[Int(page)].free.map { [$0.start, $0.units] } == [[24, 2024]])
        let empty = try script(StackAllocator.self, slob, body + "kfree b\nkfree c\n")
        #expect(empty.machine.slab.totals.pages == 0)
        #expect(empty.machine.usedFrames == 1)  // the kernel's directory only
    }

    /// 19 kmalloc(200) (104 units each) fill page P0 to 1976 units; the
    /// 20th opens P1 at the small list's head, 18 more leave it like P0
    /// (72 units free). kmalloc(120) (64 units) fits the list's first page,
    /// P1; the next one no longer fits P1 (8 units left) and is served by
    /// P0, the second, so the list is rotated to start at P0: the next
    /// request, kmalloc(2) (5 units), goes to P0 although P1 has room.
    @Test func theListStartsWhereTheLastSearchSucceeded() throws {
        var body = ""
        for i in 0..<38 { body += "kmalloc a\(i) 200\n" }
        body += "kmalloc t 120\nkmalloc r 120\nkmalloc q 2\n"
        let r = try script(StackAllocator.self, slob, body)
        let p0 = unit(r, "a0")!.slab, p1 = unit(r, "a19")!.slab
        #expect(p0 != p1 && unit(r, "a37")?.slab == p1)
        #expect(unit(r, "t")! == (p1, 1976))
        #expect(unit(r, "r")! == (p0, 1976))
        #expect(unit(r, "q")! == (p0, 2040))
        #expect(r.machine.slab.totals.pages == 2)
    }

    /// Caches share the pages with kmalloc; a cache object of a page or
    /// more takes 2^order pages of its own, given back on free.
    @Test func cachesShareThePagesAndLargeObjectsTakeTheirOwn() throws {
        let body = "cache small 60\ncache huge 5000\nkmalloc k 52\nsalloc small s\nsalloc huge h\n"
        let r = try script(StackAllocator.self, slob, body)
        // kmalloc(52): 60 bytes = 30 units at 0; the 60-byte object, 30 units
        // aligned to 8 bytes (unit 32: a 2-unit head stays free).
        #expect(unit(r, "k")?.unit == 0 && unit(r, "s")?.unit == 32 && unit(r, "s")?.slab == unit(r, "k")?.slab)
        #expect(r.machine.slab.totals.pages == 1 + 2)  // one shared page, 2 pages for 5000 bytes
        let rows = r.machine.slabinfo()
        #expect(rows.first { $0.name == "slob_pages" }?.slabs == 1)
        #expect(rows.first { $0.name == "slob_pages" }?.activeObjects == 2)
        #expect(rows.first { $0.name == "huge" }?.activeObjects == 1)
        let freed = try script(StackAllocator.self, slob, body + "sfree huge h\nkfree k\nsfree small s\n")
        #expect(freed.machine.slab.totals.pages == 0 && freed.machine.usedFrames == 1)
    }
}
