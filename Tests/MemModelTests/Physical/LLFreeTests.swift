import Testing
@testable import MemModel

/// `--pmm llfree`: placement worked out by hand from llfree-rs (commit
/// 00f030e0) as `LLFreeAllocator`'s header describes it.
@Suite struct LLFreeTests {
    /// Three trees of 16384 frames (192 MiB), nothing reserved.
    @Test func placementAndReservation() {
        var a = LLFreeAllocator(frames: 3 * 16384, reserved: 0)
        // First reservation from tree 0: no tree is partial (every one has
        // ≥ 15360 free), so reserve_free takes tree 0; frame 0 is the first
        // clear bit of the hint's word.
        #expect(a.allocate(count: 1) == FrameNumber(0))
        #expect(a.reservedTree == 0)
        // Order 9: child 0 has 511 free, child 1 is whole: marked huge.
        #expect(a.allocate(count: 512) == FrameNumber(512))
        #expect(a.allocate(count: 1) == FrameNumber(1))
        // Order 6: a whole clear word; word 0 has bits 0 and 1 set, word 1 is clear.
        #expect(a.allocate(count: 64) == FrameNumber(64))
        // Order 10: an aligned pair of whole children; pair 0 holds child 0
        // (in use) and the huge child 1, so pair 1 (children 2, 3).
        #expect(a.allocate(count: 1024) == FrameNumber(1024))
        // Order 8: four aligned clear words of child 0 from word 0: words 4–7.
        #expect(a.allocate(count: 256) == FrameNumber(256))
        #expect(a.freeFrames(ofTree: 0) == 16384 - (1 + 512 + 1 + 64 + 1024 + 256))
        // Fourteen more pairs (children 4–31) leave tree 0 with 190 frames.
        for pair in 2..<16 { #expect(a.allocate(count: 1024) == FrameNumber(pair * 1024)) }
        #expect(a.freeFrames(ofTree: 0) == 190)
        #expect(a.freeHugeFrames == 2 * 16384 / 512)

        // 512 > 190: a new reservation. No tree is partial; reserve_free
        // from tree 0 skips the reserved tree 0 and takes tree 1, whose
        // first child becomes huge.
        #expect(a.allocate(count: 512) == FrameNumber(16384))
        #expect(a.reservedTree == 1)
        // Pairs from the hint's (children 32, 33, the first huge): 34–35, 36–37.
        #expect(a.allocate(count: 1024) == FrameNumber(17408))
        #expect(a.allocate(count: 1024) == FrameNumber(18432))
        #expect(a.freeFrames(ofTree: 1) == 16384 - 512 - 2048)
        #expect(a.invariantViolation() == nil)

        // Frees into tree 0, which is not reserved: after three in a row
        // there, the fourth finds it with more than 1024 free frames and
        // reserves it again (the free-reserve heuristic), writing tree 1's
        // 13824 back.
        a.free(FrameNumber(64), count: 64)
        a.free(FrameNumber(256), count: 256)
        a.free(FrameNumber(1024), count: 1024)
        #expect(a.reservedTree == 1)
        a.free(FrameNumber(2048), count: 1024)
        #expect(a.reservedTree == 0)
        #expect(a.freeFrames(ofTree: 0) == 190 + 64 + 256 + 2048)
        #expect(a.freeFrames(ofTree: 1) == 13824)
        // The hint is back at the tree's first word: frame 2.
        #expect(a.allocate(count: 1) == FrameNumber(2))
        #expect(a.allocate(count: 1024) == FrameNumber(1024))
        #expect(a.allocate(count: 1024) == FrameNumber(2048))
        // 509 frames left: the next order-10 request reserves again, and
        // the partially used tree 1 (13824 free) wins over the free tree 2.
        #expect(a.freeFrames(ofTree: 0) == 509)
        #expect(a.allocate(count: 1024) == FrameNumber(38 * 512))
        #expect(a.reservedTree == 1)
        #expect(a.invariantViolation() == nil)
        // Orders above 10 are not LLFree's.
        #expect(a.allocate(count: 2048) == nil)
    }

    /// The lowest aligned run of 2^k clear bits in a word (`first_zeros_aligned`).
    @Test func alignedZeroRuns() {
        #expect(LLFreeAllocator.firstAlignedZeros(0b1011, order: 0) == 2)
        #expect(LLFreeAllocator.firstAlignedZeros(0b0110, order: 1) == 4)  // 0–1 and 2–3 are taken
        #expect(LLFreeAllocator.firstAlignedZeros(0x0000_0000_FFFF_FFFE, order: 5) == 32)
        #expect(LLFreeAllocator.firstAlignedZeros(0x8000_0000_0000_0000, order: 5) == 0)
        #expect(LLFreeAllocator.firstAlignedZeros(1, order: 6) == nil)
        #expect(LLFreeAllocator.firstAlignedZeros(~0, order: 0) == nil)
    }
}
