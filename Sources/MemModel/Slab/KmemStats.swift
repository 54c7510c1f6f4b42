import MemTrace

/// What `perf kmem stat --caller` reports per call site, over a run:
/// allocations, frees, and the bytes requested and allocated (summed over
/// every allocation, as perf sums `bytes_req` and `bytes_alloc`). Call site
/// 0 gathers the allocations whose statement names no `site=`.
public struct CallsiteRecord: Sendable, Equatable {
    public var site: UInt64
    public var allocations = 0
    public var frees = 0
    /// Allocations that failed (out of memory, or a size the variant refuses).
    public var failures = 0
    public var bytesRequested = 0
    public var bytesAllocated = 0
    /// perf's "Frag": 100 − 100 · requested / allocated.
    public var fragmentationPct: Double {
        bytesAllocated > 0 ? 100 - 100 * Double(bytesRequested) / Double(bytesAllocated) : 0
    }
    public init(site: UInt64) { self.site = site }
}

/// `perf kmem stat --page`'s counts, by order and by what the frames were
/// for: allocations, frees and failures of the page allocator over a run.
/// A run of N frames counts at order ⌈log2 N⌉.
public struct PageAllocationRecord: Sendable, Equatable {
    public var order: Int
    public var use: String
    public var allocations: Int
    public var frees: Int
    public var failures: Int
}

/// The page allocator's counts behind ``PageAllocationRecord``, kept by the
/// frame table on every take and release.
struct PageAllocationStats: Sendable, Equatable {
    static let orders = 21
    static let uses = Int(FrameUse.kmallocLarge.rawValue) + 1
    /// [use × orders + order]: allocations, frees, failures.
    private(set) var allocations = [Int](repeating: 0, count: uses * orders)
    private(set) var frees = [Int](repeating: 0, count: uses * orders)
    private(set) var failures = [Int](repeating: 0, count: uses * orders)

    /// ⌈log2 count⌉, at most 20 (a `palloc` takes at most 2^20 frames).
    @inline(__always)
    static func order(_ count: Int) -> Int { count <= 1 ? 0 : min(Int.bitWidth - (count - 1).leadingZeroBitCount, orders - 1) }

    @inline(__always)
    mutating func allocated(_ count: Int, _ use: FrameUse) { allocations[Int(use.rawValue) * Self.orders + Self.order(count)] += 1 }
    @inline(__always)
    mutating func freed(_ count: Int, _ use: FrameUse) { frees[Int(use.rawValue) * Self.orders + Self.order(count)] += 1 }
    mutating func failed(_ count: Int, _ use: FrameUse) { failures[Int(use.rawValue) * Self.orders + Self.order(count)] += 1 }

    /// The non-zero rows, by use then order.
    var records: [PageAllocationRecord] {
        var rows: [PageAllocationRecord] = []
        for u in 0..<Self.uses {
            for o in 0..<Self.orders {
                let i = u * Self.orders + o
                guard allocations[i] + frees[i] + failures[i] > 0 else { continue }
                rows.append(PageAllocationRecord(order: o, use: FrameUse(rawValue: UInt8(u))!.name,
                                                 allocations: allocations[i], frees: frees[i], failures: failures[i]))
            }
        }
        return rows
    }
}

extension FrameUse {
    /// The name `kmem_pages` stores.
    public var name: String {
        switch self {
        case .free: "free"
        case .reserved: "reserved"
        case .handle: "palloc"
        case .directory: "page_directory"
        case .pageTable: "page_table"
        case .anonymous: "anonymous"
        case .segment: "shared_segment"
        case .slab: "slab"
        case .pageCache: "page_cache"
        case .kmallocLarge: "kmalloc_large"
        }
    }
}

/// Per-object and per-call-site accounting of the slab layer: the bytes
/// each live object asked for and got, and ``CallsiteRecord``s.
struct KmemAccounting: Sendable {
    struct Live: Sendable {
        var site: Int32 = -1
        var requested: UInt32 = 0
        var allocated: UInt32 = 0
    }

    /// By object symbol, while bound.
    private var live: [Live] = []
    private(set) var sites: [CallsiteRecord] = []
    private var siteIndex: [UInt64: Int32] = [:]
    /// Bytes live objects asked for and got (the tick gauges).
    private(set) var liveRequested = 0
    private(set) var liveAllocated = 0

    /// The last site looked up: runs of one site (or none) skip the hash.
    private var lastSite: UInt64 = 0
    private var lastIndex: Int32 = -1

    private mutating func index(of site: UInt64) -> Int32 {
        if site == lastSite && lastIndex >= 0 { return lastIndex }
        let i: Int32
        if let known = siteIndex[site] {
            i = known
        } else {
            i = Int32(sites.count)
            sites.append(CallsiteRecord(site: site))
            siteIndex[site] = i
        }
        (lastSite, lastIndex) = (site, i)
        return i
    }

    mutating func allocated(_ object: Symbol, site: UInt64, requested: Int, allocated: Int) {
        let s = index(of: site)
        sites[Int(s)].allocations += 1
        sites[Int(s)].bytesRequested += requested
        sites[Int(s)].bytesAllocated += allocated
        if object.index >= live.count {
            live.append(contentsOf: repeatElement(Live(), count: object.index + 1 - live.count))
        }
        live[object.index] = Live(site: s, requested: UInt32(truncatingIfNeeded: requested), allocated: UInt32(truncatingIfNeeded: allocated))
        liveRequested += requested
        liveAllocated += allocated
    }

    mutating func failed(site: UInt64) { sites[Int(index(of: site))].failures += 1 }

    /// A bound object's free (a failed allocation's free is not counted).
    mutating func freed(_ object: Symbol) {
        let l = live[object.index]
        sites[Int(l.site)].frees += 1
        liveRequested -= Int(l.requested)
        liveAllocated -= Int(l.allocated)
        live[object.index] = Live()
    }
}
