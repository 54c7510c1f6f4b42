/// The statements of memtrace v1, declared once.
///
/// `Statement.table` says, for every statement, its keyword, its fields in
/// text order (what each is, its range, whether it may be left out) and its
/// memtrace-bin op. The rest follows from it: the text reader's keyword
/// lookup, arity checks, range checks and usage messages; the binary
/// encoder's and reader's ops and field encodings; `validate`'s list; and the
/// README's statement table (a test keeps that in step).
///
/// Adding a statement is: a case here and its row in the table, an `Event`
/// case, its two arms in `Statement+Event.swift` (fields → event, event →
/// fields), and what the model does with it. Neither reader changes.
public enum Statement: Int, CaseIterable, Sendable {
    case header, mem, reserve, nodes, tick, palloc, pfree, spawn, fork, exit, switchTo, mmap, munmap,
         read, write, execute, map, unmap, cache, salloc, sfree, kmalloc, kfree, fread, fwrite, fsync, fdrop
}

/// One field of a statement.
public struct Field: Sendable {
    public enum Kind: UInt8, Sendable {
        /// The header's version number (`1`).
        case version
        /// A decimal or `0x` hexadecimal number.
        case number
        /// A number that may end in `K`, `M` or `G` (powers of 1024).
        case size
        /// A number that is an address: messages about a binary trace show it in hexadecimal.
        case address
        /// A name of `[A-Za-z0-9_.:-]`, at most 64 bytes, interned in `namespace`.
        case symbol
        /// A subset of `rwx` (`-` stands for nothing).
        case perms
        /// `unmovable`, `reclaimable` or `movable` (``MigrateType``), those
        /// of `min...max`; binary writes the type's number.
        case migrateType
    }

    /// Whether a field may be left out. Optional fields come last.
    public enum Presence: Equatable, Sendable {
        case required
        /// Absent means absent (`tick`'s N, `node=`, `shared=`).
        case optional
        /// Absent means this value (`palloc`'s N, `cache`'s ALIGN).
        case defaulted(UInt64)
    }

    /// A check beyond the range.
    public enum Rule: UInt8, Sendable {
        case none
        /// A multiple of 0x1000, said as an address: "is not page aligned".
        case pageAligned
        /// A multiple of 4096, said as a size: "is not a multiple of 4096".
        case pageMultiple
        case powerOfTwo
    }

    /// How usage messages show the field (`PID`, `H`).
    public var placeholder: String
    /// The field in messages ("frame count").
    public var what: String
    public var kind: Kind
    public var namespace: Namespace = .handle
    public var min: UInt64 = 0
    public var max: UInt64 = 0
    public var presence: Presence = .required
    public var rule: Rule = .none
    /// For an option written `KEY=VALUE` (`node=1`, `shared=seg`).
    public var key: String? = nil
    /// The statement ends the binding of this symbol (a freed handle or
    /// object, a dropped file): the reader recycles its id after the statement.
    public var releases = false
    /// An option written as the bare word `key` (`huge`): 1 when given.
    public var isFlag = false

    // MARK: The fields statements share

    public static var pid: Field { Field(placeholder: "PID", what: "PID", kind: .number, max: UInt64(maxPID)) }
    public static var handle: Field { .symbol("H", .handle) }
    public static var object: Field { .symbol("ID", .object) }
    public static var file: Field { .symbol("FILE", .file) }
    public static var perms: Field { Field(placeholder: "PERMS", what: "permissions", kind: .perms, max: 7) }
    /// `site=ADDR` on `kmalloc`/`salloc`: the caller's address (ftrace's
    /// `call_site`), 0 for unknown.
    static var site: Field { Field.number("ADDR", "call site", 0...0xFFFF_FFFF_FFFF_FFFE).option("site") }
    /// `alloc=BYTES` on `kmalloc`/`salloc`: the bytes the recording kernel's
    /// allocator gave (ftrace's `bytes_alloc`), for `replay --check`.
    static var allocated: Field { Field.number("BYTES", "allocated size", 1...1 << 31).option("alloc") }
    /// A frame allocation's migrate type, `unmovable` up to `last`.
    static func migrateType(upTo last: MigrateType) -> Field {
        Field(placeholder: "TYPE", what: "migrate type", kind: .migrateType, max: UInt64(last.rawValue), presence: .optional)
    }

    public static func number(_ placeholder: String, _ what: String, _ range: ClosedRange<UInt64>, _ rule: Rule = .none) -> Field {
        Field(placeholder: placeholder, what: what, kind: .number, min: range.lowerBound, max: range.upperBound, rule: rule)
    }

    public static func size(_ placeholder: String, _ what: String, _ range: ClosedRange<UInt64>, _ rule: Rule = .none) -> Field {
        Field(placeholder: placeholder, what: what, kind: .size, min: range.lowerBound, max: range.upperBound, rule: rule)
    }

    public static func address(_ placeholder: String, _ what: String, _ rule: Rule = .none, max: UInt64 = 0xFFFF_FFFF) -> Field {
        Field(placeholder: placeholder, what: what, kind: .address, max: max, rule: rule)
    }

    public static func symbol(_ placeholder: String, _ namespace: Namespace) -> Field {
        Field(placeholder: placeholder, what: "name", kind: .symbol, namespace: namespace, max: UInt64(Int32.max))
    }

    /// The field, optional: absent means absent.
    public var optional: Field { with { $0.presence = .optional } }
    /// The field, optional: absent means `value`.
    public func defaulting(_ value: UInt64) -> Field { with { $0.presence = .defaulted(value) } }
    /// A flag: the bare word `key` (`huge`), read as 1 when given.
    public static func flag(_ key: String, _ what: String) -> Field {
        Field(placeholder: key, what: what, kind: .number, min: 1, max: 1).option(key).with { $0.isFlag = true }
    }

    /// The field, optional and written `key=VALUE`.
    public func option(_ key: String) -> Field { with { $0.presence = .optional; $0.key = key } }
    /// The field, shown in usage as `placeholder`.
    public func named(_ placeholder: String) -> Field { with { $0.placeholder = placeholder } }
    /// The field, as the symbol whose binding the statement ends.
    public var released: Field { with { $0.releases = true } }

    private func with(_ change: (inout Field) -> Void) -> Field {
        var f = self
        change(&f)
        return f
    }

    /// How usage shows the field: `N`, `[N]`, `[node=K]`.
    public var usage: String {
        let text = isFlag ? placeholder : key.map { "\($0)=\(placeholder)" } ?? placeholder
        return presence == .required ? text : "[\(text)]"
    }
}

/// A statement's row in the table.
public struct StatementSpec: Sendable {
    public var statement: Statement
    public var keyword: String
    /// Fields in text order; the optional ones last.
    public var fields: [Field]
    /// The memtrace-bin op; nil for the header, which the magic replaces.
    public var op: Int?
    /// An op that stands for the statement with its optional fields left
    /// out (`tick` without N, `kmalloc` without options). Under `op` a single
    /// optional field is then written as it is (`tick`); several, and those
    /// of a statement without a bare op, are written as value + 1, 0
    /// meaning absent.
    public var bareOp: Int?
    /// A machine directive: it comes before every event, and once.
    public var isDirective: Bool

    init(_ statement: Statement, _ keyword: String, op: Int?, bareOp: Int? = nil, directive: Bool = false, _ fields: [Field]) {
        self.statement = statement
        self.keyword = keyword
        self.op = op
        self.bareOp = bareOp
        self.isDirective = directive
        self.fields = fields
    }

    /// Fields that must be given.
    public var requiredCount: Int { fields.count { $0.presence == .required } }

    /// `palloc H [N]`.
    public var usage: String { ([keyword] + fields.map(\.usage)).joined(separator: " ") }
}

extension Statement {
    /// The table. Rows are in `Statement` order, which is the order the
    /// format lists the statements in. Binary ops are fixed by files already
    /// written: a new statement takes a free op (28–30), then ops from 32 on,
    /// which the encoding writes behind the escape op (see ``BinaryTrace``).
    public static let table: [StatementSpec] = [
        StatementSpec(.header, "memtrace", op: nil, [Field(placeholder: "1", what: "version", kind: .version, min: 1, max: 1)]),
        StatementSpec(.mem, "mem", op: 25, directive: true, [.size("SIZE", "memory size", 4096...1 << 32, .pageMultiple)]),
        StatementSpec(.reserve, "reserve", op: 26, directive: true, [.size("SIZE", "reserved size", 0...1 << 32, .pageMultiple)]),
        StatementSpec(.nodes, "nodes", op: 27, directive: true, [.number("N", "node count", 1...64)]),
        StatementSpec(.tick, "tick", op: 5, bareOp: 4, [.number("N", "tick number", 0...1 << 62).optional]),
        // The first release wrote palloc without a migrate type under op 6.
        StatementSpec(.palloc, "palloc", op: 30, bareOp: 6, [
            .handle, .number("N", "frame count", 1...1 << 20).defaulting(1), .migrateType(upTo: .movable),
        ]),
        StatementSpec(.pfree, "pfree", op: 7, [Field.handle.released]),
        StatementSpec(.spawn, "spawn", op: 8, [.pid, Field.number("K", "node", 0...63).option("node")]),
        StatementSpec(.fork, "fork", op: 9, [Field.pid.named("PARENT"), Field.pid.named("CHILD")]),
        StatementSpec(.exit, "exit", op: 10, [.pid]),
        StatementSpec(.switchTo, "switch", op: 11, [.pid]),
        // The first release wrote mmap without huge under op 12.
        StatementSpec(.mmap, "mmap", op: 33, bareOp: 12, [
            .pid, .address("START", "start", .pageAligned), .address("END", "end", .pageAligned, max: 1 << 32),
            .perms, Field.symbol("ID", .segment).option("shared"), .flag("huge", "4 MiB pages"),
        ]),
        StatementSpec(.munmap, "munmap", op: 13, [.pid, .address("START", "start", .pageAligned)]),
        StatementSpec(.read, "r", op: 1, [.pid, .address("ADDR", "address")]),
        StatementSpec(.write, "w", op: 2, [.pid, .address("ADDR", "address")]),
        StatementSpec(.execute, "x", op: 3, [.pid, .address("ADDR", "address")]),
        StatementSpec(.map, "map", op: 14, [.pid, .address("VADDR", "virtual address", .pageAligned), .handle, .perms]),
        StatementSpec(.unmap, "unmap", op: 15, [.pid, .address("VADDR", "virtual address", .pageAligned)]),
        // The first release wrote cache without a migrate type under op 16.
        StatementSpec(.cache, "cache", op: 32, bareOp: 16, [
            .symbol("NAME", .cache), .size("SIZE", "object size", 1...4 << 20),
            Field.size("ALIGN", "alignment", 1...4096, .powerOfTwo).defaulting(8), .migrateType(upTo: .reclaimable),
        ]),
        // The first release wrote salloc and kmalloc without options under
        // ops 17 and 19: those are now their bare ops.
        StatementSpec(.salloc, "salloc", op: 29, bareOp: 17, [.symbol("NAME", .cache), .object, .site, .allocated]),
        StatementSpec(.sfree, "sfree", op: 18, [.symbol("NAME", .cache), Field.object.released]),
        StatementSpec(.kmalloc, "kmalloc", op: 28, bareOp: 19, [.object, .size("SIZE", "size", 1...1 << 30), .site, .allocated]),
        StatementSpec(.kfree, "kfree", op: 20, [Field.object.released]),
        StatementSpec(.fread, "fread", op: 21, [.file, .number("PAGE", "page index", 0...0xFFFF_FFFF)]),
        StatementSpec(.fwrite, "fwrite", op: 22, [.file, .number("PAGE", "page index", 0...0xFFFF_FFFF)]),
        StatementSpec(.fsync, "fsync", op: 23, [.file]),
        StatementSpec(.fdrop, "fdrop", op: 24, [Field.file.released]),
    ]

    /// This statement's row.
    public var spec: StatementSpec { Self.table[rawValue] }

    /// `rawValue`, read as the enum's in-memory case number, which it equals
    /// (the cases have no explicit raw values): the synthesized `rawValue`
    /// is a function the optimizer does not always inline in the readers.
    @inline(always)
    var index: Int { Int(unsafeBitCast(self, to: UInt8.self)) }
    public var keyword: String { spec.keyword }

    /// Directives configure the machine: they come before every event, once each.
    public var isDirective: Bool { spec.isDirective }

    /// The statement of an access kind.
    @inline(__always)
    public init(_ kind: AccessKind) {
        switch kind {
        case .read: self = .read
        case .write: self = .write
        case .execute: self = .execute
        }
    }

    /// The README's statement table (`StatementTableTests` keeps the README
    /// in step with it).
    public static var markdown: String {
        var lines = ["| statement | fields | memtrace-bin op |", "|---|---|---|"]
        for spec in table {
            let fields = spec.fields.map { f -> String in
                if f.isFlag { return "`\(f.placeholder)` flag: \(f.what)" }
                var s = "`\(f.key.map { "\($0)=" } ?? "")\(f.placeholder)` "
                switch f.kind {
                case .version: s += "version"
                case .symbol: s += "\(f.namespace)"
                case .perms: s += "subset of `rwx`"
                case .migrateType:
                    s += "\(f.what) " + (f.min...f.max).map { "`\(MigrateType(rawValue: UInt8($0))!.keyword)`" }.joined(separator: ", ")
                case .number, .size, .address:
                    s += "\(f.what == f.placeholder ? "" : f.what + " ")\(Self.bound(f.min))–\(Self.bound(f.max))"
                }
                if f.kind == .size { s += ", K/M/G" }
                switch f.rule {
                case .none: break
                case .pageAligned, .pageMultiple: s += ", multiple of 4096"
                case .powerOfTwo: s += ", power of two"
                }
                if case .defaulted(let d) = f.presence { s += " (default \(d))" }
                return s
            }
            var op = spec.op.map(String.init) ?? "the magic"
            if let bare = spec.bareOp {
                // The bare op leaves out the optional numbers; optional symbols stay.
                let left = spec.fields.filter { $0.presence == .optional && $0.kind != .symbol }
                let keeps = left.count < spec.fields.count { $0.presence == .optional }
                op += "; \(bare) without " + (keeps ? left.map(\.placeholder).joined(separator: ", ") : left.count > 1 ? "options" : spec.fields.last!.placeholder)
            }
            lines.append("| `\(spec.usage)` | \(fields.joined(separator: "; ")) | \(op) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Large bounds as powers of two: `2^32`, `2^32-1`.
    private static func bound(_ v: UInt64) -> String {
        if v >= 1 << 21 && v & (v - 1) == 0 { return "2^\(v.trailingZeroBitCount)" }
        if v >= 1 << 21 && (v + 1) & v == 0 { return "2^\((v + 1).trailingZeroBitCount)-1" }
        if v == UInt64.max - 1 { return "2^64-2" }
        return "\(v)"
    }
}

extension Event {
    /// The statement keyword, as written in traces (for counts and messages).
    public var keyword: String { statement.keyword }

    /// Every statement keyword of memtrace v1, in the order the format lists them.
    public static let allKeywords = Statement.allCases.map(\.keyword)

    /// Directives configure the machine and must precede every other statement.
    public var isDirective: Bool { statement.isDirective }
}
