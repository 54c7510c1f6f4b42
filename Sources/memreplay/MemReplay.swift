import ArgumentParser
import Foundation

/// The `memreplay` command: replay kernel memory traces, store per-tick
/// results in SQLite, compare allocator variants.
@main
struct MemReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memreplay",
        abstract: "Replay memtrace v1 traces through a model of a 32-bit x86 kernel's memory subsystem.",
        discussion: """
            Results go to a SQLite database (results.db by default), one row per tick in \
            tick_metrics; query them with sqlite3. The trace format is described in README.md.
            """,
        subcommands: [Replay.self, Compare.self, Report.self, Show.self, Validate.self, Convert.self, Import.self, Gen.self, Bench.self, Sweep.self, Merge.self],
        defaultSubcommand: nil
    )

    /// Refuses an argument that is not valid UTF-8 before parsing: Swift
    /// would decode it with U+FFFD in place of the bad bytes, and the
    /// program would open (or create) a file of another name.
    static func main() {
        for i in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[i], String(validatingCString: raw) == nil else { continue }
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw))
            let shown = bytes.map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
            printError("memreplay: argument \(i) (\(shown)) is not valid UTF-8; memreplay takes paths and options in UTF-8 (rename the file, or give a link with a UTF-8 name)")
            Foundation.exit(2)
        }
        main(nil)
    }
}
