import MemTrace

#if canImport(Glibc)
import Glibc
#endif

/// Where a replay's results go (the SQLite store, or a test's array).
public protocol ReplaySink {
    mutating func tickClosed(_ sample: TickSample) throws
    mutating func slabinfo(tick: UInt64, rows: [SlabInfoRow]) throws
    mutating func processesFinished(_ records: [ProcessRecord]) throws
    /// At the end of the run: `perf kmem stat`'s per-call-site and per-order figures.
    mutating func kmemFinished(callsites: [CallsiteRecord], pages: [PageAllocationRecord]) throws
    /// At the end of a `--mrc` run: every point of the miss-ratio curves.
    mutating func curvesFinished(_ rows: [MRCRow]) throws
}

/// Settings from the command line. Machine directives in the trace fill in
/// what the command line leaves unset; the command line wins.
public struct ReplayOptions: Sendable, Codable, Equatable {
    public var machine = MachineConfig()
    public var memBytes: UInt64? = nil
    public var reserveBytes: UInt64? = nil
    public var nodes: Int? = nil
    public init() {}
}

/// What a finished replay reports.
public struct ReplaySummary: Sendable {
    public var config: MachineConfig
    public var events = 0
    public var ticks = 0
    public var peakUsagePct = 0.0
    public var meanUsagePct = 0.0
    public var maxFragIndex = 0.0
    public var oom = 0
    public var seconds = 0.0
    public var final = Counters()
    /// With `--check`: the first allocation whose size the variant gives
    /// differently from the trace's `alloc=` (`FILE:LINE: …`).
    public var allocationMismatch: String?
    public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }

    public init(config: MachineConfig) { self.config = config }
}

/// Streams a trace through a machine and hands each closed tick to a sink.
public enum Replayer {
    /// A trace whose machine directives have been read: the configuration
    /// they and the options resolve to, and the reader positioned after them.
    ///
    /// A replay is two steps, ``prepare(path:options:)`` then
    /// ``run(_:sink:progress:)``, so that the caller can record the
    /// configuration between them (the results database stores it before
    /// the first tick row) without the model calling out to the store.
    public struct Prepared {
        /// The machine the replay will build.
        public let config: MachineConfig
        let reader: TraceReader
        /// The statement that ended the directives, already read, and its line.
        let first: Event?
        let firstLine: Int
    }

    /// Opens the trace at `path` and reads its machine directives.
    ///
    /// The command line's `options` win over the trace's directives. A
    /// configuration that does not validate is thrown as ``TraceError`` at
    /// the line of the last directive.
    public static func prepare(path: String, options: ReplayOptions) throws -> Prepared {
        try prepare(reader: TraceReader(path: path), options: options)
    }

    /// What a trace's machine directives say, and the statement after them.
    public struct Directives: @unchecked Sendable {
        public var memBytes: UInt64? = nil
        public var reserveBytes: UInt64? = nil
        public var nodes: Int? = nil
        /// The line of the last directive (0: none).
        public var line = 0
        /// The statement that ended the directives, already read, and its line.
        public var first: (Event, Int)? = nil
    }

    /// Reads the machine directives at the start of `reader`.
    public static func readDirectives(_ reader: TraceReader) throws(TraceError) -> Directives {
        var d = Directives()
        while let e = try reader.next() {
            switch e {
            case .mem(let b): d.memBytes = b; d.line = reader.line
            case .reserve(let b): d.reserveBytes = b; d.line = reader.line
            case .nodes(let n): d.nodes = n; d.line = reader.line
            default: d.first = (e, reader.line)
            }
            if d.first != nil { break }
        }
        return d
    }

    /// The machine `options` and the trace's `directives` resolve to: the
    /// command line wins. A configuration that does not validate is thrown
    /// as ``TraceError`` at the line of the last directive.
    public static func configuration(_ directives: Directives, options: ReplayOptions, path: String) throws(TraceError) -> MachineConfig {
        var config = options.machine
        if let m = directives.memBytes { config.memBytes = m }
        if let r = directives.reserveBytes { config.reserveBytes = r }
        if let n = directives.nodes { config.nodes = n }
        if let m = options.memBytes { config.memBytes = m }
        if let r = options.reserveBytes { config.reserveBytes = r }
        if let n = options.nodes { config.nodes = n }
        do {
            try config.validate()
        } catch {
            throw TraceError(file: path, line: directives.line, message: error.description)
        }
        return config
    }

    /// Reads the machine directives at the start of `reader`.
    public static func prepare(reader: TraceReader, options: ReplayOptions) throws -> Prepared {
        let d = try readDirectives(reader)
        let config = try configuration(d, options: options, path: reader.path)
        return Prepared(config: config, reader: reader, first: d.first?.0, firstLine: d.first?.1 ?? 0)
    }

    /// Replays the trace at `path`: ``prepare(path:options:)`` and
    /// ``run(_:sink:progress:)`` in one, for callers that need not see the
    /// configuration before the first event.
    public static func run<S: ReplaySink>(
        path: String, options: ReplayOptions, sink: inout S,
        progress: ((UInt64, Int) -> Void)? = nil
    ) throws -> ReplaySummary {
        try run(prepare(path: path, options: options), sink: &sink, progress: progress)
    }

    /// Replays what `reader` holds, directives first (see ``run(path:options:sink:progress:)``).
    public static func run<S: ReplaySink>(
        reader: TraceReader, options: ReplayOptions, sink: inout S,
        progress: ((UInt64, Int) -> Void)? = nil
    ) throws -> ReplaySummary {
        try run(prepare(reader: reader, options: options), sink: &sink, progress: progress)
    }

    /// Replays a prepared trace.
    ///
    /// Errors in the trace (syntax or model rules) are thrown as
    /// ``TraceError`` with the offending line; errors of the sink are
    /// rethrown as they are. `progress`, if given, is called every 2^16
    /// events with the bytes of the trace file read so far and the events
    /// applied (for a progress line; rare enough to cost nothing per event).
    public static func run<S: ReplaySink>(
        _ prepared: Prepared, sink: inout S,
        progress: ((UInt64, Int) -> Void)? = nil
    ) throws -> ReplaySummary {
        let config = prepared.config, reader = prepared.reader
        let box = SinkBox(sink)
        defer { sink = box.sink as! S }
        // One dispatch here; the loop is specialized for each combination.
        return try config.withMachineType(StartReplay(config: config, reader: reader, first: prepared.first.map { ($0, prepared.firstLine) },
                                                      box: box, progress: progress))
    }

    /// Replays one variant's share of a ``SharedDecode``: `config` from
    /// ``configuration(_:options:path:)`` with the decode's directives.
    /// A model error comes back as ``UnnamedModelError`` (see
    /// ``SharedDecode/word(_:)``).
    public static func run<S: ReplaySink>(
        _ consumer: SharedDecode.Consumer, config: MachineConfig, sink: inout S,
        progress: ((UInt64, Int) -> Void)? = nil
    ) throws -> ReplaySummary {
        let box = SinkBox(sink)
        defer { sink = box.sink as! S }
        return try config.withMachineType(StartReplay(config: config, reader: consumer, first: consumer.shared.directives.first,
                                                      box: box, progress: progress))
    }

    /// Replays the statements `reader` has left through an existing machine
    /// (tests and benchmarks that want the machine afterwards).
    public static func replay<F: FrameAllocator, R: TLBReplacement, Source: EventSource, S: ReplaySink>(
        _ m: inout Machine<F, R>, reader: Source, sink: inout S
    ) throws -> ReplaySummary {
        let box = SinkBox(sink)
        defer { sink = box.sink as! S }
        return try loop(&m, reader, nil, box)
    }

    /// The sink, boxed: it is called once per tick, so an existential costs
    /// nothing there, and the loop stays generic over the allocator alone —
    /// which lets every call site with a concrete allocator specialize it.
    final class SinkBox {
        var sink: any ReplaySink
        init(_ sink: any ReplaySink) { self.sink = sink }
    }

    /// A tick's starting counters (the replay loop's, see there).
    final class TickStart {
        var counters: Counters
        var nodes: [NodeCounters]
        init(_ counters: Counters, _ nodes: [NodeCounters]) {
            self.counters = counters
            self.nodes = nodes
        }
    }

    /// The replay loop, specialized per allocator.
    static func loop<F: FrameAllocator, R: TLBReplacement, Source: EventSource>(
        _ m: inout Machine<F, R>, _ reader: Source, _ first: (Event, Int)?, _ sink: SinkBox,
        _ progress: ((UInt64, Int) -> Void)? = nil
    ) throws -> ReplaySummary {
        let started = monotonicSeconds()
        var summary = ReplaySummary(config: m.config)
        var usageSum = 0.0
        // The counters at the tick's start, behind a reference: held by
        // value, the 280-byte snapshot was copied at every event (callgrind:
        // one memcpy per event, 52 instructions).
        let tickStart = TickStart(m.counters, m.nodeCounters)
        var eventsInTick = 0
        let tickEvery = m.config.tickEvery
        let checkEvery = m.config.checkEvery
        let slabinfoEvery = m.config.slabinfoEvery

        func close() throws {
            let gauges = m.closeTick()
            let counters = m.counters
            let sample = TickSample(tick: m.tick, delta: counters.since(tickStart.counters), gauges: gauges,
                                    nodes: m.nodeSamples(since: tickStart.nodes))
            tickStart.counters = counters
            tickStart.nodes = m.nodeCounters
            eventsInTick = 0
            summary.ticks += 1
            summary.peakUsagePct = max(summary.peakUsagePct, gauges.usagePct)
            summary.maxFragIndex = max(summary.maxFragIndex, gauges.fragIndex)
            usageSum += gauges.usagePct
            try sink.sink.tickClosed(sample)
            if slabinfoEvery > 0 && summary.ticks % slabinfoEvery == 0 {
                try sink.sink.slabinfo(tick: m.tick, rows: m.slabinfo())
            }
            let done = m.takeFinishedProcesses()
            if !done.isEmpty { try sink.sink.processesFinished(done) }
        }

        var autoOpened = false
        /// `n` events were applied: --tick-every closes the tick when it is full.
        func counted(_ n: Int) throws {
            guard tickEvery > 0 else { return }
            eventsInTick &+= n
            if eventsInTick == tickEvery {
                try close()
                m.beginTick(m.tick + 1)
                autoOpened = true
            }
        }

        let own = EventBatch()
        var batch = own
        if let (event, line) = first {
            batch.append(event, line: line)
        } else {
            batch = try reader.fill(own)
        }
        var progressMark = 0
        while batch.count > 0 {
            let events = batch.events, lines = batch.lines, count = batch.count
            var i = 0
            while i < count {
                let event = events[i]
                do {
                    switch event {
                    case let .access(kind, pid, va):
                        if checkEvery == 0 && pid == m.processes.currentPID {
                            // The accesses from here of the running process,
                            // up to the end of the tick --tick-every sets.
                            let end = tickEvery > 0 ? min(count, i &+ (tickEvery &- eventsInTick)) : count
                            let n = m.accessRun(events, i, end)
                            i &+= n
                            try counted(n)
                            continue
                        }
                        try m.access(kind, pid, va)
                    case .tick(let n):
                        let next = n ?? m.tick + 1
                        guard next > m.tick else {
                            throw TraceError(file: reader.path, line: lines[i],
                                             message: "tick: \(next) is not larger than the current tick \(m.tick)")
                        }
                        try close()
                        m.beginTick(next)
                        autoOpened = false
                        i &+= 1
                        continue
                    case let .cache(symbol, size, align, type):
                        // The one name the model keeps (for slabinfo): handed
                        // over here, at the edge, so the model never asks.
                        try m.kmem_cache_create(symbol, name: reader.cacheName(symbol), size: Int(size), align: Int(align),
                                                type: type ?? .unmovable)
                    default:
                        try m.apply(event)
                    }
                } catch let error as ModelError {
                    guard let message = reader.render(error) else { throw UnnamedModelError(error: error, line: lines[i]) }
                    throw TraceError(file: reader.path, line: lines[i], message: message)
                }
                m.events &+= 1
                if checkEvery > 0 {
                    if summary.allocationMismatch == nil, let mismatch = m.slab.allocationMismatch {
                        summary.allocationMismatch = "\(reader.path):\(lines[i]): \(mismatch)"
                    }
                    if Interruption.requested != 0 {
                        throw TraceError(file: reader.path, line: lines[i],
                                         message: "\(Interruption.message) after \(m.events) events")
                    }
                    if m.events % checkEvery == 0, let broken = m.invariantViolation() {
                        throw TraceError(file: reader.path, line: lines[i],
                                         message: "invariant broken after \(event.keyword): \(broken)")
                    }
                }
                try counted(1)
                i &+= 1
            }
            // Once a batch: a progress line every 2^16 events, and signals.
            if let progress, m.events >> 16 != progressMark {
                progressMark = m.events >> 16
                progress(batch.bytesConsumed, m.events)
            }
            if Interruption.requested != 0 {
                throw TraceError(file: reader.path, line: lines[count - 1],
                                 message: "\(Interruption.message) after \(m.events) events")
            }
            batch = try reader.fill(own)
        }
        // The end of the trace closes the last tick, unless --tick-every has
        // just closed one and nothing happened since.
        if !(autoOpened && eventsInTick == 0) {
            try close()
        }
        try sink.sink.processesFinished(m.liveProcessRecords())
        try sink.sink.kmemFinished(callsites: m.slab.kmem.sites, pages: m.frames.pageStats.records)
        if m.config.mrc { try sink.sink.curvesFinished(m.curveRows) }
        summary.final = m.counters
        summary.events = summary.final.events
        summary.oom = summary.final.reclaim.oom
        summary.meanUsagePct = summary.ticks > 0 ? usageSum / Double(summary.ticks) : 0
        summary.seconds = monotonicSeconds() - started
        return summary
    }
}

/// A model error whose names the event source could no longer tell (a
/// shared decode had run ahead): the caller replays the variant on its own
/// to word it (see ``SharedDecode``).
public struct UnnamedModelError: Error, Sendable {
    public var error: ModelError
    public var line: Int
}

/// Seconds on the monotonic clock.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A sink that keeps everything in memory (tests, benchmarks).
public struct RecordingSink: ReplaySink {
    public var ticks: [TickSample] = []
    public var slabinfo: [(tick: UInt64, rows: [SlabInfoRow])] = []
    public var processes: [ProcessRecord] = []
    /// Keep only the count of ticks (benchmarks).
    public var countOnly = false
    public private(set) var tickCount = 0

    public init(countOnly: Bool = false) { self.countOnly = countOnly }

    public mutating func tickClosed(_ sample: TickSample) throws {
        tickCount += 1
        if !countOnly { ticks.append(sample) }
    }

    public mutating func slabinfo(tick: UInt64, rows: [SlabInfoRow]) throws {
        if !countOnly { slabinfo.append((tick, rows)) }
    }

    public mutating func processesFinished(_ records: [ProcessRecord]) throws {
        if !countOnly { processes += records }
    }

    public var callsites: [CallsiteRecord] = []
    public var pages: [PageAllocationRecord] = []

    public mutating func kmemFinished(callsites: [CallsiteRecord], pages: [PageAllocationRecord]) throws {
        if !countOnly { (self.callsites, self.pages) = (callsites, pages) }
    }

    public var curves: [MRCRow] = []

    public mutating func curvesFinished(_ rows: [MRCRow]) throws {
        if !countOnly { curves = rows }
    }
}

extension Replayer {
    /// Replays events decoded beforehand (the benchmark's model-only pass)
    /// through the same loop as a trace, with a sink that only counts ticks.
    /// `events` hold no directives (`mem`, `reserve`, `nodes`): `config`
    /// has them. `names` are the reader's, for the caches the events declare.
    public static func replayDecoded(_ events: [Event], names: SymbolTables, config: MachineConfig) throws -> ReplaySummary {
        let source = DecodedEvents(events, symbols: names)
        let box = SinkBox(RecordingSink(countOnly: true))
        return try config.withMachineType(StartReplay(config: config, reader: source, first: nil, box: box, progress: nil))
    }
}

/// The replay loop on the machine type the configuration selects.
private struct StartReplay<Source: EventSource>: MachineBody {
    let config: MachineConfig, reader: Source, first: (Event, Int)?, box: Replayer.SinkBox
    let progress: ((UInt64, Int) -> Void)?

    func run<F: FrameAllocator, R: TLBReplacement>(_ machine: Machine<F, R>.Type) throws(any Error) -> ReplaySummary {
        var m = machine.init(config)
        return try Replayer.loop(&m, reader, first, box, progress)
    }
}
