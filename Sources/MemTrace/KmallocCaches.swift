/// The names of the slab caches a machine may have from boot, before a
/// trace names any: the generic `kmalloc-8` … `kmalloc-8192`, one per power
/// of two, then `kmalloc-96` and `kmalloc-192` — the union of every slab
/// variant's (Bonwick's stop at 4096; SLUB has all of them, as Linux's
/// `kmem_cache_init()` makes them). A name the replay's variant lacks is an
/// unknown cache there.
///
/// A trace may name them (`salloc kmalloc-64 o1`) without declaring them.
/// The reader interns their names before the first statement, in size
/// order, so they are cache symbols 0 ..< `count` in every trace: the model
/// tells which boot-time cache a symbol means from the symbol alone, and
/// never asks the reader for a name. The caches a trace declares come after
/// them.
public enum KmallocCaches {
    /// Object sizes: 8, 16, …, 8192, then 96 and 192.
    static let sizes = (3...13).map { 1 << $0 } + [96, 192]
    public static var count: Int { sizes.count }

    /// `kmalloc-N` for boot cache `k`.
    public static func name(_ k: Int) -> String { "kmalloc-\(sizes[k])" }

    /// The cache symbol of size class `k`.
    public static func symbol(_ k: Int) -> Symbol { Symbol(Int32(k)) }

    /// The name of the boot-time cache `symbol` stands for, or nil for a
    /// cache the trace declares.
    public static func name(of symbol: Symbol) -> String? {
        symbol.raw >= 0 && symbol.raw < count ? name(symbol.index) : nil
    }

    /// Boot caches `0 ..< commonCount` (`kmalloc-8` … `kmalloc-4096`)
    /// exist under every slab variant; the others under some only, so a
    /// portable trace declares them (`cache kmalloc-96 96`), which under a
    /// variant that has the cache names it.
    public static let commonCount = 10

    /// Whether `name` is a boot-time cache's name.
    public static func isBootCache<C: Collection<UInt8>>(_ name: C) -> Bool {
        (0..<count).contains { name.elementsEqual(Self.name($0).utf8) }
    }

    /// Whether `name` is the name of a boot-time cache every variant has.
    public static func isCommonBootCache<C: Collection<UInt8>>(_ name: C) -> Bool {
        (0..<commonCount).contains { name.elementsEqual(Self.name($0).utf8) }
    }
}
