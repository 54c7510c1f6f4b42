import COpenSSL
import CSQLite
import Foundation
import MemModel

/// `memreplay merge`: shard databases into one, trusting no shard.
///
/// **The output** is written in place, in one write transaction that holds
/// its write lock from the first row to the last: replays, compares and other
/// merges writing the same file wait for it (and it for them), readers keep
/// reading, and the file is never swapped, so a symbolic link stays a link,
/// owner and mode stay, and nothing another process wrote in the meantime is
/// lost. A merge that fails or is killed changes nothing (SQLite's log rolls
/// it back); it leaves no file of its own behind, and removes the
/// `OUTPUT.merging-PID` files an earlier release's killed merges left.
///
/// **The shards** are opened read-only with `trusted_schema = OFF`. Their
/// tables must be exactly the schema's (`runs` and the per-run tables: real
/// tables, not views or virtual tables, with the schema's columns); nothing
/// else in them, views included, is ever read. Every value copied is checked
/// against its column: its type (no text or blobs in an INTEGER column), its
/// range (no negative counts or ticks, no infinities), a finished run's
/// configuration must decode, and its tick rows must number its ticks. A
/// shard that fails any check is refused, naming the shard, table, run and
/// column, and the output is left as it was. The output itself, or one file
/// given twice, is refused as a shard.
///
/// **Runs are identified by content**: a run's digest is the SHA-256 of its
/// `runs` row (all but its ids) and of every row it owns, in key order
/// (``Digest``). A finished (`ok`) run whose digest the output already holds
/// is skipped, so merging a shard twice, or merging a merge's output again,
/// changes nothing, whatever the run ids, comparison ids or sweep job ids
/// claim. Digests are kept in `run_digests`; runs the output got otherwise
/// (replays) get theirs on the first merge into it.
///
/// Copied runs get new run ids; comparison ids are renumbered per shard, so
/// groups stay groups and never join the output's. Shards of an earlier
/// schema version are read as they are when their tables already have the
/// current columns, otherwise from an upgraded private copy; shards of a
/// newer version are refused.
public enum ShardMerge {
    public struct Summary: Sendable, Equatable {
        public var shards = 0
        public var runs = 0
        public var skipped = 0
    }

    /// Tables with per-run rows, copied with the run id remapped, and the
    /// order their rows are read (and so digested) in: the primary key, or
    /// for `processes`, which has none, every column.
    static let perRunTables: [(name: String, order: String)] = [
        ("tick_metrics", "tick"),
        ("slabinfo", "tick, name"),
        ("processes", "pid, spawned_tick, parent, exited_tick, peak_resident, resident, faults, cow_faults, segv"),
        ("node_metrics", "tick, node"),
        ("kmem_callsites", "call_site"),
        ("kmem_pages", "page_order, use"),
        ("pagetypeinfo", "tick, node, migratetype"),
        ("mrc", "structure, sets, entries"),
    ]

    /// Every table a merge reads from a shard.
    static let readTables = ["runs"] + perRunTables.map(\.name)

    public static func merge(shards: [String], into output: String) throws -> Summary {
        try checkPaths(shards: shards, output: output)
        removeLitter(of: output)
        let expected = try Shape.ofSchema()
        var sources: [Source] = []
        defer { for s in sources { s.close() } }
        for shard in shards {
            sources.append(try Source(shard, expected: expected))
        }
        let store = try ResultStore(path: output)
        return try store.db.writeTransaction {
            var copier = try Copier(db: store.db, shape: expected)
            var summary = Summary()
            for source in sources {
                do {
                    try copier.copy(source, &summary)
                } catch let error as MergeError {
                    throw error
                } catch {
                    throw MergeError("\(source.path): \(error)")
                }
                summary.shards += 1
            }
            return summary
        }
    }

    /// Refuses the output as a shard, a shard given twice (however spelled:
    /// same device and inode), and anything but regular files.
    static func checkPaths(shards: [String], output: String) throws {
        var seen: [(path: String, id: FileID)] = []
        var outputStat = stat()
        let outputID: FileID? = stat(output, &outputStat) == 0 ? FileID(outputStat) : nil
        if outputID != nil && outputStat.st_mode & S_IFMT != S_IFREG {
            throw MergeError("\(output): not a regular file; give another -o")
        }
        for shard in shards {
            var st = stat()
            guard stat(shard, &st) == 0 else { throw MergeError("\(shard): \(String(cString: strerror(errno)))") }
            guard st.st_mode & S_IFMT == S_IFREG else { throw MergeError("\(shard): not a regular file") }
            let id = FileID(st)
            if id == outputID {
                throw MergeError("\(shard) is the output \(output) itself; refusing to merge a database into itself")
            }
            if let earlier = seen.first(where: { $0.id == id }) {
                throw MergeError("\(shard) is the same file as \(earlier.path); give each shard once")
            }
            seen.append((shard, id))
        }
    }

    struct FileID: Equatable {
        var device: UInt64
        var inode: UInt64
        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    /// Removes `OUTPUT.merging-PID` (and its journal) left by a merge of an
    /// earlier release that was killed, and the private shard copies in the
    /// temporary folder a killed merge left: only those whose process is gone.
    static func removeLitter(of output: String) {
        let url = URL(fileURLWithPath: output)
        let folder = url.deletingLastPathComponent().path
        let prefix = url.lastPathComponent + ".merging-"
        // Private upgraded copies of shards (``Source``) a killed merge left.
        let tmp = FileManager.default.temporaryDirectory.path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] where name.hasPrefix("memreplay-merge-") {
            let pid = name.dropFirst("memreplay-merge-".count).prefix { $0 != "-" }
            if let pid = Int32(pid), pid > 0, kill(pid, 0) == -1 && errno == ESRCH {
                unlink(tmp + "/" + name)
            }
        }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            var rest = name.dropFirst(prefix.count)
            if rest.hasSuffix("-journal") { rest = rest.dropLast("-journal".count) }
            guard let pid = Int32(rest), pid > 0 else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH {
                unlink(folder + "/" + name)
            }
        }
    }
}

/// Why a merge refused or failed; the output is unchanged.
public struct MergeError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension ShardMerge {
    /// One column as the schema declares it.
    struct Column: Equatable {
        var name: String
        var type: String
        var notNull: Bool
        var primaryKey: Int64
        var hidden: Int64
    }

    /// The columns of the tables a merge reads.
    struct Shape: Equatable {
        var tables: [String: [Column]]

        /// Read from `db`; `nil` for a table that is missing.
        init(_ db: Database) throws {
            tables = [:]
            for t in ShardMerge.readTables {
                let rows = try db.rows("SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid", [.text(t)])
                tables[t] = rows.map { r in
                    Column(name: r[0] ?? "", type: (r[1] ?? "").uppercased(), notNull: r[2] == "1",
                           primaryKey: Int64(r[3] ?? "") ?? 0, hidden: Int64(r[4] ?? "") ?? 0)
                }
            }
        }

        /// The shape a new database gets from `schema.sql`.
        static func ofSchema() throws -> Shape {
            let db = try Database(path: ":memory:")
            try db.execute(Schema.sql)
            return try Shape(db)
        }

        /// The first way `self` differs from `expected`, in words; `nil` if equal.
        func difference(from expected: Shape) -> String? {
            for t in ShardMerge.readTables {
                let have = tables[t] ?? [], want = expected.tables[t] ?? []
                if have == want { continue }
                let haveNames = have.map(\.name), wantNames = want.map(\.name)
                if haveNames != wantNames {
                    let missing = wantNames.filter { !haveNames.contains($0) }
                    let extra = haveNames.filter { !wantNames.contains($0) }
                    var parts: [String] = []
                    if !missing.isEmpty { parts.append("lacks \(missing.joined(separator: ", "))") }
                    if !extra.isEmpty { parts.append("has \(extra.joined(separator: ", ")) besides") }
                    if parts.isEmpty { parts.append("has its columns in another order") }
                    return "table \(t) \(parts.joined(separator: " and "))"
                }
                let c = zip(have, want).first { $0 != $1 }!
                return "table \(t), column \(c.0.name) is declared differently (\(c.0.type)\(c.0.notNull ? " NOT NULL" : "")\(c.0.hidden != 0 ? ", generated" : ""), not \(c.1.type)\(c.1.notNull ? " NOT NULL" : ""))"
            }
            return nil
        }
    }

    /// A shard, open read-only, its tables checked.
    final class Source {
        let path: String
        let db: Database
        /// A private upgraded copy read instead of the shard, removed at close.
        private let copy: String?

        init(_ path: String, expected: Shape) throws {
            self.path = path
            var db = try Self.open(path)
            let version: Int64
            do {
                version = try db.scalar("PRAGMA user_version") ?? 0
            } catch {
                if error.code & 0xFF == 26 /* SQLITE_NOTADB */ {
                    throw MergeError("\(path): not a SQLite database")
                }
                if error.code & 0xFF == 8 /* SQLITE_READONLY: a hot journal to roll back */ {
                    throw MergeError("\(path): a writer was killed in the middle of a transaction and its journal must be rolled back first: open it once with a writing command (e.g. memreplay replay --db \(path) on any trace), or sqlite3 \(path) 'PRAGMA integrity_check'")
                }
                throw MergeError("\(path): cannot read: \(error)")
            }
            if version > Schema.version {
                throw MergeError("\(path): results schema version \(version) was written by a newer memreplay; this one merges version \(Schema.version). Refusing to merge: merge with the newer memreplay")
            } else if version == 0 {
                throw MergeError("\(path): not a memreplay results database (no schema version); refusing to merge")
            }
            // Before anything reads or copies the file: the tables merge
            // reads must be real tables, or a view could stand in for one.
            for t in ShardMerge.readTables {
                let kind = try db.rows("SELECT type, sql FROM sqlite_schema WHERE name = ? COLLATE NOCASE", [.text(t)])
                guard let k = kind.first else {
                    throw MergeError("\(path): has no table \(t); refusing to merge")
                }
                guard k[0] == "table", !(k[1] ?? "").uppercased().hasPrefix("CREATE VIRTUAL") else {
                    throw MergeError("\(path): \(t) is a \(k[0] == "table" ? "virtual table" : k[0] ?? "?"), not the schema's table; refusing to merge")
                }
            }
            var difference = try Shape(db).difference(from: expected)
            var copy: String? = nil
            if difference != nil && version < Schema.version {
                // An earlier release's shard whose tables changed since: read
                // an upgraded copy, never the shard itself (it stays as it is).
                let target = FileManager.default.temporaryDirectory
                    .appendingPathComponent("memreplay-merge-\(getpid())-\(UUID().uuidString).db").path
                let vacuum = try db.prepare("VACUUM INTO ?")
                vacuum.bind(1, target)
                try vacuum.run()
                copy = target
                do {
                    _ = try ResultStore(path: target)
                    db = try Self.open(target)
                    difference = try Shape(db).difference(from: expected)
                } catch {
                    Self.remove(target)
                    throw MergeError("\(path): cannot upgrade a copy of this schema version \(version) shard: \(error)")
                }
            }
            if let difference {
                if let copy { Self.remove(copy) }
                throw MergeError("\(path): \(difference) in schema version \(Schema.version); refusing to merge")
            }
            self.db = db
            self.copy = copy
        }

        static func open(_ path: String) throws -> Database {
            let db = try Database(path: path, create: false, readOnly: true)
            // Functions in the shard's schema (views, triggers, defaults) may
            // not run with this program's rights; merge reads no view anyway.
            try db.execute("PRAGMA trusted_schema = OFF")
            return db
        }

        static func remove(_ path: String) {
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
        }

        func close() {
            if let copy { Self.remove(copy) }
        }
    }
}

extension ShardMerge {
    /// A run's content digest: SHA-256 over its `runs` row without its ids,
    /// then each per-run table's name and rows in key order, every value
    /// tagged with its type (integer, real, text, null) and integers and
    /// reals as 8 little-endian bytes, text with its length. The same rows
    /// give the same digest in any database.
    struct Digest: ~Copyable {
        /// OpenSSL's EVP digest context, SHA-256.
        private let context: OpaquePointer

        init() {
            context = EVP_MD_CTX_new()
            EVP_DigestInit_ex(context, EVP_sha256(), nil)
        }

        deinit { EVP_MD_CTX_free(context) }

        mutating func add(_ v: Value) {
            switch v {
            case .null: add(tag: 0)
            case .int(let x): add(tag: 1, UInt64(bitPattern: x))
            case .real(let x): add(tag: 2, x.bitPattern)
            case .text(let s):
                add(tag: 3, UInt64(s.utf8.count))
                var s = s
                s.withUTF8 { _ = EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
            }
        }

        mutating func add(table: String) { add(.text(table)) }

        private mutating func add(tag: UInt8, _ x: UInt64? = nil) {
            withUnsafeBytes(of: tag) { _ = EVP_DigestUpdate(context, $0.baseAddress, 1) }
            if let x {
                withUnsafeBytes(of: x.littleEndian) { _ = EVP_DigestUpdate(context, $0.baseAddress, 8) }
            }
        }

        /// The digest as 64 hex digits.
        consuming func finalize() -> String {
            var bytes = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            EVP_DigestFinal_ex(context, &bytes, &length)
            return bytes.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
        }
    }

    /// Copies runs into the output inside the merge's transaction.
    struct Copier {
        let db: Database
        let shape: Shape
        /// Digests of the output's finished runs.
        private var known: Set<String> = []
        private var inserts: [String: Statement] = [:]
        private let recordDigest: Statement

        init(db: Database, shape: Shape) throws {
            self.db = db
            self.shape = shape
            for t in ShardMerge.readTables {
                let names = shape.tables[t]!.map(\.name)
                inserts[t] = try db.prepare("INSERT INTO main.\(t) (\(names.joined(separator: ", "))) VALUES (\(names.map { _ in "?" }.joined(separator: ", ")))")
            }
            recordDigest = try db.prepare("INSERT INTO run_digests (run_id, digest) VALUES (?, ?)")
            // Runs the output got from replays have no digest yet.
            let undigested = try db.rows("""
                SELECT run_id FROM runs WHERE status = 'ok'
                AND run_id NOT IN (SELECT run_id FROM run_digests) ORDER BY run_id
                """).compactMap { $0[0].flatMap { Int64($0) } }
            for run in undigested {
                let row = try Self.runRow(db, shape, run)
                var digest = Digest()
                Self.addRun(row, shape, to: &digest)
                for table in ShardMerge.perRunTables {
                    digest.add(table: table.name)
                    try Self.rows(db, shape, table, run: run) { values in
                        for v in values { digest.add(v) }
                    }
                }
                recordDigest.bind(1, run)
                recordDigest.bind(2, digest.finalize())
                try recordDigest.run()
            }
            known = Set(try db.rows("SELECT digest FROM run_digests").compactMap { $0[0] })
        }

        /// Copies the shard's finished runs that the output lacks.
        mutating func copy(_ source: Source, _ summary: inout Summary) throws {
            let runs = try source.db.rows("SELECT run_id FROM runs WHERE status = 'ok' ORDER BY run_id")
                .map { Int64($0[0] ?? "") ?? -1 }
            var comparisons: [Int64: Int64] = [:]
            for run in runs {
                let where_ = "\(source.path): run \(run)"
                let row: [Value]
                do {
                    row = try Self.runRow(source.db, shape, run)
                } catch {
                    throw MergeError("\(where_): runs: \(error); refusing to merge")
                }
                try check(row, table: "runs", where_)
                let columns = shape.tables["runs"]!.map(\.name)
                func value(_ name: String) -> Value { row[columns.firstIndex(of: name)!] }
                guard case .text(let config) = value("config"),
                      let machine = try? JSONDecoder().decode(MachineConfig.self, from: Data(config.utf8)) else {
                    throw MergeError("\(where_): its config is not a machine configuration")
                }
                do {
                    try machine.validate()
                } catch {
                    throw MergeError("\(where_): its config is not a machine memreplay runs: \(error)")
                }
                guard case .text(let pmm) = value("pmm"), FrameAllocatorKind(rawValue: pmm) != nil else {
                    throw MergeError("\(where_): pmm is not one of \(FrameAllocatorKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                var comparison: Int64? = nil
                if case .int(let c) = value("comparison_id") {
                    guard c >= 1 else { throw MergeError("\(where_): comparison_id \(c) is not a comparison (ids start at 1)") }
                    comparison = try comparisons[c] ?? (db.scalar("SELECT COALESCE(MAX(comparison_id), 0) + 1 FROM main.runs") ?? 1)
                }
                let newRun = try db.scalar("SELECT COALESCE(MAX(run_id), 0) + 1 FROM main.runs") ?? 1

                try db.execute("SAVEPOINT merge_run")
                var digest = Digest()
                Self.addRun(row, shape, to: &digest)
                var copied = row
                copied[columns.firstIndex(of: "run_id")!] = .int(newRun)
                copied[columns.firstIndex(of: "comparison_id")!] = comparison.map(Value.int) ?? .null
                try insert(copied, into: "runs")
                var tickRows: Int64 = 0
                for table in ShardMerge.perRunTables {
                    let names = shape.tables[table.name]!.map(\.name)
                    let runColumn = names.firstIndex(of: "run_id")!
                    digest.add(table: table.name)
                    do {
                      try Self.rows(source.db, shape, table, run: run) { values in
                        try check(values, table: table.name, where_)
                        for v in values { digest.add(v) }
                        var out = values
                        out[runColumn] = .int(newRun)
                        try insert(out, into: table.name)
                        if table.name == "tick_metrics" { tickRows += 1 }
                      }
                    } catch let error as SQLiteError where !error.description.hasPrefix(db.path) {
                        throw MergeError("\(where_): \(table.name): \(error); refusing to merge")
                    }
                }
                guard case .int(let ticks) = value("ticks"), ticks == tickRows else {
                    try db.execute("ROLLBACK TO merge_run; RELEASE merge_run")
                    throw MergeError("\(where_): says it has \(value("ticks")) ticks but has \(tickRows) tick rows")
                }
                let d = digest.finalize()
                if known.contains(d) {
                    try db.execute("ROLLBACK TO merge_run; RELEASE merge_run")
                    summary.skipped += 1
                    // Its siblings join the group the output already has it
                    // in, so a comparison merged in two goes stays one.
                    if case .int(let c) = value("comparison_id"), comparisons[c] == nil,
                       let existing = try db.scalar("""
                           SELECT r.comparison_id FROM run_digests d JOIN runs r ON r.run_id = d.run_id
                           WHERE d.digest = ? AND r.comparison_id IS NOT NULL ORDER BY r.run_id LIMIT 1
                           """, [.text(d)]) {
                        comparisons[c] = existing
                    }
                    continue
                }
                recordDigest.bind(1, newRun)
                recordDigest.bind(2, d)
                try recordDigest.run()
                try db.execute("RELEASE merge_run")
                known.insert(d)
                if case .int(let c) = value("comparison_id"), let comparison { comparisons[c] = comparison }
                summary.runs += 1
            }
        }

        private func insert(_ values: [Value], into table: String) throws {
            let st = inserts[table]!
            for (i, v) in values.enumerated() { st.bind(Int32(i + 1), v) }
            try st.run()
        }

        /// Each value must have its column's type and lie in its range:
        /// integers and reals never negative, reals finite, text valid.
        private func check(_ values: [Value], table: String, _ where_: String) throws {
            for (column, v) in zip(shape.tables[table]!, values) {
                let bad: String?
                switch (v, column.type) {
                case (.null, _): bad = column.notNull ? "NULL in a NOT NULL column" : nil
                case (.int(let x), "INTEGER"), (.int(let x), "REAL"): bad = x < 0 ? "negative (\(x))" : nil
                case (.real(let x), "REAL"): bad = !x.isFinite ? "not a finite number (\(x))" : x < 0 ? "negative (\(x))" : nil
                case (.text, "TEXT"): bad = nil
                case (.real(let x), _): bad = "a real number (\(x)) in a \(column.type) column"
                case (.text(let s), _): bad = "text (\(s.prefix(20).debugDescription)) in a \(column.type) column"
                case (.int(let x), _): bad = "an integer (\(x)) in a \(column.type) column"
                }
                if let bad { throw MergeError("\(where_): \(table).\(column.name) is \(bad); refusing to merge") }
            }
        }

        /// The `runs` row of `run`, every column.
        static func runRow(_ db: Database, _ shape: Shape, _ run: Int64) throws -> [Value] {
            var row: [Value] = []
            let names = shape.tables["runs"]!.map(\.name)
            let st = try db.prepare("SELECT \(names.joined(separator: ", ")) FROM runs WHERE run_id = ?")
            st.bind(1, run)
            guard try st.step() else { throw MergeError("\(db.path): run \(run) vanished while merging") }
            for i in 0..<Int32(names.count) { row.append(try st.value(i)) }
            return row
        }

        /// Adds a `runs` row, but its run and comparison ids, to `digest`.
        static func addRun(_ row: [Value], _ shape: Shape, to digest: inout Digest) {
            digest.add(table: "runs")
            for (column, v) in zip(shape.tables["runs"]!, row) where column.name != "run_id" && column.name != "comparison_id" {
                digest.add(v)
            }
        }

        /// Calls `body` with every row of `run` in `table`, in key order.
        static func rows(_ db: Database, _ shape: Shape, _ table: (name: String, order: String), run: Int64,
                         _ body: ([Value]) throws -> Void) throws {
            let names = shape.tables[table.name]!.map(\.name)
            let st = try db.prepare("SELECT \(names.joined(separator: ", ")) FROM \(table.name) WHERE run_id = ? ORDER BY \(table.order)")
            st.bind(1, run)
            var values = [Value](repeating: .null, count: names.count)
            while try st.step() {
                for i in 0..<names.count { values[i] = try st.value(Int32(i)) }
                try body(values)
            }
        }
    }
}
