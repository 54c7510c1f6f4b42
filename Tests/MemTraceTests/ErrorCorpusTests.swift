import Testing
@testable import MemTrace

/// A malformed trace and the exact error the reader must stop with.
struct BadTrace: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var line: Int
    var message: String

    init(_ name: String, _ text: String, _ line: Int, _ message: String) {
        self.init(name, bytes: Array(text.utf8), line, message)
    }

    init(_ name: String, bytes: [UInt8], _ line: Int, _ message: String) {
        self.name = name
        self.bytes = bytes
        self.line = line
        self.message = message
    }

    var testDescription: String { name }
}

private let h = header
private let long65 = String(repeating: "a", count: 65)

let errorCorpus: [BadTrace] = [
    // Header.
    BadTrace("empty file", "", 1,
             "missing header: an empty trace (the first statement must be 'memtrace 1')"),
    BadTrace("only comments and blank lines", "# nothing here\n\n   \n", 3,
             "missing header: an empty trace (the first statement must be 'memtrace 1')"),
    BadTrace("missing header", "palloc a\n", 1,
             "missing header: the first statement must be 'memtrace 1', not 'palloc'"),
    BadTrace("directive before header", "# c\nmem 64M\nmemtrace 1\n", 2,
             "missing header: the first statement must be 'memtrace 1', not 'mem'"),
    BadTrace("header without version", "memtrace\n", 1,
             "memtrace: missing argument (expected 1, got 0); usage: memtrace 1"),
    BadTrace("wrong version", "memtrace 2\n", 1,
             "memtrace: unsupported version '2' (this replayer reads version 1)"),
    BadTrace("version 1.0", "memtrace 1.0\n", 1,
             "memtrace: unsupported version '1.0' (this replayer reads version 1)"),
    BadTrace("header extra argument", "memtrace 1 2\n", 1,
             "memtrace: unexpected extra argument '2'; usage: memtrace 1"),
    BadTrace("header twice", h + "palloc a\nmemtrace 1\n", 3,
             "memtrace: the header may appear only once, as the first statement"),

    // Unknown statements.
    BadTrace("unknown keyword", h + "palloc a\nfrobnicate 1\n", 3, "unknown statement 'frobnicate'"),
    BadTrace("keyword is case-sensitive", h + "PALLOC a\n", 2, "unknown statement 'PALLOC'"),
    BadTrace("keyword prefix", h + "pallocate a\n", 2, "unknown statement 'pallocate'"),
    BadTrace("number as keyword", h + "42\n", 2, "unknown statement '42'"),

    // Missing and extra arguments.
    BadTrace("tick extra", h + "tick 1 2\n", 2, "tick: unexpected extra argument '2'; usage: tick [N]"),
    BadTrace("palloc missing", h + "palloc\n", 2,
             "palloc: missing argument (expected 1 to 3, got 0); usage: palloc H [N] [TYPE]"),
    BadTrace("palloc extra", h + "palloc a 1 movable 2\n", 2,
             "palloc: unexpected extra argument '2'; usage: palloc H [N] [TYPE]"),
    BadTrace("palloc bad type", h + "palloc a 1 2\n", 2,
             "palloc: bad migrate type '2': use unmovable, reclaimable or movable"),
    BadTrace("palloc type without N", h + "palloc a movable\n", 2,
             "palloc: bad frame count 'movable': not a decimal or 0x hexadecimal number"),
    BadTrace("pfree missing", h + "pfree # a\n", 2, "pfree: missing argument (expected 1, got 0); usage: pfree H"),
    BadTrace("spawn missing", h + "spawn\n", 2, "spawn: missing argument (expected 1 to 2, got 0); usage: spawn PID [node=K]"),
    BadTrace("spawn extra", h + "spawn 1 node=0 x\n", 2,
             "spawn: unexpected extra argument 'x'; usage: spawn PID [node=K]"),
    BadTrace("fork missing", h + "fork 1\n", 2,
             "fork: missing argument (expected 2, got 1); usage: fork PARENT CHILD"),
    BadTrace("exit extra", h + "exit 1 2\n", 2, "exit: unexpected extra argument '2'; usage: exit PID"),
    BadTrace("switch missing", h + "switch\n", 2, "switch: missing argument (expected 1, got 0); usage: switch PID"),
    BadTrace("mmap missing", h + "mmap 1 0x1000 0x2000\n", 2,
             "mmap: missing argument (expected 4 to 6, got 3); usage: mmap PID START END PERMS [shared=ID] [huge]"),
    BadTrace("mmap extra", h + "mmap 1 0x1000 0x2000 rw shared=a huge b\n", 2,
             "mmap: unexpected extra argument 'b'; usage: mmap PID START END PERMS [shared=ID] [huge]"),
    BadTrace("mmap unknown option", h + "mmap 1 0x1000 0x2000 rw shared=a b\n", 2,
             "mmap: unexpected argument 'b' (expected shared=ID or huge)"),
    BadTrace("huge with a value", h + "mmap 1 0x400000 0x800000 rw huge=1\n", 2,
             "mmap: unexpected argument 'huge=1' (expected shared=ID or huge)"),
    BadTrace("huge twice", h + "mmap 1 0x400000 0x800000 rw huge huge\n", 2, "mmap: huge given twice"),
    BadTrace("huge unaligned", h + "mmap 1 0x400000 0x401000 rw huge\n", 2,
             "mmap: huge region [0x400000, 0x401000) is not 4 MiB aligned (start and end must be multiples of 0x400000)"),

    BadTrace("munmap missing", h + "munmap 1\n", 2,
             "munmap: missing argument (expected 2, got 1); usage: munmap PID START"),
    BadTrace("r missing", h + "r 1\n", 2, "r: missing argument (expected 2, got 1); usage: r PID ADDR"),
    BadTrace("w extra", h + "w 1 0x10 0x20\n", 2, "w: unexpected extra argument '0x20'; usage: w PID ADDR"),
    BadTrace("x missing both", h + "x\n", 2, "x: missing argument (expected 2, got 0); usage: x PID ADDR"),
    BadTrace("map missing", h + "map 0 0x1000 h\n", 2,
             "map: missing argument (expected 4, got 3); usage: map PID VADDR H PERMS"),
    BadTrace("unmap extra", h + "unmap 0 0x1000 h\n", 2,
             "unmap: unexpected extra argument 'h'; usage: unmap PID VADDR"),
    BadTrace("cache missing", h + "cache c\n", 2,
             "cache: missing argument (expected 2 to 4, got 1); usage: cache NAME SIZE [ALIGN] [TYPE]"),
    BadTrace("cache extra", h + "cache c 64 8 reclaimable 8\n", 2,
             "cache: unexpected extra argument '8'; usage: cache NAME SIZE [ALIGN] [TYPE]"),
    BadTrace("cache movable", h + "cache c 64 8 movable\n", 2,
             "cache: bad migrate type 'movable': use unmovable or reclaimable"),
    BadTrace("salloc missing", h + "salloc c\n", 2,
             "salloc: missing argument (expected 2 to 4, got 1); usage: salloc NAME ID [site=ADDR] [alloc=BYTES]"),
    BadTrace("sfree extra", h + "sfree c o o\n", 2, "sfree: unexpected extra argument 'o'; usage: sfree NAME ID"),
    BadTrace("kmalloc missing", h + "kmalloc o\n", 2,
             "kmalloc: missing argument (expected 2 to 4, got 1); usage: kmalloc ID SIZE [site=ADDR] [alloc=BYTES]"),
    BadTrace("kfree extra", h + "kfree o 16\n", 2, "kfree: unexpected extra argument '16'; usage: kfree ID"),
    BadTrace("fread missing", h + "fread f\n", 2, "fread: missing argument (expected 2, got 1); usage: fread FILE PAGE"),
    BadTrace("fwrite extra", h + "fwrite f 1 2\n", 2, "fwrite: unexpected extra argument '2'; usage: fwrite FILE PAGE"),
    BadTrace("fsync missing", h + "fsync\n", 2, "fsync: missing argument (expected 1, got 0); usage: fsync FILE"),
    BadTrace("fdrop extra", h + "fdrop f g\n", 2, "fdrop: unexpected extra argument 'g'; usage: fdrop FILE"),
    BadTrace("mem missing", h + "mem\n", 2, "mem: missing argument (expected 1, got 0); usage: mem SIZE"),
    BadTrace("reserve extra", h + "reserve 0 0\n", 2, "reserve: unexpected extra argument '0'; usage: reserve SIZE"),
    BadTrace("nodes extra", h + "nodes 2 3\n", 2, "nodes: unexpected extra argument '3'; usage: nodes N"),
    BadTrace("many tokens", h + "pfree a b c d e f g h i j k\n", 2,
             "pfree: unexpected extra argument 'b'; usage: pfree H"),

    // Numbers.
    BadTrace("bad number", h + "r 1 zz\n", 2, "r: bad address 'zz': not a decimal or 0x hexadecimal number"),
    BadTrace("negative PID", h + "spawn -1\n", 2, "spawn: bad PID '-1': not a decimal or 0x hexadecimal number"),
    BadTrace("bad hex digit", h + "r 1 0x12g4\n", 2,
             "r: bad address '0x12g4': not a decimal or 0x hexadecimal number"),
    BadTrace("fraction", h + "tick 1.5\n", 2, "tick: bad tick number '1.5': not a decimal or 0x hexadecimal number"),
    BadTrace("decimal over 64 bits", h + "tick 18446744073709551616\n", 2,
             "tick: tick number '18446744073709551616' is too large (more than 64 bits)"),
    BadTrace("hex over 64 bits", h + "r 1 0x10000000000000000\n", 2,
             "r: address '0x10000000000000000' is too large (more than 64 bits)"),
    BadTrace("size with suffix over 64 bits", h + "mem 17179869184G\n", 2,
             "mem: memory size '17179869184G' is too large (more than 64 bits)"),
    BadTrace("tick number out of range", h + "tick 18446744073709551615\n", 2,
             "tick: tick number 18446744073709551615 is out of range (0 to 4611686018427387904)"),
    BadTrace("PID out of range", h + "spawn 4194304\n", 2, "spawn: PID 4194304 is out of range (0 to 4194303)"),
    BadTrace("child PID out of range", h + "fork 1 0x400000\n", 2, "fork: PID 0x400000 is out of range (0 to 4194303)"),
    BadTrace("access PID out of range", h + "x 99999999 0\n", 2, "x: PID 99999999 is out of range (0 to 4194303)"),
    BadTrace("palloc count 0", h + "palloc a 0\n", 2, "palloc: frame count 0 is out of range (1 to 1048576)"),
    BadTrace("palloc count too large", h + "palloc a 1048577\n", 2,
             "palloc: frame count 1048577 is out of range (1 to 1048576)"),
    BadTrace("address over 32 bits", h + "r 1 0x100000000\n", 2,
             "r: address 0x100000000 is out of range (0 to 4294967295)"),
    BadTrace("page index over 32 bits", h + "fread f 4294967296\n", 2,
             "fread: page index 4294967296 is out of range (0 to 4294967295)"),
    BadTrace("nodes 0", h + "nodes 0\n", 2, "nodes: node count 0 is out of range (1 to 64)"),
    BadTrace("nodes 65", h + "nodes 65\n", 2, "nodes: node count 65 is out of range (1 to 64)"),

    // Size suffixes.
    BadTrace("bad size suffix", h + "mem 64Q\n", 2, "mem: bad size suffix 'Q' in '64Q' (use K, M or G)"),
    BadTrace("lowercase size suffix", h + "kmalloc o 4k\n", 2, "kmalloc: bad size suffix 'k' in '4k' (use K, M or G)"),
    BadTrace("two suffixes", h + "cache c 1KK\n", 2, "cache: bad size suffix 'K' in '1KK' (use K, M or G)"),
    BadTrace("suffix on an address", h + "r 1 4K\n", 2,
             "r: bad address '4K': size suffixes are allowed only on sizes"),
    BadTrace("suffix on a hex address", h + "munmap 1 0x1000K\n", 2,
             "munmap: bad start '0x1000K': size suffixes are allowed only on sizes"),
    BadTrace("suffix on a frame count", h + "palloc a 2K\n", 2,
             "palloc: bad frame count '2K': size suffixes are allowed only on sizes"),
    BadTrace("suffix on a PID", h + "spawn 1M\n", 2,
             "spawn: bad PID '1M': size suffixes are allowed only on sizes"),

    // Sizes out of range.
    BadTrace("cache size 0", h + "cache c 0\n", 2, "cache: object size 0 is out of range (1 to 4194304)"),
    BadTrace("cache size too large", h + "cache c 5M\n", 2, "cache: object size 5M is out of range (1 to 4194304)"),
    BadTrace("cache align not a power of two", h + "cache c 64 24\n", 2, "cache: alignment 24 is not a power of two"),
    BadTrace("cache align 0", h + "cache c 64 0\n", 2, "cache: alignment 0 is out of range (1 to 4096)"),
    BadTrace("cache align too large", h + "cache c 64 8K\n", 2, "cache: alignment 8K is out of range (1 to 4096)"),
    BadTrace("kmalloc size 0", h + "kmalloc o 0\n", 2, "kmalloc: size 0 is out of range (1 to 1073741824)"),
    BadTrace("kmalloc size too large", h + "kmalloc o 2G\n", 2, "kmalloc: size 2G is out of range (1 to 1073741824)"),

    // Regions.
    BadTrace("unaligned mmap start", h + "mmap 1 0x1001 0x2000 rw\n", 2,
             "mmap: start 0x1001 is not page aligned (a multiple of 0x1000)"),
    BadTrace("unaligned mmap end", h + "mmap 1 0x1000 0x2001 rw\n", 2,
             "mmap: end 0x2001 is not page aligned (a multiple of 0x1000)"),
    BadTrace("empty mmap", h + "mmap 1 0x2000 0x2000 rw\n", 2, "mmap: empty or inverted region [0x2000, 0x2000)"),
    BadTrace("inverted mmap", h + "mmap 1 12288 8192 rw\n", 2, "mmap: empty or inverted region [12288, 8192)"),
    BadTrace("mmap into kernel space", h + "mmap 1 0xBFFFF000 0xC0001000 rw\n", 2,
             "mmap: region [0xBFFFF000, 0xC0001000) reaches into kernel space (0xC0000000 and above)"),
    BadTrace("mmap in kernel space", h + "mmap 1 0xC0000000 0xC0001000 rw\n", 2,
             "mmap: region [0xC0000000, 0xC0001000) reaches into kernel space (0xC0000000 and above)"),
    BadTrace("mmap end past 4G", h + "mmap 1 0x1000 0x100001000 rw\n", 2,
             "mmap: end 0x100001000 is out of range (0 to 4294967296)"),
    BadTrace("unaligned munmap", h + "munmap 1 0x1800\n", 2,
             "munmap: start 0x1800 is not page aligned (a multiple of 0x1000)"),

    // Explicit mappings.
    BadTrace("map into the recursive window", h + "map 0 0xFFC00000 h rw\n", 2,
             "map: 0xFFC00000 is in the recursive page-table window (0xFFC00000 and above), which cannot be mapped"),
    BadTrace("unmap in the recursive window", h + "unmap 0 0xFFFFF000\n", 2,
             "unmap: 0xFFFFF000 is in the recursive page-table window (0xFFC00000 and above)"),
    BadTrace("unaligned map", h + "map 0 0xC0000800 h rw\n", 2,
             "map: virtual address 0xC0000800 is not page aligned (a multiple of 0x1000)"),
    BadTrace("unaligned unmap", h + "unmap 1 4097\n", 2,
             "unmap: virtual address 4097 is not page aligned (a multiple of 0x1000)"),

    // Permissions.
    BadTrace("perms rq", h + "mmap 1 0x1000 0x2000 rq\n", 2, "mmap: bad permissions 'rq': use a subset of rwx, e.g. rw"),
    BadTrace("perms rr", h + "map 0 0xC0000000 h rr\n", 2, "map: bad permissions 'rr': 'r' given twice"),
    BadTrace("perms uppercase", h + "map 0 0xC0000000 h RW\n", 2, "map: bad permissions 'RW': use a subset of rwx, e.g. rw"),
    BadTrace("perms x twice", h + "mmap 1 0x1000 0x2000 x-x\n", 2, "mmap: bad permissions 'x-x': 'x' given twice"),

    // Names.
    BadTrace("name of 65 bytes", h + "palloc \(long65)\n", 2,
             "palloc: name 'aaaaaaaaaaaaaaaa…' is longer than 64 bytes"),
    BadTrace("cache name of 65 bytes", h + "cache \(long65) 64\n", 2,
             "cache: name 'aaaaaaaaaaaaaaaa…' is longer than 64 bytes"),
    BadTrace("name with a slash", h + "pfree a/b\n", 2,
             "pfree: bad name 'a/b': '/' is not allowed (names use A-Z a-z 0-9 _ . : -)"),
    BadTrace("name with =", h + "cache my=cache 64\n", 2,
             "cache: bad name 'my=cache': '=' is not allowed (names use A-Z a-z 0-9 _ . : -)"),
    BadTrace("object name with @", h + "salloc c o@1\n", 2,
             "salloc: bad name 'o@1': '@' is not allowed (names use A-Z a-z 0-9 _ . : -)"),
    BadTrace("file name with a bracket", h + "fsync f[1]\n", 2,
             "fsync: bad name 'f[1]': '[' is not allowed (names use A-Z a-z 0-9 _ . : -)"),

    // Directives.
    BadTrace("directive after the first event", h + "mem 64M\npalloc a\nreserve 1M\n", 4,
             "reserve: machine directive after the first event (directives must come first)"),
    BadTrace("directive after a tick", h + "tick\nnodes 2\n", 3,
             "nodes: machine directive after the first event (directives must come first)"),
    BadTrace("directive twice", h + "mem 64M\nreserve 1M\nmem 32M\n", 4, "mem: directive given twice"),
    BadTrace("mem not a multiple of 4096", h + "mem 6000\n", 2, "mem: 6000 is not a multiple of 4096"),
    BadTrace("mem below one page", h + "mem 1000\n", 2, "mem: memory size 1000 is out of range (4096 to 4294967296)"),
    BadTrace("mem over 4G", h + "mem 5G\n", 2, "mem: memory size 5G is out of range (4096 to 4294967296)"),
    BadTrace("mem one page over 4G", h + "mem 0x100001000\n", 2,
             "mem: memory size 0x100001000 is out of range (4096 to 4294967296)"),
    BadTrace("reserve not a multiple of 4096", h + "reserve 100\n", 2, "reserve: 100 is not a multiple of 4096"),
    BadTrace("reserve over 4G", h + "reserve 8G\n", 2, "reserve: reserved size 8G is out of range (0 to 4294967296)"),

    // Line length and binary data.
    BadTrace("bare 0x", h + "r 1 0x\n", 2, "r: bad address '0x': not a decimal or 0x hexadecimal number"),
    BadTrace("letter after digits", h + "r 1 12a\n", 2, "r: bad address '12a': not a decimal or 0x hexadecimal number"),
    BadTrace("bare 0x size", h + "mem 0x\n", 2, "mem: bad memory size '0x': not a decimal or 0x hexadecimal number"),
    BadTrace("line too long", h + "# " + String(repeating: "x", count: 4095) + "\ntick\n", 2,
             "line too long: more than 4096 bytes"),
    BadTrace("line too long with CR", h + "tick\n# " + String(repeating: "x", count: 4094) + "\r\n", 3,
             "line too long: more than 4096 bytes"),
    BadTrace("unterminated line too long", h + "palloc " + String(repeating: "a", count: 5000), 2,
             "line too long: more than 4096 bytes"),
    BadTrace("NUL byte", h + "palloc a\u{0}b\n", 2, "binary data: control byte 0x00"),
    BadTrace("escape byte", h + "r 1 \u{1B}[0m\n", 2, "binary data: control byte 0x1B"),
    BadTrace("DEL byte", h + "tick \u{7F}\n", 2, "binary data: control byte 0x7F"),
    BadTrace("form feed", h + "tick\u{0C}\n", 2, "binary data: control byte 0x0C"),
    BadTrace("control byte in a comment", h + "tick # a\u{0}b\n", 2, "binary data: control byte 0x00 in a comment"),
    BadTrace("non-ASCII outside a comment", h + "palloc é\n", 2, "non-ASCII byte 0xC3 outside a comment"),
    BadTrace("UTF-8 byte-order mark after the start", "memtrace 1\n\u{FEFF}tick\n", 2, "non-ASCII byte 0xEF outside a comment"),
    BadTrace("invalid UTF-8", bytes: Array(h.utf8) + [0x74, 0x69, 0x63, 0x6B, 0x20, 0xFF, 0x0A], 2,
             "non-ASCII byte 0xFF outside a comment"),
    BadTrace("binary garbage before the header", bytes: [0x1F, 0x8B, 0x08, 0x00], 1, "binary data: control byte 0x1F"),

    // Options.
    BadTrace("bad shared= option", h + "mmap 1 0x1000 0x2000 rw share=a\n", 2,
             "mmap: unexpected argument 'share=a' (expected shared=ID or huge)"),
    BadTrace("empty shared= option", h + "mmap 1 0x1000 0x2000 rw shared=\n", 2, "mmap: shared= needs a segment ID"),
    BadTrace("bad shared= name", h + "mmap 1 0x1000 0x2000 rw shared=a/b\n", 2,
             "mmap: bad name 'shared=a/b': '/' is not allowed (names use A-Z a-z 0-9 _ . : -)"),
    BadTrace("bad node= option", h + "spawn 1 nod=1\n", 2, "spawn: unexpected argument 'nod=1' (expected node=K)"),
    BadTrace("node= not a number", h + "spawn 1 node=x\n", 2, "spawn: bad node in 'node=x': not a number"),
    BadTrace("empty node= option", h + "spawn 1 node=\n", 2, "spawn: bad node in 'node=': not a number"),
    BadTrace("node= with a suffix", h + "spawn 1 node=1K\n", 2, "spawn: bad node in 'node=1K': not a number"),
    BadTrace("unknown kmalloc option", h + "kmalloc a 8 size=1\n", 2,
             "kmalloc: unexpected argument 'size=1' (expected site=ADDR or alloc=BYTES)"),
    BadTrace("site= given twice", h + "kmalloc a 8 site=0x1 site=0x2\n", 2, "kmalloc: site= given twice"),
    BadTrace("alloc= of 0", h + "kmalloc a 8 alloc=0\n", 2, "kmalloc: allocated size 0 is out of range (1 to 2147483648)"),
    BadTrace("site= not a number", h + "salloc kmalloc-8 a site=c10a\n", 2, "salloc: bad call site in 'site=c10a': not a number"),

    // The error is on the right line after valid statements, comments and blank lines.
    BadTrace("error after valid lines", h + "# c\nspawn 1\n\nmmap 1 0x1000 0x3000 rw\r\nr 1 0x1000\nw 1 0x1000 x\n", 7,
             "w: unexpected extra argument 'x'; usage: w PID ADDR"),
]

@Suite("Error corpus")
struct ErrorCorpusTests {
    @Test func corpusIsLargeAndNamesAreUnique() {
        #expect(errorCorpus.count >= 45)
        #expect(Set(errorCorpus.map(\.name)).count == errorCorpus.count)
    }

    @Test(arguments: errorCorpus)
    func reportsExactLineAndMessage(_ bad: BadTrace) {
        let o = outcome(bytes: bad.bytes, path: "bad.trace")
        guard let error = o.error else {
            Issue.record("no error; events: \(o.events)")
            return
        }
        #expect(error.line == bad.line)
        #expect(error.message == bad.message)
        #expect(error.file == "bad.trace")
        #expect(error.description == "bad.trace:\(bad.line): \(bad.message)")
    }

    /// Refills in the middle of a line must not change which error is found,
    /// except that an over-long line may be rejected before its end is seen.
    @Test(arguments: errorCorpus)
    func sameErrorWhateverTheChunkSize(_ bad: BadTrace) {
        let whole = outcome(bytes: bad.bytes)
        for chunk in [1, 7, 4096] {
            let chunked = outcome(bytes: bad.bytes, chunk: chunk)
            #expect(chunked.events == whole.events, "chunk \(chunk)")
            #expect(chunked.error?.line == whole.error?.line, "chunk \(chunk)")
            if bad.message.hasPrefix("line too long") {
                #expect(chunked.error?.message.hasPrefix("line too long") == true, "chunk \(chunk)")
            } else {
                #expect(chunked.error?.message == whole.error?.message, "chunk \(chunk)")
            }
        }
    }

    /// Reading stops at the first error: the events before it were returned.
    @Test func eventsBeforeTheErrorAreReturned() {
        let o = outcome(h + "spawn 1\ntick\nbogus\nspawn 2\n")
        #expect(o.events == [.spawn(1, node: nil), .tick(nil)])
        #expect(o.error == TraceError(file: "test.trace", line: 4, message: "unknown statement 'bogus'"))
    }

    /// `spawn PID node=K` takes K in 0...63; a K above that is out of range,
    /// and the reader should say so as it does for every other number.
    @Test func nodeOptionOutOfRange() {
        #expect(outcome(h + "spawn 1 node=64\n").error?.message == "spawn: node 64 is out of range (0 to 63)")
        #expect(outcome(h + "spawn 1 node=0x40\n").error?.message == "spawn: node 64 is out of range (0 to 63)")
        #expect(outcome(h + "spawn 1 node=x\n").error?.message == "spawn: bad node in 'node=x': not a number")
    }
}
