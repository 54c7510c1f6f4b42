/// Address translation's caches: the TLB, and an instruction TLB when the
/// machine has a separate one (`--itlb`), with the counters of both.
///
/// Both TLBs share the machine's replacement type; a lookup, fill, `invlpg`
/// and CR3 flush here reach the TLB (or both) that the hardware would.
public struct Translation<Replacement: TLBReplacement>: Sendable {
    public internal(set) var tlb: TLB<Replacement>
    public internal(set) var itlb: TLB<Replacement>
    let split: Bool
    /// The counters but `lookups`, which is `hits + misses` (one add less per access).
    var tally = TLBCounters()
    public var counters: TLBCounters {
        var c = tally
        c.lookups = c.hits &+ c.misses
        return c
    }

    init(_ config: MachineConfig) {
        tlb = TLB(config.tlb, seed: config.seed)
        itlb = TLB(config.itlb ?? config.tlb, seed: config.seed &+ 1)
        split = config.itlb != nil
    }

    /// The cached PTE of `page`, from the ITLB for an instruction fetch
    /// when there is one; counts the lookup, hit or miss.
    @inline(__always)
    mutating func lookup(_ page: VirtualPage, instruction: Bool) -> PTE? {
        if let cached = instruction ? itlb.lookup(page) : tlb.lookup(page) {
            tally.hits &+= 1
            return cached
        }
        tally.misses &+= 1
        return nil
    }

    /// Caches a walk's PTE in the TLB the access went through.
    @inline(__always)
    mutating func fill(_ page: VirtualPage, _ pte: PTE, instruction: Bool) {
        if instruction { itlb.fill(page, pte) } else { tlb.fill(page, pte) }
    }

    /// A CR3 load: every TLB keeps only its global entries.
    mutating func flushNonGlobal() {
        tlb.flushNonGlobal()
        if split { itlb.flushNonGlobal() }
        tally.flushes += 1
    }

    /// `invlpg`: one page's entries, in every TLB.
    @inline(__always)
    mutating func invalidate(_ page: VirtualPage) {
        tlb.invalidate(page)
        if split { itlb.invalidate(page) }
        tally.invlpg += 1
    }

    /// The TLBs by name, for checks.
    var named: [(String, TLB<Replacement>)] { split ? [("TLB", tlb), ("ITLB", itlb)] : [("TLB", tlb)] }
}

/// TLB lookups (hits + misses), CR3 flushes and `invlpg`s.
public struct TLBCounters: CounterSet {
    public var lookups = 0
    public var hits = 0
    public var misses = 0
    /// CR3 loads that flushed the non-global TLB entries.
    public var flushes = 0
    public var invlpg = 0
    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("tlb_lookups", &lookups)
        v.counter("tlb_hits", &hits)
        v.counter("tlb_misses", &misses)
        v.counter("tlb_flushes", &flushes)
        v.counter("tlb_invlpg", &invlpg)
    }
}
