import MemTrace

/// The process table: processes by slot, the PID index, the running
/// process, and the address-space counters (faults, switches).
///
/// Slots of exited processes are reused, so a process's slot is stable for
/// its life and the per-access path indexes a flat array. The kernel (PID 0)
/// holds slot 0 from boot and never exits.
///
/// Invariants: `slot(of:)` maps exactly the live PIDs; `live` counts the
/// processes that have an address space (alive and not failed).
public struct ProcessTable: Sendable {
    private var slots = Slots<Process>()
    private var slotOfPID: [PID: Int32]
    /// Processes with an address space, the kernel included.
    public private(set) var live = 1
    /// The running process's slot and PID.
    public internal(set) var current: Int32 = 0
    public internal(set) var currentPID: PID = 0
    /// Exited since the last tick close, for the `processes` table.
    var finished: [ProcessRecord] = []
    public internal(set) var counters = PagingCounters()

    /// The last context id given (see ``Process/context``).
    private var lastContext: UInt64 = 1

    /// The kernel's address space has context id 1.
    static let kernelContext: UInt64 = 1

    init(kernel: Process) {
        var k = kernel
        k.context = Self.kernelContext
        slotOfPID = [kernel.pid: slots.insert(k)]
    }

    @inline(__always)
    subscript(slot: Int) -> Process {
        get { slots[slot] }
        _modify { yield &slots[slot] }
    }

    @inline(__always)
    func slot(of pid: PID) -> Int32? { slotOfPID[pid] }

    /// Every slot, exited ones included (their `alive` is false).
    var all: [Process] { slots.elements }
    var indices: Range<Int> { slots.indices }

    /// Live slots in slot order.
    var liveSlots: [Int32] { slotOfPID.values.sorted() }

    /// Enters `p` in a free slot.
    mutating func add(_ p: Process) {
        var p = p
        lastContext += 1
        p.context = lastContext
        slotOfPID[p.pid] = slots.insert(p)
        if !p.failed { live += 1 }
    }

    /// Takes the process in slot `s` out of the table (its record stays in the slot until reused).
    mutating func remove(slot s: Int32) {
        slotOfPID[slots[Int(s)].pid] = nil
        slots.remove(s)
        slots[Int(s)].alive = false
        if !slots[Int(s)].failed { live -= 1 }
    }
}

/// Page faults by kind, context switches and refused `mmap`s.
public struct PagingCounters: CounterSet {
    /// Every page-fault exception: demand + COW + segmentation faults.
    public var pageFaults = 0
    /// Faults that mapped a page on demand (zeroed or a shared segment's frame).
    public var demandFaults = 0
    public var cowFaults = 0
    /// COW faults that copied the frame (the rest reused a sole reference).
    public var cowCopies = 0
    public var segv = 0
    public var switches = 0
    /// `mmap`s refused because the process already had 16 regions.
    public var regionFailures = 0
    /// Demand faults in `huge` regions that mapped a 4 MiB page.
    public var hugeFaults = 0
    /// Faults in `huge` regions that found no 1024 free frames at a 4 MiB
    /// boundary: demand faults that mapped 4 KiB instead, COW copies that failed.
    public var hugeFallbacks = 0
    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("page_faults", &pageFaults)
        v.counter("demand_faults", &demandFaults)
        v.counter("cow_faults", &cowFaults)
        v.counter("cow_copies", &cowCopies)
        v.counter("segv", &segv)
        v.counter("switches", &switches)
        v.counter("region_failures", &regionFailures)
        v.counter("huge_faults", &hugeFaults)
        v.counter("huge_fallbacks", &hugeFallbacks)
    }
}
