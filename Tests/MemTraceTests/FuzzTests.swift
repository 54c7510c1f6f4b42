import Foundation
import Testing
@testable import MemTrace

/// SplitMix64: small, fast, and the same sequence on every platform.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<n`.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    /// A 64-bit number of random magnitude (small numbers are common).
    mutating func magnitude() -> UInt64 { next() >> UInt64(below(64)) }
}

/// Generates fuzz inputs of three kinds: random bytes, token soup and
/// valid traces with one mutation.
struct FuzzInputs {
    var rng: SplitMix64

    static let nameChars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-".utf8)
    static let soupChars = Array("rwx-0123456789abcdefxXKMGQ#=/ \t.:_@\r".utf8)

    // MARK: Kind 1: random bytes

    mutating func randomBytes() -> [UInt8] {
        var out: [UInt8] = rng.chance(50) ? Array(header.utf8) : []
        let length = rng.chance(2) ? rng.below(6000) : rng.below(200)
        for _ in 0..<length {
            switch rng.below(10) {
            case 0...3: out.append(rng.pick(Self.soupChars))
            case 4: out.append(0x0A)
            case 5: out.append(rng.pick([0x20, 0x09, 0x0D, 0x23]))
            default: out.append(UInt8(truncatingIfNeeded: rng.next()))
            }
        }
        return out
    }

    // MARK: Kind 2: token soup

    mutating func number(_ value: UInt64) -> String {
        switch rng.below(4) {
        case 0: "0x" + String(value, radix: 16, uppercase: rng.chance(50))
        case 1: (rng.chance(50) ? "0X" : "0x") + String(value, radix: 16, uppercase: true)
        default: String(value)
        }
    }

    mutating func name(maxLength: Int = 12) -> String {
        let length = rng.chance(3) ? 60 + rng.below(10) : 1 + rng.below(maxLength)
        var bytes = (0..<length).map { _ in rng.pick(Self.nameChars) }
        if rng.chance(3) { bytes[rng.below(length)] = rng.pick(Array("/=@[é$".utf8)) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A name that is always valid: 1 to 64 name characters.
    mutating func vname() -> String {
        let length = rng.chance(3) ? 64 : 1 + rng.below(10)
        return String(decoding: (0..<length).map { _ in rng.pick(Self.nameChars) }, as: UTF8.self)
    }

    mutating func soupArgument() -> String {
        switch rng.below(14) {
        case 0, 1: return String(rng.below(70))
        case 2: return number(rng.magnitude())
        case 3: return number(UInt64(rng.below(0x10_0001)) << 12)
        case 4: return String(rng.magnitude() >> 20) + rng.pick(["K", "M", "G", "k", "Q", "KK", ""])
        case 5: return String((0..<(18 + rng.below(12))).map { _ in Character(String(rng.below(10))) })
        case 6, 7: return name()
        case 8: return String(decoding: (0..<(1 + rng.below(4))).map { _ in rng.pick(Array("rwx-q".utf8)) }, as: UTF8.self)
        case 9: return "shared=" + (rng.chance(80) ? name() : "")
        case 10:
            switch rng.below(3) {
            case 0: return "node=" + (rng.chance(80) ? number(UInt64(rng.below(80))) : rng.pick(["", "x", "1K", "-1"]))
            case 1: return "site=" + (rng.chance(80) ? number(rng.magnitude()) : rng.pick(["", "c10a", "0x", "-1", "0xFFFFFFFFFFFFFFFF"]))
            default: return "alloc=" + (rng.chance(80) ? number(rng.magnitude()) : rng.pick(["", "0", "1K", "2147483649"]))
            }
        case 11: return rng.pick(["0x", "0xK", "-1", "1.5", "K", "0x1000K", "64Q", "0x12g4", "4294967296", "0xFFC00000", "0xC0000000"])
        case 12: return rng.chance(50) ? rng.pick(Event.allKeywords)
            : rng.pick(["movable", "reclaimable", "unmovable", "Movable", "movable ", "movablex", "high_atomic"])
        default:
            return String(decoding: (0..<(1 + rng.below(8))).map { _ in rng.pick(Self.soupChars) }, as: UTF8.self)
        }
    }

    mutating func tokenSoup() -> [UInt8] {
        var text = rng.chance(85) ? header : ""
        let lines = 1 + rng.below(12)
        for i in 0..<lines {
            switch rng.below(20) {
            case 0: break
            case 1: text += "# " + soupArgument()
            default:
                text += rng.chance(90) ? rng.pick(Event.allKeywords) : soupArgument()
                for _ in 0..<rng.below(7) {
                    text += rng.pick([" ", " ", "\t", "  "]) + soupArgument()
                }
                if rng.chance(10) { text += " # " + soupArgument() }
            }
            if i < lines - 1 || rng.chance(70) { text += rng.chance(92) ? "\n" : "\r\n" }
        }
        return Array(text.utf8)
    }

    // MARK: Kind 3: valid statements with one mutation

    mutating func pid() -> String { number(rng.chance(80) ? UInt64(rng.below(20)) : UInt64(rng.below(Int(maxPID) + 1))) }

    mutating func perms() -> String {
        let p = [rng.chance(60) ? "r" : "-", rng.chance(50) ? "w" : "-", rng.chance(30) ? "x" : "-"]
        let s = rng.chance(50) ? p.joined() : p.filter { $0 != "-" }.joined()
        return s.isEmpty ? "-" : s
    }

    /// A size in `1...max` written with a K/M/G suffix when it allows one.
    mutating func size(max: UInt64) -> String {
        if rng.chance(40) {
            let (unit, shift): (String, UInt64) = rng.pick([("K", 10), ("M", 20), ("G", 30)])
            if max >> shift >= 1 { return String(1 + UInt64(rng.below(Int(min(max >> shift, 1 << 20))))) + unit }
        }
        return number(1 + rng.next() % max)
    }

    /// `[site=ADDR] [alloc=BYTES]`, either, both (in either order) or none.
    mutating func callSiteOptions() -> String {
        var options: [String] = []
        if rng.chance(40) { options.append("site=" + number(rng.next() % 0xFFFF_FFFF_FFFF_FFFF)) }
        if rng.chance(40) { options.append("alloc=" + number(1 + UInt64(rng.below(1 << 31)))) }
        if rng.chance(50) { options.reverse() }
        return options.map { " " + $0 }.joined()
    }

    mutating func validStatement() -> String {
        switch rng.below(26) {
        case 0: return rng.chance(50) ? "tick" : "tick " + number(UInt64(rng.below(1 << 30)))
        case 1:
            let n = rng.chance(50) ? " " + number(1 + UInt64(rng.below(1 << 20))) : ""
            return "palloc " + vname() + n + (!n.isEmpty && rng.chance(50) ? " " + rng.pick(MigrateType.allCases).keyword : "")
        case 2: return "pfree " + vname()
        case 3: return "spawn " + pid() + (rng.chance(40) ? " node=" + number(UInt64(rng.below(64))) : "")
        case 4: return "fork " + pid() + " " + pid()
        case 5: return "exit " + pid()
        case 6: return "switch " + pid()
        case 7, 8:
            let start = UInt64(rng.below(0xBFFFF))
            let end = start + 1 + UInt64(rng.below(0xC0000 - Int(start)))
            return "mmap \(pid()) \(number(start << 12)) \(number(end << 12)) \(perms())"
                + (rng.chance(30) ? " shared=" + vname() : "")
        case 9: return "munmap \(pid()) \(number(UInt64(rng.below(0x100000)) << 12))"
        case 10, 11, 12:
            return rng.pick(["r", "w", "x"]) + " \(pid()) \(number(UInt64(UInt32(truncatingIfNeeded: rng.next()))))"
        case 13: return "map \(pid()) \(number(UInt64(rng.below(0xFFC00)) << 12)) \(vname()) \(perms())"
        case 14: return "unmap \(pid()) \(number(UInt64(rng.below(0xFFC00)) << 12))"
        case 15:
            let align = rng.chance(50) ? " " + number(1 << UInt64(rng.below(13))) : ""
            return "cache \(vname()) \(size(max: 4 << 20))" + align + (!align.isEmpty && rng.chance(40) ? rng.pick([" unmovable", " reclaimable"]) : "")
        case 16: return "salloc \(vname()) \(vname())" + callSiteOptions()
        case 17: return "sfree \(vname()) \(vname())"
        case 18: return "kmalloc \(vname()) \(size(max: 1 << 30))" + callSiteOptions()
        case 19: return "kfree " + vname()
        case 20: return "fread \(vname()) \(number(UInt64(UInt32(truncatingIfNeeded: rng.next()))))"
        case 21: return "fwrite \(vname()) \(number(UInt64(rng.below(1000))))"
        case 22: return "fsync " + vname()
        case 23: return "fdrop " + vname()
        case 24: return "# " + vname()
        default: return ""
        }
    }

    /// A valid trace: the header, some directives, then statements.
    mutating func validTrace() -> (text: [UInt8], statements: Int) {
        var lines = [rng.chance(80) ? "memtrace 1" : "memtrace\t1 # v1"]
        var statements = 0
        if rng.chance(30) { lines.append("mem " + rng.pick(["64M", "4G", "0x100000", "4096", "1024K"])); statements += 1 }
        if rng.chance(20) { lines.append("reserve " + rng.pick(["0", "1M", "0x1000"])); statements += 1 }
        if rng.chance(20) { lines.append("nodes \(1 + rng.below(64))"); statements += 1 }
        for _ in 0..<(1 + rng.below(15)) {
            var s = validStatement()
            if !s.isEmpty && !s.hasPrefix("#") { statements += 1 }
            if rng.chance(10) { s += " # note" }
            lines.append(s)
        }
        var text = lines.joined(separator: rng.chance(90) ? "\n" : "\r\n")
        if rng.chance(80) { text += "\n" }
        return (Array(text.utf8), statements)
    }

    mutating func mutate(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        let randomByte: UInt8 = rng.chance(50) ? rng.pick(Self.soupChars + [0x0A, 0x00, 0xFF, 0x7F]) : UInt8(truncatingIfNeeded: rng.next())
        switch rng.below(3) {
        case 0 where !b.isEmpty: b.remove(at: rng.below(b.count))
        case 1: b.insert(randomByte, at: rng.below(b.count + 1))
        default:
            if b.isEmpty { b.append(randomByte) } else {
                let i = rng.below(b.count)
                b[i] = rng.chance(50) ? b[i] ^ UInt8(1 << rng.below(8)) : randomByte
            }
        }
        return b
    }
}

@Suite("Fuzz")
struct FuzzTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["MEMREPLAY_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 20_000
    }

    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["MEMREPLAY_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_1234
    }

    /// Every input either reads to the end or stops with a `TraceError` on a
    /// real line with a message; reading in small chunks gives the same result.
    @Test func readerNeverCrashesAndErrorsAreWellFormed() {
        let count = Self.iterations
        var gen = FuzzInputs(rng: SplitMix64(seed: Self.seed))
        var failures: [String] = []
        var kinds = [0, 0, 0]
        var errors = 0
        var invalidValidTraces = 0
        let clock = ContinuousClock()
        let started = clock.now

        for i in 0..<count {
            let kind = i % 3
            kinds[kind] += 1
            let input: [UInt8]
            switch kind {
            case 0: input = gen.randomBytes()
            case 1: input = gen.tokenSoup()
            default:
                let (valid, statements) = gen.validTrace()
                // The unmutated trace must read without error, one event per statement.
                let o = outcome(bytes: valid, batches: false)
                if o.error != nil || o.events.count != statements {
                    invalidValidTraces += 1
                    if failures.count < 10 {
                        failures.append("valid trace #\(i) did not read: \(o.error.map(String.init(describing:)) ?? "\(o.events.count) of \(statements) events") in \(String(decoding: valid, as: UTF8.self).debugDescription)")
                    }
                }
                input = gen.mutate(valid)
            }

            let whole = outcome(bytes: input, path: "fuzz")
            let chunk = gen.rng.pick([1, 2, 3, 5, 16, 64, 4095])
            let chunked = outcome(bytes: input, chunk: chunk, path: "fuzz", batches: false)
            var problem: String? = nil
            if let e = whole.error {
                errors += 1
                let lines = lineCount(input)
                if e.line < 1 || e.line > lines + 1 { problem = "line \(e.line) outside 1...\(lines + 1)" }
                else if e.message.isEmpty { problem = "empty message" }
                else if e.file != "fuzz" { problem = "file \(e.file)" }
            }
            if problem == nil && whole.events != chunked.events { problem = "chunk \(chunk) gives other events" }
            if problem == nil && whole.error?.line != chunked.error?.line { problem = "chunk \(chunk) gives another error line" }
            if problem == nil && whole.error?.message != chunked.error?.message
                && !(whole.error?.message.hasPrefix("line too long") == true && chunked.error?.message.hasPrefix("line too long") == true) {
                problem = "chunk \(chunk) gives another message: \(chunked.error?.message ?? "none")"
            }
            if let problem, failures.count < 10 {
                failures.append("input #\(i) (kind \(kind)): \(problem); error \(whole.error.map(String.init(describing:)) ?? "none"); input \(String(decoding: input, as: UTF8.self).debugDescription)")
            }
            if problem != nil && failures.count >= 10 { break }
        }

        let elapsed = clock.now - started
        print("fuzz: \(count) inputs (seed \(Self.seed); \(kinds[0]) random bytes, \(kinds[1]) token soup, \(kinds[2]) mutated valid), \(errors) stopped with a TraceError, \(count - errors) read to the end, in \(elapsed)")
        for f in failures { Issue.record(Comment(rawValue: f)) }
        #expect(invalidValidTraces == 0)
        // The three kinds exercise both outcomes.
        #expect(errors > 0 || count < 30)
        #expect(errors < count || count < 30)
    }

    @Test func generatorIsDeterministic() {
        var a = FuzzInputs(rng: SplitMix64(seed: 42))
        var b = FuzzInputs(rng: SplitMix64(seed: 42))
        for _ in 0..<50 {
            #expect(a.randomBytes() == b.randomBytes())
            #expect(a.tokenSoup() == b.tokenSoup())
            #expect(a.validTrace().text == b.validTrace().text)
        }
        var r = SplitMix64(seed: 0)
        // Reference values of SplitMix64 seeded with 0.
        #expect(r.next() == 0xE220_A839_7B1D_CDAF)
        #expect(r.next() == 0x6E78_9E6A_A1B9_65F4)
    }
}
