/// Number syntax of memtrace v1: decimal or `0x` hexadecimal, and for sizes an
/// optional `K`, `M` or `G` suffix (powers of 1024).
enum NumberSyntax {
    enum Failure: Error {
        case notANumber, tooLarge, badSuffix(UInt8)
    }

    /// Parses `count` bytes at `p`.
    /// - Complexity: O(count), no allocation.
    @inline(__always)
    static func parse(_ p: UnsafePointer<UInt8>, _ count: Int, allowSuffix: Bool) throws(Failure) -> UInt64 {
        var n = count
        var shift: UInt64 = 0
        if allowSuffix && n > 1 {
            switch p[n - 1] {
            case UInt8(ascii: "K"): shift = 10; n -= 1
            case UInt8(ascii: "M"): shift = 20; n -= 1
            case UInt8(ascii: "G"): shift = 30; n -= 1
            default: break
            }
        }
        guard n > 0 else { throw .notANumber }
        var value: UInt64 = 0
        if n >= 2 && p[0] == UInt8(ascii: "0") && (p[1] | 0x20) == UInt8(ascii: "x") {
            guard n > 2 else { throw .notANumber }
            for i in 2..<n {
                let c = p[i]
                guard let d = hexDigit(c) else {
                    throw i == n - 1 && i > 2 && isLetter(c) ? .badSuffix(c) : .notANumber
                }
                if value >> 60 != 0 { throw .tooLarge }
                value = value << 4 | UInt64(d)
            }
        } else {
            for i in 0..<n {
                let c = p[i]
                guard c >= 48 && c <= 57 else {
                    throw i == n - 1 && i > 0 && isLetter(c) ? .badSuffix(c) : .notANumber
                }
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(c &- 48))
                if o1 || o2 { throw .tooLarge }
                value = a
            }
        }
        if shift > 0 {
            guard value >> (64 - shift) == 0 else { throw .tooLarge }
            value <<= shift
        }
        return value
    }

    @inline(__always)
    static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 }
}

/// The value of an ASCII hexadecimal digit (either case), or nil. Every
/// hexadecimal reader here uses it: the trace parser's two paths and the
/// importers.
@inline(__always)
func hexDigit(_ c: UInt8) -> UInt8? {
    if c &- 48 < 10 { return c &- 48 }
    let lower = c | 0x20
    return lower &- 97 < 6 ? lower &- 87 : nil
}

/// Parses a size as traces write it (`4096`, `0x1000`, `64M`), for command-line options.
public func parseSize(_ text: String) -> UInt64? {
    var s = text
    return s.withUTF8 { p -> UInt64? in
        guard let base = p.baseAddress, p.count > 0 else { return nil }
        return try? NumberSyntax.parse(base, p.count, allowSuffix: true)
    }
}

/// The hexadecimal number of 1 to 8 digits at `p`, ended by the first byte
/// below `"0"` (a space, CR or LF), and its digit count; nil when no digit
/// comes first or a byte before the end is not a hexadecimal digit. With
/// no end within 8 bytes, the 8 digits read and 8: the caller checks the
/// next byte. Reads 8 bytes at `p`, which the caller guarantees readable.
///
/// Why: the plain access line is most of a recorded trace, and its address
/// took 72 instructions digit by digit (callgrind, `gen lackey`); a word at a
/// time (SWAR, "SIMD within a register", as in Lemire's and Mula's
/// digit-parsing work) takes about 35 and no branch per digit.
@inline(__always)
func hexWord(_ p: UnsafePointer<UInt8>) -> (value: UInt32, digits: Int)? {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs = ones &* 0x80
    let x = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    // Bit 7 set in each byte below 0x30; exact for the lowest such byte
    // (no borrow reaches it), which is all that is used.
    let below = (x &- ones &* 0x30) & ~x & highs
    let n = below.trailingZeroBitCount >> 3  // 8 when none
    guard n > 0 else { return nil }
    let mask = ~UInt64(0) >> (64 &- 8 &* n)
    let d = x & mask
    // Bit 7 set in each byte within [lo, hi], for bytes below 0x80 (no
    // carry leaves a byte then): b + (0x80 - lo) has it, b + (0x7F - hi) not.
    let decimal = (d &+ ones &* (0x80 - 0x30)) & ~(d &+ ones &* (0x7F - 0x39))
    let lower = d | ones &* 0x20
    let letter = (lower &+ ones &* (0x80 - 0x61)) & ~(lower &+ ones &* (0x7F - 0x66))
    let wanted = highs & mask
    guard (decimal | letter) & ~d & wanted == wanted else { return nil }
    // Each digit's value: its low nibble, plus 9 for a letter (bit 6 set).
    let nibbles = (d & (ones &* 0x0F)) &+ ((d >> 6) & ones) &* 9
    // The last digit into the lowest byte, then pairs of nibbles together.
    var w = nibbles.byteSwapped >> (64 &- 8 &* UInt64(n))
    w = (w | w >> 4) & 0x00FF_00FF_00FF_00FF
    w = (w | w >> 8) & 0x0000_FFFF_0000_FFFF
    w = (w | w >> 16) & 0xFFFF_FFFF
    return (UInt32(truncatingIfNeeded: w), n)
}
