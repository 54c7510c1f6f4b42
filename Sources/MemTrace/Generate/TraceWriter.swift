#if canImport(Glibc)
import Glibc
#endif

/// Buffered output of trace text, straight to a file descriptor.
///
/// Generators and importers emit millions of lines; this keeps them in
/// constant memory and avoids a `String` per number.
public final class TraceWriter {
    private let fd: Int32
    private let ownsFD: Bool
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 1 << 16
    private var count = 0
    private var flushed = 0
    public private(set) var lines = 0
    /// Bytes written so far, buffered ones included.
    public var bytesWritten: Int { flushed + count }

    /// Writes to `path` (created or truncated), or standard output for `-`.
    public init(path: String) throws(SourceError) {
        if path == "-" {
            fd = 1
            ownsFD = false
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SourceError("cannot create \(path): \(String(cString: strerror(errno)))") }
            ownsFD = true
        }
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        try? flush()
        if ownsFD { close(fd) }
        buffer.deallocate()
    }

    public func flush() throws(SourceError) {
        // A writer that reads nothing (gen) sees a stop here, once a buffer.
        if Interruption.requested != 0 { throw SourceError(Interruption.message) }
        var done = 0
        while done < count {
            let n = write(fd, buffer + done, count - done)
            if n < 0 {
                // A signal ended a write that was waiting (a full pipe).
                if errno == EINTR {
                    if Interruption.requested != 0 { throw SourceError(Interruption.message) }
                    continue
                }
                throw SourceError("write error: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        flushed += count
        count = 0
    }

    @inline(__always)
    private func ensure(_ n: Int) throws(SourceError) {
        if count + n > capacity { try flush() }
    }

    @inline(__always)
    public func byte(_ b: UInt8) throws(SourceError) {
        try ensure(1)
        buffer[count] = b
        count += 1
    }

    public func text(_ s: String) throws(SourceError) {
        for b in s.utf8 { try byte(b) }
    }

    public func decimal<T: BinaryInteger>(_ v: T) throws(SourceError) {
        try ensure(24)
        var x = UInt64(v)
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { t in
            repeat {
                t[n] = UInt8(48 + x % 10)
                x /= 10
                n += 1
            } while x > 0
            for i in 0..<n { buffer[count + i] = t[n - 1 - i] }
        }
        count += n
    }

    /// `0x` and lowercase hexadecimal digits.
    public func hex<T: BinaryInteger>(_ v: T) throws(SourceError) {
        try ensure(18)
        buffer[count] = UInt8(ascii: "0")
        buffer[count + 1] = UInt8(ascii: "x")
        count += 2
        try hexDigits(v)
    }

    /// Lowercase hexadecimal digits without the `0x` prefix, for handle
    /// names derived from addresses (`m55d048b342a0`).
    public func hexDigits<T: BinaryInteger>(_ v: T) throws(SourceError) {
        try ensure(16)
        let x = UInt64(v)
        let digits = x == 0 ? 1 : (67 - x.leadingZeroBitCount) / 4
        for i in 0..<digits {
            let d = UInt8((x >> UInt64(4 * (digits - 1 - i))) & 0xF)
            buffer[count + i] = d < 10 ? 48 + d : 87 + d
        }
        count += digits
    }

    /// Raw bytes, copied as they are (names taken from an input line).
    public func bytes(_ b: UnsafeBufferPointer<UInt8>) throws(SourceError) {
        for c in b { try byte(c) }
    }

    /// Ends a line.
    @inline(__always)
    public func newline() throws(SourceError) {
        try byte(0x0A)
        lines += 1
    }

    /// A whole line of text.
    public func line(_ s: String) throws(SourceError) {
        try text(s)
        try newline()
    }
}

/// SplitMix64: a small, fast, seedable generator (Steele, Lea & Flood 2014),
/// so generated traces are the same on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0..<n.
    @inline(__always)
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
