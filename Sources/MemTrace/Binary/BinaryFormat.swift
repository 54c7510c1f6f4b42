/// memtrace-bin v1: the same statements as memtrace v1 text, pre-decoded.
///
/// A replay of an access-heavy text trace spends more time splitting and
/// decoding text than in the model; `memreplay convert` writes this encoding
/// once, and every later replay reads it without tokenizing or hashing names.
///
/// Layout: the 8-byte magic `MTRACEB1`, then one record per statement.
/// A record is an op byte — statement kind in the low 5 bits, the line delta
/// (1...7) in the high 3, or 0 when an unsigned LEB128 line delta follows —
/// then its fields as unsigned LEB128 integers. Names travel once: a `name`
/// record gives the text of a symbol id before its first use (again after
/// the id is released and reused), so ids decode to exactly what the text
/// reader would have interned. Line numbers are those of the text, so
/// errors point at the statement in the original trace.
public enum BinaryTrace {
    public static let magic: [UInt8] = Array("MTRACEB1".utf8)
    /// No record is longer than this: a name record with a 64-byte name and
    /// every number padded to 10 bytes is 105.
    static let maxRecord = 128

    /// Encodes every statement `reader` has left; returns the bytes written.
    /// A bad statement throws the reader's ``TraceError``.
    public static func convert(_ reader: TraceReader, to out: TraceWriter) throws -> Int {
        let encoder = try BinaryTraceEncoder(out)
        while let e = try reader.next() {
            try encoder.write(e, line: reader.line, names: reader.symbols)
            encoder.released(e)
        }
        try encoder.flush()
        return encoder.bytesWritten
    }

    enum Op: UInt8 {
        case name = 0
        case read, write, execute
        case tickNext, tick
        case palloc, pfree
        case spawn, fork, exit, switchTo
        case mmap, munmap, map, unmap
        case cache, salloc, sfree, kmalloc, kfree
        case fread, fwrite, fsync, fdrop
        case mem, reserve, nodes
    }
}

/// Writes events as memtrace-bin v1.
public final class BinaryTraceEncoder {
    private let out: TraceWriter
    private var lastLine = 0
    /// Per namespace: whether the current name of each id has been written.
    private var announced = Array(repeating: [Bool](), count: Namespace.allCases.count)

    public init(_ out: TraceWriter) throws(SourceError) {
        self.out = out
        for b in BinaryTrace.magic { try out.byte(b) }
    }

    /// Bytes written so far.
    public var bytesWritten: Int { out.bytesWritten }

    /// Encodes `event`, read from text line `line`; `names` are the reader's
    /// symbol tables as they were when it returned the event.
    public func write(_ event: Event, line: Int, names: SymbolTables) throws(SourceError) {
        for (ns, s) in event.symbols where !isAnnounced(ns, s) {
            try record(.name, line: line)
            try out.byte(UInt8(ns.rawValue))
            try varint(UInt64(s.raw))
            let text = Array(names.name(ns, s).utf8)
            try out.byte(UInt8(text.count))
            for b in text { try out.byte(b) }
            announced[ns.rawValue][s.index] = true
        }
        switch event {
        case .access(let kind, let pid, let va):
            try record(kind == .read ? .read : kind == .write ? .write : .execute, line: line)
            try varints(UInt64(pid), UInt64(va))
        case .tick(let n):
            if let n {
                try record(.tick, line: line)
                try varint(n)
            } else {
                try record(.tickNext, line: line)
            }
        case .palloc(let h, let count): try record(.palloc, line: line); try varints(UInt64(h.raw), UInt64(count))
        case .pfree(let h): try record(.pfree, line: line); try varint(UInt64(h.raw))
        case .spawn(let pid, let node):
            try record(.spawn, line: line)
            try varints(UInt64(pid), node.map { UInt64($0) + 1 } ?? 0)
        case .fork(let parent, let child): try record(.fork, line: line); try varints(UInt64(parent), UInt64(child))
        case .exit(let pid): try record(.exit, line: line); try varint(UInt64(pid))
        case .switchTo(let pid): try record(.switchTo, line: line); try varint(UInt64(pid))
        case .mmap(let pid, let start, let end, let perms, let shared):
            try record(.mmap, line: line)
            try varints(UInt64(pid), UInt64(start))
            try varints(UInt64(end), UInt64(perms.rawValue))
            try varint(shared.map { UInt64($0.raw) + 1 } ?? 0)
        case .munmap(let pid, let start): try record(.munmap, line: line); try varints(UInt64(pid), UInt64(start))
        case .map(let pid, let va, let h, let perms):
            try record(.map, line: line)
            try varints(UInt64(pid), UInt64(va))
            try varints(UInt64(h.raw), UInt64(perms.rawValue))
        case .unmap(let pid, let va): try record(.unmap, line: line); try varints(UInt64(pid), UInt64(va))
        case .cache(let name, let size, let align):
            try record(.cache, line: line)
            try varints(UInt64(name.raw), UInt64(size))
            try varint(UInt64(align))
        case .salloc(let c, let o): try record(.salloc, line: line); try varints(UInt64(c.raw), UInt64(o.raw))
        case .sfree(let c, let o): try record(.sfree, line: line); try varints(UInt64(c.raw), UInt64(o.raw))
        case .kmalloc(let o, let size): try record(.kmalloc, line: line); try varints(UInt64(o.raw), UInt64(size))
        case .kfree(let o): try record(.kfree, line: line); try varint(UInt64(o.raw))
        case .fread(let f, let page): try record(.fread, line: line); try varints(UInt64(f.raw), UInt64(page))
        case .fwrite(let f, let page): try record(.fwrite, line: line); try varints(UInt64(f.raw), UInt64(page))
        case .fsync(let f): try record(.fsync, line: line); try varint(UInt64(f.raw))
        case .fdrop(let f): try record(.fdrop, line: line); try varint(UInt64(f.raw))
        case .mem(let bytes): try record(.mem, line: line); try varint(bytes)
        case .reserve(let bytes): try record(.reserve, line: line); try varint(bytes)
        case .nodes(let n): try record(.nodes, line: line); try varint(UInt64(n))
        }
    }

    /// Marks the symbol whose binding `event` ended (the reader releases it
    /// before the next statement): its id may come back with another name.
    public func released(_ event: Event) {
        if let (ns, s) = event.releasedSymbol, s.index < announced[ns.rawValue].count {
            announced[ns.rawValue][s.index] = false
        }
    }

    public func flush() throws(SourceError) { try out.flush() }

    private func isAnnounced(_ ns: Namespace, _ s: Symbol) -> Bool {
        let i = ns.rawValue
        if s.index >= announced[i].count {
            announced[i].append(contentsOf: repeatElement(false, count: s.index + 1 - announced[i].count))
        }
        return announced[i][s.index]
    }

    @inline(__always)
    private func record(_ op: BinaryTrace.Op, line: Int) throws(SourceError) {
        let delta = line - lastLine
        lastLine = line
        if delta >= 1 && delta <= 7 {
            try out.byte(op.rawValue | UInt8(delta) << 5)
        } else {
            try out.byte(op.rawValue)
            try varint(UInt64(max(delta, 0)))
        }
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

    @inline(__always)
    private func varints(_ a: UInt64, _ b: UInt64) throws(SourceError) {
        try varint(a)
        try varint(b)
    }
}

extension Event {
    /// The symbols the event names, by namespace (for name records).
    public var symbols: [(Namespace, Symbol)] {
        switch self {
        case .palloc(let h, _), .pfree(let h), .map(_, _, let h, _): [(.handle, h)]
        case .mmap(_, _, _, _, let shared): shared.map { [(.segment, $0)] } ?? []
        case .cache(let c, _, _): [(.cache, c)]
        case .salloc(let c, let o), .sfree(let c, let o): [(.cache, c), (.object, o)]
        case .kmalloc(let o, _), .kfree(let o): [(.object, o)]
        case .fread(let f, _), .fwrite(let f, _), .fsync(let f), .fdrop(let f): [(.file, f)]
        default: []
        }
    }

    /// The symbol whose binding this event ends, if any: a freed handle or
    /// object, a dropped file. The reader releases it before the next statement.
    @inline(__always)
    public var releasedSymbol: (Namespace, Symbol)? {
        switch self {
        case .pfree(let h): (.handle, h)
        case .sfree(_, let o), .kfree(let o): (.object, o)
        case .fdrop(let f): (.file, f)
        default: nil
        }
    }
}
