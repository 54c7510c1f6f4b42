import Foundation
import Testing
import TestSupport
@testable import MemTrace
import MemModel

/// The statement table is the one declaration of the format: these tests
/// hold the readers, the encoder, the arms that build events and the README
/// to it.
@Suite struct StatementTableTests {
    @Test func rowsFollowTheEnum() {
        #expect(Statement.table.map(\.statement) == Statement.allCases)
        #expect(StatementRules.checkIndexes())
        #expect(Event.allKeywords.first == "memtrace")
        #expect(Set(Event.allKeywords).count == Statement.allCases.count)
    }

    @Test func usageComesFromTheFields() {
        #expect(Statement.header.spec.usage == "memtrace 1")
        #expect(Statement.tick.spec.usage == "tick [N]")
        #expect(Statement.palloc.spec.usage == "palloc H [N] [TYPE]")
        #expect(Statement.spawn.spec.usage == "spawn PID [node=K]")
        #expect(Statement.fork.spec.usage == "fork PARENT CHILD")
        #expect(Statement.mmap.spec.usage == "mmap PID START END PERMS [shared=ID] [huge]")
        #expect(Statement.read.spec.usage == "r PID ADDR")
        #expect(Statement.cache.spec.usage == "cache NAME SIZE [ALIGN] [TYPE]")
    }

    /// Ops are what files already hold: distinct, never the name record's 0
    /// or the escape's 31, and the ones the first release wrote.
    @Test func opsAreFixed() {
        let ops = Statement.table.flatMap { [$0.op, $0.bareOp].compactMap { $0 } }
        #expect(Set(ops).count == ops.count)
        #expect(!ops.contains(BinaryTrace.nameOp) && !ops.contains(BinaryTrace.escapeOp))
        let firstRelease: [Statement: Int] = [
            .read: 1, .write: 2, .execute: 3, .tick: 5, .palloc: 6, .pfree: 7, .spawn: 8, .fork: 9, .exit: 10,
            .switchTo: 11, .mmap: 12, .munmap: 13, .map: 14, .unmap: 15, .cache: 16, .salloc: 17, .sfree: 18,
            .kmalloc: 19, .kfree: 20, .fread: 21, .fwrite: 22, .fsync: 23, .fdrop: 24, .mem: 25, .reserve: 26, .nodes: 27,
        ]
        // salloc, kmalloc, palloc, cache and mmap without their new optional
        // fields keep their first ops as bare ops.
        let grown: Set<Statement> = [.salloc, .kmalloc, .palloc, .cache, .mmap]
        for s in Statement.allCases where s != .header {
            #expect((grown.contains(s) ? s.spec.bareOp : s.spec.op) == firstRelease[s], "\(s)")
        }
        #expect(Statement.tick.spec.bareOp == 4)
        #expect(Statement.kmalloc.spec.op == 28 && Statement.salloc.spec.op == 29)
        #expect(Statement.palloc.spec.op == 30 && Statement.cache.spec.op == 32 && Statement.mmap.spec.op == 33)
    }

    /// Events are copied by the million: a new field must not widen them
    /// (the widest payloads, `mmap` and `kmalloc`, fit 24 bytes with the tag).
    @Test func eventsStaySmall() {
        #expect(MemoryLayout<Event>.size <= 24, "Event is \(MemoryLayout<Event>.size) bytes")
        #expect(MemoryLayout<Event>.stride <= 24)
    }

    @Test func keywordLookup() {
        let rules = StatementRules.shared
        for s in Statement.allCases { #expect(rules.statement(forKey: StatementRules.key(s.keyword)) == s) }
        for word in ["", "pallocx", "PALLOC", "memtrace1", "m", "tic"] {
            #expect(rules.statement(forKey: StatementRules.key(word)) == nil, "\(word)")
        }
    }

    /// The README's statement table is the table's own rendering.
    @Test func readmeListsTheTable() throws {
        let readme = try String(contentsOfFile: repositoryRoot + "/README.md", encoding: .utf8)
        let begin = "<!-- statements: generated from Statement.table; StatementTableTests checks it -->\n"
        let end = "\n<!-- end of statements -->"
        guard let a = readme.range(of: begin), let b = readme.range(of: end, range: a.upperBound..<readme.endIndex) else {
            Issue.record("README.md has no statement table between the markers")
            return
        }
        let listed = String(readme[a.upperBound..<b.lowerBound])
        #expect(listed == Statement.markdown, "README.md's statement table should read:\n\(Statement.markdown)")
    }

    /// A field as a line gives it, and as an event gives it back.
    enum Value: Equatable, CustomStringConvertible {
        case number(UInt64?)
        case name(String?)
        case perms(Perms)
        var description: String {
            switch self {
            case .number(let v): v.map { "\($0)" } ?? "absent"
            case .name(let n): n ?? "absent"
            case .perms(let p): "\(p)"
            }
        }
    }

    /// Takes an event's fields back out through the encoding arms.
    struct Recorder: FieldSink {
        var names: SymbolTables
        var statement = Statement.header
        var values: [Value] = []
        mutating func begin(_ statement: Statement) { self.statement = statement }
        mutating func number(_ value: UInt64) { values.append(.number(value)) }
        mutating func optionalNumber(_ value: UInt64?) { values.append(.number(value)) }
        mutating func symbol(_ symbol: Symbol) { values.append(.name(name(symbol))) }
        mutating func optionalSymbol(_ symbol: Symbol?) { values.append(.name(symbol.map(name))) }
        mutating func perms(_ perms: Perms) { values.append(.perms(perms)) }
        func name(_ s: Symbol) -> String {
            names.name(statement.spec.fields[values.count].namespace, s)
        }
    }

    /// A line of `s` with a distinct valid value in every field (optional
    /// ones only if `optionals`), and the values it gives.
    static func line(_ s: Statement, optionals: Bool) -> (String, [Value]) {
        var words = [s.keyword]
        var values: [Value] = []
        for (k, f) in s.spec.fields.enumerated() {
            if f.presence != .required && !optionals {
                if case .defaulted(let d) = f.presence { values.append(.number(d)) } else {
                    values.append(f.kind == .symbol ? .name(nil) : .number(nil))
                }
                continue
            }
            let prefix = f.key.map { "\($0)=" } ?? ""
            if f.isFlag {
                words.append(f.key!)
                values.append(.number(1))
                continue
            }
            switch f.kind {
            case .version: continue
            case .symbol:
                words.append(prefix + "n\(k)")
                values.append(.name("n\(k)"))
            case .perms:
                words.append("rx")
                values.append(.perms([.read, .execute]))
            case .migrateType:
                words.append(MigrateType(rawValue: UInt8(f.max))!.keyword)
                values.append(.number(f.max))
            case .number, .size, .address:
                var v = UInt64(k + 1)
                switch f.rule {
                case .none: break
                case .pageAligned, .pageMultiple: v *= s == .mmap ? 4 << 20 : 4096  // huge: 4 MiB aligned
                case .powerOfTwo: v = 1 << (k + 2)
                }
                v = max(v, f.min)
                #expect(v <= f.max, "\(s): no value for field \(k)")
                words.append(prefix + "\(v)")
                values.append(.number(v))
            }
        }
        return (words.joined(separator: " "), values)
    }

    /// Every statement, with and without its optional fields, through the
    /// text reader, the binary encoder and reader, and back out of the event:
    /// each field comes back where the table puts it. An arm that skipped,
    /// swapped or defaulted a field wrongly fails here.
    @Test(arguments: Statement.allCases.filter { $0 != .header })
    func everyFieldRoundTrips(_ s: Statement) throws {
        for optionals in [false, true] {
            let (text, values) = Self.line(s, optionals: optionals)
            let reader = TraceReader(path: "t", source: MemorySource("memtrace 1\n" + text + "\n"))
            let event = try #require(try reader.next(), "\(text)")
            #expect(event.statement == s)
            var recorder = Recorder(names: reader.symbols)
            event.encode(to: &recorder)
            #expect(recorder.statement == s)
            #expect(recorder.values == values, "\(text)")

            let out = temporaryPath("st.mtb")
            defer { try? FileManager.default.removeItem(atPath: out) }
            _ = try BinaryTrace.convert(TraceReader(path: "t", source: MemorySource("memtrace 1\n" + text + "\n")), to: TraceWriter(path: out))
            let binary = try TraceReader(path: out)
            #expect(try binary.next() == event, "\(text)")
            #expect(binary.line == 2)
        }
    }
}

/// The boot-time caches: interned by the reader before the trace, at fixed
/// ids the model knows without asking it.
@Suite struct KmallocCachesTests {
    @Test func namesAndIDs() {
        #expect(KmallocCaches.count == 13)
        #expect((0..<KmallocCaches.count).map(KmallocCaches.name) == [
            "kmalloc-8", "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-128",
            "kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048", "kmalloc-4096",
            "kmalloc-8192", "kmalloc-96", "kmalloc-192",
        ])
        let reader = TraceReader(path: "t", source: MemorySource("memtrace 1\n"))
        for k in 0..<KmallocCaches.count {
            #expect(reader.symbols[.cache].lookup(KmallocCaches.name(k)) == KmallocCaches.symbol(k))
            #expect(KmallocCaches.name(of: KmallocCaches.symbol(k)) == KmallocCaches.name(k))
        }
        #expect(KmallocCaches.name(of: Symbol(Int32(KmallocCaches.count))) == nil)
        #expect(KmallocCaches.isBootCache(Array("kmalloc-512".utf8)))
        #expect(KmallocCaches.isBootCache(Array("kmalloc-96".utf8)))
        #expect(!KmallocCaches.isBootCache(Array("kmalloc-100".utf8)))
        // Only caches: the other namespaces start empty.
        #expect(reader.symbols[.handle].count == 0 && reader.symbols[.object].count == 0)
    }

    /// The model takes events alone: a boot-time cache by its symbol; a
    /// declared one is created with the name the replay loop hands over.
    @Test func theModelNeedsNoReader() throws {
        var m = Machine<StackAllocator, LRUReplacement>(MachineConfig())
        try m.apply(.salloc(cache: KmallocCaches.symbol(3), object: Symbol(0), site: 0, allocated: 0))
        try m.kmem_cache_create(Symbol(10), name: "dentry", size: 192, align: 8)
        try m.apply(.salloc(cache: Symbol(10), object: Symbol(1), site: 0, allocated: 0))
        try m.apply(.sfree(cache: KmallocCaches.symbol(3), object: Symbol(0)))
        let rows = Dictionary(uniqueKeysWithValues: m.slabinfo().map { ($0.name, $0) })
        #expect(rows["kmalloc-64"]?.activeObjects == 0)
        #expect(rows["kmalloc-64"]?.slabs == 1)
        #expect(rows["dentry"]?.activeObjects == 1)
        #expect(throws: ModelError.self) { try m.kmem_cache_create(KmallocCaches.symbol(5), name: "kmalloc-256", size: 256, align: 8) }
        #expect(throws: ModelError.self) { try m.apply(.salloc(cache: Symbol(11), object: Symbol(2), site: 0, allocated: 0)) }
    }
}
