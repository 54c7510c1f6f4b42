import Foundation

/// A line chart over ticks, drawn as inline SVG: axes with titles and tick
/// labels, light grid lines, one polyline per series, dashed horizontal
/// rules (watermarks) and a legend above the plot.
///
/// Only SVG 1.1 elements and presentation attributes are used, so the chart
/// renders in any browser with nothing fetched and parses as XML.
struct LineChart {
    struct Series {
        var name: String
        var color: String
        /// (tick, value), in tick order.
        var points: [(x: Double, y: Double)]
    }

    /// A dashed horizontal line across the plot, labelled at its right end.
    struct Rule: Equatable {
        var y: Double
        var label: String
        var color: String
    }

    var title: String
    var xTitle: String
    var yTitle: String
    var series: [Series]
    var rules: [Rule] = []
    /// A fixed value range (usage is 0...100); otherwise from the data, with 0 included.
    var yRange: ClosedRange<Double>? = nil
    /// Values are counts: no fractional ticks on the value axis.
    var yIntegral = false
    /// How x values are labelled; nil: as numbers (a log axis passes
    /// log2 values and labels them 2^v).
    var xLabel: ((Double) -> String)? = nil
    var width = 1100.0
    var height = 330.0

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    private static let charWidth = 6.6   // of 11 px sans-serif, roughly, for laying out the legend

    func svg() -> String {
        // Legend rows first: they decide where the plot starts.
        var legend: [(x: Double, row: Int, series: Series)] = []
        var x = 0.0, row = 0
        let legendWidth = width - 100
        for s in series {
            let w = 34 + Double(s.name.count) * Self.charWidth + 18
            if x > 0 && x + w > legendWidth { x = 0; row += 1 }
            legend.append((x, row, s))
            x += w
        }
        let legendRows = series.isEmpty ? 0 : row + 1
        let left = 90.0, right = 150.0
        let top = 36.0 + Double(legendRows) * 18
        let bottom = 56.0
        let plotW = width - left - right, plotH = height - top - bottom

        let all = series.flatMap(\.points)
        let xs = all.map(\.x)
        var xLo = xs.min() ?? 0, xHi = xs.max() ?? 1
        if xHi <= xLo { xHi = xLo + 1 }
        let xAxis = Axis(lo: xLo, hi: xHi, integral: true)
        xLo = xAxis.lo; xHi = xAxis.hi
        let yAxis: Axis
        if let r = yRange {
            yAxis = Axis(lo: r.lowerBound, hi: r.upperBound, integral: false)
        } else {
            let ys = all.map(\.y) + rules.map(\.y)
            let lo = min(0, ys.min() ?? 0), hi = max(ys.max() ?? 1, 0)
            // Headroom, so that a line at the maximum is not drawn on the frame.
            yAxis = Axis(lo: lo, hi: hi + 0.04 * (hi - lo), integral: yIntegral)
        }
        func px(_ v: Double) -> Double { left + (v - xAxis.lo) / (xAxis.hi - xAxis.lo) * plotW }
        func py(_ v: Double) -> Double { top + plotH - (v - yAxis.lo) / (yAxis.hi - yAxis.lo) * plotH }

        var o = ""
        o += ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(n(width))" height="\##(n(height))" viewBox="0 0 \##(n(width)) \##(n(height))" font-family="sans-serif" font-size="11" role="img">"##
        o += "\n<title>\(Markup.escape(title))</title>\n"
        o += ##"<rect x="0" y="0" width="\##(n(width))" height="\##(n(height))" fill="#ffffff"/>"## + "\n"

        // Legend.
        for item in legend {
            let lx = left + item.x, ly = 18.0 + Double(item.row) * 18
            o += ##"<g class="legend"><line x1="\##(n(lx))" y1="\##(n(ly))" x2="\##(n(lx + 26))" y2="\##(n(ly))" stroke="\##(item.series.color)" stroke-width="3"/>"##
            o += ##"<text x="\##(n(lx + 32))" y="\##(n(ly + 4))">\##(Markup.escape(item.series.name))</text></g>"## + "\n"
        }

        // Grid, ticks and tick labels.
        o += ##"<g class="y-axis" stroke="#dddddd">"##
        for v in yAxis.ticks {
            o += ##"<line x1="\##(n(left))" y1="\##(n(py(v)))" x2="\##(n(left + plotW))" y2="\##(n(py(v)))"/>"##
        }
        o += "</g>\n"
        o += ##"<g class="y-labels" text-anchor="end">"##
        for v in yAxis.ticks {
            o += ##"<text x="\##(n(left - 6))" y="\##(n(py(v) + 4))">\##(yAxis.label(v))</text>"##
        }
        o += "</g>\n"
        o += ##"<g class="x-axis" stroke="#333333">"##
        for v in xAxis.ticks {
            o += ##"<line x1="\##(n(px(v)))" y1="\##(n(top + plotH))" x2="\##(n(px(v)))" y2="\##(n(top + plotH + 5))"/>"##
        }
        o += "</g>\n"
        o += ##"<g class="x-labels" text-anchor="middle">"##
        for v in xAxis.ticks {
            o += ##"<text x="\##(n(px(v)))" y="\##(n(top + plotH + 18))">\##(xLabel?(v) ?? xAxis.label(v))</text>"##
        }
        o += "</g>\n"
        o += ##"<rect x="\##(n(left))" y="\##(n(top))" width="\##(n(plotW))" height="\##(n(plotH))" fill="none" stroke="#333333"/>"## + "\n"

        // Axis titles.
        o += ##"<text class="x-title" x="\##(n(left + plotW / 2))" y="\##(n(height - 12))" text-anchor="middle" font-size="12">\##(Markup.escape(xTitle))</text>"## + "\n"
        let yt = (x: 18.0, y: top + plotH / 2)
        o += ##"<text class="y-title" x="\##(n(yt.x))" y="\##(n(yt.y))" text-anchor="middle" font-size="12" transform="rotate(-90 \##(n(yt.x)) \##(n(yt.y)))">\##(Markup.escape(yTitle))</text>"## + "\n"

        // Watermarks and other rules, labelled in the right margin.
        var labelYs: [Double] = []
        for r in rules where yAxis.lo...yAxis.hi ~= r.y {
            let y = py(r.y)
            o += ##"<line class="rule" x1="\##(n(left))" y1="\##(n(y))" x2="\##(n(left + plotW))" y2="\##(n(y))" stroke="\##(r.color)" stroke-width="1.2" stroke-dasharray="6 4"/>"##
            var ly = y + 4
            while labelYs.contains(where: { abs($0 - ly) < 12 }) { ly += 12 }
            labelYs.append(ly)
            o += ##"<text x="\##(n(left + plotW + 6))" y="\##(n(ly))" fill="\##(r.color)">\##(Markup.escape(r.label))</text>"## + "\n"
        }

        // The data.
        if all.isEmpty {
            o += ##"<text x="\##(n(left + plotW / 2))" y="\##(n(top + plotH / 2))" text-anchor="middle" fill="#777777">no data</text>"## + "\n"
        }
        // Earlier series are drawn wider, so that a later one on top of it
        // (identical figures are common between variants) leaves it visible
        // as a border.
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            let strokeWidth = 1.5 + 2.5 * Double(series.count - 1 - i) / Double(max(1, series.count - 1))
            if s.points.count == 1 {
                let p = s.points[0]
                o += ##"<circle cx="\##(n(px(p.x)))" cy="\##(n(py(p.y)))" r="\##(n(strokeWidth + 1.5))" fill="\##(s.color)"/>"## + "\n"
                continue
            }
            o += ##"<polyline fill="none" stroke="\##(s.color)" stroke-width="\##(n(strokeWidth))" stroke-linejoin="round" points=""##
            var first = true
            for p in s.points {
                if !first { o += " " }
                first = false
                o += "\(n(px(p.x))),\(n(py(p.y)))"
            }
            o += "\"/>\n"
        }
        o += "</svg>"
        return o
    }

    /// A coordinate with one decimal: enough for a screen, short in the file.
    private func n(_ v: Double) -> String { formatFixed(v, 1) }
}

/// An axis with "nice" bounds and ticks (steps of 1, 2 or 5 × 10^k).
struct Axis {
    var lo: Double
    var hi: Double
    var step: Double

    init(lo: Double, hi: Double, integral: Bool, target: Int = 6) {
        var lo = lo, hi = hi
        if hi <= lo { hi = lo + 1 }
        let rough = (hi - lo) / Double(target)
        let magnitude = pow(10, floor(log10(rough)))
        let norm = rough / magnitude
        var step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude
        if integral { step = max(step, 1) }
        lo = floor(lo / step) * step
        hi = ceil(hi / step) * step
        self.lo = lo
        self.hi = hi
        self.step = step
    }

    var ticks: [Double] {
        let count = Int(((hi - lo) / step).rounded())
        return (0...count).map { lo + Double($0) * step }
    }

    /// A tick label: as many decimals as the step needs; k/M/G above 10 000.
    func label(_ v: Double) -> String {
        let m = max(abs(lo), abs(hi))
        for (scale, suffix) in [(1e9, "G"), (1e6, "M"), (1e3, "k")] where m >= 10 * scale {
            return formatFixed(v / scale, Axis.decimals(step / scale)) + suffix
        }
        return formatFixed(v, Axis.decimals(step))
    }

    static func decimals(_ step: Double) -> Int {
        var d = 0
        var s = step
        while d < 6 && abs(s - s.rounded()) > 1e-9 * max(1, abs(s)) {
            s *= 10
            d += 1
        }
        return d
    }
}
