/// Importers: recordings made by real tools, converted to memtrace v1.
///
/// Each format is one file in this folder (`Mtrace.swift`, `Lackey.swift`,
/// `Ftrace.swift`); this one holds what they share: the format choice, the
/// options, the report and the writer that counts events and inserts ticks.
/// Every importer streams its input through ``LineReader`` in constant memory
/// (what it remembers is bounded by live allocations or touched 4 MiB chunks),
/// skips the noise the tools print, and stops with `FILE:LINE: message` on a
/// line that looks like data but cannot be understood.

/// The foreign formats `memreplay import` reads.
public enum ImportFormat: String, CaseIterable, Sendable {
    /// glibc `MALLOC_TRACE` output: malloc, free, realloc.
    case mtrace
    /// `valgrind --tool=lackey --trace-mem=yes`: every instruction fetch, load and store.
    case lackey
    /// ftrace `trace_pipe` or `perf script` text with kmem and vmscan events.
    case ftrace

    public var summary: String {
        switch self {
        case .mtrace: "glibc MALLOC_TRACE log -> kmalloc/kfree"
        case .lackey: "valgrind lackey --trace-mem=yes -> x/r/w of PID 1"
        case .ftrace: "kmem/vmscan events (trace_pipe, perf script) -> palloc/kmalloc/salloc"
        }
    }
}

/// Settings shared by the importers.
public struct ImportOptions: Sendable {
    /// Write a `tick` line before every N-th event after the first N (0: never).
    public var tickEvery = 0
    /// ftrace only: milliseconds of recorded time per tick (0: no time ticks).
    public var tickMs = 10
    /// ftrace only: milliseconds an event may come after a later-stamped
    /// one (CPUs' buffers interleaved) and still be put in timestamp order.
    public var reorderMs = 1000
    /// ftrace only: how `mm_page_alloc`'s `migratetype=` numbers the types.
    public var migrateTypeNumbering = MigrateTypeNumbering.linux44

    public init(tickEvery: Int = 0, tickMs: Int = 10, reorderMs: Int = 1000, migrateTypeNumbering: MigrateTypeNumbering = .linux44) {
        self.tickEvery = tickEvery
        self.tickMs = tickMs
        self.reorderMs = reorderMs
        self.migrateTypeNumbering = migrateTypeNumbering
    }
}

/// The two numberings of `enum migratetype` a kernel trace may use
/// (`include/linux/mmzone.h`): Linux 2.6.24–4.3 number UNMOVABLE 0,
/// RECLAIMABLE 1, MOVABLE 2, RESERVE 3; 4.4 replaced RESERVE by HIGHATOMIC
/// and swapped MOVABLE and RECLAIMABLE.
public enum MigrateTypeNumbering: String, CaseIterable, Sendable {
    case linux2624 = "2.6.24"
    case linux44 = "4.4"

    /// The allocation type numbered `n`; nil for the others (RESERVE or
    /// HIGHATOMIC, CMA, ISOLATE).
    public func type(of n: UInt64) -> MigrateType? {
        switch (self, n) {
        case (_, 0): .unmovable
        case (.linux2624, 1), (.linux44, 2): .reclaimable
        case (.linux2624, 2), (.linux44, 1): .movable
        default: nil
        }
    }
}

/// What an import did: how much it wrote and what it had to skip.
public struct ImportReport: Sendable, Equatable {
    /// Input lines read (both passes count once for lackey).
    public var lines = 0
    /// Event statements written (header, comments and ticks not counted).
    public var events = 0
    /// `tick` lines written.
    public var ticks = 0
    /// Named counts of what was skipped or repaired, in the order first met,
    /// e.g. `("unknown frees skipped", 3)`.
    public var notes: [Note] = []

    public struct Note: Sendable, Equatable {
        public var what: String
        public var count: Int
    }

    public init() {}

    /// The count named `what` (0 when it never happened).
    public subscript(what: String) -> Int {
        notes.first { $0.what == what }?.count ?? 0
    }

    mutating func note(_ what: String, _ count: Int) {
        if count > 0 { notes.append(Note(what: what, count: count)) }
    }
}

/// The memtrace side of an import: the header, counted event lines and ticks.
///
/// `--tick-every N` ticks are written lazily, before the event that follows
/// the N-th, so a trace never ends with an empty tick.
struct ImportEmitter {
    let w: TraceWriter
    let tickEvery: Int
    private(set) var events = 0
    private(set) var ticks = 0
    private var sinceTick = 0
    /// The tick the replay will be in, for numbered time ticks.
    private(set) var tick: UInt64 = 0

    init(_ w: TraceWriter, tickEvery: Int) {
        self.w = w
        self.tickEvery = tickEvery
    }

    /// `memtrace 1` and a comment saying where the trace came from.
    func header(_ format: ImportFormat, input: String) throws {
        try w.line("memtrace 1")
        try w.line("# imported from \(format.rawValue) recording \(sanitized(input)) by memreplay import")
    }

    /// A comment line (`# ` is added).
    func comment(_ text: String) throws {
        try w.line("# " + text)
    }

    /// Call before writing an event's first byte.
    @inline(__always)
    mutating func beginEvent() throws {
        if tickEvery > 0 && sinceTick >= tickEvery {
            try w.line("tick")
            tick += 1
            ticks += 1
            sinceTick = 0
        }
    }

    /// Ends an event line.
    @inline(__always)
    mutating func endEvent() throws {
        try w.newline()
        events += 1
        sinceTick += 1
    }

    /// `tick N` if N is later than the current tick (time-based ticks).
    mutating func advance(to n: UInt64) throws {
        guard n > tick else { return }
        try w.text("tick ")
        try w.decimal(n)
        try w.newline()
        tick = n
        ticks += 1
        sinceTick = 0
    }

    /// Control bytes and newlines would end or break a comment.
    func sanitized(_ s: String) -> String {
        String(decoding: s.utf8.map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }
}

/// Runs the importers.
public enum Importer {
    /// Converts the recording at `input` (`.gz`/`.zst` decompressed, `-` for
    /// standard input except for lackey, which reads its input twice).
    public static func run(_ format: ImportFormat, input: String, to w: TraceWriter,
                           options: ImportOptions = ImportOptions()) throws -> ImportReport {
        if format == .lackey && input == "-" {
            throw TraceError(file: input, line: 0, message: "lackey import reads its input twice (to lay out the address space first); give a file, not standard input")
        }
        func open() throws -> any ByteSource {
            do {
                return try openByteSource(path: input)
            } catch {
                throw TraceError(file: input, line: 0, message: error.message)
            }
        }
        return try run(format, name: input, open: open, to: w, options: options)
    }

    /// Converts the input that `open` yields; `open` is called once per pass
    /// (lackey makes two). `name` is used in messages and the header comment.
    public static func run(_ format: ImportFormat, name: String, open: () throws -> any ByteSource,
                           to w: TraceWriter, options: ImportOptions = ImportOptions()) throws -> ImportReport {
        var out = ImportEmitter(w, tickEvery: options.tickEvery)
        try out.header(format, input: name)
        var report: ImportReport
        switch format {
        case .mtrace:
            var m = MtraceImporter(out)
            report = try m.run(LineReader(path: name, source: try open()))
            out = m.out
        case .lackey:
            var l = LackeyImporter(out)
            report = try l.run(first: LineReader(path: name, source: try open()),
                               second: { () throws -> LineReader in LineReader(path: name, source: try open()) })
            out = l.out
        case .ftrace:
            var f = FtraceImporter(out, tickMs: options.tickMs, reorderMs: options.reorderMs, numbering: options.migrateTypeNumbering)
            report = try f.run(LineReader(path: name, source: try open()))
            out = f.out
        }
        report.events = out.events
        report.ticks = out.ticks
        try w.flush()
        return report
    }
}
