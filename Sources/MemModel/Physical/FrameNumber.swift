/// A physical frame number: frame f covers bytes f·4096 ..< (f+1)·4096.
///
/// A type of its own so that a frame cannot be mixed up with a count, a PID,
/// a slot or a page number. It has only the arithmetic frames need: a later
/// frame (`base + n`), an earlier one (`base - n`, a node's own numbering),
/// and ``index`` for the flat per-frame arrays (use, reference counts, the
/// bitmap), which are indexed by plain `Int`.
///
/// The storage is the `Int32` the seed used, so arrays of frames (the stack
/// allocator's free stack, slab bases, page-cache pages) take the same memory
/// as before and every operation compiles to the integer one.
public struct FrameNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The number as a 32-bit PTE's frame field and the free lists hold it.
    public var raw: Int32

    @inline(__always) public init(raw: Int32) { self.raw = raw }

    /// Frame `index` of a per-frame array.
    @inline(__always) public init(_ index: Int) { raw = Int32(index) }

    /// The frame's position in per-frame arrays.
    @inline(__always) public var index: Int { Int(raw) }

    /// The frame `count` frames later.
    @inline(__always)
    public static func + (base: FrameNumber, count: Int) -> FrameNumber { FrameNumber(raw: base.raw + Int32(count)) }

    /// The frame `count` frames earlier.
    @inline(__always)
    public static func - (base: FrameNumber, count: Int) -> FrameNumber { FrameNumber(raw: base.raw - Int32(count)) }

    @inline(__always)
    public static func < (a: FrameNumber, b: FrameNumber) -> Bool { a.raw < b.raw }

    /// The bare number, as messages and logs have always printed it.
    public var description: String { String(raw) }
}
