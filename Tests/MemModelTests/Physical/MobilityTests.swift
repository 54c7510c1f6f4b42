import Testing
import MemTrace
@testable import MemModel

/// `--pmm buddy-mobility`: Linux 3.6's grouping by mobility, with every
/// expectation worked out by hand from `mm/page_alloc.c` (3.6.0; the line
/// numbers are those the allocator's header cites).
@Suite struct MobilityTests {
    let unmovable = 0, reclaimable = 1, movable = 2, reserve = 3

    /// 24 MiB: 6144 frames, six pageblocks. `min_free_kbytes` =
    /// ⌊√(6144 · 4 · 16)⌋ = 627, so `pages_min` = 156 and high = 234;
    /// 6144 − 234 ≥ 5 · 1024 keeps grouping on, and ⌈156 / 1024⌉ = 1 reserve
    /// pageblock: the lowest MOVABLE one, block 0.
    func machine() -> MobilityBuddyAllocator {
        MobilityBuddyAllocator(frames: 6144, reserved: 0)
    }

    @Test func bootLayout() {
        let a = machine()
        #expect(a.groupingEnabled)
        #expect(MobilityBuddyAllocator.watermarks(managedPages: 6144) == (156, 234))
        #expect(a.pageTypes?.pageblocks == [0, 0, 5, 1])
        #expect(a.freeList(type: reserve, order: 10) == [0])
        // Boot frees the order-10 blocks in ascending order, each at the
        // head of its list (order ≥ 9 never goes to the tail): highest first.
        #expect(a.freeList(type: movable, order: 10) == [5120, 4096, 3072, 2048, 1024])
        #expect(a.invariantViolation() == nil)
    }

    @Test func fallbackStealAndClaim() {
        var a = machine()
        // No UNMOVABLE block: __rmqueue_fallback from order 10 down tries
        // RECLAIMABLE then MOVABLE; MOVABLE's order-10 head is 5120. Order
        // 10 ≥ pageblock_order / 2 steals, 1024 ≥ 512 claims the pageblock,
        // and expand() leaves 5632 (o9) … 5121 (o0) on UNMOVABLE's lists.
        #expect(a.allocate(count: 1, type: .unmovable) == FrameNumber(5120))
        #expect(a.mobilityCounters == counters(fallbacks: 1, fragmenting: 0, steals: 1, claims: 1))
        #expect(a.pageblockType(of: 5120) == unmovable)
        #expect(a.freeList(type: unmovable, order: 9) == [5632])
        #expect(a.freeList(type: unmovable, order: 0) == [5121])
        #expect(a.pageTypes?.pageblocks == [1, 0, 4, 1])
        // Now UNMOVABLE serves itself: orders 9 … 5 from block 5.
        for (count, frame) in [(512, 5632), (256, 5376), (128, 5248), (64, 5184), (32, 5152)] {
            #expect(a.allocate(count: count, type: .unmovable) == FrameNumber(frame))
        }
        // MOVABLE takes its four order-10 blocks, head first.
        for frame in [4096, 3072, 2048, 1024] {
            #expect(a.allocate(count: 1024, type: .movable) == FrameNumber(frame))
        }
        #expect(a.mobilityCounters.fallbacks == 1)

        // A MOVABLE page now falls back. From order 10 down, the first
        // non-empty list of RECLAIMABLE or UNMOVABLE is UNMOVABLE's order 4
        // (5136). Order 4 < 5 and the request is not RECLAIMABLE: no steal,
        // the pageblock stays UNMOVABLE, yet 3.6's expand() puts the
        // remainder 5144 (o3), 5140 (o2), 5138 (o1), 5137 (o0) on MOVABLE's
        // lists (L1059–1061).
        #expect(a.allocate(count: 1, type: .movable) == FrameNumber(5136))
        #expect(a.mobilityCounters == counters(fallbacks: 2, fragmenting: 1, steals: 1, claims: 1))
        #expect(a.pageblockType(of: 5136) == unmovable)
        #expect((0...3).map { a.freeList(type: movable, order: $0) } == [[5137], [5138], [5140], [5144]])
        #expect(a.invariantViolation() == nil)

        // Freed, 5136 goes back by its pageblock's type and merges with the
        // MOVABLE-listed buddies (page_is_buddy ignores types) up to order
        // 4; its buddy 5152 is in use, so it stops there, at UNMOVABLE's head.
        a.free(FrameNumber(5136), count: 1)
        #expect(a.freeList(type: unmovable, order: 4) == [5136])
        #expect((0...3).allSatisfy { a.freeList(type: movable, order: $0).isEmpty })
        #expect(a.invariantViolation() == nil)

        // A RECLAIMABLE request always steals: UNMOVABLE's highest block is
        // order 4 (5136); the pageblock's free blocks 5121 + 5122 + 5124 +
        // 5128 + 5136 = 1 + 2 + 4 + 8 + 16 = 31 frames move to RECLAIMABLE,
        // fewer than 512, so the pageblock stays UNMOVABLE.
        #expect(a.allocate(count: 1, type: .reclaimable) == FrameNumber(5136))
        #expect(a.mobilityCounters == counters(fallbacks: 3, fragmenting: 2, steals: 2, claims: 1))
        #expect(a.pageblockType(of: 5136) == unmovable)
        #expect(a.pageTypes?.freeBlocks[reclaimable] == [2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0])
        #expect(a.pageTypes?.freeBlocks[unmovable] == Array(repeating: 0, count: 11))

        // An order-10 MOVABLE request finds nothing of order 10 but the
        // reserve, which only __rmqueue_smallest reaches, last.
        #expect(a.allocate(count: 1024, type: .movable) == FrameNumber(0))
        #expect(a.mobilityCounters.fallbacks == 3)
        #expect(a.allocate(count: 1024, type: .movable) == nil)
        #expect(a.invariantViolation() == nil)
    }

    /// 16 MiB: 4096 − 192 < 5120, so grouping is off: one list per order,
    /// no reserve. Eight single pages come from the top block, 3072 … 3079.
    /// Frees of 3074, 3075 and 3077 leave 3074 (o1) and 3077 (o0) free; then
    /// 3072's buddy 3073 is in use, but its parent's buddy 3074 is free at
    /// order 1, so 3072 is queued at the tail (L582–592): [3077, 3072].
    @Test func freedBlockLikelyToMergeGoesLast() {
        var a = MobilityBuddyAllocator(frames: 4096, reserved: 0)
        #expect(!a.groupingEnabled)
        #expect(a.pageTypes?.pageblocks == [4, 0, 0, 0])
        let pages = (0..<8).map { _ in a.allocate(count: 1, type: .movable)! }
        #expect(pages == (3072..<3080).map { FrameNumber($0) })
        for f in [3074, 3075, 3077, 3072] { a.free(FrameNumber(f), count: 1) }
        #expect(a.freeList(type: unmovable, order: 1) == [3074])
        #expect(a.freeList(type: unmovable, order: 0) == [3077, 3072])
        #expect(a.mobilityCounters == MobilityCounters())
        #expect(a.invariantViolation() == nil)
    }

    func counters(fallbacks: Int, fragmenting: Int, steals: Int, claims: Int) -> MobilityCounters {
        var c = MobilityCounters()
        c.fallbacks = fallbacks
        c.fragmenting = fragmenting
        c.steals = steals
        c.claims = claims
        return c
    }
}
