import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import TestSupport
import MemModel
import MemTrace
@testable import MemStore

/// What an XML parser sees in a document: elements with their attributes
/// and text, in document order.
final class XMLOutline: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }
    var elements: [Element] = []
    private var open: [Int] = []
    var error: Error?

    static func parse(_ text: String) -> XMLOutline {
        let outline = XMLOutline()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = outline
        if !parser.parse() { outline.error = parser.parserError ?? NSError(domain: "xml", code: 1) }
        return outline
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        open.append(elements.count)
        elements.append(Element(name: name, attributes: attributes))
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        for i in open { elements[i].text += string }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }

    func named(_ name: String) -> [Element] { elements.filter { $0.name == name } }
}

@Suite struct ReportTests {
    static func comparisonDB(labels: [String] = ["bitmap", "buddy"]) throws -> (ResultStore, [Int64]) {
        let db = temporaryPath("report.db")
        let pmms: [FrameAllocatorKind] = [.bitmap, .buddy, .stack]
        let variants = labels.enumerated().map { i, label in
            var o = ReplayOptions()
            o.machine.pmm = pmms[i % pmms.count]
            o.machine.tickEvery = 2
            if i == 1 { o.machine.highWatermark = 70; o.machine.lowWatermark = 50 }
            return (label: label, options: o)
        }
        let store = try ResultStore(path: db)
        let trace = packageRoot + "/traces/processes.trace"
        let (_, runs) = try store.beginComparison(trace: trace, runs: variants.map { ($0.label, $0.options.machine) })
        for (run, v) in zip(runs, variants) { try record(trace, options: v.options, into: store, run: run) }
        return (store, runs)
    }

    @Test func reportIsWellFormedWithSixChartsLegendsAxesAndWatermarks() throws {
        let (store, runs) = try Self.comparisonDB()
        let html = try HTMLReport.render(store: store, runs: runs)
        let doc = XMLOutline.parse(html)
        #expect(doc.error == nil, "\(String(describing: doc.error))")
        let svgs = doc.named("svg")
        #expect(svgs.count == 9)  // seven line charts, a free-blocks heatmap per run
        #expect(doc.named("polyline").count >= 10)  // two runs in each chart that has data
        for legend in doc.elements where legend.attributes["class"] == "legend" {
            #expect(["bitmap", "buddy"].contains(legend.text))
        }
        #expect(doc.elements.filter { $0.attributes["class"] == "legend" }.count == 14)
        #expect(doc.elements.filter { $0.attributes["class"] == "x-title" }.count == 7)
        #expect(doc.elements.filter { $0.attributes["class"] == "y-title" }.map(\.text).contains("usage (% of allocatable frames)"))
        #expect(doc.elements.filter { $0.attributes["class"] == "y-labels" }.allSatisfy { !$0.text.isEmpty })
        // Different watermarks per run: a dashed pair per run, labelled.
        let rules = doc.elements.filter { $0.attributes["class"] == "rule" }
        #expect(rules.count == 4)
        #expect(rules.allSatisfy { $0.attributes["stroke-dasharray"] != nil })
        let labels = doc.named("text").map(\.text)
        #expect(labels.contains("high 80 % bitmap") && labels.contains("low 50 % buddy"))
        // Self-contained: nothing to fetch, nothing to run.
        for banned in ["<script", "src=", "href=", "url(", "@import", "<link", "<img", "<iframe"] {
            #expect(!html.contains(banned), "\(banned) in the report")
        }
        #expect(html.components(separatedBy: "http").count - 1 == 10)  // the XHTML and nine SVG namespaces
    }

    @Test func numaRunsGetAPerNodeUsageChart() throws {
        let store = try ResultStore(path: temporaryPath("numa.db"))
        let run = try record(packageRoot + "/traces/numa.trace", label: "numa", into: store)
        let doc = XMLOutline.parse(try HTMLReport.render(store: store, runs: [run]))
        #expect(doc.error == nil)
        #expect(doc.named("svg").count == 9)
        let legends = doc.elements.filter { $0.attributes["class"] == "legend" }.map(\.text)
        #expect(legends.contains("numa node 0") && legends.contains("numa node 1"))
        // Single-node runs get no such chart.
        let flat = try record(packageRoot + "/traces/basic.trace", label: "flat", into: store)
        #expect(XMLOutline.parse(try HTMLReport.render(store: store, runs: [flat])).named("svg").count == 8)
    }

    /// A run with mobility grouping and compaction adds the stacked free
    /// memory by migrate type and the compaction charts.
    @Test func fragmentationRunsGetTypeStacksAndCompactionCharts() throws {
        let store = try ResultStore(path: temporaryPath("frag.db"))
        let trace = temporaryPath("frag.trace")
        try generate(.llfreeFrag, events: .max, seed: 3, to: TraceWriter(path: trace), memory: 32 << 20, iterations: 5)
        var o = ReplayOptions()
        o.machine.pmm = .buddyMobility
        o.machine.compaction = .proactive
        o.machine.compactionProactiveness = 100
        let run = try record(trace, options: o, label: "frag", into: store)
        #expect(try store.db.scalar("SELECT sum(pgmigrate_success) FROM tick_metrics WHERE run_id = \(run)") ?? 0 > 0)
        let html = try HTMLReport.render(store: store, runs: [run])
        let doc = XMLOutline.parse(html)
        #expect(doc.error == nil)
        let headings = doc.named("h2").map(\.text)
        for h in ["Free huge blocks", "Pages moved by compaction", "TLB invalidations by compaction",
                  "Free blocks per order", "Free memory by migrate type"] {
            #expect(headings.contains(h), "\(h)")
        }
        #expect(doc.named("svg").count == 7 + 2 + 2)
    }

    /// An `--mrc` run: its curves in table `mrc` (4096 fully associative
    /// sizes, 16 sets of 1 … 256 ways), a chart of them on a log2 axis
    /// labelled in entries, and a merge that copies them.
    @Test func mrcRunsGetMissRatioCurvesAndMergesKeepThem() throws {
        let path = temporaryPath("mrc.db")
        let store = try ResultStore(path: path)
        var o = ReplayOptions()
        o.machine.mrc = true
        let run = try record(packageRoot + "/traces/processes.trace", options: o, label: "mrc", into: store)
        #expect(try store.db.scalar("SELECT count(*) FROM mrc WHERE run_id = \(run) AND structure = 'tlb' AND sets = 1") == 4096)
        #expect(try store.db.scalar("SELECT count(*) FROM mrc WHERE run_id = \(run) AND structure = 'tlb' AND sets = 16") == 256)
        // The default TLB (64 entries, 4 ways) is the 16-set, 4-way point.
        #expect(try store.db.scalar("SELECT misses FROM mrc WHERE run_id = \(run) AND sets = 16 AND entries = 64")
                == store.db.scalar("SELECT sum(tlb_misses) FROM tick_metrics WHERE run_id = \(run)"))
        let doc = XMLOutline.parse(try HTMLReport.render(store: store, runs: [run]))
        #expect(doc.error == nil)
        #expect(doc.named("h2").map(\.text).contains("TLB miss ratio by size (LRU)"))
        let xLabels = doc.elements.filter { $0.attributes["class"] == "x-labels" }.map(\.text)
        #expect(xLabels.contains { $0.contains("1") && $0.contains("4096") })
        let legends = doc.elements.filter { $0.attributes["class"] == "legend" }.map(\.text)
        #expect(legends.contains("mrc · tlb") && legends.contains("mrc · tlb, 16 sets"))
        // A run without --mrc has no such chart.
        let plain = try record(packageRoot + "/traces/processes.trace", label: "plain", into: store)
        #expect(!XMLOutline.parse(try HTMLReport.render(store: store, runs: [plain])).named("h2").map(\.text).contains("TLB miss ratio by size (LRU)"))
        let merged = temporaryPath("mrc-merged.db")
        _ = try ShardMerge.merge(shards: [path], into: merged)
        let curves = "SELECT structure, sets, entries, lookups, misses FROM mrc ORDER BY structure, sets, entries"
        #expect(try ResultStore(path: merged).db.rows(curves) == store.db.rows(curves))
    }

    @Test func summaryTableEqualsTheDatabase() throws {
        let (store, runs) = try Self.comparisonDB()
        let doc = XMLOutline.parse(try HTMLReport.render(store: store, runs: runs))
        let cells = doc.named("td").filter { $0.attributes["data-column"] != nil }
        #expect(cells.count == RunSummary.Metric.all.count * runs.count)
        for m in RunSummary.Metric.all {
            for run in runs {
                // Straight from the view, not through RunSummary.
                let stored = try store.db.rows("SELECT \(m.column) FROM run_summary WHERE run_id = ?", [.int(run)])[0][0]
                let cell = cells.first { $0.attributes["data-column"] == m.column && $0.attributes["data-run"] == String(run) }
                #expect(cell?.text == m.format(stored.map { Double($0)! }), "\(m.column) of run \(run)")
            }
        }
    }

    @Test func textFromTheDatabaseIsEscaped() throws {
        let (store, runs) = try Self.comparisonDB(labels: ["<script>alert('x')</script>", "a & \"b\""])
        let html = try HTMLReport.render(store: store, runs: runs)
        #expect(!html.contains("<script>"))
        let doc = XMLOutline.parse(html)
        #expect(doc.error == nil)
        #expect(doc.named("text").contains { $0.text == "<script>alert('x')</script>" })
        #expect(doc.named("th").contains { $0.text == "a & \"b\"" })
    }

    @Test func runSelection() throws {
        let (store, runs) = try Self.comparisonDB()
        #expect(try HTMLReport.runIDs(store: store, runs: [], comparison: 1) == runs)
        #expect(try HTMLReport.runIDs(store: store, runs: [], comparison: nil) == runs)
        #expect(try HTMLReport.runIDs(store: store, runs: [2], comparison: nil) == [2])
        #expect(throws: HTMLReport.SelectionError.self) { try HTMLReport.runIDs(store: store, runs: [9], comparison: nil) }
        #expect(throws: HTMLReport.SelectionError.self) { try HTMLReport.runIDs(store: store, runs: [], comparison: 5) }
    }

    @Test func longRunsAreThinnedKeepingTheEnvelope() {
        var t = Thinner(origin: 0, width: 10)
        for x in 0..<100_000 {
            t.add(Double(x), x == 54_321 ? 1_000 : Double(x % 7))
        }
        let points = t.finish()
        #expect(points.count <= 2 * 10_000)
        #expect(points.map(\.y).max() == 1_000)
        #expect(points.map(\.y).min() == 0)
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.x < $1.x })
    }

    @Test func axesHaveRoundTicks() {
        let a = Axis(lo: 0, hi: 87, integral: false)
        #expect(a.ticks == (0...9).map { Double($0 * 10) })
        let b = Axis(lo: 0, hi: 0.37, integral: false)
        #expect(b.ticks.map(b.label) == ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25", "0.30", "0.35", "0.40"])
        let c = Axis(lo: 0, hi: 3, integral: true)
        #expect(c.ticks == [0, 1, 2, 3])
        let d = Axis(lo: 0, hi: 180_000, integral: true)
        #expect(d.label(150_000) == "150k")
        #expect(Markup.escape("a<b>&\"c'\u{1}") == "a&lt;b&gt;&amp;&quot;c&#39;")
    }
}
