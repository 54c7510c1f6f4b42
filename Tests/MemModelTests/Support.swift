import Testing
import MemTrace
@testable import MemModel

/// A machine after replaying a script, with the reader whose names it used.
struct Scripted<F: FrameAllocator> {
    var machine: Machine<F>
    var sink: RecordingSink
    var reader: TraceReader
    var summary: ReplaySummary

    func symbol(_ ns: Namespace, _ name: String) -> Symbol { reader.symbols[ns].lookup(name)! }
    var ticks: [TickSample] { sink.ticks }
    var totals: Counters { machine.counters }
}

/// A small machine: `mem` bytes, nothing reserved, default settings otherwise.
func config(mem: UInt64 = 1 << 20, reserve: UInt64 = 0, _ adjust: (inout MachineConfig) -> Void = { _ in }) -> MachineConfig {
    var c = MachineConfig()
    c.memBytes = mem
    c.reserveBytes = reserve
    adjust(&c)
    return c
}

/// Replays `body` (statements after the header, no directives) on a fresh machine.
func script<F: FrameAllocator>(_ type: F.Type = StackAllocator.self, _ cfg: MachineConfig = config(), _ body: String) throws -> Scripted<F> {
    var m = Machine<F>(cfg)
    let reader = TraceReader(path: "test.trace", source: MemorySource("memtrace 1\n" + body))
    var sink = RecordingSink()
    let summary = try Replayer.replay(&m, reader: reader, sink: &sink)
    #expect(m.invariantViolation() == nil)
    return Scripted(machine: m, sink: sink, reader: reader, summary: summary)
}

/// Replays `body` expecting a trace error; returns it.
func scriptError<F: FrameAllocator>(_ type: F.Type = StackAllocator.self, _ cfg: MachineConfig = config(), _ body: String) -> TraceError? {
    do {
        _ = try script(type, cfg, body)
        return nil
    } catch let e as TraceError {
        return e
    } catch {
        return nil
    }
}

/// Machines with each allocator variant, for contract tests.
func anyMachineRun(_ kind: FrameAllocatorKind, _ cfg: MachineConfig, _ body: String) throws -> (Counters, [TickSample]) {
    switch kind {
    case .bitmap: let r = try script(BitmapAllocator.self, cfg, body); return (r.totals, r.ticks)
    case .stack: let r = try script(StackAllocator.self, cfg, body); return (r.totals, r.ticks)
    case .buddy: let r = try script(BuddyAllocator.self, cfg, body); return (r.totals, r.ticks)
    }
}

/// The repository's `traces/` folder.
let tracesFolder: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/") + "/traces"
}()
