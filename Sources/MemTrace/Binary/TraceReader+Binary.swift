/// Decoding memtrace-bin v1 (see ``BinaryTrace``).
///
/// A binary trace is usually written by `memreplay convert` from a checked
/// text trace, but it is still input: every field is range-checked against
/// the statement table as the text reader checks it, directives come first
/// and once, every symbol must have been named, and a damaged or truncated
/// file is an error at the line of the damaged record, never a crash.
extension TraceReader {
    /// Reads the first bytes and decides between text and binary.
    @inline(never)
    func detectFormat() throws(TraceError) {
        try input.fill(BinaryTrace.magic.count)
        let m = BinaryTrace.magic
        if input.end - input.start >= m.count && (0..<m.count).allSatisfy({ buffer[input.start + $0] == m[$0] }) {
            input.start += m.count
            format = .binary
        } else {
            format = .text
            // A UTF-8 byte-order mark before the header is not part of the
            // text (editors on some systems write one); it is skipped.
            if input.end - input.start >= 3 && buffer[input.start] == 0xEF
                && buffer[input.start + 1] == 0xBB && buffer[input.start + 2] == 0xBF {
                input.start += 3
            }
        }
    }

    @inline(never)
    func nextBinary() throws(TraceError) -> Event? {
        releasePending()
        while true {
            if input.end - input.start < BinaryTrace.maxRecord { try input.fill(BinaryTrace.maxRecord) }
            guard input.start < input.end else { return nil }
            var i = input.start
            let opByte = buffer[i]
            i += 1
            let delta = Int(opByte >> 5)
            if delta != 0 {
                guard line < Self.maxLine - 7 else { throw corrupt("line numbers pass \(Self.maxLine)") }
                input.line += delta
            } else {
                let d = try varint(&i)
                guard d <= Self.maxLine - UInt64(line) else { throw corrupt("line delta \(d) is implausible") }
                input.line += Int(d)
            }
            var op = Int(opByte & 0x1F)
            if op == BinaryTrace.escapeOp {
                op = Int(try bounded(&i, "escaped record type", max: UInt64(Int32.max)))
            }
            if op == BinaryTrace.nameOp {
                try name(&i)
                input.start = i
                continue
            }
            guard let s = rules.statement(forOp: op) else { throw corrupt("unknown record type \(op)") }
            let event: Event
            if let access = try plainAccess(s, &i) {
                event = access
                eventSeen = true
            } else {
                let directive = rules.isDirective[s.index]
                if directive { try self.directive(s) }
                event = try decodeBinary(s, at: &i, bare: op == Int(rules.bareOp[s.index]))
                if !directive { eventSeen = true }
            }
            input.start = i
            statements += 1
            return event
        }
    }

    /// The commonest record, an access, decoded straight from its two
    /// numbers; nil — with `i` unmoved — for another statement, or for a
    /// field out of range, whose error the general path words.
    @inline(always)
    private func plainAccess(_ s: Statement, _ i: inout Int) throws(TraceError) -> Event? {
        let kind: AccessKind
        switch s {
        case .read: kind = .read
        case .write: kind = .write
        case .execute: kind = .execute
        default: return nil
        }
        var j = i
        let pid = try varint(&j)
        let va = try varint(&j)
        guard pid <= UInt64(maxPID) && va <= 0xFFFF_FFFF else { return nil }
        i = j
        return .access(kind, PID(truncatingIfNeeded: pid), UInt32(truncatingIfNeeded: va))
    }

    // MARK: Fields (see TraceReader+Fields.swift)

    @inline(always)
    func binaryNumber(_ f: inout FieldCursor) throws(TraceError) -> UInt64 {
        let r = f.rule
        if f.bare && r.pointee.optional && !r.pointee.defaulted { return r.pointee.defaultValue }
        return try checked(f.statement, f.k, r, try varint(&f.i), binary: true)
    }

    @inline(always)
    func binaryOptionalNumber(_ f: inout FieldCursor) throws(TraceError) -> UInt64? {
        if f.bare { return nil }
        let v = try varint(&f.i)
        if !f.plusOne { return try checked(f.statement, f.k, f.rule, v, binary: true) }
        return v == 0 ? nil : try checked(f.statement, f.k, f.rule, v - 1, binary: true)
    }

    /// Far beyond any real trace, and far from overflowing a line counter.
    static var maxLine: UInt64 { 1 << 48 }

    func corrupt(_ what: String) -> TraceError {
        TraceError(file: path, line: line, message: "damaged binary trace: \(what)")
    }

    /// Unsigned LEB128, at most 10 bytes, within the buffered bytes.
    @inline(always)
    func varint(_ i: inout Int) throws(TraceError) -> UInt64 {
        guard i < input.end else { throw corrupt("the file ends inside a record") }
        let first = buffer[i]
        i += 1
        if first < 0x80 { return UInt64(first) }
        var v = UInt64(first & 0x7F)
        var shift: UInt64 = 7
        while true {
            guard i < input.end else { throw corrupt("the file ends inside a record") }
            let b = buffer[i]
            i += 1
            guard shift < 64, shift < 63 || b <= 1 else { throw corrupt("a number is longer than 64 bits") }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    /// A number of a name record or op byte, which the table does not cover.
    @inline(always)
    private func bounded(_ i: inout Int, _ what: String, min: UInt64 = 0, max: UInt64) throws(TraceError) -> UInt64 {
        let v = try varint(&i)
        guard v >= min && v <= max else { throw corrupt("\(what) \(v) is out of range (\(min) to \(max))") }
        return v
    }

    /// The symbol a record names by its file id.
    @inline(always)
    func liveSymbol(_ raw: UInt64, _ table: Int) throws(TraceError) -> Symbol {
        if table == Namespace.cache.rawValue {
            guard raw < UInt64(cacheOfFileID.count) else { throw corrupt("cache id \(raw) is used before it is named") }
            return cacheOfFileID[Int(raw)]
        }
        guard symbols.isLive(table, raw) else { throw corrupt("\(Namespace(rawValue: table)!) id \(raw) is used before it is named") }
        return Symbol(Int32(raw))
    }

    /// A `name` record: interning the text must give the recorded id, as it
    /// did when the trace was converted. Cache ids are the file's own (see
    /// `BinaryTraceEncoder`): the caches in the order the file names them.
    private func name(_ i: inout Int) throws(TraceError) {
        let nsValue = try bounded(&i, "namespace", max: UInt64(Namespace.allCases.count - 1))
        let ns = Namespace(rawValue: Int(nsValue))!
        let id = try bounded(&i, "symbol id", max: UInt64(Int32.max))
        let n = Int(try bounded(&i, "name length", min: 1, max: UInt64(SymbolTable.maxTokenLength)))
        guard input.end - i >= n else { throw corrupt("the file ends inside a record") }
        for k in 0..<n where !isNameByte(buffer[i + k]) {
            throw corrupt("a name holds the byte 0x\(String(buffer[i + k], radix: 16))")
        }
        let got = symbols.tables[ns.rawValue].intern(UnsafeRawBufferPointer(start: buffer + i, count: n))
        var expected = UInt64(got.raw)
        if ns == .cache {
            if got.index >= fileIDOfCache.count {
                fileIDOfCache.append(contentsOf: repeatElement(-1, count: got.index + 1 - fileIDOfCache.count))
            }
            if fileIDOfCache[got.index] >= 0 {
                expected = UInt64(fileIDOfCache[got.index])
            } else {
                expected = UInt64(cacheOfFileID.count)
                if id == expected {
                    fileIDOfCache[got.index] = Int32(id)
                    cacheOfFileID.append(got)
                }
            }
        }
        guard expected == id else {
            throw corrupt("name '\(String(decoding: UnsafeBufferPointer(start: buffer + i, count: n), as: UTF8.self))' is \(ns) id \(expected) here, not \(id)")
        }
        i += n
    }
}
