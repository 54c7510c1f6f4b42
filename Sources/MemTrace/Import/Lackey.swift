/// valgrind lackey memory traces, as the accesses of one 32-bit process.
///
/// `valgrind --tool=lackey --trace-mem=yes` prints one line per access:
///
///     I  0401ab70,3          instruction fetch   -> x 1 ADDR
///      L 1ffefffcf8,8        load                -> r 1 ADDR
///      S 1fff000758,8        store               -> w 1 ADDR
///      M 1fff000758,8        modify (load+store) -> r 1 ADDR, then w 1 ADDR
///
/// ADDR is hexadecimal without `0x`, SIZE decimal; each access becomes one
/// statement at its start address (one TLB lookup, as the replay counts).
/// valgrind's own messages (`==123== …`) and anything else that does not
/// start like a data line are skipped; a line that starts like one (`I ` or
/// ` L `/` S `/` M `) but does not parse is an error.
///
/// ## Relocation
/// x86-64 addresses do not fit a 32-bit user space (3 GiB below 0xC0000000),
/// but a program touches only a handful of 4 MiB chunks. Each touched chunk
/// moves to its own 4 MiB chunk of user space, in address order, keeping the
/// low 22 bits:
///
///     original  64 bits | chunk number 42          | table index 10 | offset 12 |
///     relocated 32 bits | rank among chunks 10     | table index 10 | offset 12 |
///
/// The map is one-to-one on pages and keeps the low 10 bits of every page
/// number, so a TLB with up to 1024 sets sees the same hits, misses and
/// evictions as a cache of 4 KiB blocks with the same geometry fed the
/// original addresses. (Page-table frames are per relocated chunk, one per
/// original chunk, as on a real 2-level x86 walk of the same layout.) More
/// than 768 touched chunks cannot be placed and are an error.
///
/// Chunks are numbered in address order, so the importer reads its input
/// twice: the first pass collects the touched chunks (at most 768, with the
/// lowest and highest page touched in each), the second writes the trace.
///
/// ## Regions
/// One process (PID 1, `spawn 1` first) with `rwx` regions covering every
/// touched page: a span from the lowest to the highest touched page of each
/// chunk, spans of chunks that were adjacent in the original address space
/// joined, then the two closest spans merged until at most 16 remain (the
/// kernel's `regions[16]`). The trace has no `switch` and no `fork`: the first
/// access switches from PID 0 to PID 1 and flushes a still empty TLB, and
/// nothing flushes it afterwards.
struct LackeyImporter {
    var out: ImportEmitter
    private var otherLines = 0

    /// 3 GiB of user space in 4 MiB chunks.
    static let maxChunks = 768
    static let maxRegions = 16
    static let pid = 1

    /// What the first pass learns about one touched chunk.
    struct Chunk: Equatable {
        /// The original chunk number (address >> 22).
        var original: UInt64
        /// Lowest and highest page touched, within the chunk (0...1023).
        var low: UInt16
        var high: UInt16
    }

    init(_ out: ImportEmitter) { self.out = out }

    /// One data line: the kind (`I`, `L`, `S`, `M`) and the address, or `nil`
    /// for a line that is not data.
    @inline(__always)
    static func parse(_ line: UnsafeBufferPointer<UInt8>, _ reader: LineReader) throws -> (UInt8, UInt64)? {
        let n = line.count
        var i: Int
        let kind: UInt8
        if n >= 2 && line[0] == UInt8(ascii: "I") && line[1] == 0x20 {
            kind = line[0]
            i = 2
        } else if n >= 3 && line[0] == 0x20 && line[2] == 0x20
                    && (line[1] == UInt8(ascii: "L") || line[1] == UInt8(ascii: "S") || line[1] == UInt8(ascii: "M")) {
            kind = line[1]
            i = 3
        } else {
            return nil
        }
        while i < n && line[i] == 0x20 { i += 1 }
        var addr: UInt64 = 0
        var digits = 0
        while i < n, let d = hexDigit(line[i]) {
            addr = addr << 4 | UInt64(d)
            digits += 1
            i += 1
        }
        var sizeDigits = 0
        if i < n && line[i] == UInt8(ascii: ",") {
            i += 1
            while i < n && line[i] >= 48 && line[i] <= 57 { i += 1; sizeDigits += 1 }
        }
        while i < n && line[i] == 0x20 { i += 1 }
        guard digits >= 1 && digits <= 16 && sizeDigits >= 1 && i == n else {
            throw reader.fail("lackey: cannot parse data line '\(line.text)' (expected '\(kind == UInt8(ascii: "I") ? "I  " : " \(String(UnicodeScalar(kind))) ")ADDRESS,SIZE' with a hexadecimal address and a decimal size)")
        }
        return (kind, addr)
    }

    /// First pass: the touched chunks in address order.
    static func chunks(_ reader: LineReader) throws -> (chunks: [Chunk], dataLines: Int) {
        var seen: [UInt64: Int] = [:]
        var list: [Chunk] = []
        var lastChunk = UInt64.max
        var lastIndex = -1
        var dataLines = 0
        while let line = try reader.next() {
            guard let (_, addr) = try parse(line, reader) else { continue }
            dataLines += 1
            let c = addr >> 22
            let page = UInt16((addr >> 12) & 0x3FF)
            if c != lastChunk {
                if let k = seen[c] {
                    lastIndex = k
                } else {
                    guard list.count < maxChunks else {
                        throw reader.fail("lackey: address 0x\(String(addr, radix: 16)) is in a \(maxChunks + 1)th distinct 4 MiB chunk; a 32-bit user space (3 GiB) holds only \(maxChunks), so this trace cannot be relocated (slice it shorter)")
                    }
                    seen[c] = list.count
                    lastIndex = list.count
                    list.append(Chunk(original: c, low: page, high: page))
                }
                lastChunk = c
            }
            if page < list[lastIndex].low { list[lastIndex].low = page }
            if page > list[lastIndex].high { list[lastIndex].high = page }
        }
        list.sort { $0.original < $1.original }
        return (list, dataLines)
    }

    /// Regions `[start, end)` of relocated user space covering every touched
    /// page of `chunks` (sorted; chunk `i` goes to user chunk `i`), at most `limit`.
    ///
    /// - Complexity: O(n · (n − limit)) for n chunks, n ≤ 768.
    static func regions(_ chunks: [Chunk], limit: Int = maxRegions) -> [(start: UInt32, end: UInt32)] {
        var spans: [(start: UInt32, end: UInt32)] = []
        for (i, c) in chunks.enumerated() {
            let base = UInt32(i) << 22
            let span = (start: base | UInt32(c.low) << 12, end: base + (UInt32(c.high) + 1) << 12)
            if i > 0 && chunks[i - 1].original + 1 == c.original {
                spans[spans.count - 1].end = span.end
            } else {
                spans.append(span)
            }
        }
        while spans.count > limit {
            var best = 0
            var bestGap = UInt32.max
            for j in 0..<(spans.count - 1) {
                let gap = spans[j + 1].start - spans[j].end
                if gap < bestGap { bestGap = gap; best = j }
            }
            spans[best].end = spans[best + 1].end
            spans.remove(at: best + 1)
        }
        return spans
    }

    /// The relocated address of `addr`, whose chunk is `chunks[index]`.
    @inline(__always)
    static func relocate(_ addr: UInt64, index: Int) -> UInt32 {
        UInt32(index) << 22 | UInt32(addr & 0x3F_FFFF)
    }

    mutating func run(first: LineReader, second: () throws -> LineReader) throws -> ImportReport {
        let (chunks, dataLines) = try Self.chunks(first)
        let regions = Self.regions(chunks)
        try out.comment("PID 1 is the traced program. Each touched 4 MiB chunk of its 64-bit address space")
        try out.comment("is moved to a 4 MiB chunk of 32-bit user space, keeping the low 22 bits:")
        for (i, c) in chunks.enumerated() {
            try out.comment("  chunk 0x\(String(c.original << 22, radix: 16)) -> 0x\(String(UInt32(i) << 22, radix: 16)) (pages 0x\(String(c.low, radix: 16))-0x\(String(c.high, radix: 16)))")
        }
        try out.beginEvent()
        try out.w.text("spawn 1")
        try out.endEvent()
        for r in regions {
            try out.beginEvent()
            try out.w.text("mmap 1 ")
            try out.w.hex(r.start)
            try out.w.byte(0x20)
            try out.w.hex(r.end)
            try out.w.text(" rwx")
            try out.endEvent()
        }

        var index: [UInt64: Int] = [:]
        for (i, c) in chunks.enumerated() { index[c.original] = i }
        let reader = try second()
        var lastChunk = UInt64.max
        var lastIndex = 0
        var seenData = 0
        while let line = try reader.next() {
            guard let (kind, addr) = try Self.parse(line, reader) else {
                otherLines += 1
                continue
            }
            seenData += 1
            let c = addr >> 22
            if c != lastChunk {
                guard let k = index[c] else {
                    throw reader.fail("lackey: the input changed between the two passes (chunk of 0x\(String(addr, radix: 16)) was not seen before)")
                }
                lastChunk = c
                lastIndex = k
            }
            let va = Self.relocate(addr, index: lastIndex)
            switch kind {
            case UInt8(ascii: "I"): try access(UInt8(ascii: "x"), va)
            case UInt8(ascii: "L"): try access(UInt8(ascii: "r"), va)
            case UInt8(ascii: "S"): try access(UInt8(ascii: "w"), va)
            default:
                try access(UInt8(ascii: "r"), va)
                try access(UInt8(ascii: "w"), va)
            }
        }
        guard seenData == dataLines else {
            throw reader.fail("lackey: the input changed between the two passes (\(dataLines) data lines, then \(seenData))")
        }
        var r = ImportReport()
        r.lines = reader.line
        r.note("4 MiB chunks relocated", chunks.count)
        r.note("regions", regions.count)
        r.note("other lines skipped", otherLines)
        return r
    }

    @inline(__always)
    private mutating func access(_ kind: UInt8, _ va: UInt32) throws {
        try out.beginEvent()
        try out.w.byte(kind)
        try out.w.text(" 1 ")
        try out.w.hex(va)
        try out.endEvent()
    }
}
