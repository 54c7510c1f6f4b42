/// The free lists inside the slabs of one cache: the first word of a free
/// object holds the index of the next free object of the same slab (-1 ends
/// the chain), as Bonwick's slab allocator and SLUB keep them. The words are
/// one flat array, slab slot × `perSlab` + object index, which is exactly
/// the memory those words occupy; an allocated object's word is its own
/// (-2 here).
struct FreeChains: Sendable {
    let perSlab: Int
    private(set) var words: [Int32] = []

    init(perSlab: Int) { self.perSlab = perSlab }

    /// The word of object `i` of slab `s`.
    subscript(s: Int, i: Int) -> Int32 { words[s * perSlab + i] }

    /// A fresh slab in slot `s` (`slots` slots in use): its chain runs
    /// 0, 1, 2, … in address order, so its head is 0.
    mutating func fresh(_ s: Int32, slots: Int) {
        if words.count < slots * perSlab {
            words.append(contentsOf: repeatElement(-1, count: perSlab))
        }
        let b = Int(s) * perSlab
        for i in 0..<perSlab { words[b + i] = i + 1 < perSlab ? Int32(i + 1) : -1 }
    }

    /// Takes object `i`, the head of slab `s`'s chain; the new head.
    @inline(__always)
    mutating func take(_ s: Int32, _ i: Int32) -> Int32 {
        let w = Int(s) * perSlab + Int(i)
        let next = words[w]
        words[w] = -2
        return next
    }

    /// Object `i` of slab `s` goes back in front of `head`; it is the new head.
    @inline(__always)
    mutating func give(_ s: Int32, _ i: Int32, before head: Int32) {
        words[Int(s) * perSlab + Int(i)] = head
    }

    /// What is wrong with slab `s`'s chain from `head` when `inUse` objects
    /// are allocated: it loops, or it and `inUse` do not add up to the slab.
    /// `nil` when sound (it then holds `perSlab - inUse` objects).
    func violation(_ s: Int, from head: Int32, inUse: Int32, cache name: String) -> String? {
        var n = 0
        var i = head
        while i >= 0 {
            n += 1
            if n > perSlab { return "slab cache \(name): free chain of slab \(s) loops" }
            i = words[s * perSlab + Int(i)]
        }
        if n + Int(inUse) != perSlab {
            return "slab cache \(name): slab \(s) has \(n) free + \(inUse) active objects, capacity \(perSlab)"
        }
        return nil
    }
}
