/// One LRU stack with invalidation holes: the stack distance of every
/// reference, for every cache size at once (Mattson, Gecsei, Slutz and
/// Traiger, "Evaluation techniques for storage hierarchies", IBM Systems
/// Journal 9(2), 1970: LRU as a stack algorithm, one pass for all sizes.
/// The holes below are this model's addition, for invalidations.)
///
/// # Theory of operation
/// An LRU cache of `k` entries holds the top `k` positions of the stack, so
/// a reference found at depth `d` (0 = the top) hits every cache larger
/// than `d` and misses the rest: one pass gives the misses of every size.
///
/// An invalidation (`invlpg`, a CR3 flush, `fdrop`) frees the entry in every
/// cache that holds it. Deleting it from the stack would be wrong: the cache
/// of `k` entries then has a free slot and holds `k − 1` entries, not the
/// next one down. So the entry becomes a *hole*, a position that holds
/// nothing and still counts in depths. Then, as a cache fills a free slot
/// before it evicts:
/// - a reference at depth `d` with the newest hole `h` above it (`h < d`)
///   moves to the top, the positions above `h` move down one, and the hole
///   moves to `d` (caches of `h < k ≤ d` entries filled their free slot;
///   larger ones hit and keep theirs);
/// - otherwise the usual move to the top;
/// - a new entry (a miss that fills) goes on top and, if there is a hole,
///   the newest one goes (every cache larger than it filled its free slot).
/// Only the newest hole matters: it is the first free slot of every cache
/// large enough to have one.
///
/// # Representation
/// Positions are timestamps (slots), newest highest. A ``Fenwick`` tree over
/// the slots counts the positions above an entry (its depth) in O(log n) and
/// another over the holes finds the newest hole. An entry near the top is
/// found and moved by a short walk instead, in the slots already used.
/// Depths at or beyond ``depthLimit`` are misses of every size tracked, so
/// when the timestamps run out (or at a flush) the newest ``depthLimit``
/// positions are renumbered from 0 and deeper ones dropped: amortized O(1)
/// per reference.
///
/// Invariants (``invariantViolation(_:)``): the trees count exactly the
/// slots that are positions and holes; `positionCount` and `holeCount` are
/// their totals; every entry's key maps back to its slot.
struct LRUStack: Sendable {
    /// Depths counted, `0 ..< depthLimit`: the largest cache size tracked.
    let depthLimit: Int
    /// `hits[d]`: references found at depth `d`.
    private(set) var hits: [Int]
    /// References (hits at any depth and misses).
    private(set) var references = 0
    private var positions: Fenwick
    private var holes: Fenwick
    private var positionCount = 0
    private var holeCount = 0
    /// Entries of global PTEs: a flush keeps them, so it must visit them.
    private var globalCount = 0
    /// The next timestamp; slots `now ..< capacity` are empty.
    private var now = 0
    private var keys: [UInt64]
    private var state: [SlotState]

    enum SlotState: UInt8, Sendable { case empty, entry, globalEntry, hole }

    init(depthLimit: Int) {
        precondition(depthLimit > 0)
        self.depthLimit = depthLimit
        // Twice the depth, rounded up to a power of two: at least
        // depthLimit timestamps between two renumberings.
        var capacity = 2
        while capacity < 2 * depthLimit { capacity <<= 1 }
        hits = Array(repeating: 0, count: depthLimit)
        positions = Fenwick(size: capacity)
        holes = Fenwick(size: capacity)
        keys = Array(repeating: 0, count: capacity)
        state = Array(repeating: .empty, count: capacity)
    }

    /// A lookup of `key`: its depth counted if it is in the stack, and it
    /// moves to the top. Returns whether it was there (false: a miss of
    /// every size, and the caller decides whether the entry is filled).
    /// - Complexity: O(1) at the top, O(log n) elsewhere.
    @inline(__always)
    mutating func reference<Map: StackSlots>(_ key: UInt64, _ map: inout Map) -> Bool {
        references &+= 1
        let s = slot(of: key, map)
        if s < 0 { return false }
        if s == now &- 1 {
            // The top: depth 0, nothing moves (no hole can be above it).
            hits.withUnsafeMutableBufferPointer { $0[0] &+= 1 }
            return true
        }
        if s >= now &- Self.nearSlots {
            rotateNear(s, &map)
        } else {
            moveToTop(s, key, &map)
        }
        return true
    }

    /// The slot of `key`'s entry, or -1.
    @inline(__always)
    func slot<Map: StackSlots>(of key: UInt64, _ map: Map) -> Int { Int(map[key]) }

    /// Slots below the top searched by a walk rather than the trees.
    static var nearSlots: Int { 32 }

    /// A reference in the top ``nearSlots`` slots, the common case (code,
    /// stack and data pages interleave): the depth counted by walking the
    /// slots above it, and the move to the top done by passing each key
    /// above it down to the next used slot, so the slots used stay the same
    /// and the position tree is left alone. With a hole above, the keys
    /// above the newest hole move down into it and `s` becomes the hole.
    @inline(never)
    private mutating func rotateNear<Map: StackSlots>(_ s: Int, _ map: inout Map) {
        let top = now &- 1
        var depth = 0, hole = -1
        state.withUnsafeBufferPointer { st in
            var t = top
            while t > s {
                if st[t] != .empty {
                    depth &+= 1
                    if hole < 0 && st[t] == .hole { hole = t }
                }
                t &-= 1
            }
        }
        if depth < depthLimit { hits[depth] &+= 1 }
        if hole >= 0 {
            holes.add(s, 1)
            holes.add(hole, -1)
        }
        keys.withUnsafeMutableBufferPointer { k in
            state.withUnsafeMutableBufferPointer { st in
                let key = k[s], moving = st[s]
                var target = s
                if hole >= 0 {
                    st[s] = .hole
                    target = hole
                }
                var u = target &+ 1
                while u <= top {
                    if st[u] != .empty {
                        k[target] = k[u]
                        st[target] = st[u]
                        map.move(k[target], to: Int32(truncatingIfNeeded: target))
                        target = u
                    }
                    u &+= 1
                }
                k[target] = key
                st[target] = moving
                map.move(key, to: Int32(truncatingIfNeeded: target))
            }
        }
    }

    @inline(never)
    private mutating func moveToTop<Map: StackSlots>(_ s: Int, _ key: UInt64, _ map: inout Map) {
        let depth = positionCount &- positions.prefix(s)
        if depth < depthLimit { hits[depth] &+= 1 }
        let global = state[s] == .globalEntry
        if holeCount > 0, case let h = newestHole(), h > s {
            // The hole moves down to s, which stays a position.
            positions.add(h, -1)
            holes.add(h, -1)
            state[h] = .empty
            holes.add(s, 1)
            state[s] = .hole
        } else {
            positions.add(s, -1)
            state[s] = .empty
        }
        positionCount &-= 1
        // The entry leaves its slot; push counts it again where it lands.
        if global { globalCount &-= 1 }
        push(key, global: global, &map)
    }

    /// A fill of `key`, not in the stack: on top, taking the newest hole.
    mutating func insert<Map: StackSlots>(_ key: UInt64, global: Bool, _ map: inout Map) {
        if holeCount > 0 {
            let h = newestHole()
            positions.add(h, -1)
            holes.add(h, -1)
            state[h] = .empty
            holeCount &-= 1
            positionCount &-= 1
        }
        push(key, global: global, &map)
    }

    /// An invalidation of `key`: its position becomes a hole.
    mutating func invalidate<Map: StackSlots>(_ key: UInt64, _ map: inout Map) {
        let s = slot(of: key, map)
        if s < 0 { return }
        map[key] = -1
        if state[s] == .globalEntry { globalCount &-= 1 }
        state[s] = .hole
        holes.add(s, 1)
        holeCount &+= 1
    }

    /// A CR3 flush: every non-global entry becomes a hole.
    /// - Complexity: O(used slots) when no global entry is in the stack,
    ///   which is then empty (see ``empty(_:)``); else O(n) with a
    ///   renumbering.
    mutating func flushNonGlobal<Map: StackSlots>(_ map: inout Map) {
        if globalCount == 0 { return empty(&map) }
        invalidateAll(&map) { _, global in !global }
    }

    /// Every entry that `drop` selects (`fdrop`: a file's pages; a flush:
    /// the non-global ones) becomes a hole.
    /// - Complexity: O(n), with a renumbering.
    mutating func invalidateAll<Map: StackSlots>(_ map: inout Map, where drop: (UInt64, Bool) -> Bool) {
        for s in 0 ..< now where state[s] == .entry || state[s] == .globalEntry {
            if drop(keys[s], state[s] == .globalEntry) {
                map[keys[s]] = -1
                if state[s] == .globalEntry { globalCount &-= 1 }
                state[s] = .hole
            }
        }
        renumber(&map)
    }

    /// No positions. When every position would be a hole, this is the same
    /// stack: holes below the last entry are free slots of every cache
    /// large enough to reach them, as positions past the end are, and a
    /// fill takes either without moving anything above (see ``renumber``).
    /// - Complexity: O(used slots).
    private mutating func empty<Map: StackSlots>(_ map: inout Map) {
        positions.clear(used: now)
        holes.clear(used: now)
        keys.withUnsafeBufferPointer { k in
            state.withUnsafeMutableBufferPointer { st in
                for s in 0 ..< now {
                    if st[s] == .entry || st[s] == .globalEntry { map[k[s]] = -1 }
                    st[s] = .empty
                }
            }
        }
        now = 0
        positionCount = 0
        holeCount = 0
    }

    private mutating func push<Map: StackSlots>(_ key: UInt64, global: Bool, _ map: inout Map) {
        if now == positions.size { renumber(&map) }
        let s = now
        now &+= 1
        positions.add(s, 1)
        positionCount &+= 1
        keys[s] = key
        state[s] = global ? .globalEntry : .entry
        if global { globalCount &+= 1 }
        map[key] = Int32(truncatingIfNeeded: s)
    }

    /// The depth of `key`, or nil if it is not in the stack.
    func depth<Map: StackSlots>(of key: UInt64, _ map: Map) -> Int? {
        let s = slot(of: key, map)
        return s < 0 ? nil : positionCount - positions.prefix(s)
    }

    /// Entries (not holes) among the top `k` positions.
    func entries(above k: Int) -> Int {
        var seen = 0, found = 0, s = now
        while s > 0 && seen < k {
            s -= 1
            if state[s] == .empty { continue }
            seen += 1
            if state[s] != .hole { found += 1 }
        }
        return found
    }

    /// No positions at all.
    var isEmpty: Bool { now == 0 }

    /// The newest hole's slot (there is one).
    @inline(__always)
    private func newestHole() -> Int { holes.lowestSlot(withPrefix: holeCount) }

    /// Keeps the newest ``depthLimit`` positions, renumbered from slot 0 in
    /// their order; deeper ones leave the stack, and so do holes below the
    /// deepest entry kept. Such a hole is no different from a position past
    /// the end: a free slot of every cache large enough to reach it, taken
    /// by a fill only when no hole is above it (the newest goes first), and
    /// then moving nothing above it, as a push onto the shorter stack does.
    private mutating func renumber<Map: StackSlots>(_ map: inout Map) {
        var seen = 0, lowest = now
        while lowest > 0 && seen < depthLimit {
            lowest -= 1
            if state[lowest] != .empty { seen += 1 }
        }
        var first = lowest
        while first < now && (state[first] == .empty || state[first] == .hole) { first += 1 }
        for s in 0 ..< lowest where state[s] == .entry || state[s] == .globalEntry { map[keys[s]] = -1 }
        var positionCounts: [Int32] = [], holeCounts: [Int32] = []
        positionCounts.reserveCapacity(seen)
        holeCounts.reserveCapacity(seen)
        holeCount = 0
        globalCount = 0
        var j = 0
        for s in first ..< now where state[s] != .empty {
            keys[j] = keys[s]
            state[j] = state[s]
            positionCounts.append(1)
            holeCounts.append(state[j] == .hole ? 1 : 0)
            switch state[j] {
            case .hole: holeCount += 1
            case .globalEntry: globalCount += 1; map[keys[j]] = Int32(j)
            default: map[keys[j]] = Int32(j)
            }
            j += 1
        }
        for s in j ..< now { state[s] = .empty }
        let used = now
        now = j
        positionCount = j
        positionCounts.withUnsafeBufferPointer { positions.rebuild($0, used: used) }
        holeCounts.withUnsafeBufferPointer { holes.rebuild($0, used: used) }
    }
}

extension LRUStack {
    /// Broken bookkeeping, for `--check`: O(capacity). Every entry maps to
    /// its own slot (a map shared by several stacks holds others' keys too).
    func invariantViolation<Map: StackSlots>(_ map: Map) -> String? {
        var positionCounts = [Int32](repeating: 0, count: positions.size)
        var holeCounts = positionCounts
        var globals = 0
        for s in 0 ..< positions.size where state[s] != .empty {
            if s >= now { return "slot \(s) at or above the next timestamp \(now) is used" }
            positionCounts[s] = 1
            if state[s] == .hole {
                holeCounts[s] = 1
            } else if map[keys[s]] != Int32(s) {
                return "key \(keys[s]) at slot \(s) maps to \(map[keys[s]])"
            }
            if state[s] == .globalEntry { globals += 1 }
        }
        // A tree built from the counts equals the one kept up to date.
        var p = Fenwick(size: positions.size), h = Fenwick(size: holes.size)
        positionCounts.withUnsafeBufferPointer { p.rebuild($0, used: 0) }
        holeCounts.withUnsafeBufferPointer { h.rebuild($0, used: 0) }
        if p != positions { return "the position tree does not count the used slots" }
        if h != holes { return "the hole tree does not count the holes" }
        let used = Int(positionCounts.reduce(0, +)), holed = Int(holeCounts.reduce(0, +))
        if used != positionCount || holed != holeCount || globals != globalCount {
            return "counts \(positionCount)/\(holeCount)/\(globalCount), slots say \(used)/\(holed)/\(globals)"
        }
        return nil
    }
}

/// Where each key's entry is in its stack (a slot), or -1.
protocol StackSlots: Sendable {
    subscript(key: UInt64) -> Int32 { get set }
    /// `key`, which maps to a slot, maps to `slot` instead.
    mutating func move(_ key: UInt64, to slot: Int32)
}

/// Slots by TLB key: a flat array (4 MiB) for the page numbers of PCID 0
/// (20 bits on i386, every key without `--pcid`), a hash for the keys of
/// the other PCIDs (`PCID << 20 | page`).
struct PageSlots: StackSlots {
    private var slots = [Int32](repeating: -1, count: 1 << 20)
    private var tagged: [UInt64: Int32] = [:]

    subscript(key: UInt64) -> Int32 {
        @inline(__always) get {
            key >> 20 == 0 ? slots.withUnsafeBufferPointer { $0[Int(truncatingIfNeeded: key)] } : tagged[key] ?? -1
        }
        @inline(__always) set {
            if key >> 20 == 0 {
                slots[Int(truncatingIfNeeded: key)] = newValue
            } else {
                tagged[key] = newValue >= 0 ? newValue : nil
            }
        }
    }

    @inline(__always)
    mutating func move(_ key: UInt64, to slot: Int32) {
        if key >> 20 == 0 {
            slots.withUnsafeMutableBufferPointer { $0[Int(truncatingIfNeeded: key)] = slot }
        } else {
            tagged[key] = slot
        }
    }
}

/// Slots of any key, hashed (page-cache pages: file and page).
struct KeySlots: StackSlots {
    private var slots: [UInt64: Int32] = [:]

    subscript(key: UInt64) -> Int32 {
        get { slots[key] ?? -1 }
        set { slots[key] = newValue >= 0 ? newValue : nil }
    }

    mutating func move(_ key: UInt64, to slot: Int32) { slots[key] = slot }
}
