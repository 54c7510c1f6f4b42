/// Tree pseudo-LRU, the replacement x86 TLBs and caches approximate LRU with
/// (Intel and AMD document PLRU for their caches; Handy, "The Cache Memory
/// Book", 1998, §2.2; Jacob, Ng & Wang, "Memory Systems", 2008, §3.3.2).
///
/// A set of W ways (a power of two) keeps W − 1 bits as a binary tree in heap
/// order: node 1 is the root, node n has children 2n and 2n + 1, and leaf
/// W + w is way w. Each bit points towards the half that was used less
/// recently (0: left, 1: right). A hit or fill of way w sets every bit on the
/// path from the root to w to point away from w; the victim is the leaf the
/// bits lead to from the root. It costs log2(W) bits' updates per access
/// instead of LRU's full order, and may evict an entry that true LRU keeps:
/// with 4 ways filled 0, 1, 2, 3 and then ways 2 and 0 hit, LRU evicts way 1
/// but the tree evicts way 3.
/// - Complexity: O(log W) per hit, fill and victim.
public struct TreePLRUReplacement: TLBReplacement {
    /// Node n of set s at `s · ways + n` (index 0 of each set is unused).
    private var bits: [UInt8]
    private let ways: Int

    /// True: the same bits point away from the entry again.
    public static var repeatedTouchChangesNothing: Bool { true }

    public init(_ spec: TLBSpec, seed: UInt64) {
        ways = spec.ways
        bits = Array(repeating: 0, count: spec.entries)
    }

    public static func unsupported(ways: Int) -> String? {
        ways & (ways - 1) == 0 ? nil : "tree pseudo-LRU needs a power-of-two number of ways, not \(ways)"
    }

    @inline(__always)
    public mutating func touched(_ entry: Int) {
        let base = entry & ~(ways &- 1)
        var n = (entry &- base) &+ ways
        while n > 1 {
            // A left child (even n) points its parent right, and vice versa.
            bits[base &+ n >> 1] = UInt8(truncatingIfNeeded: ~n & 1)
            n >>= 1
        }
    }

    @inline(__always)
    public mutating func victim(set: Int, base: Int) -> Int {
        var n = 1
        while n < ways { n = n << 1 | Int(bits[base &+ n]) }
        return base &+ n &- ways
    }

    @inline(__always)
    public mutating func inserted(_ entry: Int) { touched(entry) }
}
