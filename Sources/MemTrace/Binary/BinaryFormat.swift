/// memtrace-bin v1: the same statements as memtrace v1 text, pre-decoded.
///
/// A replay of an access-heavy text trace spends more time splitting and
/// decoding text than in the model; `memreplay convert` writes this encoding
/// once, and every later replay reads it without tokenizing or hashing names.
///
/// Layout: the 8-byte magic `MTRACEB1`, then one record per statement:
///
///     | op byte: step 3 | kind 5 | [step: LEB128] | [kind: LEB128] | fields: LEB128 … |
///
/// The step is the line delta from the previous record: 1...7 in the op
/// byte, or 0 there and LEB128 after it. The kind is the statement's op in
/// ``Statement/table`` (0 is a `name` record). 31 is the escape: the op
/// byte holds it for kinds 31 and up, which follow the step as LEB128, so
/// the format is not capped at the 5 bits' 32 kinds (a reader takes any
/// kind written so). The fields follow in text order, each as unsigned
/// LEB128, encoded as the table declares them (see ``BinaryTraceEncoder``).
///
/// Names travel once: a `name` record gives the text of a symbol id before
/// its first use (again after the id is released and reused), so ids decode
/// to exactly what the text reader interns. Line numbers are those of the
/// text, so errors point at the statement in the original trace.
public enum BinaryTrace {
    public static let magic: [UInt8] = Array("MTRACEB1".utf8)
    /// The kind of a `name` record.
    static let nameOp = 0
    /// The op-byte kind that says the real kind follows as LEB128.
    static let escapeOp = 31
    /// No record is longer than this: a name record with a 64-byte name and
    /// every number padded to 10 bytes, an escaped kind included, is 115.
    static let maxRecord = 128

    /// Encodes every statement `reader` has left; returns the bytes written.
    /// A bad statement throws the reader's ``TraceError``.
    public static func convert(_ reader: TraceReader, to out: TraceWriter) throws -> Int {
        let encoder = try BinaryTraceEncoder(out)
        while let e = try reader.next() {
            try encoder.write(e, line: reader.line, names: reader.symbols)
        }
        try encoder.flush()
        return encoder.bytesWritten
    }
}

/// Writes events as memtrace-bin v1.
///
/// Field encodings, from each field's row in ``Statement/table``: numbers,
/// and optional fields with a default, as their value; permissions as a bit
/// mask (r 1, w 2, x 4); symbols as their id; an optional field without a
/// default as value + 1, 0 meaning absent — except in a statement with a
/// bare op (`tick`), which is written with the bare op and nothing when the
/// field is absent, and with its op and the field as it is otherwise.
public final class BinaryTraceEncoder: FieldSink {
    private let out: TraceWriter
    private var lastLine = 0
    /// Per namespace: whether the current name of each id has been written.
    private var announced = Array(repeating: [Bool](), count: Namespace.allCases.count)
    /// Cache ids as the file numbers them: in the order the file names them.
    /// The reader holds the boot-time cache names from the start, so its
    /// ids run ahead of the file's; caches are never released, so the file
    /// needs no reuse rule for them.
    private var cacheFileID: [Int32] = []
    private var cacheFileCount: Int32 = 0
    private let rules = StatementRules.shared

    // The record being assembled.
    private enum Value {
        case plain(UInt64)
        /// A symbol, written as its file id (+ 1 for an optional field).
        case symbol(Namespace, Symbol, plusOne: Bool)
    }
    private var statement = Statement.header
    private var values: [Value] = []
    private var bare = false
    /// Optional fields written value + 1 in this record, and whether any is present.
    private var optionalCount = 0
    private var optionalPresent = false
    /// The symbol whose binding the statement ends.
    private var release: (Namespace, Symbol)? = nil

    public init(_ out: TraceWriter) throws(SourceError) {
        self.out = out
        for b in BinaryTrace.magic { try out.byte(b) }
    }

    /// Bytes written so far.
    public var bytesWritten: Int { out.bytesWritten }

    /// Encodes `event`, read from text line `line`; `names` are the reader's
    /// symbol tables as they were when it returned the event. Symbols the
    /// file has not named yet get their `name` records first.
    public func write(_ event: Event, line: Int, names: SymbolTables) throws(SourceError) {
        values.removeAll(keepingCapacity: true)
        bare = false
        optionalCount = 0
        optionalPresent = false
        release = nil
        var sink = self
        event.encode(to: &sink)
        for case let .symbol(ns, s, _) in values where !isAnnounced(ns, s) {
            try record(BinaryTrace.nameOp, line: line)
            try out.byte(UInt8(ns.rawValue))
            try varint(UInt64(fileID(ns, s, naming: true)))
            let text = Array(names.name(ns, s).utf8)
            try out.byte(UInt8(text.count))
            for b in text { try out.byte(b) }
            announced[ns.rawValue][s.index] = true
        }
        let s = statement.index
        if rules.bareOp[s] >= 0 && optionalCount > 0 && !optionalPresent {
            // Every option absent: the bare op, without them.
            bare = true
            values.removeLast(optionalCount)
        }
        try record(Int(bare ? rules.bareOp[s] : rules.op[s]), line: line)
        for v in values {
            switch v {
            case .plain(let x): try varint(x)
            case let .symbol(ns, s, plusOne): try varint(UInt64(fileID(ns, s, naming: false)) + (plusOne ? 1 : 0))
            }
        }
        // The reader releases it before the next statement: its id may come
        // back with another name, which must be written then.
        if let (ns, s) = release { announced[ns.rawValue][s.index] = false }
    }

    public func flush() throws(SourceError) { try out.flush() }

    // MARK: FieldSink

    func begin(_ statement: Statement) { self.statement = statement }

    func number(_ value: UInt64) { values.append(.plain(value)) }

    func optionalNumber(_ value: UInt64?) {
        if !rules.plusOne[statement.index] {
            if let value { values.append(.plain(value)) } else { bare = true }
        } else {
            values.append(.plain(value.map { $0 + 1 } ?? 0))
            optionalCount += 1
            if value != nil { optionalPresent = true }
        }
    }

    func symbol(_ symbol: Symbol) { add(symbol, plusOne: false) }

    func optionalSymbol(_ symbol: Symbol?) {
        if let symbol { add(symbol, plusOne: true) } else { values.append(.plain(0)) }
    }

    func perms(_ perms: Perms) { values.append(.plain(UInt64(perms.rawValue))) }

    private func add(_ symbol: Symbol, plusOne: Bool) {
        let rule = rules.fieldRules(statement)[values.count]
        let ns = Namespace(rawValue: rule.table)!
        values.append(.symbol(ns, symbol, plusOne: plusOne))
        if rule.releases { release = (ns, symbol) }
    }

    // MARK: Writing

    private func isAnnounced(_ ns: Namespace, _ s: Symbol) -> Bool {
        let i = ns.rawValue
        if s.index >= announced[i].count {
            announced[i].append(contentsOf: repeatElement(false, count: s.index + 1 - announced[i].count))
        }
        return announced[i][s.index]
    }

    /// The id the file gives `s`: the reader's id, except for caches.
    private func fileID(_ ns: Namespace, _ s: Symbol, naming: Bool) -> Int32 {
        guard ns == .cache else { return s.raw }
        if s.index >= cacheFileID.count {
            cacheFileID.append(contentsOf: repeatElement(-1, count: s.index + 1 - cacheFileID.count))
        }
        if cacheFileID[s.index] < 0 && naming {
            cacheFileID[s.index] = cacheFileCount
            cacheFileCount += 1
        }
        return cacheFileID[s.index]
    }

    /// Writes a record's op byte, line step and escaped kind: what comes
    /// before the fields of a record of kind `op` at text line `line`.
    func record(_ op: Int, line: Int) throws(SourceError) {
        let delta = line - lastLine
        lastLine = line
        let inByte = delta >= 1 && delta <= 7
        try out.byte(UInt8(min(op, BinaryTrace.escapeOp)) | (inByte ? UInt8(delta) << 5 : 0))
        if !inByte { try varint(UInt64(max(delta, 0))) }
        if op >= BinaryTrace.escapeOp { try varint(UInt64(op)) }
    }

    @inline(__always)
    private func varint(_ v: UInt64) throws(SourceError) {
        var x = v
        while x >= 0x80 {
            try out.byte(UInt8(x & 0x7F) | 0x80)
            x >>= 7
        }
        try out.byte(UInt8(x))
    }
}
