/// Streams the statements of a memtrace v1 trace as ``Event``s.
///
/// The reader works on bytes: it fills a fixed buffer from a ``ByteSource``,
/// finds line ends with `memchr`, splits tokens in place and decodes numbers
/// without building a `String` per line. Memory use is the buffer plus the
/// symbol tables of live handles, whatever the length of the trace.
///
/// Statement shapes, ranges and alignment are checked here; rules that need
/// the machine's state (an unknown handle, a double free) are the model's.
public final class TraceReader {
    /// The path as given, used in `FILE:LINE:` messages.
    public let path: String
    /// Longest accepted line, comment included.
    public static let maxLineLength = 4096
    static let bufferSize = 1 << 20
    static let maxTokens = 8

    /// The bytes of the trace, and the line count.
    var input: InputBuffer
    var buffer: UnsafeMutablePointer<UInt8> { input.bytes }
    /// Text or memtrace-bin, known once the first bytes are read.
    var format = Format.unknown
    enum Format { case unknown, text, binary }
    private let tokStart: UnsafeMutablePointer<Int>
    private let tokLen: UnsafeMutablePointer<Int>
    private var ntok = 0
    private var headerSeen = false
    var eventSeen = false
    var directivesSeen: Set<String> = []

    /// Line number of the statement returned last (1-based).
    public var line: Int { input.line }
    /// Handle and name tables. A symbol whose binding a statement ends (the
    /// handle of `pfree`, the object of `sfree`/`kfree`, the file of
    /// `fdrop`) is released before a later statement can name a symbol: its
    /// name still serves the statement's own error messages, and a trace that
    /// keeps making fresh names reads in constant memory.
    public var symbols = SymbolTables()
    /// The namespace (raw value) of a symbol waiting to be released, or -1;
    /// plain integers, so the per-statement check is one compare.
    var releaseNamespace = -1
    var releaseSymbol = Symbol(0)

    /// Remembers the symbol `event` releases, if any.
    @inline(__always)
    func noteRelease(_ event: Event) {
        if let (ns, s) = event.releasedSymbol {
            releaseNamespace = ns.rawValue
            releaseSymbol = s
        }
    }

    @inline(__always)
    func releasePending() {
        if releaseNamespace >= 0 { releaseNow() }
    }

    @inline(never)
    private func releaseNow() {
        symbols.tables[releaseNamespace].release(releaseSymbol)
        releaseNamespace = -1
    }
    /// Statements returned so far, directives and ticks included.
    public internal(set) var statements = 0

    public init(path: String) throws(TraceError) {
        self.path = path
        do {
            input = InputBuffer(path: path, source: try openByteSource(path: path), capacity: Self.bufferSize)
        } catch {
            throw TraceError(file: path, line: 0, message: error.message)
        }
        tokStart = .allocate(capacity: Self.maxTokens + 1)
        tokLen = .allocate(capacity: Self.maxTokens + 1)
    }

    /// A reader over an in-memory source (tests, generators).
    public init(path: String, source: any ByteSource) {
        self.path = path
        input = InputBuffer(path: path, source: source, capacity: Self.bufferSize)
        tokStart = .allocate(capacity: Self.maxTokens + 1)
        tokLen = .allocate(capacity: Self.maxTokens + 1)
    }

    deinit {
        input.deallocate()
        tokStart.deallocate()
        tokLen.deallocate()
    }

    /// Bytes of the underlying file consumed so far (compressed bytes for
    /// compressed traces), for progress reports.
    public var bytesConsumed: UInt64 { input.source.bytesConsumed }

    func fail(_ message: String) -> TraceError {
        TraceError(file: path, line: line, message: message)
    }

    // MARK: Lines and tokens

    /// Splits `[s, e)` into tokens, dropping the comment.
    @inline(__always)
    private func tokenize(_ s: Int, _ e: Int) throws(TraceError) {
        ntok = 0
        var i = s
        while i < e {
            let c = buffer[i]
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1; continue }
            if c == 0x23 {  // '#': the rest is a comment
                for k in i..<e where buffer[k] < 0x20 && buffer[k] != 0x09 && buffer[k] != 0x0D {
                    throw fail("binary data: control byte 0x\(hex(buffer[k])) in a comment")
                }
                return
            }
            let ts = i
            while i < e {
                let c = buffer[i]
                if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x23 { break }
                if c < 0x21 || c > 0x7E {
                    throw fail(c >= 0x80
                        ? "non-ASCII byte 0x\(hex(c)) outside a comment"
                        : "binary data: control byte 0x\(hex(c))")
                }
                i += 1
            }
            if ntok <= Self.maxTokens {
                tokStart[ntok] = ts
                tokLen[ntok] = i - ts
            }
            ntok += 1
        }
    }

    private func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }

    /// Token `k` as text (for messages only).
    func text(_ k: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: buffer + tokStart[k], count: tokLen[k]), as: UTF8.self)
    }

    @inline(__always)
    private func keywordKey() -> UInt64 {
        let n = tokLen[0]
        if n > 8 { return 0 }
        let p = buffer + tokStart[0]
        var key: UInt64 = 0
        for k in 0..<n { key |= UInt64(p[k]) << (8 * UInt64(k)) }
        return key
    }

    static func key(_ s: StaticString) -> UInt64 {
        var key: UInt64 = 0
        s.withUTF8Buffer { b in for (k, c) in b.enumerated() { key |= UInt64(c) << (8 * UInt64(k)) } }
        return key
    }

    // MARK: Statements

    /// The next statement, or `nil` at the end of the trace.
    public func next() throws(TraceError) -> Event? {
        if format != .text {
            if format == .unknown { try detectFormat() }
            if format == .binary { return try nextBinary() }
        }
        while true {
            guard let (s, e) = try input.nextLine(maxLength: Self.maxLineLength) else {
                if !headerSeen { throw TraceError(file: path, line: max(line, 1), message: "missing header: an empty trace (the first statement must be 'memtrace 1')") }
                releasePending()
                return nil
            }
            if headerSeen, let event = plainAccess(s, e) {
                eventSeen = true
                statements += 1
                return event
            }
            // Accesses name no symbol, so the release waits until here.
            releasePending()
            try tokenize(s, e)
            if ntok == 0 { continue }
            let event = try statement()
            if let event {
                statements += 1
                noteRelease(event)
                return event
            }
        }
    }

    /// The fast path for the commonest line, `r|w|x PID ADDR`, written the
    /// plain way (single spaces, no comment): decoded straight from the bytes.
    /// Anything else — or anything wrong — returns `nil`, and the general path
    /// decodes the line and words its errors.
    @inline(__always)
    private func plainAccess(_ s: Int, _ e: Int) -> Event? {
        guard e - s >= 5, buffer[s + 1] == 0x20 else { return nil }
        let kind: AccessKind
        switch buffer[s] {
        case 0x72: kind = .read
        case 0x77: kind = .write
        case 0x78: kind = .execute
        default: return nil
        }
        var i = s + 2
        var pid: UInt32 = 0
        let pidStart = i
        while i < e, case let d = buffer[i] &- 48, d < 10 {
            pid = pid &* 10 &+ UInt32(d)
            i += 1
        }
        guard i > pidStart, i - pidStart <= 7, pid <= maxPID, i < e, buffer[i] == 0x20 else { return nil }
        i += 1
        var addr: UInt64 = 0
        let addrStart: Int
        if e - i > 2 && buffer[i] == 0x30 && buffer[i + 1] | 0x20 == 0x78 {
            i += 2
            addrStart = i
            while i < e, let d = hexDigit(buffer[i]) {
                addr = addr << 4 | UInt64(d)
                i += 1
            }
            guard i > addrStart, i - addrStart <= 8 else { return nil }
        } else {
            addrStart = i
            while i < e, case let d = buffer[i] &- 48, d < 10 {
                addr = addr &* 10 &+ UInt64(d)
                i += 1
            }
            guard i > addrStart, i - addrStart <= 10, addr <= 0xFFFF_FFFF else { return nil }
        }
        guard i == e || (i == e - 1 && buffer[i] == 0x0D) else { return nil }
        return .access(kind, pid, UInt32(addr))
    }

    // Keywords packed little-endian into a UInt64 (see `keywordKey`), as
    // literals so the hot path needs no lazy initialization.
    private static var kR: UInt64 { 0x72 }  // "r"
    private static var kW: UInt64 { 0x77 }  // "w"
    private static var kX: UInt64 { 0x78 }  // "x"
    private static var kTick: UInt64 { 0x6b636974 }  // "tick"
    private static var kPalloc: UInt64 { 0x636f6c6c6170 }  // "palloc"
    private static var kPfree: UInt64 { 0x6565726670 }  // "pfree"
    private static var kSpawn: UInt64 { 0x6e77617073 }  // "spawn"
    private static var kFork: UInt64 { 0x6b726f66 }  // "fork"
    private static var kExit: UInt64 { 0x74697865 }  // "exit"
    private static var kSwitch: UInt64 { 0x686374697773 }  // "switch"
    private static var kMmap: UInt64 { 0x70616d6d }  // "mmap"
    private static var kMunmap: UInt64 { 0x70616d6e756d }  // "munmap"
    private static var kMap: UInt64 { 0x70616d }  // "map"
    private static var kUnmap: UInt64 { 0x70616d6e75 }  // "unmap"
    private static var kCache: UInt64 { 0x6568636163 }  // "cache"
    private static var kSalloc: UInt64 { 0x636f6c6c6173 }  // "salloc"
    private static var kSfree: UInt64 { 0x6565726673 }  // "sfree"
    private static var kKmalloc: UInt64 { 0x636f6c6c616d6b }  // "kmalloc"
    private static var kKfree: UInt64 { 0x656572666b }  // "kfree"
    private static var kFread: UInt64 { 0x6461657266 }  // "fread"
    private static var kFwrite: UInt64 { 0x657469727766 }  // "fwrite"
    private static var kFsync: UInt64 { 0x636e797366 }  // "fsync"
    private static var kFdrop: UInt64 { 0x706f726466 }  // "fdrop"
    private static var kMem: UInt64 { 0x6d656d }  // "mem"
    private static var kReserve: UInt64 { 0x65767265736572 }  // "reserve"
    private static var kNodes: UInt64 { 0x7365646f6e }  // "nodes"
    private static var kHeader: UInt64 { 0x65636172746d656d }  // "memtrace"

    private func statement() throws(TraceError) -> Event? {
        let key = keywordKey()
        if !headerSeen {
            guard key == Self.kHeader else {
                throw fail("missing header: the first statement must be 'memtrace 1', not '\(text(0))'")
            }
            try arity("memtrace", 1, 1)
            guard tokLen[1] == 1 && buffer[tokStart[1]] == UInt8(ascii: "1") else {
                throw fail("memtrace: unsupported version '\(text(1))' (this replayer reads version 1)")
            }
            headerSeen = true
            return nil
        }
        let event: Event
        switch key {
        case Self.kR: event = try access(.read)
        case Self.kW: event = try access(.write)
        case Self.kX: event = try access(.execute)
        case Self.kTick:
            try arity("tick", 0, 1)
            event = .tick(ntok == 2 ? try number("tick", 1, "tick number", max: 1 << 62) : nil)
        case Self.kPalloc:
            try arity("palloc", 1, 2)
            let h = try symbol("palloc", 1, .handle)
            let n = ntok == 3 ? try number("palloc", 2, "frame count", min: 1, max: 1 << 20) : 1
            event = .palloc(h, count: UInt32(n))
        case Self.kPfree:
            try arity("pfree", 1, 1)
            event = .pfree(try symbol("pfree", 1, .handle))
        case Self.kSpawn:
            try arity("spawn", 1, 2)
            let pid = try pid("spawn", 1)
            var node: Int32? = nil
            if ntok == 3 {
                node = Int32(try option("spawn", 2, "node", max: 63))
            }
            event = .spawn(pid, node: node)
        case Self.kFork:
            try arity("fork", 2, 2)
            event = .fork(parent: try pid("fork", 1), child: try pid("fork", 2))
        case Self.kExit:
            try arity("exit", 1, 1)
            event = .exit(try pid("exit", 1))
        case Self.kSwitch:
            try arity("switch", 1, 1)
            event = .switchTo(try pid("switch", 1))
        case Self.kMmap:
            try arity("mmap", 4, 5)
            let pid = try pid("mmap", 1)
            let start = try address("mmap", 2, "start", aligned: true)
            let endValue = try number("mmap", 3, "end", max: 1 << 32)
            guard endValue & 0xFFF == 0 else {
                throw fail("mmap: end \(text(3)) is not page aligned (a multiple of 0x1000)")
            }
            guard endValue > UInt64(start) else {
                throw fail("mmap: empty or inverted region [\(text(2)), \(text(3)))")
            }
            guard endValue <= 0xC000_0000 else {
                throw fail("mmap: region [\(text(2)), \(text(3))) reaches into kernel space (0xC0000000 and above)")
            }
            let perms = try perms("mmap", 4)
            var shared: Symbol? = nil
            if ntok == 6 { shared = try sharedOption() }
            event = .mmap(pid, start: start, end: UInt32(endValue), perms: perms, shared: shared)
        case Self.kMunmap:
            try arity("munmap", 2, 2)
            event = .munmap(try pid("munmap", 1), start: try address("munmap", 2, "start", aligned: true))
        case Self.kMap:
            try arity("map", 4, 4)
            let pid = try pid("map", 1)
            let va = try address("map", 2, "virtual address", aligned: true)
            guard va < 0xFFC0_0000 else {
                throw fail("map: \(text(2)) is in the recursive page-table window (0xFFC00000 and above), which cannot be mapped")
            }
            event = .map(pid, vaddr: va, try symbol("map", 3, .handle), try perms("map", 4))
        case Self.kUnmap:
            try arity("unmap", 2, 2)
            let pid = try pid("unmap", 1)
            let va = try address("unmap", 2, "virtual address", aligned: true)
            guard va < 0xFFC0_0000 else {
                throw fail("unmap: \(text(2)) is in the recursive page-table window (0xFFC00000 and above)")
            }
            event = .unmap(pid, vaddr: va)
        case Self.kCache:
            try arity("cache", 2, 3)
            let name = try symbol("cache", 1, .cache)
            let size = try number("cache", 2, "object size", min: 1, max: 4 << 20, suffix: true)
            var align: UInt64 = 8
            if ntok == 4 {
                align = try number("cache", 3, "alignment", min: 1, max: 4096, suffix: true)
                guard align & (align - 1) == 0 else {
                    throw fail("cache: alignment \(text(3)) is not a power of two")
                }
            }
            event = .cache(name, size: UInt32(size), align: UInt32(align))
        case Self.kSalloc:
            try arity("salloc", 2, 2)
            event = .salloc(cache: try symbol("salloc", 1, .cache), object: try symbol("salloc", 2, .object))
        case Self.kSfree:
            try arity("sfree", 2, 2)
            event = .sfree(cache: try symbol("sfree", 1, .cache), object: try symbol("sfree", 2, .object))
        case Self.kKmalloc:
            try arity("kmalloc", 2, 2)
            let id = try symbol("kmalloc", 1, .object)
            let size = try number("kmalloc", 2, "size", min: 1, max: 1 << 30, suffix: true)
            event = .kmalloc(object: id, size: UInt32(size))
        case Self.kKfree:
            try arity("kfree", 1, 1)
            event = .kfree(object: try symbol("kfree", 1, .object))
        case Self.kFread:
            try arity("fread", 2, 2)
            event = .fread(file: try symbol("fread", 1, .file), page: UInt32(try number("fread", 2, "page index", max: 0xFFFF_FFFF)))
        case Self.kFwrite:
            try arity("fwrite", 2, 2)
            event = .fwrite(file: try symbol("fwrite", 1, .file), page: UInt32(try number("fwrite", 2, "page index", max: 0xFFFF_FFFF)))
        case Self.kFsync:
            try arity("fsync", 1, 1)
            event = .fsync(file: try symbol("fsync", 1, .file))
        case Self.kFdrop:
            try arity("fdrop", 1, 1)
            event = .fdrop(file: try symbol("fdrop", 1, .file))
        case Self.kMem, Self.kReserve, Self.kNodes:
            return try directive(key)
        case Self.kHeader:
            throw fail("memtrace: the header may appear only once, as the first statement")
        default:
            throw fail("unknown statement '\(text(0))'")
        }
        eventSeen = true
        return event
    }

    private func directive(_ key: UInt64) throws(TraceError) -> Event {
        let name = text(0)
        guard !eventSeen else {
            throw fail("\(name): machine directive after the first event (directives must come first)")
        }
        guard !directivesSeen.contains(name) else { throw fail("\(name): directive given twice") }
        directivesSeen.insert(name)
        try arity(name, 1, 1)
        switch key {
        case Self.kMem:
            let bytes = try number("mem", 1, "memory size", min: 4096, max: 1 << 32, suffix: true)
            guard bytes & 0xFFF == 0 else { throw fail("mem: \(text(1)) is not a multiple of 4096") }
            return .mem(bytes: bytes)
        case Self.kReserve:
            let bytes = try number("reserve", 1, "reserved size", max: 1 << 32, suffix: true)
            guard bytes & 0xFFF == 0 else { throw fail("reserve: \(text(1)) is not a multiple of 4096") }
            return .reserve(bytes: bytes)
        default:
            return .nodes(Int(try number("nodes", 1, "node count", min: 1, max: 64)))
        }
    }

    // MARK: Arguments

    @inline(__always)
    private func arity(_ stmt: String, _ minArgs: Int, _ maxArgs: Int) throws(TraceError) {
        let args = ntok - 1
        if args < minArgs {
            throw fail("\(stmt): missing argument (expected \(minArgs == maxArgs ? "\(minArgs)" : "\(minArgs) to \(maxArgs)"), got \(args)); usage: \(Self.usage[stmt] ?? stmt)")
        }
        if args > maxArgs {
            throw fail("\(stmt): unexpected extra argument '\(text(maxArgs + 1))'; usage: \(Self.usage[stmt] ?? stmt)")
        }
    }

    static let usage: [String: String] = [
        "memtrace": "memtrace 1", "mem": "mem SIZE", "reserve": "reserve SIZE", "nodes": "nodes N",
        "tick": "tick [N]", "palloc": "palloc H [N]", "pfree": "pfree H",
        "spawn": "spawn PID [node=K]", "fork": "fork PARENT CHILD", "exit": "exit PID",
        "switch": "switch PID", "mmap": "mmap PID START END PERMS [shared=ID]",
        "munmap": "munmap PID START", "r": "r PID ADDR", "w": "w PID ADDR", "x": "x PID ADDR",
        "map": "map PID VADDR H PERMS", "unmap": "unmap PID VADDR",
        "cache": "cache NAME SIZE [ALIGN]", "salloc": "salloc NAME ID", "sfree": "sfree NAME ID",
        "kmalloc": "kmalloc ID SIZE", "kfree": "kfree ID", "fread": "fread FILE PAGE",
        "fwrite": "fwrite FILE PAGE", "fsync": "fsync FILE", "fdrop": "fdrop FILE",
    ]

    @inline(__always)
    private func number(_ stmt: String, _ k: Int, _ what: String, min: UInt64 = 0, max: UInt64, suffix: Bool = false) throws(TraceError) -> UInt64 {
        let v: UInt64
        do {
            v = try NumberSyntax.parse(buffer + tokStart[k], tokLen[k], allowSuffix: suffix)
        } catch {
            switch error {
            case .notANumber: throw fail("\(stmt): bad \(what) '\(text(k))': not a decimal or 0x hexadecimal number")
            case .tooLarge: throw fail("\(stmt): \(what) '\(text(k))' is too large (more than 64 bits)")
            case .badSuffix(let c):
                if suffix {
                    throw fail("\(stmt): bad size suffix '\(String(UnicodeScalar(c)))' in '\(text(k))' (use K, M or G)")
                }
                if c == UInt8(ascii: "K") || c == UInt8(ascii: "M") || c == UInt8(ascii: "G") {
                    throw fail("\(stmt): bad \(what) '\(text(k))': size suffixes are allowed only on sizes")
                }
                throw fail("\(stmt): bad \(what) '\(text(k))': not a decimal or 0x hexadecimal number")
            }
        }
        guard v >= min && v <= max else {
            throw fail("\(stmt): \(what) \(text(k)) is out of range (\(min) to \(max))")
        }
        return v
    }

    @inline(__always)
    private func pid(_ stmt: String, _ k: Int) throws(TraceError) -> PID {
        PID(try number(stmt, k, "PID", max: UInt64(maxPID)))
    }

    @inline(__always)
    private func address(_ stmt: String, _ k: Int, _ what: String, aligned: Bool) throws(TraceError) -> UInt32 {
        let v = try number(stmt, k, what, max: 0xFFFF_FFFF)
        if aligned && v & 0xFFF != 0 {
            throw fail("\(stmt): \(what) \(text(k)) is not page aligned (a multiple of 0x1000)")
        }
        return UInt32(v)
    }

    @inline(__always)
    private func access(_ kind: AccessKind) throws(TraceError) -> Event {
        if ntok != 3 { try arity(kind.keyword, 2, 2) }
        return .access(kind, try pid(kind.keyword, 1), try address(kind.keyword, 2, "address", aligned: false))
    }

    @inline(__always)
    private func symbol(_ stmt: String, _ k: Int, _ ns: Namespace) throws(TraceError) -> Symbol {
        let p = buffer + tokStart[k]
        let n = tokLen[k]
        try checkName(stmt, k, p, n)
        return symbols.tables[ns.rawValue].intern(UnsafeRawBufferPointer(start: p, count: n))
    }

    @inline(__always)
    private func checkName(_ stmt: String, _ k: Int, _ p: UnsafePointer<UInt8>, _ n: Int) throws(TraceError) {
        guard n <= SymbolTable.maxTokenLength else {
            throw fail("\(stmt): name '\(text(k).prefix(16))…' is longer than \(SymbolTable.maxTokenLength) bytes")
        }
        for i in 0..<n {
            let c = p[i]
            let ok = (c >= 48 && c <= 58) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || c == 95 || c == 46 || c == 45
            if !ok {
                throw fail("\(stmt): bad name '\(text(k))': '\(String(UnicodeScalar(c)))' is not allowed (names use A-Z a-z 0-9 _ . : -)")
            }
        }
    }

    private func perms(_ stmt: String, _ k: Int) throws(TraceError) -> Perms {
        var perms: Perms = []
        for i in 0..<tokLen[k] {
            let c = buffer[tokStart[k] + i]
            let bit: Perms
            switch c {
            case UInt8(ascii: "r"): bit = .read
            case UInt8(ascii: "w"): bit = .write
            case UInt8(ascii: "x"): bit = .execute
            case UInt8(ascii: "-"): continue
            default: throw fail("\(stmt): bad permissions '\(text(k))': use a subset of rwx, e.g. rw")
            }
            if perms.contains(bit) { throw fail("\(stmt): bad permissions '\(text(k))': '\(String(UnicodeScalar(c)))' given twice") }
            perms.insert(bit)
        }
        return perms
    }

    /// `KEY=NUMBER` options such as `node=1`.
    private func option(_ stmt: String, _ k: Int, _ name: String, max: UInt64) throws(TraceError) -> UInt64 {
        let t = text(k)
        guard t.hasPrefix(name + "=") else {
            throw fail("\(stmt): unexpected argument '\(t)' (expected \(name)=N)")
        }
        let offset = name.utf8.count + 1
        let v: UInt64
        do {
            v = try NumberSyntax.parse(buffer + tokStart[k] + offset, tokLen[k] - offset, allowSuffix: false)
        } catch {
            throw fail("\(stmt): bad \(name) in '\(t)': not a number")
        }
        guard v <= max else { throw fail("\(stmt): \(name) \(v) is out of range (0 to \(max))") }
        return v
    }

    private func sharedOption() throws(TraceError) -> Symbol {
        let t = text(5)
        guard t.hasPrefix("shared=") else {
            throw fail("mmap: unexpected argument '\(t)' (expected shared=ID)")
        }
        let p = buffer + tokStart[5] + 7
        let n = tokLen[5] - 7
        guard n > 0 else { throw fail("mmap: shared= needs a segment ID") }
        try checkName("mmap", 5, p, n)
        return symbols.tables[Namespace.segment.rawValue].intern(UnsafeRawBufferPointer(start: p, count: n))
    }
}

/// Bytes held in memory, as a ``ByteSource`` (tests, generated traces).
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    private let chunk: Int
    public var bytesConsumed: UInt64 { UInt64(offset) }

    /// `chunk` limits each read, to exercise lines split across refills.
    public init(_ text: String, chunk: Int = .max) {
        bytes = Array(text.utf8)
        self.chunk = chunk
    }

    public init(bytes: [UInt8], chunk: Int = .max) {
        self.bytes = bytes
        self.chunk = chunk
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SourceError) -> Int {
        let n = min(buffer.count, bytes.count - offset, chunk)
        if n <= 0 { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
