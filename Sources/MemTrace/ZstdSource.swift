import CZstd

/// Zstandard data decompressed through the system libzstd, chunk by chunk
/// (opened at run time: see `ZstdLibrary`).
///
/// A stream whose last frame is incomplete when the file ends is reported as
/// truncated (libzstd's "more input expected" hint is non-zero at that point).
public final class ZstdSource: ByteSource {
    private let file: FileSource
    private let zstd: ZstdLibrary
    private let stream: OpaquePointer
    private let input: UnsafeMutableRawBufferPointer
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var inputEOF = false
    private var frameOpen = false

    public var bytesConsumed: UInt64 { file.bytesConsumed }

    /// Reads `file` through `library` (tests pass a missing one).
    init(_ file: FileSource, library: Result<ZstdLibrary, SourceError> = ZstdLibrary.system) throws(SourceError) {
        self.file = file
        zstd = try library.get()
        guard let ds = zstd.createDStream() else { throw SourceError("cannot start zstd decompression") }
        stream = ds
        _ = zstd.initDStream(ds)
        input = .allocate(byteCount: zstd.dStreamInSize(), alignment: 16)
    }

    deinit {
        _ = zstd.freeDStream(stream)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SourceError) -> Int {
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while out.pos == 0 {
            if inBuffer.pos == inBuffer.size && !inputEOF {
                let n = try file.read(into: input)
                if n == 0 {
                    inputEOF = true
                } else {
                    inBuffer = ZSTD_inBuffer(src: UnsafeRawPointer(input.baseAddress), size: n, pos: 0)
                }
            }
            if inBuffer.pos == inBuffer.size && inputEOF {
                if frameOpen { throw SourceError("truncated zstd data: the compressed stream ends early") }
                return 0
            }
            let hint = zstd.decompressStream(stream, &out, &inBuffer)
            if zstd.isError(hint) != 0 {
                throw SourceError("corrupt zstd data: \(zstd.getErrorName(hint).map { String(cString: $0) } ?? "error \(hint)")")
            }
            frameOpen = hint != 0
        }
        return out.pos
    }
}
