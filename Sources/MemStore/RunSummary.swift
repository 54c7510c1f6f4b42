import Foundation

/// A row of the `run_summary` view: the figures `compare` prints and the
/// report's table shows, read back from the database so that what is printed
/// is what is stored.
public struct RunSummary: Sendable, Equatable {
    public var runID: Int64
    public var label: String?
    public var comparisonID: Int64?
    public var trace: String
    public var pmm: String
    public var status: String
    public var events: Int64
    public var ticks: Int64
    /// The value of each of ``Metric/all``, by column name; `nil` for SQL NULL
    /// (no ticks, no TLB lookups, a run that did not finish).
    public var values: [String: Double?]

    public func value(_ m: Metric) -> Double? { values[m.column] ?? nil }

    /// A display name: the label, else `run N`.
    public var name: String { label ?? "run \(runID)" }

    /// A figure of the summary: its `run_summary` column and how it is shown.
    public struct Metric: Sendable, Equatable {
        public let column: String
        public let title: String
        /// Decimals in tables; 0 for counts.
        public let decimals: Int
        /// Shown as a percentage (×100) in tables; stored as a fraction.
        public let percent: Bool
        /// An INTEGER column (a count), printed without a fraction.
        public let integer: Bool

        init(_ column: String, _ title: String, decimals: Int = 0, percent: Bool = false, integer: Bool = false) {
            self.column = column
            self.title = title
            self.decimals = decimals
            self.percent = percent
            self.integer = integer
        }

        /// The comparison's figures, in the order tables list them.
        public static let all: [Metric] = [
            .init("peak_usage_pct", "peak usage %", decimals: 2),
            .init("mean_usage_pct", "mean usage %", decimals: 2),
            .init("max_frag_index", "max frag_index", decimals: 4),
            .init("mean_frag_index", "mean frag_index", decimals: 4),
            .init("oom", "OOMs", integer: true),
            .init("pages_reclaimed", "pages reclaimed", integer: true),
            .init("kswapd_wakeups", "kswapd wakeups", integer: true),
            .init("tlb_miss_rate", "TLB miss rate %", decimals: 3, percent: true),
            .init("peak_pagetable_pages", "page-table pages (peak)", integer: true),
            .init("peak_slab_waste_bytes", "slab waste bytes (peak)", integer: true),
            .init("wall_seconds", "wall time s", decimals: 3),
            .init("events_per_second", "events/s"),
        ]

        /// `v` exactly as stored, for machine-readable output: an integer,
        /// or the shortest decimal that reads back as the same double;
        /// `nil` for NULL.
        public func exact(_ v: Double?) -> String? {
            guard let v else { return nil }
            return integer ? String(Int64(v)) : "\(v)"
        }

        /// `v` as a table shows it: rounded to ``decimals``, ×100 for
        /// percentages, `-` for NULL.
        public func format(_ v: Double?) -> String {
            guard let v else { return "-" }
            return formatFixed(percent ? v * 100 : v, decimals)
        }
    }
}

extension ResultStore {
    /// The `run_summary` rows of the given runs, in run order.
    public func summaries(runs: [Int64]) throws -> [RunSummary] {
        guard !runs.isEmpty else { return [] }
        let list = runs.map(String.init).joined(separator: ", ")
        return try summaries(where: "run_id IN (\(list))")
    }

    /// The runs of a comparison, in variant order.
    public func summaries(comparison: Int64) throws -> [RunSummary] {
        try summaries(from: "comparison", where: "comparison_id = \(comparison)")
    }

    /// Every run in the database.
    public func allSummaries() throws -> [RunSummary] {
        try summaries(where: "1")
    }

    private func summaries(from view: String = "run_summary", where condition: String) throws -> [RunSummary] {
        let metrics = RunSummary.Metric.all
        let st = try db.prepare("""
            SELECT run_id, label, comparison_id, trace, pmm, status, events, ticks, \
            \(metrics.map(\.column).joined(separator: ", "))
            FROM \(view) WHERE \(condition) ORDER BY run_id
            """)
        var out: [RunSummary] = []
        while try st.step() {
            var values: [String: Double?] = [:]
            for (i, m) in metrics.enumerated() {
                let c = Int32(8 + i)
                values[m.column] = st.isNull(c) ? .some(nil) : st.double(c)
            }
            out.append(RunSummary(
                runID: st.int(0), label: st.text(1), comparisonID: st.isNull(2) ? nil : st.int(2),
                trace: st.text(3) ?? "", pmm: st.text(4) ?? "", status: st.text(5) ?? "",
                events: st.int(6), ticks: st.int(7), values: values))
        }
        return out
    }
}

/// `v` with exactly `decimals` digits after the point (none for 0),
/// rounded half away from zero; no exponent, no grouping.
public func formatFixed(_ v: Double, _ decimals: Int) -> String {
    guard v.isFinite else { return "\(v)" }
    var p = 1.0
    for _ in 0..<decimals { p *= 10 }
    let scaled = (abs(v) * p).rounded()
    let negative = v < 0 && scaled != 0
    var digits = scaled < 1e18 ? String(UInt64(scaled)) : String(format: "%.0f", scaled)
    if decimals > 0 {
        if digits.count <= decimals {
            digits = String(repeating: "0", count: decimals - digits.count + 1) + digits
        }
        digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
    }
    return negative ? "-" + digits : digits
}
