/// The lines of a foreign tool's output, read in chunks from a ``ByteSource``.
///
/// Importers read recordings of hundreds of megabytes, so, like
/// ``TraceReader``, this never holds more than one buffer: it finds line ends
/// with `memchr` and hands out each line in place, as bytes. A line is valid
/// only until the next call to ``next()``.
public final class LineReader {
    /// The input's name, used in `FILE:LINE:` messages.
    public let path: String
    /// Longest accepted line; ftrace lines with long flag lists stay far below it.
    public static let maxLineLength = 1 << 16
    static let bufferSize = 1 << 20

    private var input: InputBuffer

    /// Line number of the line returned last (1-based).
    public var line: Int { input.line }

    public init(path: String, source: any ByteSource) {
        self.path = path
        input = InputBuffer(path: path, source: source, capacity: Self.bufferSize)
    }

    deinit { input.deallocate() }

    /// A problem at the current line.
    func fail(_ message: String) -> TraceError {
        TraceError(file: path, line: line, message: message)
    }

    /// The next line without its line end (`\n` or `\r\n`), or `nil` at the end.
    public func next() throws(TraceError) -> UnsafeBufferPointer<UInt8>? {
        guard let (s, e) = try input.nextLine(maxLength: Self.maxLineLength) else { return nil }
        return trimmed(s, e)
    }

    @inline(__always)
    private func trimmed(_ s: Int, _ e: Int) -> UnsafeBufferPointer<UInt8> {
        var e = e
        if e > s && input.bytes[e - 1] == 0x0D { e -= 1 }
        return UnsafeBufferPointer(start: input.bytes + s, count: e - s)
    }
}

/// The whitespace-separated fields of one line, found in place.
///
/// Only the bounds are stored, in an array that keeps its capacity from line
/// to line, so splitting allocates nothing once the longest line has been seen.
struct Fields {
    private(set) var line = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    private var bounds: [Int] = []

    init() { bounds.reserveCapacity(64) }

    var count: Int { bounds.count >> 1 }

    /// Splits `line` at spaces and tabs.
    mutating func split(_ line: UnsafeBufferPointer<UInt8>) {
        self.line = line
        bounds.removeAll(keepingCapacity: true)
        var i = 0
        let n = line.count
        while i < n {
            let c = line[i]
            if c == 0x20 || c == 0x09 { i += 1; continue }
            let s = i
            while i < n && line[i] != 0x20 && line[i] != 0x09 { i += 1 }
            bounds.append(s)
            bounds.append(i)
        }
    }

    /// Field `k`.
    @inline(__always)
    subscript(k: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: line[bounds[2 * k]..<bounds[2 * k + 1]])
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// The bytes equal `s`.
    @inline(__always)
    func equals(_ s: StaticString) -> Bool {
        guard count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for i in 0..<count where self[i] != p[i] { return false }
        return true
    }

    /// The bytes start with `s`.
    @inline(__always)
    func hasPrefix(_ s: StaticString) -> Bool {
        guard count >= s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for i in 0..<s.utf8CodeUnitCount where self[i] != p[i] { return false }
        return true
    }

    /// The single byte `c`.
    @inline(__always)
    func isByte(_ c: UInt8) -> Bool { count == 1 && self[0] == c }

    /// Hexadecimal digits, with or without `0x` (kernel `%p` prints none).
    func hexValue() -> UInt64? {
        var i = 0
        if count >= 2 && self[0] == 48 && (self[1] | 0x20) == 120 { i = 2 }
        guard i < count, count - i <= 16 else { return nil }
        var v: UInt64 = 0
        while i < count {
            guard let d = hexDigit(self[i]) else { return nil }
            v = v << 4 | UInt64(d)
            i += 1
        }
        return v
    }

    /// A decimal or `0x` hexadecimal number, as memtrace writes them.
    func numberValue() -> UInt64? {
        guard let base = baseAddress, count > 0 else { return nil }
        return try? NumberSyntax.parse(base, count, allowSuffix: false)
    }

    /// The bytes as text, for messages only.
    var text: String { String(decoding: self, as: UTF8.self) }
}
