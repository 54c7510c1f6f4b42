import Foundation
import MemModel

/// The results database: runs and everything they measured.
///
/// One file serves any number of replays, comparisons, sweeps, merges and
/// readers at once, in this process or others:
/// - The database is in WAL mode (set when memreplay first writes it, and
///   kept in the file): readers never wait for writers nor writers for
///   readers. Beside `results.db` are `results.db-wal` (committed writes
///   not yet copied into the file) and `results.db-shm` (the index readers
///   share) while a connection is open; the last connection to close copies
///   the log into the file and removes both. Copy a results database with
///   `sqlite3 results.db .backup` or when nothing has it open. WAL needs
///   shared memory, so not on a network file system; on read-only media
///   open it with `PRAGMA journal_mode = DELETE` set beforehand.
/// - Writers take turns: every write is a short `BEGIN IMMEDIATE`
///   transaction (``RunWriter`` writes a few thousand buffered rows at a
///   time, never while its model runs), and a writer that finds the lock
///   taken waits for it (``Database/busyLimit``) rather than failing.
/// - Opening writes nothing unless the schema must be created or upgraded,
///   and readers open read-only (``init(readingFrom:)``).
///
/// Crash safety comes from SQLite's log and from the order of writes: a
/// run's row is committed as `running` before any tick, its rows are
/// committed in batches, and `ok` is set in the same transaction as the last
/// batch. A replay that fails or is interrupted is marked `failed` with its
/// message; one that is killed outright stays `running`. Earlier runs are
/// never touched.
public final class ResultStore {
    public let db: Database

    /// Opens or creates the database at `path` for writing and brings it to
    /// the program's ``Schema``: a database of an earlier release is
    /// upgraded in place, all or nothing (``Schema/upgrade(_:schema:to:steps:)``).
    /// A file that is not a results database, or one written by a newer
    /// memreplay, is refused before any replay work starts.
    public init(path: String) throws(SQLiteError) {
        db = try Database(path: path)
        do throws(SQLiteError) {
            try db.execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            if try Self.needsUpgrade(db) {
                try Schema.upgrade(db)
            }
            // After the upgrade, so that a file that is not ours is refused
            // before anything (the journal mode included) is changed in it.
            // A no-op, writing nothing, once the file is in WAL mode.
            try db.execute("PRAGMA journal_mode = WAL")
        } catch {
            throw Self.explained(error, path)
        }
    }

    /// Opens the database at `path` for reading only: nothing in the file
    /// changes and no lock is taken beyond a reader's. A database of an
    /// earlier release is first upgraded, and one left with a hot rollback
    /// journal first recovered (that one open writes); a newer or foreign
    /// one is refused.
    public init(readingFrom path: String) throws(SQLiteError) {
        do throws(SQLiteError) {
            var reader = try Database(path: path, create: false, readOnly: true)
            let upgrade: Bool
            do {
                upgrade = try Self.needsUpgrade(reader)
            } catch where error.code & 0xFF == 8 /* SQLITE_READONLY */ {
                // A rollback-mode file (an earlier release's, or one set to
                // DELETE for read-only media) whose writer was killed: its
                // hot journal must be rolled back, which a reader may not do.
                upgrade = true
            }
            if upgrade {
                _ = try ResultStore(path: path)
                reader = try Database(path: path, create: false, readOnly: true)
            }
            db = reader
        } catch {
            throw Self.explained(error, path)
        }
    }

    /// True unless the file is at this program's schema version: then opening
    /// it needs no write at all. Reading `user_version` takes no write lock.
    static func needsUpgrade(_ db: Database) throws(SQLiteError) -> Bool {
        let version = try db.scalar("PRAGMA user_version") ?? 0
        if version == 1,
           try db.scalar("SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'seconds'") == 0 {
            // Development builds before the first release wrote version 1
            // without runs.seconds, which its views read; no step can
            // tell what else they lacked.
            throw SQLiteError(code: 0, description: "\(db.path): written by an earlier development build of memreplay (no runs.seconds); use another --db")
        }
        return version != Schema.version
    }

    static func explained(_ error: SQLiteError, _ path: String) -> SQLiteError {
        if error.code & 0xFF == 26 /* SQLITE_NOTADB */ {
            return SQLiteError(code: error.code, description: "\(path): not a SQLite database")
        }
        return error
    }

    static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }

    /// Records a new run as `running` and returns its id.
    public func beginRun(trace: String, label: String?, config: MachineConfig, comparisonID: Int64? = nil,
                         sweepJob: String? = nil) throws -> Int64 {
        let json = String(decoding: try Self.encoder.encode(config), as: UTF8.self)
        let st = try db.prepare("""
            INSERT INTO runs (label, trace, pmm, config, comparison_id, started_at, status, sweep_job)
            VALUES (?, ?, ?, ?, ?, ?, 'running', ?)
            """)
        st.bind(7, sweepJob.map(Value.text) ?? .null)
        st.bind(1, label.map(Value.text) ?? .null)
        st.bind(2, trace)
        st.bind(3, config.pmm.rawValue)
        st.bind(4, json)
        st.bind(5, comparisonID.map(Value.int) ?? .null)
        st.bind(6, Self.now())
        try st.run()
        return db.lastInsertRowID
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    /// Stores the configuration once the trace's directives are known.
    public func updateConfig(_ run: Int64, _ config: MachineConfig) throws {
        let st = try db.prepare("UPDATE runs SET config = ?, pmm = ? WHERE run_id = ?")
        st.bind(1, String(decoding: try Self.encoder.encode(config), as: UTF8.self))
        st.bind(2, config.pmm.rawValue)
        st.bind(3, run)
        try st.run()
    }

    /// A sink that writes one run's rows.
    public func writer(run: Int64) throws -> RunWriter { try RunWriter(db: db, run: run) }

    /// Records the runs of one comparison as `running`, in one transaction,
    /// and returns the comparison id and the run ids in the order given.
    /// The write lock is taken before the next comparison id is read, so two
    /// processes comparing into the same file cannot take the same id.
    public func beginComparison(trace: String, runs: [(label: String, config: MachineConfig)]) throws
        -> (comparisonID: Int64, runIDs: [Int64]) {
        try db.writeTransaction {
            let comparisonID = try nextComparisonID()
            var runIDs: [Int64] = []
            for r in runs {
                runIDs.append(try beginRun(trace: trace, label: r.label, config: r.config, comparisonID: comparisonID))
            }
            return (comparisonID, runIDs)
        }
    }

    /// Marks a run failed (after rolling back whatever transaction was
    /// open). A run that already ended keeps its status and message: the
    /// first failure reported is the one that stopped it.
    ///
    /// The update waits for the write lock like every write: a failure
    /// must not be lost because others were writing (the run would stay
    /// `running` for ever). If it still cannot be written, the error says
    /// which run stays `running`.
    public func failRun(_ run: Int64, error: String) throws {
        if !db.isAutocommit { try? db.execute("ROLLBACK") }
        do {
            try db.writeTransaction {
                let st = try db.prepare("UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE run_id = ? AND status = 'running'")
                st.bind(1, error)
                st.bind(2, Self.now())
                st.bind(3, run)
                try st.run()
            }
        } catch {
            throw SQLiteError(code: (error as? SQLiteError)?.code ?? 0,
                              description: "run \(run) could not be marked failed and stays 'running': \(error)")
        }
    }

    /// Next comparison id (one more than the largest used).
    public func nextComparisonID() throws -> Int64 {
        (try db.scalar("SELECT COALESCE(MAX(comparison_id), 0) + 1 FROM runs")) ?? 1
    }
}

/// Writes the rows of one run: buffered in memory, then written in one short
/// write transaction per flush.
///
/// The write lock is held only while a flush writes (a few milliseconds for
/// ``flushRows`` rows), never while the model runs, so any number of replays
/// can write one file at once, taking turns (see ``ResultStore``). A flush
/// comes after ``flushRows`` rows or ``flushSeconds`` seconds, whichever is
/// first, so a reader sees a run's progress. In WAL mode a commit costs no
/// `fsync` (`synchronous = NORMAL`), which is what makes flushes this small
/// cheap.
public final class RunWriter: ReplaySink {
    let db: Database
    public let run: Int64
    /// Tick rows go in `tickGroup` to an INSERT: SQLite's per-statement
    /// cost, paid once per group.
    private let tickInsert: GroupedInsert
    /// Buffered tick rows, `width` values each: run_id then the columns.
    private let pendingTicks: UnsafeMutablePointer<Int64>
    private var pendingRows = 0
    private let width: Int
    private let isReal: [Bool]
    /// Parameter position, within a row, of each buffered value.
    private let parameter: [Int32]
    static let tickGroup = 128
    private let slabInsert: GroupedInsert
    private let processInsert: GroupedInsert
    private let nodeInsert: GroupedInsert
    private var pendingNodes: [(tick: UInt64, node: NodeSample)] = []
    private var pendingSlabs: [(tick: UInt64, row: SlabInfoRow)] = []
    private var pendingProcesses: [ProcessRecord] = []
    private var pendingCallsites: [CallsiteRecord] = []
    private var pendingPages: [PageAllocationRecord] = []
    private var pendingCurves: [MRCRow] = []
    private let curveInsert: Statement
    private let callsiteInsert: Statement
    private let pageInsert: Statement
    private let pageTypeInsert: Statement
    /// Rows of every table buffered since the last flush.
    private var bufferedRows = 0
    private var lastFlush = monotonicSeconds()
    /// About 2 MB of tick rows: a flush holds the write lock for a few
    /// milliseconds.
    public static let flushRows = 4096
    public static let flushSeconds = 1.0

    init(db: Database, run: Int64) throws {
        self.db = db
        self.run = run
        // Values are buffered in the order the metrics are declared; the
        // INSERT names the columns in the table's order, which spares SQLite
        // reordering every record (about 7 % of its time on tick rows), and
        // each value is bound to its column's position.
        let buffered = ["run_id"] + TickColumns.all.map(\.name)
        let tableOrder = try db.rows("SELECT name FROM pragma_table_info('tick_metrics') ORDER BY cid")
            .compactMap { $0[0] }.filter(buffered.contains)
        tickInsert = try GroupedInsert(db, "tick_metrics", tableOrder, group: Self.tickGroup)
        width = buffered.count
        parameter = buffered.map { Int32(tableOrder.firstIndex(of: $0)!) }
        pendingTicks = .allocate(capacity: width * Self.flushRows)
        isReal = [false] + TickColumns.all.map(\.isReal)
        slabInsert = try GroupedInsert(db, "slabinfo", ["run_id", "tick", "name", "active_objs", "num_objs", "objsize", "objperslab", "pagesperslab", "num_slabs", "active_slabs", "tunable_limit", "tunable_batchcount"])
        nodeInsert = try GroupedInsert(db, "node_metrics", ["run_id", "tick", "node", "free_pages", "used_pages", "usage_pct", "largest_free_block", "frag_index", "fallback_allocations", "local_accesses", "remote_accesses", "reclaimed_pages", "kswapd_active", "kswapd_wakeups"])
        callsiteInsert = try db.prepare("INSERT INTO kmem_callsites (run_id, call_site, allocs, frees, failures, bytes_req, bytes_alloc, frag_pct) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        pageInsert = try db.prepare("INSERT INTO kmem_pages (run_id, page_order, use, allocs, frees, failures) VALUES (?, ?, ?, ?, ?, ?)")
        curveInsert = try db.prepare("INSERT INTO mrc (run_id, structure, sets, entries, lookups, misses) VALUES (?, ?, ?, ?, ?, ?)")
        pageTypeInsert = try db.prepare("INSERT INTO pagetypeinfo (run_id, tick, node, migratetype, free_o0, free_o1, free_o2, free_o3, free_o4, free_o5, free_o6, free_o7, free_o8, free_o9, free_o10, pageblocks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        processInsert = try GroupedInsert(db, "processes", ["run_id", "pid", "parent", "spawned_tick", "exited_tick", "peak_resident", "resident", "faults", "cow_faults", "segv"])
    }

    deinit { pendingTicks.deallocate() }

    /// Counts `n` buffered rows and flushes when enough have gathered or
    /// enough time has passed (the clock read every 32 tick rows).
    @inline(__always)
    private func rowsAdded(_ n: Int) throws {
        bufferedRows += n
        if pendingRows == Self.flushRows || bufferedRows >= Self.flushRows
            || (pendingRows & 31 == 0 && monotonicSeconds() - lastFlush > Self.flushSeconds) {
            try db.writeTransaction { try writeBuffered() }
        }
    }

    public func tickClosed(_ sample: TickSample) throws {
        var typeRows = 0
        for n in sample.nodes {
            pendingNodes.append((sample.tick, n))
            if let t = n.pageTypes { typeRows += t.pageblocks.count }
        }
        let row = pendingTicks + pendingRows * width
        row[0] = run
        var values = TickColumns.RowWriter(slot: row + 1)
        TickColumns.visit(sample, &values)
        pendingRows += 1
        try rowsAdded(1 + sample.nodes.count + typeRows)
    }

    public func slabinfo(tick: UInt64, rows: [SlabInfoRow]) throws {
        for r in rows { pendingSlabs.append((tick, r)) }
        try rowsAdded(rows.count)
    }

    public func processesFinished(_ records: [ProcessRecord]) throws {
        pendingProcesses += records
        try rowsAdded(records.count)
    }

    public func kmemFinished(callsites: [CallsiteRecord], pages: [PageAllocationRecord]) throws {
        pendingCallsites += callsites
        pendingPages += pages
        try rowsAdded(callsites.count + pages.count)
    }

    public func curvesFinished(_ rows: [MRCRow]) throws {
        pendingCurves += rows
        try rowsAdded(rows.count)
    }

    /// Writes every buffered row; inside a write transaction.
    private func writeBuffered() throws {
        try tickInsert.write(pendingRows) { st, first, r in bindTick(st, first, from: pendingTicks + r * width) }
        try nodeInsert.write(pendingNodes.count) { st, c, i in bind(pendingNodes[i].node, tick: pendingNodes[i].tick, st, c) }
        for (tick, n) in pendingNodes { try insertPageTypes(n, tick: tick) }
        try slabInsert.write(pendingSlabs.count) { st, c, i in bind(pendingSlabs[i].row, tick: pendingSlabs[i].tick, st, c) }
        try processInsert.write(pendingProcesses.count) { st, c, i in bind(pendingProcesses[i], st, c) }
        for c in pendingCallsites {
            callsiteInsert.bind(1, run)
            callsiteInsert.bind(2, "0x" + String(c.site, radix: 16))
            callsiteInsert.bind(3, Int64(c.allocations))
            callsiteInsert.bind(4, Int64(c.frees))
            callsiteInsert.bind(5, Int64(c.failures))
            callsiteInsert.bind(6, Int64(c.bytesRequested))
            callsiteInsert.bind(7, Int64(c.bytesAllocated))
            callsiteInsert.bind(8, c.fragmentationPct)
            try callsiteInsert.run()
        }
        for p in pendingPages {
            pageInsert.bind(1, run)
            pageInsert.bind(2, Int64(p.order))
            pageInsert.bind(3, p.use)
            pageInsert.bind(4, Int64(p.allocations))
            pageInsert.bind(5, Int64(p.frees))
            pageInsert.bind(6, Int64(p.failures))
            try pageInsert.run()
        }
        for c in pendingCurves {
            curveInsert.bind(1, run)
            curveInsert.bind(2, c.structure)
            curveInsert.bind(3, Int64(c.sets))
            curveInsert.bind(4, Int64(c.entries))
            curveInsert.bind(5, Int64(c.lookups))
            curveInsert.bind(6, Int64(c.misses))
            try curveInsert.run()
        }
        pendingCallsites.removeAll()
        pendingPages.removeAll()
        pendingCurves.removeAll()
        pendingRows = 0
        pendingNodes.removeAll(keepingCapacity: true)
        pendingSlabs.removeAll(keepingCapacity: true)
        pendingProcesses.removeAll(keepingCapacity: true)
        bufferedRows = 0
        lastFlush = monotonicSeconds()
    }

    /// Binds a node_metrics row at parameters `c ..< c + 14`.
    private func bind(_ n: NodeSample, tick: UInt64, _ st: Statement, _ c: Int32) {
        st.bind(c, run)
        st.bind(c + 1, Int64(truncatingIfNeeded: tick))
        st.bind(c + 2, Int64(n.node))
        st.bind(c + 3, Int64(n.freePages))
        st.bind(c + 4, Int64(n.usedPages))
        st.bind(c + 5, n.usagePct)
        st.bind(c + 6, Int64(n.largestFreeBlock))
        st.bind(c + 7, n.fragIndex)
        st.bind(c + 8, Int64(n.delta.fallbackAllocations))
        st.bind(c + 9, Int64(n.delta.localAccesses))
        st.bind(c + 10, Int64(n.delta.remoteAccesses))
        st.bind(c + 11, Int64(n.delta.reclaimedPages))
        st.bind(c + 12, Int64(n.kswapdActive ? 1 : 0))
        st.bind(c + 13, Int64(n.delta.kswapdWakeups))
    }

    private func insertPageTypes(_ n: NodeSample, tick: UInt64) throws {
        guard let types = n.pageTypes else { return }
        for (t, name) in PageTypeInfo.typeNames.enumerated() {
            pageTypeInsert.bind(1, run)
            pageTypeInsert.bind(2, Int64(truncatingIfNeeded: tick))
            pageTypeInsert.bind(3, Int64(n.node))
            pageTypeInsert.bind(4, name)
            for o in 0...maxOrder { pageTypeInsert.bind(Int32(5 + o), Int64(types.freeBlocks[t][o])) }
            pageTypeInsert.bind(16, Int64(types.pageblocks[t]))
            try pageTypeInsert.run()
        }
    }

    /// Binds a slabinfo row at parameters `c ..< c + 12`.
    private func bind(_ r: SlabInfoRow, tick: UInt64, _ st: Statement, _ c: Int32) {
        st.bind(c, run)
        st.bind(c + 1, Int64(bitPattern: tick))
        st.bind(c + 2, r.name)
        st.bind(c + 3, Int64(r.activeObjects))
        st.bind(c + 4, Int64(r.objects))
        st.bind(c + 5, Int64(r.objectSize))
        st.bind(c + 6, Int64(r.objectsPerSlab))
        st.bind(c + 7, Int64(r.pagesPerSlab))
        st.bind(c + 8, Int64(r.slabs))
        st.bind(c + 9, Int64(r.activeSlabs))
        st.bind(c + 10, Int64(r.limit))
        st.bind(c + 11, Int64(r.batchcount))
    }

    /// Binds a processes row at parameters `c ..< c + 10`.
    private func bind(_ p: ProcessRecord, _ st: Statement, _ c: Int32) {
        st.bind(c, run)
        st.bind(c + 1, Int64(p.pid))
        st.bind(c + 2, p.parent.map { .int(Int64($0)) } ?? .null)
        st.bind(c + 3, Int64(bitPattern: p.spawnedTick))
        st.bind(c + 4, p.exitedTick.map { .int(Int64(bitPattern: $0)) } ?? .null)
        st.bind(c + 5, Int64(p.peakResident))
        st.bind(c + 6, Int64(p.resident))
        st.bind(c + 7, Int64(p.faults))
        st.bind(c + 8, Int64(p.cowFaults))
        st.bind(c + 9, Int64(p.segv))
    }

    /// Binds the buffered tick row at `p` at parameters `first ..< first + width`.
    @inline(__always)
    private func bindTick(_ st: Statement, _ first: Int32, from p: UnsafeMutablePointer<Int64>) {
        isReal.withUnsafeBufferPointer { real in
            parameter.withUnsafeBufferPointer { position in
                for c in 0..<width {
                    if real[c] {
                        st.bind(first + position[c], Double(bitPattern: UInt64(bitPattern: p[c])))
                    } else {
                        st.bind(first + position[c], p[c])
                    }
                }
            }
        }
    }

    /// Writes the rest and marks the run `ok`, in one transaction: a run is
    /// never `ok` without all its rows.
    public func finish(_ s: ReplaySummary) throws {
        try db.writeTransaction {
            try writeBuffered()
            let st = try db.prepare("UPDATE runs SET status = 'ok', finished_at = ?, events = ?, ticks = ?, config = ?, seconds = ? WHERE run_id = ?")
            st.bind(1, ResultStore.now())
            st.bind(2, Int64(s.events))
            st.bind(3, Int64(s.ticks))
            st.bind(4, String(decoding: try ResultStore.encoder.encode(s.config), as: UTF8.self))
            st.bind(5, s.seconds)
            st.bind(6, run)
            try st.run()
        }
    }
}

/// One table's INSERT of one row and of `group` rows at once: a group
/// pays SQLite's per-statement cost (the VDBE program's start, step and
/// reset) once for all its rows. Rows go in the order given, so the table
/// ends up as with one INSERT per row.
struct GroupedInsert {
    private let group: Int
    private let one: Statement
    private let many: Statement
    private let columns: Int32

    init(_ db: Database, _ table: String, _ columns: [String], group: Int = 64) throws {
        let tuple = "(?\(String(repeating: ", ?", count: columns.count - 1)))"
        let insert = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        one = try db.prepare(insert + tuple)
        many = try db.prepare(insert + Array(repeating: tuple, count: group).joined(separator: ", "))
        self.group = group
        self.columns = Int32(columns.count)
    }

    /// Inserts rows `0 ..< count`; `bind(statement, first, i)` binds row `i`
    /// at parameters `first ..< first + columns`.
    func write(_ count: Int, _ bind: (Statement, Int32, Int) -> Void) throws {
        var r = 0
        while r + group <= count {
            for k in 0 ..< group { bind(many, Int32(k) * columns + 1, r + k) }
            try many.run()
            r += group
        }
        while r < count {
            bind(one, 1, r)
            try one.run()
            r += 1
        }
    }
}
