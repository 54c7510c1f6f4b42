import MemTrace

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

    /// `--mrc`: the miss-ratio curves of the data (or only) TLB and of the
    /// ITLB, fed the same lookups, fills and invalidations.
    private(set) var dataCurve: TLBCurve?
    private(set) var instructionCurve: TLBCurve?
    let recordsCurves: Bool
    /// One TLB and no curves: a lookup is the TLB's alone.
    let plain: Bool

    init(_ config: MachineConfig) {
        tlb = TLB(config.tlb, seed: config.seed)
        itlb = TLB(config.itlb ?? config.tlb, seed: config.seed &+ 1)
        split = config.itlb != nil
        recordsCurves = config.mrc
        plain = !split && !recordsCurves
        if config.mrc {
            dataCurve = TLBCurve(name: "tlb", spec: config.tlb)
            if let i = config.itlb { instructionCurve = TLBCurve(name: "itlb", spec: i) }
        }
    }

    /// The cached PTE of `page` for an access of `kind`, from the ITLB for
    /// an instruction fetch when there is one; counts the lookup, hit or miss.
    @inline(__always)
    mutating func lookup(_ page: VirtualPage, _ kind: AccessKind) -> PTE? {
        // One test in the common case, one TLB and no curves.
        if let cached = plain ? tlb.lookup(page) : routedLookup(page, kind) {
            tally.hits &+= 1
            return cached
        }
        tally.misses &+= 1
        return nil
    }

    @inline(__always)
    private mutating func routedLookup(_ page: VirtualPage, _ kind: AccessKind) -> PTE? {
        let instruction = split && kind == .execute
        if recordsCurves { curveLookup(page, instruction: instruction) }
        return instruction ? itlb.lookup(page) : tlb.lookup(page)
    }

    /// Caches a walk's PTE in the TLB an access of `kind` goes through.
    @inline(__always)
    mutating func fill(_ page: VirtualPage, _ pte: PTE, _ kind: AccessKind) {
        let instruction = split && kind == .execute
        if instruction { itlb.fill(page, pte) } else { tlb.fill(page, pte) }
        if recordsCurves { curveFill(page, pte, instruction: instruction) }
    }

    /// A CR3 load: every TLB keeps only its global entries.
    mutating func flushNonGlobal() {
        tlb.flushNonGlobal()
        if split { itlb.flushNonGlobal() }
        tally.flushes += 1
        if recordsCurves {
            dataCurve!.flushNonGlobal()
            instructionCurve?.flushNonGlobal()
        }
    }

    /// `invlpg`: one page's entries, in every TLB.
    @inline(__always)
    mutating func invalidate(_ page: VirtualPage) {
        tlb.invalidate(page)
        if split { itlb.invalidate(page) }
        tally.invlpg += 1
        if recordsCurves { curveInvalidate(page) }
    }

    // MARK: Miss-ratio curves, off the per-access path

    /// The lookup in the curve of the TLB that `instruction` goes to.
    @inline(never)
    private mutating func curveLookup(_ page: VirtualPage, instruction: Bool) {
        if instruction { instructionCurve!.lookup(page) } else { dataCurve!.lookup(page) }
    }

    @inline(never)
    private mutating func curveFill(_ page: VirtualPage, _ pte: PTE, instruction: Bool) {
        if instruction { instructionCurve!.fill(page, pte) } else { dataCurve!.fill(page, pte) }
    }

    @inline(never)
    private mutating func curveInvalidate(_ page: VirtualPage) {
        dataCurve!.invalidate(page)
        instructionCurve?.invalidate(page)
    }

    /// The curves' rows (none without `--mrc`).
    var curveRows: [MRCRow] { (dataCurve?.rows ?? []) + (instructionCurve?.rows ?? []) }

    func curveInvariantViolation() -> String? {
        if let c = dataCurve, let v = c.invariantViolation() ?? c.mismatch(tlb) { return v }
        if let c = instructionCurve, let v = c.invariantViolation() ?? c.mismatch(itlb) { return v }
        return nil
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
