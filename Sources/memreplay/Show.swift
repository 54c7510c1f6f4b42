import ArgumentParser
import Foundation
import MemStore

extension ProcFiles.File: ExpressibleByArgument {}

/// `memreplay show FILE --run N --tick T`: a run's state at one tick as the
/// kernel's `/proc` file shows it.
struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a run's state at a tick as /proc/buddyinfo, /proc/pagetypeinfo or /proc/vmstat.",
        discussion: """
            buddyinfo: free blocks per order and node. pagetypeinfo (--pmm buddy-mobility runs): \
            free blocks per migrate type and order, and pageblocks per type. vmstat: the kernel's \
            counters the model keeps, summed from the run's start, and its gauges at the tick.
            """
    )

    @Argument(help: "buddyinfo, pagetypeinfo or vmstat.")
    var file: ProcFiles.File

    @Option(help: "Results database.")
    var db: String = "results.db"

    @Option(name: .customLong("run"), help: ArgumentHelp("The run.", valueName: "id"))
    var runID: Int64

    @Option(help: ArgumentHelp("The tick (its close).", valueName: "n"))
    var tick: Int64

    func run() throws {
        var st = stat()
        guard stat(db, &st) == 0 else {
            printError("memreplay: \(db): no such database")
            throw ExitCode(2)
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            printError("memreplay: \(db): not a regular file, so not a database")
            throw ExitCode(2)
        }
        do {
            let store = try ResultStore(readingFrom: db)
            print(try ProcFiles.render(file, store: store, run: runID, tick: tick), terminator: "")
        } catch {
            printError("memreplay show: \(error)")
            throw ExitCode(1)
        }
    }
}
