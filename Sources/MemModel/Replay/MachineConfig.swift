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
    /// allocator, and the TLB policy both TLBs share — or
    /// ``AnyTLBReplacement`` when a separate ITLB has a policy of its own.
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
        if let itlb = config.itlb, itlb.policy != config.tlb.policy {
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
        case pmm, memBytes, reserveBytes, nodes, numaPolicy, tlb, itlb, seed, highWatermark, lowWatermark
        case pageCachePolicy, slab, directReclaim, tickEvery, checkEvery, slabinfoEvery
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
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        highWatermark = try c.decodeIfPresent(Int.self, forKey: .highWatermark) ?? highWatermark
        lowWatermark = try c.decodeIfPresent(Int.self, forKey: .lowWatermark) ?? lowWatermark
        pageCachePolicy = try c.decodeIfPresent(PageCacheEvictionKind.self, forKey: .pageCachePolicy) ?? pageCachePolicy
        slab = try c.decodeIfPresent(SlabAllocatorKind.self, forKey: .slab) ?? slab
        directReclaim = try c.decodeIfPresent(Bool.self, forKey: .directReclaim) ?? directReclaim
        tickEvery = try c.decodeIfPresent(Int.self, forKey: .tickEvery) ?? tickEvery
        checkEvery = try c.decodeIfPresent(Int.self, forKey: .checkEvery) ?? checkEvery
        slabinfoEvery = try c.decodeIfPresent(Int.self, forKey: .slabinfoEvery) ?? slabinfoEvery
    }
}
