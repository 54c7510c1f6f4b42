/// The slab caches every machine has from boot, before a trace names any:
/// the generic `kmalloc-8` … `kmalloc-4096`, one per power of two, as Linux's
/// `create_kmalloc_caches()` makes them.
///
/// A trace may name them (`salloc kmalloc-64 o1`) without declaring them.
/// The reader interns their names before the first statement, in size
/// order, so they are cache symbols 0 ..< `count` in every trace: the model
/// tells which boot-time cache a symbol means from the symbol alone, and
/// never asks the reader for a name. The caches a trace declares come after
/// them.
public enum KmallocCaches {
    /// Object sizes: 8 << k for size class k.
    public static let smallestSize = 8
    public static let largestSize = 4096
    /// Size classes: 8, 16, …, 4096.
    public static let count = largestSize.trailingZeroBitCount - smallestSize.trailingZeroBitCount + 1

    /// `kmalloc-N` for size class `k`.
    public static func name(_ k: Int) -> String { "kmalloc-\(smallestSize << k)" }

    /// The cache symbol of size class `k`.
    public static func symbol(_ k: Int) -> Symbol { Symbol(Int32(k)) }

    /// The name of the boot-time cache `symbol` stands for, or nil for a
    /// cache the trace declares.
    public static func name(of symbol: Symbol) -> String? {
        symbol.raw >= 0 && symbol.raw < count ? name(symbol.index) : nil
    }

    /// Whether `name` is a boot-time cache's name.
    public static func isBootCache<C: Collection<UInt8>>(_ name: C) -> Bool {
        (0..<count).contains { name.elementsEqual(Self.name($0).utf8) }
    }
}
