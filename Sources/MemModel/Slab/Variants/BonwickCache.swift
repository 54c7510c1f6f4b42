/// A `kmem_cache_t`: objects of one size carved from slabs (Bonwick 1994).
///
/// Theory of operation. A slab (`slab_t`) is 2^order contiguous frames split
/// into `objectsPerSlab` objects of `objectSize` bytes; the bytes left over are
/// the slab's unusable tail. Each slab is on exactly one list:
///
/// - **full**: every object allocated;
/// - **partial**: some allocated, some free;
/// - **empty**: none allocated; kept cached until `slab_reclaim` returns it.
///
/// Free objects hold the free list inside themselves: the first word of a free
/// object is the index of the next free object of the same slab. The model
/// keeps those words in `links` (slab slot × objectsPerSlab + object index),
/// which is exactly the memory those words occupy, and nothing per object
/// besides. Allocation takes the head of a partial slab's chain (else an empty
/// slab's); a freed object becomes its slab's new head (LIFO, cache-warm).
///
/// Invariants: for every slab, `inUse` + the length of its free chain equals
/// `objectsPerSlab`; its list matches `inUse`; `activeObjects` is the sum of
/// `inUse`.
public struct BonwickCache: Sendable {
    public let name: String
    /// Size of one object: the request, at least one pointer, rounded to the alignment.
    public let objectSize: Int
    public let order: Int
    public let objectsPerSlab: Int
    public var slabBytes: Int { 4096 << order }
    public var pagesPerSlab: Int { 1 << order }

    struct Slab: Sendable {
        var base: FrameNumber
        var inUse: Int32
        var freeHead: Int32
        var next: Int32
        var previous: Int32
        var list: SlabList
    }

    enum SlabList: UInt8, Sendable { case none, partial, full, empty }

    private(set) var slabs = Slots<Slab>()
    private(set) var links: FreeChains
    private var heads: [Int32] = [-1, -1, -1, -1]
    public private(set) var slabCount = 0
    public private(set) var emptySlabs = 0
    public private(set) var activeObjects = 0

    /// Orders up to 3 (32 KiB) are always considered; larger objects may
    /// look two orders past the first that fits one object.
    static let preferredMaxOrder = 3

    public init(name: String, size: Int, align: Int) {
        self.name = name
        let a = max(align, 1)
        objectSize = (max(size, 4) + a - 1) / a * a
        (order, objectsPerSlab) = Self.layout(objectSize: objectSize)
        links = FreeChains(perSlab: objectsPerSlab)
    }

    /// The smallest slab order whose unusable tail is at most 1/8 of the slab
    /// (Bonwick's rule of thumb); if no order up to max(3, first fit + 2)
    /// manages that, the order with the smallest tail fraction.
    public static func layout(objectSize: Int) -> (order: Int, objectsPerSlab: Int) {
        var minOrder = 0
        while 4096 << minOrder < objectSize { minOrder += 1 }
        let top = min(maxOrder, max(minOrder + 2, preferredMaxOrder))
        var best = (order: minOrder, objectsPerSlab: (4096 << minOrder) / objectSize)
        var bestWaste = Double.infinity
        for o in minOrder...top {
            let bytes = 4096 << o
            let n = bytes / objectSize
            let tail = bytes - n * objectSize
            if tail * 8 <= bytes { return (o, n) }
            let fraction = Double(tail) / Double(bytes)
            if fraction < bestWaste {
                bestWaste = fraction
                best = (o, n)
            }
        }
        return best
    }

    public var capacity: Int { slabCount * objectsPerSlab }

    /// Bytes not holding live objects: free object slots plus every slab's tail.
    public var wasteBytes: Int {
        (capacity - activeObjects) * objectSize + slabCount * (slabBytes - objectsPerSlab * objectSize)
    }

    // MARK: Lists

    private mutating func link(_ s: Int32, _ list: SlabList) {
        let h = heads[Int(list.rawValue)]
        slabs[Int(s)].next = h
        slabs[Int(s)].previous = -1
        slabs[Int(s)].list = list
        if h >= 0 { slabs[Int(h)].previous = s }
        heads[Int(list.rawValue)] = s
        if list == .empty { emptySlabs += 1 }
    }

    private mutating func unlink(_ s: Int32) {
        let slab = slabs[Int(s)]
        if slab.previous >= 0 { slabs[Int(slab.previous)].next = slab.next } else { heads[Int(slab.list.rawValue)] = slab.next }
        if slab.next >= 0 { slabs[Int(slab.next)].previous = slab.previous }
        if slab.list == .empty { emptySlabs -= 1 }
        slabs[Int(s)].list = .none
    }

    private func listFor(_ inUse: Int32) -> SlabList {
        inUse == 0 ? .empty : (Int(inUse) == objectsPerSlab ? .full : .partial)
    }

    // MARK: Objects

    /// `slab_alloc`: an object from a partial slab, else an empty one; `nil`
    /// when the cache must grow first.
    @inline(__always)
    mutating func allocate() -> (slab: Int32, index: Int32)? {
        var s = heads[Int(SlabList.partial.rawValue)]
        if s < 0 { s = heads[Int(SlabList.empty.rawValue)] }
        guard s >= 0 else { return nil }
        let i = slabs[Int(s)].freeHead
        slabs[Int(s)].freeHead = links.take(s, i)
        slabs[Int(s)].inUse += 1
        activeObjects += 1
        let now = listFor(slabs[Int(s)].inUse)
        if now != slabs[Int(s)].list {
            unlink(s)
            link(s, now)
        }
        return (s, i)
    }

    /// `slab_free`: object `index` of slab `slab` becomes the head of its free chain.
    @inline(__always)
    mutating func free(slab s: Int32, index i: Int32) {
        links.give(s, i, before: slabs[Int(s)].freeHead)
        slabs[Int(s)].freeHead = i
        slabs[Int(s)].inUse -= 1
        activeObjects -= 1
        let now = listFor(slabs[Int(s)].inUse)
        if now != slabs[Int(s)].list {
            unlink(s)
            link(s, now)
        }
    }

    /// Adds a fresh slab at `base` to the empty list; its chain runs 0, 1, 2, … in address order.
    mutating func grow(base: FrameNumber) {
        let s = slabs.insert(Slab(base: base, inUse: 0, freeHead: 0, next: -1, previous: -1, list: .none))
        links.fresh(s, slots: slabs.endIndex)
        slabCount += 1
        link(s, .empty)
    }

    /// Takes an empty slab off the cache for reclaim (the first on the empty
    /// list whose base frame `accept`s); its first frame.
    mutating func releaseEmptySlab(where accept: (FrameNumber) -> Bool = { _ in true }) -> FrameNumber? {
        var s = heads[Int(SlabList.empty.rawValue)]
        while s >= 0 && !accept(slabs[Int(s)].base) { s = slabs[Int(s)].next }
        guard s >= 0 else { return nil }
        unlink(s)
        slabs.remove(s)
        slabCount -= 1
        return slabs[Int(s)].base
    }


    /// Describes the first broken invariant, if any.
    func invariantViolation() -> String? {
        var active = 0, count = 0, empty = 0
        let live = Set(slabs.indices).subtracting(slabs.freeSlots.map(Int.init))
        for s in live.sorted() {
            let slab = slabs[s]
            count += 1
            if let v = links.violation(s, from: slab.freeHead, inUse: slab.inUse, cache: name) { return v }
            if slab.list != listFor(slab.inUse) {
                return "slab cache \(name): slab \(s) with \(slab.inUse) active objects is on the \(slab.list) list"
            }
            if slab.list == .empty { empty += 1 }
            active += Int(slab.inUse)
        }
        if active != activeObjects { return "slab cache \(name): \(activeObjects) active objects counted, \(active) in slabs" }
        if count != slabCount { return "slab cache \(name): \(slabCount) slabs counted, \(count) live" }
        if empty != emptySlabs { return "slab cache \(name): \(emptySlabs) empty slabs counted, \(empty) on the list" }
        return nil
    }
}
