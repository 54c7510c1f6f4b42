import Foundation
import Testing
import MemModel
import MemTrace
@testable import MemStore

let packageRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("memreplay-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

func writeTrace(_ text: String, name: String = "t.trace") -> String {
    let p = temporaryPath(name)
    FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
    return p
}

@Suite struct StoreTests {
    @Test func embeddedSchemaIsSchemaSQL() throws {
        let file = try String(contentsOfFile: packageRoot + "/schema.sql", encoding: .utf8)
        #expect(Schema.sql + "\n" == file, "Sources/MemStore/Schema.swift is out of date: paste schema.sql into it")
    }

    @Test func tickColumnsMatchTheSchema() throws {
        let store = try ResultStore(path: temporaryPath("c.db"))
        let cols = try store.db.rows("SELECT name FROM pragma_table_info('tick_metrics') ORDER BY cid").map { $0[0]! }
        #expect(cols == ["run_id"] + TickColumns.all.map(\.name))
    }

    @Test func replayBasicTraceIntoSQLite() throws {
        let store = try ResultStore(path: temporaryPath("r.db"))
        var options = ReplayOptions()
        options.machine.pmm = .buddy
        let out = try ReplayJob.run(trace: packageRoot + "/traces/basic.trace", options: options, label: "b", store: store)
        #expect(out.runID == 1)
        let rows = try store.db.rows("SELECT tick, events, free_pages, used_pages, largest_free_block, oom, free_o0, free_o5 FROM tick_metrics WHERE run_id = 1 ORDER BY tick")
        #expect(rows == [
            ["0", "5", "229", "11", "224", "0", "1", "1"],
            ["1", "5", "98", "142", "96", "0", "2", "1"],
            ["2", "6", "239", "1", "239", "1", "1", "1"],
            ["10", "0", "239", "1", "239", "0", "1", "1"],
        ])
        let run = try store.db.rows("SELECT label, pmm, status, events, ticks, error FROM runs")
        #expect(run == [["b", "buddy", "ok", "16", "4", nil]])
        let summary = try store.db.rows("SELECT round(peak_usage_pct, 4), oom FROM run_summary WHERE run_id = 1")
        #expect(summary == [["59.1667", "1"]])
        let config = try store.db.rows("SELECT json_extract(config, '$.memBytes'), json_extract(config, '$.reserveBytes') FROM runs")
        #expect(config == [["1048576", "65536"]])
    }

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

    @Test func refusesFilesThatAreNotResultDatabases() throws {
        let junk = writeTrace("this is not a database, just some text that is long enough to look like a header........", name: "junk.db")
        #expect(throws: SQLiteError.self) { _ = try ResultStore(path: junk) }
        let other = temporaryPath("other.db")
        let db = try Database(path: other)
        try db.execute("CREATE TABLE foo (x)")
        #expect(throws: SQLiteError.self) { _ = try ResultStore(path: other) }
        let future = temporaryPath("future.db")
        try Database(path: future).execute("PRAGMA user_version = 99")
        do {
            _ = try ResultStore(path: future)
            Issue.record("accepted a database of schema version 99")
        } catch {
            #expect(error.description.contains("schema version 99"))
        }
    }

    @Test func refusesDatabasesOfAnEarlierDevelopmentSchema() throws {
        let old = temporaryPath("old.db")
        try Database(path: old).execute("""
            CREATE TABLE runs (run_id INTEGER PRIMARY KEY, label TEXT, trace TEXT NOT NULL, pmm TEXT NOT NULL,
                               config TEXT NOT NULL, comparison_id INTEGER, started_at TEXT NOT NULL);
            PRAGMA user_version = 1;
            """)
        do {
            _ = try ResultStore(path: old)
            Issue.record("accepted a database without runs.seconds")
        } catch {
            #expect(error.description.contains("earlier development build"))
        }
    }

    @Test func reopeningAppliesTheSchemaIdempotently() throws {
        let path = temporaryPath("twice.db")
        _ = try ResultStore(path: path)
        let again = try ResultStore(path: path)
        #expect(try again.db.scalar("PRAGMA user_version") == Schema.version)
    }

    @Test func slabinfoAndProcessesAreStored() throws {
        let store = try ResultStore(path: temporaryPath("p.db"))
        _ = try ReplayJob.run(trace: packageRoot + "/traces/reclaim.trace", options: ReplayOptions(), label: nil, store: store)
        let dentry = try store.db.rows("SELECT tick, active_objs, num_objs, objsize, objperslab, pagesperslab, num_slabs FROM slabinfo WHERE name = 'dentry' ORDER BY tick")
        #expect(dentry.first == ["0", "0", "4", "4096", "1", "1", "4"])
        #expect(dentry[2] == ["2", "0", "0", "4096", "1", "1", "0"])  // reclaimed by kswapd
        let kswapd = try store.db.rows("SELECT tick, reclaimed_slab_pages, reclaimed_pagecache_pages FROM kswapd_ticks")
        #expect(kswapd == [["2", "4", "46"]])
        _ = try ReplayJob.run(trace: packageRoot + "/traces/processes.trace", options: ReplayOptions(), label: nil, store: store)
        let procs = try store.db.rows("SELECT pid, parent, exited_tick FROM processes WHERE run_id = 2 ORDER BY pid")
        #expect(procs == [["0", nil, nil], ["1", nil, "4"], ["2", "1", "2"], ["3", nil, "3"]])
    }
}
