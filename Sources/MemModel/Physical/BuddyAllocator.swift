import MemTrace

/// Linux-style binary buddy allocator (Knuth, TAOCP vol. 1, §2.5; Linux
/// `mm/page_alloc.c`), orders 0...``maxOrder``.
///
/// A request for n frames takes a block of 2^⌈log2 n⌉. A larger free block is
/// split, the lower half kept and each upper half put on its order's list (as
/// Linux's `expand()`); a freed block merges with its buddy (`base ^ 2^order`)
/// while the buddy is a free block of the same order.
///
/// Free lists are doubly linked through per-frame `next`/`previous` indices,
/// newest first; `order[f]` is the order of the free block headed at `f`, or -1.
///
/// Invariant: the free blocks are disjoint, naturally aligned, no two free
/// buddies coexist, and together they cover exactly the free bits of `bitmap`.
public struct BuddyAllocator: FrameAllocator {
    public private(set) var bitmap: FrameBitmap
    public private(set) var freeCount: Int
    private var heads: [Int32]
    private var next: [Int32]
    private var previous: [Int32]
    private var order: [Int8]
    /// Blocks on each order's list, as `/proc/buddyinfo` prints them.
    public private(set) var freeBlockCounts: [Int]
    private let frames: Int

    public init(frames: Int, reserved: Int) {
        self.frames = frames
        bitmap = FrameBitmap(frames: frames, reserved: reserved)
        freeCount = frames - reserved
        heads = Array(repeating: -1, count: maxOrder + 1)
        next = Array(repeating: -1, count: frames)
        previous = Array(repeating: -1, count: frames)
        order = Array(repeating: -1, count: frames)
        freeBlockCounts = Array(repeating: 0, count: maxOrder + 1)
        var blocks: [(Int, Int)] = []
        FreeSpaceShape.decompose(start: reserved, length: frames - reserved) { o in
            let base = blocks.last.map { $0.0 + 1 << $0.1 } ?? reserved
            blocks.append((base, o))
        }
        // Pushed highest first, so each list starts with its lowest block.
        for (base, o) in blocks.reversed() { push(base, o) }
    }

    /// 2^⌈log2 count⌉.
    public static func footprint(_ count: Int) -> Int { 1 << orderFor(count) }

    @inline(__always)
    static func orderFor(_ count: Int) -> Int {
        count <= 1 ? 0 : Int.bitWidth - (count - 1).leadingZeroBitCount
    }

    @inline(__always)
    private mutating func push(_ f: Int, _ o: Int) {
        let h = heads[o]
        next[f] = h
        previous[f] = -1
        if h >= 0 { previous[Int(h)] = Int32(f) }
        heads[o] = Int32(f)
        order[f] = Int8(o)
        freeBlockCounts[o] += 1
    }

    @inline(__always)
    private mutating func unlink(_ f: Int) {
        let o = Int(order[f])
        let n = next[f], p = previous[f]
        if p >= 0 { next[Int(p)] = n } else { heads[o] = n }
        if n >= 0 { previous[Int(n)] = p }
        order[f] = -1
        freeBlockCounts[o] -= 1
    }

    public mutating func allocate(count: Int) -> FrameNumber? {
        let want = Self.orderFor(count)
        guard want <= maxOrder else { return nil }
        var o = want
        while o <= maxOrder && heads[o] < 0 { o += 1 }
        guard o <= maxOrder else { return nil }
        let block = Int(heads[o])
        unlink(block)
        while o > want {
            o -= 1
            push(block + 1 << o, o)
        }
        bitmap.setUsed(block, count: 1 << want)
        freeCount -= 1 << want
        return FrameNumber(block)
    }

    public mutating func free(_ base: FrameNumber, count: Int) {
        var o = Self.orderFor(count)
        var block = base.index
        bitmap.setFree(block, count: 1 << o)
        freeCount += 1 << o
        while o < maxOrder {
            let buddy = block ^ (1 << o)
            guard buddy < frames, order[buddy] == Int8(o) else { break }
            unlink(buddy)
            block = min(block, buddy)
            o += 1
        }
        push(block, o)
    }

    // MARK: Compaction

    public static var supportsCompaction: Bool { true }
    public static var alignsBlocks: Bool { true }

    public func freeBlockOrder(at f: Int) -> Int? { order[f] >= 0 ? Int(order[f]) : nil }

    public func hasFreeBlock(order o: Int, type: MigrateType) -> Bool { freeBlockCounts[o...].contains { $0 > 0 } }

    public mutating func isolateFreeBlock(at f: Int) -> Int? {
        guard order[f] >= 0 else { return nil }
        let o = Int(order[f])
        unlink(f)
        bitmap.setUsed(f, count: 1 << o)
        freeCount -= 1 << o
        return o
    }

    public func invariantViolation() -> String? {
        var covered = 0
        var seen = FrameBitmap(frames: frames, reserved: 0)
        for o in 0...maxOrder {
            var f = heads[o]
            var prev: Int32 = -1
            var listed = 0
            while f >= 0 {
                let b = Int(f)
                if order[b] != Int8(o) { return "buddy: block \(b) is on the order-\(o) list but records order \(order[b])" }
                if previous[b] != prev { return "buddy: broken back link at block \(b)" }
                if b & (1 << o - 1) != 0 { return "buddy: block \(b) of order \(o) is not aligned" }
                for g in b..<b + 1 << o {
                    if bitmap.isUsed(g) { return "buddy: frame \(g) is in a free block but marked used" }
                    if seen.isUsed(g) { return "buddy: frame \(g) is in two free blocks" }
                    seen.setUsed(g)
                }
                if o < maxOrder, case let buddy = b ^ (1 << o), buddy < frames, order[buddy] == Int8(o) {
                    return "buddy: blocks \(b) and \(buddy) of order \(o) are free buddies that were not merged"
                }
                covered += 1 << o
                prev = f
                f = next[b]
                listed += 1
            }
            if listed != freeBlockCounts[o] { return "buddy: the order-\(o) list holds \(listed) blocks, \(freeBlockCounts[o]) counted" }
        }
        if covered != freeCount { return "buddy: free lists cover \(covered) frames, free count is \(freeCount)" }
        let bits = bitmap.freeCount
        if bits != freeCount { return "buddy: bitmap has \(bits) free frames, free count is \(freeCount)" }
        return nil
    }
}
