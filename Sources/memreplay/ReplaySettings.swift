import ArgumentParser
import MemModel
import MemTrace

extension FrameAllocatorKind: ExpressibleByArgument {}
extension PageCacheEvictionKind: ExpressibleByArgument {}
extension MigrateTypeNumbering: ExpressibleByArgument {}
extension SlabAllocatorKind: ExpressibleByArgument {}
extension NumaPolicy: ExpressibleByArgument {}
extension CompactionMode: ExpressibleByArgument {}

/// Options every replaying command shares.
struct ReplaySettings: ParsableArguments {
    @Option(help: "Physical allocator variant.")
    var pmm: FrameAllocatorKind = .stack

    @Option(help: ArgumentHelp("Physical memory (overrides the trace's `mem`), e.g. 64M.", valueName: "size"))
    var mem: String?

    @Option(help: ArgumentHelp("Frames at the bottom never allocatable (overrides `reserve`).", valueName: "size"))
    var reserve: String?

    @Option(help: "NUMA nodes (overrides `nodes`): memory split into equal contiguous nodes.")
    var nodes: Int?

    @Option(help: "NUMA allocation policy: home node first, or round-robin.")
    var numaPolicy: NumaPolicy = .local

    @Option(help: ArgumentHelp("TLB geometry and policy: ENTRIES[:WAYS|full][:lru|fifo|random]; or a hierarchy, l1d=SPEC[,l1i=SPEC][,l2=SPEC] (l1i as --itlb, l2 as --l2tlb).", valueName: "spec"))
    var tlb: String = "64:4:lru"

    @Option(help: ArgumentHelp("A separate instruction TLB for `x` accesses (same syntax as --tlb).", valueName: "spec"))
    var itlb: String?

    @Option(help: ArgumentHelp("A second-level TLB shared by instructions and data, looked up on a first-level miss (same syntax as --tlb).", valueName: "spec"))
    var l2tlb: String?

    @Option(help: ArgumentHelp("A PDE cache (Intel's paging-structure cache of directory entries): a walk whose directory entry it holds reads only the PTE (same syntax as --tlb).", valueName: "spec"))
    var pdeCache: String?

    @Option(help: ArgumentHelp("The TLB of 4 MiB pages (mmap … huge), looked up before the 4 KiB TLB (same syntax as --tlb; default 32:4, Skylake's, with --tlb's policy).", valueName: "spec"))
    var largeTlb: String?

    @Option(help: "Seed of the random TLB policy.")
    var seed: UInt64 = 1

    @Option(help: "kswapd wakes when usage is above this percentage.")
    var high: Int = 80

    @Option(help: "kswapd sleeps when usage is at or below this percentage.")
    var low: Int = 60

    @Option(help: "Slab allocator variant.")
    var slab: SlabAllocatorKind = .bonwick

    @Option(help: "Page-cache eviction order.")
    var pageCachePolicy: PageCacheEvictionKind = .lru

    @Flag(help: "Fail allocations that find no free frame instead of reclaiming synchronously.")
    var noDirectReclaim = false

    @Option(help: ArgumentHelp("Close a tick every N events, besides the trace's tick lines.", valueName: "n"))
    var tickEvery: Int = 0

    @Flag(help: "Verify the model's invariants after every event.")
    var check = false

    @Option(help: ArgumentHelp("Verify the model's invariants every N events (implies --check).", valueName: "n"))
    var checkEvery: Int?

    @Option(help: ArgumentHelp("Write slabinfo rows every N ticks (0: never).", valueName: "n"))
    var slabinfoEvery: Int = 1

    @Option(help: ArgumentHelp("Memory compaction (buddy variants): off, direct (for a failing allocation of order > 0) or proactive (also at tick close).", valueName: "mode"))
    var compaction: CompactionMode = .off

    @Option(help: ArgumentHelp("Direct compaction runs only when the failed order's fragmentation index is above this (-1000 to 1000).", valueName: "n"))
    var extfragThreshold: Int = 500

    @Option(help: ArgumentHelp("Proactive compaction's proactiveness, 0 to 100: it runs while the fragmentation score is above min(max(100 - n, 5) + 10, 100).", valueName: "n"))
    var compactionProactiveness: Int = 20

    @Flag(help: "Miss-ratio curves in one pass: the misses of every LRU TLB size 1 to 4096 (and of the TLB's set count), and of the page cache, in table mrc.")
    var mrc = false

    @Flag(help: "PCIDs: TLB entries tagged with the address space; a switch keeps the other address spaces' entries (tags assigned round robin and flushed on reuse, as Linux's choose_new_asid).")
    var pcid = false

    @Option(help: ArgumentHelp("PCID tags with --pcid, 1 to 4096 (default 4096; Linux uses 6 per CPU).", valueName: "n"))
    var pcidTags: Int?

    func validate() throws {
        _ = try options()
    }

    /// The options these flags describe.
    func options() throws -> ReplayOptions {
        var o = ReplayOptions()
        var m = MachineConfig()
        m.pmm = pmm
        do {
            var (first, instruction, second) = (tlb, itlb, l2tlb)
            if tlb.contains("=") {
                let levels = try Self.hierarchy(tlb)
                guard let d = levels["l1d"] else { throw ValidationError("--tlb \(tlb): a hierarchy needs l1d=SPEC") }
                first = d
                if let i = levels["l1i"] {
                    guard itlb == nil else { throw ValidationError("--tlb \(tlb) has l1i and --itlb is given too: give one") }
                    instruction = i
                }
                if let l2 = levels["l2"] {
                    guard l2tlb == nil else { throw ValidationError("--tlb \(tlb) has l2 and --l2tlb is given too: give one") }
                    second = l2
                }
            }
            m.tlb = try TLBSpec(parsing: first)
            m.itlb = try instruction.map { s throws(SpecError) in try TLBSpec(parsing: s) }
            m.l2tlb = try second.map { s throws(SpecError) in try TLBSpec(parsing: s) }
            m.pdeCache = try pdeCache.map { s throws(SpecError) in try TLBSpec(parsing: s) }
            m.largeTLB = try largeTlb.map { s throws(SpecError) in try TLBSpec(parsing: s) }
        } catch let error as SpecError {
            throw ValidationError(error.description)
        }
        m.seed = seed
        guard (0...100).contains(high), (0...100).contains(low), low < high else {
            throw ValidationError("--low \(low) must be below --high \(high), both between 0 and 100")
        }
        m.highWatermark = high
        m.lowWatermark = low
        m.pageCachePolicy = pageCachePolicy
        m.slab = slab
        m.numaPolicy = numaPolicy
        m.directReclaim = !noDirectReclaim
        guard tickEvery >= 0 else { throw ValidationError("--tick-every must be 0 or more") }
        m.tickEvery = tickEvery
        if let n = checkEvery {
            guard n >= 1 else { throw ValidationError("--check-every must be at least 1") }
            m.checkEvery = n
        } else if check {
            m.checkEvery = 1
        }
        guard slabinfoEvery >= 0 else { throw ValidationError("--slabinfo-every must be 0 or more") }
        m.slabinfoEvery = slabinfoEvery
        m.compaction = compaction
        m.extfragThreshold = extfragThreshold
        m.compactionProactiveness = compactionProactiveness
        m.mrc = mrc
        m.pcid = pcid
        if let pcidTags {
            guard pcid else { throw ValidationError("--pcid-tags needs --pcid") }
            guard (1...4096).contains(pcidTags) else { throw ValidationError("--pcid-tags must be 1 to 4096 (a PCID is 12 bits)") }
            m.pcidTags = pcidTags
        }
        do {
            try m.validate()
        } catch {
            if m.compaction != .off && !m.pmm.supportsCompaction { throw ValidationError(error.description) }
            if !(-1000...1000).contains(extfragThreshold) { throw ValidationError("--extfrag-threshold must be -1000 to 1000") }
            if !(0...100).contains(compactionProactiveness) { throw ValidationError("--compaction-proactiveness must be 0 to 100") }
        }
        o.machine = m
        if let mem {
            guard let b = parseSize(mem), b >= 8192, b <= 1 << 32, b % 4096 == 0 else {
                throw ValidationError("--mem \(mem): a multiple of 4096 between 8K and 4G, e.g. 64M")
            }
            o.memBytes = b
        }
        if let reserve {
            guard let b = parseSize(reserve), b % 4096 == 0 else {
                throw ValidationError("--reserve \(reserve): a multiple of 4096, e.g. 1M")
            }
            o.reserveBytes = b
        }
        if let nodes {
            guard (1...64).contains(nodes) else { throw ValidationError("--nodes must be between 1 and 64") }
            o.nodes = nodes
        }
        return o
    }
}

extension ReplaySettings {
    /// `l1d=SPEC,l1i=SPEC,l2=SPEC` (any order, l1i and l2 optional) by level.
    static func hierarchy(_ text: String) throws -> [String: String] {
        var levels: [String: String] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, ["l1d", "l1i", "l2"].contains(parts[0]), !parts[1].isEmpty else {
                throw ValidationError("--tlb \(text): expected l1d=SPEC[,l1i=SPEC][,l2=SPEC], not '\(item)'")
            }
            guard levels[parts[0]] == nil else { throw ValidationError("--tlb \(text): \(parts[0]) given twice") }
            levels[parts[0]] = parts[1]
        }
        return levels
    }

    /// The command-line arguments that give `options` (`--key=value`, so a
    /// negative number is not taken for an option).
    static func arguments(giving options: ReplayOptions) -> [String] {
        let m = options.machine
        var a = ["--pmm=\(m.pmm.rawValue)", "--tlb=\(m.tlb)", "--seed=\(m.seed)",
                 "--high=\(m.highWatermark)", "--low=\(m.lowWatermark)", "--slab=\(m.slab.rawValue)",
                 "--page-cache-policy=\(m.pageCachePolicy.rawValue)", "--numa-policy=\(m.numaPolicy.rawValue)",
                 "--tick-every=\(m.tickEvery)", "--slabinfo-every=\(m.slabinfoEvery)"]
        if let itlb = m.itlb { a.append("--itlb=\(itlb)") }
        if let l2 = m.l2tlb { a.append("--l2tlb=\(l2)") }
        if let p = m.pdeCache { a.append("--pde-cache=\(p)") }
        if let l = m.largeTLB { a.append("--large-tlb=\(l)") }
        if !m.directReclaim { a.append("--no-direct-reclaim") }
        if m.mrc { a.append("--mrc") }
        if m.pcid { a += ["--pcid", "--pcid-tags=\(m.pcidTags)"] }
        if m.checkEvery != 0 { a.append("--check-every=\(m.checkEvery)") }
        if m.compaction != .off {
            a += ["--compaction=\(m.compaction.rawValue)", "--extfrag-threshold=\(m.extfragThreshold)",
                  "--compaction-proactiveness=\(m.compactionProactiveness)"]
        }
        if let b = options.memBytes { a.append("--mem=\(b)") }
        if let b = options.reserveBytes { a.append("--reserve=\(b)") }
        if let n = options.nodes { a.append("--nodes=\(n)") }
        return a
    }

    /// Checks options that did not come from the command line (a sweep plan's
    /// JSON) exactly as the command line's are checked: they are written out
    /// as arguments, parsed and validated, and must come back unchanged.
    /// Throws what the command line would say.
    static func check(_ options: ReplayOptions) throws(ValidationError) {
        let again: ReplayOptions
        do {
            again = try parse(arguments(giving: options)).options()
        } catch {
            throw ValidationError(message(for: error))
        }
        guard again != options else { return }
        // Every setting round-trips but the machine's own size fields, which
        // the command line sets through the overrides instead.
        let m = options.machine, d = MachineConfig()
        if m.memBytes != d.memBytes { throw ValidationError("machine.memBytes is not the default; the command line sets it through memBytes (--mem)") }
        if m.reserveBytes != d.reserveBytes { throw ValidationError("machine.reserveBytes is not the default; the command line sets it through reserveBytes (--reserve)") }
        if m.nodes != d.nodes { throw ValidationError("machine.nodes is not the default; the command line sets it through nodes (--nodes)") }
        throw ValidationError("the options are not what their command-line form \(arguments(giving: options).joined(separator: " ")) gives")
    }
}
