import Foundation
import Testing
import TestSupport
import MemModel
import MemTrace
@testable import MemStore
@testable import memreplay

/// One replay into the store: runs recorded, failures marked.
@Suite struct ReplayJobTests {
    @Test func failedRunIsRecordedAndEarlierRunsSurvive() throws {
        let path = temporaryPath("f.db")
        let store = try ResultStore(path: path)
        _ = try ReplayJob.run(trace: packageRoot + "/traces/basic.trace", options: ReplayOptions(), label: nil, store: store)
        let bad = writeTrace("memtrace 1\npalloc a\ntick\npfree b\n", name: "bad.trace")
        #expect(throws: TraceError.self) {
            _ = try ReplayJob.run(trace: bad, options: ReplayOptions(), label: nil, store: store)
        }
        let runs = try store.db.rows("SELECT run_id, status, error FROM runs ORDER BY run_id")
        #expect(runs.count == 2)
        #expect(runs[0] == ["1", "ok", nil])
        #expect(runs[1][1] == "failed")
        #expect(runs[1][2] == "\(bad):4: pfree: handle b was never allocated (or is already freed)")
        #expect(try store.db.scalar("SELECT count(*) FROM tick_metrics WHERE run_id = 1") == 4)
        #expect(try store.db.rows("PRAGMA integrity_check") == [["ok"]])
    }

    /// The configuration the trace's directives resolve is stored between
    /// reading them and replaying, so a run that fails later still says
    /// which machine it ran.
    @Test func aFailedRunKeepsTheMachineItsDirectivesChose() throws {
        let store = try ResultStore(path: temporaryPath("config.db"))
        let bad = writeTrace("memtrace 1\nmem 2M\nreserve 128K\npalloc a\ntick\npfree b\n", name: "bad.trace")
        var options = ReplayOptions()
        options.machine.pmm = .buddy
        let run = try store.beginRun(trace: bad, label: nil, config: options.machine)
        #expect(throws: TraceError.self) {
            _ = try ReplayJob.run(runID: run, trace: bad, options: options, store: store)
        }
        let stored = try store.db.rows("""
            SELECT status, pmm, json_extract(config, '$.memBytes'), json_extract(config, '$.reserveBytes')
            FROM runs WHERE run_id = ?
            """, [.int(run)])
        #expect(stored == [["failed", "buddy", "2097152", "131072"]])
    }
}
