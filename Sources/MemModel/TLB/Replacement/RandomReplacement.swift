/// A uniformly random way of the full set, from a seeded xorshift64 stream
/// (Marsaglia 2003, shifts 13/7/17), so a replay is reproducible: the same
/// seed evicts the same ways.
public struct RandomReplacement: TLBReplacement {
    private var state: UInt64
    private let ways: UInt64

    /// True: a hit is ignored.
    public static var repeatedTouchChangesNothing: Bool { true }

    public init(_ spec: TLBSpec, seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
        ways = UInt64(spec.ways)
    }

    @inline(__always)
    public mutating func touched(_ entry: Int) {}

    @inline(__always)
    public mutating func victim(set: Int, base: Int) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return base + Int(state % ways)
    }

    @inline(__always)
    public mutating func inserted(_ entry: Int) {}
}
