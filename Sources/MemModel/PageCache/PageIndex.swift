/// The page cache's (file, page) → slot index: open addressing with linear
/// probing, Fibonacci hashing and backward-shift deletion (no tombstones).
///
/// It replaces a `Dictionary`, whose SipHash cost a few per cent of a mixed
/// replay: keys are dense small integers here, and hash flooding is not a
/// concern for a replay of one's own trace.
struct PageIndex: Sendable {
    /// No key has its top bit set (file ids are non-negative Int32s).
    private static let empty = UInt64.max
    private var keys = [UInt64](repeating: empty, count: 64)
    private var values = [Int32](repeating: -1, count: 64)
    private var shift: UInt64 = 64 - 6
    private(set) var count = 0

    @inline(__always)
    func home(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    @inline(__always)
    subscript(key: UInt64) -> Int32? {
        let mask = keys.count - 1
        var i = home(key)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }

    /// Inserts `key`, or updates its value.
    mutating func set(_ key: UInt64, _ value: Int32) {
        let mask = keys.count - 1
        var i = home(key)
        while keys[i] != Self.empty && keys[i] != key { i = (i + 1) & mask }
        if keys[i] == Self.empty {
            keys[i] = key
            count += 1
        }
        values[i] = value
        if count * 2 > keys.count { grow() }
    }

    mutating func remove(_ key: UInt64) {
        let mask = keys.count - 1
        var i = home(key)
        while keys[i] != key {
            if keys[i] == Self.empty { return }
            i = (i + 1) & mask
        }
        count -= 1
        // Move later members of the probe run back into the hole unless
        // their home lies cyclically in (hole, position].
        var j = i
        while true {
            j = (j + 1) & mask
            let k = keys[j]
            if k == Self.empty { break }
            let h = home(k)
            let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if stays { continue }
            keys[i] = k
            values[i] = values[j]
            i = j
        }
        keys[i] = Self.empty
        values[i] = -1
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: Self.empty, count: oldKeys.count * 2)
        values = [Int32](repeating: -1, count: oldKeys.count * 2)
        shift -= 1
        count = 0
        for (k, v) in zip(oldKeys, oldValues) where k != Self.empty { set(k, v) }
    }
}
