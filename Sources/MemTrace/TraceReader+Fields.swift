/// Reading a statement's fields in table order, from text tokens or from a
/// memtrace-bin record.
///
/// `TraceReader.decode` asks for the fields one after the other; each is
/// checked against its rule — kind, range, alignment — from the compiled
/// statement table. The two formats differ only in where a field's value
/// comes from and how errors show it, so one cursor serves both, and
/// `decode` is compiled twice: into the text reader's `statement()` and into
/// `decodeBinary`. In each the cursor never leaves the function (the text
/// helpers take plain values), so its `binary` flag is a known constant and
/// the other format's branches fold away. Both stay out of the readers'
/// per-line loops, which keeps those small enough for the optimizer to
/// inline everything in them.
struct FieldCursor {
    let statement: Statement
    /// The statement's field rules; `k` is the field being read.
    let rules: UnsafePointer<StatementRules.FieldRule>
    var k = 0
    let binary: Bool
    /// Binary: the position in the buffer.
    var i = 0
    /// Binary: the record has the statement's bare op, so its optional field is absent.
    var bare = false
    /// Binary: optional fields are written value + 1, 0 meaning absent.
    var plusOne = true

    /// The fields of a text statement: field `k` is token `k + 1`.
    @inline(always)
    init(text statement: Statement, rules: UnsafePointer<StatementRules.FieldRule>) {
        self.statement = statement
        self.rules = rules
        binary = false
    }

    /// The fields of a memtrace-bin record, from position `i`.
    @inline(always)
    init(binary statement: Statement, rules: UnsafePointer<StatementRules.FieldRule>, at i: Int, bare: Bool, plusOne: Bool) {
        self.statement = statement
        self.rules = rules
        binary = true
        self.i = i
        self.bare = bare
        self.plusOne = plusOne
    }

    /// The rule of the field being read.
    var rule: UnsafePointer<StatementRules.FieldRule> {
        @inline(always) get { rules + k }
    }
}

extension TraceReader {
    /// The event of a memtrace-bin record whose fields start at `i`; `i`
    /// ends after them.
    @inline(always)
    func decodeBinary(_ s: Statement, at i: inout Int, bare: Bool) throws(TraceError) -> Event {
        var f = FieldCursor(binary: s, rules: rules.fieldRules(s), at: i, bare: bare, plusOne: rules.plusOne[s.index])
        let event = try decode(&f)
        i = f.i
        return event
    }

    /// The next field, a number: required, or optional with a default,
    /// which it is when absent.
    @inline(always)
    func number(_ f: inout FieldCursor) throws(TraceError) -> UInt64 {
        let v = f.binary ? try binaryNumber(&f) : try textNumber(f.statement, f.k, f.rule)
        f.k += 1
        return v
    }

    /// The next field, an optional number without a default.
    @inline(always)
    func optionalNumber(_ f: inout FieldCursor) throws(TraceError) -> UInt64? {
        var v: UInt64? = nil
        if f.binary {
            v = try binaryOptionalNumber(&f)
        } else if let t = try textToken(f.statement, f.k, f.rule) {
            v = try textNumber(f.statement, f.k, f.rule, token: t)
        }
        f.k += 1
        return v
    }

    @inline(always)
    func symbol(_ f: inout FieldCursor) throws(TraceError) -> Symbol {
        let r = f.rule
        let s = f.binary ? try liveSymbol(try varint(&f.i), r.pointee.table) : try textSymbol(f.statement, f.k, r, token: f.k + 1)
        if r.pointee.releases {
            // Released before the next statement: the id serves this
            // statement's messages, then goes back to the table.
            releaseNamespace = r.pointee.table
            releaseSymbol = s
        }
        f.k += 1
        return s
    }

    @inline(always)
    func optionalSymbol(_ f: inout FieldCursor) throws(TraceError) -> Symbol? {
        var s: Symbol? = nil
        if f.binary {
            let v = try varint(&f.i)
            if v > 0 { s = try liveSymbol(v - 1, f.rule.pointee.table) }
        } else if let t = try textToken(f.statement, f.k, f.rule) {
            s = try textSymbol(f.statement, f.k, f.rule, token: t)
        }
        f.k += 1
        return s
    }

    /// The next field, an optional migrate type (a number in binary).
    @inline(always)
    func optionalMigrateType(_ f: inout FieldCursor) throws(TraceError) -> MigrateType? {
        var v: UInt64? = nil
        if f.binary {
            v = try binaryOptionalNumber(&f)
        } else if textPresent(f.k) {
            v = try textMigrateType(f.statement, f.k, f.rule)
        }
        f.k += 1
        return v.map { MigrateType(rawValue: UInt8(truncatingIfNeeded: $0))! }
    }

    @inline(always)
    func perms(_ f: inout FieldCursor) throws(TraceError) -> Perms {
        let p = f.binary ? Perms(rawValue: UInt8(truncatingIfNeeded: try binaryNumber(&f))) : try textPerms(f.statement, f.k)
        f.k += 1
        return p
    }

    /// Field `k` of the statement, whose value is `value`, as the trace gave
    /// it: the token in text, the number (addresses in hexadecimal) in binary.
    func spelling(_ f: FieldCursor, _ k: Int, _ value: UInt64) -> String {
        spelling(f.statement, k, value, binary: f.binary)
    }

    func spelling(_ s: Statement, _ k: Int, _ value: UInt64, binary: Bool) -> String {
        guard binary else { return text(k + 1) }
        return s.spec.fields[k].kind == .address ? "0x" + String(value, radix: 16, uppercase: true) : "\(value)"
    }

    /// A rule of the statement broken: `KEYWORD: message`, at its line.
    func failure(_ f: FieldCursor, _ message: String) -> TraceError {
        failure(f.statement, message, binary: f.binary)
    }

    func failure(_ s: Statement, _ message: String, binary: Bool) -> TraceError {
        let text = "\(s.keyword): \(message)"
        return binary ? corrupt(text) : fail(text)
    }

    /// `v`, field `k` of `s`, checked against its range and rule `r`.
    @inline(always)
    func checked(_ s: Statement, _ k: Int, _ r: UnsafePointer<StatementRules.FieldRule>, _ v: UInt64, binary: Bool) throws(TraceError) -> UInt64 {
        guard v >= r.pointee.min && v <= r.pointee.max && r.pointee.rule == .none else {
            if let problem = r.pointee.problem(v) { throw fieldError(s, k, v, problem, binary: binary) }
            return v
        }
        return v
    }

    /// Field `k` of `s`, whose value is `v`, broke its rule.
    @inline(never)
    private func fieldError(_ s: Statement, _ k: Int, _ v: UInt64, _ problem: StatementRules.Problem, binary: Bool) -> TraceError {
        let field = s.spec.fields[k]
        let shown = spelling(s, k, v, binary: binary)
        switch problem {
        case .range: return failure(s, "\(field.what) \(shown) is out of range (\(field.min) to \(field.max))", binary: binary)
        case .pageAligned: return failure(s, "\(field.what) \(shown) is not page aligned (a multiple of 0x1000)", binary: binary)
        case .pageMultiple: return failure(s, "\(shown) is not a multiple of 4096", binary: binary)
        case .powerOfTwo: return failure(s, "\(field.what) \(shown) is not a power of two", binary: binary)
        }
    }
}
