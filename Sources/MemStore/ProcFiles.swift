/// A run's state at one tick printed as the kernel prints its `/proc` files,
/// so the kernel's own tools and habits apply (`memreplay show`).
///
/// Formats from Linux 3.6 `mm/vmstat.c`: `frag_show_print()` (L800–808) for
/// buddyinfo, `pagetypeinfo_showfree_print()` (L821–845) and
/// `pagetypeinfo_showblockcount_print()` (L863–895) for pagetypeinfo, and
/// `"%s %lu\n"` per counter for vmstat. The model has one zone per node,
/// which it calls `Normal`, and no MIGRATE_ISOLATE pageblocks (a zero row,
/// as the kernel prints it without hot-remove).
public enum ProcFiles {
    public enum File: String, CaseIterable, Sendable {
        case buddyinfo, pagetypeinfo, vmstat
    }

    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// `file` for run `run` at the close of tick `tick`.
    public static func render(_ file: File, store: ResultStore, run: Int64, tick: Int64) throws -> String {
        guard try store.db.scalar("SELECT count(*) FROM runs WHERE run_id = \(run)") == 1 else {
            throw Missing(description: "no run \(run) in \(store.db.path)")
        }
        guard try store.db.scalar("SELECT count(*) FROM tick_metrics WHERE run_id = \(run) AND tick = \(tick)") == 1 else {
            let ticks = try store.db.rows("SELECT min(tick), max(tick) FROM tick_metrics WHERE run_id = \(run)").first ?? []
            guard let first = ticks.first.flatMap({ $0 }), let last = ticks.last.flatMap({ $0 }) else {
                let status = try store.db.rows("SELECT status, error FROM runs WHERE run_id = \(run)").first ?? []
                let why = status.count > 1 ? (status[1].map { ": \($0)" } ?? "") : ""
                throw Missing(description: "run \(run) has no tick rows (\(status.first.flatMap { $0 } ?? "?")\(why))")
            }
            throw Missing(description: "run \(run) has no row for tick \(tick) (its ticks run from \(first) to \(last); skipped tick numbers have none)")
        }
        switch file {
        case .buddyinfo: return try buddyinfo(store, run, tick)
        case .pagetypeinfo: return try pagetypeinfo(store, run, tick)
        case .vmstat: return try vmstat(store, run, tick)
        }
    }

    static let orders = (0...10).map { "free_o\($0)" }.joined(separator: ", ")

    /// Free blocks per order and node: from `pagetypeinfo` summed over the
    /// types when the run has it, else the run's totals (one node).
    static func freeBlocksPerNode(_ store: ResultStore, _ run: Int64, _ tick: Int64) throws -> [(Int, [String])] {
        let sums = (0...10).map { "sum(free_o\($0))" }.joined(separator: ", ")
        let typed = try store.db.rows("SELECT node, \(sums) FROM pagetypeinfo WHERE run_id = \(run) AND tick = \(tick) GROUP BY node ORDER BY node")
        if !typed.isEmpty { return typed.map { (Int($0[0]!)!, $0.dropFirst().map { $0 ?? "0" }) } }
        let nodes = try store.db.scalar("SELECT count(*) FROM node_metrics WHERE run_id = \(run) AND tick = \(tick)") ?? 1
        guard nodes <= 1 else {
            throw Missing(description: "run \(run) has \(nodes) nodes but free blocks per order only in total; per-node buddyinfo needs a --pmm buddy-mobility run (its pagetypeinfo rows)")
        }
        let row = try store.db.rows("SELECT \(orders) FROM tick_metrics WHERE run_id = \(run) AND tick = \(tick)")
        return [(0, row[0].map { $0 ?? "0" })]
    }

    static func buddyinfo(_ store: ResultStore, _ run: Int64, _ tick: Int64) throws -> String {
        try freeBlocksPerNode(store, run, tick).map { node, blocks in
            "Node \(node), zone \(pad("Normal", 8)) " + blocks.map { pad($0, 6) + " " }.joined() + "\n"
        }.joined()
    }

    static func pagetypeinfo(_ store: ResultStore, _ run: Int64, _ tick: Int64) throws -> String {
        let rows = try store.db.rows("SELECT node, migratetype, \(orders), pageblocks FROM pagetypeinfo WHERE run_id = \(run) AND tick = \(tick)")
        guard !rows.isEmpty else {
            let pmm = try store.db.rows("SELECT pmm FROM runs WHERE run_id = \(run)").first?.first.flatMap { $0 } ?? "?"
            throw Missing(description: "run \(run) (--pmm \(pmm)) has no pagetypeinfo rows: only --pmm buddy-mobility groups pages by mobility")
        }
        let names = ["Unmovable", "Reclaimable", "Movable", "Reserve", "Isolate"]
        var byNode: [Int: [String: [String?]]] = [:]
        for r in rows { byNode[Int(r[0]!)!, default: [:]][r[1]!] = Array(r.dropFirst(2)) }
        var out = "Page block order: 10\nPages per block:  1024\n\n"
        out += pad("Free pages count per migrate type at order", -43) + " " + (0...10).map { pad("\($0)", 6) + " " }.joined() + "\n"
        for (node, types) in byNode.sorted(by: { $0.key < $1.key }) {
            for name in names {
                let values = types[name].map { Array($0.prefix(11)) } ?? Array(repeating: "0", count: 11)
                out += "Node \(pad("\(node)", 4)), zone \(pad("Normal", 8)), type \(pad(name, 12)) " + values.map { pad($0 ?? "0", 6) + " " }.joined() + "\n"
            }
        }
        out += "\n" + pad("Number of blocks type ", -23) + names.map { pad($0, 12) + " " }.joined() + "\n"
        for (node, types) in byNode.sorted(by: { $0.key < $1.key }) {
            out += "Node \(node), zone \(pad("Normal", 8)) " + names.map { pad((types[$0]?.last ?? "0") ?? "0", 12) + " " }.joined() + "\n"
        }
        return out
    }

    /// The `/proc/vmstat` lines the model has a figure for: gauges at the
    /// tick's close, event counts summed from the run's start.
    static let vmstatLines: [(name: String, column: String, counter: Bool)] = [
        ("nr_free_pages", "free_pages", false),
        ("nr_slab_unreclaimable", "slab_pages", false),
        ("nr_page_table_pages", "pagetable_pages", false),
        ("nr_file_pages", "pagecache_pages", false),
        ("nr_dirty", "pagecache_dirty", false),
        ("pgfault", "page_faults", true),
        ("allocstall", "direct_reclaims", true),
        ("pgmigrate_success", "pgmigrate_success", true),
        ("compact_migrate_scanned", "compact_migrate_scanned", true),
        ("compact_free_scanned", "compact_free_scanned", true),
        ("compact_isolated", "compact_isolated", true),
        ("compact_stall", "compact_stall", true),
        ("compact_fail", "compact_fail", true),
        ("compact_success", "compact_success", true),
        ("compact_daemon_wake", "compact_proactive_runs", true),
    ]

    static func vmstat(_ store: ResultStore, _ run: Int64, _ tick: Int64) throws -> String {
        var out = ""
        for line in vmstatLines {
            let sql = line.counter
                ? "SELECT sum(\(line.column)) FROM tick_metrics WHERE run_id = \(run) AND tick <= \(tick)"
                : "SELECT \(line.column) FROM tick_metrics WHERE run_id = \(run) AND tick = \(tick)"
            let v = try store.db.scalar(sql) ?? 0
            out += "\(line.name) \(v)\n"
        }
        return out
    }

    /// `%Ns` (right-aligned) for positive `width`, `%-Ns` for negative.
    static func pad(_ s: String, _ width: Int) -> String {
        let n = abs(width) - s.count
        guard n > 0 else { return s }
        let fill = String(repeating: " ", count: n)
        return width > 0 ? fill + s : s + fill
    }
}
