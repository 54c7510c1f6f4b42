#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure to read the bytes of a trace (I/O or decompression).
public struct SourceError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// A stream of trace bytes, read in chunks so traces replay in constant memory.
///
/// Sources are classes because each owns an operating-system resource (a
/// file descriptor, a decompressor) that must be released exactly once.
public protocol ByteSource: AnyObject {
    /// Fills up to `buffer.count` bytes; returns 0 only at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(SourceError) -> Int
    /// Bytes consumed from the underlying file so far (for progress reports).
    var bytesConsumed: UInt64 { get }
}

/// Opens `path` as a byte source, decompressing `.gz` and `.zst` files.
/// `-` reads standard input.
public func openByteSource(path: String) throws(SourceError) -> any ByteSource {
    try openByteSource(path: path, zstd: ZstdLibrary.system)
}

/// Opens `path`, reading `.zst` through `zstd` (tests pass a missing library).
func openByteSource(path: String, zstd: Result<ZstdLibrary, SourceError>) throws(SourceError) -> any ByteSource {
    let file = try FileSource(path: path)
    if path.hasSuffix(".gz") { return try GzipSource(file) }
    if path.hasSuffix(".zst") { return try ZstdSource(file, library: zstd) }
    return file
}

/// Plain file bytes through `read(2)`.
public final class FileSource: ByteSource {
    private let fd: Int32
    private let ownsFD: Bool
    public private(set) var bytesConsumed: UInt64 = 0
    /// Size of the file in bytes, when it is a regular file.
    public let size: UInt64?

    public init(path: String) throws(SourceError) {
        if path == "-" {
            fd = 0
            ownsFD = false
        } else {
            // Opening a FIFO waits for a writer: a signal may end the wait.
            var opened: Int32
            repeat {
                opened = open(path, O_RDONLY | O_CLOEXEC)
            } while opened < 0 && errno == EINTR && Interruption.requested == 0
            guard opened >= 0 else {
                if errno == EINTR { throw SourceError(Interruption.message) }
                throw SourceError("cannot open: \(String(cString: strerror(errno)))")
            }
            fd = opened
            ownsFD = true
        }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
            size = UInt64(st.st_size)
        } else if (st.st_mode & S_IFMT) == S_IFDIR {
            if ownsFD { close(fd) }
            throw SourceError("is a directory, not a trace file")
        } else {
            size = nil
        }
    }

    deinit { if ownsFD { close(fd) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SourceError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 {
                bytesConsumed += UInt64(n)
                return n
            }
            // A signal ended a read that was waiting (a stalled pipe or
            // FIFO): stop if it asked to, else read again.
            if errno == EINTR {
                if Interruption.requested != 0 { throw SourceError(Interruption.message) }
                continue
            }
            throw SourceError("read error: \(String(cString: strerror(errno)))")
        }
    }
}
