/// One statement of a memtrace v1 trace, decoded.
///
/// Events carry only small integers, so they are trivially copyable and cost
/// no reference counting in the replay loop. Handles and names arrive as
/// ``Symbol``s interned by the reader; addresses are 32-bit virtual addresses.
public enum Event: Equatable, Sendable {
    // Machine directives (only before the first event).
    case mem(bytes: UInt64)
    case reserve(bytes: UInt64)
    case nodes(Int)

    /// `tick [N]`: close the current tick; `nil` means current + 1.
    case tick(UInt64?)

    case palloc(Symbol, count: UInt32)
    case pfree(Symbol)

    case spawn(PID, node: Int32?)
    case fork(parent: PID, child: PID)
    case exit(PID)
    case switchTo(PID)

    case mmap(PID, start: UInt32, end: UInt32, perms: Perms, shared: Symbol?)
    case munmap(PID, start: UInt32)

    case access(AccessKind, PID, UInt32)

    case map(PID, vaddr: UInt32, Symbol, Perms)
    case unmap(PID, vaddr: UInt32)

    case cache(Symbol, size: UInt32, align: UInt32)
    case salloc(cache: Symbol, object: Symbol)
    case sfree(cache: Symbol, object: Symbol)
    case kmalloc(object: Symbol, size: UInt32)
    case kfree(object: Symbol)

    case fread(file: Symbol, page: UInt32)
    case fwrite(file: Symbol, page: UInt32)
    case fsync(file: Symbol)
    case fdrop(file: Symbol)

    /// The statement keyword, as written in traces (for counts and messages).
    public var keyword: String {
        switch self {
        case .mem: "mem"
        case .reserve: "reserve"
        case .nodes: "nodes"
        case .tick: "tick"
        case .palloc: "palloc"
        case .pfree: "pfree"
        case .spawn: "spawn"
        case .fork: "fork"
        case .exit: "exit"
        case .switchTo: "switch"
        case .mmap: "mmap"
        case .munmap: "munmap"
        case .access(let kind, _, _): kind.keyword
        case .map: "map"
        case .unmap: "unmap"
        case .cache: "cache"
        case .salloc: "salloc"
        case .sfree: "sfree"
        case .kmalloc: "kmalloc"
        case .kfree: "kfree"
        case .fread: "fread"
        case .fwrite: "fwrite"
        case .fsync: "fsync"
        case .fdrop: "fdrop"
        }
    }

    /// Every statement keyword of memtrace v1, in the order the format lists them.
    public static let allKeywords = [
        "memtrace", "mem", "reserve", "nodes", "tick", "palloc", "pfree",
        "spawn", "fork", "exit", "switch", "mmap", "munmap", "r", "w", "x",
        "map", "unmap", "cache", "salloc", "sfree", "kmalloc", "kfree",
        "fread", "fwrite", "fsync", "fdrop",
    ]

    /// Directives configure the machine and must precede every other statement.
    public var isDirective: Bool {
        switch self {
        case .mem, .reserve, .nodes: true
        default: false
        }
    }
}

/// A process identifier. PID 0 is the kernel.
public typealias PID = UInt32

/// The largest PID a trace may name (Linux's `PID_MAX_LIMIT - 1`).
public let maxPID: PID = 4_194_303

/// The kind of a memory access.
public enum AccessKind: UInt8, Sendable, CaseIterable {
    case read, write, execute

    public var keyword: String {
        switch self {
        case .read: "r"
        case .write: "w"
        case .execute: "x"
        }
    }
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
