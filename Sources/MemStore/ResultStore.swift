import Foundation
import MemModel

/// The results database: runs and everything they measured.
///
/// Crash safety comes from SQLite's rollback journal and from the order of
/// writes: a run's row is committed as `running` before any tick, its rows
/// are committed in batches, and `ok` is set in the same transaction as the
/// last batch. A replay that fails is marked `failed` with its message; one
/// that is killed stays `running`. Earlier runs are never touched.
public final class ResultStore {
    public let db: Database

    /// Opens or creates the database at `path` and brings it to the
    /// program's ``Schema``: a database of an earlier release is upgraded in
    /// place, all or nothing (``Schema/upgrade(_:schema:to:steps:)``). A file
    /// that is not a results database, or one written by a newer memreplay,
    /// is refused before any replay work starts.
    public init(path: String) throws(SQLiteError) {
        db = try Database(path: path)
        do throws(SQLiteError) {
            try db.execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            if try db.scalar("PRAGMA user_version") == 1,
               try db.scalar("SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'seconds'") == 0 {
                // Development builds before the first release wrote version 1
                // without runs.seconds, which its views read; no step can
                // tell what else they lacked.
                throw SQLiteError(code: 0, description: "\(path): written by an earlier development build of memreplay (no runs.seconds); use another --db")
            }
            try Schema.upgrade(db)
        } catch {
            if error.code & 0xFF == 26 /* SQLITE_NOTADB */ {
                throw SQLiteError(code: error.code, description: "\(path): not a SQLite database")
            }
            throw error
        }
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
        try db.executeRetryingBusy("BEGIN IMMEDIATE")
        do {
            let comparisonID = try nextComparisonID()
            var runIDs: [Int64] = []
            for r in runs {
                runIDs.append(try beginRun(trace: trace, label: r.label, config: r.config, comparisonID: comparisonID))
            }
            try db.executeRetryingBusy("COMMIT")
            return (comparisonID, runIDs)
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
    }

    /// Marks a run failed (after rolling back whatever batch was open). A
    /// run that already ended keeps its status and message: the first
    /// failure reported is the one that stopped it.
    public func failRun(_ run: Int64, error: String) throws {
        try? db.execute("ROLLBACK")
        let st = try db.prepare("UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE run_id = ? AND status = 'running'")
        st.bind(1, error)
        st.bind(2, Self.now())
        st.bind(3, run)
        try st.run()
    }

    /// Next comparison id (one more than the largest used).
    public func nextComparisonID() throws -> Int64 {
        (try db.scalar("SELECT COALESCE(MAX(comparison_id), 0) + 1 FROM runs")) ?? 1
    }
}

/// Writes the rows of one run in batched transactions.
public final class RunWriter: ReplaySink {
    let db: Database
    public let run: Int64
    private let tickInsert: Statement
    /// One INSERT of `tickGroup` rows: SQLite's per-statement cost, paid once per group.
    private let tickGroupInsert: Statement
    /// Buffered tick rows, `width` values each: run_id then the columns.
    private let pendingTicks: UnsafeMutablePointer<Int64>
    private var pendingRows = 0
    private let width: Int
    private let isReal: [Bool]
    /// Parameter position, within a row, of each buffered value.
    private let parameter: [Int32]
    static let tickGroup = 128
    private let slabInsert: Statement
    private let processInsert: Statement
    private let nodeInsert: Statement
    private var rowsInBatch = 0
    private var inTransaction = false
    private var batchStarted = 0.0
    /// A batch commits after this many rows or this many seconds: each commit
    /// costs fsyncs, so batches are large, yet a reader sees progress.
    static let batchRows = 262_144
    static let batchSeconds = 1.0

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
        let tuple = "(?\(String(repeating: ", ?", count: tableOrder.count - 1)))"
        let insert = "INSERT INTO tick_metrics (\(tableOrder.joined(separator: ", "))) VALUES "
        tickInsert = try db.prepare(insert + tuple)
        tickGroupInsert = try db.prepare(insert + Array(repeating: tuple, count: Self.tickGroup).joined(separator: ", "))
        width = buffered.count
        parameter = buffered.map { Int32(tableOrder.firstIndex(of: $0)!) }
        pendingTicks = .allocate(capacity: width * Self.tickGroup)
        isReal = [false] + TickColumns.all.map(\.isReal)
        slabInsert = try db.prepare("INSERT INTO slabinfo (run_id, tick, name, active_objs, num_objs, objsize, objperslab, pagesperslab, num_slabs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        nodeInsert = try db.prepare("INSERT INTO node_metrics (run_id, tick, node, free_pages, used_pages, usage_pct, largest_free_block, frag_index, fallback_allocations, local_accesses, remote_accesses, reclaimed_pages, kswapd_active, kswapd_wakeups) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        processInsert = try db.prepare("INSERT INTO processes (run_id, pid, parent, spawned_tick, exited_tick, peak_resident, resident, faults, cow_faults, segv) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    }

    private func rowWritten() throws {
        if !inTransaction { try open() }
        rowsInBatch += 1
        if rowsInBatch >= Self.batchRows || (rowsInBatch & 1023 == 0 && monotonicSeconds() - batchStarted > Self.batchSeconds) {
            try db.execute("COMMIT")
            inTransaction = false
            rowsInBatch = 0
        }
    }

    private func open() throws {
        if !inTransaction {
            try db.execute("BEGIN")
            inTransaction = true
            batchStarted = monotonicSeconds()
        }
    }

    deinit { pendingTicks.deallocate() }

    public func tickClosed(_ sample: TickSample) throws {
        if !sample.nodes.isEmpty { try nodesClosed(sample) }
        let row = pendingTicks + pendingRows * width
        row[0] = run
        var values = TickColumns.RowWriter(slot: row + 1)
        TickColumns.visit(sample, &values)
        pendingRows += 1
        if pendingRows == Self.tickGroup {
            try open()
            bind(tickGroupInsert, rows: Self.tickGroup, from: pendingTicks)
            try tickGroupInsert.run()
            pendingRows = 0
            for _ in 0..<Self.tickGroup { try rowWritten() }
        }
    }

    private func nodesClosed(_ sample: TickSample) throws {
        try open()
        for n in sample.nodes {
            nodeInsert.bind(1, run)
            nodeInsert.bind(2, Int64(truncatingIfNeeded: sample.tick))
            nodeInsert.bind(3, Int64(n.node))
            nodeInsert.bind(4, Int64(n.freePages))
            nodeInsert.bind(5, Int64(n.usedPages))
            nodeInsert.bind(6, n.usagePct)
            nodeInsert.bind(7, Int64(n.largestFreeBlock))
            nodeInsert.bind(8, n.fragIndex)
            nodeInsert.bind(9, Int64(n.delta.fallbackAllocations))
            nodeInsert.bind(10, Int64(n.delta.localAccesses))
            nodeInsert.bind(11, Int64(n.delta.remoteAccesses))
            nodeInsert.bind(12, Int64(n.delta.reclaimedPages))
            nodeInsert.bind(13, Int64(n.kswapdActive ? 1 : 0))
            nodeInsert.bind(14, Int64(n.delta.kswapdWakeups))
            try nodeInsert.run()
            try rowWritten()
        }
    }

    @inline(__always)
    private func bind(_ st: Statement, rows: Int, from p: UnsafeMutablePointer<Int64>) {
        isReal.withUnsafeBufferPointer { real in
            parameter.withUnsafeBufferPointer { position in
                var i = 0
                for r in 0..<rows {
                    let first = Int32(r * width + 1)
                    for c in 0..<width {
                        if real[c] {
                            st.bind(first + position[c], Double(bitPattern: UInt64(bitPattern: p[i])))
                        } else {
                            st.bind(first + position[c], p[i])
                        }
                        i += 1
                    }
                }
            }
        }
    }

    /// Writes buffered tick rows one by one (fewer than a group).
    private func flushTicks() throws {
        guard pendingRows > 0 else { return }
        try open()
        for r in 0..<pendingRows {
            bind(tickInsert, rows: 1, from: pendingTicks + r * width)
            try tickInsert.run()
            try rowWritten()
        }
        pendingRows = 0
    }

    public func slabinfo(tick: UInt64, rows: [SlabInfoRow]) throws {
        try open()
        for r in rows {
            slabInsert.bind(1, run)
            slabInsert.bind(2, Int64(bitPattern: tick))
            slabInsert.bind(3, r.name)
            slabInsert.bind(4, Int64(r.activeObjects))
            slabInsert.bind(5, Int64(r.objects))
            slabInsert.bind(6, Int64(r.objectSize))
            slabInsert.bind(7, Int64(r.objectsPerSlab))
            slabInsert.bind(8, Int64(r.pagesPerSlab))
            slabInsert.bind(9, Int64(r.slabs))
            try slabInsert.run()
            try rowWritten()
        }
    }

    public func processesFinished(_ records: [ProcessRecord]) throws {
        try open()
        for p in records {
            processInsert.bind(1, run)
            processInsert.bind(2, Int64(p.pid))
            processInsert.bind(3, p.parent.map { .int(Int64($0)) } ?? .null)
            processInsert.bind(4, Int64(bitPattern: p.spawnedTick))
            processInsert.bind(5, p.exitedTick.map { .int(Int64(bitPattern: $0)) } ?? .null)
            processInsert.bind(6, Int64(p.peakResident))
            processInsert.bind(7, Int64(p.resident))
            processInsert.bind(8, Int64(p.faults))
            processInsert.bind(9, Int64(p.cowFaults))
            processInsert.bind(10, Int64(p.segv))
            try processInsert.run()
            try rowWritten()
        }
    }

    /// Commits the last batch together with the run's `ok`.
    public func finish(_ s: ReplaySummary) throws {
        try flushTicks()
        try open()
        let st = try db.prepare("UPDATE runs SET status = 'ok', finished_at = ?, events = ?, ticks = ?, config = ?, seconds = ? WHERE run_id = ?")
        st.bind(1, ResultStore.now())
        st.bind(2, Int64(s.events))
        st.bind(3, Int64(s.ticks))
        st.bind(4, String(decoding: try ResultStore.encoder.encode(s.config), as: UTF8.self))
        st.bind(5, s.seconds)
        st.bind(6, run)
        try st.run()
        try db.executeRetryingBusy("COMMIT")
        inTransaction = false
    }

    /// Writes what `body` writes in a transaction of its own: the write lock
    /// is taken up front (`BEGIN IMMEDIATE`, retried while another connection
    /// holds it) and everything is committed before returning. For replays
    /// that share a database file and so must not hold its lock while their
    /// model runs (memreplay's `SharedRunWriter`).
    public func transaction(_ body: () throws -> Void) throws {
        if inTransaction {
            try flushTicks()
            try db.executeRetryingBusy("COMMIT")
            inTransaction = false
        }
        try db.executeRetryingBusy("BEGIN IMMEDIATE")
        inTransaction = true
        rowsInBatch = 0
        batchStarted = monotonicSeconds()
        try body()
        try flushTicks()
        if inTransaction {
            try db.executeRetryingBusy("COMMIT")
            inTransaction = false
            rowsInBatch = 0
        }
    }
}
