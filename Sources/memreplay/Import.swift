import ArgumentParser
import MemTrace

#if canImport(Glibc)
import Glibc
#endif

extension ImportFormat: ExpressibleByArgument {}

/// `memreplay import FORMAT INPUT`: real tools' recordings as memtrace v1.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a recording made by a real tool to a memtrace v1 trace.",
        discussion: "Formats:\n" + ImportFormat.allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n")
            + """


            The input is read in chunks (.gz and .zst are decompressed), so recordings of any \
            length convert in constant memory. Noise the tools print (valgrind's ==PID== lines, \
            ftrace headers, unrelated events) is skipped; a line that looks like data but cannot \
            be understood stops the import with FILE:LINE: message and exit status 1. Frees of \
            unknown pointers or pages and other repairs are counted on standard error.

            lackey reads its input twice (the address-space layout comes first), so it needs a file.
            """
    )

    @Argument(help: "The input format.")
    var format: ImportFormat

    @Argument(help: "The recording (- for standard input, except lackey).")
    var input: String

    @Option(name: [.short, .customLong("output")], help: "Output trace (- for standard output).")
    var output: String = "-"

    @Option(help: ArgumentHelp("Write a tick line every N events (0: never).", valueName: "n"))
    var tickEvery: Int = 0

    @Option(help: ArgumentHelp("ftrace: milliseconds of recorded time per tick (0: no time ticks).", valueName: "ms"))
    var tickMs: Int = 10

    @Option(help: ArgumentHelp("ftrace: put events up to this many milliseconds out of timestamp order (CPUs' buffers interleaved) back in order; later ones are counted and taken as they come (0: file order).", valueName: "ms"))
    var reorderMs: Int = 1000

    @Option(help: ArgumentHelp("ftrace: how mm_page_alloc's migratetype= numbers the types: 4.4 and later (0 unmovable, 1 movable, 2 reclaimable) or 2.6.24 to 4.3 (1 reclaimable, 2 movable).", valueName: "version"))
    var migratetypeNumbering: MigrateTypeNumbering = .linux44

    func validate() throws {
        guard tickEvery >= 0 else { throw ValidationError("--tick-every must be 0 or more") }
        guard tickMs >= 0 else { throw ValidationError("--tick-ms must be 0 or more") }
        guard reorderMs >= 0 && reorderMs <= 3_600_000 else { throw ValidationError("--reorder-ms must be 0 to 3600000") }
    }

    func run() throws {
        // Checked before anything is read: never the input itself, never a
        // special file; written beside it and renamed in only when whole, so
        // a failed or killed import leaves no half trace that would replay
        // as if it were whole, and deletes nothing it did not create.
        let out = try OutputFile(output, inputs: [input])
        // A signal stops the import at its next read (or a read that waits
        // on a pipe), and the partial file is removed like any failure's.
        installInterruptHandlers()
        let report: ImportReport
        do {
            report = try out.write { path in
                try Importer.run(format, input: input, to: TraceWriter(path: path),
                                 options: ImportOptions(tickEvery: tickEvery, tickMs: tickMs, reorderMs: reorderMs,
                                                        migrateTypeNumbering: migratetypeNumbering))
            }
        } catch {
            if let e = error as? SourceError {
                printError("memreplay import: \(e.message)")
            } else if let e = error as? OutputError {
                printError("memreplay import: \(e.message)")
            } else {
                printError("\(error)")
            }
            throw ExitCode(1)
        }
        var summary = "memreplay import: \(report.events) events, \(report.ticks) ticks from \(report.lines) lines of \(input)"
        for n in report.notes { summary += "\n  \(n.what): \(n.count)" }
        printError(summary)
        try exitIfInterrupted()
    }
}
