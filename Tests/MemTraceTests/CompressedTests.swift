import Foundation
import Testing
@testable import MemTrace

/// A trace long enough to need several reads of compressed input and several
/// refills of the reader's buffer, with enough variety not to compress to nothing.
func bigTrace(lines: Int = 60_000, seed: UInt64 = 1) -> String {
    var text = header + "mem 64M\nspawn 1\nmmap 1 0x1000 0x100000 rw\n"
    var x = seed
    for i in 0..<lines {
        x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let page = (x >> 33) % 255 + 1
        switch i % 7 {
        case 0: text += "r 1 0x\(String(page << 12 | (x >> 20) & 0xFFF, radix: 16))\n"
        case 1: text += "w 1 \(page << 12)\n"
        case 2: text += "palloc h\(x >> 50) \((x >> 40) % 8 + 1)\n"
        case 3: text += "fread file\((x >> 45) % 16) \((x >> 30) % 1000)   # comment \(i)\n"
        case 4: text += "kmalloc o\(i) \((x >> 40) % 4096 + 1)\n"
        case 5: text += "tick\n"
        default: text += "\n"
        }
    }
    return text
}

@Suite("Compressed input", .serialized)
struct CompressedTests {
    let dir: URL

    init() throws {
        dir = try makeTempDirectory()
    }

    func path(_ name: String) -> URL { dir.appendingPathComponent(name) }

    func write(_ name: String, _ text: String) throws -> URL {
        let url = path(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    func cleanUp() { try? FileManager.default.removeItem(at: dir) }

    @Test func gzipAndZstdReplayLikeThePlainFile() throws {
        defer { cleanUp() }
        let text = bigTrace()
        let plain = try write("t.trace", text)
        try gzip(plain, to: path("t.trace.gz"))
        try zstd(plain, to: path("t.trace.zst"))
        let expected = try readAll(text)
        #expect(expected.count > 50_000)
        #expect(try readFile(plain.path) == expected)
        #expect(try readFile(path("t.trace.gz").path) == expected)
        #expect(try readFile(path("t.trace.zst").path) == expected)

        // Progress counts compressed bytes for compressed traces.
        for name in ["t.trace", "t.trace.gz", "t.trace.zst"] {
            let url = path(name)
            let size = try Data(contentsOf: url).count
            let reader = try TraceReader(path: url.path)
            while try reader.next() != nil {}
            #expect(reader.bytesConsumed == UInt64(size), "\(name)")
        }
    }

    @Test func smallCompressedTraces() throws {
        defer { cleanUp() }
        let text = header + "spawn 1 node=0\npalloc a 2 # c\r\ntick"
        let plain = try write("s.trace", text)
        try gzip(plain, to: path("s.trace.gz"))
        try zstd(plain, to: path("s.trace.zst"))
        let expected: [Event] = [.spawn(1, node: 0), .palloc(Symbol(0), count: 2), .tick(nil)]
        #expect(try readFile(plain.path) == expected)
        #expect(try readFile(path("s.trace.gz").path) == expected)
        #expect(try readFile(path("s.trace.zst").path) == expected)
    }

    @Test func errorLinesAreThoseOfTheDecompressedText() throws {
        defer { cleanUp() }
        let plain = try write("e.trace", header + "tick\n\nbogus 1\n")
        try gzip(plain, to: path("e.trace.gz"))
        try zstd(plain, to: path("e.trace.zst"))
        for name in ["e.trace", "e.trace.gz", "e.trace.zst"] {
            let p = path(name).path
            #expect(throws: TraceError(file: p, line: 4, message: "unknown statement 'bogus'")) {
                _ = try readFile(p)
            }
        }
    }

    @Test func concatenatedGzipMembersAreAllRead() throws {
        defer { cleanUp() }
        let text = bigTrace(lines: 5_000, seed: 7)
        // Split inside a line, so the line continues in the second member.
        let bytes = Array(text.utf8)
        var cut = bytes.count / 2
        while bytes[cut - 1] == 0x0A || bytes[cut] == 0x0A { cut += 1 }
        let first = try write("a.trace", String(decoding: bytes[..<cut], as: UTF8.self))
        let second = try write("b.trace", String(decoding: bytes[cut...], as: UTF8.self))
        try gzip(first, to: path("a.gz"))
        try gzip(second, to: path("b.gz"))
        let joined = try Data(contentsOf: path("a.gz")) + Data(contentsOf: path("b.gz"))
        try joined.write(to: path("ab.trace.gz"))
        #expect(try readFile(path("ab.trace.gz").path) == readAll(text))
    }

    @Test func concatenatedZstdFramesAreAllRead() throws {
        defer { cleanUp() }
        let first = try write("a.trace", header + "palloc a\npal")
        let second = try write("b.trace", "loc b 2\npfree a\n")
        try zstd(first, to: path("a.zst"))
        try zstd(second, to: path("b.zst"))
        let joined = try Data(contentsOf: path("a.zst")) + Data(contentsOf: path("b.zst"))
        try joined.write(to: path("ab.trace.zst"))
        #expect(try readFile(path("ab.trace.zst").path) == [
            .palloc(Symbol(0), count: 1), .palloc(Symbol(1), count: 2), .pfree(Symbol(0)),
        ])
    }

    /// Cuts `file` to its first half and returns the error reading it gives.
    func truncatedError(_ name: String, compress: (URL, URL) throws -> Void, keep: (Int) -> Int = { $0 / 2 }) throws -> TraceError? {
        let plain = try write("full.trace", bigTrace())
        let full = path("full-" + name)
        try compress(plain, full)
        let data = try Data(contentsOf: full)
        let cut = path(name)
        try data.prefix(keep(data.count)).write(to: cut)
        do {
            _ = try readFile(cut.path)
            return nil
        } catch {
            return error
        }
    }

    @Test func truncatedGzipIsAnError() throws {
        defer { cleanUp() }
        let error = try #require(try truncatedError("half.trace.gz", compress: gzip))
        #expect(error.message.contains("truncated"), "\(error)")
        #expect(error.message == "truncated gzip data: the compressed stream ends early")
        #expect(error.line > 1)
        // Only the gzip header is left.
        let headerOnly = try #require(try truncatedError("hdr.trace.gz", compress: gzip, keep: { _ in 10 }))
        #expect(headerOnly == TraceError(file: path("hdr.trace.gz").path, line: 1,
                                         message: "truncated gzip data: the compressed stream ends early"))
    }

    @Test func truncatedZstdIsAnError() throws {
        defer { cleanUp() }
        let error = try #require(try truncatedError("half.trace.zst", compress: zstd))
        #expect(error.message.contains("truncated"), "\(error)")
        #expect(error.message == "truncated zstd data: the compressed stream ends early")
        #expect(error.line > 1)
    }

    /// libzstd is opened at run time; where it is missing (here: a library
    /// name that does not exist), a .zst trace is an error that names the
    /// file and says what to install.
    @Test func missingZstdLibraryIsAClearError() throws {
        defer { cleanUp() }
        let absent = Result { () throws(SourceError) in try ZstdLibrary.open("libzstd-absent.so.1") }
        let p = try write("m.trace.zst", "").path
        do {
            _ = try TraceReader(path: p, zstd: absent)
            Issue.record("a .zst trace was opened without libzstd")
        } catch {
            #expect(error.line == 0)
            #expect(error.description == "\(p): cannot read .zst: libzstd-absent.so.1 not found (install the zstd library)")
        }
        // The system's library is found: a fresh machine has libzstd1.
        #expect(throws: Never.self) { _ = try ZstdLibrary.system.get() }
    }

    @Test(arguments: [0.5, 0.3, 0.7])
    func corruptGzipIsAnError(at fraction: Double) throws {
        defer { cleanUp() }
        let plain = try write("c.trace", bigTrace(lines: 20_000, seed: 3))
        try gzip(plain, to: path("c.trace.gz"))
        var data = try Data(contentsOf: path("c.trace.gz"))
        let middle = Int(Double(data.count) * fraction)
        for i in middle..<middle + 16 { data[i] ^= 0xA5 }
        try data.write(to: path("c.trace.gz"))
        let p = path("c.trace.gz").path
        do {
            _ = try readFile(p)
            Issue.record("a corrupt gzip file was read without an error")
        } catch {
            #expect(error.message.contains("corrupt") || error.message.contains("truncated"), "\(error)")
            #expect(error.file == p)
        }
    }

    @Test func corruptZstdIsAnError() throws {
        defer { cleanUp() }
        let plain = try write("c.trace", bigTrace(lines: 20_000, seed: 5))
        try zstd(plain, to: path("c.trace.zst"))
        var data = try Data(contentsOf: path("c.trace.zst"))
        for i in data.count / 2..<data.count / 2 + 16 { data[i] ^= 0xA5 }
        try data.write(to: path("c.trace.zst"))
        let p = path("c.trace.zst").path
        do {
            _ = try readFile(p)
            Issue.record("a corrupt zstd file was read without an error")
        } catch {
            #expect(error.message.contains("corrupt") || error.message.contains("truncated"), "\(error)")
        }
    }

    @Test func notCompressedDataInAGzFile() throws {
        defer { cleanUp() }
        let p = try write("plain.trace.gz", header + "tick\n").path
        #expect(throws: TraceError(file: p, line: 1, message: "corrupt gzip data: incorrect header check")) {
            _ = try readFile(p)
        }
    }

    @Test func emptyCompressedFilesAreEmptyTraces() throws {
        defer { cleanUp() }
        let message = "missing header: an empty trace (the first statement must be 'memtrace 1')"
        for name in ["empty.trace", "empty.trace.gz", "empty.trace.zst"] {
            let p = try write(name, "").path
            #expect(throws: TraceError(file: p, line: 1, message: message)) { _ = try readFile(p) }
        }
    }

    @Test(arguments: ["missing.trace", "missing.trace.gz", "missing.trace.zst"])
    func missingFileCannotBeOpened(_ name: String) throws {
        defer { cleanUp() }
        let p = path(name).path
        do {
            _ = try TraceReader(path: p)
            Issue.record("opened a file that does not exist")
        } catch {
            #expect(error.line == 0)
            #expect(error.file == p)
            #expect(error.message.hasPrefix("cannot open"))
            #expect(error.message == "cannot open: No such file or directory")
            #expect(error.description == "\(p): cannot open: No such file or directory")
        }
    }

    @Test func directoryIsNotATrace() throws {
        defer { cleanUp() }
        #expect(throws: TraceError(file: dir.path, line: 0, message: "is a directory, not a trace file")) {
            _ = try TraceReader(path: dir.path)
        }
    }
}
