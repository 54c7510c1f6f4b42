import Foundation
import Testing
import TestSupport
import MemModel
import MemTrace
@testable import MemStore

/// Linux's unusable_index and extfrag_index (mm/vmstat.c), in Swift and as
/// the `fragmentation` view, against numbers worked out by hand.
@Suite struct FragmentationTests {
    /// Free blocks: 5 of order 0, 3 of order 1, 2 of order 3, 1 of order 4.
    ///
    /// free_pages        = 5·1 + 3·2 + 2·8 + 1·16 = 5 + 6 + 16 + 16 = 43
    /// free_blocks_total = 5 + 3 + 2 + 1 = 11
    /// suitable(k) = Σ_{o ≥ k} n_o << (o − k):
    ///   k=0: 43   k=1: 3 + 2·4 + 1·8 = 19   k=2: 2·2 + 1·4 = 8   k=3: 2 + 1·2 = 4
    ///   k=4: 1    k ≥ 5: 0
    /// unusable(k) = (43 − (suitable << k)) · 1000 / 43, truncated:
    ///   k=0: (43 − 43)·1000/43 = 0
    ///   k=1: (43 − 38)·1000/43 = 5000/43 = 116.3 → 116
    ///   k=2: (43 − 32)·1000/43 = 11000/43 = 255.8 → 255
    ///   k=3: (43 − 32)·1000/43 = 255
    ///   k=4: (43 − 16)·1000/43 = 27000/43 = 627.9 → 627
    ///   k ≥ 5: 43000/43 = 1000
    /// extfrag(k): −1000 while suitable > 0 (k ≤ 4); then
    /// 1000 − (1000 + 43000 / 2^k) / 11, both divisions truncated:
    ///   k=5:  43000/32 = 1343;  2343/11 = 213;  1000 − 213 = 787
    ///   k=6:  43000/64 = 671;   1671/11 = 151;  849
    ///   k=7:  43000/128 = 335;  1335/11 = 121;  879
    ///   k=8:  43000/256 = 167;  1167/11 = 106;  894
    ///   k=9:  43000/512 = 83;   1083/11 = 98;   902
    ///   k=10: 43000/1024 = 41;  1041/11 = 94;   906
    static let mixed = [5, 3, 0, 2, 1, 0, 0, 0, 0, 0, 0]
    static let mixedUnusable = [0, 116, 255, 255, 627, 1000, 1000, 1000, 1000, 1000, 1000]
    static let mixedExtfrag = [-1000, -1000, -1000, -1000, -1000, 787, 849, 879, 894, 902, 906]

    /// Eight single free pages: every order above 0 fails for fragmentation.
    /// free_pages = 8, total = 8, suitable(k ≥ 1) = 0, unusable(k ≥ 1) = 1000.
    ///   k=1: 1000 − (1000 + 8000/2)/8 = 1000 − 5000/8 = 1000 − 625 = 375
    ///   k=2: 1000 − (1000 + 2000)/8 = 1000 − 375 = 625
    ///   k=3: 1000 − (1000 + 1000)/8 = 1000 − 250 = 750
    ///   k=4: 8000/16 = 500; 1500/8 = 187; 813
    ///   k=5: 8000/32 = 250; 1250/8 = 156; 844
    ///   k=6: 8000/64 = 125; 1125/8 = 140; 860
    ///   k=7: 8000/128 = 62;  1062/8 = 132; 868
    ///   k=8: 8000/256 = 31;  1031/8 = 128; 872
    ///   k=9: 8000/512 = 15;  1015/8 = 126; 874
    ///   k=10: 8000/1024 = 7; 1007/8 = 125; 875
    static let singles = [8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    static let singlesUnusable = [0] + Array(repeating: 1000, count: 10)
    static let singlesExtfrag = [-1000, 375, 625, 750, 813, 844, 860, 868, 872, 874, 875]

    /// Nothing free: the kernel reads it as "all of it unusable" (1000) and
    /// returns 0 for extfrag (no free blocks at all).
    static let empty = Array(repeating: 0, count: 11)

    /// One free page: for k ≥ 1, 1000 − (1000 + 1000/2^k)/1, negative because
    /// the one block is more than half of the request (k=1: 1000 − 1500 = −500;
    /// k=2: −250; k=3: 1000/8 = 125 → −125; then −62, −31, −15, −7, −3, −1,
    /// and k=10: 1000/1024 = 0 → 0). The kernel's unsigned subtraction, cast
    /// back to int, gives the same.
    static let one = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    static let cases: [(name: String, blocks: [Int], unusable: [Int], extfrag: [Int])] = [
        ("mixed", mixed, mixedUnusable, mixedExtfrag),
        ("singles", singles, singlesUnusable, singlesExtfrag),
        ("empty", empty, Array(repeating: 1000, count: 11), Array(repeating: 0, count: 11)),
        ("one", one, [0] + Array(repeating: 1000, count: 10), [-1000, -500, -250, -125, -62, -31, -15, -7, -3, -1, 0]),
    ]

    @Test func contigPageInfoSumsTheFreeLists() {
        let info = FragmentationIndex.contigPageInfo(Self.mixed, suitableOrder: 1)
        #expect(info == .init(freePages: 43, freeBlocksTotal: 11, freeBlocksSuitable: 19))
        #expect(FragmentationIndex.contigPageInfo(Self.mixed, suitableOrder: 3).freeBlocksSuitable == 4)
    }

    @Test func swiftFunctionsMatchTheHandComputation() {
        for c in Self.cases {
            #expect((0...maxOrder).map { FragmentationIndex.unusable(c.blocks, order: $0) } == c.unusable, "\(c.name)")
            #expect((0...maxOrder).map { FragmentationIndex.extfrag(c.blocks, order: $0) } == c.extfrag, "\(c.name)")
        }
    }

    @Test func viewMatchesTheHandComputation() throws {
        let store = try ResultStore(path: temporaryPath("frag.db"))
        let run = try store.beginRun(trace: "synthetic", label: nil, config: MachineConfig())
        let writer = try store.writer(run: run)
        for (tick, c) in Self.cases.enumerated() {
            var g = Gauges()
            g.freeBlocks = c.blocks
            try writer.tickClosed(TickSample(tick: UInt64(tick), delta: Counters(), gauges: g))
        }
        try writer.finish(ReplaySummary(config: MachineConfig()))
        for (tick, c) in Self.cases.enumerated() {
            let rows = try store.db.rows("""
                SELECT "order", free_blocks, unusable_index, extfrag_index FROM fragmentation
                WHERE run_id = ? AND tick = ? ORDER BY "order"
                """, [.int(run), .int(Int64(tick))])
            #expect(rows.map { $0[0] } == (0...10).map { String($0) }, "\(c.name)")
            #expect(rows.map { Int($0[1]!)! } == c.blocks, "\(c.name)")
            #expect(rows.map { Int($0[2]!)! } == c.unusable, "\(c.name)")
            #expect(rows.map { Int($0[3]!)! } == c.extfrag, "\(c.name)")
        }
    }

    /// Every (tick, order) of real replays: the view and the Swift functions agree.
    @Test(arguments: FrameAllocatorKind.allCases)
    func viewEqualsSwiftOnReplayedTraces(pmm: FrameAllocatorKind) throws {
        let store = try ResultStore(path: temporaryPath("frag-\(pmm).db"))
        var options = ReplayOptions()
        options.machine.pmm = pmm
        options.machine.tickEvery = 3
        var runs: [Int64] = []
        for trace in ["basic", "processes", "reclaim"] {
            runs.append(try record(packageRoot + "/traces/\(trace).trace", options: options, label: trace, into: store))
        }
        let orders = (0...10).map { "free_o\($0)" }.joined(separator: ", ")
        var checked = 0
        var sawExtfrag = false, sawPartlyUnusable = false
        for run in runs {
            let ticks = try store.db.rows("SELECT tick, \(orders) FROM tick_metrics WHERE run_id = ? ORDER BY tick", [.int(run)])
            let view = try store.db.rows("""
                SELECT tick, "order", free_blocks, unusable_index, extfrag_index FROM fragmentation
                WHERE run_id = ? ORDER BY tick, "order"
                """, [.int(run)])
            #expect(view.count == ticks.count * 11)
            for (i, t) in ticks.enumerated() {
                let blocks = t[1...].map { Int($0!)! }
                for k in 0...10 {
                    let row = view[i * 11 + k]
                    let unusable = FragmentationIndex.unusable(blocks, order: k)
                    let extfrag = FragmentationIndex.extfrag(blocks, order: k)
                    #expect(row == [t[0], String(k), String(blocks[k]), String(unusable), String(extfrag)])
                    sawExtfrag = sawExtfrag || extfrag > -1000 && extfrag != 0
                    sawPartlyUnusable = sawPartlyUnusable || (unusable > 0 && unusable < 1000)
                    checked += 1
                }
            }
        }
        #expect(checked > 100)
        #expect(sawExtfrag && sawPartlyUnusable, "the traces should exercise both formulas beyond their edge cases")
    }

    @Test func mostFragmentedTicksAreTheTopTenWithTiesByTick() throws {
        let store = try ResultStore(path: temporaryPath("top.db"))
        let run = try store.beginRun(trace: "synthetic", label: nil, config: MachineConfig())
        let writer = try store.writer(run: run)
        // frag_index per tick 0...13; ties at 0.5 (ticks 2, 5, 9) and 0.25 (ticks 3, 11).
        let frag = [0.1, 0.9, 0.5, 0.25, 0.0, 0.5, 0.7, 0.05, 0.8, 0.5, 0.6, 0.25, 0.02, 0.3]
        for (tick, f) in frag.enumerated() {
            var g = Gauges()
            g.fragIndex = f
            try writer.tickClosed(TickSample(tick: UInt64(tick), delta: Counters(), gauges: g))
        }
        try writer.finish(ReplaySummary(config: MachineConfig()))
        let rows = try store.db.rows("SELECT rank, tick FROM most_fragmented_ticks WHERE run_id = ? ORDER BY rank", [.int(run)])
        #expect(rows.map { $0[1]! } == ["1", "8", "6", "10", "2", "5", "9", "13", "3", "11"])
        #expect(rows.map { $0[0]! } == (1...10).map(String.init))
    }
}
