/// glibc `mtrace()` logs, as heap traffic of the kernel's `kmalloc`.
///
/// What glibc writes (malloc/mtrace.c, malloc-debug in glibc 2.34+), one call
/// per line, each after an optional `@ CALLER ` prefix:
///
///     = Start
///     @ /lib/x86_64-linux-gnu/libc.so.6:[0x39221] + 0x55d048b342a0 0x5     malloc, calloc, memalign
///     @ /usr/bin/python3:(PyList_Append+97)[0x1107e7] < 0x263c2c30          realloc: the old block …
///     @ /usr/bin/python3:(PyList_Append+97)[0x1107e7] > 0x263c2d70 0x40     … and the new one
///     @ [0x7f3a1c2b] - 0x55d048b342a0                                      free
///     @ ./prog:[0x1234] ! 0x55d048b342a0 0x100000000                      realloc that failed
///     = End
///
/// The caller is `[ADDR]`, `FILE:[ADDR]` or `FILE:(SYMBOL+OFF)[ADDR]`, and is
/// missing altogether when glibc could not find one. Pointers are `%p`
/// (`(nil)` when an allocation failed), sizes `%#lx` (`0x5`, but `0`).
///
/// Mapping: `+` and `>` become `kmalloc mPTR SIZE`, `-` and `<` become
/// `kfree mPTR`; the handle is `m` and the pointer in hexadecimal. memtrace
/// lets an object name be bound again once freed, so a pointer malloc reuses
/// after a free simply rebinds its name. Repairs, each counted in the report:
/// - a `+` for a pointer that is still live (the free was not logged, e.g. it
///   happened in a thread mtrace does not see) first frees the old binding,
///   so the replay never sees a double bind;
/// - a free of a pointer never allocated in the log (allocated before
///   `mtrace()` ran) is skipped;
/// - `malloc(0)` returns a unique, freeable block, which `kmalloc` (whose
///   zero-size result is a shared token) would not model: size 0 becomes 1;
/// - sizes above 1 GiB, the largest `kmalloc` memtrace accepts, are clamped
///   (such a request fails in any 32-bit machine anyway, as an OOM event).
///
/// State: the set of live pointers, so memory is bounded by live allocations.
struct MtraceImporter {
    var out: ImportEmitter
    private var live: Set<UInt64> = []
    private var fields = Fields()
    private var unknownFrees = 0
    private var missingFrees = 0
    private var failedAllocs = 0
    private var failedReallocs = 0
    private var zeroSizes = 0
    private var clamped = 0
    private var otherLines = 0

    static let maxSize: UInt64 = 1 << 30

    init(_ out: ImportEmitter) { self.out = out }

    mutating func run(_ reader: LineReader) throws -> ImportReport {
        while let line = try reader.next() {
            fields.split(line)
            try statement(reader)
        }
        var r = ImportReport()
        r.lines = reader.line
        r.note("unknown frees skipped", unknownFrees)
        r.note("frees missing before a reuse, inserted", missingFrees)
        r.note("failed allocations skipped", failedAllocs)
        r.note("failed reallocs skipped", failedReallocs)
        r.note("zero-size mallocs written as size 1", zeroSizes)
        r.note("sizes above 1G clamped", clamped)
        r.note("other lines skipped", otherLines)
        return r
    }

    private mutating func statement(_ reader: LineReader) throws {
        guard fields.count > 0 else { return }
        let first = fields[0]
        if first.isByte(UInt8(ascii: "=")) { return }  // = Start, = End
        var k: Int
        if first.isByte(UInt8(ascii: "@")) {
            // The caller can hold spaces only inside a file name; the
            // operation is the first one-character field after it.
            k = 2
            while k < fields.count && !Self.isOperation(fields[k]) { k += 1 }
            guard k < fields.count else {
                throw reader.fail("mtrace: no operation (+ - < > !) after the caller in '\(fields.line.text)'")
            }
        } else if Self.isOperation(first) {
            k = 0
        } else {
            otherLines += 1
            return
        }
        let op = fields[k][0]
        switch op {
        case UInt8(ascii: "+"), UInt8(ascii: ">"):
            try arity(reader, k, 2)
            guard let ptr = try pointer(reader, k + 1) else { failedAllocs += 1; return }
            guard var size = fields[k + 2].numberValue() else {
                throw reader.fail("mtrace: bad size '\(fields[k + 2].text)' (expected hexadecimal like 0x20)")
            }
            if size == 0 { size = 1; zeroSizes += 1 }
            if size > Self.maxSize { size = Self.maxSize; clamped += 1 }
            if !live.insert(ptr).inserted {
                missingFrees += 1
                try kfree(ptr)
            }
            try out.beginEvent()
            try out.w.text("kmalloc m")
            try out.w.hexDigits(ptr)
            try out.w.byte(0x20)
            try out.w.decimal(size)
            if k >= 2, let site = Self.callerAddress(fields[k - 1]), site != 0, site < UInt64.max {
                try out.w.text(" site=0x")
                try out.w.hexDigits(site)
            }
            try out.endEvent()
        case UInt8(ascii: "-"), UInt8(ascii: "<"):
            try arity(reader, k, 1)
            guard let ptr = try pointer(reader, k + 1) else { return }  // free(NULL)
            if live.remove(ptr) != nil {
                try kfree(ptr)
            } else {
                unknownFrees += 1
            }
        default:  // "!": realloc failed, the old block stays as it was
            try arity(reader, k, 2)
            failedReallocs += 1
        }
    }

    private mutating func kfree(_ ptr: UInt64) throws {
        try out.beginEvent()
        try out.w.text("kfree m")
        try out.w.hexDigits(ptr)
        try out.endEvent()
    }

    private static func isOperation(_ f: UnsafeBufferPointer<UInt8>) -> Bool {
        guard f.count == 1 else { return false }
        switch f[0] {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "!"): return true
        default: return false
        }
    }

    private func arity(_ reader: LineReader, _ k: Int, _ n: Int) throws {
        let have = fields.count - k - 1
        let op = String(UnicodeScalar(fields[k][0]))
        let usage = n == 2 ? "\(op) POINTER SIZE" : "\(op) POINTER"
        if have < n {
            throw reader.fail("mtrace: '\(op)' needs \(n == 2 ? "a pointer and a size" : "a pointer") (\(usage)), got '\(fields.line.text)'")
        }
        if have > n {
            throw reader.fail("mtrace: unexpected '\(fields[k + n + 1].text)' after \(usage)")
        }
    }

    /// The caller's `[ADDR]`, at the end of its last field (`[0x39221]`,
    /// `libc.so.6:[0x39221]`, `python3:(PyList_Append+97)[0x1107e7]`).
    static func callerAddress(_ f: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard f.count > 2, f[f.count - 1] == UInt8(ascii: "]"), let open = f.lastIndex(of: UInt8(ascii: "[")) else { return nil }
        return UnsafeBufferPointer(rebasing: f[(open + 1)..<(f.count - 1)]).numberValue()
    }

    /// The pointer in field `k`; `nil` for a null pointer (`(nil)`, `0x0`).
    private func pointer(_ reader: LineReader, _ k: Int) throws -> UInt64? {
        let f = fields[k]
        if f.equals("(nil)") { return nil }
        guard let v = f.hexValue() else {
            throw reader.fail("mtrace: bad pointer '\(f.text)' (expected 0x and hexadecimal digits, or (nil))")
        }
        return v == 0 ? nil : v
    }
}
