import Foundation
import Testing
import TestSupport
@testable import MemStore

/// Replays killed at random moments never damage the database or earlier
/// runs, and never leave a run marked `ok` that is not complete.
@Suite(.serialized) struct CrashSafetyTests {
    func tempDir() -> String {
        scratchDirectory("kill")
    }

    func start(_ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Every `ok` run has exactly as many tick rows as it says it has ticks.
    func okRunsAreComplete(_ db: Database) throws -> Bool {
        let bad = try db.scalar("""
            SELECT count(*) FROM runs r
            WHERE r.status = 'ok' AND r.ticks != (SELECT count(*) FROM tick_metrics t WHERE t.run_id = r.run_id)
            """)
        return bad == 0
    }

    @Test func killAtRandomPoints() throws {
        let dir = tempDir()
        let db = dir + "/r.db"
        let trace = dir + "/big.trace"
        let gen = try start(["gen", "access", "--events", "3000000", "-o", trace])
        gen.waitUntilExit()
        #expect(gen.terminationStatus == 0)
        let first = try start(["replay", "--db", db, "--tick-every", "1000", CommandLineTests.root + "/traces/basic.trace"])
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)

        var rng = SystemRandomNumberGenerator()
        let iterations = 8
        for i in 0..<iterations {
            let p = try start(["replay", "--db", db, "--tick-every", "500", trace])
            let deadline = Date().addingTimeInterval(Double.random(in: 0.05...1.5, using: &rng))
            // A reader queries while the replay writes.
            while Date() < deadline {
                let reader = try Database(path: db, create: false, readOnly: true)
                #expect(try okRunsAreComplete(reader), "iteration \(i): a reader saw an incomplete run marked ok")
                usleep(20_000)
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let check = try Database(path: db, create: false)
            #expect(try check.rows("PRAGMA integrity_check") == [["ok"]], "iteration \(i)")
            #expect(try check.rows("SELECT status, ticks FROM runs WHERE run_id = 1") == [["ok", "4"]])
            #expect(try check.scalar("SELECT count(*) FROM tick_metrics WHERE run_id = 1") == 4)
            #expect(try okRunsAreComplete(check))
            // The killed run is never ok (it may have finished if the kill came late).
            let last = try check.rows("SELECT status, ticks, (SELECT count(*) FROM tick_metrics WHERE run_id = runs.run_id) FROM runs ORDER BY run_id DESC LIMIT 1")
            #expect(last[0][0] == "running" || (last[0][0] == "ok" && last[0][1] == last[0][2]))
        }
        // The database still takes new runs after all that.
        let after = try start(["replay", "--db", db, CommandLineTests.root + "/traces/reclaim.trace"])
        after.waitUntilExit()
        #expect(after.terminationStatus == 0)
    }

    @Test func sigintMarksTheRunFailed() throws {
        let dir = tempDir()
        let db = dir + "/r.db"
        let trace = dir + "/big.trace"
        let gen = try start(["gen", "access", "--events", "4000000", "-o", trace])
        gen.waitUntilExit()
        let p = try start(["replay", "--db", db, trace])
        usleep(700_000)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        let check = try Database(path: db, create: false)
        let run = try check.rows("SELECT status, error FROM runs")
        #expect(run.count == 1)
        #expect(run.first?[0] == "failed")
        #expect(run.first?[1]?.contains("interrupted by SIGINT") == true)
        #expect(try check.rows("PRAGMA integrity_check") == [["ok"]])
    }
}
