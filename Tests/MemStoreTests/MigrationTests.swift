import Foundation
import Testing
import TestSupport
import MemModel
@testable import MemStore

/// What a database's schema is made of, however each table came to be
/// (`ALTER TABLE` rewrites a table's CREATE text, so the text alone would
/// tell an upgraded database from a new one): every table's columns and
/// foreign keys, and the text of every index, view and trigger.
func schemaShape(_ db: Database) throws -> [[String?]] {
    var shape: [[String?]] = []
    for t in try db.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") {
        shape += try db.rows("SELECT ?1, cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid", [.text(t[0]!)])
        shape += try db.rows("SELECT ?1, id, seq, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq", [.text(t[0]!)])
    }
    return shape + (try db.rows("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'view', 'trigger') ORDER BY type, name"))
}

func fileBytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

/// The schema as SwiftPM embeds it, and databases of the release before.
@Suite struct SchemaFileTests {
    @Test func embeddedSchemaIsTheFileTheStoreApplies() throws {
        let file = try String(contentsOfFile: packageRoot + "/schema.sql", encoding: .utf8)
        #expect(Schema.sql == file, "Sources/MemStore/schema.sql must be a symbolic link to ../../schema.sql")
        let store = try ResultStore(path: temporaryPath("new.db"))
        let byHand = try Database(path: temporaryPath("sqlite3.db"))
        try byHand.execute(file)
        let master = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        #expect(try store.db.rows(master) == byHand.rows(master))
        #expect(try store.db.rows(master).count > 10)
        #expect(try store.db.scalar("PRAGMA user_version") == Schema.version)
        #expect(try byHand.scalar("PRAGMA user_version") == Schema.version)
    }

    @Test func everyVersionBeforeTheSchemasHasOneStep() {
        #expect(Schema.version == 6)
        #expect(Schema.migrations.map(\.from) == Array(1..<Schema.version))
        #expect(Schema.declaredVersion(in: "-- v\nCREATE TABLE t (x);\nPRAGMA user_version = 12;\n") == 12)
        #expect(Schema.declaredVersion(in: "CREATE TABLE t (x);\n") == nil)
    }

    /// `Fixtures/release-v1.db` was written by the release before the
    /// embedded schema and migrations (`memreplay replay
    /// traces/basic.trace --label release-v1`): opened by this program it
    /// gets the tables a new database gets, keeps every row, and takes
    /// another run.
    @Test func aDatabaseOfThePreviousReleaseIsUpgradedInPlaceAndKeepsItsRows() throws {
        let fixture = packageRoot + "/Tests/MemStoreTests/Fixtures/release-v1.db"
        let path = temporaryPath("release-v1.db"), pristine = temporaryPath("pristine.db")
        try FileManager.default.copyItem(atPath: fixture, toPath: path)
        try FileManager.default.copyItem(atPath: fixture, toPath: pristine)

        let store = try ResultStore(path: path)
        #expect(try store.db.scalar("PRAGMA user_version") == Schema.version)
        #expect(try schemaShape(store.db) == schemaShape(ResultStore(path: temporaryPath("new.db")).db))

        let run = try record(packageRoot + "/traces/basic.trace", label: "after", into: store)
        #expect(run == 2)
        #expect(try store.db.rows("SELECT run_id, label, status, events, ticks FROM runs ORDER BY run_id")
                == [["1", "release-v1", "ok", "16", "4"], ["2", "after", "ok", "16", "4"]])

        // Run 1's rows, value for value (EXCEPT compares REALs exactly).
        let attach = try store.db.prepare("ATTACH DATABASE ? AS old")
        attach.bind(1, pristine)
        try attach.run()
        for table in ["runs", "tick_metrics", "node_metrics", "slabinfo", "processes"] {
            let old = try store.db.scalar("SELECT count(*) FROM old.\(table)") ?? 0
            #expect(old > 0, "\(table) of the fixture is empty")
            #expect(try store.db.scalar("SELECT count(*) FROM main.\(table) WHERE run_id = 1") == old, "\(table)")
            // The fixture's columns (later versions add some, tick_metrics' kmem_bytes_*).
            let columns = try store.db.rows("SELECT name FROM pragma_table_info('\(table)', 'old') ORDER BY cid")
                .compactMap { $0[0] }.joined(separator: ", ")
            for (a, b) in [("old", "main"), ("main", "old")] {
                let differing = try store.db.scalar("""
                    SELECT count(*) FROM (SELECT \(columns) FROM \(a).\(table) WHERE run_id = 1
                                          EXCEPT SELECT \(columns) FROM \(b).\(table) WHERE run_id = 1)
                    """)
                #expect(differing == 0, "\(table): rows of run 1 in \(a) but not in \(b)")
            }
        }
        // Columns added since read 0 in the old run's rows.
        #expect(try store.db.scalar("SELECT count(*) FROM tick_metrics WHERE run_id = 1 AND (kmem_bytes_req != 0 OR kmem_bytes_alloc != 0)") == 0)
        #expect(try store.db.scalar("SELECT count(*) FROM tick_metrics WHERE run_id = 1 AND (free_huge != 0 OR extfrag_fallbacks != 0 OR extfrag_fragmenting != 0 OR extfrag_steals != 0 OR pageblock_claims != 0 OR compact_stall != 0 OR pgmigrate_success != 0 OR compact_migrate_scanned != 0)") == 0)
        #expect(try store.db.scalar("SELECT count(*) FROM pagetypeinfo") == 0)
        #expect(try store.db.rows("PRAGMA integrity_check") == [["ok"]])
        #expect(try store.db.rows("PRAGMA foreign_key_check").isEmpty)
    }
}

/// The migration runner, with schemas and steps made up for it: version 1
/// has `parent(id, name)` and `child(parent → parent.id, bytes)`; step 1
/// adds `parent.label`, step 2 rebuilds `parent` to make `name` unique (the
/// kind of change `ALTER TABLE` cannot make).
@Suite struct MigrationTests {
    static let version1 = """
        CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE child (id INTEGER PRIMARY KEY,
                            parent INTEGER NOT NULL REFERENCES parent(id) ON DELETE CASCADE,
                            bytes INTEGER NOT NULL);
        INSERT INTO parent VALUES (1, 'a'), (2, 'b');
        INSERT INTO child VALUES (10, 1, 4096), (11, 1, 8192), (12, 2, 0);
        PRAGMA user_version = 1;
        """

    static let version3 = """
        CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, label TEXT);
        CREATE TABLE IF NOT EXISTS child (id INTEGER PRIMARY KEY,
                                          parent INTEGER NOT NULL REFERENCES parent(id) ON DELETE CASCADE,
                                          bytes INTEGER NOT NULL);
        CREATE VIEW IF NOT EXISTS labelled AS SELECT c.id, p.label FROM child c JOIN parent p ON p.id = c.parent;
        """

    static let step1 = Migration(from: 1, sql: "ALTER TABLE parent ADD COLUMN label TEXT; UPDATE parent SET label = upper(name);")
    static let step2 = Migration(from: 2, sql: """
        CREATE TABLE parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, label TEXT);
        INSERT INTO parent_new SELECT id, name, label FROM parent;
        DROP TABLE parent;
        ALTER TABLE parent_new RENAME TO parent;
        """)

    /// A version 1 file, closed.
    static func version1File() throws -> String {
        let path = temporaryPath("v1.db")
        try Database(path: path).execute(version1)
        return path
    }

    @Test func upgradesThroughEveryStepInOrderAndKeepsTheRows() throws {
        let path = try Self.version1File()
        let db = try Database(path: path)
        // As ResultStore's connection has them: on. Dropping `parent` with
        // them on would delete every child row through the cascade.
        try db.execute("PRAGMA foreign_keys = ON")
        try Schema.upgrade(db, schema: Self.version3, to: 3, steps: [Self.step2, Self.step1])
        #expect(try db.scalar("PRAGMA user_version") == 3)
        #expect(try db.rows("SELECT id, name, label FROM parent ORDER BY id") == [["1", "a", "A"], ["2", "b", "B"]])
        #expect(try db.rows("SELECT id, parent, bytes FROM child ORDER BY id") == [["10", "1", "4096"], ["11", "1", "8192"], ["12", "2", "0"]])
        #expect(try db.rows("SELECT id, label FROM labelled ORDER BY id") == [["10", "A"], ["11", "A"], ["12", "B"]])
        #expect(try db.scalar("PRAGMA foreign_keys") == 1)
        let fresh = try Database(path: temporaryPath("v3.db"))
        try Schema.upgrade(fresh, schema: Self.version3, to: 3, steps: [])
        #expect(try fresh.scalar("PRAGMA user_version") == 3)
        #expect(try schemaShape(db) == schemaShape(fresh))
        // Current now: opening again applies nothing but the idempotent schema.
        try Schema.upgrade(db, schema: Self.version3, to: 3, steps: [])
        #expect(try db.rows("SELECT id, label FROM parent ORDER BY id") == [["1", "A"], ["2", "B"]])
    }

    struct Failure: Sendable, CustomStringConvertible {
        var description: String
        var steps: [Migration]
        var schema = MigrationTests.version3
        /// Words the error must contain.
        var message: String
    }

    static let failures: [Failure] = [
        Failure(description: "a step with a syntax error",
                steps: [step1, Migration(from: 2, sql: "ALTER TABLE parent ADD COLUMN")],
                message: "upgrading results schema version 2 to 3"),
        Failure(description: "a step that breaks a constraint",
                steps: [step1, Migration(from: 2, sql: "UPDATE parent SET name = 'a'; \(step2.sql)")],
                message: "UNIQUE constraint failed"),
        Failure(description: "a step that orphans rows",
                steps: [step1, Migration(from: 2, sql: "DELETE FROM parent WHERE id = 1")],
                message: "would leave 2 rows without the row they refer to"),
        Failure(description: "a schema that fails after the steps",
                steps: [step1, step2], schema: version3 + "INSERT INTO nowhere VALUES (1);",
                message: "no such table: nowhere"),
        Failure(description: "no step from version 2",
                steps: [step1],
                message: "no step from version 2"),
    ]

    /// All or nothing: whatever fails, the file is byte for byte what it
    /// was, and no journal is left behind.
    @Test(arguments: failures)
    func aFailedUpgradeLeavesTheFileExactlyAsItWas(_ failure: Failure) throws {
        let path = try Self.version1File()
        let before = try fileBytes(path)
        do {
            let db = try Database(path: path)
            try db.execute("PRAGMA foreign_keys = ON")
            do {
                try Schema.upgrade(db, schema: failure.schema, to: 3, steps: failure.steps)
                Issue.record("\(failure) upgraded")
            } catch {
                #expect(error.description.contains(failure.message), "\(error)")
            }
            #expect(try db.scalar("PRAGMA user_version") == 1)
            #expect(try db.scalar("PRAGMA foreign_keys") == 1)
            #expect(try db.scalar("SELECT count(*) FROM child") == 3)
        }
        #expect(try fileBytes(path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-journal"))
    }

    @Test func aNewerDatabaseIsRefusedNamingBothVersions() throws {
        let path = try Self.version1File()
        try Database(path: path).execute("PRAGMA user_version = 4")
        let before = try fileBytes(path)
        do {
            try Schema.upgrade(try Database(path: path), schema: Self.version3, to: 3, steps: [Self.step1, Self.step2])
            Issue.record("a version 4 database was opened as version 3")
        } catch {
            #expect(error.description.contains("results schema version 4 was written by a newer memreplay; this one reads and writes version 3"))
        }
        #expect(try fileBytes(path) == before)
    }

    @Test func tablesWithoutAVersionAreNotOurs() throws {
        let path = temporaryPath("other.db")
        try Database(path: path).execute("CREATE TABLE foo (x)")
        #expect(throws: SQLiteError.self) {
            try Schema.upgrade(try Database(path: path), schema: Self.version3, to: 3, steps: [])
        }
        #expect(try Database(path: path).rows("SELECT name FROM sqlite_master") == [["foo"]])
    }
}
