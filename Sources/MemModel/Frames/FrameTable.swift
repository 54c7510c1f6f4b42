import MemTrace

/// Every physical frame: what it is used for, how many owners it has, and
/// the allocator variant (per NUMA node) that hands it out.
///
/// The seed's `pmm_alloc_page` / `pmm_free_page` sit here: ``take(_:for:preferred:)``
/// and ``release(_:_:)`` keep `use`, `refcount` and the allocator in step. What
/// happens when nothing fits — direct reclaim, which frees frames other
/// subsystems hold — crosses subsystems and is the machine's
/// (`Machine.allocate`).
///
/// Invariants (`--check`): a frame is free in the allocator exactly when its
/// use is `.free`; `counters.allocated − counters.freed` is the used count.
public struct FrameTable<Allocator: FrameAllocator>: Sendable {
    public private(set) var physical: NodeFrames<Allocator>
    /// What each frame holds (checked against every structure in `--check` mode).
    public internal(set) var use: [FrameUse]
    /// Owners of each frame: PTE mappings, plus one for a handle or shared segment holding it.
    public internal(set) var refcount: [UInt32]
    public let allocatable: Int
    public internal(set) var counters = FrameCounters()
    /// Allocations and frees by order and use (`kmem_pages`).
    var pageStats = PageAllocationStats()

    init(_ config: MachineConfig) {
        physical = NodeFrames(frames: config.frames, reserved: config.reservedFrames, nodes: config.nodes)
        allocatable = config.allocatableFrames
        refcount = Array(repeating: 0, count: config.frames)
        use = Array(repeating: .free, count: config.frames)
        for f in 0..<config.reservedFrames { use[f] = .reserved }
    }

    @inline(__always) public var freeCount: Int { physical.freeCount }
    /// Frames in use: allocatable minus free.
    @inline(__always) public var usedCount: Int { allocatable - physical.freeCount }
    @inline(__always) public func node(of f: FrameNumber) -> Int { physical.node(of: f) }

    /// Takes `count` contiguous frames for `purpose`, from `preferred` or the
    /// nearest node that has them; the first frame and its node, or `nil`.
    @inline(__always)
    mutating func take(_ count: Int, for purpose: FrameUse, type: MigrateType, preferred: Int) -> (frame: FrameNumber, node: Int)? {
        guard let (f, k) = physical.allocate(count: count, type: type, preferred: preferred) else { return nil }
        return taken(f, k, count, for: purpose)
    }

    /// ``take(_:for:type:preferred:)`` of `count` frames starting at a
    /// multiple of `count` (a 4 MiB page: 1024), from allocators that align
    /// their blocks (``FrameAllocator/alignsBlocks``); nil from the others,
    /// which are not asked. A block placed elsewhere all the same (a node
    /// whose first frame is not a multiple of `count`) goes straight back,
    /// uncounted.
    mutating func takeAligned(_ count: Int, for purpose: FrameUse, type: MigrateType, preferred: Int) -> (frame: FrameNumber, node: Int)? {
        guard Allocator.alignsBlocks else { return nil }
        guard let (f, k) = physical.allocate(count: count, type: type, preferred: preferred) else { return nil }
        guard f.index % count == 0 else {
            physical.free(f, count: count)
            return nil
        }
        return taken(f, k, count, for: purpose)
    }

    @inline(__always)
    private mutating func taken(_ f: FrameNumber, _ k: Int, _ count: Int, for purpose: FrameUse) -> (frame: FrameNumber, node: Int) {
        let footprint = Allocator.footprint(count)
        for i in f.index..<f.index + footprint {
            use[i] = purpose
            refcount[i] = 0
        }
        counters.allocated += footprint
        pageStats.allocated(count, purpose)
        return (f, k)
    }

    /// Returns frames taken by `take(count, …)`.
    @inline(__always)
    mutating func release(_ f: FrameNumber, _ count: Int) {
        let footprint = Allocator.footprint(count)
        pageStats.freed(count, use[f.index])
        for i in f.index..<f.index + footprint {
            use[i] = .free
            refcount[i] = 0
        }
        physical.free(f, count: count)
        counters.freed += footprint
    }

    /// Compaction's `split_free_page()`: the free block at `f` (on node
    /// `k`) taken off the free lists; its order, or nil. Its frames stay
    /// `.free` here until they are used or given back.
    mutating func isolateFreeBlock(at f: FrameNumber, node k: Int) -> Int? { physical.isolateFreeBlock(at: f, node: k) }

    /// Gives back a frame isolated by ``isolateFreeBlock(at:node:)`` and not used.
    mutating func releaseIsolated(_ f: FrameNumber) { physical.releaseIsolated(f) }

    /// Compaction's move: `new` (isolated from the free lists) takes over
    /// `old`'s use and owners, and `old` goes back to the allocator. Not an
    /// allocation or a free of the trace's: no counter changes.
    mutating func migrate(_ old: FrameNumber, to new: FrameNumber) {
        use[new.index] = use[old.index]
        refcount[new.index] = refcount[old.index]
        use[old.index] = .free
        refcount[old.index] = 0
        physical.releaseIsolated(old)
    }

    /// Adds an owner to a mapped frame.
    @inline(__always)
    mutating func addReference(_ f: FrameNumber) { refcount[f.index] += 1 }

    /// Drops one owner of a mapped frame; frees it with its last owner.
    @inline(__always)
    mutating func dropReference(_ f: FrameNumber) {
        refcount[f.index] -= 1
        if refcount[f.index] == 0 { release(f, 1) }
    }

    /// The allocator's own structures, then the frame table against them.
    /// Returns the first disagreement and, when there is none, the frames per use.
    func invariantViolation() -> (violation: String?, framesPerUse: [Int]) {
        var framesFor = [Int](repeating: 0, count: Int(FrameUse.kmallocLarge.rawValue) + 1)
        if let v = physical.invariantViolation() { return (v, framesFor) }
        var inUse = 0
        for f in 0..<use.count {
            let used = use[f] != .free
            let allocated = physical.isUsed(FrameNumber(f))
            if used != allocated {
                return ("frame \(f) is \(use[f]) in the frame table but \(allocated ? "used" : "free") in the allocator", framesFor)
            }
            if used && use[f] != .reserved { inUse += 1 }
            framesFor[Int(use[f].rawValue)] += 1
        }
        if inUse != usedCount { return ("\(inUse) frames have an owner but the allocator counts \(usedCount) used", framesFor) }
        if counters.allocated - counters.freed != usedCount {
            return ("\(counters.allocated) frames allocated - \(counters.freed) freed differs from \(usedCount) used", framesFor)
        }
        return (nil, framesFor)
    }
}

/// Frames handed out and returned by the physical allocator (footprints).
public struct FrameCounters: CounterSet {
    public var allocated = 0
    public var freed = 0
    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("frames_allocated", &allocated)
        v.counter("frames_freed", &freed)
    }
}
