import MemTrace

/// A rule of the trace format broken by a statement, found while replaying it.
///
/// `message` may contain `%s` placeholders, filled in order with the trace
/// names of `symbols` (the machine works on interned ids; the replay loop,
/// which owns the name tables, renders the final `FILE:LINE: message`).
public struct ModelError: Error, Sendable {
    public var message: String
    public var symbols: [(Namespace, Symbol)]

    public init(_ message: String, _ symbols: (Namespace, Symbol)...) {
        self.message = message
        self.symbols = symbols
    }

    /// The message with every `%s` replaced by its symbol's name.
    public func rendered(_ tables: SymbolTables) -> String {
        var out = ""
        var rest = Substring(message)
        var k = 0
        while let r = rest.firstRange(of: "%s") {
            out += rest[..<r.lowerBound]
            out += k < symbols.count ? tables.name(symbols[k].0, symbols[k].1) : "?"
            k += 1
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

/// What a frame is used for (checked against every structure in `--check` mode).
public enum FrameUse: UInt8, Sendable {
    case free, reserved, handle, directory, pageTable, anonymous, segment, slab, pageCache, kmallocLarge
}

/// Frames bound to a `palloc` handle.
struct HandleBinding: Sendable {
    /// First frame; -1 unbound, -2 failed (out of memory).
    var base: FrameNumber
    var count: Int32
    static let unbound = HandleBinding(base: -1, count: 0)
}

/// The whole memory subsystem of one simulated machine.
///
/// Generic over the physical allocator so each variant gets a specialized
/// replay loop. Subsystems keep their own state (`frames`, `tables`, `tlb`,
/// `slab`, `pageCache`, `kswapd`); the operations that cross subsystems, such
/// as a page fault that allocates a frame and may reclaim, are extensions of
/// `Machine` in each subsystem's folder.
public struct Machine<Frames: FrameAllocator>: Sendable {
    public let config: MachineConfig
    public internal(set) var frames: NodeFrames<Frames>
    /// NUMA nodes (a plain copy of `frames.count` for the per-access checks).
    let nodeCount: Int
    /// Owners of each frame: PTE mappings, plus one for a handle or shared segment holding it.
    var refcount: [UInt32]
    var use: [FrameUse]
    var tables: TableMemory
    public let allocatableFrames: Int

    // Processes: slots, PID index, the running one.
    var processes: [Process] = []
    var slotOfPID: [PID: Int32] = [:]
    var freeProcessSlots: [Int32] = []
    /// Processes with an address space, the kernel included.
    var liveProcesses = 1
    var current: Int32 = 0
    public internal(set) var currentPID: PID = 0
    var currentDirectory: FrameNumber
    let kernelDirectory: FrameNumber
    var finished: [ProcessRecord] = []

    public internal(set) var tlb: TLB
    public internal(set) var itlb: TLB
    let splitTLB: Bool

    var handles: [HandleBinding] = []
    var segments: [Segment?] = []

    public internal(set) var slab = SlabAllocator()
    var knownFiles: [Bool] = []
    public internal(set) var pageCache: PageCache
    /// One kswapd per node, with the watermarks applied per node (as Linux).
    public internal(set) var kswapds: [Kswapd]
    var kswapdRanThisTick: [Bool]
    /// The node that allocations prefer now: the running process's home node,
    /// or a new process's while its address space is built.
    var preferredNode = 0
    var interleaveNext = 0
    public internal(set) var nodeCounters: [NodeCounters]
    /// Each node's free-space shape at the last tick close (computed once per tick).
    var closedShapes: [FreeSpaceShape] = []
    var reclaiming = false
    /// Frames held by `kmalloc` allocations above 4096 bytes.
    public internal(set) var kmallocLargeFrames = 0

    public var counters = Counters()
    public internal(set) var tick: UInt64 = 0

    /// Boots the machine: the kernel's page directory (PID 0) is its first frame,
    /// and kswapd's reclaimers are registered, slab first.
    public init(_ config: MachineConfig) {
        self.config = config
        let n = config.frames
        frames = NodeFrames(frames: n, reserved: config.reservedFrames, nodes: config.nodes)
        nodeCount = config.nodes
        allocatableFrames = config.allocatableFrames
        refcount = Array(repeating: 0, count: n)
        use = Array(repeating: .free, count: n)
        for f in 0..<config.reservedFrames { use[f] = .reserved }
        tables = TableMemory(frames: n)
        tlb = TLB(config.tlb, seed: config.seed)
        itlb = TLB(config.itlb ?? config.tlb, seed: config.seed &+ 1)
        splitTLB = config.itlb != nil
        pageCache = PageCache(policy: config.pageCachePolicy)
        var k = Kswapd(high: config.highWatermark, low: config.lowWatermark)
        k.kswapd_register_reclaimer(.slabReclaim)
        k.kswapd_register_reclaimer(.pageCacheReclaim)
        kswapds = Array(repeating: k, count: config.nodes)
        kswapdRanThisTick = Array(repeating: false, count: config.nodes)
        nodeCounters = Array(repeating: NodeCounters(), count: config.nodes)
        // validate() guarantees at least two allocatable frames.
        let dir = frames.allocate(count: 1, preferred: 0)!.frame
        kernelDirectory = dir
        currentDirectory = dir
        use[Int(dir)] = .directory
        counters.framesAllocated = 1
        tables.attach(dir)
        tables.write(dir, Paging.recursiveSlot, PTE.make(dir, [.present, .writable]))
        processes.append(Process(pid: 0, parent: nil, directory: dir, spawnedTick: 0))
        slotOfPID[0] = 0
    }

    // MARK: Physical frames

    /// Frames in use: allocatable minus free.
    public var usedFrames: Int { allocatableFrames - frames.freeCount }

    /// `mem_usage_pct()`: 100 · used / allocatable.
    public func mem_usage_pct() -> Double {
        100 * Double(usedFrames) / Double(allocatableFrames)
    }

    /// kswapd of node 0 (the only one without NUMA).
    public var kswapd: Kswapd { kswapds[0] }

    /// The node an allocation tries first: the preferred node, or the next
    /// one round-robin under the interleave policy.
    @inline(__always)
    mutating func firstChoiceNode() -> Int {
        guard nodeCount > 1 else { return 0 }
        guard config.numaPolicy == .interleave else { return preferredNode }
        let k = interleaveNext
        interleaveNext = (interleaveNext + 1) % frames.count
        return k
    }

    /// Takes `count` contiguous frames for `purpose`, running direct reclaim
    /// when none fit; counts an out-of-memory event and returns `nil` if that
    /// does not help either.
    @inline(__always)
    mutating func allocate(_ count: Int, for purpose: FrameUse) -> FrameNumber? {
        let first = firstChoiceNode()
        if let (f, k) = frames.allocate(count: count, preferred: first) {
            if k != first { nodeCounters[k].fallbackAllocations += 1 }
            taken(f, count, purpose)
            return f
        }
        return allocateSlowPath(count, for: purpose, first: first)
    }

    mutating func allocateSlowPath(_ count: Int, for purpose: FrameUse, first: Int) -> FrameNumber? {
        if config.directReclaim && !reclaiming {
            counters.directReclaims += 1
            while true {
                var freedThisPass = 0
                for r in kswapds[0].reclaimers {
                    let freed = reclaim(r, want: count, node: nil)
                    freedThisPass += freed
                    if freed > 0, let (f, k) = frames.allocate(count: count, preferred: first) {
                        if k != first { nodeCounters[k].fallbackAllocations += 1 }
                        taken(f, count, purpose)
                        return f
                    }
                }
                if freedThisPass == 0 { break }
            }
        }
        counters.oom += 1
        return nil
    }

    @inline(__always)
    private mutating func taken(_ f: FrameNumber, _ count: Int, _ purpose: FrameUse) {
        let footprint = Frames.footprint(count)
        for i in Int(f)..<Int(f) + footprint {
            use[i] = purpose
            refcount[i] = 0
        }
        counters.framesAllocated += footprint
    }

    /// Makes sure `n` single frames can be taken, reclaiming directly if needed.
    mutating func reserveFree(_ n: Int) -> Bool {
        if frames.freeCount >= n { return true }
        if config.directReclaim && !reclaiming {
            counters.directReclaims += 1
            while frames.freeCount < n {
                var freed = 0
                for r in kswapds[0].reclaimers where frames.freeCount < n {
                    freed += reclaim(r, want: n - frames.freeCount, node: nil)
                }
                if freed == 0 { break }
            }
        }
        return frames.freeCount >= n
    }

    /// Returns frames taken by `allocate(count, …)`.
    @inline(__always)
    mutating func release(_ f: FrameNumber, _ count: Int) {
        let footprint = Frames.footprint(count)
        for i in Int(f)..<Int(f) + footprint {
            use[i] = .free
            refcount[i] = 0
        }
        frames.free(f, count: count)
        counters.framesFreed += footprint
    }

    /// Drops one owner of a mapped frame; frees it with its last owner.
    @inline(__always)
    mutating func dropReference(_ f: FrameNumber) {
        refcount[Int(f)] -= 1
        if refcount[Int(f)] == 0 { release(f, 1) }
    }

    // MARK: Processes

    @inline(__always)
    func slot(_ pid: PID) -> Int32? { slotOfPID[pid] }

    func requireProcess(_ pid: PID, _ stmt: String) throws(ModelError) -> Int32 {
        guard let s = slotOfPID[pid] else { throw ModelError("\(stmt): unknown PID \(pid)") }
        return s
    }

    /// Live processes (the kernel included; failed creations excluded).
    public var processCount: Int { liveProcesses }

    /// The process with `pid`, if it exists.
    public func process(_ pid: PID) -> Process? {
        slotOfPID[pid].map { processes[Int($0)] }
    }

    /// Processes that exited since the last call, for the `processes` table.
    public mutating func takeFinishedProcesses() -> [ProcessRecord] {
        defer { finished.removeAll() }
        return finished
    }

    func record(_ p: Process, exited: Bool) -> ProcessRecord {
        ProcessRecord(pid: p.pid, parent: p.parent, spawnedTick: p.spawnedTick,
                      exitedTick: exited ? tick : nil, peakResident: p.peakResident,
                      resident: p.resident, faults: p.faults, cowFaults: p.cowFaults, segv: p.segv)
    }

    /// Records for every live process (end of run).
    public func liveProcessRecords() -> [ProcessRecord] {
        slotOfPID.values.sorted().map { processes[Int($0)] }.filter { !$0.failed }.map { record($0, exited: false) }
            .sorted { $0.pid < $1.pid }
    }

    // MARK: Events

    /// Applies one event (not a directive or tick, nor a `cache` declaration:
    /// the replay loop handles those, and declares a cache with
    /// `kmem_cache_create`, handing over the name the model keeps for
    /// slabinfo). `salloc`/`sfree` of a cache symbol not seen yet may name a
    /// boot-time `kmalloc-N` cache, which the symbol alone tells (see
    /// ``KmallocCaches``): the model never asks the reader for a name.
    @inline(__always)
    public mutating func apply(_ event: Event) throws(ModelError) {
        switch event {
        case let .access(kind, pid, va): try access(kind, pid, va)
        case let .palloc(h, count): try palloc(h, count: Int(count))
        case let .pfree(h): try pfree(h)
        case let .spawn(pid, node): try spawn(pid, node: node)
        case let .fork(parent, child): try fork(parent, child)
        case let .exit(pid): try exit(pid)
        case let .switchTo(pid): try switchTo(pid)
        case let .mmap(pid, start, end, perms, shared): try mmap(pid, start: start, end: end, perms: perms, shared: shared)
        case let .munmap(pid, start): try munmap(pid, start: start)
        case let .map(pid, va, h, perms): try map(pid, va, h, perms)
        case let .unmap(pid, va): try unmap(pid, va)
        case let .salloc(cache, object):
            if slab.cacheIndex(cache) == nil, let name = KmallocCaches.name(of: cache) { resolveCacheName(cache, name: name) }
            try salloc(cache, object)
        case let .sfree(cache, object):
            if slab.cacheIndex(cache) == nil, let name = KmallocCaches.name(of: cache) { resolveCacheName(cache, name: name) }
            try sfree(cache, object)
        case let .kmalloc(object, size): try kmalloc(object, size: Int(size))
        case let .kfree(object): try kfree(object)
        case let .fread(file, page): try pageCacheAccess(file, page, write: false)
        case let .fwrite(file, page): try pageCacheAccess(file, page, write: true)
        case let .fsync(file): try fsync(file)
        case let .fdrop(file): try fdrop(file)
        case .mem, .reserve, .nodes, .tick, .cache:
            throw ModelError("\(event.keyword): not an event the machine applies")
        }
    }
}
