import Foundation
import Testing
import TestSupport
import MemStore

/// `memreplay compare`, run as a user would.
@Suite struct CompareTests {
    typealias CLI = CommandLineTests
    static let reclaim = CLI.root + "/traces/reclaim.trace"
    static let processes = CLI.root + "/traces/processes.trace"

    func tempDir() -> String {
        scratchDirectory("cmp")
    }

    /// A value of `run_summary` as the double SQLite stores (nil for NULL).
    static func stored(_ store: ResultStore, _ column: String, run: Int64) throws -> Double? {
        let st = try store.db.prepare("SELECT \(column) FROM run_summary WHERE run_id = ?")
        st.bind(1, run)
        guard try st.step(), !st.isNull(0) else { return nil }
        return st.double(0)
    }

    @Test func twoVariantsShareAComparisonAndEqualSeparateReplays() throws {
        let db = tempDir() + "/r.db"
        let r = try CLI.run(["compare", Self.processes, "--db", db, "--tick-every", "3",
                             "--variant", "bitmap:pmm=bitmap", "--variant", "big-tlb:pmm=buddy,tlb=256:8"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err == "")  // no progress line when standard error is not a terminal
        #expect(try CLI.run(["replay", "--db", db, "--tick-every", "3", "--pmm", "bitmap", Self.processes]).status == 0)
        #expect(try CLI.run(["replay", "--db", db, "--tick-every", "3", "--pmm", "buddy", "--tlb", "256:8", Self.processes]).status == 0)

        let store = try ResultStore(path: db)
        let runs = try store.db.rows("SELECT run_id, label, pmm, comparison_id, status FROM runs ORDER BY run_id")
        #expect(runs == [["1", "bitmap", "bitmap", "1", "ok"], ["2", "big-tlb", "buddy", "1", "ok"],
                         ["3", nil, "bitmap", nil, "ok"], ["4", nil, "buddy", nil, "ok"]])
        let columns = TickColumns.all.map(\.name).joined(separator: ", ")
        for (compared, alone) in [(1, 3), (2, 4)] {
            let a = try store.db.rows("SELECT \(columns) FROM tick_metrics WHERE run_id = ? ORDER BY tick", [.int(Int64(compared))])
            let b = try store.db.rows("SELECT \(columns) FROM tick_metrics WHERE run_id = ? ORDER BY tick", [.int(Int64(alone))])
            #expect(a.count > 10)
            #expect(a == b, "run \(compared) differs from run \(alone)")
        }
        let tlb = "SELECT json_extract(config, '$.tlb.entries'), json_extract(config, '$.tlb.ways') FROM runs WHERE run_id = ?"
        #expect(try store.db.rows(tlb, [.int(2)]) == [["256", "8"]])
    }

    @Test func tableShowsTheStoredFiguresSideBySide() throws {
        let db = tempDir() + "/t.db"
        let r = try CLI.run(["compare", Self.reclaim, "--db", db, "--variant", "bitmap:pmm=bitmap", "--variant", "buddy:pmm=buddy"])
        #expect(r.status == 0)
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines[0] == "comparison 1: \(Self.reclaim), 2 variants")
        #expect(lines[1].split(separator: " ") == ["bitmap", "buddy"])
        let store = try ResultStore(path: db)
        for m in RunSummary.Metric.all {
            let line = lines.first { $0.hasPrefix(m.title + "  ") }
            let cells = line.map { $0.dropFirst(m.title.count).split(separator: " ").map(String.init) }
            #expect(cells == [m.format(try Self.stored(store, m.column, run: 1)), m.format(try Self.stored(store, m.column, run: 2))],
                    "\(m.title)")
        }
        let reclaimed = lines.first { $0.hasPrefix("pages reclaimed ") }?.split(separator: " ").suffix(2)
        #expect(reclaimed.map(Array.init) == ["50", "71"])
    }

    @Test func csvAndJSONCarryTheStoredFiguresExactly() throws {
        let db = tempDir() + "/f.db"
        let args = ["compare", Self.processes, "--db", db, "--variant", "bitmap:pmm=bitmap", "--variant", "stack:pmm=stack,tlb=16:full"]
        let csv = try CLI.run(args + ["--format", "csv"])
        #expect(csv.status == 0)
        let json = try CLI.run(args + ["--format", "json"])
        #expect(json.status == 0)
        let store = try ResultStore(path: db)

        let rows = csv.out.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 3)
        let header = rows[0]
        #expect(header.prefix(8) == ["comparison_id", "run_id", "label", "trace", "pmm", "status", "events", "ticks"])
        #expect(rows[1].prefix(6) == ["1", "1", "bitmap", Self.processes, "bitmap", "ok"])
        #expect(rows[2].prefix(6) == ["1", "2", "stack", Self.processes, "stack", "ok"])
        for row in rows.dropFirst() {
            let run = Int64(row[1])!
            for m in RunSummary.Metric.all {
                let field = row[header.firstIndex(of: m.column)!]
                #expect((field.isEmpty ? nil : Double(field)) == (try Self.stored(store, m.column, run: run)), "\(m.column) of run \(run)")
            }
        }
        // The second call was comparison 2; JSON figures equal its stored ones.
        // (JSONDecoder, not JSONSerialization: on Linux the latter does not
        // read every double back exactly.)
        let object = try JSONDecoder().decode(JSONComparison.self, from: Data(json.out.utf8))
        #expect(object.comparison_id == 2)
        #expect(object.trace == Self.processes)
        #expect(object.variants.map { $0["label"] } == [.string("bitmap"), .string("stack")])
        for v in object.variants {
            guard case .number(let id) = v["run_id"] else { Issue.record("no run_id"); continue }
            let run = Int64(id)
            #expect([3, 4].contains(run))
            for m in RunSummary.Metric.all {
                let value: Double?
                switch v[m.column] {
                case .number(let x): value = x
                case .null: value = nil
                default: Issue.record("\(m.column) missing"); continue
                }
                #expect(value == (try Self.stored(store, m.column, run: run)), "\(m.column) of run \(run)")
            }
        }
        if case .number = object.variants.first?["tlb_miss_rate"] {} else {
            Issue.record("processes.trace makes TLB lookups: tlb_miss_rate should be a number")
        }
    }

    struct JSONComparison: Decodable {
        var comparison_id: Int
        var trace: String
        var variants: [[String: Cell]]

        enum Cell: Decodable, Equatable {
            case number(Double), string(String), null
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if c.decodeNil() { self = .null }
                else if let x = try? c.decode(Double.self) { self = .number(x) }
                else { self = .string(try c.decode(String.self)) }
            }
        }
    }

    @Test func badVariantsAreExplained() throws {
        let unknown = try CLI.run(["compare", Self.reclaim, "--variant", "a:pmm=buddy,colour=red"])
        #expect(unknown.status == 64)
        #expect(unknown.err.contains("unknown key 'colour'; valid keys: pmm, mem, reserve, nodes, tlb, itlb, l2tlb, seed, high, low, slab, page-cache-policy, numa-policy, direct-reclaim, tick-every, check-every, slabinfo-every"))
        let value = try CLI.run(["compare", Self.reclaim, "--variant", "a:pmm=slab"])
        #expect(value.err.contains("--variant a: pmm=slab: expected bitmap, stack, buddy"))
        let twice = try CLI.run(["compare", Self.reclaim, "--variant", "a:pmm=buddy", "--variant", "a:pmm=stack"])
        #expect(twice.err.contains("label 'a' is used twice"))
        let marks = try CLI.run(["compare", Self.reclaim, "--high", "70", "--variant", "a:low=75"])
        #expect(marks.err.contains("--variant a: --low 75 must be below --high 70"))
        let none = try CLI.run(["compare", Self.reclaim])
        #expect(none.status == 64)
        #expect(none.err.contains("at least one --variant"))
        let pair = try CLI.run(["compare", Self.reclaim, "--variant", "a:pmm"])
        #expect(pair.err.contains("'pmm' is not KEY=VALUE"))
        let repeated = try CLI.run(["compare", Self.reclaim, "--variant", "a:pmm=buddy,tlb=64:4,pmm=stack"])
        #expect(repeated.err.contains("--variant 'a:pmm=buddy,tlb=64:4,pmm=stack': 'pmm' is set twice"))
        for r in [value, twice, marks, pair, repeated] { #expect(r.status == 64) }
    }

    @Test func directReclaimAndBaseOptionsReachTheVariants() throws {
        let db = tempDir() + "/o.db"
        let r = try CLI.run(["compare", Self.reclaim, "--db", db, "--seed", "9", "--variant", "base",
                             "--variant", "strict:direct-reclaim=false,high=90,low=10,itlb=8:full,page-cache-policy=clock"])
        #expect(r.status == 0, "\(r.err)")
        let store = try ResultStore(path: db)
        let config = """
            SELECT json_extract(config, '$.seed'), json_extract(config, '$.directReclaim'), json_extract(config, '$.highWatermark'),
                   json_extract(config, '$.lowWatermark'), json_extract(config, '$.itlb.entries'), json_extract(config, '$.pageCachePolicy')
            FROM runs ORDER BY run_id
            """
        #expect(try store.db.rows(config) == [["9", "1", "80", "60", nil, "lru"], ["9", "0", "90", "10", "8", "clock"]])
    }

    /// The progress line: drawn on a terminal (a pseudo-terminal from
    /// script(1) here), erased at the end, absent with --quiet.
    @Test func progressLineOnATerminalOnly() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            Issue.record("/usr/bin/script (util-linux) is needed to run memreplay on a pseudo-terminal")
            return
        }
        let dir = tempDir()
        let trace = dir + "/long.trace"
        #expect(try CLI.run(["gen", "mixed", "--events", "400000", "-o", trace]).status == 0)
        func onTerminal(_ args: [String]) throws -> String {
            let command = ([CLI.binary] + args).map { "'\($0)'" }.joined(separator: " ")
            return try CLI.run(["-qec", command, "/dev/null"], executable: "/usr/bin/script").out
        }
        let shown = try onTerminal(["replay", "--db", dir + "/a.db", trace])
        #expect(shown.contains("\r\u{1B}[Klong.trace: "))
        #expect(shown.contains(" events/s, ETA "))
        #expect(shown.contains("\r\u{1B}[Krun 1: "), "the line is erased before the summary")
        let quiet = try onTerminal(["replay", "--quiet", "--db", dir + "/b.db", trace])
        #expect(quiet == "")
        let compared = try onTerminal(["compare", "--db", dir + "/c.db", "--variant", "a", "--variant", "b:pmm=buddy", trace])
        #expect(compared.contains("\r\u{1B}[Klong.trace × 2: "))
        #expect(compared.contains("\r\u{1B}[Kcomparison 1: "))
    }
}
