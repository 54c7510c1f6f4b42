/// Two views of free memory per run, as inline SVG (same rules as
/// ``LineChart``): a heatmap of free pages per buddy order over ticks, and
/// free pages per migrate type stacked over ticks (runs that group by
/// mobility). Ticks are bucketed to at most `columns` columns, each showing
/// the bucket's last tick.
struct FreeMemoryCharts {
    static let columns = 200

    /// Free pages in blocks of each order (`free_oN << N`) per tick: one row
    /// per order, darker for more pages, scaled to the run's largest cell.
    static func orderHeatmap(store: ResultStore, run: Int64, title: String) throws -> String? {
        let cols = (0...10).map { "free_o\($0)" }.joined(separator: ", ")
        let rows = try store.db.rows("SELECT tick, \(cols) FROM tick_metrics WHERE run_id = \(run) ORDER BY tick")
        guard !rows.isEmpty else { return nil }
        let sampled = bucketed(rows)
        let cells = sampled.map { r in (0...10).map { o in Double(Int(r[o + 1] ?? "0") ?? 0) * Double(1 << o) } }
        let peak = max(cells.flatMap { $0 }.max() ?? 1, 1)
        let left = 60.0, top = 30.0, cellH = 16.0
        let cellW = max(2.0, min(8.0, 1000.0 / Double(cells.count)))
        let width = left + cellW * Double(cells.count) + 20, height = top + cellH * 11 + 40
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<text x=\"\(Int(left))\" y=\"16\">\(Markup.escape(title)): free pages per order (darker: more; peak \(Int(peak)) pages)</text>\n"
        for o in 0...10 {
            let y = top + cellH * Double(10 - o)
            s += "<text x=\"\(Int(left - 6))\" y=\"\(Int(y + cellH - 4))\" text-anchor=\"end\">o\(o)</text>\n"
            for (c, column) in cells.enumerated() where column[o] > 0 {
                let shade = Int(235 - 200 * (column[o] / peak).squareRoot())
                s += "<rect x=\"\(fixed(left + cellW * Double(c)))\" y=\"\(Int(y))\" width=\"\(fixed(cellW))\" height=\"\(Int(cellH - 1))\" fill=\"rgb(\(shade),\(shade),255)\"/>\n"
            }
        }
        let firstTick = sampled.first?[0] ?? "0", lastTick = sampled.last?[0] ?? "0"
        s += "<text x=\"\(Int(left))\" y=\"\(Int(top + cellH * 11 + 16))\">tick \(Markup.escape(firstTick))</text>\n"
        s += "<text x=\"\(fixed(left + cellW * Double(cells.count)))\" y=\"\(Int(top + cellH * 11 + 16))\" text-anchor=\"end\">tick \(Markup.escape(lastTick))</text>\n"
        return s + "</svg>"
    }

    static let typeColors = ["Unmovable": "#d62728", "Reclaimable": "#ff7f0e", "Movable": "#2ca02c", "Reserve": "#7f7f7f"]

    /// Free pages on each migrate type's lists per tick, stacked (node 0
    /// and every other node summed); nil for a run without pagetypeinfo.
    static func typeStack(store: ResultStore, run: Int64, title: String) throws -> String? {
        let pages = (0...10).map { "sum(free_o\($0)) * \(1 << $0)" }.joined(separator: " + ")
        let rows = try store.db.rows("""
            SELECT tick, migratetype, \(pages) FROM pagetypeinfo WHERE run_id = \(run) GROUP BY tick, migratetype ORDER BY tick
            """)
        guard !rows.isEmpty else { return nil }
        var ticks: [String] = []
        var byTick: [String: [String: Double]] = [:]
        for r in rows {
            let t = r[0] ?? "0"
            if byTick[t] == nil { ticks.append(t) }
            byTick[t, default: [:]][r[1] ?? "?"] = Double(r[2] ?? "0") ?? 0
        }
        let sampled = bucketed(ticks.map { [$0] }).map { $0[0] ?? "0" }
        let names = PageTypeNames.all
        let totals = sampled.map { t in names.reduce(0) { $0 + (byTick[t]?[$1] ?? 0) } }
        let peak = max(totals.max() ?? 1, 1)
        let left = 60.0, top = 30.0, plotH = 200.0
        let barW = max(2.0, min(8.0, 1000.0 / Double(sampled.count)))
        let width = left + barW * Double(sampled.count) + 140, height = top + plotH + 40
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<text x=\"\(Int(left))\" y=\"16\">\(Markup.escape(title)): free pages by migrate type (peak \(Int(peak)))</text>\n"
        for (c, t) in sampled.enumerated() {
            var y = top + plotH
            for name in names {
                let h = (byTick[t]?[name] ?? 0) / peak * plotH
                guard h > 0 else { continue }
                y -= h
                s += "<rect x=\"\(fixed(left + barW * Double(c)))\" y=\"\(fixed(y))\" width=\"\(fixed(barW))\" height=\"\(fixed(h))\" fill=\"\(typeColors[name]!)\"/>\n"
            }
        }
        for (i, name) in names.enumerated() {
            let y = top + 14 * Double(i)
            let x = left + barW * Double(sampled.count) + 16
            s += "<rect x=\"\(fixed(x))\" y=\"\(fixed(y))\" width=\"10\" height=\"10\" fill=\"\(typeColors[name]!)\"/>"
            s += "<text x=\"\(fixed(x + 14))\" y=\"\(fixed(y + 9))\">\(name)</text>\n"
        }
        s += "<text x=\"\(Int(left))\" y=\"\(Int(top + plotH + 16))\">tick \(Markup.escape(sampled.first ?? ""))</text>\n"
        s += "<text x=\"\(fixed(left + barW * Double(sampled.count)))\" y=\"\(Int(top + plotH + 16))\" text-anchor=\"end\">tick \(Markup.escape(sampled.last ?? ""))</text>\n"
        return s + "</svg>"
    }

    /// At most `columns` rows: the last of each run of ⌈n / columns⌉.
    static func bucketed(_ rows: [[String?]]) -> [[String?]] {
        let step = (rows.count + columns - 1) / columns
        guard step > 1 else { return rows }
        return stride(from: step - 1, to: rows.count + step - 1, by: step).map { rows[min($0, rows.count - 1)] }
    }

    static func fixed(_ v: Double) -> String { formatFixed(v, 1) }
}

/// The migrate types `pagetypeinfo` names, in `enum migratetype` order.
enum PageTypeNames {
    static let all = ["Unmovable", "Reclaimable", "Movable", "Reserve"]
}
