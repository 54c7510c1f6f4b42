import MemTrace

/// Every `kmem_cache_t` of the machine, and which object lives where.
///
/// The generic kmalloc caches (`kmalloc-8` … `kmalloc-4096`) are created at
/// boot, before any trace cache, as Linux's `create_kmalloc_caches()` does; a
/// `kmalloc` above 4096 bytes takes whole contiguous frames instead.
public struct SlabAllocator: Sendable {
    public internal(set) var caches: [SlabCache] = []
    /// Cache index of each cache-name symbol, or -1.
    private var cacheOfSymbol: [Int32] = []
    /// Cache index of `kmalloc-2^(k+3)`.
    private(set) var kmallocCaches: [Int32] = []

    public static let kmallocMax = 4096

    enum Binding: Sendable, Equatable {
        case none
        /// The allocation failed (out of memory): freeing it is a no-op.
        case failed(kmalloc: Bool)
        case object(cache: Int32, slab: Int32, index: Int32, kmalloc: Bool)
        case large(base: FrameNumber, frames: Int32)
    }

    /// Binding of each object-ID symbol.
    var objects: [Binding] = []
    /// Frames held by `kmalloc` allocations above 4096 bytes.
    public internal(set) var kmallocLargeFrames = 0

    init() {
        var size = 8
        while size <= Self.kmallocMax {
            kmallocCaches.append(Int32(caches.count))
            caches.append(SlabCache(name: "kmalloc-\(size)", size: size, align: 8))
            size <<= 1
        }
    }

    /// The kmalloc class cache for `size` bytes (≤ 4096).
    func kmallocCache(for size: Int) -> Int32 {
        let rounded = max(size, 8)
        let k = Int.bitWidth - (rounded - 1).leadingZeroBitCount - 3
        return kmallocCaches[k]
    }

    func cacheIndex(_ symbol: Symbol) -> Int32? {
        guard symbol.index < cacheOfSymbol.count else { return nil }
        let c = cacheOfSymbol[symbol.index]
        return c >= 0 ? c : nil
    }

    /// The cache a trace name refers to, including the kmalloc caches by name.
    mutating func resolve(_ symbol: Symbol, name: String) -> Int32? {
        if let c = cacheIndex(symbol) { return c }
        if let k = kmallocCaches.first(where: { caches[Int($0)].name == name }) {
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

    /// `kmem_cache_create`.
    mutating func kmem_cache_create(_ symbol: Symbol, name: String, size: Int, align: Int) -> Int32 {
        let c = Int32(caches.count)
        caches.append(SlabCache(name: name, size: size, align: align))
        bind(symbol, to: c)
        return c
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

    // MARK: Totals for the tick row

    public var slabPages: Int { caches.reduce(0) { $0 + $1.slabCount * $1.pagesPerSlab } }
    public var activeObjects: Int { caches.reduce(0) { $0 + $1.activeObjects } }
    public var capacity: Int { caches.reduce(0) { $0 + $1.capacity } }
    public var wasteBytes: Int { caches.reduce(0) { $0 + $1.wasteBytes } }
}
