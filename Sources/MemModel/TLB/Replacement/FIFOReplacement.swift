/// First in, first out: the victim is the entry filled longest ago; hits do
/// not change the order.
/// - Complexity: O(1) per hit; O(ways) per victim in sets of up to
///   ``TLB/scanWays`` ways, O(1) in wider ones.
public struct FIFOReplacement: TLBReplacement {
    private var stamps: Stamps

    /// True: a hit is ignored.
    public static var repeatedTouchChangesNothing: Bool { true }

    public init(_ spec: TLBSpec, seed: UInt64) { stamps = Stamps(spec) }

    @inline(__always)
    public mutating func touched(_ entry: Int) {}

    @inline(__always)
    public mutating func victim(set: Int, base: Int) -> Int { stamps.oldest(base) }

    @inline(__always)
    public mutating func inserted(_ entry: Int) { stamps.stamp(entry) }

    public func invariantViolation() -> String? { stamps.invariantViolation() }
}
