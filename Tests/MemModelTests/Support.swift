import Testing
import MemTrace
@testable import MemModel

/// A machine after replaying a script, with the reader whose names it used.
struct Scripted<F: FrameAllocator, R: TLBReplacement> {
    var machine: Machine<F, R>
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
/// The machine takes its TLB policy from `cfg` through ``AnyTLBReplacement``.
func script<F: FrameAllocator>(_ type: F.Type = StackAllocator.self, _ cfg: MachineConfig = config(), _ body: String) throws -> Scripted<F, AnyTLBReplacement> {
    var m = Machine<F, AnyTLBReplacement>(cfg)
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
    var cfg = cfg
    cfg.pmm = kind
    struct Run: FrameAllocatorVisitor {
        let cfg: MachineConfig, body: String
        func visit<F: FrameAllocator>(_ type: F.Type) throws(any Error) -> (Counters, [TickSample]) {
            let s = try script(type, cfg, body)
            return (s.totals, s.ticks)
        }
    }
    return try kind.visit(Run(cfg: cfg, body: body))
}

/// The repository's `traces/` folder.
let tracesFolder: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/") + "/traces"
}()

extension SlabAllocator {
    /// The Bonwick variant's caches, for tests of its layout and free lists.
    var bonwick: BonwickSlab { variant as! BonwickSlab }
}
