// swift-tools-version:6.0
// memreplay: replays memtrace v1 traces through a model of a 32-bit x86
// kernel's memory subsystem and stores per-tick results in SQLite.
import PackageDescription

/// The per-event modules: release builds skip the dynamic exclusivity checks
/// (the static ones still run), which cost ~10 % of the replay loop in the
/// reader class. Debug builds, and so the tests, keep them.
let hotLoop: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "memreplay",
    products: [
        .executable(name: "memreplay", targets: ["memreplay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Heap: the ftrace importer's reorder window (events by timestamp).
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // System libraries: Debian's libsqlite3-dev and zlib1g-dev, both on a
        // fresh machine. CZstd only declares the zstd functions used: libzstd
        // is opened at run time (MemTrace/ZstdLibrary.swift), because a fresh
        // machine has the library but not libzstd-dev.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // OpenSSL's libcrypto, for SHA-256 (merge's run digests): on every
        // machine of this kind (libssl-dev), where swift-crypto would
        // compile all of BoringSSL into each build.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd"),

        // Trace text -> events: the memtrace v1 reader and its byte sources.
        .target(name: "MemTrace", dependencies: [
            "CZlib", "CZstd", .product(name: "HeapModule", package: "swift-collections"),
        ], swiftSettings: hotLoop),
        // The machine: every subsystem and the replay loop. Everything that
        // runs per event lives here so generics specialize inside one module.
        .target(name: "MemModel", dependencies: ["MemTrace"], swiftSettings: hotLoop),
        // Results in SQLite through the C API: the store stores, nothing more.
        // schema.sql is embedded at build time; the one in the target folder
        // is a symbolic link to the package's top-level schema.sql, because
        // SwiftPM takes resources only from inside the target's folder.
        .target(name: "MemStore", dependencies: ["CSQLite", "COpenSSL", "MemModel"],
                resources: [.embedInCode("schema.sql")]),
        // The command line, and the jobs its commands run (Jobs/): replays
        // into the store, the threads of a comparison and their turns at
        // writing.
        .executableTarget(name: "memreplay", dependencies: [
            "MemTrace", "MemModel", "MemStore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Helpers more than one test target uses (paths, trace files).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "MemTraceTests", dependencies: ["MemTrace", "MemModel", "TestSupport"]),
        .testTarget(name: "MemModelTests", dependencies: ["MemModel", "MemTrace", "TestSupport"]),
        // Fixtures/ holds a results database written by the previous release,
        // read by path (#filePath) and copied before a test upgrades it.
        .testTarget(name: "MemStoreTests", dependencies: ["MemStore", "MemModel", "MemTrace", "CSQLite", "TestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "MemReplayTests", dependencies: ["memreplay", "MemStore", "MemModel", "MemTrace", "TestSupport"]),
    ]
)
