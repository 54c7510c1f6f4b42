import ArgumentParser
import Foundation
import MemStore

/// `memreplay report`: an HTML page of charts and figures about some runs.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained HTML report (inline SVG charts, summary table) about runs.",
        discussion: """
            Charts over ticks, the runs overlaid: usage % with the watermarks, frag_index, \
            pages reclaimed, TLB miss rate, page-table pages and slab waste; then the \
            figures of run_summary. The file has no scripts and fetches nothing. Without \
            --run or --comparison, every run in the database is included.
            """
    )

    @Option(help: "Results database.")
    var db: String = "results.db"

    @Option(name: .customLong("run"), help: ArgumentHelp("A run to include (repeat for more).", valueName: "id"))
    var runs: [Int64] = []

    @Option(help: ArgumentHelp("Include the runs of this comparison.", valueName: "id"))
    var comparison: Int64?

    @Option(name: [.short, .customLong("output")], help: "The HTML file to write, or - for standard output (never the database, nor any SQLite file).")
    var output: String = "report.html"

    func validate() throws {
        if comparison != nil && !runs.isEmpty {
            throw ValidationError("give either --run or --comparison, not both")
        }
    }

    func run() throws {
        var st = stat()
        guard stat(db, &st) == 0 else {
            printError("memreplay: \(db): no such database")
            throw ExitCode(2)
        }
        // SQLite would wait for ever on a FIFO.
        guard st.st_mode & S_IFMT == S_IFREG else {
            printError("memreplay: \(db): not a regular file, so not a database")
            throw ExitCode(2)
        }
        // Checked before the database is opened: `-o results.db` must not
        // replace results with HTML.
        let out = try OutputFile(output, inputs: [db], refuseDatabases: true)
        do {
            // Read-only: a report takes no lock that a replay would wait for.
            let store = try ResultStore(readingFrom: db)
            let ids = try HTMLReport.runIDs(store: store, runs: runs, comparison: comparison)
            let title = comparison.map { "memreplay comparison \($0)" } ?? "memreplay report"
            let html = try HTMLReport.render(store: store, runs: ids, title: title)
            try out.write(contents: html.utf8)
        } catch {
            printError("memreplay: \(error)")
            throw ExitCode(1)
        }
    }
}
