import Testing
@testable import MemModel

/// Page `n`: the textbook runs number pages, not addresses.
private func page(_ n: UInt32) -> VirtualPage { VirtualPage(number: n) }

/// The TLB as a cache of pages, checked against textbook page-replacement runs.
@Suite struct TLBTests {
    /// Silberschatz, Galvin & Gagne, "Operating System Concepts", §10.4:
    /// this reference string with 3 frames gives 15 FIFO faults and 12 LRU faults.
    static let referenceString: [UInt32] = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1]

    func misses(_ spec: TLBSpec, _ pages: [UInt32]) -> Int {
        var t = TLB<AnyTLBReplacement>(spec, seed: 1)
        var n = 0
        for p in pages where t.lookup(page(p)) == nil {
            n += 1
            t.fill(page(p), PTE.make(FrameNumber(Int(p)), [.present]))
        }
        return n
    }

    @Test func fullyAssociativeLRUIsLRUPageReplacement() {
        #expect(misses(TLBSpec(entries: 3, ways: 3, policy: .lru), Self.referenceString) == 12)
    }

    @Test func fullyAssociativeFIFOIsFIFOPageReplacement() {
        #expect(misses(TLBSpec(entries: 3, ways: 3, policy: .fifo), Self.referenceString) == 15)
        // Bélády's anomaly: 1,2,3,4,1,2,5,1,2,3,4,5 gives 9 faults with 3 frames, 10 with 4.
        let belady: [UInt32] = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]
        #expect(misses(TLBSpec(entries: 3, ways: 3, policy: .fifo), belady) == 9)
        #expect(misses(TLBSpec(entries: 4, ways: 4, policy: .fifo), belady) == 10)
        #expect(misses(TLBSpec(entries: 4, ways: 4, policy: .lru), belady) == 8)
    }

    @Test func setAssociativeIndexesByLowPageBits() {
        // 4 entries, 2 ways: 2 sets; even pages to set 0, odd to set 1.
        let spec = TLBSpec(entries: 4, ways: 2, policy: .lru)
        // 0, 2, 4 contend for set 0 (LRU evicts 0 on 4); 1 and 3 fit set 1.
        #expect(misses(spec, [0, 2, 1, 3, 4, 1, 3, 0, 2]) == 7)
        // Fully associative 4 entries keeps 4 of the 5 pages: 0,2,1,3,4 miss; 1,3 hit;
        // 0 was evicted by 4 (LRU) -> miss, evicts 2 -> 2 misses.
        #expect(misses(TLBSpec(entries: 4, ways: 4, policy: .lru), [0, 2, 1, 3, 4, 1, 3, 0, 2]) == 7)
        #expect(misses(TLBSpec(entries: 4, ways: 4, policy: .lru), [0, 2, 1, 3, 0, 2, 1, 3]) == 4)
        #expect(misses(spec, [0, 2, 4, 0, 2, 4]) == 6)
        #expect(misses(TLBSpec(entries: 4, ways: 1, policy: .lru), [0, 4, 0, 4]) == 4)
    }

    @Test func lruAndFIFODifferOnAHit() {
        // 2 ways, one set: 1, 2, 1 (hit), 3: LRU evicts 2, FIFO evicts 1.
        var lru = TLB<AnyTLBReplacement>(TLBSpec(entries: 2, ways: 2, policy: .lru), seed: 1)
        var fifo = TLB<AnyTLBReplacement>(TLBSpec(entries: 2, ways: 2, policy: .fifo), seed: 1)
        for p: UInt32 in [1, 2] {
            lru.fill(page(p), PTE.make(FrameNumber(0), [.present]))
            fifo.fill(page(p), PTE.make(FrameNumber(0), [.present]))
        }
        _ = lru.lookup(page(1))
        _ = fifo.lookup(page(1))
        lru.fill(page(3), PTE.make(FrameNumber(0), [.present]))
        fifo.fill(page(3), PTE.make(FrameNumber(0), [.present]))
        #expect(lru.lookup(page(1)) != nil && lru.lookup(page(2)) == nil)
        #expect(fifo.lookup(page(1)) == nil && fifo.lookup(page(2)) != nil)
    }

    @Test func randomPolicyIsReproducible() {
        let pages = (0..<2000).map { UInt32(($0 * 7919) % 97) }
        let spec = TLBSpec(entries: 16, ways: 16, policy: .random)
        #expect(misses(spec, pages) == misses(spec, pages))
        var a = TLB<AnyTLBReplacement>(spec, seed: 42), b = TLB<AnyTLBReplacement>(spec, seed: 43)
        var differ = false
        for p in pages {
            let ha = a.lookup(page(p)) == nil, hb = b.lookup(page(p)) == nil
            if ha { a.fill(page(p), PTE.make(FrameNumber(0), [.present])) }
            if hb { b.fill(page(p), PTE.make(FrameNumber(0), [.present])) }
            differ = differ || ha != hb
        }
        #expect(differ)
    }

    @Test func flushKeepsGlobalEntriesAndInvlpgDropsOne() {
        var t = TLB<AnyTLBReplacement>(TLBSpec(entries: 8, ways: 2, policy: .lru), seed: 1)
        t.fill(page(1), PTE.make(FrameNumber(10), [.present]))
        t.fill(page(2), PTE.make(FrameNumber(11), [.present, .global]))
        t.fill(page(3), PTE.make(FrameNumber(12), [.present]))
        t.flushNonGlobal()
        #expect(t.lookup(page(1)) == nil && t.lookup(page(3)) == nil)
        #expect(t.lookup(page(2)) == PTE.make(FrameNumber(11), [.present, .global]))
        t.invalidate(page(2))
        #expect(t.lookup(page(2)) == nil)
    }

    @Test func specParsing() throws {
        #expect(try TLBSpec(parsing: "64") == TLBSpec(entries: 64, ways: 4, policy: .lru))
        #expect(try TLBSpec(parsing: "64:full") == TLBSpec(entries: 64, ways: 64, policy: .lru))
        #expect(try TLBSpec(parsing: "256:8:random") == TLBSpec(entries: 256, ways: 8, policy: .random))
        #expect(try TLBSpec(parsing: "32:fifo") == TLBSpec(entries: 32, ways: 4, policy: .fifo))
        #expect(throws: SpecError.self) { try TLBSpec(parsing: "48:4") }  // 12 sets
        #expect(throws: SpecError.self) { try TLBSpec(parsing: "64:5") }
        #expect(throws: SpecError.self) { try TLBSpec(parsing: "64:4:mru") }
        #expect(throws: SpecError.self) { try TLBSpec(parsing: "x") }
    }

    /// A configuration made in code or decoded (a sweep plan, a stored
    /// config) is held to the parser's rules: 0 entries or 0 ways used to
    /// trap in the model (SIGILL) instead of being refused.
    @Test func configurationsCheckTheirTLBGeometry() throws {
        for (entries, ways) in [(0, 4), (64, 0), (48, 4), (4, 8), (1 << 20, 4)] {
            var c = MachineConfig()
            c.tlb = TLBSpec(entries: entries, ways: ways, policy: .lru)
            #expect(throws: SpecError.self, "\(entries):\(ways)") { try c.validate() }
            c.tlb = .defaultSpec
            c.itlb = TLBSpec(entries: entries, ways: ways, policy: .lru)
            #expect(throws: SpecError.self, "itlb \(entries):\(ways)") { try c.validate() }
        }
        var good = MachineConfig()
        good.itlb = TLBSpec(entries: 512, ways: 512, policy: .fifo)
        try good.validate()
    }

    @Test func separateInstructionTLB() throws {
        let r = try script(StackAllocator.self, config { $0.itlb = TLBSpec(entries: 4, ways: 4, policy: .lru) }, """
            spawn 1
            mmap 1 0x1000 0x2000 rwx
            x 1 0x1000                   # demand fault; the ITLB is filled
            r 1 0x1000                   # data TLB miss: walk, fill
            x 1 0x1000                   # ITLB hit
            r 1 0x1000                   # TLB hit
            """)
        #expect(r.totals.tlb.lookups == 4)
        #expect(r.totals.tlb.hits == 2)
    }

    @Test func treePLRUVictimOrder() {
        // One set of 4 ways: pages 10…13 fill ways 0…3 (each fill updates the
        // tree), then ways 2 and 0 hit. Bits, root b1 and children b2 (ways
        // 0–1), b3 (ways 2–3), 1 pointing right: after the fills all are 0;
        // the hit on way 2 sets b3 = 1, b1 = 0; the hit on way 0 sets b2 = 1,
        // b1 = 1. The victim path is b1 = 1 → b3 = 1 → way 3 (page 13), where
        // true LRU evicts way 1 (page 11, unused since its fill).
        let spec = TLBSpec(entries: 4, ways: 4, policy: .plru)
        var plru = TLB<TreePLRUReplacement>(spec, seed: 1)
        var lru = TLB<LRUReplacement>(TLBSpec(entries: 4, ways: 4, policy: .lru), seed: 1)
        for p: UInt32 in [10, 11, 12, 13] {
            plru.fill(page(p), PTE.make(FrameNumber(0), [.present]))
            lru.fill(page(p), PTE.make(FrameNumber(0), [.present]))
        }
        for p: UInt32 in [12, 10] {
            #expect(plru.lookup(page(p)) != nil && lru.lookup(page(p)) != nil)
        }
        plru.fill(page(14), PTE.make(FrameNumber(0), [.present]))
        lru.fill(page(14), PTE.make(FrameNumber(0), [.present]))
        #expect(Set(plru.validEntries.map(\.0.number)) == [10, 11, 12, 14])
        #expect(Set(lru.validEntries.map(\.0.number)) == [10, 12, 13, 14])
        // Now b1 = 0 (way 3 filled): b2 = 1 → way 1 (page 11) goes next.
        plru.fill(page(15), PTE.make(FrameNumber(0), [.present]))
        #expect(Set(plru.validEntries.map(\.0.number)) == [10, 12, 14, 15])
        // With 2 ways the tree is exactly LRU.
        #expect(misses(TLBSpec(entries: 2, ways: 2, policy: .plru), Self.referenceString)
                == misses(TLBSpec(entries: 2, ways: 2, policy: .lru), Self.referenceString))
    }

    @Test func treePLRUNeedsPowerOfTwoWays() throws {
        #expect(try TLBSpec(parsing: "64:4:plru") == TLBSpec(entries: 64, ways: 4, policy: .plru))
        #expect(throws: SpecError.self) { try TLBSpec(parsing: "48:3:plru") }
        #expect(try TLBSpec(parsing: "48:3:lru").sets == 16)
    }

    /// What every policy must do, whatever it evicts.
    @Test(arguments: TLBReplacementKind.allCases)
    func replacementContract(kind: TLBReplacementKind) {
        for (entries, ways) in [(1, 1), (4, 4), (16, 4), (64, 8), (32, 1)] {
            let spec = TLBSpec(entries: entries, ways: ways, policy: kind)
            var t = TLB<AnyTLBReplacement>(spec, seed: 5)
            let sets = UInt32(entries / ways)
            // Filling a set's ways keeps every page: empty ways go first.
            for w in 0..<UInt32(ways) { t.fill(page(w * sets), PTE.make(FrameNumber(Int(w)), [.present])) }
            for w in 0..<UInt32(ways) { #expect(t.lookup(page(w * sets)) == PTE.make(FrameNumber(Int(w)), [.present])) }
            // One more page of the set evicts exactly one page of that set, and no other set's.
            if sets > 1 { t.fill(page(1), PTE.make(FrameNumber(99), [.present])) }  // page 1 is set 1's
            t.fill(page(UInt32(ways) * sets), PTE.make(FrameNumber(77), [.present]))
            let cached = Set(t.validEntries.map(\.0.number))
            #expect(cached.count == min(entries, ways + (sets > 1 ? 1 : 0)))
            #expect(cached.contains(UInt32(ways) * sets))
            if sets > 1 { #expect(cached.contains(1)) }
            #expect(t.invariantViolation() == nil)
        }
        // On a long reference string no policy beats Bélády's optimum (9 faults
        // with 3 frames on the textbook string, 8 with 4) nor misses more than every reference.
        let n = misses(TLBSpec(entries: 4, ways: 4, policy: kind), Self.referenceString)
        #expect(n >= 8 && n <= Self.referenceString.count)
    }
}

/// Wide sets use a hash index and recency lists instead of scans; both must
/// give the same hits, fills and evictions for every policy.
@Suite struct AssociativeIndexTests {
    /// Random lookups (fill on a miss), CR3 flushes and `invlpg`s over a page
    /// range a few times the TLB's size, some pages global; after every step
    /// the indexed and the scanning TLB must agree entry for entry.
    @Test(arguments: TLBReplacementKind.allCases)
    func indexedEqualsScan(kind: TLBReplacementKind) {
        for (entries, ways) in [(9, 9), (16, 16), (64, 64), (512, 512), (64, 16), (96, 12), (4096, 4096)]
        where TLBReplacementKind.plru != kind || ways & (ways - 1) == 0 {
            let spec = TLBSpec(entries: entries, ways: ways, policy: kind)
            var indexed = TLB<AnyTLBReplacement>(spec, seed: 3, indexed: true)
            var scanned = TLB<AnyTLBReplacement>(spec, seed: 3, indexed: false)
            var rng: UInt64 = 0x1234_5678 &+ UInt64(entries)
            func next() -> UInt64 {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
                return rng
            }
            let span = UInt64(entries * 3)
            var misses = 0
            for step in 0..<20_000 {
                let r = next()
                let p = page(UInt32(r >> 8 % span) % UInt32(span))
                switch r % 100 {
                case 0:
                    indexed.flushNonGlobal(); scanned.flushNonGlobal()
                case 1...3:
                    indexed.invalidate(p); scanned.invalidate(p)
                default:
                    let a = indexed.lookup(p), b = scanned.lookup(p)
                    #expect(a == b, "step \(step): page \(p.number)")
                    if a == nil {
                        misses += 1
                        // Every seventh page is a global (kernel) page.
                        let pte = PTE.make(FrameNumber(Int(p.number)), p.number % 7 == 0 ? [.present, .global] : [.present])
                        indexed.fill(p, pte); scanned.fill(p, pte)
                    }
                }
                if step % 997 == 0 || entries <= 16 {
                    #expect(indexed.invariantViolation() == nil)
                    let x = indexed.validEntries.map { "\($0.0.number):\($0.1.raw)" }.sorted()
                    let y = scanned.validEntries.map { "\($0.0.number):\($0.1.raw)" }.sorted()
                    #expect(x == y, "\(spec) step \(step)")
                }
            }
            #expect(indexed.invariantViolation() == nil)
            #expect(misses > 1000 && misses < 19_000)  // the stream both hits and misses
        }
    }

    /// The recency list ranks entries as the scan does: after 1, 2, 3 fill a
    /// 16-way set and 1 is hit, LRU evicts the lowest never-used way… until
    /// every way is used; then 2 (the oldest) goes, and FIFO evicts 1.
    @Test func recencyListOnAWideSet() {
        for kind in [TLBReplacementKind.lru, .fifo] {
            var t = TLB<AnyTLBReplacement>(TLBSpec(entries: 16, ways: 16, policy: kind), seed: 1)
            for p: UInt32 in 1...16 { t.fill(page(p), PTE.make(FrameNumber(Int(p)), [.present])) }
            _ = t.lookup(page(1))
            t.fill(page(17), PTE.make(FrameNumber(17), [.present]))
            let cached = Set(t.validEntries.map(\.0.number))
            #expect(!cached.contains(kind == .lru ? 2 : 1))
            #expect(cached.contains(kind == .lru ? 1 : 2))
            #expect(t.invariantViolation() == nil)
        }
    }
}

/// A repeated hit of the entry hit last skips the search and the policy
/// (``TLBReplacement/repeatedTouchChangesNothing``), and a wide set tries
/// the entry hit before it next; a TLB that tells the policy every hit
/// (through ``AnyTLBReplacement``, which does not claim the property) and
/// always searches must give the same hits and keep the same entries.
@Suite struct RepeatedHitTests {
    func compare<R: TLBReplacement>(_ type: R.Type, _ spec: TLBSpec) {
        #expect(R.repeatedTouchChangesNothing)
        #expect(!AnyTLBReplacement.repeatedTouchChangesNothing)
        var fast = TLB<R>(spec, seed: 9)
        var plain = TLB<AnyTLBReplacement>(spec, seed: 9)
        var rng: UInt64 = 77
        var p: UInt32 = 0, q: UInt32 = 1
        var repeats = 0, alternations = 0
        for step in 0..<30_000 {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            // Runs of the same page, as instruction fetches make them, and
            // two pages in turn, as fetches and data make them.
            switch rng % 4 {
            case 0: repeats += 1
            case 1: swap(&p, &q); alternations += 1
            default: q = p; p = UInt32(rng >> 20 % 200) % 200
            }
            switch rng >> 40 % 50 {
            case 0: fast.flushNonGlobal(); plain.flushNonGlobal()
            case 1: fast.invalidate(page(p)); plain.invalidate(page(p))
            default:
                let a = fast.lookup(page(p)), b = plain.lookup(page(p))
                #expect(a == b, "\(spec) step \(step)")
                if a == nil {
                    let pte = PTE.make(FrameNumber(Int(p)), p % 11 == 0 ? [.present, .global] : [.present])
                    fast.fill(page(p), pte); plain.fill(page(p), pte)
                }
            }
        }
        #expect(repeats > 5000 && alternations > 5000)
        let x = fast.validEntries.map { "\($0.0.number):\($0.1.raw)" }.sorted()
        let y = plain.validEntries.map { "\($0.0.number):\($0.1.raw)" }.sorted()
        #expect(x == y)
        #expect(fast.invariantViolation() == nil)
    }

    @Test func sameHitsAsTellingThePolicyEveryHit() {
        for (entries, ways) in [(64, 4), (16, 1), (32, 32), (64, 16), (512, 512)] {
            compare(LRUReplacement.self, TLBSpec(entries: entries, ways: ways, policy: .lru))
            compare(FIFOReplacement.self, TLBSpec(entries: entries, ways: ways, policy: .fifo))
            compare(RandomReplacement.self, TLBSpec(entries: entries, ways: ways, policy: .random))
            compare(TreePLRUReplacement.self, TLBSpec(entries: entries, ways: ways, policy: .plru))
        }
    }
}
