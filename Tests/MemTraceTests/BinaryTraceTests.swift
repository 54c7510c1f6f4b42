import Foundation
import Testing
@testable import MemTrace
import MemModel
import TestSupport

/// memtrace-bin: `memreplay convert`'s encoding must read back as exactly the
/// text's statements and lines, replay identically, and fail cleanly when
/// damaged.
@Suite struct BinaryTraceTests {
    static let root = repositoryRoot

    func temp(_ name: String) -> String {
        temporaryPath(name)
    }

    func write(_ text: String) -> String {
        let p = temp("t.trace")
        FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }

    func convert(_ textPath: String) throws -> String {
        let out = temp("t.mtb")
        _ = try BinaryTrace.convert(TraceReader(path: textPath), to: TraceWriter(path: out))
        return out
    }

    struct Statement: Equatable { var event: Event; var line: Int }

    func statements(_ reader: TraceReader) throws -> [Statement] {
        var all: [Statement] = []
        while let e = try reader.next() { all.append(Statement(event: e, line: reader.line)) }
        return all
    }

    /// Every kind of statement and optional field, names reused after release.
    static let everything = """
        memtrace 1
        # a comment line
        mem 8M
        reserve 256K
        nodes 2
        spawn 1 node=1
        spawn 2
        palloc h0 4
        mmap 1 0x1000 0x9000 rw
        mmap 2 0x1000 0x3000 r shared=seg
        mmap 1 0x40000000 0x40800000 rw huge

        r 1 0x1000
        w 1 0x1ffc
        x 2 0x2000
        w 4194303 0xffffffff
        map 1 0xC0000000 h0 rw
        unmap 1 0xC0000000
        tick
        cache dentry 192 64
        salloc dentry d1
        sfree dentry d1
        salloc kmalloc-64 d2
        kmalloc k1 4K
        kfree k1
        fread libc.so 3
        fwrite libc.so 0x4
        fsync libc.so
        fdrop libc.so
        fread libc.so 9
        tick 1000
        fork 1 3
        switch 3
        munmap 1 0x1000
        exit 3
        pfree h0
        palloc h1 2
        palloc h0

        """

    @Test func sameStatementsAndLinesAsTheText() throws {
        var traces = [write(Self.everything)]
        for t in ["basic", "processes", "reclaim", "numa"] { traces.append(Self.root + "/traces/\(t).trace") }
        traces.append(Self.root + "/traces/sqlite-mtrace.trace.zst")
        for w in Workload.allCases {
            let p = temp("\(w.rawValue).trace")
            try generate(w, events: 20_000, seed: 3, to: TraceWriter(path: p))
            traces.append(p)
        }
        for t in traces {
            let text = try statements(TraceReader(path: t))
            let binary = try statements(TraceReader(path: try convert(t)))
            #expect(text.count > 10, "\(t)")
            #expect(binary == text, "\(t)")
        }
    }

    @Test func everyStatementKindRoundTrips() throws {
        let text = try statements(TraceReader(path: write(Self.everything)))
        #expect(Set(text.map(\.event.keyword)) == Set(Event.allKeywords).subtracting(["memtrace"]))
        #expect(text.first == Statement(event: .mem(bytes: 8 << 20), line: 3))
        // pfree h0 released id 0, which h1 took; h0 comes back as id 1.
        #expect(text.suffix(2).map(\.event) == [.palloc(Symbol(0), count: 2), .palloc(Symbol(1), count: 1)])
        #expect(text.last?.line == 38)
    }

    @Test func replaysIdentically() throws {
        let p = temp("mixed.trace")
        try generate(.mixed, events: 60_000, seed: 5, to: TraceWriter(path: p))
        var options = ReplayOptions()
        options.machine.tickEvery = 0
        var textSink = RecordingSink()
        let a = try Replayer.run(path: p, options: options, sink: &textSink)
        var binarySink = RecordingSink()
        let b = try Replayer.run(path: try convert(p), options: options, sink: &binarySink)
        #expect(textSink.ticks.count > 10)
        #expect(binarySink.ticks == textSink.ticks)
        #expect(binarySink.processes == textSink.processes)
        #expect(b.final == a.final)
    }

    /// A model error in a binary replay names the text's line.
    @Test func errorsNameTheTextLine() throws {
        let text = write("memtrace 1\nmem 1M\n\n# x\nspawn 1\npalloc a\npfree a\npfree a\n")
        let binary = try convert(text)
        func failure(_ path: String) -> TraceError? {
            var sink = RecordingSink()
            do { _ = try Replayer.run(path: path, options: ReplayOptions(), sink: &sink) } catch let e as TraceError { return e } catch { return nil }
            return nil
        }
        let t = failure(text), b = failure(binary)
        #expect(t?.line == 8)
        #expect(b?.line == 8)
        #expect(b?.message == t?.message)
        #expect(b?.file == binary)
    }

    /// Cut anywhere, a binary trace reads as a prefix of its statements and
    /// then, unless the cut fell between records, a clean error.
    @Test func truncatedAnywhere() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: convert(write(Self.everything)))))
        let full = try statements(TraceReader(path: "t.mtb", source: MemorySource(bytes: bytes)))
        for cut in BinaryTrace.magic.count..<bytes.count {
            let reader = TraceReader(path: "t.mtb", source: MemorySource(bytes: Array(bytes[..<cut]), chunk: 7))
            var got: [Statement] = []
            do {
                while let e = try reader.next() { got.append(Statement(event: e, line: reader.line)) }
            } catch {
                #expect(error.message == "damaged binary trace: the file ends inside a record", "cut \(cut)")
            }
            #expect(Array(full.prefix(got.count)) == got, "cut \(cut)")
            #expect(got.count < full.count, "cut \(cut)")
        }
    }

    @Test func damagedFieldsAreNamed() throws {
        func error(_ body: [UInt8]) -> String? {
            let reader = TraceReader(path: "t.mtb", source: MemorySource(bytes: BinaryTrace.magic + body))
            do { while try reader.next() != nil {} } catch { return "\(error)" }
            return nil
        }
        // Every kind the op byte holds (1–30) is taken, and 32 and 33: the first free one is escaped.
        #expect(error([0x3F, 0x22]) == "t.mtb:1: damaged binary trace: unknown record type 34")
        #expect(error([0x3F]) == "t.mtb:1: damaged binary trace: the file ends inside a record")
        #expect(error([0x3F, 0x80, 0x01]) == "t.mtb:1: damaged binary trace: unknown record type 128")
        #expect(error([0x1F, 0x03, 0x80, 0x80, 0x80, 0x80, 0x10]) == "t.mtb:3: damaged binary trace: escaped record type 4294967296 is out of range (0 to 2147483647)")
        #expect(error([0x27, 0x01]) == "t.mtb:1: damaged binary trace: handle id 1 is used before it is named")
        #expect(error([0x21, 0xFF, 0xFF, 0xFF, 0x07, 0x00]) == "t.mtb:1: damaged binary trace: r: PID 16777215 is out of range (0 to 4194303)")
        #expect(error([0x21] + Array(repeating: 0xFF, count: 10) + [0x01]) == "t.mtb:1: damaged binary trace: a number is longer than 64 bits")
        #expect(error([0x20, 0x00, 0x00, 0x02, 0x61, 0x21]) == "t.mtb:1: damaged binary trace: a name holds the byte 0x21")
        #expect(error([0x20, 0x00, 0x05, 0x01, 0x61]) == "t.mtb:1: damaged binary trace: name 'a' is handle id 0 here, not 5")
        #expect(error([0x2C, 0x01, 0x80, 0x20, 0x80, 0x20, 0x03, 0x00]) == "t.mtb:1: damaged binary trace: mmap: empty or inverted region [0x1000, 0x1000)")
        #expect(error([0x2C, 0x01, 0x80, 0x20, 0x80, 0x28, 0x03, 0x00]) == "t.mtb:1: damaged binary trace: mmap: end 0x1400 is not page aligned (a multiple of 0x1000)")
        #expect(error([0x2C, 0x01, 0x80, 0x20, 0x80, 0x40, 0x08, 0x00]) == "t.mtb:1: damaged binary trace: mmap: permissions 8 is out of range (0 to 7)")
        #expect(error([0x39, 0x00]) == "t.mtb:1: damaged binary trace: mem: memory size 0 is out of range (4096 to 4294967296)")
        #expect(error([0x39, 0x81, 0x20]) == "t.mtb:1: damaged binary trace: mem: 4097 is not a multiple of 4096")
        #expect(error([0x19, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) == "t.mtb:4398046511104: damaged binary trace: the file ends inside a record")
        #expect(error([0x21, 0x01]) == "t.mtb:1: damaged binary trace: the file ends inside a record")
    }

    /// A file the release before the statement table wrote: it reads as its
    /// text reads today, event for event and line for line; today's `convert`
    /// writes it byte for byte; and it replays to the same rows.
    @Test func filesOfThePreviousReleaseStillRead() throws {
        let fixtures = Self.root + "/Tests/Fixtures/memtrace-bin"
        let text = fixtures + "/everything.trace", old = fixtures + "/everything.mtb"
        let fromText = try statements(TraceReader(path: text))
        #expect(fromText.count == 38)
        #expect(try statements(TraceReader(path: old)) == fromText)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: convert(text)))) == Array(try Data(contentsOf: URL(fileURLWithPath: old))))
        var textSink = RecordingSink(), binarySink = RecordingSink()
        let a = try Replayer.run(path: text, options: ReplayOptions(), sink: &textSink)
        let b = try Replayer.run(path: old, options: ReplayOptions(), sink: &binarySink)
        #expect(binarySink.ticks == textSink.ticks)
        #expect(binarySink.processes == textSink.processes)
        #expect(b.final == a.final)
    }

    /// Kinds from 31 up travel behind the escape op. A reader takes any kind
    /// written so, which lets today's statements exercise the path.
    @Test func escapedKinds() throws {
        func read(_ body: [UInt8]) throws -> [Statement] {
            try statements(TraceReader(path: "e.mtb", source: MemorySource(bytes: BinaryTrace.magic + body)))
        }
        let plain = try read([0x25, 0x07, 0x24])  // tick 7, tick
        #expect(plain == [Statement(event: .tick(7), line: 1), Statement(event: .tick(nil), line: 2)])
        #expect(try read([0x3F, 0x05, 0x07, 0x3F, 0x04]) == plain)
        #expect(try read([0x1F, 0x01, 0x05, 0x07, 0x1F, 0x01, 0x04]) == plain)  // line steps as LEB128

        let path = temp("e.mtb")
        let encoder = try BinaryTraceEncoder(TraceWriter(path: path))
        try encoder.record(40, line: 3)
        try encoder.record(300, line: 20)
        try encoder.record(30, line: 21)
        try encoder.record(31, line: 22)
        try encoder.flush()
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)).dropFirst(BinaryTrace.magic.count))
        #expect(bytes == [0x1F | 3 << 5, 40, 0x1F, 17, 0xAC, 0x02, 0x1E | 1 << 5, 0x1F | 1 << 5, 31])
    }

    /// Line numbers cannot be pushed to overflow; directives keep text's rules.
    @Test func linesAndDirectivesAreBounded() throws {
        func error(_ body: [UInt8]) -> String? {
            let reader = TraceReader(path: "t.mtb", source: MemorySource(bytes: BinaryTrace.magic + body))
            do { while try reader.next() != nil {} } catch { return "\(error)" }
            return nil
        }
        let half: [UInt8] = [0x04, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]  // tick, line += 2^49
        #expect(error(half)?.hasSuffix("damaged binary trace: line delta 562949953421312 is implausible") == true)
        let quarter: [UInt8] = [0x04, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]  // tick, line += 2^47
        #expect(error(quarter + quarter) == nil)
        #expect(error(quarter + quarter + [0x04, 0x01]) == "t.mtb:281474976710656: damaged binary trace: line delta 1 is implausible")
        #expect(error(quarter + quarter + [0x24]) == "t.mtb:281474976710656: damaged binary trace: line numbers pass 281474976710656")
        let mem: [UInt8] = [0x39, 0x80, 0x80, 0x40]  // mem 1M
        #expect(error(mem + [0x24] + mem) == "t.mtb:3: mem: machine directive after the first event (directives must come first)")
        #expect(error(mem + mem) == "t.mtb:2: mem: directive given twice")
        #expect(error(mem + [0x3B, 0x02, 0x24]) == nil)
    }

    /// Numbers padded to 10 bytes are legal LEB128: the longest records
    /// (105 bytes) still decode when a buffer refill cuts them.
    @Test func paddedRecordsAcrossRefills() throws {
        func padded(_ v: UInt64) -> [UInt8] {
            (0..<10).map { k in UInt8(truncatingIfNeeded: v >> (7 * UInt64(k))) & 0x7F | (k < 9 ? 0x80 : 0) }
        }
        var body: [UInt8] = [0x39] + padded(8 << 20) + [0x28] + padded(1) + padded(0)  // mem 8M, spawn 1
        var cycles = 0
        while body.count < TraceReader.bufferSize + 40_000 {
            let name = Array(String(repeating: "h", count: 63 - cycles % 7).utf8) + Array("\(cycles % 7)".utf8)
            body += [0x00] + padded(1) + padded(0) + padded(0) + padded(UInt64(name.count)) + name  // name handle 0, line step padded too
            body += [0x26] + padded(0) + padded(1)  // palloc
            body += [0x27] + padded(0)  // pfree: id 0 comes back for the next name
            cycles += 1
        }
        for chunk in [Int.max, 4093] {
            let reader = TraceReader(path: "p.mtb", source: MemorySource(bytes: BinaryTrace.magic + body, chunk: chunk))
            var n = 0
            while let _ = try reader.next() { n += 1 }
            #expect(n == 2 + 2 * cycles)
        }
    }

    /// Random damage to a converted trace, then a replay that checks the
    /// model's invariants: every outcome is a result or a TraceError, and no
    /// damaged record gets past the checks into the model.
    @Test func damagedTracesFailCleanly() throws {
        let iterations = Int(ProcessInfo.processInfo.environment["MEMREPLAY_BINARY_FUZZ_ITERATIONS"] ?? "") ?? 200
        let p = temp("fuzz.trace")
        try generate(.mixed, events: 1500, seed: 9, to: TraceWriter(path: p))
        let good = Array(try Data(contentsOf: URL(fileURLWithPath: convert(p))))
        var rng = SplitMix64(seed: 77)
        var failures = 0
        for iteration in 0..<iterations {
            var bytes = good
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = BinaryTrace.magic.count + Int(rng.next() % UInt64(bytes.count - BinaryTrace.magic.count))
                switch rng.next() % 3 {
                case 0: bytes[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
                case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                default: bytes.remove(at: at)
                }
            }
            var options = ReplayOptions()
            options.memBytes = 2 << 20
            options.machine.checkEvery = 25
            var sink = RecordingSink(countOnly: true)
            do {
                _ = try Replayer.run(reader: TraceReader(path: "f.mtb", source: MemorySource(bytes: bytes)), options: options, sink: &sink)
            } catch let e as TraceError {
                failures += 1
                #expect(!e.message.contains("invariant broken"), "iteration \(iteration): \(e)")
            }
        }
        #expect(failures > iterations / 2)
    }
}
