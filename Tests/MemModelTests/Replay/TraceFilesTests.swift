import Foundation
import Testing
import MemTrace
@testable import MemModel

/// The bundled traces: each replays cleanly on every allocator with every
/// invariant checked after every event, and together they use every statement.
@Suite struct TraceFilesTests {
    static let traces: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: tracesFolder)) ?? []
        return names.filter { $0.hasSuffix(".trace") || $0.hasSuffix(".trace.gz") || $0.hasSuffix(".trace.zst") }.sorted()
    }()

    @Test func thereAreSampleTraces() {
        #expect(Self.traces.count >= 3)
    }

    @Test(arguments: FrameAllocatorKind.allCases)
    func everyTraceReplaysWithChecks(kind: FrameAllocatorKind) throws {
        for name in Self.traces {
            var options = ReplayOptions()
            options.machine.pmm = kind
            options.machine.checkEvery = name.hasSuffix(".zst") || name.hasSuffix(".gz") ? 5000 : 1
            var sink = RecordingSink(countOnly: true)
            _ = try Replayer.run(path: tracesFolder + "/" + name, options: options, sink: &sink)
        }
    }

    @Test func togetherTheyUseEveryStatement() throws {
        var seen = Set<String>()
        for name in Self.traces where name.hasSuffix(".trace") {
            let reader = try TraceReader(path: tracesFolder + "/" + name)
            while let e = try reader.next() { seen.insert(e.keyword) }
        }
        #expect(seen == Set(Event.allKeywords).subtracting(["memtrace"]))
    }
}
