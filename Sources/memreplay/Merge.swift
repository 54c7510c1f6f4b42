import ArgumentParser
import MemStore

/// `memreplay merge SHARD… -o OUT`: shards of a sweep into one database.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge result databases (e.g. sweep shards) into one.",
        discussion: """
            Every finished (ok) run is copied with a new run id, with its ticks, slabinfo, \
            processes and node rows; comparison groups stay together. Runs of a sweep job the \
            output already holds are skipped, so merging twice changes nothing. Shards of an earlier \
            schema version are upgraded in place first; those of a newer one are refused. The \
            output is replaced atomically: a failed merge leaves it as it was.
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
