#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One fixed buffer over a ``ByteSource``, consumed from the front and
/// refilled at the back, cut into lines in place with `memchr`.
///
/// Both readers go through it: ``TraceReader`` (traces, text or binary) and
/// ``LineReader`` (foreign tools' output). Inputs of any length are read in
/// this one buffer; a line is valid only until the next refill.
struct InputBuffer {
    let path: String
    let source: any ByteSource
    let bytes: UnsafeMutablePointer<UInt8>
    let capacity: Int
    /// The unread bytes are `bytes[start..<end]`.
    var start = 0
    var end = 0
    var sourceEOF = false
    /// Lines (or, for binary traces, statements' text lines) passed so far.
    var line = 0

    /// The owner calls ``deallocate()`` once, in its `deinit`.
    init(path: String, source: any ByteSource, capacity: Int) {
        self.path = path
        self.source = source
        self.capacity = capacity
        bytes = .allocate(capacity: capacity)
        // Readers may load a whole word past a short token (see `keywordKey`).
        // (memset: an element loop costs a millisecond in a debug build.)
        memset(bytes, 0, capacity)
    }

    func deallocate() { bytes.deallocate() }

    /// The next line's byte range, its line end excluded, or `nil` at the
    /// end of the input. A line longer than `maxLength` is an error.
    @inline(__always)
    mutating func nextLine(maxLength: Int) throws(TraceError) -> (Int, Int)? {
        while true {
            if start < end, let nl = memchr(bytes + start, 0x0A, end - start) {
                let e = bytes.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                let s = start
                start = e + 1
                line += 1
                if e - s > maxLength { throw tooLong(maxLength) }
                return (s, e)
            }
            if sourceEOF {
                guard start < end else { return nil }
                let s = start
                start = end
                line += 1
                return (s, end)
            }
            if end - start > maxLength {
                line += 1
                throw tooLong(maxLength)
            }
            try refill()
        }
    }

    private func tooLong(_ maxLength: Int) -> TraceError {
        TraceError(file: path, line: line, message: "line too long: more than \(maxLength) bytes")
    }

    /// Moves the unread bytes to the front and reads once more; stops
    /// instead when a signal has asked to (see ``Interruption``), so a long
    /// import or conversion ends within one buffer.
    mutating func refill() throws(TraceError) {
        if Interruption.requested != 0 {
            throw TraceError(file: path, line: line + 1, message: Interruption.message)
        }
        if start > 0 {
            memmove(bytes, bytes + start, end - start)
            end -= start
            start = 0
        }
        let n: Int
        do {
            n = try source.read(into: UnsafeMutableRawBufferPointer(start: bytes + end, count: capacity - end))
        } catch {
            throw TraceError(file: path, line: line + 1, message: error.message)
        }
        if n == 0 { sourceEOF = true } else { end += n }
    }

    /// Buffers at least `n` bytes unless the source ends first.
    @inline(__always)
    mutating func fill(_ n: Int) throws(TraceError) {
        while end - start < n && !sourceEOF { try refill() }
    }
}
