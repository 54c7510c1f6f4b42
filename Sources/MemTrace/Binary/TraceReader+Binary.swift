/// Decoding memtrace-bin v1 (see ``BinaryTrace``).
///
/// A binary trace is usually written by `memreplay convert` from a checked
/// text trace, but it is still input: every field is range-checked as the
/// text parser checks it, directives come first and once, every symbol must
/// have been named, and a damaged or truncated file is an error at the line
/// of the damaged record, never a crash.
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
        }
    }

    @inline(never)
    func nextBinary() throws(TraceError) -> Event? {
        releasePending()
        while true {
            if input.end - input.start < BinaryTrace.maxRecord { try input.fill(BinaryTrace.maxRecord) }
            guard input.start < input.end else { return nil }
            var i = input.start
            let op = buffer[i]
            i += 1
            let delta = Int(op >> 5)
            if delta != 0 {
                guard line < Self.maxLine - 7 else { throw corrupt("line numbers pass \(Self.maxLine)") }
                input.line += delta
            } else {
                let d = try varint(&i)
                guard d <= Self.maxLine - UInt64(line) else { throw corrupt("line delta \(d) is implausible") }
                input.line += Int(d)
            }
            guard let code = BinaryTrace.Op(rawValue: op & 0x1F) else {
                throw corrupt("unknown record type \(op & 0x1F)")
            }
            let event: Event
            switch code {
            case .name:
                try name(&i)
                input.start = i
                continue
            case .read: event = .access(.read, try pid(&i), try u32(&i, "address"))
            case .write: event = .access(.write, try pid(&i), try u32(&i, "address"))
            case .execute: event = .access(.execute, try pid(&i), try u32(&i, "address"))
            case .tickNext: event = .tick(nil)
            case .tick: event = .tick(try bounded(&i, "tick number", max: 1 << 62))
            case .palloc: event = .palloc(try symbol(&i, .handle), count: UInt32(try bounded(&i, "frame count", min: 1, max: 1 << 20)))
            case .pfree: event = .pfree(try symbol(&i, .handle))
            case .spawn:
                let pid = try pid(&i)
                let node = try bounded(&i, "node", max: 64)
                event = .spawn(pid, node: node == 0 ? nil : Int32(node - 1))
            case .fork: event = .fork(parent: try pid(&i), child: try pid(&i))
            case .exit: event = .exit(try pid(&i))
            case .switchTo: event = .switchTo(try pid(&i))
            case .mmap:
                let pid = try pid(&i)
                let start = try aligned(&i, "mmap start", below: 0xC000_0000)
                let endValue = try bounded(&i, "mmap end", max: 0xC000_0000)
                guard endValue & 0xFFF == 0, endValue > UInt64(start) else { throw corrupt("mmap end \(endValue) is unaligned or not above the start") }
                let perms = try perms(&i)
                let shared = try bounded(&i, "segment", max: UInt64(Int32.max))
                var segment: Symbol? = nil
                if shared > 0 { segment = try live(shared - 1, .segment) }
                event = .mmap(pid, start: start, end: UInt32(endValue), perms: perms, shared: segment)
            case .munmap: event = .munmap(try pid(&i), start: try aligned(&i, "munmap start", below: 1 << 32))
            case .map: event = .map(try pid(&i), vaddr: try aligned(&i, "map address", below: 0xFFC0_0000), try symbol(&i, .handle), try perms(&i))
            case .unmap: event = .unmap(try pid(&i), vaddr: try aligned(&i, "unmap address", below: 0xFFC0_0000))
            case .cache:
                let name = try symbol(&i, .cache)
                let size = try bounded(&i, "object size", min: 1, max: 4 << 20)
                let align = try bounded(&i, "alignment", min: 1, max: 4096)
                guard align & (align - 1) == 0 else { throw corrupt("cache alignment \(align) is not a power of two") }
                event = .cache(name, size: UInt32(size), align: UInt32(align))
            case .salloc: event = .salloc(cache: try symbol(&i, .cache), object: try symbol(&i, .object))
            case .sfree: event = .sfree(cache: try symbol(&i, .cache), object: try symbol(&i, .object))
            case .kmalloc: event = .kmalloc(object: try symbol(&i, .object), size: UInt32(try bounded(&i, "size", min: 1, max: 1 << 30)))
            case .kfree: event = .kfree(object: try symbol(&i, .object))
            case .fread: event = .fread(file: try symbol(&i, .file), page: try u32(&i, "page index"))
            case .fwrite: event = .fwrite(file: try symbol(&i, .file), page: try u32(&i, "page index"))
            case .fsync: event = .fsync(file: try symbol(&i, .file))
            case .fdrop: event = .fdrop(file: try symbol(&i, .file))
            case .mem:
                let bytes = try bounded(&i, "memory size", min: 4096, max: 1 << 32)
                guard bytes & 0xFFF == 0 else { throw corrupt("memory size \(bytes) is not a multiple of 4096") }
                event = try directive("mem", .mem(bytes: bytes))
            case .reserve:
                let bytes = try bounded(&i, "reserved size", max: 1 << 32)
                guard bytes & 0xFFF == 0 else { throw corrupt("reserved size \(bytes) is not a multiple of 4096") }
                event = try directive("reserve", .reserve(bytes: bytes))
            case .nodes: event = try directive("nodes", .nodes(Int(try bounded(&i, "node count", min: 1, max: 64))))
            }
            switch code {
            case .mem, .reserve, .nodes: break
            default: eventSeen = true
            }
            input.start = i
            statements += 1
            noteRelease(event)
            return event
        }
    }

    /// Far beyond any real trace, and far from overflowing a line counter.
    static var maxLine: UInt64 { 1 << 48 }

    /// Directives precede every event and appear once, as in text.
    private func directive(_ keyword: String, _ event: Event) throws(TraceError) -> Event {
        guard !eventSeen else {
            throw TraceError(file: path, line: line, message: "\(keyword): machine directive after the first event (directives must come first)")
        }
        guard !directivesSeen.contains(keyword) else {
            throw TraceError(file: path, line: line, message: "\(keyword): directive given twice")
        }
        directivesSeen.insert(keyword)
        return event
    }

    private func corrupt(_ what: String) -> TraceError {
        TraceError(file: path, line: line, message: "damaged binary trace: \(what)")
    }

    /// Unsigned LEB128, at most 10 bytes, within the buffered bytes.
    @inline(__always)
    private func varint(_ i: inout Int) throws(TraceError) -> UInt64 {
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

    @inline(__always)
    private func bounded(_ i: inout Int, _ what: String, min: UInt64 = 0, max: UInt64) throws(TraceError) -> UInt64 {
        let v = try varint(&i)
        guard v >= min && v <= max else { throw corrupt("\(what) \(v) is out of range (\(min) to \(max))") }
        return v
    }

    @inline(__always)
    private func pid(_ i: inout Int) throws(TraceError) -> PID {
        PID(try bounded(&i, "PID", max: UInt64(maxPID)))
    }

    @inline(__always)
    private func u32(_ i: inout Int, _ what: String) throws(TraceError) -> UInt32 {
        UInt32(try bounded(&i, what, max: 0xFFFF_FFFF))
    }

    private func aligned(_ i: inout Int, _ what: String, below limit: UInt64) throws(TraceError) -> UInt32 {
        let v = try bounded(&i, what, max: limit - 1)
        guard v & 0xFFF == 0 else { throw corrupt("\(what) \(v) is not page aligned") }
        return UInt32(v)
    }

    private func perms(_ i: inout Int) throws(TraceError) -> Perms {
        Perms(rawValue: UInt8(try bounded(&i, "permissions", max: 7)))
    }

    @inline(__always)
    private func symbol(_ i: inout Int, _ ns: Namespace) throws(TraceError) -> Symbol {
        try live(try varint(&i), ns)
    }

    @inline(__always)
    private func live(_ raw: UInt64, _ ns: Namespace) throws(TraceError) -> Symbol {
        guard symbols.tables[ns.rawValue].isLive(raw) else { throw corrupt("\(ns) id \(raw) is used before it is named") }
        return Symbol(Int32(raw))
    }

    /// A `name` record: interning the text must give the recorded id, as it
    /// did when the trace was converted.
    private func name(_ i: inout Int) throws(TraceError) {
        let nsValue = try bounded(&i, "namespace", max: UInt64(Namespace.allCases.count - 1))
        let ns = Namespace(rawValue: Int(nsValue))!
        let id = try bounded(&i, "symbol id", max: UInt64(Int32.max))
        let n = Int(try bounded(&i, "name length", min: 1, max: UInt64(SymbolTable.maxTokenLength)))
        guard input.end - i >= n else { throw corrupt("the file ends inside a record") }
        for k in 0..<n {
            let c = buffer[i + k]
            let ok = (c >= 48 && c <= 58) || ((c | 0x20) >= 97 && (c | 0x20) <= 122) || c == 95 || c == 46 || c == 45
            guard ok else { throw corrupt("a name holds the byte 0x\(String(c, radix: 16))") }
        }
        let got = symbols.tables[ns.rawValue].intern(UnsafeRawBufferPointer(start: buffer + i, count: n))
        guard UInt64(got.raw) == id else {
            throw corrupt("name '\(String(decoding: UnsafeBufferPointer(start: buffer + i, count: n), as: UTF8.self))' is \(ns) id \(got.raw) here, not \(id)")
        }
        i += n
    }
}
