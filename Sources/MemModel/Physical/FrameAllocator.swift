/// The physical allocator variants a replay can use.
public enum FrameAllocatorKind: String, CaseIterable, Sendable, Codable {
    /// One bit per frame, first fit a 64-bit word at a time.
    case bitmap
    /// The original design: a LIFO stack of free frames, the bitmap for state and contiguous runs.
    case stack
    /// Linux-style binary buddy system, orders 0...10.
    case buddy

    /// The one dispatch from a name to its allocator type: calls `visitor`
    /// with the concrete type, so the code it runs is specialized for it.
    @inline(__always)
    public func visit<V: FrameAllocatorVisitor>(_ visitor: V) throws(V.Failure) -> V.Result {
        switch self {
        case .bitmap: try visitor.visit(BitmapAllocator.self)
        case .stack: try visitor.visit(StackAllocator.self)
        case .buddy: try visitor.visit(BuddyAllocator.self)
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
    /// Returns frames taken by `allocate(count:)`, with the same `count`.
    mutating func free(_ base: FrameNumber, count: Int)
    /// Describes the first disagreement between the allocator's structures, if any.
    func invariantViolation() -> String?
}

extension FrameAllocator {
    public static func footprint(_ count: Int) -> Int { count }
}
