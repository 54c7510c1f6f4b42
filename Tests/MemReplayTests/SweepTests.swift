import Foundation
import Testing
@testable import MemStore
import TestSupport

/// Sweeps run by GNU parallel, merged, equal to replays one after another.
/// The tests that run GNU parallel are skipped, saying so, where it is not
/// installed (a fresh machine); CI installs it and fails them without it.
@Suite(.serialized) struct SweepTests {
    func dir() -> String {
        scratchDirectory("sweep")
    }

    @discardableResult
    func sh(_ command: String, in cwd: String) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    /// Every stored row of a database, keyed by (trace, label) instead of run id.
    func content(_ path: String) throws -> [[String?]] {
        let db = try Database(path: path, create: false, readOnly: true)
        var rows: [[String?]] = []
        for table in ["tick_metrics", "slabinfo", "processes", "node_metrics"] {
            let cols = try db.rows("SELECT name FROM pragma_table_info('\(table)') WHERE name != 'run_id' ORDER BY cid").map { "t." + $0[0]! }
            rows += try db.rows("""
                SELECT '\(table)', r.trace, r.label, \(cols.joined(separator: ", "))
                FROM \(table) t JOIN runs r USING (run_id) WHERE r.status = 'ok'
                ORDER BY r.trace, r.label, \(cols.joined(separator: ", "))
                """)
        }
        rows += try db.rows("SELECT 'runs', trace, label, pmm, config, events, ticks, status FROM runs WHERE status = 'ok' ORDER BY trace, label")
        return rows
    }

    @Test(.needs(.gnuParallel)) func planRunWithGNUParallelMergeEqualsSequentialReplays() throws {
        let parallel = try ExternalProgram.gnuParallel.require()
        let d = dir()
        let bin = CommandLineTests.binary
        let root = CommandLineTests.root
        let traces = "\(root)/traces/basic.trace \(root)/traces/reclaim.trace"
        var (status, out) = try sh("\(bin) sweep plan \(traces) --grid pmm=bitmap,stack,buddy -o plan.jsonl", in: d)
        #expect(status == 0, "\(out)")
        #expect(out.contains("6 jobs (2 traces × 3 variants)"))
        (status, out) = try sh("'\(parallel)' -j 2 \(bin) sweep run plan.jsonl --index {} --db shards/{}.db ::: 0 1 2 3 4 5", in: d)
        #expect(status == 0, "\(out)")
        (status, out) = try sh("\(bin) merge shards/*.db -o merged.db", in: d)
        #expect(status == 0 && out.contains("merged 6 runs from 6 shards"), "\(out)")
        // The same six replays, one after another, into one database.
        for trace in ["basic", "reclaim"] {
            for pmm in ["bitmap", "stack", "buddy"] {
                (status, out) = try sh("\(bin) replay --quiet --db sequential.db --pmm \(pmm) --label pmm=\(pmm) \(root)/traces/\(trace).trace", in: d)
                #expect(status == 0, "\(out)")
            }
        }
        let merged = try content(d + "/merged.db"), sequential = try content(d + "/sequential.db")
        #expect(merged.count > 100)
        #expect(merged == sequential)
        let summary = try Database(path: d + "/merged.db", create: false).rows("SELECT trace, runs, fewest_oom_variant FROM sweep_summary ORDER BY trace")
        #expect(summary.map { $0[1] } == ["3", "3"])
    }

    /// `--jobs 2` runs the jobs of one trace two at a time from one decode
    /// (a child process per group): the merged rows equal those of the
    /// same replays one after another, and a second run does nothing.
    @Test func jobsShareOneDecodePerTraceAndEqualSequentialReplays() throws {
        let d = dir()
        let bin = CommandLineTests.binary
        let root = CommandLineTests.root
        var (status, out) = try sh("\(bin) gen mixed --events 20000 -o mixed.trace", in: d)
        #expect(status == 0, "\(out)")
        (status, out) = try sh("\(bin) sweep plan mixed.trace \(root)/traces/reclaim.trace --grid pmm=bitmap,stack,buddy -o plan.jsonl", in: d)
        #expect(status == 0, "\(out)")
        (status, out) = try sh("\(bin) sweep run plan.jsonl --jobs 2", in: d)
        #expect(status == 0 && out.contains("6 jobs, 0 failed"), "\(out)")
        (status, out) = try sh("\(bin) sweep run plan.jsonl --jobs 2", in: d)
        #expect(status == 0 && out.components(separatedBy: "already done").count - 1 == 6, "\(out)")
        (status, out) = try sh("\(bin) merge shards/*.db -o merged.db", in: d)
        #expect(status == 0 && out.contains("merged 6 runs from 6 shards"), "\(out)")
        for trace in ["mixed.trace", "\(root)/traces/reclaim.trace"] {
            for pmm in ["bitmap", "stack", "buddy"] {
                (status, out) = try sh("\(bin) replay --quiet --db sequential.db --pmm \(pmm) --label pmm=\(pmm) \(trace)", in: d)
                #expect(status == 0, "\(out)")
            }
        }
        let merged = try content(d + "/merged.db"), sequential = try content(d + "/sequential.db")
        #expect(merged.count > 500)
        #expect(merged == sequential)
    }

    /// Several `--job`s of one trace that fails halfway: every job fails
    /// with the trace's `FILE:LINE`, its shard records the run `failed`,
    /// and the command exits non-zero.
    @Test func sharedDecodeJobsFailWithTheTraceLine() throws {
        let d = dir()
        let bin = CommandLineTests.binary
        try "memtrace 1\nmem 4M\npalloc a\npfree a\npalloc b 2\nr 1 0x1000\n"
            .write(toFile: d + "/bad.trace", atomically: true, encoding: .utf8)
        var (status, out) = try sh("\(bin) sweep plan bad.trace --grid pmm=stack,buddy -o plan.jsonl", in: d)
        #expect(status == 0, "\(out)")
        let ids = try String(contentsOfFile: d + "/plan.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }.map { $0["job"] as! String }
        (status, out) = try sh("\(bin) sweep run plan.jsonl --job \(ids[0]) --job \(ids[1])", in: d)
        #expect(status != 0)
        #expect(out.components(separatedBy: "bad.trace:6: r: unknown PID 1").count - 1 == 2, "\(out)")
        for id in ids {
            let shard = try Database(path: "\(d)/shards/\(id).db", create: false, readOnly: true)
            #expect(try shard.rows("SELECT status FROM runs") == [["failed"]])
        }
        (status, out) = try sh("\(bin) sweep run plan.jsonl --job \(ids[0]) --job \(ids[1]) --db x.db", in: d)
        #expect(status != 0 && out.contains("--db names one job's shard"), "\(out)")
    }

    @Test(.needs(.gnuParallel)) func aKilledJobIsRerunWithoutDuplicatingFinishedOnes() throws {
        let parallel = try ExternalProgram.gnuParallel.require()
        let d = dir()
        let bin = CommandLineTests.binary
        var (status, out) = try sh("\(bin) gen access --events 3000000 -o long.trace", in: d)
        #expect(status == 0)
        (status, out) = try sh("\(bin) sweep plan long.trace \(CommandLineTests.root)/traces/basic.trace --grid pmm=stack,buddy -o plan.jsonl", in: d)
        #expect(status == 0, "\(out)")
        // Job 0 (the long trace) is killed mid-run.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = ["sweep", "run", "plan.jsonl", "--index", "0", "--db", "shards/0.db"]
        p.currentDirectoryURL = URL(fileURLWithPath: d)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        usleep(600_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // The whole plan, twice: finished jobs are not run again.
        for _ in 0..<2 {
            (status, out) = try sh("'\(parallel)' -j 2 \(bin) sweep run plan.jsonl --index {} --db shards/{}.db ::: 0 1 2 3", in: d)
            #expect(status == 0, "\(out)")
        }
        #expect(out.components(separatedBy: "already done").count - 1 == 4)
        (status, out) = try sh("\(bin) merge shards/*.db -o merged.db", in: d)
        #expect(status == 0, "\(out)")
        let db = try Database(path: d + "/merged.db", create: false)
        #expect(try db.scalar("SELECT count(*) FROM runs") == 4)
        #expect(try db.scalar("SELECT count(DISTINCT sweep_job) FROM runs WHERE status = 'ok'") == 4)
        let shard0 = try Database(path: d + "/shards/0.db", create: false)
        #expect(try shard0.rows("SELECT status FROM runs ORDER BY run_id") == [["running"], ["ok"]])
    }

    @Test func mergeRefusesAnotherSchemaVersionAndLeavesTheOutputAlone() throws {
        let d = dir()
        let bin = CommandLineTests.binary
        var (status, _) = try sh("\(bin) replay --quiet --db out.db \(CommandLineTests.root)/traces/basic.trace", in: d)
        #expect(status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: d + "/out.db"))
        try Database(path: d + "/old.db").execute("CREATE TABLE runs (x); PRAGMA user_version = 7")
        var out = ""
        (status, out) = try sh("\(bin) merge old.db -o out.db", in: d)
        #expect(status == 1)
        #expect(out.contains("old.db: results schema version 7"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: d + "/out.db")) == before)
    }
}

extension SweepTests {
    /// Grid values may contain ':' (TLB specs): the README's own example.
    @Test func gridValuesWithColons() throws {
        let d = dir()
        let (status, out) = try sh("\(CommandLineTests.binary) sweep plan \(CommandLineTests.root)/traces/basic.trace --grid pmm=bitmap,buddy --grid tlb=64:4,256:8 -o plan.jsonl", in: d)
        #expect(status == 0, "\(out)")
        #expect(out.contains("4 jobs (1 traces × 4 variants)"))
        let plan = try String(contentsOfFile: d + "/plan.jsonl", encoding: .utf8)
        #expect(plan.contains("\"label\":\"pmm=buddy,tlb=256:8\""))
        #expect(plan.contains("\"entries\":256"))
    }
}
