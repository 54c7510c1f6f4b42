import Foundation
import Testing
import TestSupport
import MemTrace
@testable import MemModel

/// Every generated workload passes `--check`, and hostile sizes give correct
/// results or clear errors in bounded memory.
@Suite struct GeneratedAndHostileTests {
    @Test(arguments: Workload.allCases)
    func generatedTracesPassCheckMode(workload: Workload) throws {
        let path = temporaryPath("gen-\(workload.rawValue).trace")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try generate(workload, events: 2000, seed: 5, to: TraceWriter(path: path))
        for kind in FrameAllocatorKind.allCases {
            var options = ReplayOptions()
            options.machine.pmm = kind
            // Every event on one allocator, every 20th on the others; 8 MiB
            // keeps each check (which walks every frame) quick.
            options.machine.checkEvery = kind == .stack ? 1 : 20
            options.memBytes = 8 << 20
            var sink = RecordingSink(countOnly: true)
            let s = try Replayer.run(path: path, options: options, sink: &sink)
            #expect(s.events == 2000)
        }
        // Every slab variant other than the default, every event checked.
        for slab in SlabAllocatorKind.allCases where slab != .bonwick {
            var options = ReplayOptions()
            options.machine.slab = slab
            options.machine.checkEvery = 1
            options.memBytes = 8 << 20
            var sink = RecordingSink(countOnly: true)
            let s = try Replayer.run(path: path, options: options, sink: &sink)
            #expect(s.events == 2000, "--slab \(slab)")
        }
        // The same seed gives the same trace.
        let again = path + ".2"
        defer { try? FileManager.default.removeItem(atPath: again) }
        try generate(workload, events: 2000, seed: 5, to: TraceWriter(path: again))
        #expect(FileManager.default.contents(atPath: path) == FileManager.default.contents(atPath: again))
    }

    @Test func fourGigabytesOfMemory() throws {
        // 1 M frames: the buddy allocator starts with 1024 blocks of order 10.
        var options = ReplayOptions()
        options.machine.pmm = .buddy
        let reader = TraceReader(path: "big", source: MemorySource("memtrace 1\nmem 4G\npalloc a 1024\npalloc b 1000000\npalloc c 1000\n"))
        var sink = RecordingSink()
        let s = try Replayer.run(reader: reader, options: options, sink: &sink)
        #expect(s.config.frames == 1 << 20)
        #expect(sink.ticks[0].delta.reclaim.oom == 1)  // 10^6 frames exceed order 10
        #expect(sink.ticks[0].gauges.usedPages == 1 + 1024 + 1024)  // c rounded up to 1024
        let over = TraceReader(path: "big", source: MemorySource("memtrace 1\nmem 5G\n"))
        #expect(throws: TraceError.self) { _ = try Replayer.run(reader: over, options: options, sink: &sink) }
    }

    @Test func manyLiveHandlesAndThousandsOfProcesses() throws {
        var text = "memtrace 1\nmem 1G\n"
        for i in 0..<200_000 { text += "palloc h\(i)\n" }
        for p in 1...3000 { text += "spawn \(p)\nmmap \(p) 0x1000 0x2000 rw\nw \(p) 0x1000\n" }
        for p in 1...3000 { text += "exit \(p)\n" }
        for i in 0..<200_000 { text += "pfree h\(i)\n" }
        let reader = TraceReader(path: "many", source: MemorySource(text))
        var sink = RecordingSink()
        let s = try Replayer.run(reader: reader, options: ReplayOptions(), sink: &sink)
        #expect(s.events == 200_000 * 2 + 3000 * 4)
        #expect(sink.ticks[0].gauges.usedPages == 1)
        #expect(sink.ticks[0].delta.paging.demandFaults == 3000)
        // Released names are recycled: the handle table never held more than were live.
        #expect(reader.symbols[.handle].count == 0)
        #expect(reader.symbols[.handle].capacity == 200_000)
    }
}
