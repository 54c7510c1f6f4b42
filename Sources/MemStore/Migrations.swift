/// Upgrading a results database written by an earlier release, in place.
///
/// `PRAGMA user_version` is a database's schema version (0 for a new,
/// empty file). Opening a database runs, in one write transaction
/// (`BEGIN IMMEDIATE` … `COMMIT`, so all or nothing):
///
///     read user_version v            0: new file; tables but 0: not ours
///     v > schema's version           refuse, naming both versions
///     step v → v+1, … → version      each followed by user_version = v+1
///     PRAGMA foreign_key_check       a step must not orphan rows
///     schema.sql                     idempotent: creates what is missing
///
/// Any failure rolls back, and SQLite's log (the WAL, or the rollback
/// journal of a file not yet in WAL mode) puts back every page: the file is
/// exactly as it was. The version is read inside the
/// transaction, so two processes opening the same old file at once upgrade
/// it once: the second waits for the write lock, then finds it current.
///
/// `CREATE TABLE IF NOT EXISTS` leaves an existing table as it is, so a
/// change to a table's columns in `schema.sql` needs a step here (and the
/// next number in its `PRAGMA user_version` line); a test opens a database
/// written by the previous release and checks it ends up with the tables a
/// new database gets. A view can change by a step that drops it: the schema
/// then creates it anew.
public struct Migration: Sendable {
    /// The version this step upgrades from; it leaves the database at `from + 1`.
    public var from: Int64
    /// Statements that take the tables and rows of version `from` to those
    /// of `from + 1`. Foreign keys are off while they run (`DROP TABLE` of a
    /// rebuilt table must not cascade into the rows that refer to it), and
    /// are checked afterwards.
    public var sql: String

    public init(from: Int64, sql: String) {
        self.from = from
        self.sql = sql
    }
}

extension Schema {
    /// Every step, oldest first: `migrations[i].from == i + 1` up to
    /// ``version`` − 1. Version 1 is the first released schema.
    public static let migrations: [Migration] = [
        // 1 → 2: merge identifies runs by content (`run_digests`).
        Migration(from: 1, sql: """
            CREATE TABLE run_digests (
                run_id INTEGER PRIMARY KEY REFERENCES runs(run_id) ON DELETE CASCADE,
                digest TEXT NOT NULL
            );
            CREATE INDEX run_digests_by_digest ON run_digests(digest);
            """),
        // 2 → 3: requested and allocated bytes per tick, slabinfo's slabdata
        // and tunables; kmem_callsites and
        // kmem_pages come from the schema's CREATE TABLE IF NOT EXISTS.
        Migration(from: 2, sql: """
            ALTER TABLE tick_metrics ADD COLUMN kmem_bytes_req INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN kmem_bytes_alloc INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE slabinfo ADD COLUMN active_slabs INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE slabinfo ADD COLUMN tunable_limit INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE slabinfo ADD COLUMN tunable_batchcount INTEGER NOT NULL DEFAULT 0;
            """),
        // 3 → 4: free huge blocks, mobility fallbacks and compaction per tick;
        // pagetypeinfo comes from the schema's CREATE TABLE IF NOT EXISTS.
        Migration(from: 3, sql: """
            ALTER TABLE tick_metrics ADD COLUMN free_huge INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN extfrag_fallbacks INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN extfrag_fragmenting INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN extfrag_steals INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN pageblock_claims INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN compact_stall INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN compact_success INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN compact_fail INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN compact_migrate_scanned INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN compact_free_scanned INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN compact_isolated INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN pgmigrate_success INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN compact_tlb_invlpg INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN compact_proactive_runs INTEGER NOT NULL DEFAULT 0;
            """),
        // 4 → 5: the second-level TLB per tick; mrc comes from the schema's
        // CREATE TABLE IF NOT EXISTS.
        Migration(from: 4, sql: """
            ALTER TABLE tick_metrics ADD COLUMN tlb_l2_hits INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN tlb_l2_misses INTEGER NOT NULL DEFAULT 0;
            """),
        // 5 → 6: page walks' memory references, the PDE cache and 4 MiB pages per tick.
        Migration(from: 5, sql: """
            ALTER TABLE tick_metrics ADD COLUMN walk_refs INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN pde_cache_hits INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN pde_cache_misses INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN tlb_large_hits INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN huge_faults INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE tick_metrics ADD COLUMN huge_fallbacks INTEGER NOT NULL DEFAULT 0;
            """),
    ]

    /// Brings `db` to `version` in place, all or nothing (see ``Migration``).
    ///
    /// The parameters default to the program's own schema; tests inject
    /// others to exercise steps the real schema does not have yet. Foreign
    /// keys are turned off for the transaction (SQLite ignores the pragma
    /// inside one, so it is set before) and back on after it if they were on.
    static func upgrade(_ db: Database, schema: String = sql, to version: Int64 = version,
                        steps: [Migration] = migrations) throws(SQLiteError) {
        let foreignKeys = try db.scalar("PRAGMA foreign_keys") == 1
        if foreignKeys { try db.execute("PRAGMA foreign_keys = OFF") }
        defer { if foreignKeys { try? db.execute("PRAGMA foreign_keys = ON") } }
        try db.execute("BEGIN IMMEDIATE")
        do throws(SQLiteError) {
            var current = try db.scalar("PRAGMA user_version") ?? 0
            if current > version {
                throw SQLiteError(code: 0, description: "\(db.path): results schema version \(current) was written by a newer memreplay; this one reads and writes version \(version). Use that newer memreplay, or another --db")
            }
            if current == 0 {
                let tables = try db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") ?? 0
                if tables > 0 {
                    throw SQLiteError(code: 0, description: "\(db.path): not a memreplay results database (it has tables and no schema version)")
                }
            } else if current < version {
                while current < version {
                    guard let step = steps.first(where: { $0.from == current }) else {
                        throw SQLiteError(code: 0, description: "\(db.path): results schema version \(current) cannot be upgraded to version \(version) by this memreplay (no step from version \(current)); upgrade it with the release that followed version \(current) first")
                    }
                    do throws(SQLiteError) {
                        try db.execute(step.sql)
                    } catch {
                        throw SQLiteError(code: error.code, description: "\(error.description) (upgrading results schema version \(current) to \(current + 1); nothing was changed)")
                    }
                    current += 1
                    try db.execute("PRAGMA user_version = \(current)")
                }
                let orphans = try db.rows("PRAGMA foreign_key_check")
                if let first = orphans.first {
                    throw SQLiteError(code: 0, description: "\(db.path): upgrading to schema version \(version) would leave \(orphans.count) rows without the row they refer to (first: table \(first[0] ?? "?"), rowid \(first[1] ?? "?")); nothing was changed")
                }
            }
            try db.execute(schema)
            // The text sets it too (for users who apply it with sqlite3);
            // setting it here keeps the version right whatever the text says.
            try db.execute("PRAGMA user_version = \(version)")
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
    }
}
