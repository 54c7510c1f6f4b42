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
        for (workload, n) in [(Workload.access, accessEvents), (.mixed, mixedEvents), (.fragmenter, mixedEvents)] {
            let path = dir + "/\(workload.rawValue).trace"
            try generate(workload, events: n, seed: 1, to: TraceWriter(path: path))
            let parse = try best { try parseOnly(path) }
            let model = try best { try modelOnly(path) }
            let full = try best { try fullReplay(path, db: dir + "/bench.db") }
            print("\(workload.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(n).padding(toLength: 11, withPad: " ", startingAt: 0)) \(rate(n, parse)) \(rate(n, model)) \(rate(n, full))")
        }
        let rowSeconds = try best { try writeRows(dir + "/rows.db") }
        print("")
        print("metrics rows: \(rows) in \(format(rowSeconds, 3)) s = \(formatRate(Double(rows) / rowSeconds)) rows/s")
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

    func parseOnly(_ path: String) throws -> Double {
        let t0 = monotonicSeconds()
        let reader = try TraceReader(path: path)
        var n = 0
        while let _ = try reader.next() { n += 1 }
        return monotonicSeconds() - t0
    }

    func modelOnly(_ path: String) throws -> Double {
        let reader = try TraceReader(path: path)
        var events: [Event] = []
        var config = MachineConfig()
        config.pmm = pmm
        while let e = try reader.next() {
            if case .mem(let b) = e { config.memBytes = b }
            events.append(e)
        }
        let names = reader.symbols
        let t0 = monotonicSeconds()
        switch pmm {
        case .bitmap:
            var m = Machine<BitmapAllocator>(config)
            _ = try Replayer.applyDecoded(&m, events) { names.name(.cache, $0) }
        case .stack:
            var m = Machine<StackAllocator>(config)
            _ = try Replayer.applyDecoded(&m, events) { names.name(.cache, $0) }
        case .buddy:
            var m = Machine<BuddyAllocator>(config)
            _ = try Replayer.applyDecoded(&m, events) { names.name(.cache, $0) }
        }
        return monotonicSeconds() - t0
    }

    func fullReplay(_ path: String, db: String) throws -> Double {
        try? FileManager.default.removeItem(atPath: db)
        let store = try ResultStore(path: db)
        var options = ReplayOptions()
        options.machine.pmm = pmm
        let t0 = monotonicSeconds()
        _ = try ReplayJob.run(trace: path, options: options, label: "bench", store: store)
        return monotonicSeconds() - t0
    }

    func writeRows(_ db: String) throws -> Double {
        try? FileManager.default.removeItem(atPath: db)
        let store = try ResultStore(path: db)
        let run = try store.beginRun(trace: "synthetic", label: nil, config: MachineConfig())
        let writer = try store.writer(run: run)
        var sample = TickSample(tick: 0, delta: Counters(), gauges: Gauges())
        let t0 = monotonicSeconds()
        for i in 0..<rows {
            sample.tick = UInt64(i)
            sample.delta.events = i & 1023
            sample.gauges.freePages = i & 4095
            try writer.tickClosed(sample)
        }
        var s = ReplaySummary(config: MachineConfig())
        s.ticks = rows
        try writer.finish(s)
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
            print("  \(n) events: peak RSS \(format(mib, 1)) MiB\(previous > 0 ? String(format: " (%+.1f %% for 10x the events)", 100 * Double(kib - previous) / Double(previous)) : "")")
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
