import MemTrace

/// Everything that shapes a replay. Stored as JSON in `runs.config`, so any
/// run can be reproduced from its row.
public struct MachineConfig: Sendable, Codable, Equatable {
    public var pmm: FrameAllocatorKind = .stack
    /// Physical memory in bytes (`mem`), a multiple of 4096, at most 4 GiB.
    public var memBytes: UInt64 = 64 << 20
    /// Bytes at the bottom never allocatable (`reserve`).
    public var reserveBytes: UInt64 = 0
    public var nodes: Int = 1
    public var numaPolicy: NumaPolicy = .local
    public var tlb: TLBSpec = .defaultSpec
    /// A separate instruction TLB for `x` accesses, if any.
    public var itlb: TLBSpec? = nil
    /// A second-level TLB shared by instructions and data, if any.
    public var l2tlb: TLBSpec? = nil
    public var seed: UInt64 = 1
    public var highWatermark: Int = 80
    public var lowWatermark: Int = 60
    public var pageCachePolicy: PageCacheEvictionKind = .lru
    /// The slab allocator variant.
    public var slab: SlabAllocatorKind = .bonwick
    public var directReclaim: Bool = true
    /// Close a tick every N events (0: only at `tick` statements).
    public var tickEvery: Int = 0
    /// Verify the model's invariants every N events (0: never).
    public var checkEvery: Int = 0
    /// Write `slabinfo` rows every N ticks (0: never).
    public var slabinfoEvery: Int = 1
    /// `--compaction`: when memory compaction runs (buddy variants only).
    public var compaction: CompactionMode = .off
    /// `--extfrag-threshold`: direct compaction runs only when the
    /// fragmentation index of the failed order is above this (Linux's 500).
    public var extfragThreshold: Int = 500
    /// `--compaction-proactiveness`: 0–100, Linux 5.9's default 20.
    public var compactionProactiveness: Int = 20
    /// `--mrc`: miss-ratio curves of the TLBs and the page cache (table `mrc`).
    public var mrc = false
    /// `--pcid`: TLB entries tagged with the address space's PCID; switches
    /// load CR3 without a flush (see ``PCIDTags``).
    public var pcid = false
    /// `--pcid-tags`: how many PCIDs (x86 has 4096).
    public var pcidTags = 4096
    /// `--pde-cache`: a PDE cache of this shape, if any (see ``Translation/pdeCache``).
    public var pdeCache: TLBSpec? = nil
    /// `--large-tlb`: the TLB of 4 MiB pages; nil: ``defaultLargeTLB``.
    public var largeTLB: TLBSpec? = nil
    /// The TLB of 4 MiB pages without `--large-tlb`: Skylake's first level
    /// for 2M/4M pages, 32 entries, 4 ways, with the TLB's policy.
    public var defaultLargeTLB: TLBSpec { TLBSpec(entries: 32, ways: 4, policy: tlb.policy) }

    public init() {}

    public var frames: Int { Int(memBytes / 4096) }
    public var reservedFrames: Int { Int(reserveBytes / 4096) }
    public var allocatableFrames: Int { frames - reservedFrames }

    /// Checks the settings that do not depend on the trace.
    public func validate() throws(SpecError) {
        guard memBytes >= 4096, memBytes <= 1 << 32, memBytes % 4096 == 0 else {
            throw SpecError("memory size \(memBytes) must be a multiple of 4096 between 4K and 4G")
        }
        guard reserveBytes % 4096 == 0 else { throw SpecError("reserve \(reserveBytes) is not a multiple of 4096") }
        guard reservedFrames + 2 <= frames else {
            throw SpecError("reserve \(reserveBytes) leaves fewer than 2 allocatable frames of \(memBytes) bytes")
        }
        guard (0...100).contains(lowWatermark), (0...100).contains(highWatermark), lowWatermark < highWatermark else {
            throw SpecError("watermarks must satisfy 0 <= low < high <= 100 (low \(lowWatermark), high \(highWatermark))")
        }
        guard nodes >= 1 && nodes <= 64 else { throw SpecError("nodes \(nodes) out of range (1 to 64)") }
        guard frames % nodes == 0 else {
            throw SpecError("\(frames) frames do not split evenly into \(nodes) nodes")
        }
        try tlb.validate()
        try itlb?.validate()
        try l2tlb?.validate()
        try pdeCache?.validate()
        try largeTLB?.validate()
        guard (1...4096).contains(pcidTags) else { throw SpecError("PCID tags \(pcidTags) out of range (1 to 4096: a PCID is 12 bits)") }
        if compaction != .off && !pmm.supportsCompaction {
            throw SpecError("--compaction \(compaction.rawValue) needs a buddy allocator (--pmm buddy or buddy-mobility), not \(pmm.rawValue)")
        }
        guard (-1000...1000).contains(extfragThreshold) else { throw SpecError("extfrag threshold \(extfragThreshold) out of range (-1000 to 1000)") }
        guard (0...100).contains(compactionProactiveness) else { throw SpecError("compaction proactiveness \(compactionProactiveness) out of range (0 to 100)") }
    }
}

/// Code to run on a machine of the configuration's concrete types (see
/// ``MachineConfig/withMachineType(_:)``).
public protocol MachineBody {
    associatedtype Result
    associatedtype Failure: Error = Never
    func run<F: FrameAllocator, R: TLBReplacement>(_ machine: Machine<F, R>.Type) throws(Failure) -> Result
}

extension MachineConfig {
    /// Runs `body` with the machine type these settings select: the
    /// allocator, and the TLB policy every TLB shares — or
    /// ``AnyTLBReplacement`` when the ITLB or second level has a policy of
    /// its own.
    ///
    /// The kinds' dispatches pass concrete types, so `body` (the replay loop)
    /// is compiled once per combination with every call inlined; opening the
    /// types as existential metatypes instead would run it unspecialized,
    /// twice the instructions per event.
    @inline(__always)
    public func withMachineType<B: MachineBody>(_ body: B) throws(B.Failure) -> B.Result {
        try pmm.visit(WithAllocator(config: self, body: body))
    }
}

private struct WithAllocator<B: MachineBody>: FrameAllocatorVisitor {
    let config: MachineConfig
    let body: B

    @inline(__always)
    func visit<F: FrameAllocator>(_ type: F.Type) throws(B.Failure) -> B.Result {
        let policies = [config.itlb, config.l2tlb, config.pdeCache, config.largeTLB].compactMap { $0?.policy }
        if policies.contains(where: { $0 != config.tlb.policy }) {
            return try body.run(Machine<F, AnyTLBReplacement>.self)
        }
        return try config.tlb.policy.visit(WithReplacement<F, B>(body: body))
    }
}

private struct WithReplacement<F: FrameAllocator, B: MachineBody>: TLBReplacementVisitor {
    let body: B

    @inline(__always)
    func visit<R: TLBReplacement>(_ type: R.Type) throws(B.Failure) -> B.Result {
        try body.run(Machine<F, R>.self)
    }
}

extension MachineConfig {
    enum CodingKeys: String, CodingKey {
        case pmm, memBytes, reserveBytes, nodes, numaPolicy, tlb, itlb, l2tlb, seed, highWatermark, lowWatermark
        case pageCachePolicy, slab, directReclaim, tickEvery, checkEvery, slabinfoEvery
        case compaction, extfragThreshold, compactionProactiveness, mrc, pcid, pcidTags, pdeCache, largeTLB
    }

    /// Every setting, except the compaction ones while compaction is off,
    /// `mrc` and the PCID ones while they are off: the JSON of a run without them is what the
    /// releases before them wrote.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(pmm, forKey: .pmm)
        try c.encode(memBytes, forKey: .memBytes)
        try c.encode(reserveBytes, forKey: .reserveBytes)
        try c.encode(nodes, forKey: .nodes)
        try c.encode(numaPolicy, forKey: .numaPolicy)
        try c.encode(tlb, forKey: .tlb)
        try c.encodeIfPresent(itlb, forKey: .itlb)
        try c.encodeIfPresent(l2tlb, forKey: .l2tlb)
        try c.encodeIfPresent(pdeCache, forKey: .pdeCache)
        try c.encodeIfPresent(largeTLB, forKey: .largeTLB)
        try c.encode(seed, forKey: .seed)
        try c.encode(highWatermark, forKey: .highWatermark)
        try c.encode(lowWatermark, forKey: .lowWatermark)
        try c.encode(pageCachePolicy, forKey: .pageCachePolicy)
        try c.encode(slab, forKey: .slab)
        try c.encode(directReclaim, forKey: .directReclaim)
        try c.encode(tickEvery, forKey: .tickEvery)
        try c.encode(checkEvery, forKey: .checkEvery)
        try c.encode(slabinfoEvery, forKey: .slabinfoEvery)
        if compaction != .off {
            try c.encode(compaction, forKey: .compaction)
            try c.encode(extfragThreshold, forKey: .extfragThreshold)
            try c.encode(compactionProactiveness, forKey: .compactionProactiveness)
        }
        if mrc { try c.encode(mrc, forKey: .mrc) }
        if pcid {
            try c.encode(pcid, forKey: .pcid)
            try c.encode(pcidTags, forKey: .pcidTags)
        }
    }

    /// Decodes a configuration stored by any release: a setting a run's JSON
    /// lacks (added after it was written, such as `slab`) takes its default,
    /// which is what that release ran with.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        pmm = try c.decodeIfPresent(FrameAllocatorKind.self, forKey: .pmm) ?? pmm
        memBytes = try c.decodeIfPresent(UInt64.self, forKey: .memBytes) ?? memBytes
        reserveBytes = try c.decodeIfPresent(UInt64.self, forKey: .reserveBytes) ?? reserveBytes
        nodes = try c.decodeIfPresent(Int.self, forKey: .nodes) ?? nodes
        numaPolicy = try c.decodeIfPresent(NumaPolicy.self, forKey: .numaPolicy) ?? numaPolicy
        tlb = try c.decodeIfPresent(TLBSpec.self, forKey: .tlb) ?? tlb
        itlb = try c.decodeIfPresent(TLBSpec.self, forKey: .itlb)
        l2tlb = try c.decodeIfPresent(TLBSpec.self, forKey: .l2tlb)
        pdeCache = try c.decodeIfPresent(TLBSpec.self, forKey: .pdeCache)
        largeTLB = try c.decodeIfPresent(TLBSpec.self, forKey: .largeTLB)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        highWatermark = try c.decodeIfPresent(Int.self, forKey: .highWatermark) ?? highWatermark
        lowWatermark = try c.decodeIfPresent(Int.self, forKey: .lowWatermark) ?? lowWatermark
        pageCachePolicy = try c.decodeIfPresent(PageCacheEvictionKind.self, forKey: .pageCachePolicy) ?? pageCachePolicy
        slab = try c.decodeIfPresent(SlabAllocatorKind.self, forKey: .slab) ?? slab
        directReclaim = try c.decodeIfPresent(Bool.self, forKey: .directReclaim) ?? directReclaim
        tickEvery = try c.decodeIfPresent(Int.self, forKey: .tickEvery) ?? tickEvery
        checkEvery = try c.decodeIfPresent(Int.self, forKey: .checkEvery) ?? checkEvery
        slabinfoEvery = try c.decodeIfPresent(Int.self, forKey: .slabinfoEvery) ?? slabinfoEvery
        compaction = try c.decodeIfPresent(CompactionMode.self, forKey: .compaction) ?? compaction
        extfragThreshold = try c.decodeIfPresent(Int.self, forKey: .extfragThreshold) ?? extfragThreshold
        compactionProactiveness = try c.decodeIfPresent(Int.self, forKey: .compactionProactiveness) ?? compactionProactiveness
        mrc = try c.decodeIfPresent(Bool.self, forKey: .mrc) ?? mrc
        pcid = try c.decodeIfPresent(Bool.self, forKey: .pcid) ?? pcid
        pcidTags = try c.decodeIfPresent(Int.self, forKey: .pcidTags) ?? pcidTags
    }
}
