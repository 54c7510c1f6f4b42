import Foundation
import Testing
import MemModel
@testable import MemStore
import TestSupport

/// `merge` trusts no shard (issue 15, item 5): each crafted shard below is
/// refused with the shard, table and column named, and the output is left
/// exactly as it was; runs are identified by content, so re-merging changes
/// nothing.
@Suite struct MergeTests {
    static let basic = packageRoot + "/traces/basic.trace"
    static let reclaim = packageRoot + "/traces/reclaim.trace"

    /// A shard holding one finished run of each trace, the second two in a
    /// comparison (ids 1 and 2 in the shard).
    static func shard(_ name: String = "shard.db", traces: [String] = [basic, reclaim], comparison: Bool = false) throws -> String {
        let path = temporaryPath(name)
        let store = try ResultStore(path: path)
        if comparison {
            let (_, ids) = try store.beginComparison(trace: traces[0], runs: traces.map { (label: $0, config: MachineConfig()) })
            for (id, t) in zip(ids, traces) { try record(t, into: store, run: id) }
        } else {
            for t in traces { try record(t, into: store) }
        }
        return path
    }

    /// Every row of every table, as text, in key order: what "unchanged" means.
    static func content(_ path: String) throws -> [String: [[String?]]] {
        let db = try Database(path: path, create: false, readOnly: true)
        var all: [String: [[String?]]] = [:]
        for t in ["runs", "tick_metrics", "slabinfo", "processes", "node_metrics", "run_digests"] {
            all[t] = try db.rows("SELECT * FROM \(t) ORDER BY 1, 2")
        }
        return all
    }

    struct Hostile: CustomTestStringConvertible, Sendable {
        var testDescription: String
        /// Statements run on a good shard to make it hostile.
        var sql: String
        /// What the error must say (after the shard's path).
        var message: String
    }

    static let corpus: [Hostile] = [
        Hostile(testDescription: "a view stands in for runs",
                sql: "ALTER TABLE runs RENAME TO real_runs; CREATE VIEW runs AS SELECT * FROM real_runs WHERE random() % 2 = 0;",
                message: "runs is a view, not the schema's table"),
        Hostile(testDescription: "a view stands in for tick_metrics",
                sql: """
                    DROP TABLE tick_metrics;
                    CREATE VIEW tick_metrics AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT x AS run_id FROM n;
                    """,
                message: "tick_metrics is a view, not the schema's table"),
        Hostile(testDescription: "a table lacks a column",
                sql: "ALTER TABLE processes DROP COLUMN segv;",
                message: "table processes lacks segv"),
        Hostile(testDescription: "a table has a column besides",
                sql: "ALTER TABLE slabinfo ADD COLUMN extra INTEGER;",
                message: "table slabinfo has extra besides"),
        Hostile(testDescription: "comparison id 0 would join the output's comparisons",
                sql: "UPDATE runs SET comparison_id = 0;",
                message: "run 1: comparison_id 0 is not a comparison"),
        Hostile(testDescription: "text in an integer column",
                sql: "UPDATE tick_metrics SET events = 'lots' WHERE tick = 1 AND run_id = 1;",
                message: "run 1: tick_metrics.events is text (\"lots\") in a INTEGER column"),
        Hostile(testDescription: "infinity in a real column",
                sql: "UPDATE tick_metrics SET usage_pct = 1e999 WHERE run_id = 2;",
                message: "run 2: tick_metrics.usage_pct is not a finite number (inf)"),
        Hostile(testDescription: "a negative tick",
                sql: "UPDATE tick_metrics SET tick = -5 WHERE tick = 1 AND run_id = 1;",
                message: "run 1: tick_metrics.tick is negative (-5)"),
        Hostile(testDescription: "a run claims more ticks than it has rows",
                sql: "UPDATE runs SET ticks = ticks + 1 WHERE run_id = 2;",
                message: "run 2: says it has"),
        Hostile(testDescription: "a config that is not a machine",
                sql: "UPDATE runs SET config = '{\"pmm\": 7}' WHERE run_id = 1;",
                message: "run 1: its config is not a machine configuration"),
        Hostile(testDescription: "an unknown allocator",
                sql: "UPDATE runs SET pmm = 'magic' WHERE run_id = 1;",
                message: "run 1: pmm is not one of"),
        Hostile(testDescription: "a blob in a text column",
                sql: "UPDATE runs SET trace = x'00ff' WHERE run_id = 1;",
                message: "run 1: runs: column trace holds a blob"),
        Hostile(testDescription: "text that is not UTF-8 (it would be altered)",
                sql: "UPDATE slabinfo SET name = CAST(x'41ff42' AS TEXT) || name WHERE run_id = 2;",
                message: "run 2: slabinfo: column name holds text that is not valid UTF-8"),
        Hostile(testDescription: "a config out of range",
                sql: "UPDATE runs SET config = json_set(config, '$.highWatermark', -500) WHERE run_id = 1;",
                message: "run 1: its config is not a machine memreplay runs: watermarks"),
        Hostile(testDescription: "a virtual table",
                sql: "DROP TABLE node_metrics; CREATE VIRTUAL TABLE node_metrics USING fts5(run_id);",
                message: "node_metrics is a virtual table"),
        Hostile(testDescription: "a newer schema",
                sql: "PRAGMA user_version = 99;",
                message: "results schema version 99 was written by a newer memreplay"),
    ]

    @Test(arguments: corpus)
    func aHostileShardIsRefusedAndTheOutputKept(_ hostile: Hostile) throws {
        let output = try Self.shard("out.db", traces: [Self.basic])
        let before = try Self.content(output)
        let bad = try Self.shard()
        let db = try Database(path: bad, create: false)
        try db.execute(hostile.sql)
        let error = #expect(throws: (any Error).self) {
            _ = try ShardMerge.merge(shards: [bad], into: output)
        }
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(text.contains(bad) && text.contains(hostile.message), "\(text)")
        #expect(try Self.content(output) == before)
    }

    /// A run whose digest the output holds is skipped, whatever ids it has;
    /// merging twice, or merging a merge's output, changes nothing.
    @Test func mergingTwiceChangesNothing() throws {
        let shard = try Self.shard(comparison: true)
        let output = temporaryPath("out.db")
        #expect(try ShardMerge.merge(shards: [shard], into: output) == .init(shards: 1, runs: 2, skipped: 0))
        let once = try Self.content(output)
        #expect(try ShardMerge.merge(shards: [shard], into: output) == .init(shards: 1, runs: 0, skipped: 2))
        #expect(try Self.content(output) == once)
        // A merge's output merged into another, then its shard too.
        let other = temporaryPath("other.db")
        #expect(try ShardMerge.merge(shards: [output], into: other).runs == 2)
        #expect(try ShardMerge.merge(shards: [shard], into: other).skipped == 2)
        // The comparison stays one group, under a new id.
        let groups = try Database(path: other, create: false).rows("SELECT DISTINCT comparison_id FROM runs")
        #expect(groups == [["1"]])
    }

    /// A comparison merged in two goes (the shard merged while the compare
    /// still wrote, then again) stays one group.
    @Test func aComparisonMergedInTwoGoesStaysOneGroup() throws {
        let shard = try Self.shard(comparison: true)
        let early = temporaryPath("early.db")
        try FileManager.default.copyItem(atPath: shard, toPath: early)
        try Database(path: early, create: false).execute("UPDATE runs SET status = 'running' WHERE run_id = 2")
        let output = try Self.shard("out.db", traces: [Self.reclaim])
        #expect(try ShardMerge.merge(shards: [early], into: output).runs == 1)
        #expect(try ShardMerge.merge(shards: [shard], into: output) == .init(shards: 1, runs: 1, skipped: 1))
        let groups = try Database(path: output, create: false).rows("SELECT run_id, comparison_id FROM runs ORDER BY run_id")
        #expect(groups == [["1", nil], ["2", "1"], ["3", "1"]])
    }

    /// A run the output got from a replay is recognised too: it gets its
    /// digest on the first merge into the output.
    @Test func aReplayedRunIsRecognisedInAShard() throws {
        let output = try Self.shard("out.db", traces: [Self.basic])
        let copy = temporaryPath("copy.db")
        try FileManager.default.copyItem(atPath: output, toPath: copy)
        #expect(try ShardMerge.merge(shards: [copy], into: output) == .init(shards: 1, runs: 0, skipped: 1))
        #expect(try Database(path: output, create: false).scalar("SELECT count(*) FROM run_digests") == 1)
    }

    /// A shard claiming another's sweep job id no longer hides the real
    /// job: runs are told apart by content, not by what they claim.
    @Test func aClaimedSweepJobDoesNotHideTheRealOne() throws {
        let real = try Self.shard("real.db", traces: [Self.basic])
        try Database(path: real, create: false).execute("UPDATE runs SET sweep_job = 'job7'")
        let claim = try Self.shard("claim.db", traces: [Self.reclaim])
        try Database(path: claim, create: false).execute("UPDATE runs SET sweep_job = 'job7'")
        let output = temporaryPath("out.db")
        let s = try ShardMerge.merge(shards: [claim, real], into: output)
        #expect(s.runs == 2)
        #expect(try Database(path: output, create: false).rows("SELECT trace FROM runs ORDER BY run_id").map { $0[0] }
            == [Self.reclaim, Self.basic])
    }

    /// The output as a shard, or one shard twice however spelled, is refused.
    @Test func theOutputOrADuplicateShardIsRefused() throws {
        let output = try Self.shard("out.db", traces: [Self.basic])
        let before = try Self.content(output)
        #expect(throws: MergeError.self) { _ = try ShardMerge.merge(shards: [output], into: output) }
        let shard = try Self.shard(traces: [Self.reclaim])
        let alias = shard + ".link"
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: shard)
        let error = #expect(throws: MergeError.self) { _ = try ShardMerge.merge(shards: [shard, alias], into: output) }
        #expect(error?.description.contains("is the same file as \(shard)") == true)
        #expect(try Self.content(output) == before)
    }

    /// The output is changed in place: a symbolic link stays a link, the
    /// file keeps its mode, and no temporary file is left (an earlier
    /// release's litter from killed merges is removed).
    @Test func theOutputIsWrittenInPlace() throws {
        let target = try Self.shard("target.db", traces: [Self.basic])
        chmod(target, 0o640)
        let link = temporaryPath("out.db")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let folder = URL(fileURLWithPath: link).deletingLastPathComponent().path
        let litter = link + ".merging-999999999"
        FileManager.default.createFile(atPath: litter, contents: Data("x".utf8))
        #expect(try ShardMerge.merge(shards: [try Self.shard(traces: [Self.reclaim])], into: link).runs == 1)
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target)
        var st = stat()
        #expect(stat(target, &st) == 0 && st.st_mode & 0o777 == 0o640)
        #expect(try Database(path: target, create: false).scalar("SELECT count(*) FROM runs") == 2)
        #expect(!FileManager.default.fileExists(atPath: litter))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["out.db"])
    }
}
