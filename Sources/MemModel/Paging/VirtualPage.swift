/// A virtual page number: the top 20 bits of a 32-bit virtual address.
///
///     virtual address:  | page 20 | offset 12 |
///
/// What the TLB is indexed and tagged by. A type of its own so that a page
/// number is never taken for an address, a frame or a file page.
public struct VirtualPage: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// `va >> 12`.
    public var number: UInt32

    @inline(__always) public init(number: UInt32) { self.number = number }

    /// The page that holds byte `va`.
    @inline(__always) public init(containing va: UInt32) { number = va >> 12 }

    /// The page's first byte.
    @inline(__always) public var address: UInt32 { number << 12 }

    @inline(__always)
    public static func < (a: VirtualPage, b: VirtualPage) -> Bool { a.number < b.number }

    /// The page's first address in hex, as the trace writes addresses.
    public var description: String { "0x" + String(address, radix: 16, uppercase: true) }
}
