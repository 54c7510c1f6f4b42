import Foundation
import Testing
import MemStore
import TestSupport

/// Any number of replays, compares, sweeps and readers share one results
/// database (issue 15, item 1): every run ends `ok`, nothing is lost, and the
/// file stays sound.
@Suite(.serialized) struct ConcurrencyTests {
    static func start(_ args: [String], stderr: Pipe? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = stderr ?? FileHandle.nullDevice
        try p.run()
        return p
    }

    /// A generated access trace of `events` events in a new folder.
    static func trace(events: Int, _ name: String = "access.trace") throws -> String {
        let path = temporaryPath(name)
        let r = try CommandLineTests.run(["gen", "access", "--events", "\(events)", "--seed", "3", "-o", path])
        #expect(r.status == 0, "\(r.err)")
        return path
    }

    /// Every run `ok` with as many tick rows as it says it has ticks.
    static func expectAllComplete(_ db: String, runs: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let check = try Database(path: db, create: false, readOnly: true)
        let rows = try check.rows("""
            SELECT run_id, status, ticks, (SELECT count(*) FROM tick_metrics t WHERE t.run_id = r.run_id), error
            FROM runs r ORDER BY run_id
            """)
        #expect(rows.count == runs, "runs: \(rows)", sourceLocation: sourceLocation)
        for r in rows {
            #expect(r[1] == "ok" && r[2] == r[3], "run \(r)", sourceLocation: sourceLocation)
        }
        #expect(try check.rows("PRAGMA integrity_check") == [["ok"]], sourceLocation: sourceLocation)
    }

    /// A `sqlite3` session holding a read transaction used to make a new
    /// replay fail at open (every open wrote, and a rollback journal's
    /// commit waits for readers): now the replay opens, writes and ends `ok`
    /// while the reader keeps its snapshot.
    @Test func aReaderHoldingATransactionDoesNotStopAReplay() throws {
        let db = temporaryPath("r.db")
        let first = try CommandLineTests.run(["replay", "--quiet", "--db", db, CommandLineTests.root + "/traces/basic.trace"])
        #expect(first.status == 0, "\(first.err)")
        let reader = try Database(path: db, create: false, readOnly: true)
        try reader.execute("BEGIN")
        #expect(try reader.scalar("SELECT count(*) FROM runs") == 1)
        let started = Date()
        let second = try CommandLineTests.run(["replay", "--quiet", "--db", db, CommandLineTests.root + "/traces/reclaim.trace"])
        #expect(second.status == 0, "\(second.err)")
        #expect(Date().timeIntervalSince(started) < 8, "the replay waited for the reader")
        // The reader's snapshot is its own until it ends.
        #expect(try reader.scalar("SELECT count(*) FROM runs") == 1)
        try reader.execute("COMMIT")
        #expect(try reader.scalar("SELECT count(*) FROM runs") == 2)
        try Self.expectAllComplete(db, runs: 2)
    }

    /// Two replays writing a row every two events into one file: each waits
    /// for the other's short write transactions instead of failing.
    @Test func twoReplaysWritingEveryOtherEvent() throws {
        let trace = try Self.trace(events: 120_000)
        let db = temporaryPath("r.db")
        let errors = [Pipe(), Pipe()]
        let replays = try errors.map { try Self.start(["replay", "--quiet", "--tick-every", "2", "--db", db, trace], stderr: $0) }
        for (p, e) in zip(replays, errors) {
            let text = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(text)")
        }
        try Self.expectAllComplete(db, runs: 2)
    }

    /// `report` reads while a replay writes.
    @Test func reportWhileAReplayWrites() throws {
        let trace = try Self.trace(events: 300_000)
        let db = temporaryPath("r.db")
        let first = try CommandLineTests.run(["replay", "--quiet", "--db", db, CommandLineTests.root + "/traces/basic.trace"])
        #expect(first.status == 0, "\(first.err)")
        let writer = try Self.start(["replay", "--quiet", "--tick-every", "2", "--db", db, trace])
        usleep(300_000)
        let report = try CommandLineTests.run(["report", "--db", db, "--run", "1", "-o", temporaryPath("r.html")])
        #expect(report.status == 0, "\(report.err)")
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        try Self.expectAllComplete(db, runs: 2)
    }

    /// The issue's whole scene: four replays, a compare of two variants and
    /// a merge of a two-run shard, all into one database at once, while a
    /// reader holds a transaction open. Every run ends `ok` with all its
    /// rows, none is lost (a merge used to rename its copy over replays that
    /// finished meanwhile), and the file is sound.
    @Test func replaysACompareAndAMergeShareOneDatabaseWithAReader() throws {
        let trace = try Self.trace(events: 150_000)
        let db = temporaryPath("r.db")
        let shard = temporaryPath("shard.db")
        for t in ["basic", "reclaim"] {
            let r = try CommandLineTests.run(["replay", "--quiet", "--db", shard, CommandLineTests.root + "/traces/\(t).trace"])
            #expect(r.status == 0, "\(r.err)")
        }
        let first = try CommandLineTests.run(["replay", "--quiet", "--db", db, CommandLineTests.root + "/traces/basic.trace"])
        #expect(first.status == 0, "\(first.err)")
        let reader = try Database(path: db, create: false, readOnly: true)
        try reader.execute("BEGIN")
        #expect(try reader.scalar("SELECT count(*) FROM tick_metrics") ?? 0 > 0)

        var commands = (0..<4).map { i in ["replay", "--quiet", "--tick-every", "\(3 + i)", "--db", db, trace] }
        commands.append(["compare", "--quiet", "--db", db, "--variant", "s:pmm=stack", "--variant", "b:pmm=buddy", trace])
        commands.append(["merge", shard, "-o", db])
        let errors = commands.map { _ in Pipe() }
        var processes: [Process] = []
        for (i, c) in commands.enumerated() {
            if c[0] == "merge" { usleep(200_000) }  // while the replays write
            processes.append(try Self.start(c, stderr: errors[i]))
        }
        for (i, p) in processes.enumerated() {
            let text = String(decoding: errors[i].fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(commands[i].joined(separator: " ")): \(text)")
        }
        try reader.execute("COMMIT")
        // 1 + 4 replays + 2 variants + 2 merged runs.
        try Self.expectAllComplete(db, runs: 9)
        let check = try Database(path: db, create: false, readOnly: true)
        #expect(try check.scalar("SELECT count(DISTINCT comparison_id) FROM runs WHERE comparison_id IS NOT NULL") == 1)
        #expect(try check.scalar("SELECT count(*) FROM runs WHERE trace LIKE '%reclaim.trace'") == 1)
    }
}
