import Testing
import MemTrace
@testable import MemModel

/// Physical allocators: the same calls, hand-computed results per variant.
@Suite struct PhysicalTests {
    func make(_ kind: FrameAllocatorKind, frames: Int, reserved: Int) -> any FrameAllocator {
        switch kind {
        case .bitmap: BitmapAllocator(frames: frames, reserved: reserved)
        case .stack: StackAllocator(frames: frames, reserved: reserved)
        case .buddy: BuddyAllocator(frames: frames, reserved: reserved)
        case .buddyMobility: MobilityBuddyAllocator(frames: frames, reserved: reserved)
        case .llfree: LLFreeAllocator(frames: frames, reserved: reserved)
        }
    }

    @Test(arguments: FrameAllocatorKind.allCases)
    func contract(kind: FrameAllocatorKind) {
        var a = make(kind, frames: 64, reserved: 8)
        #expect(a.freeCount == 56)
        var taken: [FrameNumber] = []
        while let f = a.allocate(count: 1) { taken.append(f) }
        #expect(taken.count == 56)
        #expect(Set(taken) == Set((8..<64).map { FrameNumber($0) }))
        #expect(a.freeCount == 0)
        #expect(a.allocate(count: 1) == nil)
        for f in taken { a.free(f, count: 1) }
        #expect(a.freeCount == 56)
        #expect(a.invariantViolation() == nil)
        // A contiguous run of 8 fits in 56 free frames, aligned or not.
        let run = a.allocate(count: 8)
        #expect(run != nil)
        #expect(a.freeCount == 48)
        #expect(a.invariantViolation() == nil)
    }

    @Test func stackIsLIFOAndStartsLow() {
        var s = StackAllocator(frames: 32, reserved: 4)
        #expect(s.allocate(count: 1) == FrameNumber(4))
        #expect(s.allocate(count: 1) == FrameNumber(5))
        #expect(s.allocate(count: 1) == FrameNumber(6))
        s.free(FrameNumber(4), count: 1)
        s.free(FrameNumber(6), count: 1)
        #expect(s.allocate(count: 1) == FrameNumber(6))  // last freed, first reused
        #expect(s.allocate(count: 1) == FrameNumber(4))
        #expect(s.allocate(count: 1) == FrameNumber(7))
        // A contiguous request comes from the bitmap, first fit.
        s.free(FrameNumber(5), count: 1)
        #expect(s.allocate(count: 3) == FrameNumber(8))
        #expect(s.invariantViolation() == nil)
        #expect(s.freeCount == 32 - 4 - 3 - 3)
    }

    @Test func bitmapIsFirstFit() {
        var b = BitmapAllocator(frames: 200, reserved: 0)
        for i in 0..<130 { #expect(b.allocate(count: 1) == FrameNumber(i)) }
        b.free(FrameNumber(3), count: 1)
        b.free(FrameNumber(70), count: 2)
        b.free(FrameNumber(100), count: 5)
        #expect(b.allocate(count: 1) == FrameNumber(3))
        #expect(b.allocate(count: 3) == FrameNumber(100))  // 70..71 is too short
        #expect(b.allocate(count: 2) == FrameNumber(70))
        #expect(b.allocate(count: 80) == nil)  // 130..199 is 70 frames
        #expect(b.allocate(count: 70) == FrameNumber(130))
        #expect(b.invariantViolation() == nil)
    }

    @Test func buddySplitAndMerge() {
        var b = BuddyAllocator(frames: 16, reserved: 0)
        #expect(b.freeBlockCounts[0...4] == [0, 0, 0, 0, 1])
        #expect(b.allocate(count: 1) == FrameNumber(0))
        // 16 split into 8@8, 4@4, 2@2, 1@1: one free block of each order below 4.
        #expect(b.freeBlockCounts[0...4] == [1, 1, 1, 1, 0])
        #expect(b.allocate(count: 3) == FrameNumber(4))  // rounded up to order 2
        #expect(b.freeCount == 16 - 1 - 4)
        #expect(b.freeBlockCounts[0...4] == [1, 1, 0, 1, 0])
        b.free(FrameNumber(0), count: 1)  // merges with 1, then with 2..3: an order-2 block at 0
        #expect(b.freeBlockCounts[0...4] == [0, 0, 1, 1, 0])
        b.free(FrameNumber(4), count: 3)  // 4..7 merges with 0..3, then with 8..15
        #expect(b.freeBlockCounts[0...4] == [0, 0, 0, 0, 1])
        #expect(b.freeCount == 16)
        #expect(b.invariantViolation() == nil)
        #expect(b.allocate(count: 17) == nil)
        #expect(BuddyAllocator.footprint(5) == 8)
        #expect(BuddyAllocator.footprint(1024) == 1024)
    }

    @Test func buddyStartsFromAlignedBlocksAboveTheReserve() {
        let b = BuddyAllocator(frames: 256, reserved: 16)
        // 16..255 = 16@16 + 32@32 + 64@64 + 128@128
        #expect(b.freeBlockCounts == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0])
        #expect(FreeSpaceShape(b.bitmap).blocksPerOrder == b.freeBlockCounts)
    }

    @Test func buddyLargestOrderIsTen() {
        var b = BuddyAllocator(frames: 4096, reserved: 0)
        #expect(b.freeBlockCounts[10] == 4)
        #expect(b.allocate(count: 1024) == FrameNumber(0))
        #expect(b.allocate(count: 1025) == nil)
    }

    @Test func freeSpaceShapeDecomposesRunsGreedily() {
        var bits = FrameBitmap(frames: 64, reserved: 0)
        bits.setUsed(0, count: 64)
        bits.setFree(3, count: 13)  // 3..15: 3(o0) 4..7(o2) 8..15(o3)
        bits.setFree(32, count: 3)  // 32..34: 32..33(o1) 34(o0)
        let s = FreeSpaceShape(bits)
        #expect(s.largestFreeRun == 13)
        #expect(s.blocksPerOrder[0...3] == [2, 1, 1, 1])
        #expect(bits.freeCount == 16)
    }

    /// The shape's word-at-a-time counts equal the greedy split of every
    /// free run, walked run by run (the definition), on random bitmaps:
    /// sizes that end inside a word, inside a 4096-frame group and on a
    /// boundary; free and used stretches from 1 frame to past 4 MiB, so
    /// every order and runs across words and groups occur.
    @Test func freeSpaceShapeEqualsTheGreedySplitOfEveryRun() {
        var rng: UInt64 = 0x9E37_79B9
        func next(_ bound: Int) -> Int {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return Int(rng % UInt64(bound))
        }
        var seen = Array(repeating: false, count: maxOrder + 1)
        for frames in [64, 100, 4096, 5000, 8192, 20_000, 65_536 + 77] {
            for round in 0 ..< 40 {
                var bits = FrameBitmap(frames: frames, reserved: 0)
                var f = 0
                // Stretch lengths: mostly short, sometimes up to 3000 frames.
                let scale = [4, 70, 3000][round % 3]
                while f < frames {
                    let used = 1 + next(scale), free = 1 + next(scale)
                    bits.setUsed(f, count: min(used, frames - f))
                    f += used + free
                }
                var expected = FreeSpaceShape()
                bits.forEachFreeRun { start, length in
                    expected.largestFreeRun = max(expected.largestFreeRun, length)
                    FreeSpaceShape.decompose(start: start, length: length) { expected.blocksPerOrder[$0] += 1 }
                }
                let shape = FreeSpaceShape(bits)
                #expect(shape == expected, "\(frames) frames, round \(round)")
                for o in 0 ... maxOrder where expected.blocksPerOrder[o] > 0 { seen[o] = true }
            }
        }
        #expect(seen.allSatisfy { $0 })
        let empty = FrameBitmap(frames: 3000, reserved: 3000)
        #expect(FreeSpaceShape(empty) == FreeSpaceShape())
        var whole = FreeSpaceShape()
        whole.largestFreeRun = 3000
        FreeSpaceShape.decompose(start: 0, length: 3000) { whole.blocksPerOrder[$0] += 1 }
        #expect(FreeSpaceShape(FrameBitmap(frames: 3000, reserved: 0)) == whole)
    }

    /// Hand computation of traces/basic.trace (240 allocatable frames, 16..255).
    /// Tick 0: frames 16 (kernel page directory), a=17 b=18 c=19, run8=20..27, b freed.
    @Test(arguments: FrameAllocatorKind.allCases)
    func basicTraceRows(kind: FrameAllocatorKind) throws {
        var sink = RecordingSink()
        var options = ReplayOptions()
        options.machine.pmm = kind
        let s = try Replayer.run(path: tracesFolder + "/basic.trace", options: options, sink: &sink)
        #expect(s.config.allocatableFrames == 240)
        let rows = sink.ticks
        #expect(rows.map(\.tick) == [0, 1, 2, 10])
        #expect(rows.map(\.delta.events) == [5, 5, 6, 0])
        #expect(rows.map(\.delta.reclaim.oom) == [0, 0, 1, 0])
        // Tick 0 is the same for all: free 18 and 28..255.
        #expect(rows[0].gauges.freePages == 229)
        #expect(rows[0].gauges.usedPages == 11)
        switch kind {
        case .bitmap, .stack:
            // a, c, run8 taken; 18 free and 28..255 (o2@28 o5@32 o6@64 o7@128)
            #expect(rows[0].gauges.largestFreeBlock == 228)
            #expect(rows[0].gauges.freeBlocks == [1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0])
            // Tick 1: big=28..127, d=18, a and c freed, run3=128..130.
            #expect(rows[1].gauges.freePages == 127)
            #expect(rows[1].gauges.largestFreeBlock == 125)
            #expect(rows[1].gauges.freeBlocks == [3, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0])
        case .buddy, .buddyMobility, .llfree:
            // b split 18..19; run8 is 24..31: free 18, 20..23, 32..255.
            #expect(rows[0].gauges.largestFreeBlock == 224)
            #expect(rows[0].gauges.freeBlocks == [1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0])
            // big takes 128 frames (128..255), run3 takes 4 (20..23): free 17, 19, 32..127.
            #expect(rows[1].gauges.freePages == 98)
            #expect(rows[1].gauges.largestFreeBlock == 96)
            #expect(rows[1].gauges.freeBlocks == [2, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0])
        }
        #expect(abs(rows[0].gauges.fragIndex - (1 - Double(rows[0].gauges.largestFreeBlock) / 229)) < 1e-12)
        // Tick 2: all freed but the kernel's directory: 17..255 free.
        for r in rows[2...] {
            #expect(r.gauges.freePages == 239)
            #expect(r.gauges.largestFreeBlock == 239)
            #expect(r.gauges.fragIndex == 0)
            #expect(r.gauges.freeBlocks == [1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0])
        }
    }

    @Test func handleRules() throws {
        // A failed allocation's handle: pfree and map are no-ops.
        let r = try script(StackAllocator.self, config(mem: 64 << 10), """
            palloc big 100
            spawn 1
            map 1 0x1000 big rw
            pfree big
            palloc big 2
            pfree big
            """)
        #expect(r.totals.reclaim.oom == 1)
        #expect(r.machine.frames.freeCount == 16 - 2)

        let twice = scriptError(StackAllocator.self, config(), "palloc a\n\npalloc a\n")
        #expect(twice?.line == 4)
        #expect(twice?.message == "palloc: handle a is still bound (pfree it first)")
        let never = scriptError(StackAllocator.self, config(), "palloc a\npfree b\n")
        #expect(never?.description == "test.trace:3: pfree: handle b was never allocated (or is already freed)")
        let again = scriptError(StackAllocator.self, config(), "palloc a\npfree a\npfree a\n")
        #expect(again?.line == 4)
        let mapped = scriptError(StackAllocator.self, config(), "palloc a\nspawn 3\nmap 3 0x8000 a rw\npfree a\n")
        #expect(mapped?.line == 5)
        #expect(mapped?.message.hasPrefix("pfree: handle a is still mapped") == true)
    }

    @Test func tickEveryInsertsTicks() throws {
        var cfg = config()
        cfg.tickEvery = 2
        let r = try script(StackAllocator.self, cfg, "palloc a\npalloc b\npalloc c\npfree a\npfree b\n")
        #expect(r.ticks.map(\.tick) == [0, 1, 2])
        #expect(r.ticks.map(\.delta.events) == [2, 2, 1])
        let even = try script(StackAllocator.self, cfg, "palloc a\npalloc b\n")
        #expect(even.ticks.map(\.tick) == [0])
    }

    @Test func ticksMustIncrease() {
        let e = scriptError(StackAllocator.self, config(), "tick 5\npalloc a\ntick 5\n")
        #expect(e?.line == 4)
        #expect(e?.message == "tick: 5 is not larger than the current tick 5")
    }
}

/// The word-at-a-time first fit against a frame-by-frame reference.
@Suite struct FirstFitTests {
    func reference(_ bits: FrameBitmap, _ count: Int) -> Int? {
        var run = 0
        for f in 0..<bits.frameCount {
            run = bits.isUsed(f) ? 0 : run + 1
            if run == count { return f - count + 1 }
        }
        return nil
    }

    @Test func matchesAFrameByFrameScan() {
        var rng = SplitMix64(seed: 11)
        for trial in 0..<300 {
            let frames = 64 + rng.below(700)
            var bits = FrameBitmap(frames: frames, reserved: rng.below(20))
            let density = 1 + rng.below(9)
            for f in 0..<frames where rng.below(10) < density { bits.setUsed(f) }
            for count in [1, 2, 3, 5, 8, 13, 31, 32, 33, 63, 64, 65, 100, 200] {
                var copy = bits
                #expect(copy.firstFit(count: count) == reference(bits, count), "trial \(trial) count \(count)")
            }
        }
    }

    /// A remembered failure survives frees that do not make a run long
    /// enough, and is forgotten by the one that does: the same request,
    /// retried after each single free as direct reclaim does, answers like
    /// a fresh scan every time.
    @Test func rememberedFailuresMatchAFreshScanAfterEachFree() {
        var rng = SplitMix64(seed: 12)
        for trial in 0..<200 {
            let frames = 64 + rng.below(900)
            var bits = FrameBitmap(frames: frames, reserved: rng.below(20))
            for f in 0..<frames where rng.below(10) < 8 { bits.setUsed(f) }
            let count = [2, 3, 5, 9, 17, 40, 64, 65, 90][rng.below(9)]
            for step in 0..<120 {
                let f = rng.below(frames)
                if bits.isUsed(f) && f >= 20 { bits.setFree(f) }
                let expected = reference(bits, count)
                #expect(bits.firstFit(count: count) == expected, "trial \(trial) step \(step) count \(count)")
                if let got = expected, rng.below(3) == 0 { bits.setUsed(got, count: count) }
            }
        }
    }
}
