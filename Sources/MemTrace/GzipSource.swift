import CZlib

/// Gzip (or zlib) data inflated through the system zlib, chunk by chunk.
///
/// Concatenated gzip members are read one after another, as `gzip -dc` does.
/// Input that ends inside a member is reported as truncated rather than
/// silently treated as the end of the trace.
public final class GzipSource: ByteSource {
    private let file: FileSource
    private var stream = z_stream()
    private let input: UnsafeMutableRawBufferPointer
    private var inputEOF = false
    private var inMember = false
    private var finished = false

    public var bytesConsumed: UInt64 { file.bytesConsumed }

    init(_ file: FileSource) throws(SourceError) {
        self.file = file
        input = .allocate(byteCount: 256 * 1024, alignment: 16)
        // 15 window bits + 32: detect gzip or zlib headers automatically.
        let rc = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            input.deallocate()
            throw SourceError("cannot start gzip decompression (zlib error \(rc))")
        }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SourceError) -> Int {
        if finished { return 0 }
        stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = UInt32(buffer.count)
        while stream.avail_out == UInt32(buffer.count) {
            if stream.avail_in == 0 && !inputEOF {
                let n = try file.read(into: input)
                if n == 0 {
                    inputEOF = true
                } else {
                    stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_in = UInt32(n)
                }
            }
            if stream.avail_in == 0 && inputEOF {
                if inMember { throw SourceError("truncated gzip data: the compressed stream ends early") }
                finished = true
                break
            }
            inMember = true
            let rc = inflate(&stream, Z_NO_FLUSH)
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                inMember = false
                inflateReset(&stream)
            default:
                let why = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw SourceError("corrupt gzip data: \(why)")
            }
        }
        return buffer.count - Int(stream.avail_out)
    }
}
