/// One statement of a memtrace v1 trace, decoded.
///
/// Events carry small integers: handles and names arrive as ``Symbol``s
/// interned by the reader, addresses are 32-bit virtual addresses. The
/// statements, their fields and encodings are declared in ``Statement``.
public enum Event: Equatable, Sendable {
    // Machine directives (only before the first event).
    case mem(bytes: UInt64)
    case reserve(bytes: UInt64)
    case nodes(Int)

    /// `tick [N]`: close the current tick; `nil` means current + 1.
    case tick(UInt64?)

    /// `palloc H [N] [TYPE]`: `type` nil when the trace names none (the
    /// model then takes `unmovable`, as `GFP_KERNEL` is).
    case palloc(Symbol, count: UInt32, type: MigrateType? = nil)
    case pfree(Symbol)

    case spawn(PID, node: Int32?)
    case fork(parent: PID, child: PID)
    case exit(PID)
    case switchTo(PID)

    case mmap(PID, start: UInt32, end: UInt32, perms: Perms, shared: Symbol?, huge: Bool = false)
    case munmap(PID, start: UInt32)

    case access(AccessKind, PID, UInt32)

    case map(PID, vaddr: UInt32, Symbol, Perms)
    case unmap(PID, vaddr: UInt32)

    /// `cache NAME SIZE [ALIGN]`, with NAME's text: the model keeps it for
    /// slabinfo, and would otherwise have to ask the reader.
    /// `cache NAME SIZE [ALIGN]`. Its name, which the model keeps for
    /// slabinfo, stays in the reader's table: a `String` here would make
    /// every event costlier to copy (8 % of an access replay, measured).
    /// `type` is `reclaimable` for a cache made with `SLAB_RECLAIM_ACCOUNT`;
    /// nil when the trace says nothing (unmovable).
    case cache(Symbol, size: UInt32, align: UInt32, type: MigrateType? = nil)
    /// `site`: the call site, 0 when the trace names none; `allocated`: the
    /// recording kernel's `bytes_alloc`, 0 when not given.
    case salloc(cache: Symbol, object: Symbol, site: UInt64, allocated: UInt32)
    case sfree(cache: Symbol, object: Symbol)
    case kmalloc(object: Symbol, size: UInt32, site: UInt64, allocated: UInt32)
    case kfree(object: Symbol)

    case fread(file: Symbol, page: UInt32)
    case fwrite(file: Symbol, page: UInt32)
    case fsync(file: Symbol)
    case fdrop(file: Symbol)
}

/// A process identifier. PID 0 is the kernel.
public typealias PID = UInt32

/// The largest PID a trace may name (Linux's `PID_MAX_LIMIT - 1`).
public let maxPID: PID = 4_194_303

/// The kind of a memory access.
public enum AccessKind: UInt8, Sendable, CaseIterable {
    case read, write, execute

    /// `r`, `w` or `x`.
    public var keyword: String { Statement(self).keyword }
}

/// Region or mapping permissions: a subset of `rwx`.
public struct Perms: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let read = Perms(rawValue: 1)
    public static let write = Perms(rawValue: 2)
    public static let execute = Perms(rawValue: 4)

    public var description: String {
        (contains(.read) ? "r" : "-") + (contains(.write) ? "w" : "-")
            + (contains(.execute) ? "x" : "-")
    }
}

/// A frame allocation's mobility: Linux's migrate type, which decides the
/// pageblock free lists an allocation is served from under
/// `--pmm buddy-mobility`. Numbered as Linux 2.6.24–4.3 number them
/// (`include/linux/mmzone.h` of 3.6, lines 38–42); 4.4 swapped MOVABLE and
/// RECLAIMABLE, which the ftrace importer's `--migratetype-numbering` undoes.
public enum MigrateType: UInt8, CaseIterable, Sendable {
    /// Kernel allocations without `__GFP_MOVABLE` or `__GFP_RECLAIMABLE`:
    /// page tables, directories, `kmalloc` slabs and large `kmalloc`s.
    case unmovable = 0
    /// `__GFP_RECLAIMABLE`: slabs of caches made with `SLAB_RECLAIM_ACCOUNT`
    /// (dentries, inodes), which a shrinker can free.
    case reclaimable = 1
    /// `__GFP_MOVABLE`: user pages and page-cache pages, which migration can move.
    case movable = 2

    /// The word a trace writes: `unmovable`, `reclaimable`, `movable`.
    public var keyword: String {
        switch self {
        case .unmovable: "unmovable"
        case .reclaimable: "reclaimable"
        case .movable: "movable"
        }
    }
}
