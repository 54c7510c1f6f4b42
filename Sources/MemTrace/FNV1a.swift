/// FNV-1a, 64 bits (Fowler, Noll & Vo): a byte-at-a-time hash, used where
/// a fast hash of short strings is needed — symbol tables, the importers'
/// cache names — and where a hash must be stable across runs and machines
/// (sweep job ids), which Swift's seeded `Hasher` is not.
@inlinable
public func fnv1a<S: Sequence<UInt8>>(_ bytes: S, _ seed: UInt64 = fnv1aOffsetBasis) -> UInt64 {
    var h = seed
    for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return h
}

/// The FNV-1a starting value; pass a previous result as the seed to hash a
/// concatenation piece by piece.
public let fnv1aOffsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
