import MemTrace

/// The physical allocator variants a replay can use.
public enum FrameAllocatorKind: String, CaseIterable, Sendable, Codable {
    /// One bit per frame, first fit a 64-bit word at a time.
    case bitmap
    /// The original design: a LIFO stack of free frames, the bitmap for state and contiguous runs.
    case stack
    /// Linux-style binary buddy system, orders 0...10.
    case buddy
    /// Linux 3.6's buddy allocator with grouping by mobility: free lists per
    /// migrate type, 4 MiB pageblocks, fallback and stealing.
    case buddyMobility = "buddy-mobility"
    /// LLFree (Wrenger et al., USENIX ATC 2023): bitfields, 2 MiB children,
    /// 64 MiB trees reserved by the core, partially used trees preferred.
    case llfree

    /// Whether `--compaction` can run on this variant.
    public var supportsCompaction: Bool {
        struct Ask: FrameAllocatorVisitor { func visit<F: FrameAllocator>(_ type: F.Type) -> Bool { F.supportsCompaction } }
        return visit(Ask())
    }

    /// The one dispatch from a name to its allocator type: calls `visitor`
    /// with the concrete type, so the code it runs is specialized for it.
    @inline(__always)
    public func visit<V: FrameAllocatorVisitor>(_ visitor: V) throws(V.Failure) -> V.Result {
        switch self {
        case .bitmap: try visitor.visit(BitmapAllocator.self)
        case .stack: try visitor.visit(StackAllocator.self)
        case .buddy: try visitor.visit(BuddyAllocator.self)
        case .buddyMobility: try visitor.visit(MobilityBuddyAllocator.self)
        case .llfree: try visitor.visit(LLFreeAllocator.self)
        }
    }
}

/// Code to run with an allocator variant's concrete type (see ``FrameAllocatorKind/visit(_:)``).
public protocol FrameAllocatorVisitor {
    associatedtype Result
    associatedtype Failure: Error = Never
    func visit<F: FrameAllocator>(_ type: F.Type) throws(Failure) -> Result
}

/// A physical frame allocator (`pmm_alloc_page` / `pmm_free_page` and
/// contiguous allocations) over frames `[reserved, frames)`.
///
/// Conformers are value types so the machine that holds one is specialized
/// for it: the replay loop pays no dynamic dispatch per allocation.
public protocol FrameAllocator: Sendable {
    init(frames: Int, reserved: Int)
    /// Frames currently free.
    var freeCount: Int { get }
    /// Allocation state of every frame.
    var bitmap: FrameBitmap { get }
    /// Frames a request for `count` contiguous frames really takes.
    static func footprint(_ count: Int) -> Int
    /// Takes `count` contiguous frames; the first one, or `nil` when no run fits.
    mutating func allocate(count: Int) -> FrameNumber?
    /// Takes `count` contiguous frames for an allocation of migrate type
    /// `type`. Variants that do not group by mobility ignore the type.
    mutating func allocate(count: Int, type: MigrateType) -> FrameNumber?
    /// Free blocks per migrate type and order and pageblocks per type, as
    /// `/proc/pagetypeinfo` shows them; nil for variants without grouping.
    var pageTypes: PageTypeInfo? { get }
    /// Allocations served from another migrate type's free lists so far.
    var mobilityCounters: MobilityCounters { get }
    /// Whether memory compaction can run on this variant: it has free
    /// blocks to isolate (the buddy variants).
    static var supportsCompaction: Bool { get }
    /// Whether a block of 2^k frames starts at a multiple of 2^k (the
    /// buddy variants, LLFree), so that a 4 MiB page (`mmap … huge`) can
    /// be asked of it. The seed's stack and bitmap allocators place runs
    /// anywhere: a 4 MiB page is not asked of them, which would change
    /// their state when the run came back unaligned.
    static var alignsBlocks: Bool { get }
    /// Free blocks per order 0...``maxOrder`` (`free_area[order].nr_free`).
    var freeBlockCounts: [Int] { get }
    /// The order of the free block that starts at frame `f` (`PageBuddy`), or nil.
    func freeBlockOrder(at f: Int) -> Int?
    /// The migrate type number of frame `f`'s pageblock; nil without pageblock types.
    func pageblockMigrateType(of f: Int) -> Int?
    /// `compact_finished()`'s test: a free block of at least `order` on
    /// `type`'s lists, or any free block of a whole pageblock.
    func hasFreeBlock(order: Int, type: MigrateType) -> Bool
    /// `split_free_page()`: takes the free block that starts at `f` off
    /// the free lists (its frames marked used); its order, or nil.
    mutating func isolateFreeBlock(at f: Int) -> Int?
    /// Returns frames taken by `allocate(count:)`, with the same `count`.
    mutating func free(_ base: FrameNumber, count: Int)
    /// Describes the first disagreement between the allocator's structures, if any.
    func invariantViolation() -> String?
}

extension FrameAllocator {
    public static func footprint(_ count: Int) -> Int { count }
    @inline(__always)
    public mutating func allocate(count: Int, type: MigrateType) -> FrameNumber? { allocate(count: count) }
    public var pageTypes: PageTypeInfo? { nil }
    public var mobilityCounters: MobilityCounters { MobilityCounters() }
    public static var supportsCompaction: Bool { false }
    public static var alignsBlocks: Bool { false }
    public var freeBlockCounts: [Int] { FreeSpaceShape(bitmap).blocksPerOrder }
    public func freeBlockOrder(at f: Int) -> Int? { nil }
    public func pageblockMigrateType(of f: Int) -> Int? { nil }
    public func hasFreeBlock(order: Int, type: MigrateType) -> Bool { freeBlockCounts[order...].contains { $0 > 0 } }
    public mutating func isolateFreeBlock(at f: Int) -> Int? { nil }
}
