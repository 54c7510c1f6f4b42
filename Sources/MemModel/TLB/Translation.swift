import MemTrace

/// Address translation's caches: the TLB, an instruction TLB when the
/// machine has a separate one (`--itlb`), and a second-level TLB shared by
/// both when it has one (`--l2tlb`), with their counters.
///
/// The second level is the STLB of Intel cores since Nehalem (Intel SDM
/// Vol. 3A, §4.10.2 "TLBs"; sizes per core in the Optimization Reference
/// Manual): a first-level miss looks there before it walks; a hit fills the
/// first level; a walk fills both. Evictions are each level's own (neither
/// inclusive nor exclusive). `invlpg` and a CR3 load reach every level
/// (§4.10.4). Every TLB shares the machine's replacement type; a lookup,
/// fill, `invlpg` and CR3 flush here reach the TLBs the hardware would.
public struct Translation<Replacement: TLBReplacement>: Sendable {
    public internal(set) var tlb: TLB<Replacement>
    public internal(set) var itlb: TLB<Replacement>
    /// The second level (unused without `--l2tlb`).
    public internal(set) var l2: TLB<Replacement>
    let split: Bool
    let hasL2: Bool
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
    /// One TLB, no curves, no second level, no PCIDs, no 4 MiB page
    /// mapped yet: a lookup is the TLB's alone.
    private(set) var plain: Bool

    /// The TLB of 4 MiB pages (x86 cores keep one beside the 4 KiB TLB;
    /// Skylake's first level has 32 entries, 4 ways, for 2M/4M pages in
    /// Intel's Optimization Reference Manual, `--large-tlb`), keyed by
    /// directory index (and PCID). Looked up once a 4 MiB page exists
    /// (`hasLarge`), before the 4 KiB TLB, whose curves (`--mrc`) then see
    /// only the other lookups; a hit counts in `tlb_hits` and
    /// `tlb_large_hits`. Its misses go on to the second level (a 4 KiB
    /// STLB here) and the walk. One for instructions and data.
    public internal(set) var large: TLB<Replacement>
    private(set) var hasLarge = false

    /// `--pde-cache`: Intel's PDE cache, one of the paging-structure caches
    /// (SDM Vol. 3A §4.10.3.1): directory entries by bits 31:22 of the
    /// address (and PCID), so that a walk whose directory entry is cached
    /// reads only the PTE. Held in a ``TLB`` keyed by directory index;
    /// unused without the option.
    public internal(set) var pdeCache: TLB<Replacement>
    let hasPDECache: Bool

    /// `--pcid`: the TLBs are tagged (see ``TLB`` and ``PCIDTags``); a
    /// user page's key carries the current tag in bits 20…31.
    let tagged: Bool
    private(set) var pcids: PCIDTags
    private var tagBits: UInt32 = 0

    /// `kernelContext`: the context id of PID 0's address space, which
    /// holds PCID 0 at boot.
    init(_ config: MachineConfig, kernelContext: UInt64) {
        let tags = config.pcid ? config.pcidTags : 0
        tlb = TLB(config.tlb, seed: config.seed, tags: tags)
        itlb = TLB(config.itlb ?? config.tlb, seed: config.seed &+ 1, tags: tags)
        split = config.itlb != nil
        l2 = TLB(config.l2tlb ?? TLBSpec(entries: 1, ways: 1, policy: config.tlb.policy), seed: config.seed &+ 2, tags: tags)
        hasL2 = config.l2tlb != nil
        pdeCache = TLB(config.pdeCache ?? TLBSpec(entries: 1, ways: 1, policy: config.tlb.policy), seed: config.seed &+ 3, tags: tags)
        hasPDECache = config.pdeCache != nil
        large = TLB(config.largeTLB ?? config.defaultLargeTLB, seed: config.seed &+ 4, tags: tags)
        recordsCurves = config.mrc
        tagged = config.pcid
        pcids = PCIDTags(count: max(tags, 1), kernelContext: kernelContext)
        plain = !split && !recordsCurves && !hasL2 && !tagged
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
        return hasL2 ? secondLevelLookup(key(page), kind) : nil
    }

    /// The key `page` has in the TLBs: with PCIDs, the page's number with
    /// the current tag above it; a kernel page's (global) as it is. The
    /// recursive window is tagged like user space: it shows each address
    /// space's own tables, and its entries are not global.
    @inline(__always)
    func key(_ page: VirtualPage) -> VirtualPage {
        tagged && !Self.isGlobalKernelPage(page) ? VirtualPage(number: page.number | tagBits) : page
    }

    /// Kernel space below the recursive window: mapped by the shared kernel
    /// tables with global PTEs, the same in every address space.
    @inline(__always)
    static func isGlobalKernelPage(_ page: VirtualPage) -> Bool {
        page.number >= Paging.userEnd >> 12 && page.number < Paging.recursiveBase >> 12
    }

    /// A first-level miss: the second level, whose hit fills the first.
    @inline(never)
    private mutating func secondLevelLookup(_ page: VirtualPage, _ kind: AccessKind) -> PTE? {
        guard let pte = l2.lookup(page) else {
            tally.l2Misses &+= 1
            return nil
        }
        tally.l2Hits &+= 1
        fillFirstLevel(page, pte, kind)
        return pte
    }

    @inline(__always)
    private mutating func routedLookup(_ page: VirtualPage, _ kind: AccessKind) -> PTE? {
        if hasLarge, let pde = large.lookup(largeKey(page)) {
            tally.largeHits &+= 1
            return pde.page(in: page.address)
        }
        let page = key(page)
        let instruction = split && kind == .execute
        if recordsCurves { curveLookup(page, instruction: instruction) }
        return instruction ? itlb.lookup(page) : tlb.lookup(page)
    }

    /// Caches a walk's PTE in the TLB an access of `kind` goes through,
    /// and in the second level.
    @inline(__always)
    mutating func fill(_ page: VirtualPage, _ pte: PTE, _ kind: AccessKind) {
        let page = key(page)
        fillFirstLevel(page, pte, kind)
        if hasL2 { l2.fill(page, pte) }
    }

    @inline(__always)
    private mutating func fillFirstLevel(_ page: VirtualPage, _ pte: PTE, _ kind: AccessKind) {
        let instruction = split && kind == .execute
        if instruction { itlb.fill(page, pte) } else { tlb.fill(page, pte) }
        if recordsCurves { curveFill(page, pte, instruction: instruction) }
    }

    /// The large-page TLB's key of `page` (untagged): its directory index,
    /// and the PCID above.
    @inline(__always)
    private func largeKey(_ page: VirtualPage) -> VirtualPage {
        VirtualPage(number: page.number >> 10 | tagBits)
    }

    /// A walk found directory entry `pde` (PS) for `va`: into the
    /// large-page TLB. The first one turns its lookups on.
    mutating func fillLarge(_ va: UInt32, _ pde: PTE) {
        if !hasLarge {
            hasLarge = true
            plain = false
        }
        large.fill(largeKey(VirtualPage(containing: va)), pde)
    }

    /// A CR3 load: every TLB keeps only its global entries.
    mutating func flushNonGlobal() {
        // Without PCIDs the large-page TLB is reached once it can hold
        // something (it is empty before the first 4 MiB page).
        if hasLarge { large.flushNonGlobal() }
        tlb.flushNonGlobal()
        if split { itlb.flushNonGlobal() }
        if hasL2 { l2.flushNonGlobal() }
        if hasPDECache { pdeCache.flushNonGlobal() }
        tally.flushes += 1
        if recordsCurves {
            dataCurve!.flushNonGlobal()
            instructionCurve?.flushNonGlobal()
        }
    }

    /// A CR3 load under `--pcid`: address space `context`, at TLB
    /// generation `gen`, takes its tag (``PCIDTags``), flushed if it was
    /// recycled or is behind.
    mutating func switchContext(_ context: UInt64, gen: UInt64) {
        let (tag, flush) = pcids.choose(context, gen: gen)
        tagBits = UInt32(tag) << 20
        tlb.activate(tag: tag)
        if split { itlb.activate(tag: tag) }
        if hasL2 { l2.activate(tag: tag) }
        if hasPDECache { pdeCache.activate(tag: tag) }
        large.activate(tag: tag)
        if flush { flushTag(tag) }
    }

    /// Under `--pcid`, a flush of the running address space's entries
    /// (fork's `flush_tlb_mm()`), which is then at generation `gen`.
    mutating func flushCurrent(gen: UInt64) {
        pcids.caughtUp(gen)
        flushTag(pcids.current)
    }

    /// Every TLB drops the non-global entries of `tag`; counted as a flush.
    private mutating func flushTag(_ tag: Int) {
        tlb.flush(tag: tag)
        if split { itlb.flush(tag: tag) }
        if hasL2 { l2.flush(tag: tag) }
        if hasPDECache { pdeCache.flush(tag: tag) }
        large.flush(tag: tag)
        tally.flushes += 1
        if recordsCurves {
            dataCurve!.flush(tag: tag)
            instructionCurve?.flush(tag: tag)
        }
    }

    /// `invlpg`: one page's entries, in every TLB.
    @inline(__always)
    mutating func invalidate(_ page: VirtualPage) {
        if hasLarge { large.invalidate(largeKey(page)) }
        let page = key(page)
        tlb.invalidate(page)
        if split { itlb.invalidate(page) }
        if hasL2 { l2.invalidate(page) }
        if hasPDECache { invalidateDirectoryEntries() }
        tally.invlpg += 1
        if recordsCurves { curveInvalidate(page) }
    }

    // MARK: Walks and the PDE cache

    /// The PDE cache's key of `va`: its directory index, and the PCID above.
    @inline(__always)
    private func directoryKey(_ va: UInt32) -> VirtualPage {
        VirtualPage(number: va >> 22 | tagBits)
    }

    /// A walk's directory entry from the PDE cache (a hit costs no memory
    /// reference), or nil.
    @inline(__always)
    mutating func cachedDirectoryEntry(_ va: UInt32) -> PTE? {
        guard hasPDECache else { return nil }
        guard let pde = pdeCache.lookup(directoryKey(va)) else {
            tally.pdeCacheMisses &+= 1
            return nil
        }
        tally.pdeCacheHits &+= 1
        return pde
    }

    /// A walk read directory entry `pde` from memory; a present one enters
    /// the PDE cache (SDM §4.10.3.1: only entries that reference a page table).
    @inline(__always)
    mutating func readDirectoryEntry(_ va: UInt32, _ pde: PTE) {
        tally.walkRefs &+= 1
        if hasPDECache && pde.isPresent && !pde.has(.pageSize) { pdeCache.fill(directoryKey(va), pde) }
    }

    /// A walk read a PTE from memory.
    @inline(__always)
    mutating func readTableEntry() { tally.walkRefs &+= 1 }

    /// `invlpg` also "invalidates all entries in all paging-structure
    /// caches associated with the current PCID, regardless of the linear
    /// addresses to which they correspond" (SDM Vol. 3A §4.10.4.1).
    @inline(never)
    private mutating func invalidateDirectoryEntries() {
        if tagged { pdeCache.flush(tag: pcids.current) } else { pdeCache.flushNonGlobal() }
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

    /// The page and PCID a TLB key stands for (PCID 0 without `--pcid`;
    /// a global kernel page's is under every PCID and reads as 0).
    static func page(ofKey key: VirtualPage) -> (page: VirtualPage, tag: Int) {
        (VirtualPage(number: key.number & 0xF_FFFF), Int(key.number >> 20))
    }

    /// The TLBs by name, for checks.
    var named: [(String, TLB<Replacement>)] {
        [("TLB", tlb)] + (split ? [("ITLB", itlb)] : []) + (hasL2 ? [("L2 TLB", l2)] : [])
    }
}

/// First-level TLB lookups (hits + misses), CR3 flushes and `invlpg`s,
/// the second level's hits and misses (its lookups are the first level's
/// misses; its misses are the walks), the walks' memory references and the
/// PDE cache's hits and misses.
public struct TLBCounters: CounterSet {
    public var lookups = 0
    public var hits = 0
    public var misses = 0
    /// CR3 loads that flushed the non-global TLB entries.
    public var flushes = 0
    public var invlpg = 0
    public var l2Hits = 0
    public var l2Misses = 0
    /// Memory references of page walks: a directory entry not in the PDE
    /// cache, and the PTE when the directory entry is present.
    public var walkRefs = 0
    /// Walks that found their directory entry in the PDE cache, and that did not.
    public var pdeCacheHits = 0
    public var pdeCacheMisses = 0
    /// Lookups that hit the large-page TLB (counted in `hits` too).
    public var largeHits = 0
    public init() {}

    public mutating func visit<V: MetricVisitor>(_ v: inout V) {
        v.counter("tlb_lookups", &lookups)
        v.counter("tlb_hits", &hits)
        v.counter("tlb_misses", &misses)
        v.counter("tlb_flushes", &flushes)
        v.counter("tlb_invlpg", &invlpg)
        v.counter("tlb_l2_hits", &l2Hits)
        v.counter("tlb_l2_misses", &l2Misses)
        v.counter("walk_refs", &walkRefs)
        v.counter("pde_cache_hits", &pdeCacheHits)
        v.counter("pde_cache_misses", &pdeCacheMisses)
        v.counter("tlb_large_hits", &largeHits)
    }
}
