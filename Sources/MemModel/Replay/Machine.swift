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

    /// The migrate type Linux allocates this use with: `GFP_HIGHUSER_MOVABLE`
    /// for user and page-cache pages (`do_anonymous_page()`, `do_wp_page()`,
    /// `page_cache_alloc()` with a mapping's default `GFP_HIGHUSER_MOVABLE`),
    /// `GFP_KERNEL` for the rest. A slab's cache and a `palloc`'s TYPE override it.
    @inline(__always)
    public var migrateType: MigrateType {
        switch self {
        case .anonymous, .segment, .pageCache: .movable
        default: .unmovable
        }
    }
}

/// What a `palloc` handle holds.
enum HandleBinding: Sendable, Equatable {
    case unbound
    /// The allocation failed (out of memory): `pfree` is a no-op.
    case failed
    /// `count` contiguous frames from `base`; `movable`: allocated as
    /// `movable`, so compaction may move a single frame.
    case frames(base: FrameNumber, count: Int32, movable: Bool)
}

/// The whole memory subsystem of one simulated machine.
///
/// Generic over the physical allocator and the TLB replacement policy (the
/// variant axes on the per-event path) so each combination gets a specialized
/// replay loop; ``MachineConfig/withMachineType(_:)`` picks them (or
/// `Replacement` is ``AnyTLBReplacement``, which follows the configuration).
///
/// The machine composes subsystems that own their state and counters — the
/// frame table, the process table, address translation, the slab layer, the
/// page cache, reclaim — and keeps only what crosses them: the page tables
/// and CR3, handles and shared segments, and the NUMA placement of the next
/// allocation. Operations that cross subsystems, such as a page fault that
/// allocates a frame and may reclaim, are extensions of `Machine` in each
/// subsystem's folder.
public struct Machine<Frames: FrameAllocator, Replacement: TLBReplacement>: Sendable {
    public let config: MachineConfig
    public internal(set) var frames: FrameTable<Frames>
    /// NUMA nodes (a plain copy of the node count for the per-access checks).
    let nodeCount: Int
    var tables: TableMemory
    public internal(set) var processes: ProcessTable
    /// CR3: the directory the tables' walks start from.
    var currentDirectory: FrameNumber { tables.activeDirectory }
    let kernelDirectory: FrameNumber
    public internal(set) var translation: Translation<Replacement>
    var handles: [HandleBinding] = []
    var segments: [Segment?] = []
    public internal(set) var slab: SlabAllocator
    public internal(set) var pageCache: PageCache
    public internal(set) var reclaim: ReclaimState
    public internal(set) var compaction: CompactionState
    /// The node that allocations prefer now: the running process's home node,
    /// or a new process's while its address space is built.
    var preferredNode = 0
    var interleaveNext = 0
    public internal(set) var nodeCounters: [NodeCounters]
    /// Each node's free-space shape at the last tick close (computed once per tick).
    var closedShapes: [FreeSpaceShape] = []
    /// Events applied (counted by the replay loop).
    public internal(set) var events = 0
    public internal(set) var tick: UInt64 = 0

    /// Boots the machine: the kernel's page directory (PID 0) is its first frame,
    /// and kswapd's reclaimers are registered, slab first.
    public init(_ config: MachineConfig) {
        self.config = config
        frames = FrameTable(config)
        nodeCount = config.nodes
        tables = TableMemory(frames: config.frames)
        translation = Translation(config, kernelContext: ProcessTable.kernelContext)
        slab = SlabAllocator(config.slab, totalPages: config.allocatableFrames)
        pageCache = PageCache(policy: config.pageCachePolicy, curve: config.mrc)
        reclaim = ReclaimState(config)
        compaction = CompactionState(config)
        nodeCounters = Array(repeating: NodeCounters(), count: config.nodes)
        // validate() guarantees at least two allocatable frames.
        let dir = frames.take(1, for: .directory, type: .unmovable, preferred: 0)!.frame
        kernelDirectory = dir
        tables.attach(dir)
        tables.write(dir, Paging.recursiveSlot, PTE.make(dir, [.present, .writable]))
        tables.activate(dir)
        processes = ProcessTable(kernel: Process(pid: 0, parent: nil, directory: dir, spawnedTick: 0))
    }

    /// `--mrc`: the miss-ratio curves' rows (table `mrc`).
    public var curveRows: [MRCRow] { translation.curveRows + (pageCache.curve?.rows ?? []) }

    /// Every counter, as the subsystems hold them now.
    public var counters: Counters {
        var c = Counters()
        c.events = events
        c.frames = frames.counters
        c.reclaim = reclaim.counters
        c.tlb = translation.counters
        c.paging = processes.counters
        c.pageCache = pageCache.counters
        for n in frames.physical.nodes { c.mobility = c.mobility.adding(n.mobilityCounters) }
        c.compaction = compaction.counters
        return c
    }

    // MARK: Physical frames

    /// Frames in use: allocatable minus free.
    public var usedFrames: Int { frames.usedCount }

    /// `mem_usage_pct()`: 100 · used / allocatable.
    public func mem_usage_pct() -> Double {
        100 * Double(usedFrames) / Double(frames.allocatable)
    }

    /// kswapd of node 0 (the only one without NUMA).
    public var kswapd: Kswapd { reclaim.kswapds[0] }

    /// The node an allocation tries first: the preferred node, or the next
    /// one round-robin under the interleave policy.
    @inline(__always)
    mutating func firstChoiceNode() -> Int {
        guard nodeCount > 1 else { return 0 }
        guard config.numaPolicy == .interleave else { return preferredNode }
        let k = interleaveNext
        interleaveNext = (interleaveNext + 1) % nodeCount
        return k
    }

    /// `pmm_alloc_page` and contiguous allocations: takes `count` frames for
    /// `purpose`, of migrate type `type` (by default the one Linux gives
    /// that use: ``FrameUse/migrateType``), running direct reclaim when none
    /// fit; counts an out-of-memory event and returns `nil` if that does not
    /// help either.
    @inline(__always)
    mutating func allocate(_ count: Int, for purpose: FrameUse, type: MigrateType? = nil) -> FrameNumber? {
        let first = firstChoiceNode()
        let type = type ?? purpose.migrateType
        if let (f, k) = frames.take(count, for: purpose, type: type, preferred: first) {
            if k != first { nodeCounters[k].fallbackAllocations += 1 }
            return f
        }
        return allocateSlowPath(count, for: purpose, type: type, first: first)
    }

    mutating func allocateSlowPath(_ count: Int, for purpose: FrameUse, type: MigrateType, first: Int) -> FrameNumber? {
        if compaction.mode != .off, let f = compactForAllocation(count, for: purpose, type: type, first: first) { return f }
        if config.directReclaim && !reclaim.reclaiming {
            reclaim.counters.directReclaims += 1
            while true {
                var freedThisPass = 0
                for r in reclaim.kswapds[0].reclaimers {
                    let freed = runReclaimer(r, want: count, node: nil)
                    freedThisPass += freed
                    if freed > 0, let (f, k) = frames.take(count, for: purpose, type: type, preferred: first) {
                        if k != first { nodeCounters[k].fallbackAllocations += 1 }
                        return f
                    }
                }
                if freedThisPass == 0 { break }
            }
        }
        reclaim.counters.oom += 1
        frames.pageStats.failed(count, purpose)
        return nil
    }

    /// Makes sure `n` single frames can be taken, reclaim.reclaiming directly if needed.
    mutating func reserveFree(_ n: Int) -> Bool {
        if frames.freeCount >= n { return true }
        if config.directReclaim && !reclaim.reclaiming {
            reclaim.counters.directReclaims += 1
            while frames.freeCount < n {
                var freed = 0
                for r in reclaim.kswapds[0].reclaimers where frames.freeCount < n {
                    freed += runReclaimer(r, want: n - frames.freeCount, node: nil)
                }
                if freed == 0 { break }
            }
        }
        return frames.freeCount >= n
    }

    /// `pmm_alloc_page`: one frame, with direct reclaim as ``allocate(_:for:)``.
    @inline(__always)
    mutating func pmm_alloc_page(for purpose: FrameUse) -> FrameNumber? { allocate(1, for: purpose) }

    /// `pmm_free_page`: returns a frame taken by ``pmm_alloc_page(for:)``.
    @inline(__always)
    mutating func pmm_free_page(_ f: FrameNumber) { frames.release(f, 1) }

    /// Returns `count` frames taken by ``allocate(_:for:)``.
    @inline(__always)
    mutating func release(_ f: FrameNumber, _ count: Int) { frames.release(f, count) }

    // MARK: Processes

    func requireProcess(_ pid: PID, _ stmt: String) throws(ModelError) -> Int32 {
        guard let s = processes.slot(of: pid) else { throw ModelError("\(stmt): unknown PID \(pid)") }
        return s
    }

    /// Live processes (the kernel included; failed creations excluded).
    public var processCount: Int { processes.live }

    /// The running process.
    public var currentPID: PID { processes.currentPID }

    /// The process with `pid`, if it exists.
    public func process(_ pid: PID) -> Process? {
        processes.slot(of: pid).map { processes[Int($0)] }
    }

    /// Processes that exited since the last call, for the `processes` table.
    public mutating func takeFinishedProcesses() -> [ProcessRecord] {
        defer { processes.finished.removeAll() }
        return processes.finished
    }

    func record(_ p: Process, exited: Bool) -> ProcessRecord {
        ProcessRecord(pid: p.pid, parent: p.parent, spawnedTick: p.spawnedTick,
                      exitedTick: exited ? tick : nil, peakResident: p.peakResident,
                      resident: p.resident, faults: p.faults, cowFaults: p.cowFaults, segv: p.segv)
    }

    /// Records for every live process (end of run).
    public func liveProcessRecords() -> [ProcessRecord] {
        processes.liveSlots.map { processes[Int($0)] }.filter { !$0.failed }.map { record($0, exited: false) }
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
        case let .palloc(h, count, type): try palloc(h, count: Int(count), type: type ?? .unmovable)
        case let .pfree(h): try pfree(h)
        case let .spawn(pid, node): try spawn(pid, node: node)
        case let .fork(parent, child): try fork(parent, child)
        case let .exit(pid): try exit(pid)
        case let .switchTo(pid): try switchTo(pid)
        case let .mmap(pid, start, end, perms, shared, huge): try mmap(pid, start: start, end: end, perms: perms, shared: shared, huge: huge)
        case let .munmap(pid, start): try munmap(pid, start: start)
        case let .map(pid, va, h, perms): try map(pid, va, h, perms)
        case let .unmap(pid, va): try unmap(pid, va)
        case let .salloc(cache, object, site, allocated):
            if slab.cacheIndex(cache) == nil, let name = KmallocCaches.name(of: cache) { resolveCacheName(cache, name: name) }
            try salloc(cache, object, site: site, allocated: allocated)
        case let .sfree(cache, object):
            if slab.cacheIndex(cache) == nil, let name = KmallocCaches.name(of: cache) { resolveCacheName(cache, name: name) }
            try sfree(cache, object)
        case let .kmalloc(object, size, site, allocated): try kmalloc(object, size: Int(size), site: site, allocated: allocated)
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
