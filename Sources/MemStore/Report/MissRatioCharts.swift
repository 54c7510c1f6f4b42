import Foundation

/// Miss-ratio curves (`--mrc` runs, table `mrc`): misses per lookup against
/// cache size on a log2 axis, the runs overlaid — the TLB curves (fully
/// associative, and the TLB's own set count) and the page cache's.
enum MissRatioCharts {
    static func charts(store: ResultStore, runs: [RunSummary], names: [Int64: String], colors: [Int64: String]) throws -> [LineChart] {
        var tlb = chart("TLB miss ratio by size (LRU)", "TLB entries (log scale)")
        var cache = chart("Page-cache miss ratio by size (LRU)", "page-cache pages (log scale)")
        for s in runs {
            let rows = try store.db.rows("""
                SELECT structure, sets, entries, lookups, misses FROM mrc WHERE run_id = \(s.runID)
                ORDER BY structure, sets, entries
                """)
            var groups: [(key: String, points: [(x: Double, y: Double)])] = []
            for r in rows {
                guard let structure = r[0], let sets = Int(r[1] ?? ""), let entries = Double(r[2] ?? ""),
                      let lookups = Double(r[3] ?? ""), let misses = Double(r[4] ?? ""), lookups > 0 else { continue }
                let key = structure + (sets == 1 ? "" : ", \(sets) sets")
                if groups.last?.key != key { groups.append((key, [])) }
                groups[groups.count - 1].points.append((log2(entries), 100 * misses / lookups))
            }
            for (i, g) in groups.enumerated() {
                // One colour per run; a run's second and later curves are
                // told apart by name in the legend.
                let series = LineChart.Series(name: "\(names[s.runID]!) · \(g.key)", color: shade(colors[s.runID]!, i), points: g.points)
                if g.key == "pagecache" { cache.series.append(series) } else { tlb.series.append(series) }
            }
        }
        return [tlb, cache].filter { !$0.series.isEmpty }
    }

    static func chart(_ title: String, _ xTitle: String) -> LineChart {
        LineChart(title: title, xTitle: xTitle, yTitle: "misses / lookups (%)", series: [], yRange: 0...100,
                  xLabel: { v in String(Int(exp2(v).rounded())) })
    }

    /// The run's colour for its first curve, lighter for the next ones.
    static func shade(_ color: String, _ i: Int) -> String {
        guard i > 0, color.count == 7, let rgb = Int(color.dropFirst(), radix: 16) else { return color }
        let f = max(0.4, 1 - 0.2 * Double(i))
        func mix(_ c: Int) -> Int { Int(Double(c) * f + 255 * (1 - f)) }
        let r = mix(rgb >> 16 & 0xFF), g = mix(rgb >> 8 & 0xFF), b = mix(rgb & 0xFF)
        return "#" + [r, g, b].map { String(format: "%02x", $0) }.joined()
    }
}
