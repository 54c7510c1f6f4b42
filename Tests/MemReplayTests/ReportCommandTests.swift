import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import MemStore
import TestSupport

/// `memreplay report`, and what a browser makes of it.
@Suite struct ReportCommandTests {
    typealias CLI = CommandLineTests

    func tempDir() -> String {
        scratchDirectory("report")
    }

    /// A database with one comparison of reclaim.trace and one plain replay.
    func database(_ dir: String) throws -> String {
        let db = dir + "/r.db"
        let c = try CLI.run(["compare", CLI.root + "/traces/reclaim.trace", "--db", db, "--tick-every", "4",
                             "--variant", "bitmap:pmm=bitmap", "--variant", "buddy:pmm=buddy"])
        #expect(c.status == 0, "\(c.err)")
        #expect(try CLI.run(["replay", "--db", db, CLI.root + "/traces/processes.trace"]).status == 0)
        return db
    }

    /// Cells of the summary table: (data-column, data-run) → text.
    final class Cells: NSObject, XMLParserDelegate {
        var cells: [String: String] = [:]
        var svgs = 0
        private var current: String?
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            if name == "svg" { svgs += 1 }
            if name == "td", let c = attributes["data-column"], let r = attributes["data-run"] {
                current = "\(c)/\(r)"
                cells[current!] = ""
            }
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let current { cells[current]! += string }
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "td" { current = nil }
        }
    }

    @Test func reportOfAComparisonIsWellFormedAndShowsTheStoredFigures() throws {
        let dir = tempDir()
        let db = try database(dir)
        let out = dir + "/report.html"
        let r = try CLI.run(["report", "--db", db, "--comparison", "1", "-o", out])
        #expect(r.status == 0, "\(r.err)")
        let html = try String(contentsOfFile: out, encoding: .utf8)
        let parser = XMLParser(data: Data(html.utf8))
        let cells = Cells()
        parser.delegate = cells
        #expect(parser.parse(), "report.html is not well-formed: \(String(describing: parser.parserError))")
        #expect(cells.svgs == 9)
        let store = try ResultStore(path: db)
        #expect(cells.cells.count == RunSummary.Metric.all.count * 2)
        for m in RunSummary.Metric.all {
            for run in [1, 2] {
                let st = try store.db.prepare("SELECT \(m.column) FROM run_summary WHERE run_id = \(run)")
                _ = try st.step()
                #expect(cells.cells["\(m.column)/\(run)"] == m.format(st.isNull(0) ? nil : st.double(0)), "\(m.column) of run \(run)")
            }
        }
        #expect(!html.contains("processes.trace"), "run 3 is not in comparison 1")
    }

    @Test func reportSelectsRunsAndRefusesBadSelections() throws {
        let dir = tempDir()
        let db = try database(dir)
        let out = dir + "/runs.html"
        #expect(try CLI.run(["report", "--db", db, "--run", "3", "--run", "1", "-o", out]).status == 0)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        #expect(html.contains("processes.trace") && html.contains("data-run=\"1\"") && !html.contains("data-run=\"2\""))
        let both = try CLI.run(["report", "--db", db, "--run", "1", "--comparison", "1", "-o", out])
        #expect(both.status == 64)
        #expect(both.err.contains("either --run or --comparison"))
        let missing = try CLI.run(["report", "--db", db, "--run", "42", "-o", out])
        #expect(missing.status == 1)
        #expect(missing.err.contains("no run 42"))
        let noDB = try CLI.run(["report", "--db", dir + "/none.db", "-o", out])
        #expect(noDB.status == 2)
        #expect(!FileManager.default.fileExists(atPath: dir + "/none.db"), "report must not create a database")
    }

    /// Headless Chromium renders the report: it loads, lays out and paints.
    /// Skipped, saying so, where chromium is not installed (a fresh machine);
    /// CI installs it and fails the test without it.
    @Test(.needs(.chromium)) func chromiumRendersTheReport() throws {
        let chromium = try ExternalProgram.chromium.require()
        let dir = tempDir()
        let db = try database(dir)
        let html = dir + "/report.html"
        #expect(try CLI.run(["report", "--db", db, "-o", html]).status == 0)
        let png = dir + "/report.png"
        let r = try CLI.run(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--user-data-dir=\(dir)/profile", "--screenshot=\(png)", "--window-size=1200,2000",
                             "file://\(html)"], executable: chromium)
        #expect(r.status == 0, "chromium failed: \(r.err.suffix(2000))")
        let size = (try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        // A blank 1200×2000 page compresses to a few kilobytes; text, tables
        // and six charts make far more.
        #expect(size > 40_000, "screenshot \(png) is \(size) bytes")
        let header = (try? Data(contentsOf: URL(fileURLWithPath: png)).prefix(8)) ?? Data()
        #expect(header == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "not a PNG")
    }

    /// A report never replaces the database it reads, nor any other SQLite
    /// file, nor a special file; it keeps a symlink; `-o -` is standard output.
    @Test func reportOutputNeverDestroysResults() throws {
        let dir = tempDir()
        let db = try database(dir)
        func digest(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
        let before = try digest(db)
        try FileManager.default.createSymbolicLink(atPath: dir + "/db-link", withDestinationPath: db)
        // The database itself, by name, through ./ and through a link.
        for out in ["r.db", "./r.db", "db-link"] {
            let r = try CLI.run(["report", "--db", db, "-o", out], cwd: dir)
            #expect(r.status != 0, "\(out)")
            #expect(r.err.contains("is the input itself") || r.err.contains("is a SQLite database"), "\(out): \(r.err)")
        }
        // The default database name with the default --db: `report -o results.db`.
        try FileManager.default.copyItem(atPath: db, toPath: dir + "/results.db")
        let plain = try CLI.run(["report", "-o", "results.db"], cwd: dir)
        #expect(plain.status != 0)
        // Another results database.
        try FileManager.default.copyItem(atPath: db, toPath: dir + "/other.db")
        let other = try CLI.run(["report", "--db", db, "-o", "other.db"], cwd: dir)
        #expect(other.status != 0 && other.err.contains("is a SQLite database"))
        let afterDB = try digest(db), afterOther = try digest(dir + "/other.db")
        #expect(afterDB == before && afterOther == before)
        // A FIFO is not replaced by a regular file.
        #expect(mkfifo(dir + "/fifo", 0o644) == 0)
        let fifo = try CLI.run(["report", "--db", db, "-o", "fifo"], cwd: dir)
        #expect(fifo.status != 0 && fifo.err.contains("not a regular file"))
        var st = stat()
        #expect(lstat(dir + "/fifo", &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
        // A link to an old report stays a link; its target gets the new report.
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/old.html"))
        try FileManager.default.createSymbolicLink(atPath: dir + "/latest.html", withDestinationPath: dir + "/old.html")
        let linked = try CLI.run(["report", "--db", db, "-o", "latest.html"], cwd: dir)
        #expect(linked.status == 0, "\(linked.err)")
        #expect(lstat(dir + "/latest.html", &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
        #expect(try String(contentsOfFile: dir + "/old.html", encoding: .utf8).contains("<svg"))
        // Standard output.
        let stdout = try CLI.run(["report", "--db", db, "-o", "-"], cwd: dir)
        #expect(stdout.status == 0 && stdout.out.contains("<svg"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.contains(".partial-") })
    }
}
