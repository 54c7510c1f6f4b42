import Foundation
import MemModel

/// `memreplay report`: one self-contained HTML file about some runs.
///
/// Everything is inline: the styles, and one SVG line chart per figure over
/// ticks (usage with the runs' watermarks, frag_index, pages reclaimed, TLB
/// miss rate, page-table pages, slab waste), the runs overlaid in the same
/// colours in every chart, and the summary table read from `run_summary`.
/// No scripts, no fonts, nothing fetched. Runs with many ticks are thinned
/// to the minimum and maximum of each of ``buckets`` intervals of ticks, so
/// peaks survive and the file stays small.
public enum HTMLReport {
    /// Intervals of ticks per chart line; at most twice as many points.
    static let buckets = 1000

    public struct SelectionError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The runs a report is about: the given ones, the runs of a
    /// comparison, or (neither given) every run in the database.
    public static func runIDs(store: ResultStore, runs: [Int64], comparison: Int64?) throws -> [Int64] {
        if let comparison {
            let ids = try store.db.rows("SELECT run_id FROM runs WHERE comparison_id = ? ORDER BY run_id", [.int(comparison)])
                .compactMap { $0[0].flatMap { Int64($0) } }
            if ids.isEmpty { throw SelectionError(description: "\(store.db.path): no comparison \(comparison)") }
            return ids
        }
        if runs.isEmpty {
            let ids = try store.db.rows("SELECT run_id FROM runs ORDER BY run_id").compactMap { $0[0].flatMap { Int64($0) } }
            if ids.isEmpty { throw SelectionError(description: "\(store.db.path): no runs") }
            return ids
        }
        for id in runs {
            if try store.db.scalar("SELECT count(*) FROM runs WHERE run_id = ?", [.int(id)]) == 0 {
                throw SelectionError(description: "\(store.db.path): no run \(id)")
            }
        }
        return runs
    }

    /// The report about `runs`, as an HTML document (XHTML-compatible).
    public static func render(store: ResultStore, runs: [Int64], title: String = "memreplay report") throws -> String {
        let summaries = try store.summaries(runs: runs)
        let colors = Dictionary(uniqueKeysWithValues: summaries.enumerated().map {
            ($0.element.runID, LineChart.palette[$0.offset % LineChart.palette.count])
        })
        let names = disambiguatedNames(summaries)
        var data: [RunSeries] = []
        for s in summaries {
            data.append(try RunSeries(store: store, run: s.runID))
        }

        var usage = LineChart(title: "Memory usage", xTitle: "tick", yTitle: "usage (% of allocatable frames)",
                              series: [], yRange: 0...100)
        var frag = LineChart(title: "Fragmentation index", xTitle: "tick",
                             yTitle: "frag_index (1 − largest free block / free)", series: [], yRange: 0...1)
        var reclaimed = LineChart(title: "Pages reclaimed", xTitle: "tick", yTitle: "pages reclaimed per tick", series: [],
                                  yIntegral: true)
        var tlb = LineChart(title: "TLB miss rate", xTitle: "tick", yTitle: "TLB misses / lookups (%)", series: [])
        var tables = LineChart(title: "Page-table pages", xTitle: "tick", yTitle: "page-table frames", series: [], yIntegral: true)
        var waste = LineChart(title: "Slab waste", xTitle: "tick", yTitle: "slab waste (bytes)", series: [], yIntegral: true)
        var huge = LineChart(title: "Free huge blocks", xTitle: "tick", yTitle: "free aligned 2 MiB blocks (free_huge)",
                             series: [], yIntegral: true)
        var migrated = LineChart(title: "Pages moved by compaction", xTitle: "tick", yTitle: "pgmigrate_success per tick",
                                 series: [], yIntegral: true)
        var invlpg = LineChart(title: "TLB invalidations by compaction", xTitle: "tick", yTitle: "compact_tlb_invlpg per tick",
                               series: [], yIntegral: true)
        for (s, d) in zip(summaries, data) {
            let name = names[s.runID]!, color = colors[s.runID]!
            usage.series.append(.init(name: name, color: color, points: d.usage))
            frag.series.append(.init(name: name, color: color, points: d.frag))
            reclaimed.series.append(.init(name: name, color: color, points: d.reclaimed))
            tlb.series.append(.init(name: name, color: color, points: d.tlbMissRate))
            tables.series.append(.init(name: name, color: color, points: d.pagetable))
            waste.series.append(.init(name: name, color: color, points: d.slabWaste))
            huge.series.append(.init(name: name, color: color, points: d.freeHuge))
            if d.compacted {
                migrated.series.append(.init(name: name, color: color, points: d.migrated))
                invlpg.series.append(.init(name: name, color: color, points: d.compactInvlpg))
            }
        }
        usage.rules = watermarkRules(summaries, data, names: names, colors: colors)
        let perNode = try nodeUsageChart(store: store, summaries, names: names)

        var h = """
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8"/>
            <title>\(Markup.escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222222; }
            table { border-collapse: collapse; margin-bottom: 24px; font-size: 13px; }
            th, td { border: 1px solid #cccccc; padding: 3px 8px; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; }
            th { background: #f2f2f2; text-align: left; }
            .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: middle; }
            h2 { margin-top: 28px; font-size: 18px; }
            </style>
            </head>
            <body>
            <h1>\(Markup.escape(title))</h1>
            <p>Database \(Markup.escape(store.db.path)), \(summaries.count) run\(summaries.count == 1 ? "" : "s"), \
            generated \(Markup.escape(ResultStore.now())).</p>

            """
        h += runsTable(store: store, summaries, names: names, colors: colors)
        h += summaryTable(summaries, names: names, colors: colors)
        let compaction = migrated.series.isEmpty ? [] : [migrated, invlpg]
        let curves = try MissRatioCharts.charts(store: store, runs: summaries, names: names, colors: colors)
        for chart in [usage, frag, reclaimed, tlb] + curves + [tables, waste] + (perNode.series.isEmpty ? [] : [perNode]) + [huge] + compaction {
            h += "<h2>\(Markup.escape(chart.title))</h2>\n<div class=\"chart\">\n\(chart.svg())\n</div>\n"
        }
        h += "<h2>Free blocks per order</h2>\n"
        for s in summaries {
            if let svg = try FreeMemoryCharts.orderHeatmap(store: store, run: s.runID, title: names[s.runID]!) {
                h += "<div class=\"chart\">\n\(svg)\n</div>\n"
            }
        }
        var stacks = ""
        for s in summaries {
            if let svg = try FreeMemoryCharts.typeStack(store: store, run: s.runID, title: names[s.runID]!) {
                stacks += "<div class=\"chart\">\n\(svg)\n</div>\n"
            }
        }
        if !stacks.isEmpty { h += "<h2>Free memory by migrate type</h2>\n" + stacks }
        h += "</body>\n</html>\n"
        return h
    }

    /// Usage of each NUMA node of each run that has more than one node, from
    /// `node_metrics`: one line per (run, node).
    static func nodeUsageChart(store: ResultStore, _ summaries: [RunSummary], names: [Int64: String]) throws -> LineChart {
        var chart = LineChart(title: "Usage per NUMA node", xTitle: "tick", yTitle: "usage (% of the node's frames)",
                              series: [], yRange: 0...100)
        var k = 0
        for s in summaries {
            let nodes = try store.db.rows("SELECT DISTINCT node FROM node_metrics WHERE run_id = ? ORDER BY node", [.int(s.runID)])
                .compactMap { $0[0].flatMap { Int64($0) } }
            guard nodes.count > 1 else { continue }
            let range = try store.db.rows("SELECT MIN(tick), MAX(tick) FROM node_metrics WHERE run_id = ?", [.int(s.runID)])
            guard let lo = range.first?[0].flatMap(Double.init), let hi = range.first?[1].flatMap(Double.init) else { continue }
            for node in nodes {
                var thinner = Thinner(origin: lo, width: max(1, (hi - lo + 1) / Double(buckets)))
                let st = try store.db.prepare("SELECT tick, usage_pct FROM node_metrics WHERE run_id = ? AND node = ? ORDER BY tick")
                st.bind(1, s.runID)
                st.bind(2, node)
                while try st.step() { thinner.add(Double(st.int(0)), st.double(1)) }
                chart.series.append(.init(name: "\(names[s.runID]!) node \(node)",
                                          color: LineChart.palette[k % LineChart.palette.count], points: thinner.finish()))
                k += 1
            }
        }
        return chart
    }

    /// Labels as names, made unique by their run id where two runs share one.
    static func disambiguatedNames(_ summaries: [RunSummary]) -> [Int64: String] {
        var count: [String: Int] = [:]
        for s in summaries { count[s.name, default: 0] += 1 }
        return Dictionary(uniqueKeysWithValues: summaries.map {
            ($0.runID, count[$0.name]! > 1 ? "\($0.name) (run \($0.runID))" : $0.name)
        })
    }

    /// The high and low watermarks as dashed lines: one grey pair when every
    /// run has the same; otherwise a pair per distinct setting, in the run's
    /// colour when only one run has it (grey and naming the runs if several).
    static func watermarkRules(_ summaries: [RunSummary], _ data: [RunSeries],
                               names: [Int64: String], colors: [Int64: String]) -> [LineChart.Rule] {
        var groups: [(high: Int, low: Int, runs: [Int64])] = []
        for (s, d) in zip(summaries, data) {
            guard let w = d.watermarks else { continue }
            if let i = groups.firstIndex(where: { $0.high == w.high && $0.low == w.low }) {
                groups[i].runs.append(s.runID)
            } else {
                groups.append((w.high, w.low, [s.runID]))
            }
        }
        let grey = "#555555"
        if groups.count == 1, let g = groups.first {
            return [.init(y: Double(g.high), label: "high \(g.high) %", color: grey),
                    .init(y: Double(g.low), label: "low \(g.low) %", color: grey)]
        }
        return groups.flatMap { g -> [LineChart.Rule] in
            let who = g.runs.map { names[$0]! }.joined(separator: ", ")
            let label = g.runs.count == 1 || who.count <= 22 ? who : "\(g.runs.count) runs"
            let color = g.runs.count == 1 ? colors[g.runs[0]]! : grey
            return [LineChart.Rule(y: Double(g.high), label: "high \(g.high) % \(label)", color: color),
                    LineChart.Rule(y: Double(g.low), label: "low \(g.low) % \(label)", color: color)]
        }
    }

    static func runsTable(store: ResultStore, _ summaries: [RunSummary], names: [Int64: String], colors: [Int64: String]) -> String {
        var h = "<h2>Runs</h2>\n<table class=\"runs\">\n<tr><th>run</th><th>label</th><th>trace</th><th>pmm</th><th>status</th><th>comparison</th><th>events</th><th>ticks</th><th>settings</th></tr>\n"
        for s in summaries {
            let settings = (try? store.db.rows("SELECT config FROM runs WHERE run_id = ?", [.int(s.runID)]))
                .flatMap { $0.first?[0] }
                .flatMap { try? JSONDecoder().decode(MachineConfig.self, from: Data($0.utf8)) }
                .map(describe) ?? ""
            h += "<tr><td class=\"num\">\(s.runID)</td>"
            h += "<td><span class=\"swatch\" style=\"background: \(colors[s.runID]!)\"></span>\(Markup.escape(names[s.runID]!))</td>"
            h += "<td>\(Markup.escape(s.trace))</td><td>\(Markup.escape(s.pmm))</td><td>\(Markup.escape(s.status))</td>"
            h += "<td class=\"num\">\(s.comparisonID.map(String.init) ?? "")</td>"
            h += "<td class=\"num\">\(s.events)</td><td class=\"num\">\(s.ticks)</td><td>\(Markup.escape(settings))</td></tr>\n"
        }
        return h + "</table>\n"
    }

    /// The settings that tell variants apart, in the command line's words.
    static func describe(_ c: MachineConfig) -> String {
        var parts = ["mem \(c.memBytes >> 10)K"]
        if c.reserveBytes > 0 { parts.append("reserve \(c.reserveBytes >> 10)K") }
        if c.nodes > 1 { parts.append("\(c.nodes) nodes, \(c.numaPolicy.rawValue)") }
        parts.append("tlb \(c.tlb)")
        if let i = c.itlb { parts.append("itlb \(i)") }
        parts.append("high \(c.highWatermark) %, low \(c.lowWatermark) %")
        parts.append("page cache \(c.pageCachePolicy.rawValue)")
        if !c.directReclaim { parts.append("no direct reclaim") }
        if c.tickEvery > 0 { parts.append("tick every \(c.tickEvery)") }
        return parts.joined(separator: ", ")
    }

    /// The summary figures side by side, a column per run, each cell tagged
    /// with its `run_summary` column and run (`data-column`, `data-run`).
    static func summaryTable(_ summaries: [RunSummary], names: [Int64: String], colors: [Int64: String]) -> String {
        var h = "<h2>Summary</h2>\n<table class=\"summary\">\n<tr><th></th>"
        for s in summaries {
            h += "<th><span class=\"swatch\" style=\"background: \(colors[s.runID]!)\"></span>\(Markup.escape(names[s.runID]!))</th>"
        }
        h += "</tr>\n"
        for m in RunSummary.Metric.all {
            h += "<tr><th>\(Markup.escape(m.title))</th>"
            for s in summaries {
                h += "<td class=\"num\" data-column=\"\(m.column)\" data-run=\"\(s.runID)\">\(Markup.escape(m.format(s.value(m))))</td>"
            }
            h += "</tr>\n"
        }
        return h + "</table>\n"
    }
}

/// The per-tick lines of one run, thinned to at most two points per bucket.
struct RunSeries {
    var usage: [(x: Double, y: Double)] = []
    var frag: [(x: Double, y: Double)] = []
    var reclaimed: [(x: Double, y: Double)] = []
    var tlbMissRate: [(x: Double, y: Double)] = []
    var pagetable: [(x: Double, y: Double)] = []
    var slabWaste: [(x: Double, y: Double)] = []
    var freeHuge: [(x: Double, y: Double)] = []
    var migrated: [(x: Double, y: Double)] = []
    var compactInvlpg: [(x: Double, y: Double)] = []
    /// Compaction ran in this run (some page was scanned).
    var compacted = false
    var watermarks: (high: Int, low: Int)?

    init(store: ResultStore, run: Int64) throws {
        let w = try store.db.rows("""
            SELECT json_extract(config, '$.highWatermark'), json_extract(config, '$.lowWatermark')
            FROM runs WHERE run_id = ?
            """, [.int(run)])
        if let row = w.first, let h = row[0].flatMap({ Int($0) }), let l = row[1].flatMap({ Int($0) }) {
            watermarks = (h, l)
        }
        let range = try store.db.rows("SELECT MIN(tick), MAX(tick) FROM tick_metrics WHERE run_id = ?", [.int(run)])
        guard let lo = range.first?[0].flatMap(Double.init), let hi = range.first?[1].flatMap(Double.init) else { return }
        let bucketWidth = max(1, (hi - lo + 1) / Double(HTMLReport.buckets))
        var samplers = Array(repeating: Thinner(origin: lo, width: bucketWidth), count: 9)
        let st = try store.db.prepare("""
            SELECT tick, usage_pct, frag_index, reclaimed_slab_pages + reclaimed_pagecache_pages,
                   tlb_misses, tlb_lookups, pagetable_pages, slab_waste_bytes,
                   free_huge, pgmigrate_success, compact_tlb_invlpg, compact_migrate_scanned + compact_stall
            FROM tick_metrics WHERE run_id = ? ORDER BY tick
            """)
        st.bind(1, run)
        while try st.step() {
            let x = Double(st.int(0))
            samplers[0].add(x, st.double(1))
            samplers[1].add(x, st.double(2))
            samplers[2].add(x, Double(st.int(3)))
            let lookups = st.int(5)
            if lookups > 0 { samplers[3].add(x, 100 * Double(st.int(4)) / Double(lookups)) }
            samplers[4].add(x, Double(st.int(6)))
            samplers[5].add(x, Double(st.int(7)))
            samplers[6].add(x, Double(st.int(8)))
            samplers[7].add(x, Double(st.int(9)))
            samplers[8].add(x, Double(st.int(10)))
            if st.int(11) > 0 { compacted = true }
        }
        usage = samplers[0].finish()
        frag = samplers[1].finish()
        reclaimed = samplers[2].finish()
        tlbMissRate = samplers[3].finish()
        pagetable = samplers[4].finish()
        slabWaste = samplers[5].finish()
        freeHuge = samplers[6].finish()
        migrated = samplers[7].finish()
        compactInvlpg = samplers[8].finish()
    }
}

/// Keeps, of each interval of `width` ticks, the lowest and the highest
/// point (in tick order): a line through them has the original's envelope.
struct Thinner {
    let origin: Double
    let width: Double
    private var points: [(x: Double, y: Double)] = []
    private var bucket = -1
    private var low: (x: Double, y: Double) = (0, 0)
    private var high: (x: Double, y: Double) = (0, 0)

    init(origin: Double, width: Double) {
        self.origin = origin
        self.width = width
    }

    mutating func add(_ x: Double, _ y: Double) {
        let b = Int((x - origin) / width)
        if b != bucket {
            flush()
            bucket = b
            low = (x, y)
            high = (x, y)
        } else {
            if y < low.y { low = (x, y) }
            if y > high.y { high = (x, y) }
        }
    }

    private mutating func flush() {
        guard bucket >= 0 else { return }
        if low.x == high.x {
            points.append(low)
        } else if low.x < high.x {
            points.append(low)
            points.append(high)
        } else {
            points.append(high)
            points.append(low)
        }
    }

    mutating func finish() -> [(x: Double, y: Double)] {
        flush()
        bucket = -1
        return points
    }
}
