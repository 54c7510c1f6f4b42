import ArgumentParser
import Foundation
import MemModel
import MemStore
import MemTrace

/// `memreplay bench`: the throughput figures the README quotes.
///
/// Inputs are generated deterministically into a temporary folder; each
/// figure is the best of `--repeat` runs. Build with `-c release`.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure parse, model and full-replay throughput on generated traces.",
        discussion: "Run as: swift run -c release memreplay bench"
    )

    @Option(help: "Events in the access-heavy trace.")
    var accessEvents: Int = 5_000_000

    @Option(help: "Events in the mixed and palloc-heavy traces.")
    var mixedEvents: Int = 2_000_000

    @Option(help: "Rows for the metrics-writing figure.")
    var rows: Int = 1_000_000

    @Option(name: .customLong("repeat"), help: "Runs per figure; the best is kept.")
    var repetitions: Int = 3

    @Flag(help: "Also measure peak RSS of full replays of a trace and one 10x longer (child processes).")
    var rss = false

    @Option(help: "Allocator variant for the model and full-replay figures.")
    var pmm: FrameAllocatorKind = .stack

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("memreplay-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        print("memreplay bench: \(machineDescription())")
        #if DEBUG
        print("warning: this is a debug build; run `swift run -c release memreplay bench` for real figures")
        #endif
        print("pmm=\(pmm.rawValue), best of \(repetitions)")
        print("")
        print("trace        events      parse-only        model-only        full replay (SQLite)")
        for (workload, n) in [(Workload.lackey, accessEvents), (.access, accessEvents), (.mixed, mixedEvents), (.fragmenter, mixedEvents)] {
            let path = dir + "/\(workload.rawValue).trace"
            try generate(workload, events: n, seed: 1, to: TraceWriter(path: path))
            let parse = try best { try parseOnly(path) }
            let model = try best { try modelOnly(path) }
            let full = try best { try fullReplay(path, db: dir + "/bench.db") }
            print("\(workload.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(n).padding(toLength: 11, withPad: " ", startingAt: 0)) \(rate(n, parse)) \(rate(n, model)) \(rate(n, full))")
            if workload != .fragmenter {
                // The same trace after `memreplay convert` (the model figure is the same).
                let binary = dir + "/\(workload.rawValue).mtb"
                try convert(path, to: binary)
                let parseBinary = try best { try parseOnly(binary) }
                let fullBinary = try best { try fullReplay(binary, db: dir + "/bench.db") }
                print("\("  .mtb".padding(toLength: 24, withPad: " ", startingAt: 0)) \(rate(n, parseBinary)) \("".padding(toLength: 17, withPad: " ", startingAt: 0)) \(rate(n, fullBinary))")
            }
        }
        try lackeyFigures(dir)
        let rowSeconds = try best { try writeRows(dir + "/rows.db") }
        print("")
        let width = TickColumns.all.count + 1
        print("metrics rows: \(rows) in \(formatFixed(rowSeconds, 3)) s = \(formatRate(Double(rows) / rowSeconds)) rows/s (\(width) values per row, \(formatRate(Double(rows * width) / rowSeconds)) values/s)")
        // What SQLite itself does here with no model and no memreplay code:
        // the same row width, and the 6-column rows such figures usually quote.
        for columns in [width, 6] {
            let seconds = try best { try sqliteRows(dir + "/raw.db", columns: columns) }
            print("  SQLite alone, \(columns)-column rows, \(Self.rawGroup) rows per INSERT: \(formatRate(Double(rows) / seconds)) rows/s")
        }
        print("peak RSS of this process: \(peakRSSKiB() / 1024) MiB")
        if rss { try measureRSS(dir) }
    }

    func best(_ body: () throws -> Double) throws -> Double {
        var b = Double.infinity
        for _ in 0..<max(1, repetitions) { b = min(b, try body()) }
        return b
    }

    func rate(_ n: Int, _ seconds: Double) -> String {
        "\(formatRate(Double(n) / seconds)) ev/s".padding(toLength: 17, withPad: " ", startingAt: 0)
    }

    func convert(_ path: String, to binary: String) throws {
        _ = try BinaryTrace.convert(TraceReader(path: path), to: TraceWriter(path: binary))
    }

    /// The replay's own decoding (batches), no model.
    func parseOnly(_ path: String) throws -> Double {
        let t0 = monotonicSeconds()
        let reader = try TraceReader(path: path)
        let batch = EventBatch()
        repeat { try reader.nextBatch(batch) } while batch.count > 0
        return monotonicSeconds() - t0
    }

    /// The lackey-shaped trace from memtrace-bin: a fully associative TLB
    /// and the one-pass miss-ratio curves (`--mrc`) against the default,
    /// and `compare` of 4 variants (one decode) against the same 4 replays
    /// one after the other.
    func lackeyFigures(_ dir: String) throws {
        let binary = dir + "/lackey.mtb"
        let n = accessEvents
        let variants: [(String, (inout ReplayOptions) -> Void)] = [
            ("default", { _ in }),
            ("fifo", { $0.machine.tlb = TLBSpec(entries: 64, ways: 4, policy: .fifo) }),
            ("full512", { $0.machine.tlb = TLBSpec(entries: 512, ways: 512, policy: .lru) }),
            ("buddy", { $0.machine.pmm = .buddy }),
        ]
        let options = variants.map { v -> ReplayOptions in
            var o = ReplayOptions()
            o.machine.pmm = pmm
            v.1(&o)
            return o
        }
        print("")
        print("lackey .mtb, \(n) events:")
        let plain = try best { try fullReplay(binary, db: dir + "/bench.db", options: options[0]) }
        let full = try best { try fullReplay(binary, db: dir + "/bench.db", options: options[2]) }
        print("  --tlb 64:4 (default) \(rate(n, plain)) --tlb 512:full \(rate(n, full)) (\(formatFixed(full / plain, 2))x the time)")
        var curves = options[0]
        curves.machine.mrc = true
        let mrc = try best { try fullReplay(binary, db: dir + "/bench.db", options: curves) }
        print("  --mrc \(rate(n, mrc)) (\(formatFixed(mrc / plain, 2))x one replay's time, for the misses of \(mrcLargestSize) fully associative sizes and \(mrcLargestSize / 16) way counts of 16 sets: \(mrcLargestSize + mrcLargestSize / 16) replays' worth)")
        let separate = try best {
            var t = 0.0
            for o in options { t += try fullReplay(binary, db: dir + "/bench.db", options: o) }
            return t
        }
        let together = try best {
            try? FileManager.default.removeItem(atPath: dir + "/cmp.db")
            let t0 = monotonicSeconds()
            _ = try ComparisonJob.run(trace: binary, variants: zip(variants, options).map { .init(label: $0.0.0, options: $0.1) },
                                      db: dir + "/cmp.db")
            return monotonicSeconds() - t0
        }
        print("  compare of 4 variants (one decode, \(ProcessInfo.processInfo.activeProcessorCount) cores): \(formatFixed(together, 3)) s; 4 replays one after the other \(formatFixed(separate, 3)) s; one replay \(formatFixed(plain, 3)) s (compare = \(formatFixed(together / plain, 2))x one replay)")
    }

    func modelOnly(_ path: String) throws -> Double {
        let reader = try TraceReader(path: path)
        var events: [Event] = []
        var config = MachineConfig()
        config.pmm = pmm
        while let e = try reader.next() {
            switch e {
            case .mem(let b): config.memBytes = b
            case .reserve, .nodes: continue  // the generated traces set only mem
            default: events.append(e)
            }
        }
        let names = reader.symbols
        let t0 = monotonicSeconds()
        _ = try Replayer.replayDecoded(events, names: names, config: config)
        return monotonicSeconds() - t0
    }

    func fullReplay(_ path: String, db: String, options given: ReplayOptions? = nil) throws -> Double {
        try? FileManager.default.removeItem(atPath: db)
        let store = try ResultStore(path: db)
        var options = given ?? ReplayOptions()
        if given == nil { options.machine.pmm = pmm }
        let t0 = monotonicSeconds()
        _ = try ReplayJob.run(trace: path, options: options, label: "bench", store: store)
        return monotonicSeconds() - t0
    }

    func writeRows(_ db: String) throws -> Double {
        try? FileManager.default.removeItem(atPath: db)
        let store = try ResultStore(path: db)
        let run = try store.beginRun(trace: "synthetic", label: nil, config: MachineConfig())
        let writer = try store.writer(run: run)
        var sample = Self.syntheticSample(0)
        let t0 = monotonicSeconds()
        for i in 0..<rows {
            Self.vary(&sample, i)
            try writer.tickClosed(sample)
        }
        var s = ReplaySummary(config: MachineConfig())
        s.ticks = rows
        try writer.finish(s)
        return monotonicSeconds() - t0
    }

    static let rawGroup = 128

    /// A tick shaped like one of the mixed workload's (10k events, two thirds
    /// of the columns non-zero), so the row bytes are realistic.
    static func syntheticSample(_ i: Int) -> TickSample {
        var s = TickSample(tick: 0, delta: Counters(), gauges: Gauges())
        s.gauges.usedPages = 5000
        s.gauges.usagePct = 61.03515625
        s.gauges.fragIndex = 0.75
        s.gauges.processes = 4
        s.gauges.pagetablePages = 17
        s.gauges.slabPages = 40
        s.gauges.slabObjects = 900
        s.gauges.slabCapacity = 1024
        s.gauges.slabWasteBytes = 4096
        s.gauges.pagecachePages = 300
        s.gauges.pagecacheDirty = 25
        vary(&s, i)
        return s
    }

    /// The columns that move from tick to tick.
    static func vary(_ s: inout TickSample, _ i: Int) {
        s.tick = UInt64(i)
        s.delta.events = 10_000 + i & 255
        s.gauges.freePages = 3192 - i & 1023
        s.gauges.largestFreeBlock = 64 + i & 511
        for o in 0...maxOrder { s.gauges.freeBlocks[o] = (i >> o) & 63 }
        s.delta.tlb.lookups = 6_000 + i & 1023
        s.delta.tlb.hits = 5_500 + i & 511
        s.delta.tlb.misses = 500 + i & 511
        s.delta.tlb.flushes = 40 + i & 15
        s.delta.paging.pageFaults = 120 + i & 63
        s.delta.paging.demandFaults = 100 + i & 63
        s.delta.paging.cowFaults = 20 + i & 7
        s.delta.paging.switches = 40 + i & 15
        s.delta.frames.allocated = 600 + i & 127
        s.delta.frames.freed = 590 + i & 127
        s.delta.pageCache.hits = 900 + i & 127
        s.delta.pageCache.misses = 100 + i & 31
    }

    /// The ceiling for the metrics figure: integer rows of `columns` values
    /// (keyed like `tick_metrics`) through prepare/bind/step alone, in WAL
    /// mode and transactions of the writer's size (``RunWriter/flushRows``).
    func sqliteRows(_ path: String, columns: Int) throws -> Double {
        try? FileManager.default.removeItem(atPath: path)
        let db = try Database(path: path)
        try db.execute("PRAGMA synchronous = NORMAL; PRAGMA journal_mode = WAL")
        let names = (2..<columns).map { ", c\($0) INTEGER NOT NULL" }.joined()
        try db.execute("CREATE TABLE t (run_id INTEGER NOT NULL, tick INTEGER NOT NULL\(names), PRIMARY KEY (run_id, tick)) WITHOUT ROWID")
        let tuple = "(?" + String(repeating: ", ?", count: columns - 1) + ")"
        let insert = try db.prepare("INSERT INTO t VALUES " + Array(repeating: tuple, count: Self.rawGroup).joined(separator: ", "))
        // The same values as the writer's rows (the first `columns` of them).
        let values = UnsafeMutablePointer<Int64>.allocate(capacity: TickColumns.all.count + 1)
        defer { values.deallocate() }
        var sample = Self.syntheticSample(0)
        let t0 = monotonicSeconds()
        try db.execute("BEGIN")
        var row = 0
        while row + Self.rawGroup <= rows {
            for g in 0..<Self.rawGroup {
                Self.vary(&sample, row + g)
                values[0] = 1
                var writer = TickColumns.RowWriter(slot: values + 1)
                TickColumns.visit(sample, &writer)
                let base = Int32(g * columns)
                for c in 0..<columns { insert.bind(base + Int32(c) + 1, values[c]) }
            }
            try insert.run()
            row += Self.rawGroup
            if row % RunWriter.flushRows < Self.rawGroup { try db.execute("COMMIT; BEGIN") }
        }
        try db.execute("COMMIT")
        return monotonicSeconds() - t0
    }

    /// Peak RSS of replays of N and 10·N events, each in a child process.
    func measureRSS(_ dir: String) throws {
        print("")
        print("streaming: peak RSS of a full replay (child process, access workload)")
        var previous = 0
        for n in [accessEvents / 10, accessEvents] {
            let path = dir + "/rss-\(n).trace"
            try generate(.access, events: n, seed: 2, to: TraceWriter(path: path))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            p.arguments = ["replay", "--db", dir + "/rss-\(n).db", path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            // The child prints its own peak RSS (getrusage of itself).
            let mib = text.split(separator: "\n").first { $0.contains("peak RSS") }?
                .split(separator: " ").dropFirst(2).first.flatMap { Double($0) } ?? 0
            let kib = Int(mib * 1024)
            print("  \(n) events: peak RSS \(formatFixed(mib, 1)) MiB\(previous > 0 ? String(format: " (%+.1f %% for 10x the events)", 100 * Double(kib - previous) / Double(previous)) : "")")
            previous = kib
        }
    }
}

/// Peak resident set of this process in KiB: `VmHWM` of /proc/self/status,
/// which (unlike getrusage's ru_maxrss) starts afresh at exec.
func peakRSSKiB() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
        return kib
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss
}

func machineDescription() -> String {
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB"
}
