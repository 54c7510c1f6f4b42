import Foundation
import Testing
import TestSupport
import MemModel
import MemTrace
@testable import MemStore
@testable import memreplay

/// Variants replayed in parallel into one file give the rows that replays
/// one at a time give.
@Suite struct ComparisonJobTests {
    /// The rows of a run, every column but run_id, in key order.
    static func rows(_ store: ResultStore, run: Int64) throws -> (ticks: [[String?]], slabinfo: [[String?]], processes: [[String?]]) {
        let tickColumns = TickColumns.all.map(\.name).joined(separator: ", ")
        return (
            try store.db.rows("SELECT \(tickColumns) FROM tick_metrics WHERE run_id = ? ORDER BY tick", [.int(run)]),
            try store.db.rows("SELECT tick, name, active_objs, num_objs, objsize, objperslab, pagesperslab, num_slabs FROM slabinfo WHERE run_id = ? ORDER BY tick, name", [.int(run)]),
            try store.db.rows("SELECT pid, parent, spawned_tick, exited_tick, peak_resident, resident, faults, cow_faults, segv FROM processes WHERE run_id = ? ORDER BY pid, spawned_tick", [.int(run)])
        )
    }

    /// Replays the variants one by one into another database and expects
    /// the comparison's runs `runIDs` in `store` to hold the same rows.
    static func expectRowsOfSeparateReplays(_ trace: String, _ variants: [ComparisonJob.Variant], _ store: ResultStore,
                                            _ runIDs: [Int64], ticksAbove: Int) throws {
        let alone = try ResultStore(path: temporaryPath("alone.db"))
        for (i, v) in variants.enumerated() {
            let run = try ReplayJob.run(trace: trace, options: v.options, label: v.label, store: alone).runID
            let a = try rows(store, run: runIDs[i]), b = try rows(alone, run: run)
            #expect(a.ticks.count > ticksAbove)
            #expect(a.ticks == b.ticks, "tick_metrics of \(v.label)")
            #expect(a.slabinfo == b.slabinfo, "slabinfo of \(v.label)")
            #expect(a.processes == b.processes, "processes of \(v.label)")
            let config = "SELECT config, events, ticks FROM runs WHERE run_id = ?"
            #expect(try store.db.rows(config, [.int(runIDs[i])]) == alone.db.rows(config, [.int(run)]))
        }
    }

    static func variant(_ label: String, _ edit: (inout ReplayOptions) -> Void) -> ComparisonJob.Variant {
        var o = ReplayOptions()
        edit(&o)
        return .init(label: label, options: o)
    }

    @Test func parallelVariantsEqualSeparateReplays() throws {
        // Long enough that every variant flushes its rows many times, so the
        // writers' transactions interleave.
        let trace = temporaryPath("mixed.trace")
        try generate(.mixed, events: 60_000, seed: 7, to: TraceWriter(path: trace))
        let variants = [
            Self.variant("bitmap") { $0.machine.pmm = .bitmap; $0.machine.tickEvery = 10 },
            Self.variant("buddy") { $0.machine.pmm = .buddy; $0.machine.tickEvery = 10 },
            Self.variant("big-tlb") { $0.machine.pmm = .stack; $0.machine.tickEvery = 10; $0.machine.tlb = TLBSpec(entries: 256, ways: 8, policy: .lru) },
            Self.variant("fifo-cache") { $0.machine.pmm = .buddy; $0.machine.tickEvery = 7; $0.machine.pageCachePolicy = .fifo },
        ]
        let db = temporaryPath("cmp.db")
        let outcome = try ComparisonJob.run(trace: trace, variants: variants, db: db, threads: 3)
        #expect(outcome.errors.isEmpty)
        #expect(outcome.comparisonID == 1)
        #expect(outcome.runIDs == [1, 2, 3, 4])

        let store = try ResultStore(path: db)
        let runs = try store.db.rows("SELECT run_id, label, comparison_id, status FROM runs ORDER BY run_id")
        #expect(runs == [["1", "bitmap", "1", "ok"], ["2", "buddy", "1", "ok"], ["3", "big-tlb", "1", "ok"], ["4", "fifo-cache", "1", "ok"]])
        #expect(try store.db.rows("PRAGMA integrity_check") == [["ok"]])

        try Self.expectRowsOfSeparateReplays(trace, variants, store, outcome.runIDs, ticksAbove: 1000)

        // A second comparison gets the next id.
        let again = try ComparisonJob.run(trace: packageRoot + "/traces/basic.trace", variants: Array(variants.prefix(2)), db: db)
        #expect(again.comparisonID == 2)
        #expect(again.runIDs == [5, 6])
    }

    @Test func comparisonViewListsTheVariantsWithTheirSummaries() throws {
        let db = temporaryPath("view.db")
        let variants = [Self.variant("b") { $0.machine.pmm = .bitmap }, Self.variant("y") { $0.machine.pmm = .buddy }]
        let outcome = try ComparisonJob.run(trace: packageRoot + "/traces/reclaim.trace", variants: variants, db: db)
        let store = try ResultStore(path: db)
        let view = try store.db.rows("SELECT run_id, label, pmm, pages_reclaimed, wall_seconds > 0, events_per_second > 0 FROM comparison WHERE comparison_id = ? ORDER BY run_id", [.int(outcome.comparisonID)])
        #expect(view == [["1", "b", "bitmap", "50", "1", "1"], ["2", "y", "buddy", "71", "1", "1"]])
        let summaries = try store.summaries(comparison: outcome.comparisonID)
        #expect(summaries.map(\.label) == ["b", "y"])
        #expect(summaries.map(\.comparisonID) == [1, 1])
        let summary = try store.db.rows("SELECT pages_reclaimed, comparison_id FROM run_summary ORDER BY run_id")
        #expect(summary == [["50", "1"], ["71", "1"]])
        // A plain replay is no comparison's.
        _ = try ReplayJob.run(trace: packageRoot + "/traces/basic.trace", options: ReplayOptions(), label: nil, store: store)
        #expect(try store.db.scalar("SELECT count(*) FROM comparison") == 2)
    }

    @Test func aFailingVariantIsRecordedAndTheOthersFinish() throws {
        let bad = writeTrace("memtrace 1\npalloc a 1\npfree b\n", name: "bad.trace")
        let variants = [Self.variant("small") { _ in }, Self.variant("also") { $0.machine.pmm = .buddy }]
        let db = temporaryPath("fail.db")
        let outcome = try ComparisonJob.run(trace: bad, variants: variants, db: db)
        #expect(outcome.errors.count == 2)
        let store = try ResultStore(path: db)
        #expect(try store.db.rows("SELECT status FROM runs ORDER BY run_id") == [["failed"], ["failed"]])
        // And a variant whose options the trace's machine refuses fails alone.
        let mixed = [Self.variant("ok") { _ in }, Self.variant("numa") { $0.nodes = 3 }]  // 256 frames do not split into 3 nodes
        let second = try ComparisonJob.run(trace: packageRoot + "/traces/basic.trace", variants: mixed, db: db)
        #expect(Array(second.errors.keys) == [1])
        #expect(try store.db.rows("SELECT label, status FROM runs WHERE comparison_id = 2 ORDER BY run_id") == [["ok", "ok"], ["numa", "failed"]])
    }

    /// Eight variants from one decode, over more batches than the ring
    /// holds, equal eight replays of their own.
    @Test func eightVariantsFromOneDecodeEqualSeparateReplays() throws {
        let trace = temporaryPath("access.trace")
        try generate(.access, events: 120_000, seed: 3, to: TraceWriter(path: trace))
        let shapes: [(Int, Int, TLBReplacementKind)] = [(64, 4, .lru), (64, 4, .fifo), (512, 512, .lru), (16, 1, .lru),
                                                         (128, 8, .plru), (64, 64, .fifo), (256, 4, .random), (32, 32, .lru)]
        let variants = shapes.enumerated().map { k, shape in
            Self.variant("v\(k)") { $0.machine.tickEvery = 1000; $0.machine.tlb = TLBSpec(entries: shape.0, ways: shape.1, policy: shape.2) }
        }
        let db = temporaryPath("eight.db")
        let outcome = try ComparisonJob.run(trace: trace, variants: variants, db: db)
        #expect(outcome.errors.isEmpty)
        try Self.expectRowsOfSeparateReplays(trace, variants, ResultStore(path: db), outcome.runIDs, ticksAbove: 100)
    }

    /// Every bundled trace from one decode equals separate replays — with
    /// the cache a trace declares right after its directives (read with
    /// them, outside any batch) named in slabinfo, not `?`.
    @Test func bundledTracesFromOneDecodeEqualSeparateReplays() throws {
        let traces = try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/traces")
            .filter { $0.hasSuffix(".trace") || $0.hasSuffix(".trace.zst") }
        #expect(traces.count >= 7)
        let variants = [Self.variant("stack") { $0.machine.pmm = .stack }, Self.variant("buddy") { $0.machine.pmm = .buddy }]
        for name in traces {
            let trace = packageRoot + "/traces/" + name
            let db = temporaryPath("bundled.db")
            let outcome = try ComparisonJob.run(trace: trace, variants: variants, db: db)
            #expect(outcome.errors.isEmpty, "\(name)")
            try Self.expectRowsOfSeparateReplays(trace, variants, ResultStore(path: db), outcome.runIDs, ticksAbove: 0)
        }
        let db = temporaryPath("reclaim.db")
        let outcome = try ComparisonJob.run(trace: packageRoot + "/traces/reclaim.trace", variants: variants, db: db)
        let reclaim = try ResultStore(path: db)
        #expect(try reclaim.db.rows("SELECT DISTINCT name FROM slabinfo WHERE run_id = ? ORDER BY name", [.int(outcome.runIDs[0])])
                    .contains(["dentry"]))
    }

    /// Errors under a shared decode read as a replay of its own words them:
    /// a model error naming a handle whose id the reader has since given to
    /// another name, and a syntax error after many good batches.
    @Test func errorsFromASharedDecodeEqualThoseOfSeparateReplays() throws {
        // `pfree a` releases a's id; `palloc b` reuses it; the second
        // `pfree a` is the error, and its message must say a, not b.
        var text = "memtrace 1\nspawn 1\nmmap 1 0x1000 0x9000 rw\n"
        for k in 0..<30_000 { text += "r 1 0x\(String(0x1000 + (k % 8) * 4096, radix: 16))\n" }
        let modelError = writeTrace(text + "palloc a 1\npfree a\npalloc b 1\npfree a\n" + String(repeating: "r 1 0x1000\n", count: 20_000),
                                    name: "model-error.trace")
        let syntaxError = writeTrace(text + "r 1 0x1000 extra\n", name: "syntax-error.trace")
        var modelErrors: [String] = []
        for trace in [modelError, syntaxError] {
            let variants = [Self.variant("a") { _ in }, Self.variant("b") { $0.machine.pmm = .buddy },
                            Self.variant("c") { $0.machine.tlb = TLBSpec(entries: 16, ways: 16, policy: .fifo) }]
            let outcome = try ComparisonJob.run(trace: trace, variants: variants, db: temporaryPath("err.db"))
            let alone = try ResultStore(path: temporaryPath("err-alone.db"))
            for (i, v) in variants.enumerated() {
                var expected = ""
                do {
                    _ = try ReplayJob.run(trace: trace, options: v.options, label: v.label, store: alone)
                } catch {
                    expected = "\(error)"
                }
                #expect(!expected.isEmpty)
                #expect(outcome.errors[i] == expected, "\(trace) variant \(v.label)")
                if trace == modelError { modelErrors.append(outcome.errors[i] ?? "") }
            }
        }
        #expect(modelErrors.count == 3)
        #expect(modelErrors.allSatisfy { $0.contains(":30007: pfree: handle a ") }, "\(modelErrors)")
    }
}
