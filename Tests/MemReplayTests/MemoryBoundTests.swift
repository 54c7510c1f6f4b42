import Foundation
import Testing
import TestSupport

/// The replay's own memory grows with the live state it models, not with a
/// fixed 4 KiB per page table: measured on the `memreplay` binary's peak RSS.
@Suite struct MemoryBoundTests {
    /// PID 1 with a text, heap and stack page (three page tables), then
    /// `children` forks of it that all stay alive, each reading its heap.
    static func forkTrace(children: Int) -> String {
        var t = """
            memtrace 1
            mem 512M
            spawn 1
            mmap 1 0x08048000 0x08148000 rx
            mmap 1 0x10000000 0x11000000 rw
            mmap 1 0xBF000000 0xBF100000 rw
            x 1 0x08048000
            w 1 0x10000000
            w 1 0xBF0FF000

            """
        for c in 2..<children + 2 { t += "fork 1 \(c)\nr \(c) 0x10000000\n" }
        return t
    }

    /// Peak RSS in KiB of a replay of `trace`, from the summary it prints.
    static func peakRSSKiB(_ trace: String) throws -> Int {
        let path = writeTrace(trace)
        let r = try CommandLineTests.run(["replay", "--db", path + ".db", path])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("OOM 0"))
        let mib = r.out.split(separator: "\n").first { $0.contains("peak RSS") }?
            .split(separator: " ").dropFirst(2).first.flatMap { Double($0) }
        return Int(try #require(mib) * 1024)
    }

    /// Each forked child holds a directory and three tables, one present
    /// entry each: 1,408 bytes of table memory (four 128-byte maps, seven
    /// 128-byte chunks) where 4 KiB frames took 16 KiB. With the process
    /// record and array growth, about 2 KiB per process is measured (debug
    /// or release); the bound leaves room for allocator noise and fails at
    /// the 16 KiB a dense table per frame costs.
    @Test func forkHeavyReplayCostsAFewKiBPerLiveProcess() throws {
        let few = try Self.peakRSSKiB(Self.forkTrace(children: 2_000))
        let many = try Self.peakRSSKiB(Self.forkTrace(children: 20_000))
        let perProcess = Double(many - few) * 1024 / 18_000
        #expect(perProcess < 6 * 1024, "peak RSS \(few) KiB for 2,000 processes, \(many) KiB for 20,000: \(Int(perProcess)) bytes per process")
    }
}
