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
    var buffer: UnsafeMutablePointer<UInt8> {
        @inline(always) get { input.bytes }
    }
    /// Text or memtrace-bin, known once the first bytes are read.
    var format = Format.unknown
    enum Format { case unknown, text, binary }
    private let tokStart: UnsafeMutablePointer<Int>
    private let tokLen: UnsafeMutablePointer<Int>
    private var ntok = 0
    var headerSeen = false
    /// An error found while filling a batch after some events: thrown by
    /// the next ``nextBatch(_:)``, once the events before it are replayed.
    var deferredError: TraceError? = nil
    var eventSeen = false
    /// Directives given so far, one bit per `Statement` raw value.
    var directivesSeen: UInt64 = 0
    /// The statement table, laid out for these loops.
    let rules = StatementRules.shared

    /// Line number of the statement returned last (1-based).
    public var line: Int {
        @inline(__always) get { input.line }
    }
    /// Handle and name tables, the boot-time cache names already in (see
    /// ``KmallocCaches``). A symbol whose binding a statement ends (the
    /// handle of `pfree`, the object of `sfree`/`kfree`, the file of
    /// `fdrop`) is released before a later statement can name a symbol: its
    /// name still serves the statement's own error messages, and a trace that
    /// keeps making fresh names reads in constant memory.
    public var symbols = SymbolTables.atBoot
    /// The namespace (raw value) of a symbol waiting to be released, or -1;
    /// plain integers, so the per-statement check is one compare.
    var releaseNamespace = -1
    var releaseSymbol = Symbol(0)
    /// Whether ``nextBatch(_:)`` ends a batch after a statement that ends a
    /// binding, so that the name is still bound while the model applies it.
    /// A consumer that never asks the reader's tables to word a model error
    /// (it reads the trace again for them) turns this off: a trace that frees
    /// often then still comes in full batches.
    public var batchesEndAtReleases = true
    /// memtrace-bin numbers caches in the order the file names them (see
    /// `BinaryTraceEncoder`): the symbol of each file id, and back.
    var cacheOfFileID: [Symbol] = []
    var fileIDOfCache: [Int32] = []

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

    public convenience init(path: String) throws(TraceError) {
        try self.init(path: path, zstd: ZstdLibrary.system)
    }

    /// A reader of the file at `path`, reading `.zst` through `zstd` (tests
    /// pass a library that is missing).
    init(path: String, zstd: Result<ZstdLibrary, SourceError>) throws(TraceError) {
        self.path = path
        do {
            input = InputBuffer(path: path, source: try openByteSource(path: path, zstd: zstd), capacity: Self.bufferSize)
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
                // Printable ASCII but `#`: the token goes on (one range
                // check for the common byte, the rest sorted out after).
                if c &- 0x21 < 0x5E && c != 0x23 {
                    i += 1
                    continue
                }
                if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x23 { break }
                throw fail(c >= 0x80
                    ? "non-ASCII byte 0x\(hex(c)) outside a comment"
                    : "binary data: control byte 0x\(hex(c))")
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
        // One load, the bytes after the keyword masked off; the buffer is
        // initialized, so a keyword near its end is the only exception.
        if tokStart[0] + 8 <= input.capacity {
            let word = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
            return n == 8 ? word : word & (1 << (8 * UInt64(n)) &- 1)
        }
        var key: UInt64 = 0
        for k in 0..<n { key |= UInt64(p[k]) << (8 * UInt64(k)) }
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
            if let event = try statement() {
                statements += 1
                return event
            }
        }
    }

    /// The fast path for the commonest line, `r|w|x PID ADDR`, written the
    /// plain way (single spaces, no comment): decoded straight from the bytes.
    /// Anything else — or anything wrong — returns `nil`, and the general path
    /// decodes the line and words its errors.
    @inline(__always)
    func plainAccess(_ s: Int, _ e: Int) -> Event? {
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

    private func statement() throws(TraceError) -> Event? {
        let found = rules.statement(forKey: keywordKey())
        if !headerSeen {
            guard found == .header else {
                throw fail("missing header: the first statement must be 'memtrace 1', not '\(text(0))'")
            }
            try arity(.header)
            guard tokLen[1] == 1 && buffer[tokStart[1]] == UInt8(ascii: "1") else {
                throw fail("memtrace: unsupported version '\(text(1))' (this replayer reads version 1)")
            }
            headerSeen = true
            return nil
        }
        guard let s = found else { throw fail("unknown statement '\(text(0))'") }
        if s == .header { throw fail("memtrace: the header may appear only once, as the first statement") }
        let isDirective = rules.isDirective[s.index]
        if isDirective { try directive(s) }
        try arity(s)
        var fields = FieldCursor(text: s, rules: rules.fieldRules(s))
        let event = try decode(&fields)
        if !isDirective { eventSeen = true }
        return event
    }

    /// Directives come before every event, each once; the binary reader
    /// holds its records to the same rule.
    func directive(_ s: Statement) throws(TraceError) {
        guard !eventSeen else {
            throw fail("\(s.keyword): machine directive after the first event (directives must come first)")
        }
        let bit: UInt64 = 1 << UInt64(s.index)
        guard directivesSeen & bit == 0 else { throw fail("\(s.keyword): directive given twice") }
        directivesSeen |= bit
    }

    // MARK: Arguments

    @inline(__always)
    private func arity(_ s: Statement) throws(TraceError) {
        let args = ntok - 1
        if args < Int(rules.requiredCount[s.index]) || args > Int(rules.totalCount[s.index]) { throw arityError(s) }
    }

    @inline(never)
    private func arityError(_ s: Statement) -> TraceError {
        let spec = s.spec
        let args = ntok - 1
        let (least, most) = (spec.requiredCount, spec.fields.count)
        if args < least {
            return fail("\(spec.keyword): missing argument (expected \(least == most ? "\(least)" : "\(least) to \(most)"), got \(args)); usage: \(spec.usage)")
        }
        return fail("\(spec.keyword): unexpected extra argument '\(text(most + 1))'; usage: \(spec.usage)")
    }

    // MARK: Fields (see TraceReader+Fields.swift)

    /// Whether field `k`, if optional, was given: field `k` is token `k + 1`.
    @inline(always)
    func textPresent(_ k: Int) -> Bool { k + 1 < ntok }

    /// The token of optional field `k`, or nil when it was not given; an
    /// option (`KEY=VALUE`) may stand anywhere after the positional fields.
    @inline(always)
    func textToken(_ s: Statement, _ k: Int, _ r: UnsafePointer<StatementRules.FieldRule>) throws(TraceError) -> Int? {
        if !r.pointee.isOption { return textPresent(k) ? k + 1 : nil }
        return try optionToken(s, k)
    }

    /// The token of option `k`, or nil when the statement does not give it.
    /// Reading the first option also checks every token after the
    /// positional fields: each must be one of the statement's options, once.
    @inline(never)
    func optionToken(_ s: Statement, _ k: Int) throws(TraceError) -> Int? {
        let fields = s.spec.fields
        var first = k
        while first > 0 && fields[first - 1].key != nil { first -= 1 }
        var found: Int? = nil
        var t = first + 1
        while t < ntok {
            // The option token t spells: `KEY=` compared byte by byte.
            var j = first
            while j < fields.count && !(fields[j].isFlag ? tokenEquals(t, fields[j].key!) : tokenHasKey(t, fields[j].key!)) { j += 1 }
            if j == fields.count {
                if k == first {
                    let expected = fields[first...].map { $0.isFlag ? $0.placeholder : "\($0.key!)=\($0.placeholder)" }.joined(separator: " or ")
                    throw fail("\(s.keyword): unexpected argument '\(text(t))' (expected \(expected))")
                }
            } else if j == k {
                if found != nil { throw fail("\(s.keyword): \(fields[k].key!)\(fields[k].isFlag ? "" : "=") given twice") }
                found = t
            }
            t += 1
        }
        return found
    }

    /// Whether token `t` starts with `key=`.
    @inline(__always)
    private func tokenHasKey(_ t: Int, _ key: String) -> Bool {
        let p = buffer + tokStart[t], n = tokLen[t]
        var i = 0
        for c in key.utf8 {
            if i >= n || p[i] != c { return false }
            i += 1
        }
        return i < n && p[i] == UInt8(ascii: "=")
    }
    /// Field `k` of `s`, whose rule is `r`: a number (the default when absent).
    @inline(__always)
    func textNumber(_ s: Statement, _ k: Int, _ r: UnsafePointer<StatementRules.FieldRule>) throws(TraceError) -> UInt64 {
        if r.pointee.optional && !textPresent(k) { return r.pointee.defaultValue }
        return try textNumber(s, k, r, token: k + 1)
    }

    /// Field `k` of `s`, given as token `t` (an option's `KEY=VALUE`).
    @inline(never)
    func textNumber(_ s: Statement, _ k: Int, _ r: UnsafePointer<StatementRules.FieldRule>, token t: Int) throws(TraceError) -> UInt64 {
        if r.pointee.isOption { return try optionNumber(s, k, r, token: t) }
        let v: UInt64
        do {
            v = try NumberSyntax.parse(buffer + tokStart[t], tokLen[t], allowSuffix: r.pointee.kind == .size)
        } catch {
            throw numberError(s, k, error)
        }
        return try checked(s, k, r, v, binary: false)
    }

    @inline(never)
    private func numberError(_ s: Statement, _ k: Int, _ error: NumberSyntax.Failure) -> TraceError {
        let stmt = s.keyword
        let field = s.spec.fields[k]
        let token = text(k + 1)
        switch error {
        case .notANumber: break
        case .tooLarge: return fail("\(stmt): \(field.what) '\(token)' is too large (more than 64 bits)")
        case .badSuffix(let c):
            if field.kind == .size {
                return fail("\(stmt): bad size suffix '\(String(UnicodeScalar(c)))' in '\(token)' (use K, M or G)")
            }
            if c == UInt8(ascii: "K") || c == UInt8(ascii: "M") || c == UInt8(ascii: "G") {
                return fail("\(stmt): bad \(field.what) '\(token)': size suffixes are allowed only on sizes")
            }
        }
        return fail("\(stmt): bad \(field.what) '\(token)': not a decimal or 0x hexadecimal number")
    }

    /// `KEY=NUMBER` options such as `node=1`; messages show the value, not the token.
    private func optionNumber(_ s: Statement, _ k: Int, _ r: UnsafePointer<StatementRules.FieldRule>, token t: Int) throws(TraceError) -> UInt64 {
        let field = s.spec.fields[k]
        if field.isFlag { return 1 }
        let offset = field.key!.utf8.count + 1
        let v: UInt64
        do {
            v = try NumberSyntax.parse(buffer + tokStart[t] + offset, tokLen[t] - offset, allowSuffix: false)
        } catch {
            throw fail("\(s.keyword): bad \(field.what) in '\(text(t))': not a number")
        }
        guard r.pointee.problem(v) == nil else {
            throw fail("\(s.keyword): \(field.what) \(v) is out of range (\(field.min) to \(field.max))")
        }
        return v
    }

    /// Field `k` of `s`, given as token `t` (after `KEY=` for an option): a
    /// name, interned.
    @inline(never)
    func textSymbol(_ s: Statement, _ k: Int, _ r: UnsafePointer<StatementRules.FieldRule>, token t: Int) throws(TraceError) -> Symbol {
        var p = buffer + tokStart[t]
        var n = tokLen[t]
        if r.pointee.isOption {
            let field = s.spec.fields[k]
            let offset = field.key!.utf8.count + 1
            p += offset
            n -= offset
            guard n > 0 else { throw fail("\(s.keyword): \(field.key!)= needs a \(field.namespace) \(field.placeholder)") }
        }
        guard n <= SymbolTable.maxTokenLength else {
            throw fail("\(s.keyword): name '\(text(t).prefix(16))…' is longer than \(SymbolTable.maxTokenLength) bytes")
        }
        for i in 0..<n where !isNameByte(p[i]) {
            throw fail("\(s.keyword): bad name '\(text(t))': '\(String(UnicodeScalar(p[i])))' is not allowed (names use A-Z a-z 0-9 _ . : -)")
        }
        return symbols.tables[r.pointee.table].intern(UnsafeRawBufferPointer(start: p, count: n))
    }

    /// Field `k`, a migrate type's word among those rule `r` allows.
    @inline(never)
    func textMigrateType(_ s: Statement, _ k: Int, _ r: UnsafePointer<StatementRules.FieldRule>) throws(TraceError) -> UInt64 {
        let t = k + 1
        var v = r.pointee.min
        while v <= r.pointee.max {
            if tokenEquals(t, MigrateType(rawValue: UInt8(v))!.keyword) { return v }
            v += 1
        }
        let words = (r.pointee.min...r.pointee.max).map { MigrateType(rawValue: UInt8($0))!.keyword }
        throw fail("\(s.keyword): bad migrate type '\(text(t))': use \(words.dropLast().joined(separator: ", ")) or \(words.last!)")
    }

    /// Whether token `t` is exactly `word`.
    private func tokenEquals(_ t: Int, _ word: String) -> Bool {
        let p = buffer + tokStart[t], n = tokLen[t]
        var i = 0
        for c in word.utf8 {
            if i >= n || p[i] != c { return false }
            i += 1
        }
        return i == n
    }

    /// Field `k` of `s`: permissions.
    @inline(never)
    func textPerms(_ s: Statement, _ k: Int) throws(TraceError) -> Perms {
        let t = k + 1
        var perms: Perms = []
        for i in 0..<tokLen[t] {
            let c = buffer[tokStart[t] + i]
            let bit: Perms
            switch c {
            case UInt8(ascii: "r"): bit = .read
            case UInt8(ascii: "w"): bit = .write
            case UInt8(ascii: "x"): bit = .execute
            case UInt8(ascii: "-"): continue
            default: throw fail("\(s.keyword): bad permissions '\(text(t))': use a subset of rwx, e.g. rw")
            }
            if perms.contains(bit) { throw fail("\(s.keyword): bad permissions '\(text(t))': '\(String(UnicodeScalar(c)))' given twice") }
            perms.insert(bit)
        }
        return perms
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
