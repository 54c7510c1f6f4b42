/// A slab allocator variant (the slab axis): the caches, their slabs and the
/// kmalloc size classes, behind `kmem_cache_create`, `slab_alloc`,
/// `slab_free` and `slab_reclaim`.
///
/// The layer around it (``SlabAllocator``) keeps what every variant shares —
/// which trace symbol names which cache and which object lives where — and
/// the machine gives a variant its frames: when ``allocate(from:)`` finds no
/// free object, the machine takes ``growthFrames(of:)`` contiguous frames
/// and hands them to ``grow(_:base:)``. A variant never allocates frames
/// itself, so direct reclaim and NUMA placement stay the machine's.
///
/// Slab operations are far rarer than memory accesses, so the machine holds
/// its variant as an existential: adding a variant is one file in
/// `Variants/` and one case in ``SlabAllocatorKind``.
public protocol SlabVariant: Sendable {
    /// The largest request `kmalloc` serves from a cache; larger ones take
    /// whole frames from the page allocator.
    var kmallocMax: Int { get }
    /// Frames a `kmalloc(size)` above ``kmallocMax`` takes from the page
    /// allocator (contiguous).
    func largeFrames(for size: Int) -> Int
    /// Caches, boot-time ones first.
    var cacheCount: Int { get }
    func name(of cache: Int32) -> String
    /// Bytes one object of `cache` takes (slabinfo's `objsize`).
    func objectSize(of cache: Int32) -> Int
    /// The cache by its name (`kmalloc-64` etc.), for trace names.
    func cache(named name: String) -> Int32?
    /// `kmem_cache_create`: a new cache; its id. `reclaimable` is
    /// `SLAB_RECLAIM_ACCOUNT`, which keeps SLUB from merging the cache with
    /// one without it.
    mutating func createCache(name: String, size: Int, align: Int, reclaimable: Bool) -> Int32
    /// Whether a cache's slabs are allocated with its migrate type
    /// (`__GFP_RECLAIMABLE` for `SLAB_RECLAIM_ACCOUNT`); false where slab
    /// pages are shared by every cache (SLOB).
    static var slabPagesFollowCache: Bool { get }
    /// The cache `kmalloc(size)` uses, for `size <= kmallocMax` (the
    /// cache its objects are counted in).
    func kmallocCache(for size: Int) -> Int32
    mutating func kmalloc(size: Int) -> SlabObject?
    func kmallocGrowthFrames(size: Int) -> Int
    func kmallocDescriptorCache(size: Int) -> Int32?
    mutating func growForKmalloc(size: Int, base: FrameNumber, descriptor: SlabObject?)
    func kmallocBytes(size: Int) -> Int
    /// Bytes a `kmem_cache_alloc` from `cache` takes, as the tracepoint's
    /// `bytes_alloc` reports them.
    func cacheAllocationBytes(of cache: Int32) -> Int
    /// `slab_alloc`: a free object of `cache`, or `nil` when it must grow first.
    mutating func allocate(from cache: Int32) -> SlabObject?
    /// Frames one new slab of `cache` takes.
    func growthFrames(of cache: Int32) -> Int
    /// Adds a new slab at `base` (``growthFrames(of:)`` frames) to `cache`.
    mutating func grow(_ cache: Int32, base: FrameNumber)
    /// The cache a new slab of `cache` takes its off-slab descriptor from
    /// (SLAB's `slabp_cache`), or nil when the slab holds its own.
    func descriptorCache(of cache: Int32) -> Int32?
    /// ``grow(_:base:)`` with the descriptor the machine took from
    /// ``descriptorCache(of:)``.
    mutating func grow(_ cache: Int32, base: FrameNumber, descriptor: SlabObject?)
    /// `slab_free`; the slabs the variant gives back to the page allocator
    /// at once — none when empty slabs stay cached until `slab_reclaim`.
    mutating func free(_ object: SlabObject) -> [SlabRun]
    /// For `slab_reclaim`: takes an empty slab of `cache` whose first frame
    /// `accept`s off the cache, with any slab that its release emptied in
    /// turn (SLAB's off-slab descriptor going back); none when there is none.
    mutating func releaseEmptySlab(of cache: Int32, where accept: (FrameNumber) -> Bool) -> [SlabRun]
    /// Slabs of every cache that hold no live object: what `slab_reclaim`
    /// can return. Direct reclaim asks often, so this is a running count.
    var emptySlabs: Int { get }
    /// Whether `slab_reclaim` visits the caches newest first (else in
    /// creation order).
    var reclaimsNewestFirst: Bool { get }
    /// Live objects of `cache` (checked against the bound object IDs).
    func activeObjects(of cache: Int32) -> Int
    /// `/proc/slabinfo`, one row per cache.
    func slabinfo() -> [SlabInfoRow]
    /// Frames in slabs, live objects, object slots and wasted bytes, for the tick row.
    var totals: SlabTotals { get }
    /// The first broken invariant of the variant's structures, if any.
    func invariantViolation() -> String?
}

/// Slabs that hold their own management: no descriptor to take.
extension SlabVariant {
    public var reclaimsNewestFirst: Bool { false }
    /// The cache's object size (`s->size`, `cachep->size`).
    public func cacheAllocationBytes(of cache: Int32) -> Int { objectSize(of: cache) }
    public func descriptorCache(of cache: Int32) -> Int32? { nil }
    public mutating func grow(_ cache: Int32, base: FrameNumber, descriptor: SlabObject?) {
        precondition(descriptor == nil, "a descriptor for a variant without off-slab management")
        grow(cache, base: base)
    }
}

/// A slab's frames going back to the page allocator.
public struct SlabRun: Sendable, Equatable {
    public var base: FrameNumber
    public var frames: Int
}

/// `kmalloc` through size classes: the class cache's object, its slabs.
/// A variant without classes (SLOB) implements these itself.
extension SlabVariant {
    /// `kmalloc(size)`, `size <= kmallocMax`: an object, or `nil` when a
    /// slab must be added first (``kmallocGrowthFrames(size:)`` frames, then
    /// ``growForKmalloc(size:base:)``).
    public mutating func kmalloc(size: Int) -> SlabObject? { allocate(from: kmallocCache(for: size)) }
    public func kmallocGrowthFrames(size: Int) -> Int { growthFrames(of: kmallocCache(for: size)) }
    public func kmallocDescriptorCache(size: Int) -> Int32? { descriptorCache(of: kmallocCache(for: size)) }
    public mutating func growForKmalloc(size: Int, base: FrameNumber, descriptor: SlabObject?) {
        grow(kmallocCache(for: size), base: base, descriptor: descriptor)
    }
    /// Bytes `kmalloc(size)` takes as the kernel's `bytes_alloc` reports
    /// them: the class's object size.
    public func kmallocBytes(size: Int) -> Int { objectSize(of: kmallocCache(for: size)) }
}

/// Where an allocated object lives: its cache, slab and slot.
public struct SlabObject: Sendable, Equatable {
    public var cache: Int32
    public var slab: Int32
    public var index: Int32
}

/// The slab layer's state at a tick's close.
public struct SlabTotals: Sendable, Equatable {
    public var pages = 0
    public var objects = 0
    public var capacity = 0
    public var wasteBytes = 0
}

/// The slab allocator variants, by their command-line names (`--slab`).
public enum SlabAllocatorKind: String, CaseIterable, Sendable, Codable {
    /// Bonwick's slab allocator (USENIX 1994) with power-of-two kmalloc caches, the seed's model.
    case bonwick
    /// Linux 3.6's SLUB (`mm/slub.c`), on one CPU and one node.
    case slub
    /// Linux 3.6's SLAB (`mm/slab.c`): per-CPU arrays in front of full/partial/free slabs.
    case slab
    /// Linux 3.6's SLOB (`mm/slob.c`): first fit in shared pages.
    case slob

    /// The one dispatch from a name to its variant.
    /// `totalPages`: the machine's allocatable frames (SLAB's
    /// `slab_max_order` depends on them).
    public func makeVariant(totalPages: Int) -> any SlabVariant {
        switch self {
        case .bonwick: BonwickSlab()
        case .slub: SLUBSlab()
        case .slab: SLABSlab(totalPages: totalPages)
        case .slob: SLOBSlab()
        }
    }
}
