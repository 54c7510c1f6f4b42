import MemTrace

/// One point of a miss-ratio curve (table `mrc`): an LRU cache of `entries`
/// in `sets` sets, and the lookups and misses it would have had.
public struct MRCRow: Sendable, Equatable {
    /// `tlb` (the data TLB, or the only one), `itlb`, `pagecache`.
    public var structure: String
    public var sets: Int
    public var entries: Int
    public var lookups: Int
    public var misses: Int

    public init(structure: String, sets: Int, entries: Int, lookups: Int, misses: Int) {
        (self.structure, self.sets, self.entries, self.lookups, self.misses) = (structure, sets, entries, lookups, misses)
    }
}

/// Cache sizes the curves cover: fully associative 1 … 4096 entries.
public let mrcLargestSize = 4096

/// The miss-ratio curves of one TLB's reference stream (`--mrc`): every
/// fully associative LRU size 1 … 4096, and every way count of the TLB's
/// own set count up to 4096 entries, from one pass.
///
/// It sees what the TLB sees — each lookup, each fill after a walk that
/// found a present PTE, each `invlpg` and each CR3 flush (global entries
/// stay) — so the misses of a size equal a replay's with that `--tlb … :lru`
/// exactly (`MRCTests`). The replacement policy the replay itself runs does
/// not matter: which references the model makes does not depend on the
/// TLB's contents (a hit uses the PTE a walk would find, `--check`).
struct TLBCurve: Sendable {
    let name: String
    /// The TLB's set count; 1: the fully associative curve is all.
    let sets: Int
    private var full: LRUStack
    private var fullSlots = PageSlots()
    /// One stack per set, for the shapes of the TLB's set count.
    private var perSet: [LRUStack]
    private var setSlots: PageSlots?
    /// Sets whose stack may hold something, so that a flush visits those
    /// and not every set (65,536 of them under `--tlb 65536:1`).
    private var touched: [Int32] = []
    private var isTouched: [Bool]

    init(name: String, spec: TLBSpec) {
        self.name = name
        sets = spec.sets
        full = LRUStack(depthLimit: mrcLargestSize)
        let ways = max(spec.ways, mrcLargestSize / spec.sets)
        perSet = spec.sets > 1 ? Array(repeating: LRUStack(depthLimit: ways), count: spec.sets) : []
        setSlots = spec.sets > 1 ? PageSlots() : nil
        isTouched = Array(repeating: false, count: spec.sets > 1 ? spec.sets : 0)
    }

    @inline(__always)
    mutating func lookup(_ page: VirtualPage) {
        let key = UInt64(page.number)
        _ = full.reference(key, &fullSlots)
        if sets > 1 { _ = perSet[Int(page.number) & (sets &- 1)].reference(key, &setSlots!) }
    }

    /// A fill after a walk: on top, unless the lookup just put it there
    /// (a size that hit), which leaves it where it is.
    @inline(__always)
    mutating func fill(_ page: VirtualPage, _ pte: PTE) {
        let key = UInt64(page.number)
        if full.slot(of: key, fullSlots) < 0 { full.insert(key, global: pte.has(.global), &fullSlots) }
        let set = Int(page.number) & (sets &- 1)
        if sets > 1 && perSet[set].slot(of: key, setSlots!) < 0 {
            perSet[set].insert(key, global: pte.has(.global), &setSlots!)
            if !isTouched[set] {
                isTouched[set] = true
                touched.append(Int32(set))
            }
        }
    }

    mutating func invalidate(_ page: VirtualPage) {
        let key = UInt64(page.number)
        full.invalidate(key, &fullSlots)
        if sets > 1 { perSet[Int(page.number) & (sets &- 1)].invalidate(key, &setSlots!) }
    }

    mutating func flushNonGlobal() {
        full.flushNonGlobal(&fullSlots)
        var kept = 0
        for i in touched.indices {
            let s = Int(touched[i])
            perSet[s].flushNonGlobal(&setSlots!)
            if perSet[s].isEmpty {
                isTouched[s] = false
            } else {
                touched[kept] = touched[i]
                kept += 1
            }
        }
        touched.removeLast(touched.count - kept)
    }

    /// Under `--pcid`: the non-global entries of PCID `tag` (keys with the
    /// tag in bits 20…31) become holes.
    mutating func flush(tag: Int) {
        let drop: (UInt64, Bool) -> Bool = { key, global in !global && Int(key >> 20) == tag }
        full.invalidateAll(&fullSlots, where: drop)
        for s in touched { perSet[Int(s)].invalidateAll(&setSlots!, where: drop) }
    }

    /// Its points; none if the TLB had no lookups.
    var rows: [MRCRow] {
        guard full.references > 0 else { return [] }
        var rows = curve(name, full.hits, references: full.references, sets: 1)
        if sets > 1 {
            var hits = [Int](repeating: 0, count: perSet[0].depthLimit)
            for stack in perSet { for d in hits.indices { hits[d] += stack.hits[d] } }
            rows += curve(name, hits, references: full.references, sets: sets)
        }
        return rows
    }

    /// For an LRU `tlb` of at most 4096 entries: a page it holds that its
    /// shape's stack does not place within its ways (or the reverse count).
    func mismatch<R>(_ tlb: TLB<R>) -> String? {
        guard tlb.spec.policy == .lru, tlb.spec.entries <= mrcLargestSize else { return nil }
        let fully = tlb.spec.sets == 1
        let ways = tlb.spec.ways
        var held = 0
        for (page, _) in tlb.validEntries {
            let key = UInt64(page.number)
            let depth = fully ? full.depth(of: key, fullSlots) : perSet[Int(page.number) & (sets - 1)].depth(of: key, setSlots!)
            guard let depth, depth < ways else {
                return "\(name) holds page 0x\(String(page.number, radix: 16)), which its LRU stack puts at depth \(depth.map(String.init) ?? "none") (ways \(ways))"
            }
            held += 1
        }
        let expected = fully ? full.entries(above: ways) : perSet.reduce(0) { $0 + $1.entries(above: ways) }
        if held != expected { return "\(name) holds \(held) entries, its LRU stacks \(expected) within \(ways) ways" }
        return nil
    }

    func invariantViolation() -> String? {
        if let v = full.invariantViolation(fullSlots) { return "\(name) curve, fully associative: \(v)" }
        guard let setSlots else { return nil }
        for s in perSet.indices {
            if let v = perSet[s].invariantViolation(setSlots) { return "\(name) curve, set \(s): \(v)" }
            if !perSet[s].isEmpty && !isTouched[s] { return "\(name) curve: set \(s) holds entries a flush would not visit" }
        }
        return nil
    }
}

/// The misses of each cache size from a stack's depth histogram: a cache
/// of `w` ways per set misses every reference not found above depth `w`.
func curve(_ structure: String, _ hits: [Int], references: Int, sets: Int) -> [MRCRow] {
    var found = 0
    return hits.indices.map { d in
        found += hits[d]
        return MRCRow(structure: structure, sets: sets, entries: sets * (d + 1), lookups: references, misses: references - found)
    }
}

/// The page cache's curve (`--mrc`): LRU caches of 1 … 4096 pages over
/// the `fread`/`fwrite` page accesses; `fdrop` takes a file's pages out.
/// The model's own cache is sized by memory pressure and evicts by its
/// policy; those evictions are not invalidations of the curve's caches.
struct PageCacheCurve: Sendable {
    private var stack = LRUStack(depthLimit: mrcLargestSize)
    private var slots = KeySlots()

    mutating func access(_ key: UInt64) {
        if !stack.reference(key, &slots) { stack.insert(key, global: false, &slots) }
    }

    mutating func drop(file: UInt32) {
        stack.invalidateAll(&slots) { key, _ in UInt32(truncatingIfNeeded: key >> 32) == file }
    }

    /// Its points; none if there were no page-cache accesses.
    var rows: [MRCRow] {
        guard stack.references > 0 else { return [] }
        return curve("pagecache", stack.hits, references: stack.references, sets: 1)
    }

    func invariantViolation() -> String? {
        stack.invariantViolation(slots).map { "page-cache curve: \($0)" }
    }
}
