import Foundation
import Testing
import MemTrace
@testable import MemModel

/// An LRU cache of `size` entries done the plain way, the ground truth of
/// the stack's curves: a miss fills a free slot first, else evicts the
/// least recently used; an invalidation frees the slot.
private struct PlainLRU {
    let size: Int
    var entries: [(key: UInt64, used: Int, global: Bool)] = []
    var misses = 0

    /// A lookup; a miss fills when `present`.
    mutating func access(_ key: UInt64, present: Bool, global: Bool, time: Int) {
        if let i = entries.firstIndex(where: { $0.key == key }) {
            entries[i].used = time
            return
        }
        misses += 1
        guard present else { return }
        if entries.count == size {
            entries.remove(at: entries.indices.min { entries[$0].used < entries[$1].used }!)
        }
        entries.append((key, time, global))
    }

    mutating func invalidate(_ key: UInt64) { entries.removeAll { $0.key == key } }
    mutating func flushNonGlobal() { entries.removeAll { !$0.global } }
}

/// A stack used the way ``TLBCurve`` uses it: a lookup, then a fill if the
/// page was not in the stack and is present.
private struct StackUnderTest {
    var stack: LRUStack
    var slots = KeySlots()

    mutating func access(_ key: UInt64, present: Bool, global: Bool) {
        if !stack.reference(key, &slots) && present { stack.insert(key, global: global, &slots) }
    }

    func misses(size: Int) -> Int { stack.references - stack.hits.prefix(size).reduce(0, +) }
}

@Suite struct LRUStackTests {
    /// A B C, A, invlpg C, B, D, A — by hand:
    /// stack [C B A]; A at depth 2 → [A C B]; C becomes a hole → [A _ B];
    /// B at depth 2 with the hole above → [B A _]; D fills the hole →
    /// [D B A]; A at depth 2. Lookups 7, hits at depth 2: 3.
    /// LRU of 2 entries: every lookup misses (7); of 3 or more: 4.
    @Test func handWorkedSequenceWithAHole() {
        var s = StackUnderTest(stack: LRUStack(depthLimit: 8))
        for k: UInt64 in [0xA, 0xB, 0xC, 0xA] { s.access(k, present: true, global: false) }
        s.stack.invalidate(0xC, &s.slots)
        for k: UInt64 in [0xB, 0xD, 0xA] { s.access(k, present: true, global: false) }
        #expect(s.stack.references == 7)
        #expect(s.stack.hits == [0, 0, 3, 0, 0, 0, 0, 0])
        #expect((1...4).map { s.misses(size: $0) } == [7, 7, 4, 4])
        #expect(s.stack.depth(of: 0xA, s.slots) == 0)
        #expect(s.stack.depth(of: 0xD, s.slots) == 1)
        #expect(s.stack.depth(of: 0xB, s.slots) == 2)
        #expect(s.stack.depth(of: 0xC, s.slots) == nil)
        #expect(s.stack.invariantViolation(s.slots) == nil)
    }

    /// Random lookups, fills, invalidations and flushes (global keys stay):
    /// every size's misses equal a plain LRU cache's of that size. Small
    /// depth limits renumber the stack every few references and keep every
    /// entry within the near walk; 40 (128 slots) takes the trees' path too.
    /// Without global keys every flush empties the stack.
    @Test(arguments: [1, 2, 5, 12, 40], [true, false])
    func equalsPlainLRUCachesOfEverySize(depthLimit: Int, withGlobals: Bool) {
        var rng = SplitMix64(seed: UInt64(depthLimit) * 2 + (withGlobals ? 1 : 0))
        var s = StackUnderTest(stack: LRUStack(depthLimit: depthLimit))
        var plain = (1 ... depthLimit).map { PlainLRU(size: $0) }
        let keys = UInt64(max(24, 2 * depthLimit))
        var present = Set<UInt64>(0 ..< keys)
        let global: Set<UInt64> = withGlobals ? [0, 1, 2] : []
        for time in 1 ... 20_000 {
            let key = UInt64.random(in: 0 ..< keys, using: &rng) & (Bool.random(using: &rng) ? 7 : 127)
            switch Int.random(in: 0 ..< 100, using: &rng) {
            case 0 ..< 85:
                let p = present.contains(key), g = global.contains(key)
                s.access(key, present: p, global: g)
                for k in plain.indices { plain[k].access(key, present: p, global: g, time: time) }
            case 85 ..< 96:
                // The PTE changes (present or not): invlpg.
                if present.contains(key) && !global.contains(key) { present.remove(key) } else { present.insert(key) }
                s.stack.invalidate(key, &s.slots)
                for k in plain.indices { plain[k].invalidate(key) }
            default:
                s.stack.flushNonGlobal(&s.slots)
                for k in plain.indices { plain[k].flushNonGlobal() }
            }
            if time % 997 == 0 { #expect(s.stack.invariantViolation(s.slots) == nil) }
        }
        #expect(plain.map(\.misses) == (1 ... depthLimit).map { s.misses(size: $0) })
        #expect(s.stack.invariantViolation(s.slots) == nil)
    }

    @Test func fenwickPrefixesAndDescent() {
        var f = Fenwick(size: 16)
        for i in [1, 4, 5, 9, 15] { f.add(i, 1) }
        #expect((0 ..< 16).map { f.prefix($0) } == [0, 1, 1, 1, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5])
        #expect((1 ... 5).map { f.lowestSlot(withPrefix: $0) } == [1, 4, 5, 9, 15])
        var g = Fenwick(size: 16)
        let counts: [Int32] = [0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]
        counts.withUnsafeBufferPointer { g.rebuild($0, used: 0) }
        #expect(f == g)
        // Clearing after adds below slot 16 of 64 leaves an all-zero tree.
        var h = Fenwick(size: 64)
        for i in [0, 3, 7, 8, 12, 15] { h.add(i, 1) }
        h.clear(used: 16)
        #expect(h == Fenwick(size: 64))
        for i in [0, 5, 9] { h.add(i, 2) }
        h.clear(used: 10)
        #expect(h == Fenwick(size: 64))
        // A rebuild of n counts over a tree used below `used` equals the
        // tree those counts' adds build, for every n and used up to the size.
        var rng = SplitMix64(seed: 5)
        for _ in 0 ..< 400 {
            let used = Int.random(in: 0 ... 64, using: &rng), n = Int.random(in: 0 ... 64, using: &rng)
            var dirty = Fenwick(size: 64)
            for _ in 0 ..< 20 where used > 0 { dirty.add(Int.random(in: 0 ..< used, using: &rng), 1) }
            let counts = (0 ..< n).map { _ in Int32.random(in: 0 ... 1, using: &rng) }
            var fresh = Fenwick(size: 64)
            for (i, c) in counts.enumerated() where c > 0 { fresh.add(i, c) }
            counts.withUnsafeBufferPointer { dirty.rebuild($0, used: used) }
            #expect(dirty == fresh, "n \(n), used \(used)")
        }
    }
}

/// The curves against separate replays: the misses of each LRU size equal
/// those of a replay with that `--tlb`, flushes and invalidations included.
@Suite struct MissRatioCurveReplayTests {
    static func replay(_ text: String, tlb: String, mrc: Bool, itlb: String? = nil, pcidTags: Int? = nil) throws -> (misses: Int, curves: [MRCRow], lookups: Int) {
        var options = ReplayOptions()
        if let pcidTags {
            options.machine.pcid = true
            options.machine.pcidTags = pcidTags
        }
        options.machine.tlb = try TLBSpec(parsing: tlb)
        options.machine.itlb = try itlb.map { s throws(SpecError) in try TLBSpec(parsing: s) }
        options.machine.mrc = mrc
        var sink = RecordingSink()
        let summary = try Replayer.run(reader: TraceReader(path: "t", source: MemorySource(text)), options: options, sink: &sink)
        return (summary.final.tlb.misses, sink.curves, summary.final.tlb.lookups)
    }

    static func generated(_ w: Workload, events: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mrc-\(w.rawValue)-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try generate(w, events: events, seed: 11, to: TraceWriter(path: path))
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    static func bundled(_ name: String) throws -> String {
        try String(contentsOfFile: tracesFolder + "/" + name, encoding: .utf8)
    }

    /// Sizes around every power of two up to 512, and 4 ways of 16 and 64 sets.
    static let sizes = Array(1 ... 9) + [15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 511, 512]

    static func check(_ text: String, _ what: String, pcidTags: Int? = nil) throws {
        for (shape, sets) in [("64:4", 16), ("256:4", 64)] {
            let (misses, curves, _) = try replay(text, tlb: shape, mrc: true, pcidTags: pcidTags)
            if try replay(text, tlb: shape, mrc: false, pcidTags: pcidTags).lookups == 0 {
                // No accesses: no TLB curve (and no rows).
                #expect(curves.filter { $0.structure == "tlb" }.isEmpty, "\(what)")
                return
            }
            let row = curves.first { $0.structure == "tlb" && $0.sets == sets && $0.entries == sets * 4 }
            #expect(row?.misses == misses, "\(what): \(shape)")
            if shape == "64:4" {
                for k in sizes {
                    let separate = try replay(text, tlb: "\(k):full:lru", mrc: false, pcidTags: pcidTags).misses
                    let point = curves.first { $0.structure == "tlb" && $0.sets == 1 && $0.entries == k }
                    #expect(point?.misses == separate, "\(what): \(k) entries fully associative")
                }
                // Rows: 4096 fully associative, and 16 sets of 1 … 256 ways.
                #expect(curves.filter { $0.sets == 1 && $0.structure == "tlb" }.count == 4096)
                #expect(curves.filter { $0.sets == 16 }.map(\.entries) == (1 ... 256).map { $0 * 16 })
            }
        }
    }

    @Test(arguments: ["basic.trace", "processes.trace", "reclaim.trace", "numa.trace"])
    func bundledTraces(name: String) throws {
        try Self.check(try Self.bundled(name), name)
    }

    @Test(arguments: [Workload.access, .forkserver])
    func generatedWorkloads(workload: Workload) throws {
        let text = try Self.generated(workload, events: 20_000)
        // Flushes are part of the stream (CR3 loads at every switch).
        var o = ReplayOptions()
        var sink = RecordingSink(countOnly: true)
        let s = try Replayer.run(reader: TraceReader(path: "t", source: MemorySource(text)), options: o, sink: &sink)
        #expect(s.final.tlb.flushes > 0)
        if workload == .forkserver { #expect(s.final.tlb.flushes > 500 && s.final.tlb.invlpg > 1000) }
        o.machine.mrc = true
        try Self.check(text, workload.rawValue)
    }

    /// With PCIDs the stream has no flush at a switch back, and a tag's
    /// flush (5 tags: recycled often) takes only its entries: the curves
    /// still equal separate replays.
    @Test func pcidTaggedStreams() throws {
        try Self.check(try Self.generated(.forkserver, events: 20_000), "forkserver --pcid --pcid-tags 5", pcidTags: 5)
        try Self.check(try Self.bundled("processes.trace"), "processes.trace --pcid", pcidTags: 4096)
    }

    /// A global (kernel) entry referenced from deeper than the near walk
    /// moves to the top and stays counted once (a hostile test found it
    /// counted twice, which --check then reported after every event).
    @Test func aDeepGlobalEntryKeepsItsCount() throws {
        let writes = (0 ... 32).map { "w 1 0x\(String(0x100000 + $0 * 0x1000, radix: 16))" }.joined(separator: "\n")
        let text = "memtrace 1\npalloc k0\nmap 0 0xC0000000 k0 rw\nspawn 1\nmmap 1 0x100000 0x200000 rw\nr 1 0xC0000000\n"
            + writes + "\nr 1 0xC0000000\n"
        var options = ReplayOptions()
        options.machine.mrc = true
        options.machine.checkEvery = 1
        var sink = RecordingSink()
        let summary = try Replayer.run(reader: TraceReader(path: "t", source: MemorySource(text)), options: options, sink: &sink)
        // The kernel page at depth 33: a hit for 34 entries and more.
        let point = { (k: Int) in sink.curves.first { $0.structure == "tlb" && $0.sets == 1 && $0.entries == k }!.misses }
        #expect(point(33) == point(34) + 1)
        #expect(summary.final.tlb.lookups == 35)
    }

    /// With a separate ITLB each TLB has its curve; the two look-up counts
    /// add up to the accesses.
    @Test func splitTLBsHaveACurveEach() throws {
        let text = try Self.generated(.lackey, events: 5_000)
        let (misses, curves, _) = try Self.replay(text, tlb: "32:full", mrc: true, itlb: "16:full")
        let d = curves.first { $0.structure == "tlb" && $0.entries == 32 }!
        let i = curves.first { $0.structure == "itlb" && $0.entries == 16 }!
        #expect(d.misses + i.misses == misses)
        let accesses = text.split(separator: "\n").filter { $0.first.map { "rwx".contains($0) } ?? false && $0.dropFirst().first == " " }.count
        #expect(d.lookups + i.lookups == accesses)
    }

    /// The page cache's curve: LRU caches of every size over fread/fwrite,
    /// by hand. f: pages 0 1 2 0 (depth 2), fdrop f, g: 0, then f 0 again
    /// (a new file's page 0: a miss for every size).
    @Test func pageCacheCurveByHand() throws {
        let text = """
            memtrace 1
            fread f 0
            fread f 1
            fread f 2
            fread f 0
            fdrop f
            fread g 0
            fread f 0

            """
        let curves = try Self.replay(text, tlb: "64:4", mrc: true).curves.filter { $0.structure == "pagecache" }
        #expect(curves.count == 4096)
        #expect(curves.prefix(4).map(\.misses) == [6, 6, 5, 5])
        #expect(curves.allSatisfy { $0.lookups == 6 && $0.sets == 1 })
    }
}
