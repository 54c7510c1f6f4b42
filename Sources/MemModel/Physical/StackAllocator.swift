/// The original design's allocator: a LIFO stack of free frames for
/// `pmm_alloc_page`, with the bitmap for state and for contiguous requests.
///
/// `position[f]` is the stack slot of free frame `f` (or -1), so a contiguous
/// allocation found in the bitmap can take its frames out of the stack in O(1)
/// each: the top entry moves into the vacated slot.
///
/// Invariant: the stack holds exactly the free frames, each once, and
/// `position` inverts it.
public struct StackAllocator: FrameAllocator {
    public private(set) var bitmap: FrameBitmap
    private var stack: [FrameNumber]
    private var position: [Int32]

    public var freeCount: Int { stack.count }

    /// Frames are pushed from the highest down, so the first pops return the
    /// lowest frames, as a bitmap would.
    public init(frames: Int, reserved: Int) {
        bitmap = FrameBitmap(frames: frames, reserved: reserved)
        stack = []
        stack.reserveCapacity(frames - reserved)
        position = Array(repeating: -1, count: frames)
        for f in stride(from: frames - 1, through: reserved, by: -1) {
            position[f] = Int32(stack.count)
            stack.append(FrameNumber(f))
        }
    }

    public mutating func allocate(count: Int) -> FrameNumber? {
        if count == 1 {
            guard let f = stack.popLast() else { return nil }
            position[f.index] = -1
            bitmap.setUsed(f.index)
            return f
        }
        guard count <= stack.count, let f = bitmap.firstFit(count: count) else { return nil }
        for frame in f..<f + count { remove(frame) }
        bitmap.setUsed(f, count: count)
        return FrameNumber(f)
    }

    private mutating func remove(_ f: Int) {
        let slot = Int(position[f])
        let top = stack.removeLast()
        if top.index != f {
            stack[slot] = top
            position[top.index] = Int32(slot)
        }
        position[f] = -1
    }

    /// The lowest frame of a freed run ends on top of the stack.
    public mutating func free(_ base: FrameNumber, count: Int) {
        for f in stride(from: base.index + count - 1, through: base.index, by: -1) {
            position[f] = Int32(stack.count)
            stack.append(FrameNumber(f))
        }
        bitmap.setFree(base.index, count: count)
    }

    public func invariantViolation() -> String? {
        let counted = bitmap.freeCount
        if counted != stack.count { return "stack allocator: \(stack.count) frames on the free stack but \(counted) free in the bitmap" }
        for (slot, f) in stack.enumerated() {
            if bitmap.isUsed(f.index) { return "stack allocator: frame \(f) is on the free stack but marked used" }
            if position[f.index] != Int32(slot) { return "stack allocator: position of frame \(f) is \(position[f.index]), not \(slot)" }
        }
        return nil
    }

    /// Free frames from the top of the stack down (tests).
    public var stackFromTop: [FrameNumber] { stack.reversed() }
}
