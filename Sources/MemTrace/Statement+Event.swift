/// How each statement's fields make its ``Event``, and back.
///
/// These two switches are the only per-statement code the readers and the
/// encoder have. They name no ranges, checks or encodings: the reader hands
/// out the fields in table order, from tokens or from a memtrace-bin record,
/// each checked against its row in ``Statement/table``; a ``FieldSink``
/// takes them back out of an event in the same order. A test runs every
/// statement through both, so an arm that skips or swaps a field fails there.

/// Takes an event's fields, in table order.
protocol FieldSink {
    mutating func begin(_ statement: Statement)
    mutating func number(_ value: UInt64)
    mutating func optionalNumber(_ value: UInt64?)
    mutating func symbol(_ symbol: Symbol)
    mutating func optionalSymbol(_ symbol: Symbol?)
    mutating func perms(_ perms: Perms)
}

/// The lowest address of kernel space, where user regions end.
let kernelSpaceStart: UInt64 = 0xC000_0000
/// The recursive page-table window, which nothing can be mapped into.
let recursiveWindowStart: UInt64 = 0xFFC0_0000
/// A 4 MiB page (PSE): what one directory entry maps.
let hugePageSize: UInt64 = 0x40_0000

extension TraceReader {
    /// The event of the statement `f` reads. Values come out range-checked
    /// against the table, so the narrowing conversions here cannot truncate.
    @inline(always)
    func decode(_ f: inout FieldCursor) throws(TraceError) -> Event {
        switch f.statement {
        case .header: preconditionFailure("the header is not an event")
        case .mem: return .mem(bytes: try number(&f))
        case .reserve: return .reserve(bytes: try number(&f))
        case .nodes: return .nodes(Int(try number(&f)))
        case .tick: return .tick(try optionalNumber(&f))
        case .palloc:
            let h = try symbol(&f), n = u32(try number(&f))
            return .palloc(h, count: n, type: try optionalMigrateType(&f))
        case .pfree: return .pfree(try symbol(&f))
        case .spawn: return .spawn(u32(try number(&f)), node: try optionalNumber(&f).map { Int32(truncatingIfNeeded: $0) })
        case .fork: return .fork(parent: u32(try number(&f)), child: u32(try number(&f)))
        case .exit: return .exit(u32(try number(&f)))
        case .switchTo: return .switchTo(u32(try number(&f)))
        case .mmap:
            let pid = u32(try number(&f))
            let start = try number(&f)
            let end = try number(&f)
            guard end > start else {
                throw failure(f, "empty or inverted region [\(spelling(f, 1, start)), \(spelling(f, 2, end)))")
            }
            guard end <= kernelSpaceStart else {
                throw failure(f, "region [\(spelling(f, 1, start)), \(spelling(f, 2, end))) reaches into kernel space (0xC0000000 and above)")
            }
            let perms = try perms(&f), shared = try optionalSymbol(&f)
            let huge = try optionalNumber(&f) != nil
            if huge && (start | end) & (hugePageSize - 1) != 0 {
                throw failure(f, "huge region [\(spelling(f, 1, start)), \(spelling(f, 2, end))) is not 4 MiB aligned (start and end must be multiples of 0x400000)")
            }
            return .mmap(pid, start: u32(start), end: u32(end), perms: perms, shared: shared, huge: huge)
        case .munmap: return .munmap(u32(try number(&f)), start: u32(try number(&f)))
        case .read: return .access(.read, u32(try number(&f)), u32(try number(&f)))
        case .write: return .access(.write, u32(try number(&f)), u32(try number(&f)))
        case .execute: return .access(.execute, u32(try number(&f)), u32(try number(&f)))
        case .map:
            let pid = u32(try number(&f))
            let va = try number(&f)
            guard va < recursiveWindowStart else {
                throw failure(f, "\(spelling(f, 1, va)) is in the recursive page-table window (0xFFC00000 and above), which cannot be mapped")
            }
            return .map(pid, vaddr: u32(va), try symbol(&f), try perms(&f))
        case .unmap:
            let pid = u32(try number(&f))
            let va = try number(&f)
            guard va < recursiveWindowStart else {
                throw failure(f, "\(spelling(f, 1, va)) is in the recursive page-table window (0xFFC00000 and above)")
            }
            return .unmap(pid, vaddr: u32(va))
        case .cache:
            let c = try symbol(&f)
            let size = u32(try number(&f)), align = u32(try number(&f))
            return .cache(c, size: size, align: align, type: try optionalMigrateType(&f))
        case .salloc:
            let c = try symbol(&f), o = try symbol(&f)
            return .salloc(cache: c, object: o, site: try optionalNumber(&f) ?? 0, allocated: u32(try optionalNumber(&f) ?? 0))
        case .sfree: return .sfree(cache: try symbol(&f), object: try symbol(&f))
        case .kmalloc:
            let o = try symbol(&f), size = u32(try number(&f))
            return .kmalloc(object: o, size: size, site: try optionalNumber(&f) ?? 0, allocated: u32(try optionalNumber(&f) ?? 0))
        case .kfree: return .kfree(object: try symbol(&f))
        case .fread: return .fread(file: try symbol(&f), page: u32(try number(&f)))
        case .fwrite: return .fwrite(file: try symbol(&f), page: u32(try number(&f)))
        case .fsync: return .fsync(file: try symbol(&f))
        case .fdrop: return .fdrop(file: try symbol(&f))
        }
    }
}

extension Event {
    /// Hands the event's fields to `s`, after its statement.
    func encode<S: FieldSink>(to s: inout S) {
        switch self {
        case let .mem(bytes): s.begin(.mem); s.number(bytes)
        case let .reserve(bytes): s.begin(.reserve); s.number(bytes)
        case let .nodes(n): s.begin(.nodes); s.number(UInt64(n))
        case let .tick(n): s.begin(.tick); s.optionalNumber(n)
        case let .palloc(h, count, type):
            s.begin(.palloc); s.symbol(h); s.number(UInt64(count)); s.optionalNumber(type.map { UInt64($0.rawValue) })
        case let .pfree(h): s.begin(.pfree); s.symbol(h)
        case let .spawn(pid, node): s.begin(.spawn); s.number(UInt64(pid)); s.optionalNumber(node.map { UInt64($0) })
        case let .fork(parent, child): s.begin(.fork); s.number(UInt64(parent)); s.number(UInt64(child))
        case let .exit(pid): s.begin(.exit); s.number(UInt64(pid))
        case let .switchTo(pid): s.begin(.switchTo); s.number(UInt64(pid))
        case let .mmap(pid, start, end, perms, shared, huge):
            s.begin(.mmap)
            s.number(UInt64(pid)); s.number(UInt64(start)); s.number(UInt64(end)); s.perms(perms); s.optionalSymbol(shared)
            s.optionalNumber(huge ? 1 : nil)
        case let .munmap(pid, start): s.begin(.munmap); s.number(UInt64(pid)); s.number(UInt64(start))
        case let .access(kind, pid, va): s.begin(Statement(kind)); s.number(UInt64(pid)); s.number(UInt64(va))
        case let .map(pid, va, h, perms): s.begin(.map); s.number(UInt64(pid)); s.number(UInt64(va)); s.symbol(h); s.perms(perms)
        case let .unmap(pid, va): s.begin(.unmap); s.number(UInt64(pid)); s.number(UInt64(va))
        case let .cache(c, size, align, type):
            s.begin(.cache); s.symbol(c); s.number(UInt64(size)); s.number(UInt64(align)); s.optionalNumber(type.map { UInt64($0.rawValue) })
        case let .salloc(c, o, site, allocated): s.begin(.salloc); s.symbol(c); s.symbol(o); s.callSite(site, allocated)
        case let .sfree(c, o): s.begin(.sfree); s.symbol(c); s.symbol(o)
        case let .kmalloc(o, size, site, allocated): s.begin(.kmalloc); s.symbol(o); s.number(UInt64(size)); s.callSite(site, allocated)
        case let .kfree(o): s.begin(.kfree); s.symbol(o)
        case let .fread(f, page): s.begin(.fread); s.symbol(f); s.number(UInt64(page))
        case let .fwrite(f, page): s.begin(.fwrite); s.symbol(f); s.number(UInt64(page))
        case let .fsync(f): s.begin(.fsync); s.symbol(f)
        case let .fdrop(f): s.begin(.fdrop); s.symbol(f)
        }
    }

    /// The statement the event was written as.
    public var statement: Statement {
        var s = StatementOf()
        encode(to: &s)
        return s.statement
    }
}

extension FieldSink {
    /// `[site=ADDR] [alloc=BYTES]`, each left out when 0.
    mutating func callSite(_ site: UInt64, _ allocated: UInt32) {
        optionalNumber(site != 0 ? site : nil)
        optionalNumber(allocated != 0 ? UInt64(allocated) : nil)
    }
}

/// A range-checked field value as 32 bits.
@inline(always)
private func u32(_ v: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: v) }

/// The sink that keeps only the statement.
private struct StatementOf: FieldSink {
    var statement = Statement.header
    mutating func begin(_ statement: Statement) { self.statement = statement }
    func number(_ value: UInt64) {}
    func optionalNumber(_ value: UInt64?) {}
    func symbol(_ symbol: Symbol) {}
    func optionalSymbol(_ symbol: Symbol?) {}
    func perms(_ perms: Perms) {}
}
