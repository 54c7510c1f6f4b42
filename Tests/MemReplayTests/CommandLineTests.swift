import Foundation
import Testing
import TestSupport
import MemStore

/// The `memreplay` executable, run as a user would.
@Suite struct CommandLineTests {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    /// The binary built next to this test bundle.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("memreplay").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return root + "/.build/debug/memreplay"
    }()

    struct Result { var status: Int32; var out: String; var err: String }

    /// `stdin`: a file to read standard input from.
    static func run(_ args: [String], cwd: String? = nil, executable: String = binary, stdin: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if let stdin { p.standardInput = FileHandle(forReadingAtPath: stdin) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    func tempDir() -> String {
        scratchDirectory("cli")
    }

    @Test func replayWritesResultsDBAndPrintsASummary() throws {
        let dir = tempDir()
        let r = try Self.run(["replay", Self.root + "/traces/basic.trace"], cwd: dir)
        #expect(r.status == 0)
        #expect(r.out.contains("run 1: \(Self.root)/traces/basic.trace (pmm=stack, mem=1024K) ok"))
        #expect(r.out.contains("16 events in 4 ticks"))
        #expect(r.out.contains("peak usage 47.1 %, max frag_index 0.016, OOM 1"))
        #expect(FileManager.default.fileExists(atPath: dir + "/results.db"))
    }

    @Test func badTraceGivesFileLineAndNonZeroExitAndKeepsEarlierRuns() throws {
        let dir = tempDir()
        let db = dir + "/r.db"
        #expect(try Self.run(["replay", "--db", db, Self.root + "/traces/basic.trace"]).status == 0)
        let bad = dir + "/bad.trace"
        try "memtrace 1\n# comment\npalloc a 0\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try Self.run(["replay", "--db", db, bad])
        #expect(r.status == 1)
        #expect(r.err == "\(bad):3: palloc: frame count 0 is out of range (1 to 1048576)\n")
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        check.arguments = [db, "SELECT group_concat(status) FROM runs; PRAGMA integrity_check;"]
        let out = Pipe()
        check.standardOutput = out
        try check.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        #expect(text == "ok,failed\nok\n")
    }

    @Test func validateCountsStatements() throws {
        let r = try Self.run(["validate", Self.root + "/traces/basic.trace"])
        #expect(r.status == 0)
        #expect(r.out.contains("ok, 21 statements"))
        #expect(r.out.contains("  palloc    8\n"))
        let missing = try Self.run(["validate", "/nonexistent.trace"])
        #expect(missing.status == 1)
        #expect(missing.err.hasPrefix("/nonexistent.trace: cannot open"))
    }

    /// `convert` writes memtrace-bin; replaying it stores the same ticks as
    /// the text, and a bad text leaves no output behind.
    @Test func convertThenReplayMatchesTheText() throws {
        let dir = tempDir()
        let r = try Self.run(["convert", Self.root + "/traces/processes.trace", "-o", dir + "/p.mtb"])
        #expect(r.status == 0)
        #expect(r.out.contains("66 statements, 2393 -> "))
        let v = try Self.run(["validate", dir + "/p.mtb"])
        #expect(v.out.contains("ok, 66 statements"))
        #expect(try Self.run(["replay", "--db", dir + "/r.db", "--quiet", Self.root + "/traces/processes.trace", dir + "/p.mtb"]).status == 0)
        let db = try Database(path: dir + "/r.db")
        let columns = TickColumns.all.map(\.name).joined(separator: ", ")
        let differing = try db.scalar("SELECT count(*) FROM (SELECT \(columns) FROM tick_metrics WHERE run_id = 1 EXCEPT SELECT \(columns) FROM tick_metrics WHERE run_id = 2)")
        #expect(differing == 0)
        let ticks = try db.scalar("SELECT count(*) FROM tick_metrics WHERE run_id = 1")
        #expect(ticks ?? 0 > 0)
        #expect(try db.scalar("SELECT count(*) FROM tick_metrics WHERE run_id = 2") == ticks)

        let bad = dir + "/bad.trace"
        FileManager.default.createFile(atPath: bad, contents: Data("memtrace 1\nspawn 1\nfrob 2\n".utf8))
        let failed = try Self.run(["convert", bad], cwd: dir)
        #expect(failed.status == 1)
        #expect(failed.err.contains("bad.trace:3: unknown statement 'frob'"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad.mtb"))
    }

    /// convert never writes over its input, writes a valid trace to
    /// standard output with its summary on standard error, and refuses a
    /// compressed name it would not compress.
    @Test func convertProtectsItsInput() throws {
        let dir = tempDir()
        let trace = dir + "/b.trace"
        try FileManager.default.copyItem(atPath: Self.root + "/traces/basic.trace", toPath: trace)
        let size = try FileManager.default.attributesOfItem(atPath: trace)[.size] as? Int
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.mtb", withDestinationPath: trace)
        for out in ["./b.trace", "link.mtb"] {
            let r = try Self.run(["convert", "b.trace", "-o", out], cwd: dir)
            #expect(r.status != 0)
            #expect(r.err.contains("is the input itself"), "\(out)")
            #expect(try FileManager.default.attributesOfItem(atPath: trace)[.size] as? Int == size)
        }
        let zst = try Self.run(["convert", "b.trace", "-o", "b.mtb.zst"], cwd: dir)
        #expect(zst.status != 0)
        #expect(zst.err.contains("convert writes uncompressed output"))

        let piped = try Self.run(["-c", "'\(Self.binary)' convert b.trace -o - > piped.mtb"], cwd: dir, executable: "/bin/sh")
        #expect(piped.status == 0)
        #expect(piped.err.contains("b.trace -> -: 21 statements"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/piped.mtb")).prefix(8) == Data("MTRACEB1".utf8))
        let v = try Self.run(["validate", "piped.mtb"], cwd: dir)
        #expect(v.status == 0)
        #expect(v.out.contains("ok, 21 statements"))
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("partial") }
        #expect(left.isEmpty)
    }

    @Test func optionsAreValidated() throws {
        let r = try Self.run(["replay", "--low", "90", "--high", "80", Self.root + "/traces/basic.trace"])
        #expect(r.status != 0)
        #expect(r.err.contains("--low 90 must be below --high 80"))
        let tlb = try Self.run(["replay", "--tlb", "48:4", Self.root + "/traces/basic.trace"])
        #expect(tlb.status != 0)
        #expect(tlb.err.contains("power of two"))
    }

    @Test func unwritableDatabaseIsRefusedBeforeReplaying() throws {
        let dir = tempDir()
        let junk = dir + "/junk.db"
        try String(repeating: "not a database ", count: 20).write(toFile: junk, atomically: true, encoding: .utf8)
        let r = try Self.run(["replay", "--db", junk, Self.root + "/traces/basic.trace"])
        #expect(r.status == 2)
        #expect(r.err.contains("not a SQLite database") || r.err.contains("not a database"))
    }

    @Test(arguments: [[], ["replay"], ["validate"], ["compare"], ["report"]])
    func helpIsComplete(args: [String]) throws {
        let r = try Self.run(args + ["--help"])
        #expect(r.status == 0)
        #expect(r.out.contains("USAGE"))
        if args == ["replay"] {
            for option in ["--pmm", "--mem", "--reserve", "--tlb", "--itlb", "--high", "--low", "--page-cache-policy",
                           "--no-direct-reclaim", "--tick-every", "--check", "--check-every", "--db", "--label", "--seed"] {
                #expect(r.out.contains(option), "\(option) missing from --help")
            }
        }
        if args == ["compare"] {
            for option in ["--variant", "--format", "--jobs", "--quiet", "--db", "--pmm", "--tlb", "--tick-every",
                           "LABEL:KEY=VALUE", "direct-reclaim=true|false", "page-cache-policy"] {
                #expect(r.out.contains(option), "\(option) missing from compare --help")
            }
        }
        if args == [] {
            #expect(r.out.contains("compare") && r.out.contains("report"))
        }
    }

    /// A path that is not valid UTF-8 is refused, naming its bytes, before
    /// anything is opened: Swift would have replaced the bad bytes with
    /// U+FFFD and the replay would have read or created another file.
    @Test func anArgumentThatIsNotUTF8IsRefused() throws {
        let dir = tempDir()
        FileManager.default.createFile(atPath: dir + "/t\u{FFFD}.trace", contents: Data("memtrace 1\nmem 1M\n".utf8))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "exec \"$0\" replay --quiet --db r.db \"$(printf 't\\377.trace')\"", Self.binary]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 2)
        #expect(text.contains("argument 5 (t\\xff.trace) is not valid UTF-8"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/r.db"))
    }

    /// `--tlb l1d=…,l1i=…,l2=…` sets the three TLBs (as --tlb, --itlb and
    /// --l2tlb would), and a variant gives the second level by `l2tlb`;
    /// malformed or doubled levels are refused before anything is written.
    @Test func aTLBHierarchyOnTheCommandLine() throws {
        let dir = tempDir()
        let trace = Self.root + "/traces/processes.trace"
        let r = try Self.run(["replay", "--quiet", "--db", "h.db", "--tlb", "l1d=32:4,l1i=16:4,l2=1536:12", trace], cwd: dir)
        #expect(r.status == 0, "\(r.err)")
        let store = try ResultStore(path: dir + "/h.db")
        let config = try store.db.rows("SELECT json_extract(config, '$.tlb.entries'), json_extract(config, '$.itlb.entries'), json_extract(config, '$.l2tlb.entries'), json_extract(config, '$.l2tlb.ways') FROM runs")
        #expect(config == [["32", "16", "1536", "12"]])
        #expect(try store.db.scalar("SELECT sum(tlb_l2_hits + tlb_l2_misses) = sum(tlb_misses) FROM tick_metrics") == 1)
        let c = try Self.run(["compare", "--quiet", "--db", "c.db", trace, "--variant", "one", "--variant", "two:l2tlb=256:4"], cwd: dir)
        #expect(c.status == 0, "\(c.err)")
        let compared = try ResultStore(path: dir + "/c.db")
        #expect(try compared.db.rows("SELECT label, json_extract(config, '$.l2tlb.entries') FROM runs ORDER BY run_id") == [["one", nil], ["two", "256"]])
        for (bad, message) in [("l1i=16:4", "a hierarchy needs l1d=SPEC"), ("l1d=32:4,l2=bad", "bad TLB spec 'bad'"),
                               ("l1d=32:4,l1d=64:4", "l1d given twice"), ("l1d=32:4,l3=8", "expected l1d=SPEC[,l1i=SPEC][,l2=SPEC]"),
                               ("l1d=32:4,l2=24:4", "the set count must be a power of two")] {
            let e = try Self.run(["replay", "--quiet", "--db", "bad.db", "--tlb", bad, trace], cwd: dir)
            #expect(e.status != 0 && e.err.contains(message), "\(bad): \(e.err)")
        }
        let twice = try Self.run(["replay", "--quiet", "--db", "bad.db", "--tlb", "l1d=32:4,l1i=16:4", "--itlb", "8", trace], cwd: dir)
        #expect(twice.status != 0 && twice.err.contains("has l1i and --itlb is given too"), "\(twice.err)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad.db"))
    }

    /// `--pcid` and `--pcid-tags` on the command line and as variant keys;
    /// out-of-range tag counts are refused before any database is made.
    /// `processes.trace` switches 11 times: 12 flushes without PCIDs (the
    /// fork flushes too), 4 with them (3 new tags and the fork).
    @Test func pcidOnTheCommandLine() throws {
        let dir = tempDir()
        let trace = Self.root + "/traces/processes.trace"
        let c = try Self.run(["compare", "--quiet", "--db", "p.db", trace, "--variant", "off", "--variant", "on:pcid=true,pcid-tags=6"], cwd: dir)
        #expect(c.status == 0, "\(c.err)")
        let store = try ResultStore(path: dir + "/p.db")
        let rows = try store.db.rows("SELECT label, json_extract(config, '$.pcid'), json_extract(config, '$.pcidTags'), (SELECT sum(tlb_flushes) FROM tick_metrics t WHERE t.run_id = runs.run_id) FROM runs ORDER BY run_id")
        #expect(rows == [["off", nil, nil, "12"], ["on", "1", "6", "4"]])
        for bad in ["0", "4097", "x"] {
            let e = try Self.run(["replay", "--quiet", "--db", "bad.db", "--pcid", "--pcid-tags", bad, trace], cwd: dir)
            #expect(e.status != 0 && e.err.contains("pcid-tags"), "\(bad): \(e.err)")
        }
        let alone = try Self.run(["replay", "--quiet", "--db", "bad.db", "--pcid-tags", "6", trace], cwd: dir)
        #expect(alone.status != 0 && alone.err.contains("--pcid-tags needs --pcid"), "\(alone.err)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad.db"))
    }

    /// `--db 'file:x?mode=memory'` is a file of that name, not a SQLite URI
    /// that would keep the results in memory and lose them.
    @Test func aDatabaseNameIsAPathNotAURI() throws {
        let dir = tempDir()
        let r = try Self.run(["replay", "--quiet", "--db", "file:x.db?mode=memory", Self.root + "/traces/basic.trace"], cwd: dir)
        #expect(r.status == 0, "\(r.err)")
        #expect(FileManager.default.fileExists(atPath: dir + "/file:x.db?mode=memory"))
        let store = try ResultStore(path: dir + "/file:x.db?mode=memory")
        #expect(try store.db.rows("SELECT count(*), min(status) FROM runs") == [["1", "ok"]])
    }
}
