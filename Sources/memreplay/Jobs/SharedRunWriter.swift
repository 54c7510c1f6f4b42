import Foundation
import MemModel
import MemStore

/// Serializes the database writes of the replays one process runs at once.
///
/// SQLite lets one connection write at a time; the others wait in the busy
/// handler and give up after its timeout. A replay that held its write
/// transaction open while its model ran (as ``RunWriter`` does on its own, to
/// make commits rare) would stall every other replay and could starve one
/// past the timeout. So the replays of a comparison buffer their rows and
/// write them in short transactions taken in turn through this lock; the
/// busy timeout then only has to cover other processes.
final class WriteGate: @unchecked Sendable {
    private let lock = NSLock()

    init() {}

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// The sink of one of several replays writing to the same database file.
///
/// Rows are kept in memory and written through the wrapped ``RunWriter`` in
/// one transaction per flush, under the ``WriteGate``: after `maxRows` rows or
/// `flushSeconds` seconds, whichever comes first. The rows are the same as a
/// lone replay's; only their grouping into transactions differs.
final class SharedRunWriter: ReplaySink {
    let writer: RunWriter
    let gate: WriteGate
    private var ticks: [TickSample] = []
    private var slabs: [(tick: UInt64, rows: [SlabInfoRow])] = []
    private var processes: [ProcessRecord] = []
    private var bufferedRows = 0
    private var lastFlush = monotonicSeconds()
    /// About 2 MB of tick rows: a flush is a few milliseconds of the lock.
    static let maxRows = 4096
    static let flushSeconds = 1.0

    init(writer: RunWriter, gate: WriteGate) {
        self.writer = writer
        self.gate = gate
        ticks.reserveCapacity(Self.maxRows)
    }

    func tickClosed(_ sample: TickSample) throws {
        ticks.append(sample)
        try rowsAdded(1)
    }

    func slabinfo(tick: UInt64, rows: [SlabInfoRow]) throws {
        slabs.append((tick, rows))
        try rowsAdded(rows.count)
    }

    func processesFinished(_ records: [ProcessRecord]) throws {
        processes += records
        try rowsAdded(records.count)
    }

    private func rowsAdded(_ n: Int) throws {
        bufferedRows += n
        if bufferedRows >= Self.maxRows
            || (ticks.count & 31 == 0 && monotonicSeconds() - lastFlush > Self.flushSeconds) {
            try flush()
        }
    }

    private func writeBuffered() throws {
        for t in ticks { try writer.tickClosed(t) }
        for s in slabs { try writer.slabinfo(tick: s.tick, rows: s.rows) }
        if !processes.isEmpty { try writer.processesFinished(processes) }
        ticks.removeAll(keepingCapacity: true)
        slabs.removeAll()
        processes.removeAll()
        bufferedRows = 0
        lastFlush = monotonicSeconds()
    }

    /// Writes the buffered rows in one transaction.
    func flush() throws {
        try gate.withLock {
            try writer.transaction { try writeBuffered() }
        }
    }

    /// Writes the rest and marks the run `ok`, in one transaction.
    func finish(_ summary: ReplaySummary) throws {
        try gate.withLock {
            try writer.transaction {
                try writeBuffered()
                try writer.finish(summary)  // commits
            }
        }
    }
}
