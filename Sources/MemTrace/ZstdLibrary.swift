#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZstd

/// libzstd's streaming decompressor, opened at run time.
///
/// The package neither links libzstd nor includes its header (CZstd/shim.h
/// declares the few functions used): a fresh machine has the runtime library
/// but not `libzstd-dev`, and `swift build` must work there. The library is
/// opened with `dlopen` when the first `.zst` file is read; where it is
/// absent, reading a `.zst` file is an error that says what to install, and
/// every other trace reads as before.
struct ZstdLibrary: @unchecked Sendable {  // C function pointers and a never-closed handle
    let createDStream: ZSTD_createDStream_fn
    let freeDStream: ZSTD_freeDStream_fn
    let initDStream: ZSTD_initDStream_fn
    let decompressStream: ZSTD_decompressStream_fn
    let dStreamInSize: ZSTD_DStreamInSize_fn
    let isError: ZSTD_isError_fn
    let getErrorName: ZSTD_getErrorName_fn

    /// The name the system's libzstd is opened by. The soname's major
    /// version is zstd's ABI promise: a new one would not be this library.
    #if canImport(Darwin)
    static let soname = "libzstd.1.dylib"
    #else
    static let soname = "libzstd.so.1"
    #endif

    /// The system's libzstd, opened once, at first use; the error where it is
    /// missing. (A `static let` is initialized once, thread-safely.)
    static let system: Result<ZstdLibrary, SourceError> = Result { () throws(SourceError) in try open(soname) }

    /// Opens the library `soname` and looks up every function used.
    /// Tests pass a name that does not exist to see the error.
    static func open(_ soname: String) throws(SourceError) -> ZstdLibrary {
        guard let handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL) else {
            throw SourceError("cannot read .zst: \(soname) not found (install the zstd library)")
        }
        func function<F>(_ name: String, as type: F.Type) throws(SourceError) -> F {
            guard let address = dlsym(handle, name) else {
                throw SourceError("cannot read .zst: \(soname) has no function \(name) (not a zstd 1.x library?)")
            }
            return unsafeBitCast(address, to: F.self)
        }
        do {
            return ZstdLibrary(
                createDStream: try function("ZSTD_createDStream", as: ZSTD_createDStream_fn.self),
                freeDStream: try function("ZSTD_freeDStream", as: ZSTD_freeDStream_fn.self),
                initDStream: try function("ZSTD_initDStream", as: ZSTD_initDStream_fn.self),
                decompressStream: try function("ZSTD_decompressStream", as: ZSTD_decompressStream_fn.self),
                dStreamInSize: try function("ZSTD_DStreamInSize", as: ZSTD_DStreamInSize_fn.self),
                isError: try function("ZSTD_isError", as: ZSTD_isError_fn.self),
                getErrorName: try function("ZSTD_getErrorName", as: ZSTD_getErrorName_fn.self))
        } catch {
            dlclose(handle)
            throw error
        }
    }
}
