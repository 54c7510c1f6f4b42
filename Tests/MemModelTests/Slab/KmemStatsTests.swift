import Foundation
import Testing
import MemTrace
import TestSupport
@testable import MemModel

/// Requested against allocated bytes: the tick gauges, `kmem_callsites` as
/// `perf kmem stat --caller` computes it, `kmem_pages`, and `replay
/// --check` against a capture's `bytes_alloc`.
@Suite struct KmemStatsTests {
    /// Capture lines written from the kernel's TP_printk formats (include/
    /// trace/events/kmem.h: `call_site=%pS ptr=%p bytes_req=%zu
    /// bytes_alloc=%zu gfp_flags=%s`), imported, replayed under SLUB (which
    /// recorded them: 640 → kmalloc-1024, 100 → kmalloc-128, 5000 →
    /// kmalloc-8192, dentry 192). perf kmem stat --caller, by hand, sums per
    /// call site over every allocation: __alloc_skb 2 allocs, req 640 + 100
    /// = 740, alloc 1024 + 128 = 1152, frag 100 − 100·740/1152 = 35.763…%;
    /// __d_alloc 1 alloc, 192/192, frag 0; seq_read 5000/8192.
    @Test func callSiteTotalsAreWhatPerfKmemComputes() throws {
        let capture = """
              nginx-31 [001] ..... 88.000001: kmalloc: call_site=0xc13a2b3f ptr=00000000b3c1e2aa bytes_req=640 bytes_alloc=1024 gfp_flags=GFP_KERNEL
              nginx-31 [001] ..... 88.000002: kmalloc: call_site=0xc13a2b3f ptr=00000000b3c1e300 bytes_req=100 bytes_alloc=128 gfp_flags=GFP_ATOMIC
              nginx-31 [001] ..... 88.000003: kmem_cache_alloc: call_site=0xc11d0a10 ptr=000000004c2f7d10 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL
              nginx-31 [001] ..... 88.000004: kmalloc: call_site=0xc1150000 ptr=00000000aa000000 bytes_req=5000 bytes_alloc=8192 gfp_flags=GFP_KERNEL
              nginx-31 [001] ..... 88.000005: kfree: call_site=0xc13a4000 ptr=00000000b3c1e2aa
              nginx-31 [001] ..... 88.000006: kfree: call_site=0xc13a4000 ptr=(null)

            """
        let dir = scratchDirectory()
        let input = dir + "/kmem.ftrace", output = dir + "/kmem.trace"
        try capture.write(toFile: input, atomically: true, encoding: .utf8)
        do {
            let w = try TraceWriter(path: output)
            let report = try Importer.run(.ftrace, input: input, to: w, options: ImportOptions(tickMs: 0))
            #expect(report["frees of NULL skipped"] == 1)
        }
        var options = ReplayOptions()
        options.machine.slab = .slub
        options.machine.checkEvery = 1
        var sink = RecordingSink()
        let s = try Replayer.run(path: output, options: options, sink: &sink)
        #expect(s.allocationMismatch == nil)
        let bySite = Dictionary(uniqueKeysWithValues: sink.callsites.map { ($0.site, $0) })
        let skb = try #require(bySite[0xc13a2b3f])
        #expect(skb.allocations == 2 && skb.frees == 1 && skb.bytesRequested == 740 && skb.bytesAllocated == 1152)
        #expect(abs(skb.fragmentationPct - (100 - 100 * 740.0 / 1152)) < 1e-9)
        let dentry = try #require(bySite[0xc11d0a10])
        #expect(dentry.allocations == 1 && dentry.bytesRequested == 192 && dentry.bytesAllocated == 192 && dentry.fragmentationPct == 0)
        #expect(bySite[0xc1150000]?.bytesAllocated == 8192)
        // Live at the end: 100/128, 192/192, 5000/8192.
        let g = try #require(sink.ticks.last?.gauges)
        #expect(g.kmemBytesRequested == 5292 && g.kmemBytesAllocated == 8512)
        // kmem_pages: SLUB's slabs (kmalloc-1024 order 1, kmalloc-128 and dentry's
        // kmalloc-192 alias order 0, kmalloc-8192 order 3) and the kernel's directory.
        #expect(sink.pages.contains { $0.use == "slab" && $0.order == 3 && $0.allocations == 1 })
        #expect(sink.pages.contains { $0.use == "page_directory" && $0.order == 0 && $0.allocations == 1 })
    }

    /// What a cache allocation gives, as each 3.6 tracepoint reports it:
    /// SLOB `SLOB_UNITS(c->size) * SLOB_UNIT` (101 → 102) below a page and
    /// `PAGE_SIZE << get_order(size)` from a page (5000 → 8192); SLUB and
    /// SLAB the cache's `size` (101 → 104, word then 8-byte aligned).
    @Test(arguments: [(SlabAllocatorKind.slob, 102, 8192), (.slub, 104, 5000), (.slab, 104, 5000)])
    func cacheAllocationsReportTheKernelsBytes(kind: SlabAllocatorKind, small: Int, large: Int) throws {
        let r = try script(StackAllocator.self, config(mem: 4 << 20) { $0.slab = kind },
                           "cache odd 101\ncache big 5000\nsalloc odd a\nsalloc big b\n")
        #expect(r.machine.slab.kmem.liveRequested == 5101)
        #expect(r.machine.slab.kmem.liveAllocated == small + large)
    }

    /// The same capture replayed under another allocator: the first
    /// allocation whose size differs is reported with its line.
    @Test func checkReportsTheFirstSizeThatDiffersFromTheCapture() throws {
        let dir = scratchDirectory()
        let path = dir + "/mismatch.trace"
        try "memtrace 1\nmem 1M\nkmalloc a 640 site=0x1 alloc=1024\nkmalloc b 100 alloc=128\n".write(toFile: path, atomically: true, encoding: .utf8)
        var options = ReplayOptions()
        options.machine.checkEvery = 1
        options.machine.slab = .slob
        var sink = RecordingSink()
        let s = try Replayer.run(path: path, options: options, sink: &sink)
        #expect(s.allocationMismatch == "\(path):3: kmalloc(640) takes 648 bytes under --slab slob; the recording kernel gave 1024")
        // Bonwick gives both what the capture says; without --check nothing is compared.
        options.machine.slab = .bonwick
        #expect(try Replayer.run(path: path, options: options, sink: &sink).allocationMismatch == nil)
        options.machine.slab = .slob
        options.machine.checkEvery = 0
        #expect(try Replayer.run(path: path, options: options, sink: &sink).allocationMismatch == nil)
    }
}
