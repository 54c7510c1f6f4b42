import Foundation
import Testing
import TestSupport

/// `memreplay import`, run as a user would.
@Suite struct ImportCommandTests {
    func tempDir() -> String {
        scratchDirectory("import")
    }

    @Test func helpListsFormatsAndOptions() throws {
        let r = try CommandLineTests.run(["import", "--help"])
        #expect(r.status == 0)
        for word in ["mtrace", "lackey", "ftrace", "--output", "--tick-every", "--tick-ms", "<format>", "<input>"] {
            #expect(r.out.contains(word), "\(word) missing from import --help")
        }
        #expect(try CommandLineTests.run(["--help"]).out.contains("import"))
    }

    @Test func importsAndReportsOnStandardError() throws {
        let dir = tempDir()
        let input = dir + "/prog.mtrace"
        try "= Start\n@ [0x1] + 0x10 0x8\n@ [0x1] - 0x20\n@ [0x1] - 0x10\n= End\n".write(toFile: input, atomically: true, encoding: .utf8)
        let r = try CommandLineTests.run(["import", "mtrace", input, "-o", dir + "/prog.trace"])
        #expect(r.status == 0)
        #expect(r.err == "memreplay import: 2 events, 0 ticks from 5 lines of \(input)\n  unknown frees skipped: 1\n")
        let trace = try String(contentsOfFile: dir + "/prog.trace", encoding: .utf8)
        #expect(trace == "memtrace 1\n# imported from mtrace recording \(input) by memreplay import\nkmalloc m10 8 site=0x1\nkfree m10\n")
        // To standard output, and replayable.
        let out = try CommandLineTests.run(["import", "mtrace", input])
        #expect(out.out == trace)
        #expect(try CommandLineTests.run(["replay", "--db", dir + "/r.db", dir + "/prog.trace"]).status == 0)
    }

    @Test func badInputGivesFileLineExitOneAndNoOutput() throws {
        let dir = tempDir()
        let input = dir + "/ls.lackey"
        try "==7== Command: ls\nI  0401ab70,3\nI  0401ab73\n".write(toFile: input, atomically: true, encoding: .utf8)
        let r = try CommandLineTests.run(["import", "lackey", input, "-o", dir + "/ls.trace"])
        #expect(r.status == 1)
        #expect(r.err == "\(input):3: lackey: cannot parse data line 'I  0401ab73' (expected 'I  ADDRESS,SIZE' with a hexadecimal address and a decimal size)\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/ls.trace"))
        let missing = try CommandLineTests.run(["import", "ftrace", dir + "/nope.txt", "-o", dir + "/x.trace"])
        #expect(missing.status == 1)
        #expect(missing.err.hasPrefix("\(dir)/nope.txt: cannot open"))
        #expect(try CommandLineTests.run(["import", "lackey", "-"]).status == 1)
        #expect(try CommandLineTests.run(["import", "perf", input]).status != 0)
    }

    /// A failing import deletes nothing it did not create: an existing
    /// trace, a FIFO or a link's target stay; `-o INPUT` is refused before
    /// the input is truncated.
    @Test func failingImportKeepsWhatTheOutputNamed() throws {
        let dir = tempDir()
        let bad = dir + "/bad.lackey"
        try "==7== Command: ls\nI  0401ab70,3\nI  0401ab73\n".write(toFile: bad, atomically: true, encoding: .utf8)
        try "precious\n".write(toFile: dir + "/old.trace", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.trace", withDestinationPath: dir + "/old.trace")
        for out in ["old.trace", "link.trace"] {
            let r = try CommandLineTests.run(["import", "lackey", bad, "-o", out], cwd: dir)
            #expect(r.status == 1, "\(out)")
            #expect(try String(contentsOfFile: dir + "/old.trace", encoding: .utf8) == "precious\n", "\(out)")
        }
        var st = stat()
        #expect(lstat(dir + "/link.trace", &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
        #expect(mkfifo(dir + "/fifo", 0o644) == 0)
        let fifo = try CommandLineTests.run(["import", "lackey", bad, "-o", "fifo"], cwd: dir)
        #expect(fifo.status != 0 && fifo.err.contains("not a regular file"))
        #expect(lstat(dir + "/fifo", &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
        let mtrace = dir + "/prog.mtrace"
        try "= Start\n@ ./prog:[0x1] + 0x55d048b342a0 0x20\n".write(toFile: mtrace, atomically: true, encoding: .utf8)
        let size = try FileManager.default.attributesOfItem(atPath: mtrace)[.size] as? Int
        let itself = try CommandLineTests.run(["import", "mtrace", "prog.mtrace", "-o", "./prog.mtrace"], cwd: dir)
        #expect(itself.status != 0 && itself.err.contains("is the input itself"))
        #expect(try FileManager.default.attributesOfItem(atPath: mtrace)[.size] as? Int == size)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.contains(".partial-") })
    }

    /// `gen -o` goes through the same checks: a FIFO is refused (gen used
    /// to open it and block until a reader came), a link stays a link.
    @Test func genWritesItsOutputSafely() throws {
        let dir = tempDir()
        #expect(mkfifo(dir + "/fifo", 0o644) == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        p.arguments = ["gen", "access", "--events", "10", "-o", dir + "/fifo"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(5)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        let stalled = p.isRunning
        if stalled { p.terminate() }
        p.waitUntilExit()
        #expect(!stalled, "gen blocked opening a FIFO")
        #expect(p.terminationStatus != 0)
        var st = stat()
        #expect(lstat(dir + "/fifo", &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
        try "old\n".write(toFile: dir + "/old.trace", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.trace", withDestinationPath: dir + "/old.trace")
        let r = try CommandLineTests.run(["gen", "access", "--events", "10", "-o", "link.trace"], cwd: dir)
        #expect(r.status == 0, "\(r.err)")
        #expect(lstat(dir + "/link.trace", &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
        #expect(try String(contentsOfFile: dir + "/old.trace", encoding: .utf8).hasPrefix("memtrace 1"))
    }

    /// A database's -wal, -shm or -journal file is refused as -o (they are
    /// regular files without SQLite's header; replacing one under a writer
    /// corrupted the database), and so is standard input's file.
    @Test func aDatabasesLogOrStandardInputIsNotAnOutput() throws {
        let dir = tempDir()
        let r = try CommandLineTests.run(["replay", "--quiet", "--db", "r.db", CommandLineTests.root + "/traces/basic.trace"], cwd: dir)
        #expect(r.status == 0, "\(r.err)")
        for suffix in ["-wal", "-shm", "-journal"] {
            FileManager.default.createFile(atPath: dir + "/r.db" + suffix, contents: Data([1, 2, 3]))
            for args in [["report", "--db", "r.db", "-o", "r.db" + suffix],
                         ["convert", CommandLineTests.root + "/traces/basic.trace", "-o", "r.db" + suffix]] {
                let o = try CommandLineTests.run(args, cwd: dir)
                #expect(o.status != 0 && o.err.contains("belongs to the SQLite database r.db"), "\(args): \(o.err)")
                #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/r.db" + suffix)) == Data([1, 2, 3]))
            }
        }
        let mtrace = dir + "/m.log"
        try "= Start\n@ ./prog:[0x1] + 0x55d048b342a0 0x20\n".write(toFile: mtrace, atomically: true, encoding: .utf8)
        let o = try CommandLineTests.run(["import", "mtrace", "-", "-o", mtrace], stdin: mtrace)
        #expect(o.status != 0 && o.err.contains("is the input itself (standard input)"), "\(o.err)")
        #expect(try String(contentsOfFile: mtrace, encoding: .utf8).hasPrefix("= Start"))
    }
}
