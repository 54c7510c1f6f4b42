import MemTrace

/// Linux 3.6's buddy allocator with grouping by mobility (Mel Gorman's
/// anti-fragmentation, 2.6.24): one zone, one CPU.
///
/// Source: `mm/page_alloc.c` of Linux 3.6.0 (lines as in that tree, see
/// `include/linux/mmzone.h` for the types):
///
/// - Memory is cut into **pageblocks** of 2^`pageblockOrder` frames; each has
///   a migrate type (`set_pageblock_migratetype`, L226–234), MOVABLE at boot
///   (`memmap_init_zone`, L3790–3793). i386 without hugetlbfs has
///   `pageblock_order = MAX_ORDER - 1` (`pageblock-flags.h`): 1024 frames.
/// - Every order has one free list per type. An allocation of type T takes
///   the head of T's smallest non-empty list (`__rmqueue_smallest`,
///   L869–893) and splits it keeping the lower half, each upper half going
///   to the head of T's list of its order (`expand`, L790–822).
/// - When T has nothing, `__rmqueue_fallback` (L994–1071) searches the other
///   types in the order of `fallbacks[]` (L900–911: UNMOVABLE → RECLAIMABLE,
///   MOVABLE; RECLAIMABLE → UNMOVABLE, MOVABLE; MOVABLE → RECLAIMABLE,
///   UNMOVABLE) from the **largest** order down. Taking a block of order
///   ≥ `pageblock_order / 2`, or any block for a RECLAIMABLE request, it
///   **steals**: every free block of that pageblock moves to T's lists
///   (`move_freepages_block`, L961–980), and if that was at least half the
///   pageblock (≥ 512 frames, the taken block included) the pageblock
///   becomes T (L1041–1044). In 3.6 the split remainder always goes to T's
///   lists, stolen or not (L1059–1061).
/// - Then MIGRATE_RESERVE, never a fallback source, serves as the last
///   resort through `__rmqueue_smallest` alone (`__rmqueue`, L1077–1101).
///   The reserve is `min(2, ⌈min_wmark / pageblock⌉)` pageblocks, the lowest
///   MOVABLE ones without reserved frames (`setup_zone_migrate_reserve`,
///   L3664–3739), with `min_wmark` from `min_free_kbytes = √(lowmem_kB·16)`
///   clamped to 128…65536 (L5226–5230) and `pages_min = min_free_kbytes / 4`.
/// - A freed block goes back to its **pageblock's** type (`__free_pages_ok`,
///   L733–734; `free_hot_cold_page`, L1304), merges with free buddies
///   whatever list they are on (`__free_one_page`, L529–598, `page_is_buddy`
///   ignores types), and is queued at the **tail** when the buddy of the
///   merged block's parent is free (it is likely to merge soon, L582–592),
///   else at the head.
/// - Grouping is off when the zone is small: fewer than
///   `pageblock_nr_pages · MIGRATE_TYPES` (5 · 1024) pages above the high
///   watermark (`build_all_zonelists`, L3559–3560). Then every type is
///   UNMOVABLE and there is no reserve (`set_pageblock_migratetype` stores
///   UNMOVABLE): one list per order, tail placement and all.
///
/// With NUMA, each node is a zone that computes its watermarks, reserve and
/// grouping switch from its own size (Linux shares `min_free_kbytes` out
/// among zones and decides grouping from the machine's total).
///
/// Simplifications: no per-CPU page lists (`free_hot_cold_page` batches
/// order-0 frees; here they reach the buddy lists at once, as after
/// `drain_all_pages`); no watermark checks (the machine's kswapd and direct
/// reclaim stand for them); `vm_total_pages` and `lowmem_kbytes` are the
/// allocatable frames; boot frees the free space as maximal aligned blocks in
/// ascending order (Linux frees it through `free_all_bootmem` in smaller
/// pieces, which merge to the same blocks but may queue them differently).
///
/// Free lists are doubly linked through per-frame indices; `order[f]` is the
/// order of the free block headed at `f` or -1, `listType[f]` the type of
/// the list it is on (which may differ from its pageblock's, as in 3.6).
///
/// Invariant: the free blocks are disjoint, naturally aligned, no two free
/// buddies coexist, they cover exactly the free bits of `bitmap`, each list's
/// links and count agree, and every pageblock's type is one of the four.
public struct MobilityBuddyAllocator: FrameAllocator {
    public private(set) var bitmap: FrameBitmap
    public private(set) var freeCount: Int
    public private(set) var mobilityCounters = MobilityCounters()
    /// 2^10 frames: `pageblock_order = MAX_ORDER - 1` on i386 without hugetlbfs.
    public static let pageblockOrder = maxOrder
    static let types = 4
    static let reserve = UInt8(PageTypeInfo.reserve)
    /// `fallbacks[]` (L900–911) without the MIGRATE_RESERVE terminators.
    static let fallbackOrder: [[UInt8]] = [[1, 2], [0, 2], [1, 0]]

    /// Whether `page_group_by_mobility_disabled` is clear.
    public let groupingEnabled: Bool
    private var heads: [Int32]
    private var tails: [Int32]
    private var counts: [Int32]
    private var next: [Int32]
    private var previous: [Int32]
    private var order: [Int8]
    private var listType: [UInt8]
    private var blockType: [UInt8]
    private let frames: Int

    public init(frames: Int, reserved: Int) {
        self.frames = frames
        let managed = frames - reserved
        let water = Self.watermarks(managedPages: managed)
        groupingEnabled = managed - water.high >= (1 << Self.pageblockOrder) * 5
        bitmap = FrameBitmap(frames: frames, reserved: frames)
        freeCount = 0
        heads = Array(repeating: -1, count: Self.types * (maxOrder + 1))
        tails = heads
        counts = Array(repeating: 0, count: Self.types * (maxOrder + 1))
        next = Array(repeating: -1, count: frames)
        previous = next
        order = Array(repeating: -1, count: frames)
        listType = Array(repeating: 0, count: frames)
        let blocks = (frames + (1 << Self.pageblockOrder) - 1) >> Self.pageblockOrder
        blockType = Array(repeating: groupingEnabled ? 2 : 0, count: blocks)
        var pieces: [(Int, Int)] = []
        FreeSpaceShape.decompose(start: reserved, length: managed) { o in
            let base = pieces.last.map { $0.0 + 1 << $0.1 } ?? reserved
            pieces.append((base, o))
        }
        for (base, o) in pieces {
            bitmap.setFree(base, count: 1 << o)
            freeBlock(base, order: o)
        }
        guard groupingEnabled else { return }
        var reserve = min(2, (water.min + (1 << Self.pageblockOrder) - 1) >> Self.pageblockOrder)
        for b in 0..<blocks where reserve > 0 {
            let start = b << Self.pageblockOrder
            if start < reserved || blockType[b] != 2 { continue }
            blockType[b] = Self.reserve
            _ = moveFreeBlocks(ofPageblock: b, to: Self.reserve)
            reserve -= 1
        }
    }

    /// The zone's watermarks in pages (`init_per_zone_wmark_min`,
    /// `__setup_per_zone_wmarks`, L5081–5125, one lowmem zone).
    static func watermarks(managedPages: Int) -> (min: Int, high: Int) {
        let kbytes = min(max(Int(Double(managedPages * 4 * 16).squareRoot()), 128), 65536)
        let pagesMin = kbytes >> 2
        return (pagesMin, pagesMin + pagesMin / 2)
    }

    /// 2^⌈log2 count⌉.
    public static func footprint(_ count: Int) -> Int { BuddyAllocator.footprint(count) }

    // MARK: Free lists

    @inline(__always)
    private static func list(_ type: UInt8, _ o: Int) -> Int { Int(type) * (maxOrder + 1) + o }

    @inline(__always)
    private mutating func push(_ f: Int, _ o: Int, _ type: UInt8, atTail: Bool = false) {
        let l = Self.list(type, o)
        if atTail {
            let t = tails[l]
            previous[f] = t
            next[f] = -1
            if t >= 0 { next[Int(t)] = Int32(f) } else { heads[l] = Int32(f) }
            tails[l] = Int32(f)
        } else {
            let h = heads[l]
            next[f] = h
            previous[f] = -1
            if h >= 0 { previous[Int(h)] = Int32(f) } else { tails[l] = Int32(f) }
            heads[l] = Int32(f)
        }
        counts[l] += 1
        order[f] = Int8(o)
        listType[f] = type
    }

    @inline(__always)
    private mutating func unlink(_ f: Int) {
        let l = Self.list(listType[f], Int(order[f]))
        let n = next[f], p = previous[f]
        if p >= 0 { next[Int(p)] = n } else { heads[l] = n }
        if n >= 0 { previous[Int(n)] = p } else { tails[l] = p }
        counts[l] -= 1
        order[f] = -1
    }

    /// `move_freepages_block()`: every free block of pageblock `b` to
    /// `type`'s lists (at their heads); the frames moved, or 0 when the
    /// pageblock runs past the end of the zone (L976–977).
    private mutating func moveFreeBlocks(ofPageblock b: Int, to type: UInt8) -> Int {
        let start = b << Self.pageblockOrder
        let end = start + 1 << Self.pageblockOrder
        guard end <= frames else { return 0 }
        var moved = 0
        var f = start
        while f < end {
            let o = Int(order[f])
            guard o >= 0 else { f += 1; continue }
            unlink(f)
            push(f, o, type)
            moved += 1 << o
            f += 1 << o
        }
        return moved
    }

    // MARK: Allocation

    public mutating func allocate(count: Int) -> FrameNumber? { allocate(count: count, type: .unmovable) }

    /// `__rmqueue()`: the type's own lists, then a fallback, then the reserve.
    public mutating func allocate(count: Int, type: MigrateType) -> FrameNumber? {
        let want = BuddyAllocator.orderFor(count)
        guard want <= maxOrder else { return nil }
        let t = groupingEnabled ? type.rawValue : 0
        guard let block = takeSmallest(want, t) ?? takeFallback(want, t) ?? takeSmallest(want, Self.reserve) else { return nil }
        bitmap.setUsed(block, count: 1 << want)
        freeCount -= 1 << want
        return FrameNumber(block)
    }

    /// `__rmqueue_smallest()`.
    @inline(__always)
    private mutating func takeSmallest(_ want: Int, _ type: UInt8) -> Int? {
        for o in want...maxOrder {
            let h = heads[Self.list(type, o)]
            guard h >= 0 else { continue }
            let block = Int(h)
            unlink(block)
            expand(block, want, o, type)
            return block
        }
        return nil
    }

    /// `expand()`: the upper halves of a split to the heads of `type`'s lists.
    @inline(__always)
    private mutating func expand(_ block: Int, _ low: Int, _ high: Int, _ type: UInt8) {
        var o = high
        while o > low {
            o -= 1
            push(block + 1 << o, o, type)
        }
    }

    /// `__rmqueue_fallback()`, L994–1071.
    private mutating func takeFallback(_ want: Int, _ start: UInt8) -> Int? {
        guard groupingEnabled else { return nil }
        for o in stride(from: maxOrder, through: want, by: -1) {
            for source in Self.fallbackOrder[Int(start)] {
                let h = heads[Self.list(source, o)]
                guard h >= 0 else { continue }
                let block = Int(h)
                let b = block >> Self.pageblockOrder
                var stole = false
                if o >= Self.pageblockOrder / 2 || start == MigrateType.reclaimable.rawValue {
                    let moved = moveFreeBlocks(ofPageblock: b, to: start)
                    if moved >= 1 << (Self.pageblockOrder - 1) {
                        if blockType[b] != start { mobilityCounters.claims += 1 }
                        blockType[b] = start
                    }
                    stole = true
                }
                unlink(block)
                if o >= Self.pageblockOrder && blockType[b] != start {
                    // change_pageblock_range(): one pageblock at this order.
                    mobilityCounters.claims += 1
                    blockType[b] = start
                }
                expand(block, want, o, start)
                mobilityCounters.fallbacks += 1
                if o < Self.pageblockOrder { mobilityCounters.fragmenting += 1 }
                if stole { mobilityCounters.steals += 1 }
                return block
            }
        }
        return nil
    }

    // MARK: Free

    public mutating func free(_ base: FrameNumber, count: Int) {
        let o = BuddyAllocator.orderFor(count)
        bitmap.setFree(base.index, count: 1 << o)
        freeBlock(base.index, order: o)
    }

    /// `__free_one_page()`, L529–598, to the pageblock's type.
    private mutating func freeBlock(_ base: Int, order start: Int) {
        var o = start
        var block = base
        freeCount += 1 << o
        let type = blockType[base >> Self.pageblockOrder]
        while o < maxOrder {
            let buddy = block ^ (1 << o)
            guard buddy < frames, order[buddy] == Int8(o) else { break }
            unlink(buddy)
            block &= buddy
            o += 1
        }
        // L582–592: if the parent's buddy is free at the parent's order,
        // this block will likely merge soon: queue it last.
        var tail = false
        if o < maxOrder - 1 {
            let parent = block & ~(1 << o)
            let uncle = parent ^ (1 << (o + 1))
            tail = uncle < frames && order[uncle] == Int8(o + 1) && block ^ (1 << o) < frames
        }
        push(block, o, type, atTail: tail)
    }

    // MARK: Compaction

    public static var supportsCompaction: Bool { true }
    public static var alignsBlocks: Bool { true }

    public var freeBlockCounts: [Int] {
        (0...maxOrder).map { o in (0..<Self.types).reduce(0) { $0 + Int(counts[Self.list(UInt8($1), o)]) } }
    }

    public func freeBlockOrder(at f: Int) -> Int? { order[f] >= 0 ? Int(order[f]) : nil }

    public func pageblockMigrateType(of f: Int) -> Int? { Int(blockType[f >> Self.pageblockOrder]) }

    /// compaction.c L691–699.
    public func hasFreeBlock(order want: Int, type: MigrateType) -> Bool {
        let t = groupingEnabled ? type.rawValue : 0
        for o in want...maxOrder {
            if counts[Self.list(t, o)] > 0 { return true }
            if o >= Self.pageblockOrder && (0..<Self.types).contains(where: { counts[Self.list(UInt8($0), o)] > 0 }) { return true }
        }
        return false
    }

    /// `split_free_page()`, page_alloc.c L1392–1429: a block of order ≥
    /// `pageblock_order − 1` turns its pageblock MOVABLE (L1418–1425).
    public mutating func isolateFreeBlock(at f: Int) -> Int? {
        guard order[f] >= 0 else { return nil }
        let o = Int(order[f])
        unlink(f)
        bitmap.setUsed(f, count: 1 << o)
        freeCount -= 1 << o
        if o >= Self.pageblockOrder - 1 {
            for b in f >> Self.pageblockOrder...(f + (1 << o) - 1) >> Self.pageblockOrder {
                blockType[b] = groupingEnabled ? MigrateType.movable.rawValue : 0
            }
        }
        return o
    }

    // MARK: What /proc shows

    public var pageTypes: PageTypeInfo? {
        var blocks = Array(repeating: 0, count: Self.types)
        for t in blockType { blocks[Int(t)] += 1 }
        let free = (0..<Self.types).map { t in (0...maxOrder).map { o in Int(counts[Self.list(UInt8(t), o)]) } }
        return PageTypeInfo(freeBlocks: free, pageblocks: blocks)
    }

    /// The type of the pageblock frame `f` is in (tests).
    public func pageblockType(of f: Int) -> Int { Int(blockType[f >> Self.pageblockOrder]) }

    /// The free blocks on `type`'s list of order `o`, head first (tests).
    public func freeList(type: Int, order o: Int) -> [Int] {
        var out: [Int] = []
        var f = heads[Self.list(UInt8(type), o)]
        while f >= 0 { out.append(Int(f)); f = next[Int(f)] }
        return out
    }

    public func invariantViolation() -> String? {
        var covered = 0
        var seen = FrameBitmap(frames: frames, reserved: 0)
        for t in 0..<Self.types {
            for o in 0...maxOrder {
                let l = Self.list(UInt8(t), o)
                var f = heads[l]
                var prev: Int32 = -1
                var n = 0
                while f >= 0 {
                    let b = Int(f)
                    let name = PageTypeInfo.typeNames[t]
                    if order[b] != Int8(o) || listType[b] != UInt8(t) {
                        return "buddy-mobility: block \(b) is on the \(name) order-\(o) list but records order \(order[b]), list \(listType[b])"
                    }
                    if previous[b] != prev { return "buddy-mobility: broken back link at block \(b)" }
                    if b & (1 << o - 1) != 0 { return "buddy-mobility: block \(b) of order \(o) is not aligned" }
                    for g in b..<b + 1 << o {
                        if bitmap.isUsed(g) { return "buddy-mobility: frame \(g) is in a free block but marked used" }
                        if seen.isUsed(g) { return "buddy-mobility: frame \(g) is in two free blocks" }
                        seen.setUsed(g)
                    }
                    if o < maxOrder, case let buddy = b ^ (1 << o), buddy < frames, order[buddy] == Int8(o) {
                        return "buddy-mobility: blocks \(b) and \(buddy) of order \(o) are free buddies that were not merged"
                    }
                    covered += 1 << o
                    n += 1
                    prev = f
                    f = next[b]
                }
                if tails[l] != prev { return "buddy-mobility: the \(PageTypeInfo.typeNames[t]) order-\(o) list's tail is \(tails[l]), its last block \(prev)" }
                if counts[l] != Int32(n) { return "buddy-mobility: the \(PageTypeInfo.typeNames[t]) order-\(o) list counts \(counts[l]) blocks, holds \(n)" }
            }
        }
        if let b = blockType.firstIndex(where: { $0 >= Self.types || (!groupingEnabled && $0 != 0) }) {
            return "buddy-mobility: pageblock \(b) has type \(blockType[b])"
        }
        if covered != freeCount { return "buddy-mobility: free lists cover \(covered) frames, free count is \(freeCount)" }
        let bits = bitmap.freeCount
        if bits != freeCount { return "buddy-mobility: bitmap has \(bits) free frames, free count is \(freeCount)" }
        return nil
    }
}
