import CZstd

/// Zstandard data decompressed through the system libzstd, chunk by chunk.
///
/// A stream whose last frame is incomplete when the file ends is reported as
/// truncated (libzstd's "more input expected" hint is non-zero at that point).
public final class ZstdSource: ByteSource {
    private let file: FileSource
    private let stream: OpaquePointer
    private let input: UnsafeMutableRawBufferPointer
    private var inBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var inputEOF = false
    private var frameOpen = false

    public var bytesConsumed: UInt64 { file.bytesConsumed }

    init(_ file: FileSource) throws(SourceError) {
        self.file = file
        guard let ds = ZSTD_createDStream() else { throw SourceError("cannot start zstd decompression") }
        stream = ds
        ZSTD_initDStream(ds)
        input = .allocate(byteCount: Int(ZSTD_DStreamInSize()), alignment: 16)
    }

    deinit {
        ZSTD_freeDStream(stream)
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
            let hint = ZSTD_decompressStream(stream, &out, &inBuffer)
            if ZSTD_isError(hint) != 0 {
                throw SourceError("corrupt zstd data: \(String(cString: ZSTD_getErrorName(hint)))")
            }
            frameOpen = hint != 0
        }
        return out.pos
    }
}
