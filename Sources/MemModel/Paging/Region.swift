import MemTrace

/// A `vm_region_t`: one contiguous range of a process's user space.
public struct Region: Sendable, Equatable {
    public var start: UInt32
    /// Exclusive.
    public var end: UInt32
    public var perms: Perms
    /// Set on private writable regions after a fork: their pages may be shared copy-on-write.
    public var cow: Bool
    /// The shared-memory segment this region views, or -1.
    public var segment: Int32
    /// `mmap … huge`: faulted in 4 MiB pages (PS directory entries) where
    /// 1024 aligned free frames can be had.
    public var huge = false

    /// The kernel's fixed `regions[16]` array.
    public static let maxPerProcess = 16

    @inline(__always)
    func contains(_ v: UInt32) -> Bool { v >= start && v < end }

    var pageCount: Int { Int((end - start) >> 12) }

    /// Private (no shared segment) and writable: the pages fork makes COW.
    var isPrivateWritable: Bool { segment < 0 && perms.contains(.write) }

    func allows(_ kind: AccessKind) -> Bool {
        switch kind {
        case .read: perms.contains(.read)
        case .write: perms.contains(.write)
        case .execute: perms.contains(.execute)
        }
    }
}

/// A shared-memory segment: the frames every region naming its ID maps.
struct Segment: Sendable {
    var pages: Int
    /// Frame of each page, `nil` until a region first faults it in.
    var frames: [FrameNumber?]
    /// Regions (in any process) that name this segment; the frames go with the last.
    var regions: Int
}

/// One process: an address space and its regions.
public struct Process: Sendable {
    public var pid: PID
    public var parent: PID?
    /// The page directory; `nil` when creation failed for want of memory.
    var directory: FrameNumber?
    public internal(set) var regions: [Region] = []
    /// Present user pages mapped in this address space.
    public internal(set) var resident = 0
    public internal(set) var peakResident = 0
    public internal(set) var faults = 0
    public internal(set) var cowFaults = 0
    public internal(set) var segv = 0
    public internal(set) var spawnedTick: UInt64
    /// Creation failed for want of memory: statements naming it are no-ops.
    public var failed: Bool { directory == nil }
    /// The slot holds a process (slots of exited processes are reused).
    var alive = true
    public var node: Int = 0
    /// The address space's context id, never reused (Linux's
    /// `mm->context.ctx_id`); given by the process table.
    var context: UInt64 = 0
    /// Its TLB generation (`--pcid`, Linux's `mm->context.tlb_gen`; see
    /// ``PCIDTags``): raised by changes to its mappings made while it does
    /// not run, and by fork of it while it runs (which flushes its tag at once).
    var tlbGen: UInt64 = 0
}

/// What the `processes` table records for one process.
public struct ProcessRecord: Sendable, Equatable {
    public var pid: PID
    public var parent: PID?
    public var spawnedTick: UInt64
    public var exitedTick: UInt64?
    public var peakResident: Int
    public var resident: Int
    public var faults: Int
    public var cowFaults: Int
    public var segv: Int
}
