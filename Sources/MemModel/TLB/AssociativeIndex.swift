/// What makes a wide TLB set O(1): a hash from virtual page to entry, and
/// one bit per entry for "live" and "global".
///
/// A scan of W ways costs W compares per lookup; real hardware does them in
/// parallel, a model cannot. For sets wider than ``TLB/scanWays`` the TLB
/// keeps this index beside its entries (the Dinero IV way of simulating a
/// fully associative cache, which hashes tags for the same reason):
///
/// - `table`: open addressing with linear probing (Knuth, TAOCP vol. 3,
///   §6.4, algorithm L), holding `page << 32 | entry + 1` (0 is an empty
///   bucket), so a probe compares the page without reading the entry.
///   Entry `i` is in the table exactly when its page is not `invalid`, and
///   no two entries in the table hold the same page. Deletion shifts the
///   following run back (Knuth's algorithm R), so there are no tombstones.
/// - `live`: entry `i` holds a translation the TLB may use — valid, and
///   global or filled since the last CR3 load. A CR3 load is
///   `live &= global`: O(entries / 64), no walk over the entries.
/// - `global`: entry `i` caches a PTE with the global bit.
///
/// - Complexity: O(1) expected per lookup, fill and `invlpg`; O(ways / 64)
///   to find a set's lowest non-live way.
struct AssociativeIndex: Sendable {
    private var table: [UInt64]
    private let shift: UInt64
    private var live: [UInt64]
    private var global: [UInt64]

    /// An index for `entries` entries (0: an empty index, never used).
    init(entries: Int) {
        var size = 16
        while size < 2 * entries { size <<= 1 }
        table = entries == 0 ? [] : Array(repeating: 0, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        live = Array(repeating: 0, count: (entries + 63) / 64)
        global = live
    }

    /// Fibonacci hashing (Knuth, §6.4): the top bits of page · 2^64/φ.
    @inline(__always)
    private func home(_ page: UInt32) -> Int {
        Int(truncatingIfNeeded: (UInt64(page) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always)
    func isLive(_ i: Int) -> Bool { live[i >> 6] >> UInt64(i & 63) & 1 != 0 }

    /// The entry holding `page`, live or stale.
    @inline(__always)
    func slot(of page: UInt32) -> Int? {
        table.withUnsafeBufferPointer { t in
            let mask = t.count &- 1
            var b = home(page)
            while true {
                let v = t[b]
                if v == 0 { return nil }
                if UInt32(truncatingIfNeeded: v >> 32) == page { return Int(UInt32(truncatingIfNeeded: v)) &- 1 }
                b = (b &+ 1) & mask
            }
        }
    }

    /// The live entry holding `page`, or -1.
    @inline(__always)
    func liveSlot(of page: UInt32) -> Int {
        guard let i = slot(of: page), isLive(i) else { return -1 }
        return i
    }

    /// Adds entry `i`, just filled with `page`, as live.
    mutating func insert(_ i: Int, page: UInt32, global isGlobal: Bool) {
        let mask = table.count &- 1
        var b = home(page)
        while table[b] != 0 { b = (b &+ 1) & mask }
        table[b] = UInt64(page) << 32 | UInt64(i &+ 1)
        let bit: UInt64 = 1 << UInt64(i & 63)
        live[i >> 6] |= bit
        if isGlobal { global[i >> 6] |= bit } else { global[i >> 6] &= ~bit }
    }

    /// Removes entry `i`, which holds `page` and must be in the table.
    mutating func remove(_ i: Int, page: UInt32) {
        let mask = table.count &- 1
        let member = UInt64(page) << 32 | UInt64(i &+ 1)
        var hole = home(page)
        while table[hole] != member { hole = (hole &+ 1) & mask }
        // Algorithm R: move back every later member of the run whose home
        // does not lie cyclically in (hole, j].
        var j = hole
        while true {
            j = (j &+ 1) & mask
            let v = table[j]
            if v == 0 { break }
            let h = home(UInt32(truncatingIfNeeded: v >> 32))
            let stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j)
            if !stays {
                table[hole] = table[j]
                hole = j
            }
        }
        table[hole] = 0
        let bit: UInt64 = 1 << UInt64(i & 63)
        live[i >> 6] &= ~bit
        global[i >> 6] &= ~bit
    }

    /// The lowest entry of `base ..< base + count` that is not live.
    @inline(__always)
    func firstNotLive(_ base: Int, _ count: Int) -> Int? {
        var i = base
        let end = base &+ count
        while i < end {
            let offset = i & 63
            let span = min(64 &- offset, end &- i)
            var free = ~live[i >> 6] >> UInt64(offset)
            if span < 64 { free &= (1 << UInt64(span)) &- 1 }
            if free != 0 { return i &+ free.trailingZeroBitCount }
            i &+= span
        }
        return nil
    }

    /// Entry `i` (not global) became stale: its tag was flushed.
    mutating func markStale(_ i: Int) {
        live[i >> 6] &= ~(1 << UInt64(i & 63))
    }

    /// A CR3 load: only global entries stay live.
    mutating func keepGlobalOnly() {
        for w in live.indices { live[w] &= global[w] }
    }

    /// The table holds exactly the valid entries, each where a probe finds
    /// it; the bits agree with the entries.
    func invariantViolation(_ slots: UnsafeBufferPointer<TLBSlot>) -> String? {
        var inTable = 0
        for b in table.indices where table[b] != 0 {
            inTable += 1
            let i = Int(UInt32(truncatingIfNeeded: table[b])) - 1
            guard i < slots.count, slots[i].page != UInt32.max else { return "TLB index: bucket \(b) names entry \(i), which is empty" }
            guard UInt32(truncatingIfNeeded: table[b] >> 32) == slots[i].page else { return "TLB index: bucket \(b) holds page \(table[b] >> 32) for entry \(i), which holds page \(slots[i].page)" }
            guard slot(of: slots[i].page) == i else { return "TLB index: entry \(i) (page \(slots[i].page)) is not where a probe finds it" }
        }
        var valid = 0
        for i in slots.indices {
            let bit: UInt64 = 1 << UInt64(i & 63)
            let isGlobal = global[i >> 6] & bit != 0
            if slots[i].page == UInt32.max {
                if isLive(i) || isGlobal { return "TLB index: empty entry \(i) is marked live or global" }
                continue
            }
            valid += 1
            if isGlobal != slots[i].pte.has(.global) { return "TLB index: entry \(i)'s global bit disagrees with its PTE" }
            if isGlobal && !isLive(i) { return "TLB index: global entry \(i) is not live" }
        }
        return valid == inTable ? nil : "TLB index: \(valid) valid entries but \(inTable) in the hash table"
    }
}
