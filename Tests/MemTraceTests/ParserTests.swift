import Testing
@testable import MemTrace

/// One statement after the header, and the event it must decode to. In a
/// fresh reader the first token interned in each namespace gets id 0, except
/// caches, whose first ids are the boot-time kmalloc caches'.
struct Decoding: Sendable, CustomTestStringConvertible {
    var statement: String
    var event: Event
    init(_ statement: String, _ event: Event) {
        self.statement = statement
        self.event = event
    }
    var testDescription: String { statement }
}

private let s0 = Symbol(0)
/// The first cache a trace declares: the boot-time kmalloc caches come first.
private let c0 = Symbol(Int32(KmallocCaches.count))
private let rw: Perms = [.read, .write]

let decodings: [Decoding] = [
    // Machine directives; sizes with and without K/M/G suffixes.
    Decoding("mem 64M", .mem(bytes: 64 << 20)),
    Decoding("mem 0x4000000", .mem(bytes: 64 << 20)),
    Decoding("mem 4G", .mem(bytes: 1 << 32)),
    Decoding("mem 16384K", .mem(bytes: 16 << 20)),
    Decoding("mem 4096", .mem(bytes: 4096)),
    Decoding("mem 0x10M", .mem(bytes: 16 << 20)),
    Decoding("reserve 1M", .reserve(bytes: 1 << 20)),
    Decoding("reserve 0", .reserve(bytes: 0)),
    Decoding("reserve 0x100000", .reserve(bytes: 1 << 20)),
    Decoding("reserve 4G", .reserve(bytes: 1 << 32)),
    Decoding("nodes 1", .nodes(1)),
    Decoding("nodes 64", .nodes(64)),
    Decoding("nodes 0x4", .nodes(4)),

    // Time.
    Decoding("tick", .tick(nil)),
    Decoding("tick 5", .tick(5)),
    Decoding("tick 0x10", .tick(16)),
    Decoding("tick 4611686018427387904", .tick(1 << 62)),

    // Physical frames.
    Decoding("palloc h1", .palloc(s0, count: 1)),
    Decoding("palloc h1 16", .palloc(s0, count: 16)),
    Decoding("palloc h1 0x100000", .palloc(s0, count: 1 << 20)),
    Decoding("pfree frame.A-1:x_y", .pfree(s0)),

    // Address spaces.
    Decoding("spawn 1", .spawn(1, node: nil)),
    Decoding("spawn 7 node=1", .spawn(7, node: 1)),
    Decoding("spawn 4194303 node=63", .spawn(4_194_303, node: 63)),
    Decoding("spawn 0x10 node=0x3", .spawn(16, node: 3)),
    Decoding("spawn 2 node=0", .spawn(2, node: 0)),
    Decoding("fork 1 2", .fork(parent: 1, child: 2)),
    Decoding("exit 3", .exit(3)),
    Decoding("switch 0", .switchTo(0)),

    // Regions and permissions.
    Decoding("mmap 1 0x1000 0x5000 rw", .mmap(1, start: 0x1000, end: 0x5000, perms: rw, shared: nil)),
    Decoding("mmap 1 0 0xC0000000 r-x", .mmap(1, start: 0, end: 0xC000_0000, perms: [.read, .execute], shared: nil)),
    Decoding("mmap 2 0x8000 0x9000 - shared=seg1", .mmap(2, start: 0x8000, end: 0x9000, perms: [], shared: s0)),
    Decoding("mmap 2 4096 8192 rwx shared=s", .mmap(2, start: 4096, end: 8192, perms: [.read, .write, .execute], shared: s0)),
    Decoding("mmap 3 0xbffff000 0xc0000000 xwr", .mmap(3, start: 0xBFFF_F000, end: 0xC000_0000, perms: [.read, .write, .execute], shared: nil)),
    Decoding("mmap 3 0x1000 0x2000 ---", .mmap(3, start: 0x1000, end: 0x2000, perms: [], shared: nil)),
    Decoding("munmap 1 0x1000", .munmap(1, start: 0x1000)),

    // Accesses: decimal, hexadecimal in either case, the whole 32-bit range.
    Decoding("r 1 0x1234", .access(.read, 1, 0x1234)),
    Decoding("w 0 4294967295", .access(.write, 0, 0xFFFF_FFFF)),
    Decoding("x 5 0xFFFFFFFF", .access(.execute, 5, 0xFFFF_FFFF)),
    Decoding("r 2 0XaBcDeF", .access(.read, 2, 0xABCDEF)),
    Decoding("w 3 0", .access(.write, 3, 0)),
    Decoding("r 4 0x0000000000001000", .access(.read, 4, 0x1000)),

    // Explicit mappings.
    Decoding("map 0 0xC0000000 h --x", .map(0, vaddr: 0xC000_0000, s0, [.execute])),
    Decoding("map 1 0x1000 frame.1 rw", .map(1, vaddr: 0x1000, s0, rw)),
    Decoding("map 1 0xFFBFF000 f r", .map(1, vaddr: 0xFFBF_F000, s0, [.read])),
    Decoding("unmap 0 0xFFBFF000", .unmap(0, vaddr: 0xFFBF_F000)),

    // Slab.
    Decoding("cache dentry 192", .cache(c0, size: 192, align: 8)),
    Decoding("cache big 4K 64", .cache(c0, size: 4096, align: 64)),
    Decoding("cache c 1 4096", .cache(c0, size: 1, align: 4096)),
    Decoding("cache c 4M 1K", .cache(c0, size: 4 << 20, align: 1024)),
    Decoding("cache c 0x40 0x10", .cache(c0, size: 64, align: 16)),
    Decoding("cache c 24 1", .cache(c0, size: 24, align: 1)),
    Decoding("salloc dentry d1", .salloc(cache: c0, object: s0, site: 0, allocated: 0)),
    Decoding("salloc kmalloc-64 d1", .salloc(cache: KmallocCaches.symbol(3), object: s0, site: 0, allocated: 0)),
    Decoding("sfree dentry d1", .sfree(cache: c0, object: s0)),
    Decoding("sfree kmalloc-4096 d1", .sfree(cache: KmallocCaches.symbol(9), object: s0)),
    Decoding("kmalloc buf 128", .kmalloc(object: s0, size: 128, site: 0, allocated: 0)),
    Decoding("kmalloc buf 2M", .kmalloc(object: s0, size: 2 << 20, site: 0, allocated: 0)),
    Decoding("kmalloc b 1G", .kmalloc(object: s0, size: 1 << 30, site: 0, allocated: 0)),
    Decoding("kmalloc b 0x20K", .kmalloc(object: s0, size: 32 << 10, site: 0, allocated: 0)),
    Decoding("kmalloc b 640 site=0xc10a2b3f alloc=1024", .kmalloc(object: s0, size: 640, site: 0xc10a2b3f, allocated: 1024)),
    Decoding("kmalloc b 640 alloc=1024 site=0xffffffff8123abcd", .kmalloc(object: s0, size: 640, site: 0xffff_ffff_8123_abcd, allocated: 1024)),
    Decoding("kmalloc b 640 alloc=768", .kmalloc(object: s0, size: 640, site: 0, allocated: 768)),
    Decoding("salloc dentry d1 site=0xc1000020", .salloc(cache: c0, object: s0, site: 0xc100_0020, allocated: 0)),
    Decoding("kfree buf", .kfree(object: s0)),

    // Page cache.
    Decoding("fread libc.so.6 0", .fread(file: s0, page: 0)),
    Decoding("fread f 4294967295", .fread(file: s0, page: 0xFFFF_FFFF)),
    Decoding("fwrite f:1 0x10", .fwrite(file: s0, page: 16)),
    Decoding("fsync f", .fsync(file: s0)),
    Decoding("fdrop f", .fdrop(file: s0)),
]

@Suite("Statements decode to events")
struct StatementTests {
    @Test(arguments: decodings)
    func decodes(_ d: Decoding) throws {
        let reader = TraceReader(path: "t", source: MemorySource(header + d.statement + "\n"))
        let event = try reader.next()
        #expect(event == d.event)
        #expect(reader.line == 2)
        #expect(reader.statements == 1)
        #expect(try reader.next() == nil)
        // The keyword an event reports is the one it was written with.
        #expect(d.event.keyword == String(d.statement.split(separator: " ")[0]))
    }

    @Test func everyKeywordIsCovered() {
        let covered = Set(decodings.map { $0.event.keyword })
        #expect(covered == Set(Event.allKeywords).subtracting(["memtrace"]))
    }

    @Test func directivesAreDirectives() {
        for d in decodings {
            #expect(d.event.isDirective == ["mem", "reserve", "nodes"].contains(d.event.keyword))
        }
    }

    @Test func headerAloneIsAnEmptyTrace() throws {
        #expect(try readAll(header) == [])
        #expect(try readAll("memtrace 1") == [])
        #expect(try readAll("\n# leading comment\n\tmemtrace   1   \n\n") == [])
    }

    @Test func nextAfterTheEndStaysNil() throws {
        let reader = TraceReader(path: "t", source: MemorySource(header + "tick\n"))
        #expect(try reader.next() == .tick(nil))
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
        #expect(reader.statements == 1)
    }

    @Test func descriptionIsFileLineMessage() {
        #expect(TraceError(file: "a.trace", line: 3, message: "boom").description == "a.trace:3: boom")
        #expect(TraceError(file: "a.trace", line: 0, message: "cannot open: x").description == "a.trace: cannot open: x")
    }

    @Test func errorsCarryThePathGiven() {
        let o = outcome(bytes: Array((header + "bogus\n").utf8), path: "dir/run 1.trace")
        #expect(o.error?.file == "dir/run 1.trace")
        #expect(o.error?.description == "dir/run 1.trace:2: unknown statement 'bogus'")
    }

    @Test func parseSizeForTheCommandLine() {
        #expect(parseSize("64M") == 64 << 20)
        #expect(parseSize("0x1000") == 4096)
        #expect(parseSize("4096") == 4096)
        #expect(parseSize("1G") == 1 << 30)
        #expect(parseSize("2K") == 2048)
        #expect(parseSize("") == nil)
        #expect(parseSize("64Q") == nil)
        #expect(parseSize("M") == nil)
        #expect(parseSize("-1") == nil)
        #expect(parseSize("18446744073709551615") == UInt64.max)
        #expect(parseSize("18446744073709551616") == nil)
        #expect(parseSize("17179869183G") == 17_179_869_183 << 30)
        #expect(parseSize("17179869184G") == nil)
    }
}

@Suite("Lexical rules")
struct LexicalTests {
    /// A UTF-8 byte-order mark at the very start is skipped (the text and
    /// its line numbers are as without it); anywhere else it is an error.
    @Test func byteOrderMarkAtTheStartIsSkipped() throws {
        let reader = TraceReader(path: "bom.trace", source: MemorySource("\u{FEFF}memtrace 1\npalloc a\n"))
        let first = try reader.next()
        #expect(reader.line == 2)
        guard case .palloc = first else {
            Issue.record("expected palloc, got \(String(describing: first))")
            return
        }
        #expect(try reader.next() == nil)
    }

    @Test func commentsAndBlankLines() throws {
        let text = """
            # a comment before the header
            memtrace 1 # the header may carry a comment

               \t
            palloc a # end-of-line comment
            #palloc b
            pfree a#no space before the comment
            r 1 0x10#
              # indented comment
            tick 2 # 3
            """ + "\n"
        let reader = TraceReader(path: "t", source: MemorySource(text))
        #expect(try reader.next() == .palloc(s0, count: 1))
        #expect(reader.line == 5)
        #expect(try reader.next() == .pfree(s0))
        #expect(reader.line == 7)
        #expect(try reader.next() == .access(.read, 1, 0x10))
        #expect(reader.line == 8)
        #expect(try reader.next() == .tick(2))
        #expect(reader.line == 10)
        #expect(try reader.next() == nil)
        #expect(reader.statements == 4)
    }

    @Test func tabsAndCRLF() throws {
        let text = "memtrace\t1\r\n\tpalloc\ta\t2\r\nr\t1\t0x10 \r\n\r\n  w 2 3\t# c\r\nmmap 1 0x1000 0x2000 rw\r\n"
        #expect(try readAll(text) == [
            .palloc(s0, count: 2),
            .access(.read, 1, 0x10),
            .access(.write, 2, 3),
            .mmap(1, start: 0x1000, end: 0x2000, perms: rw, shared: nil),
        ])
    }

    @Test func lastLineWithoutNewline() throws {
        let reader = TraceReader(path: "t", source: MemorySource(header + "palloc a\n\npfree a"))
        #expect(try reader.next() == .palloc(s0, count: 1))
        #expect(try reader.next() == .pfree(s0))
        #expect(reader.line == 4)
        #expect(try reader.next() == nil)
        #expect(try readAll(header + "tick\n# last comment, no newline") == [.tick(nil)])
        #expect(try readAll(header + "tick 7\r") == [.tick(7)])
        #expect(try readAll("memtrace 1") == [])
    }

    @Test func nonASCIIInsideACommentIsAllowed() throws {
        let text = "memtrace 1 # héllo ✓\n# 日本語のコメント\npalloc a # ünïcode → fine\n"
        #expect(try readAll(text) == [.palloc(s0, count: 1)])
        // Bytes that are not valid UTF-8 are fine in a comment too, as is DEL.
        var bytes = Array((header + "tick # ").utf8)
        bytes += [0xFF, 0xFE, 0x80, 0x7F, 0x09, 0x0D, 0x0A]
        bytes += Array("tick\n".utf8)
        #expect(try readAll(bytes: bytes) == [.tick(nil), .tick(nil)])
    }

    @Test func longestLineIsAccepted() throws {
        // 4096 bytes, comment included, is the limit.
        let statement = "palloc " + String(repeating: "a", count: 64) + " # "
        let line = statement + String(repeating: "c", count: TraceReader.maxLineLength - statement.utf8.count)
        #expect(line.utf8.count == TraceReader.maxLineLength)
        for chunk in [1, 7, .max] {
            #expect(try readAll(header + line + "\n", chunk: chunk) == [.palloc(s0, count: 1)])
            #expect(try readAll(header + line, chunk: chunk) == [.palloc(s0, count: 1)])
        }
    }

    @Test func nameOf64BytesIsAccepted() throws {
        let name = String(repeating: "n", count: 64)
        let reader = TraceReader(path: "t", source: MemorySource(header + "palloc \(name)\n"))
        #expect(try reader.next() == .palloc(s0, count: 1))
        #expect(reader.symbols.name(.handle, s0) == name)
    }

    @Test func everyNameCharacterIsAccepted() throws {
        let name = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"
        let reader = TraceReader(path: "t", source: MemorySource(header + "fread \(name.prefix(64)) 1\nfdrop \(name.suffix(10))\n"))
        #expect(try reader.next() == .fread(file: s0, page: 1))
        #expect(try reader.next() == .fdrop(file: Symbol(1)))
        #expect(reader.symbols.name(.file, s0) == String(name.prefix(64)))
        #expect(reader.symbols.name(.file, Symbol(1)) == String(name.suffix(10)))
    }

    @Test func statementsAfterATickStillCount() throws {
        let reader = TraceReader(path: "t", source: MemorySource(header + "mem 1M\ntick\npalloc a\n# c\ntick 3\n\npfree a\ntick\n"))
        var seen: [(Event, Int, Int)] = []
        while let e = try reader.next() { seen.append((e, reader.line, reader.statements)) }
        #expect(seen.map(\.0) == [.mem(bytes: 1 << 20), .tick(nil), .palloc(s0, count: 1), .tick(3), .pfree(s0), .tick(nil)])
        #expect(seen.map(\.1) == [2, 3, 4, 6, 8, 9])
        #expect(seen.map(\.2) == [1, 2, 3, 4, 5, 6])
    }

    @Test func directivesInAnyOrderBeforeEvents() throws {
        #expect(try readAll(header + "nodes 2\nreserve 1M\nmem 64M\nspawn 1\n") == [
            .nodes(2), .reserve(bytes: 1 << 20), .mem(bytes: 64 << 20), .spawn(1, node: nil),
        ])
    }
}

/// A trace that uses every statement kind, blank lines, comments, tabs and CRLF.
let sampleTrace = """
    # sample
    memtrace 1
    mem 8M
    reserve 256K
    nodes 2
    spawn 1 node=1
    spawn 2
    palloc h0 4 # four frames
    mmap 1 0x1000 0x9000 rw
    mmap 2 0x1000 0x3000 r shared=seg
    r 1 0x1000\r
    \tw 1 0x1ffc\t
    x 2 0x2000

    map 0 0xC0000000 h0 rw
    unmap 0 0xC0000000
    tick
    cache dentry 192 64
    salloc dentry d1
    sfree dentry d1
    kmalloc k1 4K
    kfree k1
    fread libc.so 3
    fwrite libc.so 0x4
    fsync libc.so
    fdrop libc.so
    tick 10
    fork 1 3
    switch 3
    munmap 1 0x1000
    exit 3
    pfree h0
    """

@Suite("Chunked input")
struct ChunkTests {
    @Test(arguments: [1, 3, 64, 4096])
    func chunkedReadsMatchUnchunked(chunk: Int) throws {
        let whole = try readAll(sampleTrace)
        #expect(whole.count == 29)
        #expect(try readAll(sampleTrace, chunk: chunk) == whole)
        #expect(try readAll(sampleTrace + "\n", chunk: chunk) == whole)
    }

    @Test func sampleTraceDecodesExactly() throws {
        let h0 = Symbol(0)
        #expect(try readAll(sampleTrace) == [
            .mem(bytes: 8 << 20), .reserve(bytes: 256 << 10), .nodes(2),
            .spawn(1, node: 1), .spawn(2, node: nil),
            .palloc(h0, count: 4),
            .mmap(1, start: 0x1000, end: 0x9000, perms: rw, shared: nil),
            .mmap(2, start: 0x1000, end: 0x3000, perms: [.read], shared: s0),
            .access(.read, 1, 0x1000), .access(.write, 1, 0x1FFC), .access(.execute, 2, 0x2000),
            .map(0, vaddr: 0xC000_0000, h0, rw), .unmap(0, vaddr: 0xC000_0000),
            .tick(nil),
            .cache(c0, size: 192, align: 64), .salloc(cache: c0, object: s0, site: 0, allocated: 0), .sfree(cache: c0, object: s0),
            // sfree released d1, so k1 takes its object id.
            .kmalloc(object: s0, size: 4096, site: 0, allocated: 0), .kfree(object: s0),
            .fread(file: s0, page: 3), .fwrite(file: s0, page: 4), .fsync(file: s0), .fdrop(file: s0),
            .tick(10),
            .fork(parent: 1, child: 3), .switchTo(3), .munmap(1, start: 0x1000), .exit(3), .pfree(h0),
        ])
    }

    @Test func linesStraddleTheBufferBoundary() throws {
        // More than the reader's 1 MiB buffer, with lines of varying length so
        // that a line is cut by the end of the buffer and moved on refill.
        var text = header
        var expected: [Event] = []
        var i: UInt32 = 0
        while text.utf8.count < TraceReader.bufferSize + 200_000 {
            let addr = i &* 2_654_435_761
            text += "r \(i % 1000) 0x\(String(addr, radix: 16))\(i % 3 == 0 ? " # pad" : "")\n"
            expected.append(.access(.read, i % 1000, addr))
            i += 1
        }
        #expect(try readAll(text) == expected)
        #expect(try readAll(text, chunk: 65_537) == expected)
    }
}

@Suite("Symbols")
struct SymbolTests {
    @Test func namespacesAreIndependent() throws {
        let reader = TraceReader(path: "t", source: MemorySource(header + """
            palloc x
            palloc y
            kmalloc y 8
            cache y 16
            fread y 0
            mmap 1 0x1000 0x2000 rw shared=y
            salloc y x
            map 1 0x1000 y r
            """))
        var events: [Event] = []
        while let e = try reader.next() { events.append(e) }
        #expect(events == [
            .palloc(Symbol(0), count: 1),
            .palloc(Symbol(1), count: 1),
            .kmalloc(object: Symbol(0), size: 8, site: 0, allocated: 0),
            .cache(c0, size: 16, align: 8),
            .fread(file: Symbol(0), page: 0),
            .mmap(1, start: 0x1000, end: 0x2000, perms: rw, shared: Symbol(0)),
            .salloc(cache: c0, object: Symbol(1), site: 0, allocated: 0),
            .map(1, vaddr: 0x1000, Symbol(1), [.read]),
        ])
        #expect(reader.symbols[.handle].count == 2)
        #expect(reader.symbols[.object].count == 2)
        #expect(reader.symbols[.cache].count == KmallocCaches.count + 1)
        #expect(reader.symbols[.file].count == 1)
        #expect(reader.symbols[.segment].count == 1)
        #expect(reader.symbols.name(.handle, Symbol(1)) == "y")
        #expect(reader.symbols.name(.object, Symbol(1)) == "x")
        #expect(reader.symbols.name(.segment, Symbol(0)) == "y")
        #expect(reader.symbols[.object].lookup("y") == Symbol(0))
        #expect(reader.symbols[.file].lookup("x") == nil)
    }

    @Test func sameTokenSameID() throws {
        #expect(try readAll(header + "palloc a\npalloc b\npalloc a 2\n") == [
            .palloc(Symbol(0), count: 1), .palloc(Symbol(1), count: 1), .palloc(Symbol(0), count: 2),
        ])
        // pfree ends a's binding: once the next statement is read, b takes
        // a's id, and a comes back under a new one.
        #expect(try readAll(header + "palloc a\npfree a\npalloc b\npalloc a 2\npfree b\n") == [
            .palloc(Symbol(0), count: 1), .pfree(Symbol(0)), .palloc(Symbol(0), count: 1),
            .palloc(Symbol(1), count: 2), .pfree(Symbol(0)),
        ])
        // Names are case-sensitive.
        #expect(try readAll(header + "fsync F\nfsync f\nfsync F\n") == [
            .fsync(file: Symbol(0)), .fsync(file: Symbol(1)), .fsync(file: Symbol(0)),
        ])
    }

    @Test func releasedIDsAreReusedByTheReader() throws {
        let reader = TraceReader(path: "t", source: MemorySource(header + "palloc a\npalloc b\npalloc c\npalloc b\n"))
        #expect(try reader.next() == .palloc(Symbol(0), count: 1))
        #expect(try reader.next() == .palloc(Symbol(1), count: 1))
        reader.symbols[.handle].release(Symbol(0))
        #expect(try reader.next() == .palloc(Symbol(0), count: 1))  // "c" takes a's id
        #expect(reader.symbols.name(.handle, Symbol(0)) == "c")
        #expect(try reader.next() == .palloc(Symbol(1), count: 1))  // "b" is still bound
        #expect(reader.symbols[.handle].capacity == 2)
        #expect(reader.symbols[.handle].lookup("a") == nil)
    }

    @Test func releaseThenInternReusesIDs() {
        var t = SymbolTable()
        #expect(t.intern("a") == Symbol(0))
        #expect(t.intern("b") == Symbol(1))
        #expect(t.intern("c") == Symbol(2))
        #expect(t.intern("b") == Symbol(1))
        #expect(t.count == 3)
        t.release(Symbol(1))
        #expect(t.count == 2)
        #expect(t.lookup("b") == nil)
        #expect(t.lookup("a") == Symbol(0))
        #expect(t.lookup("c") == Symbol(2))
        #expect(t.intern("d") == Symbol(1))
        #expect(t.name(Symbol(1)) == "d")
        #expect(t.intern("b") == Symbol(3))
        #expect(t.capacity == 4)
        // Releasing twice, or an id never handed out, changes nothing.
        t.release(Symbol(0))
        t.release(Symbol(0))
        t.release(Symbol(99))
        t.release(Symbol(-1))
        #expect(t.count == 3)
        #expect(t.intern("e") == Symbol(0))
        #expect(t.intern("f") == Symbol(4))
        #expect(t.count == 5)
    }

    /// The published FNV-1a 64 test vectors (Fowler, Noll & Vo), and hashing
    /// a concatenation piece by piece.
    @Test func fnv1aKnownValues() {
        #expect(fnv1a([UInt8]()) == 0xCBF2_9CE4_8422_2325)
        #expect(fnv1a(Array("a".utf8)) == 0xAF63_DC4C_8601_EC8C)
        #expect(fnv1a(Array("foobar".utf8)) == 0x8594_4171_F739_67E8)
        #expect(fnv1a(Array("bar".utf8), fnv1a(Array("foo".utf8))) == fnv1a(Array("foobar".utf8)))
    }

    @Test func emptyTableLookups() {
        let t = SymbolTable()
        #expect(t.lookup("a") == nil)
        #expect(t.count == 0)
        #expect(t.capacity == 0)
    }

    @Test func stressInternReleaseIntern() {
        let n = 100_000
        var t = SymbolTable()
        var wrongIDs = 0
        for i in 0..<n where t.intern("tok\(i)").index != i { wrongIDs += 1 }
        #expect(wrongIDs == 0)
        #expect(t.count == n)
        #expect(t.capacity == n)
        #expect(t.lookup("tok99999") == Symbol(99_999))
        for i in 0..<n { t.release(Symbol(Int32(i))) }
        #expect(t.count == 0)
        #expect(t.lookup("tok0") == nil)
        #expect(t.lookup("tok99999") == nil)
        // A second generation of distinct tokens fits in the released ids.
        var seen = [Bool](repeating: false, count: n)
        var duplicates = 0
        for i in 0..<n {
            let id = t.intern("second-\(i)").index
            if id < 0 || id >= n || seen[id] { duplicates += 1 } else { seen[id] = true }
        }
        #expect(duplicates == 0)
        #expect(t.capacity == n)
        #expect(t.count == n)
        // Every token of the second generation is still found, and the first is gone.
        var misses = 0
        for i in stride(from: 0, to: n, by: 97) where t.lookup("second-\(i)") == nil { misses += 1 }
        #expect(misses == 0)
        #expect(t.lookup("tok5") == nil)
        // And the same tokens again intern to the same ids (no growth).
        #expect(t.intern("second-0") == t.lookup("second-0"))
        #expect(t.capacity == n)
    }
}

@Suite struct KeywordKeyTests {
    /// Every keyword reaches its statement through the reader's packed-key lookup.
    @Test func everyKeywordDecodes() throws {
        for k in Event.allKeywords where k != "memtrace" {
            var line = k
            switch k {
            case "mem", "reserve": line += " 8K"
            case "nodes": line += " 1"
            default: break
            }
            let reader = TraceReader(path: "k", source: MemorySource("memtrace 1\n" + line + "\n"))
            do {
                let e = try reader.next()
                #expect(e?.keyword == k)
            } catch {
                #expect(!error.message.hasPrefix("unknown statement"), "\(k): \(error.message)")
            }
        }
    }
}

/// The access fast path must decode exactly what the general path decodes.
@Suite struct AccessFastPathTests {
    @Test func sameEventsAsTheGeneralPath() throws {
        let lines = ["r 1 0x1000", "w 4194303 0xffffffff", "x 0 4096", "r 12 0xABCdef", "w 3 4294967295",
                     "r 1 0x1000\r", "r  1 0x1000", "r 1 0x1000 # c", "r\t1\t0x10", "x 7 0x0", "r 01 010"]
        for l in lines {
            // A leading comment line makes no difference; compare with a padded copy that takes the general path.
            let fast = try TraceReader(path: "f", source: MemorySource("memtrace 1\n" + l + "\n")).next()
            let general = try TraceReader(path: "g", source: MemorySource("memtrace 1\n" + l.replacingOccurrences(of: " ", with: "  ") + " \n")).next()
            #expect(fast == general, "\(l)")
        }
    }

    @Test(arguments: ["r 1 0x100000000", "r 4194304 0x1000", "r 1 4294967296", "r 1 0x", "r 1 12a", "r 1", "r 1 0x1 2", "r 99999999 1"])
    func badLinesStillGetTheGeneralError(line: String) {
        let reader = TraceReader(path: "t", source: MemorySource("memtrace 1\n" + line + "\n"))
        #expect(throws: TraceError.self) { _ = try reader.next() }
    }
}

/// The word-at-a-time hexadecimal reader against the digit-by-digit one,
/// and the batch fast path that uses it against the general path.
@Suite struct HexWordTests {
    /// What `hexWord` must return, a digit at a time.
    static func reference(_ bytes: [UInt8]) -> (UInt32, Int)? {
        var value: UInt32 = 0, n = 0
        while n < 8, bytes[n] >= 0x30 {
            guard let d = hexDigit(bytes[n]) else { return nil }
            value = value << 4 | UInt32(d)
            n += 1
        }
        return n == 0 ? nil : (value, n)
    }

    static func hexWordOf(_ bytes: [UInt8]) -> (UInt32, Int)? {
        bytes.withUnsafeBufferPointer { p in hexWord(p.baseAddress!).map { ($0.value, $0.digits) } }
    }

    @Test func handPickedWords() {
        #expect(Self.hexWordOf(Array("81402f8\n".utf8)) ?? (0, 0) == (0x81402f8, 7))
        #expect(Self.hexWordOf(Array("FFFFFFFF".utf8)) ?? (0, 0) == (0xFFFF_FFFF, 8))
        #expect(Self.hexWordOf(Array("0 rest..".utf8)) ?? (0, 0) == (0, 1))
        #expect(Self.hexWordOf(Array("aBcD\r\n..".utf8)) ?? (0, 0) == (0xABCD, 4))
        #expect(Self.hexWordOf(Array("\n1234567".utf8)) == nil)  // no digit
        #expect(Self.hexWordOf(Array("12g4\n...".utf8)) == nil)  // g is no digit
        #expect(Self.hexWordOf(Array("12:4\n...".utf8)) == nil)  // between 9 and A
        #expect(Self.hexWordOf([0x31, 0xB1, 0x2F, 0x0A, 0, 0, 0, 0]) == nil)  // a byte above 0x7F
    }

    @Test func equalsTheDigitByDigitReaderOnRandomWords() {
        var rng = SplitMix64(seed: 19)
        // Bytes a word is made of: digits of both cases, the neighbours of
        // every range edge, ends, and high bytes.
        let alphabet = Array("0123456789abcdefABCDEF/:@G`g \r\n\t".utf8) + [0x00, 0x7F, 0x80, 0xB0, 0xE6, 0xFF]
        for _ in 0 ..< 200_000 {
            let digits = Int.random(in: 0 ... 8, using: &rng)
            var bytes = (0 ..< 8).map { _ in UInt8.random(in: 0x30 ... 0x39, using: &rng) }
            for k in 0 ..< 8 where k >= digits || Int.random(in: 0 ..< 6, using: &rng) == 0 {
                bytes[k] = alphabet[Int.random(in: 0 ..< alphabet.count, using: &rng)]
            }
            let got = Self.hexWordOf(bytes), want = Self.reference(bytes)
            #expect(got?.0 == want?.0 && got?.1 == want?.1, "\(bytes)")
        }
    }

    /// Random access lines through `nextBatch` (the fast path) give the
    /// events, lines and errors that `next()` statement by statement gives.
    @Test func batchFastPathEqualsTheGeneralPath() throws {
        var rng = SplitMix64(seed: 23)
        let hex = Array("0123456789abcdefABCDEF")
        for round in 0 ..< 300 {
            var text = "memtrace 1\n"
            for _ in 0 ..< 40 {
                let kind = ["r", "w", "x"][Int.random(in: 0 ..< 3, using: &rng)]
                let pid = Int.random(in: 0 ... 12, using: &rng)
                let n = Int.random(in: 0 ... 9, using: &rng)
                var addr = String((0 ..< n).map { _ in hex[Int.random(in: 0 ..< hex.count, using: &rng)] })
                if Int.random(in: 0 ..< 50, using: &rng) == 0 { addr += "g" }
                let end = Int.random(in: 0 ..< 8, using: &rng) == 0 ? "\r\n" : "\n"
                text += "\(kind) \(pid) 0x\(addr)\(end)"
            }
            let batched = TraceReader(path: "t", source: MemorySource(text))
            let single = TraceReader(path: "t", source: MemorySource(text))
            let batch = EventBatch(capacity: 7)
            var fromBatches: [String] = [], fromNext: [String] = []
            while true {
                do {
                    try batched.nextBatch(batch)
                    if batch.count == 0 { break }
                    for k in 0 ..< batch.count { fromBatches.append("\(batch.lines[k]) \(batch.events[k])") }
                } catch { fromBatches.append("error \(error)"); break }
            }
            while true {
                do {
                    guard let e = try single.next() else { break }
                    fromNext.append("\(single.line) \(e)")
                } catch { fromNext.append("error \(error)"); break }
            }
            #expect(fromBatches == fromNext, "round \(round)")
        }
    }
}
