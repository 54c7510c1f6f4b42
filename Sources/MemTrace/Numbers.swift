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
