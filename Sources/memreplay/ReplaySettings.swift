import ArgumentParser
import MemModel
import MemTrace

extension FrameAllocatorKind: ExpressibleByArgument {}
extension PageCacheEvictionKind: ExpressibleByArgument {}
extension SlabAllocatorKind: ExpressibleByArgument {}
extension NumaPolicy: ExpressibleByArgument {}

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

    @Option(help: ArgumentHelp("TLB geometry and policy: ENTRIES[:WAYS|full][:lru|fifo|random].", valueName: "spec"))
    var tlb: String = "64:4:lru"

    @Option(help: ArgumentHelp("A separate instruction TLB for `x` accesses (same syntax as --tlb).", valueName: "spec"))
    var itlb: String?

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

    func validate() throws {
        _ = try options()
    }

    /// The options these flags describe.
    func options() throws -> ReplayOptions {
        var o = ReplayOptions()
        var m = MachineConfig()
        m.pmm = pmm
        do {
            m.tlb = try TLBSpec(parsing: tlb)
            m.itlb = try itlb.map { s throws(SpecError) in try TLBSpec(parsing: s) }
        } catch {
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
