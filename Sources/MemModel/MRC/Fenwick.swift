/// Counts per slot `0 ..< size` with prefix sums in O(log size): a Fenwick
/// (binary indexed) tree (Fenwick, "A new data structure for cumulative
/// frequency tables", Software—Practice and Experience 24(3), 1994).
///
/// Node `i` (1-based) holds the sum of slots `i − lowbit(i) ..< i`; a prefix
/// walks down by clearing low bits, an update walks up by adding them.
/// ``LRUStack`` keeps one over its timestamps to count the positions above
/// an entry (its stack distance) and one over its holes to find the newest.
struct Fenwick: Sendable, Equatable {
    /// Slots, a power of two (``lowestSlot(withPrefix:)`` halves it).
    let size: Int
    private var tree: [Int32]

    init(size: Int) {
        precondition(size > 0 && size & (size - 1) == 0)
        self.size = size
        tree = Array(repeating: 0, count: size + 1)
    }

    /// Adds `delta` to slot `i`.
    /// - Complexity: O(log size).
    @inline(__always)
    mutating func add(_ i: Int, _ delta: Int32) {
        tree.withUnsafeMutableBufferPointer { t in
            var j = i &+ 1
            while j <= size {
                t[j] &+= delta
                j &+= j & -j
            }
        }
    }

    /// The sum of slots `0 ... i`.
    /// - Complexity: O(log size).
    @inline(__always)
    func prefix(_ i: Int) -> Int {
        tree.withUnsafeBufferPointer { t in
            var j = i &+ 1, sum: Int32 = 0
            while j > 0 {
                sum &+= t[j]
                j &= j &- 1
            }
            return Int(sum)
        }
    }

    /// The lowest slot whose prefix sum reaches `k` (1 ≤ k ≤ the total):
    /// with 0/1 counts, the k-th set slot from the bottom.
    /// - Complexity: O(log size), one descent.
    func lowestSlot(withPrefix k: Int) -> Int {
        tree.withUnsafeBufferPointer { t in
            var position = 0, rest = Int32(k), step = size
            while step > 0 {
                let next = position &+ step
                if next <= size && t[next] < rest {
                    position = next
                    rest &-= t[next]
                }
                step >>= 1
            }
            return position  // 0-based slot = 1-based node − 1
        }
    }

    /// Every count 0, given that only slots below `used` were ever added
    /// to since the tree was last built or cleared: the nodes those adds
    /// reach are nodes 1 … used and the nodes above whose range holds
    /// `used` (update walks cover `used` once they pass it), so clearing
    /// costs O(used + log size), not O(size).
    mutating func clear(used: Int) {
        tree.withUnsafeMutableBufferPointer { t in
            guard used > 0 else { return }
            for j in 1 ... min(used, size) { t[j] = 0 }
            var j = used
            while j <= size {
                t[j] = 0
                j &+= j & -j
            }
        }
    }

    /// Rebuilds the tree from the counts of slots `0 ..< counts.count` (the
    /// rest 0), given that only slots below `used` were added to since the
    /// tree was last built or cleared: nodes 1 … n are built bottom-up, and
    /// of the nodes above n only those whose range reaches n (the update
    /// chain from n) can be non-zero, each the sum of its range up to n.
    /// - Complexity: O(used + n + log² size), not O(size).
    /// (`used` 0 for a new tree.)
    mutating func rebuild(_ counts: UnsafeBufferPointer<Int32>, used: Int) {
        let n = counts.count
        clear(used: max(used, n))
        guard n > 0 else { return }
        tree.withUnsafeMutableBufferPointer { t in
            for i in 0 ..< n { t[i + 1] = counts[i] }
            for j in 1 ... n {
                let up = j + (j & -j)
                if up <= n { t[up] &+= t[j] }
            }
            func sum(_ k: Int) -> Int32 {  // slots 0 ..< k, k ≤ n
                var j = k, s: Int32 = 0
                while j > 0 { s &+= t[j]; j &= j &- 1 }
                return s
            }
            let total = sum(n)
            var j = n + (n & -n)
            while j <= size {
                t[j] = total &- sum(j - (j & -j))
                j += j & -j
            }
        }
    }
}
