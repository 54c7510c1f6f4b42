import ArgumentParser
import Foundation
import MemModel
import MemStore

/// `memreplay compare TRACE --variant …`: replay one trace under several
/// configurations at once and print their figures side by side.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay one trace under several variants in parallel and compare them side by side.",
        discussion: """
            Each --variant is LABEL:KEY=VALUE[,KEY=VALUE...]: the label, then the replay \
            options that differ from the ones given on the command line, by their long \
            names without dashes; e.g. --variant bitmap:pmm=bitmap --variant \
            big-tlb:pmm=buddy,tlb=256:8. Keys: \(VariantSpec.keys.joined(separator: ", ")) \
            (direct-reclaim=true|false; itlb=none and l2tlb=none remove a TLB). A bare LABEL \
            replays with the common options unchanged.

            The variants become runs that share one comparison_id. They replay all at \
            once (or --jobs at a time), each on a thread of its own, from one decode of the \
            trace: the trace is read and parsed once, however many variants replay it. The \
            figures printed are read back from the database (view comparison), so they \
            equal the stored ones.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @Argument(help: "The trace file (memtrace v1 text or memtrace-bin; .gz and .zst are decompressed).")
    var trace: String

    @Option(name: .customLong("variant"), help: ArgumentHelp(
        "A variant: LABEL:KEY=VALUE[,KEY=VALUE...] (repeat for each).", valueName: "variant"))
    var variantSpecs: [String] = []

    @Option(help: "Results database.")
    var db: String = "results.db"

    @Option(help: "Output format.")
    var format: Format = .table

    @Option(help: "Variants replayed at once, from one decode of the trace (default: all).")
    var jobs: Int?

    @Flag(help: "No progress line on standard error.")
    var quiet = false

    @OptionGroup var settings: ReplaySettings

    func validate() throws {
        guard !variantSpecs.isEmpty else {
            throw ValidationError("give at least one --variant LABEL:KEY=VALUE[,KEY=VALUE...], e.g. --variant buddy:pmm=buddy")
        }
        let specs = try variantSpecs.map(VariantSpec.init(parsing:))
        var seen: Set<String> = []
        for s in specs where !seen.insert(s.label).inserted {
            throw ValidationError("--variant label '\(s.label)' is used twice; labels name the columns and must differ")
        }
        for s in specs { _ = try s.apply(to: settings) }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        installInterruptHandlers()
        let variants = try variantSpecs.map { spec in
            let v = try VariantSpec(parsing: spec)
            return ComparisonJob.Variant(label: v.label, options: try v.apply(to: settings))
        }
        let progress = ProgressLine.make(trace: trace, title: "\((trace as NSString).lastPathComponent) × \(variants.count)",
                                         parts: variants.count, quiet: quiet)
        var report: ComparisonJob.Progress? = nil
        if let progress {
            report = { @Sendable part, bytes, events in progress.update(part: part, bytes: bytes, events: events) }
        }
        let outcome: ComparisonJob.Outcome
        do {
            outcome = try ComparisonJob.run(
                trace: trace, variants: variants, db: db,
                threads: jobs, progress: report)
        } catch {
            progress?.clear()
            printError("memreplay: \(error)")
            throw ExitCode(2)
        }
        progress?.clear()
        for (i, message) in outcome.errors.sorted(by: { $0.key < $1.key }) {
            printError("variant \(variants[i].label): \(message)")
        }
        let store = try ResultStore(path: db)
        let rows = try store.summaries(comparison: outcome.comparisonID)
        switch format {
        case .table: print(Self.table(rows, comparison: outcome.comparisonID, trace: trace), terminator: "")
        case .csv: print(Self.csv(rows), terminator: "")
        case .json: print(Self.json(rows, comparison: outcome.comparisonID, trace: trace), terminator: "")
        }
        if !outcome.errors.isEmpty { throw ExitCode(1) }
        try exitIfInterrupted()
    }

    /// The variants as columns, the figures as rows, rounded for reading.
    static func table(_ rows: [RunSummary], comparison: Int64, trace: String) -> String {
        var lines: [(String, [String])] = [
            ("run", rows.map { String($0.runID) }),
            ("pmm", rows.map(\.pmm)),
            ("status", rows.map(\.status)),
            ("events", rows.map { String($0.events) }),
            ("ticks", rows.map { String($0.ticks) }),
        ]
        for m in RunSummary.Metric.all {
            lines.append((m.title, rows.map { m.format($0.value(m)) }))
        }
        let header = rows.map(\.name)
        let first = lines.map(\.0.count).max() ?? 0
        let widths = rows.indices.map { i in max(header[i].count, lines.map { $0.1[i].count }.max() ?? 0) }
        func row(_ title: String, _ cells: [String]) -> String {
            var s = title.padding(toLength: first, withPad: " ", startingAt: 0)
            for (c, w) in zip(cells, widths) {
                s += "  " + String(repeating: " ", count: w - c.count) + c
            }
            return s + "\n"
        }
        var out = "comparison \(comparison): \(trace), \(rows.count) variant\(rows.count == 1 ? "" : "s")\n"
        out += row("", header)
        for (title, cells) in lines { out += row(title, cells) }
        return out
    }

    /// A row per variant, every figure exactly as stored (empty for NULL).
    static func csv(_ rows: [RunSummary]) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        let metrics = RunSummary.Metric.all
        var out = (["comparison_id", "run_id", "label", "trace", "pmm", "status", "events", "ticks"]
                   + metrics.map(\.column)).joined(separator: ",") + "\n"
        for r in rows {
            let cells = [r.comparisonID.map(String.init) ?? "", String(r.runID), r.label ?? "", r.trace, r.pmm,
                         r.status, String(r.events), String(r.ticks)] + metrics.map { $0.exact(r.value($0)) ?? "" }
            out += cells.map(field).joined(separator: ",") + "\n"
        }
        return out
    }

    /// `{"comparison_id", "trace", "variants": [...]}`, figures exactly as stored.
    static func json(_ rows: [RunSummary], comparison: Int64, trace: String) -> String {
        func string(_ s: String) -> String {
            var out = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if c.value < 0x20 {
                        out += String(format: "\\u%04x", c.value)
                    } else {
                        out.unicodeScalars.append(c)
                    }
                }
            }
            return out + "\""
        }
        var variants: [String] = []
        for r in rows {
            var fields = [
                ("run_id", String(r.runID)), ("label", r.label.map(string) ?? "null"),
                ("pmm", string(r.pmm)), ("status", string(r.status)),
                ("events", String(r.events)), ("ticks", String(r.ticks)),
            ]
            for m in RunSummary.Metric.all {
                fields.append((m.column, m.exact(r.value(m)).map { v in
                    r.value(m)!.isFinite ? v : "null"
                } ?? "null"))
            }
            variants.append("    {" + fields.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}")
        }
        return """
            {
              "comparison_id": \(comparison),
              "trace": \(string(trace)),
              "variants": [
            \(variants.joined(separator: ",\n"))
              ]
            }

            """
    }
}
