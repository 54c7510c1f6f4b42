import Foundation
import Testing
import TestSupport
@testable import memreplay

/// Sweep plans as untrusted input: every line is checked as the command line
/// checks its options before anything runs, job ids cannot name paths, and
/// the commands a plan holds mean, pasted into a shell, what they say.
@Suite struct SweepPlanTests {
    func dir() -> String {
        scratchDirectory("plan")
    }

    static let trace = CommandLineTests.root + "/traces/basic.trace"

    /// A one-job plan of basic.trace in `d`, as its JSON object.
    func planLine(in d: String) throws -> [String: Any] {
        let r = try CommandLineTests.run(["sweep", "plan", Self.trace, "-o", "plan.jsonl"], cwd: d)
        try #require(r.status == 0, "\(r.err)")
        let text = try String(contentsOfFile: d + "/plan.jsonl", encoding: .utf8)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func write(_ lines: [[String: Any]], to path: String) throws {
        let text = try lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        try (text.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// `line` with `value` at `path` (keys into nested objects).
    func setting(_ line: [String: Any], _ path: [String], _ value: Any) -> [String: Any] {
        var line = line
        if path.count == 1 {
            line[path[0]] = value
        } else {
            line[path[0]] = setting(line[path[0]] as? [String: Any] ?? [:], Array(path.dropFirst()), value)
        }
        return line
    }

    /// What the command line says about `args`: the first line of its error.
    func commandLineError(_ args: [String], in d: String) throws -> String {
        let r = try CommandLineTests.run(["replay", "--db", d + "/cli.db"] + args + [Self.trace])
        #expect(r.status != 0, "\(args) passed on the command line")
        let first = r.err.split(separator: "\n").first.map(String.init) ?? ""
        return first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
    }

    /// Options the command line refuses are refused in a plan too, with the
    /// command line's words, at PLAN:LINE, before any shard is created (a
    /// TLB of 0 entries or 0 ways crashed the replay with SIGILL and left
    /// its run `running`).
    @Test func planOptionsAreCheckedAsTheCommandLineChecksThem() throws {
        let d = dir()
        let line = try planLine(in: d)
        let cases: [(path: [String], value: Any, cli: [String])] = [
            (["options", "machine", "tlb", "entries"], 0, ["--tlb", "0:4:lru"]),
            (["options", "machine", "tlb", "ways"], 0, ["--tlb", "64:0:lru"]),
            (["options", "machine", "tlb", "entries"], 48, ["--tlb", "48:4:lru"]),
            (["options", "machine", "itlb"], ["entries": 8, "ways": 3, "policy": "lru"], ["--itlb", "8:3:lru"]),
            (["options", "machine", "highWatermark"], 101, ["--high", "101"]),
            (["options", "machine", "lowWatermark"], 90, ["--low", "90"]),
            (["options", "machine", "tickEvery"], -1, ["--tick-every=-1"]),
            (["options", "machine", "checkEvery"], -2, ["--check-every=-2"]),
            (["options", "machine", "slabinfoEvery"], -1, ["--slabinfo-every=-1"]),
            (["options", "memBytes"], 5, ["--mem", "5"]),
            (["options", "reserveBytes"], 100, ["--reserve", "100"]),
            (["options", "nodes"], 0, ["--nodes", "0"]),
        ]
        for c in cases {
            try write([setting(line, c.path, c.value)], to: d + "/bad.jsonl")
            let r = try CommandLineTests.run(["sweep", "run", "bad.jsonl", "--index", "0", "--db", "x.db"], cwd: d)
            let expected = try commandLineError(c.cli, in: d)
            #expect(r.status == 1, "\(c.path) = \(c.value): \(r.err)")
            #expect(r.err.hasPrefix("bad.jsonl:1: job \(line["job"]!): "), "\(c.path) = \(c.value): \(r.err)")
            #expect(!expected.isEmpty && r.err.contains(expected), "\(c.path) = \(c.value): \(r.err) lacks \(expected)")
            #expect(!FileManager.default.fileExists(atPath: d + "/x.db"), "\(c.path) = \(c.value) wrote a shard")
        }
        // What the command line cannot set at all: the machine's own size
        // fields (the command line sets them through the overrides).
        for field in ["memBytes", "reserveBytes", "nodes"] {
            try write([setting(line, ["options", "machine", field], 3)], to: d + "/bad.jsonl")
            let r = try CommandLineTests.run(["sweep", "run", "bad.jsonl", "--jobs", "1"], cwd: d)
            #expect(r.status == 1 && r.err.hasPrefix("bad.jsonl:1: job ") && r.err.contains("machine.\(field)"), "\(field): \(r.err)")
            #expect(!FileManager.default.fileExists(atPath: d + "/shards"), "\(field)")
        }
        // The plan as written still runs.
        let ok = try CommandLineTests.run(["sweep", "run", "plan.jsonl", "--index", "0", "--db", "x.db"], cwd: d)
        #expect(ok.status == 0, "\(ok.err)")
    }

    /// A job id is a file name in the shard folder: `../../x` escaped it.
    /// Ids are 1 to 64 of [A-Za-z0-9._-] not starting with '.', and an id
    /// or index used twice is refused, naming the earlier line.
    @Test func jobIDsAreSafeNamesAndUnique() throws {
        let d = dir()
        let work = d + "/a/b"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let line = try planLine(in: work)
        let id = line["job"] as! String
        for bad in ["../../x", "", ".hidden", "..", "a/b", "/tmp/x", "a b", "$(touch pwned)", "x\ny",
                    String(repeating: "x", count: 65)] {
            try write([setting(line, ["job"], bad)], to: work + "/bad.jsonl")
            for args in [["--index", "0"], ["--jobs", "1"]] {
                let r = try CommandLineTests.run(["sweep", "run", "bad.jsonl"] + args, cwd: work)
                #expect(r.status == 1, "\(bad.debugDescription) \(args): \(r.err)")
                #expect(r.err.hasPrefix("bad.jsonl:1: job id \(bad.debugDescription) must be"), "\(r.err)")
            }
        }
        let made = try FileManager.default.subpathsOfDirectory(atPath: d).filter { $0.hasSuffix(".db") || $0.contains("pwned") }
        #expect(made.isEmpty, "\(made)")
        #expect(!FileManager.default.fileExists(atPath: work + "/shards"))

        let other = setting(setting(line, ["job"], "other"), ["index"], 1)
        try write([line, other, setting(line, ["index"], 2)], to: work + "/dup.jsonl")
        var r = try CommandLineTests.run(["sweep", "run", "dup.jsonl", "--index", "0"], cwd: work)
        #expect(r.status == 1 && r.err == "dup.jsonl:3: job id \(id) is already on line 1\n", "\(r.err)")
        try write([line, setting(other, ["index"], 0)], to: work + "/dup.jsonl")
        r = try CommandLineTests.run(["sweep", "run", "dup.jsonl", "--jobs", "1"], cwd: work)
        #expect(r.status == 1 && r.err == "dup.jsonl:2: job index 0 is already on line 1\n", "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: work + "/shards"))

        // Every character the alphabet allows.
        try write([setting(line, ["job"], "Job_1.a-B")], to: work + "/fine.jsonl")
        r = try CommandLineTests.run(["sweep", "run", "fine.jsonl", "--index", "0"], cwd: work)
        #expect(r.status == 0, "\(r.err)")
        #expect(FileManager.default.fileExists(atPath: work + "/shards/Job_1.a-B.db"))
    }

    /// Runs `word`, quoted, through `sh -c "printf '%s\n' WORD"`.
    func shellEcho(_ quoted: String, in d: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "printf '%s\\n' " + quoted]
        p.currentDirectoryURL = URL(fileURLWithPath: d)
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return text
    }

    static let hostile = [
        "", "plain", "shards/x.db", "it's", "'", "''", "'\\''", "a b", "  lead", "$(touch pwned)", "`touch pwned`",
        "; touch pwned", "a && touch pwned", "x | touch pwned", "a\nb", "\n", "end\n", "\"dq\"", "back\\slash",
        "\\", "*", "?", "[a]", "~", "~root", "$HOME", "${x:-y}", "$", "!1", "#c", "&", "<in", ">out", "(", ")",
        "{a,b}", "tab\there", "ünïcødé", "-n", "-e", "--", "a=b", "%s", "%%", "x'y\"z`$(w)`",
    ]

    /// Each hostile word, quoted, reaches printf as one literal argument.
    @Test func shellQuotingRoundTripsThroughSh() throws {
        let d = dir()
        for word in Self.hostile {
            let quoted = shellQuoted(word)
            #expect(try shellEcho(quoted, in: d) == word + "\n", "\(word.debugDescription) quoted as \(quoted)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: d).isEmpty, "the shell ran something")
        // Plain words stay as typed; the rest in single quotes.
        #expect(shellQuoted("shards/0123abcd.db") == "shards/0123abcd.db")
        #expect(shellQuoted("it's") == #"'it'\''s'"#)
        #expect(shellQuoted("") == "''")
        #expect(shellQuoted("~") == "'~'")
    }

    /// A plan's commands, pasted into sh, pass the plan name and the shard
    /// path as they were given, whatever they hold: `$(…)`, `;`, spaces,
    /// quotes, newlines.
    @Test func planCommandsMeanWhatTheySayInAShell() throws {
        let d = dir()
        let shards = "$(touch pwned); it's \"x\"\nnew line"
        let output = "p $(touch pwned2);'q'.jsonl"
        let r = try CommandLineTests.run(["sweep", "plan", Self.trace, "--grid", "pmm=stack,buddy", "--shards", shards, "-o", output], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        let text = try String(contentsOfFile: d + "/" + output, encoding: .utf8)
        let jobs = text.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(jobs.count == 2)
        for case let job? in jobs {
            let id = job["job"] as! String
            let command = job["command"] as! String
            // `memreplay` as a function that prints its arguments, NUL-separated.
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "memreplay() { printf '%s\\0' \"$@\"; }; " + command]
            p.currentDirectoryURL = URL(fileURLWithPath: d)
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let args = data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
            #expect(args == ["sweep", "run", output, "--job", id, "--db", "\(shards)/\(id).db"], "\(command)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: d) == [output], "the shell ran something")
    }

    /// `sweep plan -o` goes through OutputFile: a FIFO or a trace is refused
    /// and left as it was, a link stays a link, `-` is standard output.
    @Test func planOutputIsWrittenSafely() throws {
        let d = dir()
        let trace = d + "/t.trace"
        try FileManager.default.copyItem(atPath: Self.trace, toPath: trace)
        let before = try Data(contentsOf: URL(fileURLWithPath: trace))
        var r = try CommandLineTests.run(["sweep", "plan", "t.trace", "-o", "./t.trace"], cwd: d)
        #expect(r.status != 0 && r.err.contains("is the input itself"), "\(r.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: trace)) == before)

        #expect(mkfifo(d + "/fifo", 0o644) == 0)
        r = try CommandLineTests.run(["sweep", "plan", "t.trace", "-o", "fifo"], cwd: d)
        #expect(r.status != 0 && r.err.contains("not a regular file"), "\(r.err)")
        var st = stat()
        #expect(lstat(d + "/fifo", &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)

        try "old\n".write(toFile: d + "/real.jsonl", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: d + "/link.jsonl", withDestinationPath: "real.jsonl")
        r = try CommandLineTests.run(["sweep", "plan", "t.trace", "-o", "link.jsonl"], cwd: d)
        #expect(r.status == 0, "\(r.err)")
        #expect(lstat(d + "/link.jsonl", &st) == 0 && st.st_mode & S_IFMT == S_IFLNK)
        let written = try String(contentsOfFile: d + "/real.jsonl", encoding: .utf8)
        #expect(written.hasPrefix("{\"command\":\"memreplay sweep run link.jsonl --job "))

        r = try CommandLineTests.run(["sweep", "plan", "t.trace", "-o", "-"], cwd: d)
        #expect(r.status == 0)
        #expect(r.out.hasPrefix("{\"command\":\"memreplay sweep run plan.jsonl --job "), "\(r.out)")
        #expect(r.out.split(separator: "\n").count == 1)
        #expect(r.err == "-: 1 jobs (1 traces × 1 variants)\n")
        let names = try FileManager.default.contentsOfDirectory(atPath: d).sorted()
        #expect(names == ["fifo", "link.jsonl", "real.jsonl", "t.trace"])
    }
}
