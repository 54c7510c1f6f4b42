import Foundation
import Testing
import TestSupport
import MemModel
import MemTrace
@testable import MemStore

@Suite struct StoreTests {
    @Test func tickColumnsMatchTheSchema() throws {
        let store = try ResultStore(path: temporaryPath("c.db"))
        let cols = try store.db.rows("SELECT name FROM pragma_table_info('tick_metrics') ORDER BY cid").map { $0[0]! }
        let declared = TickColumns.all.map(\.name)
        #expect(Set(declared).count == declared.count, "a column is declared twice")
        #expect(Set(cols) == Set(["run_id"] + declared), "declared metrics and schema.sql's tick_metrics differ")
        let reals = try store.db.rows("SELECT name FROM pragma_table_info('tick_metrics') WHERE type = 'REAL'").map { $0[0]! }
        #expect(Set(reals) == Set(TickColumns.all.filter(\.isReal).map(\.name)))
    }

    /// Every field of a tick lands in the column of its name: each field
    /// gets its own value, and the expected table below is spelled out
    /// independently of TickColumns. 130 rows cover the grouped INSERT (128
    /// rows) and the single-row tail.
    @Test func everyTickFieldLandsInItsColumn() throws {
        let store = try ResultStore(path: temporaryPath("cols.db"))
        let run = try store.beginRun(trace: "synthetic", label: nil, config: MachineConfig())
        let writer = try store.writer(run: run)
        func sample(_ t: Int) -> TickSample {
            var d = Counters()
            var g = Gauges()
            d.events = t + 1; g.freePages = t + 2; g.usedPages = t + 3; g.usagePct = Double(t) + 0.25
            g.largestFreeBlock = t + 5; g.fragIndex = Double(t) + 0.5; d.reclaim.oom = t + 7
            for o in 0...maxOrder { g.freeBlocks[o] = t + 100 + o }
            d.frames.allocated = t + 8; d.frames.freed = t + 9; g.processes = t + 10; g.pagetablePages = t + 11
            d.tlb.lookups = t + 12; d.tlb.hits = t + 13; d.tlb.misses = t + 14; d.tlb.flushes = t + 15
            d.tlb.invlpg = t + 16; d.paging.pageFaults = t + 17; d.paging.demandFaults = t + 18; d.paging.cowFaults = t + 19
            d.paging.cowCopies = t + 20; d.paging.segv = t + 21; d.paging.switches = t + 22; d.paging.regionFailures = t + 23
            g.slabPages = t + 24; g.slabObjects = t + 25; g.slabCapacity = t + 26; g.slabWasteBytes = t + 27
            g.kmallocLargePages = t + 28; g.pagecachePages = t + 29; g.pagecacheDirty = t + 30
            d.pageCache.hits = t + 31; d.pageCache.misses = t + 32; g.kswapdActive = t % 2 == 1
            d.reclaim.kswapdWakeups = t + 34; d.reclaim.reclaimedSlabPages = t + 35; d.reclaim.reclaimedPagecachePages = t + 36
            d.reclaim.directReclaims = t + 37
            g.kmemBytesRequested = t + 38; g.kmemBytesAllocated = t + 39
            g.freeHuge = t + 40
            d.mobility.fallbacks = t + 41; d.mobility.fragmenting = t + 42; d.mobility.steals = t + 43; d.mobility.claims = t + 44
            d.compaction.stalls = t + 45; d.compaction.successes = t + 46; d.compaction.failures = t + 47
            d.compaction.migrateScanned = t + 48; d.compaction.freeScanned = t + 49; d.compaction.isolated = t + 50
            d.compaction.migrated = t + 51; d.compaction.tlbInvalidations = t + 52; d.compaction.proactiveRuns = t + 53
            d.tlb.l2Hits = t + 54; d.tlb.l2Misses = t + 55
            d.tlb.walkRefs = t + 56; d.tlb.pdeCacheHits = t + 57; d.tlb.pdeCacheMisses = t + 58
            d.tlb.largeHits = t + 59; d.paging.hugeFaults = t + 60; d.paging.hugeFallbacks = t + 61
            return TickSample(tick: UInt64(t), delta: d, gauges: g)
        }
        for t in 0..<130 { try writer.tickClosed(sample(t)) }
        var summary = ReplaySummary(config: MachineConfig())
        summary.ticks = 130
        try writer.finish(summary)
        let expected: [(String, (Int) -> String)] = [
            ("tick", { "\($0)" }), ("events", { "\($0 + 1)" }), ("free_pages", { "\($0 + 2)" }),
            ("used_pages", { "\($0 + 3)" }), ("usage_pct", { "\($0).25" }), ("largest_free_block", { "\($0 + 5)" }),
            ("frag_index", { "\($0).5" }), ("oom", { "\($0 + 7)" }),
            ("free_o0", { "\($0 + 100)" }), ("free_o1", { "\($0 + 101)" }), ("free_o2", { "\($0 + 102)" }),
            ("free_o3", { "\($0 + 103)" }), ("free_o4", { "\($0 + 104)" }), ("free_o5", { "\($0 + 105)" }),
            ("free_o6", { "\($0 + 106)" }), ("free_o7", { "\($0 + 107)" }), ("free_o8", { "\($0 + 108)" }),
            ("free_o9", { "\($0 + 109)" }), ("free_o10", { "\($0 + 110)" }),
            ("frames_allocated", { "\($0 + 8)" }), ("frames_freed", { "\($0 + 9)" }), ("processes", { "\($0 + 10)" }),
            ("pagetable_pages", { "\($0 + 11)" }), ("tlb_lookups", { "\($0 + 12)" }), ("tlb_hits", { "\($0 + 13)" }),
            ("tlb_misses", { "\($0 + 14)" }), ("tlb_flushes", { "\($0 + 15)" }), ("tlb_invlpg", { "\($0 + 16)" }),
            ("page_faults", { "\($0 + 17)" }), ("demand_faults", { "\($0 + 18)" }), ("cow_faults", { "\($0 + 19)" }),
            ("cow_copies", { "\($0 + 20)" }), ("segv", { "\($0 + 21)" }), ("switches", { "\($0 + 22)" }),
            ("region_failures", { "\($0 + 23)" }), ("slab_pages", { "\($0 + 24)" }), ("slab_objects", { "\($0 + 25)" }),
            ("slab_capacity", { "\($0 + 26)" }), ("slab_waste_bytes", { "\($0 + 27)" }),
            ("kmalloc_large_pages", { "\($0 + 28)" }), ("pagecache_pages", { "\($0 + 29)" }),
            ("pagecache_dirty", { "\($0 + 30)" }), ("pagecache_hits", { "\($0 + 31)" }),
            ("pagecache_misses", { "\($0 + 32)" }), ("kswapd_active", { "\($0 % 2)" }),
            ("kswapd_wakeups", { "\($0 + 34)" }), ("reclaimed_slab_pages", { "\($0 + 35)" }),
            ("reclaimed_pagecache_pages", { "\($0 + 36)" }), ("direct_reclaims", { "\($0 + 37)" }),
            ("kmem_bytes_req", { "\($0 + 38)" }), ("kmem_bytes_alloc", { "\($0 + 39)" }),
            ("free_huge", { "\($0 + 40)" }), ("extfrag_fallbacks", { "\($0 + 41)" }), ("extfrag_fragmenting", { "\($0 + 42)" }),
            ("extfrag_steals", { "\($0 + 43)" }), ("pageblock_claims", { "\($0 + 44)" }),
            ("compact_stall", { "\($0 + 45)" }), ("compact_success", { "\($0 + 46)" }), ("compact_fail", { "\($0 + 47)" }),
            ("compact_migrate_scanned", { "\($0 + 48)" }), ("compact_free_scanned", { "\($0 + 49)" }),
            ("compact_isolated", { "\($0 + 50)" }), ("pgmigrate_success", { "\($0 + 51)" }),
            ("compact_tlb_invlpg", { "\($0 + 52)" }), ("compact_proactive_runs", { "\($0 + 53)" }),
            ("tlb_l2_hits", { "\($0 + 54)" }), ("tlb_l2_misses", { "\($0 + 55)" }),
            ("walk_refs", { "\($0 + 56)" }), ("pde_cache_hits", { "\($0 + 57)" }), ("pde_cache_misses", { "\($0 + 58)" }),
            ("tlb_large_hits", { "\($0 + 59)" }), ("huge_faults", { "\($0 + 60)" }), ("huge_fallbacks", { "\($0 + 61)" }),
        ]
        #expect(Set(expected.map(\.0)) == Set(TickColumns.all.map(\.name)))
        let rows = try store.db.rows("SELECT \(expected.map(\.0).joined(separator: ", ")) FROM tick_metrics WHERE run_id = \(run) ORDER BY tick")
        #expect(rows.count == 130)
        for (t, row) in rows.enumerated() {
            #expect(row == expected.map { $0.1(t) }, "tick \(t)")
        }
    }

    @Test func replayBasicTraceIntoSQLite() throws {
        let store = try ResultStore(path: temporaryPath("r.db"))
        var options = ReplayOptions()
        options.machine.pmm = .buddy
        let run = try record(packageRoot + "/traces/basic.trace", options: options, label: "b", into: store)
        #expect(run == 1)
        let rows = try store.db.rows("SELECT tick, events, free_pages, used_pages, largest_free_block, oom, free_o0, free_o5 FROM tick_metrics WHERE run_id = 1 ORDER BY tick")
        #expect(rows == [
            ["0", "5", "229", "11", "224", "0", "1", "1"],
            ["1", "5", "98", "142", "96", "0", "2", "1"],
            ["2", "6", "239", "1", "239", "1", "1", "1"],
            ["10", "0", "239", "1", "239", "0", "1", "1"],
        ])
        let runs = try store.db.rows("SELECT label, pmm, status, events, ticks, error FROM runs")
        #expect(runs == [["b", "buddy", "ok", "16", "4", nil]])
        let summary = try store.db.rows("SELECT round(peak_usage_pct, 4), oom FROM run_summary WHERE run_id = 1")
        #expect(summary == [["59.1667", "1"]])
        let config = try store.db.rows("SELECT json_extract(config, '$.memBytes'), json_extract(config, '$.reserveBytes') FROM runs")
        #expect(config == [["1048576", "65536"]])
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
            #expect(error.description.contains("schema version 99 was written by a newer memreplay; this one reads and writes version \(Schema.version)"))
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
        try record(packageRoot + "/traces/reclaim.trace", into: store)
        let dentry = try store.db.rows("SELECT tick, active_objs, num_objs, objsize, objperslab, pagesperslab, num_slabs FROM slabinfo WHERE name = 'dentry' ORDER BY tick")
        #expect(dentry.first == ["0", "0", "4", "4096", "1", "1", "4"])
        #expect(dentry[2] == ["2", "0", "0", "4096", "1", "1", "0"])  // reclaimed by kswapd
        let kswapd = try store.db.rows("SELECT tick, reclaimed_slab_pages, reclaimed_pagecache_pages FROM kswapd_ticks")
        #expect(kswapd == [["2", "4", "46"]])
        try record(packageRoot + "/traces/processes.trace", into: store)
        let procs = try store.db.rows("SELECT pid, parent, exited_tick FROM processes WHERE run_id = 2 ORDER BY pid")
        #expect(procs == [["0", nil, nil], ["1", nil, "4"], ["2", "1", "2"], ["3", nil, "3"]])
    }
}
