import ArgumentParser

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
        subcommands: [Replay.self, Compare.self, Report.self, Validate.self, Convert.self, Import.self, Gen.self, Bench.self, Sweep.self, Merge.self],
        defaultSubcommand: nil
    )
}
