import ArgumentParser
import MemStore

/// `memreplay merge SHARD… -o OUT`: shards of a sweep into one database.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge result databases (e.g. sweep shards) into one.",
        discussion: """
            Every finished (ok) run is copied with a new run id, with its ticks, slabinfo, \
            processes and node rows; comparison groups stay together. A run whose content the \
            output already holds (its SHA-256 digest) is skipped, so merging twice changes \
            nothing. Shards are opened read-only and checked: their tables must be the schema's, \
            every value must have its column's type and range, and the output itself or a shard \
            given twice is refused. The output is written in place in one transaction, while \
            other replays may write to it; a failed merge leaves it as it was.
            """
    )

    @Argument(help: "Shard databases.")
    var shards: [String]

    @Option(name: [.short, .customLong("output")], help: "The merged database (created or extended).")
    var output: String

    func run() throws {
        do {
            let s = try ShardMerge.merge(shards: shards, into: output)
            print("merged \(s.runs) runs from \(s.shards) shards into \(output)" + (s.skipped > 0 ? " (\(s.skipped) already there, skipped)" : ""))
        } catch {
            printError("memreplay merge: \(error)")
            throw ExitCode(1)
        }
    }
}
