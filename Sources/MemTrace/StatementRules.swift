/// The statement table compiled to flat integer arrays for the per-statement
/// paths of the readers.
///
/// ``Statement/table`` is written for people: strings, arrays, optionals.
/// The readers consult it once per field, tens of millions of times a
/// second, so it is laid out once here as plain integers behind pointers
/// that live as long as the process: a keyword lookup of one multiply and
/// usually one compare, op → statement, and per field its kind, range and
/// checks. Messages, which are rare, read the table itself.
///
/// `@unchecked Sendable`: the arrays are written once, in `init`, and only
/// read after that, from any thread.
struct StatementRules: @unchecked Sendable {
    /// One field, as the readers check it.
    struct FieldRule {
        var kind: Field.Kind
        var rule: Field.Rule
        /// A symbol's namespace, as the index of its table.
        var table: Int
        var optional: Bool
        /// Optional with a default: written in a record with the bare op too.
        var defaulted: Bool
        /// Written `KEY=VALUE` in text.
        var isOption: Bool
        /// Written as the bare word `KEY` in text (``Field/isFlag``).
        var isFlag: Bool
        var releases: Bool
        var min: UInt64
        var max: UInt64
        /// The value of an absent optional field.
        var defaultValue: UInt64

        /// What is wrong with `v` for this field, if anything.
        func problem(_ v: UInt64) -> Problem? {
            if v < min || v > max { return .range }
            switch rule {
            case .none: return nil
            case .pageAligned: return v & 0xFFF == 0 ? nil : .pageAligned
            case .pageMultiple: return v & 0xFFF == 0 ? nil : .pageMultiple
            case .powerOfTwo: return v & (v &- 1) == 0 ? nil : .powerOfTwo
            }
        }
    }

    enum Problem { case range, pageAligned, pageMultiple, powerOfTwo }

    /// Per statement: index of its first rule in `rules`.
    let firstRule: UnsafePointer<Int32>
    let rules: UnsafePointer<FieldRule>
    /// Per statement: fields that must be given, and fields in all.
    let requiredCount: UnsafePointer<Int8>
    let totalCount: UnsafePointer<Int8>
    let isDirective: UnsafePointer<Bool>
    /// Per statement: whether optional fields under its op are written value + 1.
    let plusOne: UnsafePointer<Bool>
    /// Per statement: its op and bare op (-1: none).
    let op: UnsafePointer<Int32>
    let bareOp: UnsafePointer<Int32>
    /// Per op below `opLimit`: its statement.
    let statementOfOp: UnsafePointer<Statement?>
    static let opLimit = 256
    /// Open-addressed: keyword packed as in `TraceReader.keywordKey` → statement.
    let keywordKeys: UnsafePointer<UInt64>
    let keywordStatements: UnsafePointer<Statement?>
    static let keywordSlots = 64

    static let shared = StatementRules()

    private init() {
        let table = Statement.table
        let n = table.count
        precondition(table.map(\.statement) == Statement.allCases, "Statement.table rows must follow Statement's order")
        let firstRule = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        let requiredCount = UnsafeMutablePointer<Int8>.allocate(capacity: n)
        let totalCount = UnsafeMutablePointer<Int8>.allocate(capacity: n)
        let isDirective = UnsafeMutablePointer<Bool>.allocate(capacity: n)
        let op = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        let bareOp = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        let plusOne = UnsafeMutablePointer<Bool>.allocate(capacity: n)
        let rules = UnsafeMutablePointer<FieldRule>.allocate(capacity: table.reduce(0) { $0 + $1.fields.count })
        let statementOfOp = UnsafeMutablePointer<Statement?>.allocate(capacity: Self.opLimit)
        statementOfOp.initialize(repeating: nil, count: Self.opLimit)
        let keywordKeys = UnsafeMutablePointer<UInt64>.allocate(capacity: Self.keywordSlots)
        keywordKeys.initialize(repeating: 0, count: Self.keywordSlots)
        let keywordStatements = UnsafeMutablePointer<Statement?>.allocate(capacity: Self.keywordSlots)
        keywordStatements.initialize(repeating: nil, count: Self.keywordSlots)

        var r = 0
        for (s, spec) in table.enumerated() {
            firstRule[s] = Int32(r)
            requiredCount[s] = Int8(spec.requiredCount)
            totalCount[s] = Int8(spec.fields.count)
            isDirective[s] = spec.isDirective
            precondition(spec.fields.drop { $0.presence == .required }.allSatisfy { $0.presence != .required },
                         "\(spec.keyword): optional fields must come last")
            precondition(spec.bareOp == nil || spec.fields.drop { $0.presence != .optional || $0.kind == .symbol }.allSatisfy { $0.kind != .symbol },
                         "\(spec.keyword): a bare op stands for the optional numbers, after any optional symbol, left out")
            precondition(spec.fields.allSatisfy { $0.key == nil || $0.presence == .optional },
                         "\(spec.keyword): an option (KEY=VALUE) is optional without a default")
            plusOne[s] = spec.bareOp == nil || spec.fields.count { $0.presence == .optional } > 1
            for f in spec.fields {
                var d: UInt64 = 0
                var defaulted = false
                if case .defaulted(let v) = f.presence { d = v; defaulted = true }
                (rules + r).initialize(to: FieldRule(
                    kind: f.kind, rule: f.rule, table: f.namespace.rawValue, optional: f.presence != .required, defaulted: defaulted,
                    isOption: f.key != nil, isFlag: f.isFlag, releases: f.releases, min: f.min, max: f.max, defaultValue: d))
                r += 1
            }
            op[s] = Int32(spec.op ?? -1)
            bareOp[s] = Int32(spec.bareOp ?? -1)
            for o in [spec.op, spec.bareOp].compactMap({ $0 }) {
                precondition(o != BinaryTrace.nameOp && o != BinaryTrace.escapeOp && o < Self.opLimit && statementOfOp[o] == nil,
                             "\(spec.keyword): op \(o) is reserved or taken")
                statementOfOp[o] = spec.statement
            }
            let key = Self.key(spec.keyword)
            precondition(key != 0, "\(spec.keyword): keywords are 1 to 8 bytes")
            var slot = Self.slot(key)
            while keywordKeys[slot] != 0 { slot = (slot + 1) & (Self.keywordSlots - 1) }
            keywordKeys[slot] = key
            keywordStatements[slot] = spec.statement
        }
        self.plusOne = UnsafePointer(plusOne)
        (self.firstRule, self.requiredCount, self.totalCount, self.isDirective, self.op, self.bareOp) =
            (UnsafePointer(firstRule), UnsafePointer(requiredCount), UnsafePointer(totalCount), UnsafePointer(isDirective),
             UnsafePointer(op), UnsafePointer(bareOp))
        (self.rules, self.statementOfOp, self.keywordKeys, self.keywordStatements) =
            (UnsafePointer(rules), UnsafePointer(statementOfOp), UnsafePointer(keywordKeys), UnsafePointer(keywordStatements))
    }

    /// Asserts what `Statement.index` relies on.
    static func checkIndexes() -> Bool { Statement.allCases.allSatisfy { $0.index == $0.rawValue } }

    /// A keyword packed little-endian into 64 bits (0 if longer than 8 bytes).
    static func key(_ keyword: String) -> UInt64 {
        let bytes = Array(keyword.utf8)
        guard !bytes.isEmpty && bytes.count <= 8 else { return 0 }
        return bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    @inline(always)
    static func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 58) }

    /// The statement whose packed keyword is `key`.
    @inline(always)
    func statement(forKey key: UInt64) -> Statement? {
        var slot = Self.slot(key)
        while true {
            let k = keywordKeys[slot]
            if k == key { return keywordStatements[slot] }
            if k == 0 { return nil }
            slot = (slot + 1) & (Self.keywordSlots - 1)
        }
    }

    /// The statement of a memtrace-bin op.
    @inline(always)
    func statement(forOp op: Int) -> Statement? {
        guard op >= 0 && op < Self.opLimit else { return nil }
        return statementOfOp[op]
    }

    @inline(always)
    func fieldRules(_ s: Statement) -> UnsafePointer<FieldRule> { rules + Int(firstRule[s.index]) }

}
