import Foundation

/// `memreplay merge`: shard databases into one.
///
/// Only finished (`ok`) runs are taken, each with a new run id; comparison ids
/// are renumbered per shard so groups stay groups and never collide. A run of
/// a sweep job that the output already holds as `ok` is skipped, so merging
/// a shard twice changes nothing. The merge is built in a copy of the output
/// under a temporary name and renamed into place at the end (SQLite cannot
/// attach shards inside one transaction), so a failed merge leaves the output
/// as it was. Shards of an earlier schema version are upgraded in place
/// first; shards of a newer one are refused.
public enum ShardMerge {
    public struct Summary: Sendable, Equatable {
        public var shards = 0
        public var runs = 0
        public var skipped = 0
    }

    /// Tables with per-run rows, copied with the run id remapped.
    static let perRunTables = ["tick_metrics", "slabinfo", "processes", "node_metrics"]

    public static func merge(shards: [String], into output: String) throws -> Summary {
        // Check every shard before touching the output. A shard of an
        // earlier release is upgraded in place, as every command upgrades a
        // database it opens, so that its columns are the output's.
        var older: [String] = []
        for shard in shards {
            guard FileManager.default.fileExists(atPath: shard) else {
                throw SQLiteError(code: 0, description: "\(shard): no such file")
            }
            let db = try Database(path: shard, create: false, readOnly: true)
            let version: Int64
            do {
                version = try db.scalar("PRAGMA user_version") ?? 0
            } catch {
                throw SQLiteError(code: error.code, description: "\(shard): not a SQLite database")
            }
            if version > Schema.version {
                throw SQLiteError(code: 0, description: "\(shard): results schema version \(version) was written by a newer memreplay; this one merges version \(Schema.version). Refusing to merge: merge with the newer memreplay")
            } else if version == 0 {
                throw SQLiteError(code: 0, description: "\(shard): not a memreplay results database (no schema version); refusing to merge")
            } else if version < Schema.version {
                older.append(shard)
            }
        }
        for shard in older { _ = try ResultStore(path: shard) }
        let target = output + ".merging-\(getpid())"
        try? FileManager.default.removeItem(atPath: target)
        do {
            if FileManager.default.fileExists(atPath: output) {
                // A consistent copy even if a reader holds the output open.
                let source = try Database(path: output, create: false)
                let vacuum = try source.prepare("VACUUM INTO ?")
                vacuum.bind(1, target)
                try vacuum.run()
            }
            var summary = Summary()
            do {
                let store = try ResultStore(path: target)
                for shard in shards { try merge(shard, into: store.db, &summary) }
            }
            guard rename(target, output) == 0 else {
                throw SQLiteError(code: 0, description: "\(output): cannot rename the merged database into place")
            }
            return summary
        } catch {
            try? FileManager.default.removeItem(atPath: target)
            try? FileManager.default.removeItem(atPath: target + "-journal")
            throw error
        }
    }

    static func merge(_ shard: String, into db: Database, _ summary: inout Summary) throws {
        let attach = try db.prepare("ATTACH DATABASE ? AS shard")
        attach.bind(1, shard)
        try attach.run()
        defer { try? db.execute("DETACH DATABASE shard") }
        try db.execute("BEGIN IMMEDIATE")
        do {
            do {
                let runBase = try db.scalar("SELECT COALESCE(MAX(run_id), 0) FROM main.runs") ?? 0
                let comparisonBase = try db.scalar("SELECT COALESCE(MAX(comparison_id), 0) FROM main.runs") ?? 0
                try db.execute("""
                    CREATE TEMP TABLE picked AS
                    SELECT run_id FROM shard.runs s
                    WHERE s.status = 'ok' AND NOT (s.sweep_job IS NOT NULL AND EXISTS
                        (SELECT 1 FROM main.runs m WHERE m.sweep_job = s.sweep_job AND m.status = 'ok'))
                    """)
                defer { try? db.execute("DROP TABLE temp.picked") }
                let picked = try db.scalar("SELECT count(*) FROM temp.picked") ?? 0
                let okRuns = try db.scalar("SELECT count(*) FROM shard.runs WHERE status = 'ok'") ?? 0
                let runColumns = try columns(db, "runs")
                let select = runColumns.map { c -> String in
                    switch c {
                    case "run_id": "run_id + \(runBase)"
                    case "comparison_id": "comparison_id + \(comparisonBase)"
                    default: c
                    }
                }
                try db.execute("""
                    INSERT INTO main.runs (\(runColumns.joined(separator: ", ")))
                    SELECT \(select.joined(separator: ", ")) FROM shard.runs WHERE run_id IN (SELECT run_id FROM temp.picked)
                    """)
                for table in perRunTables {
                    let cols = try columns(db, table)
                    let sel = cols.map { $0 == "run_id" ? "run_id + \(runBase)" : $0 }
                    try db.execute("""
                        INSERT INTO main.\(table) (\(cols.joined(separator: ", ")))
                        SELECT \(sel.joined(separator: ", ")) FROM shard.\(table) WHERE run_id IN (SELECT run_id FROM temp.picked)
                        """)
                }
                summary.shards += 1
                summary.runs += Int(picked)
                summary.skipped += Int(okRuns - picked)
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw SQLiteError(code: 0, description: "\(shard): \(error)")
        }
    }

    static func columns(_ db: Database, _ table: String) throws -> [String] {
        try db.rows("SELECT name FROM pragma_table_info('\(table)') ORDER BY cid").compactMap { $0[0] }
    }
}
