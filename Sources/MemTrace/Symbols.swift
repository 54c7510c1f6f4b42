#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A handle or name from a trace, interned to a small dense integer.
///
/// Each namespace (frame handles, slab objects, caches, files, shared
/// segments) has its own numbering, so the model can keep per-symbol state in
/// flat arrays indexed by `raw` instead of hashing strings per event.
public struct Symbol: Hashable, Sendable, CustomStringConvertible {
    public var raw: Int32
    public init(_ raw: Int32) { self.raw = raw }
    @inlinable public var index: Int { Int(raw) }
    public var description: String { "#\(raw)" }
}

/// The separate namespaces of trace tokens.
public enum Namespace: Int, CaseIterable, Sendable {
    case handle, object, cache, file, segment
}

/// Interns tokens of at most 64 bytes to dense ids, and recycles ids.
///
/// The table is open-addressed with linear probing over a power-of-two slot
/// array; each id owns a fixed 64-byte slot of `bytes`. Releasing a symbol
/// (its handle was freed, its file dropped) returns the id for reuse, so a
/// trace that keeps creating fresh handle names still replays in memory
/// proportional to the handles that are live at once, not to trace length.
///
/// Invariant: `slots` holds each live id exactly once, at the first position
/// of its probe sequence not occupied by another live id or a tombstone left
/// after the probe passed it.
public struct SymbolTable: Sendable {
    public static let maxTokenLength = 64
    private static let empty: Int32 = -1
    private static let tombstone: Int32 = -2

    private var slots: [Int32] = Array(repeating: -1, count: 64)
    private var bytes: [UInt8] = []
    private var lengths: [UInt8] = []
    private var hashes: [UInt32] = []
    private var freeIDs: [Int32] = []
    private var used = 0  // live ids + tombstones, for the load factor
    public private(set) var count = 0

    public init() {}

    /// One past the largest id handed out so far: arrays indexed by id need this size.
    public var capacity: Int { lengths.count }

    @inline(__always)
    static func hash(_ p: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(truncatingIfNeeded: fnv1a(p))
    }

    /// The id of `token`, interning it if it is new.
    public mutating func intern(_ token: UnsafeRawBufferPointer) -> Symbol {
        let h = Self.hash(token)
        let mask = slots.count - 1
        var i = Int(h) & mask
        var firstTombstone = -1
        while true {
            let s = slots[i]
            if s == Self.empty { break }
            if s == Self.tombstone {
                if firstTombstone < 0 { firstTombstone = i }
            } else if hashes[Int(s)] == h && matches(Int(s), token) {
                return Symbol(s)
            }
            i = (i + 1) & mask
        }
        let id: Int32
        if !freeIDs.isEmpty {
            id = freeIDs.removeLast()
        } else {
            id = Int32(lengths.count)
            lengths.append(0)
            hashes.append(0)
            bytes.append(contentsOf: repeatElement(0, count: Self.maxTokenLength))
        }
        let base = Int(id) * Self.maxTokenLength
        if let t = token.baseAddress, token.count > 0 {
            bytes.withUnsafeMutableBufferPointer { b in
                (b.baseAddress! + base).update(from: t.assumingMemoryBound(to: UInt8.self), count: token.count)
            }
        }
        lengths[Int(id)] = UInt8(token.count)
        hashes[Int(id)] = h
        if firstTombstone >= 0 {
            slots[firstTombstone] = id
        } else {
            slots[i] = id
            used += 1
        }
        count += 1
        if used * 10 > slots.count * 7 { rehash() }
        return Symbol(id)
    }

    /// Interns a Swift string (for tests and the command line).
    public mutating func intern(_ token: String) -> Symbol {
        var s = token
        return s.withUTF8 { intern(UnsafeRawBufferPointer($0)) }
    }

    /// The id of `token` if it is interned.
    public func lookup(_ token: String) -> Symbol? {
        var s = token
        return s.withUTF8 { p -> Symbol? in
            let raw = UnsafeRawBufferPointer(p)
            let h = Self.hash(raw)
            let mask = slots.count - 1
            var i = Int(h) & mask
            while true {
                let s = slots[i]
                if s == Self.empty { return nil }
                if s >= 0 && hashes[Int(s)] == h && matches(Int(s), raw) { return Symbol(s) }
                i = (i + 1) & mask
            }
        }
    }

    /// Whether `raw` is the id of an interned token.
    @inline(__always)
    public func isLive(_ raw: UInt64) -> Bool { raw < UInt64(lengths.count) && lengths[Int(raw)] > 0 }

    /// Forgets `symbol`; its id may be handed out again for another token.
    public mutating func release(_ symbol: Symbol) {
        let id = symbol.raw
        guard id >= 0, Int(id) < lengths.count, lengths[Int(id)] > 0 else { return }
        let mask = slots.count - 1
        var i = Int(hashes[Int(id)]) & mask
        while slots[i] != id {
            if slots[i] == Self.empty { return }
            i = (i + 1) & mask
        }
        slots[i] = Self.tombstone
        lengths[Int(id)] = 0
        freeIDs.append(id)
        count -= 1
    }

    /// The token text of a live symbol (for messages).
    public func name(_ symbol: Symbol) -> String {
        let id = Int(symbol.raw)
        guard id >= 0, id < lengths.count else { return symbol.description }
        let base = id * Self.maxTokenLength
        return String(decoding: bytes[base..<base + Int(lengths[id])], as: UTF8.self)
    }

    @inline(__always)
    private func matches(_ id: Int, _ token: UnsafeRawBufferPointer) -> Bool {
        guard Int(lengths[id]) == token.count else { return false }
        guard let t = token.baseAddress else { return true }
        return bytes.withUnsafeBufferPointer { b in
            memcmp(b.baseAddress! + id * Self.maxTokenLength, t, token.count) == 0
        }
    }

    private mutating func rehash() {
        var size = slots.count
        while count * 10 > size * 4 { size *= 2 }
        slots = Array(repeating: Self.empty, count: size)
        used = 0
        let mask = size - 1
        for id in 0..<lengths.count where lengths[id] > 0 {
            var i = Int(hashes[id]) & mask
            while slots[i] != Self.empty { i = (i + 1) & mask }
            slots[i] = Int32(id)
            used += 1
        }
    }
}

/// Whether `c` may appear in a handle or name: `[A-Za-z0-9_.:-]`. The text
/// reader, the binary reader's name records and the importers all ask this.
@inline(__always)
func isNameByte(_ c: UInt8) -> Bool {
    (c &- 48 <= 10) || ((c | 0x20) &- 97 < 26) || c == 95 || c == 46 || c == 45
}

/// One symbol table per namespace.
public struct SymbolTables: Sendable {
    public var tables = Array(repeating: SymbolTable(), count: Namespace.allCases.count)

    /// Empty tables.
    public init() {}

    /// The tables a trace starts with: the boot-time cache names interned
    /// first, so they have the same ids in every trace (see ``KmallocCaches``).
    public static var atBoot: SymbolTables {
        var t = SymbolTables()
        for k in 0..<KmallocCaches.count {
            let s = t[.cache].intern(KmallocCaches.name(k))
            assert(s == KmallocCaches.symbol(k))
        }
        return t
    }
    public subscript(_ ns: Namespace) -> SymbolTable {
        get { tables[ns.rawValue] }
        _modify { yield &tables[ns.rawValue] }
    }
    public func name(_ ns: Namespace, _ s: Symbol) -> String { tables[ns.rawValue].name(s) }

    /// Whether `raw` is a live id in `ns`. Reads the table in place: a
    /// subscript that copied the table out would retain its five arrays.
    @inline(always)
    func isLive(_ table: Int, _ raw: UInt64) -> Bool {
        tables.withUnsafeBufferPointer { ($0.baseAddress! + table).pointee.isLive(raw) }
    }
}
