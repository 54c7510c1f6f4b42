// The part of libzstd's ABI that MemTrace's ZstdSource uses, declared here
// instead of included from <zstd.h>: a fresh machine has the runtime library
// (libzstd.so.1, Debian's libzstd1) but not its headers (libzstd-dev), and
// MemTrace/ZstdLibrary.swift opens the library with dlopen at the first .zst
// file and looks the functions below up with dlsym.
//
// Each declaration is copied from zstd.h (v1.5.4, Debian 12's), from its
// stable API: zstd.h:98-103 says that only the experimental part, behind
// ZSTD_STATIC_LINKING_ONLY, may change for a dynamically linked library.
//   ZSTD_isError, ZSTD_getErrorName          zstd.h:238-239
//   struct ZSTD_DCtx_s                       zstd.h:281
//   ZSTD_inBuffer, ZSTD_outBuffer            zstd.h:661-671
//   ZSTD_DStream, the same object as DCtx    zstd.h:858  (since v1.3.0)
//   ZSTD_createDStream … ZSTD_DStreamInSize  zstd.h:861-893
// Only pointers to the two buffer structs cross the boundary, so theirs is
// the one layout that must match: three machine words, in this order.
#ifndef MEMREPLAY_CZSTD_SHIM_H
#define MEMREPLAY_CZSTD_SHIM_H

#include <stddef.h>

/// A decompression stream; opaque (zstd.h: `typedef ZSTD_DCtx ZSTD_DStream`).
typedef struct ZSTD_DCtx_s ZSTD_DStream;

/// Input the decompressor reads from `src[pos..<size]`, advancing `pos`.
typedef struct ZSTD_inBuffer_s {
    const void *src;
    size_t size;
    size_t pos;
} ZSTD_inBuffer;

/// Output the decompressor writes to `dst[pos..<size]`, advancing `pos`.
typedef struct ZSTD_outBuffer_s {
    void *dst;
    size_t size;
    size_t pos;
} ZSTD_outBuffer;

// The functions, as the types of the pointers dlsym returns for them.
typedef ZSTD_DStream *(*ZSTD_createDStream_fn)(void);
typedef size_t (*ZSTD_freeDStream_fn)(ZSTD_DStream *zds);
typedef size_t (*ZSTD_initDStream_fn)(ZSTD_DStream *zds);
typedef size_t (*ZSTD_decompressStream_fn)(ZSTD_DStream *zds, ZSTD_outBuffer *output, ZSTD_inBuffer *input);
typedef size_t (*ZSTD_DStreamInSize_fn)(void);
typedef unsigned (*ZSTD_isError_fn)(size_t code);
typedef const char *(*ZSTD_getErrorName_fn)(size_t code);

#endif
