import MemTrace

/// The slab layer: the variant's caches (``SlabVariant``), which trace
/// symbol names which cache, and which object lives where.
///
/// What a variant does not decide lives here, so that every variant sees the
/// same trace rules: an object ID is bound to one allocation at a time, a
/// `kmalloc` above the variant's largest class takes whole frames, and a
/// failed allocation is remembered so its free is a no-op.
public struct SlabAllocator: Sendable {
    private(set) var variant: any SlabVariant
    /// Cache index of each cache-name symbol, or -1.
    private var cacheOfSymbol: [Int32] = []

    enum Binding: Sendable, Equatable {
        case none
        /// The allocation failed (out of memory): freeing it is a no-op.
        case failed(kmalloc: Bool)
        case object(SlabObject, kmalloc: Bool)
        case large(base: FrameNumber, frames: Int32)
    }

    /// The migrate type of each cache's slab pages, by cache index (absent: unmovable).
    private var slabMigrateType: [MigrateType] = []

    /// The migrate type the slab pages of cache `c` are allocated with.
    @inline(__always)
    func migrateType(ofCache c: Int32) -> MigrateType {
        Int(c) < slabMigrateType.count ? slabMigrateType[Int(c)] : .unmovable
    }

    /// Binding of each object-ID symbol.
    var objects: [Binding] = []
    /// Frames held by `kmalloc` allocations above the largest class.
    public internal(set) var kmallocLargeFrames = 0
    /// Bytes asked for and given, per live object and per call site.
    var kmem = KmemAccounting()
    /// The size each declared cache was created with (`cache NAME SIZE`),
    /// by cache symbol: what `kmem_cache_alloc` reports as `bytes_req`.
    private var createdSize: [Int32] = []
    /// `replay --check`: the first allocation whose size the variant gives
    /// differently from the trace's `alloc=`, worded; the replay loop takes it.
    var allocationMismatch: String?

    init(_ kind: SlabAllocatorKind, totalPages: Int) {
        variant = kind.makeVariant(totalPages: totalPages)
    }

    func cacheIndex(_ symbol: Symbol) -> Int32? {
        guard symbol.index < cacheOfSymbol.count else { return nil }
        let c = cacheOfSymbol[symbol.index]
        return c >= 0 ? c : nil
    }

    /// The cache a trace name refers to, including the boot-time caches by name.
    mutating func resolve(_ symbol: Symbol, name: String) -> Int32? {
        if let c = cacheIndex(symbol) { return c }
        if let k = variant.cache(named: name) {
            bind(symbol, to: k)
            return k
        }
        return nil
    }

    private mutating func bind(_ symbol: Symbol, to cache: Int32) {
        if symbol.index >= cacheOfSymbol.count {
            cacheOfSymbol.append(contentsOf: repeatElement(-1, count: symbol.index + 1 - cacheOfSymbol.count))
        }
        cacheOfSymbol[symbol.index] = cache
    }

    /// `kmem_cache_create`; `type` is `.reclaimable` for `SLAB_RECLAIM_ACCOUNT`.
    mutating func kmem_cache_create(_ symbol: Symbol, name: String, size: Int, align: Int,
                                    type: MigrateType = .unmovable) -> Int32 {
        let c = variant.createCache(name: name, size: size, align: align, reclaimable: type == .reclaimable)
        bind(symbol, to: c)
        if type != .unmovable && Swift.type(of: variant).slabPagesFollowCache {
            if Int(c) >= slabMigrateType.count {
                slabMigrateType.append(contentsOf: repeatElement(.unmovable, count: Int(c) + 1 - slabMigrateType.count))
            }
            slabMigrateType[Int(c)] = type
        }
        if symbol.index >= createdSize.count {
            createdSize.append(contentsOf: repeatElement(0, count: symbol.index + 1 - createdSize.count))
        }
        createdSize[symbol.index] = Int32(size)
        return c
    }

    /// `bytes_req` of a `salloc` from the cache `symbol` names: the size it
    /// was declared with, or a boot cache's object size.
    func requestedSize(ofCache symbol: Symbol, _ cache: Int32) -> Int {
        symbol.index < createdSize.count && createdSize[symbol.index] > 0 ? Int(createdSize[symbol.index]) : variant.objectSize(of: cache)
    }

    @inline(__always)
    func binding(_ object: Symbol) -> Binding {
        object.index < objects.count ? objects[object.index] : .none
    }

    @inline(__always)
    mutating func setBinding(_ object: Symbol, _ b: Binding) {
        if object.index >= objects.count {
            objects.append(contentsOf: repeatElement(.none, count: object.index + 1 - objects.count))
        }
        objects[object.index] = b
    }

    // MARK: The variant's operations (the machine supplies frames)

    var kmallocMax: Int { variant.kmallocMax }
    var cacheCount: Int { variant.cacheCount }
    func name(of cache: Int32) -> String { variant.name(of: cache) }
    func kmallocCache(for size: Int) -> Int32 { variant.kmallocCache(for: size) }
    mutating func allocate(from cache: Int32) -> SlabObject? { variant.allocate(from: cache) }
    func growthFrames(of cache: Int32) -> Int { variant.growthFrames(of: cache) }
    func descriptorCache(of cache: Int32) -> Int32? { variant.descriptorCache(of: cache) }
    mutating func grow(_ cache: Int32, base: FrameNumber, descriptor: SlabObject?) { variant.grow(cache, base: base, descriptor: descriptor) }
    mutating func free(_ object: SlabObject) -> [SlabRun] { variant.free(object) }
    func largeFrames(for size: Int) -> Int { variant.largeFrames(for: size) }

    /// Bytes a `kmalloc(size)` really takes: its class's object size, or the
    /// frames of a large allocation (what ftrace's `bytes_alloc` reports);
    /// 0 where the variant refuses the size (SLAB above 4 MiB).
    func kmallocBytes(_ size: Int) -> Int {
        size <= kmallocMax ? variant.kmallocBytes(size: size) : largeFrames(for: size) * 4096
    }
    mutating func kmalloc(size: Int) -> SlabObject? { variant.kmalloc(size: size) }
    func kmallocGrowthFrames(size: Int) -> Int { variant.kmallocGrowthFrames(size: size) }
    func kmallocDescriptorCache(size: Int) -> Int32? { variant.kmallocDescriptorCache(size: size) }
    mutating func growForKmalloc(size: Int, base: FrameNumber, descriptor: SlabObject?) {
        variant.growForKmalloc(size: size, base: base, descriptor: descriptor)
    }
    mutating func releaseEmptySlab(of cache: Int32, where accept: (FrameNumber) -> Bool) -> [SlabRun] {
        variant.releaseEmptySlab(of: cache, where: accept)
    }

    /// `/proc/slabinfo`.
    public func slabinfo() -> [SlabInfoRow] { variant.slabinfo() }
    public var totals: SlabTotals { variant.totals }

    /// The variant's structures, and the bound object IDs against its counts.
    func invariantViolation() -> String? {
        if let v = variant.invariantViolation() { return v }
        var bound = Array(repeating: 0, count: variant.cacheCount)
        for case let .object(o, _) in objects { bound[Int(o.cache)] += 1 }
        for c in 0..<variant.cacheCount where bound[c] != variant.activeObjects(of: Int32(c)) {
            return "slab cache \(variant.name(of: Int32(c))): \(bound[c]) object IDs bound, \(variant.activeObjects(of: Int32(c))) active objects"
        }
        return nil
    }
}
