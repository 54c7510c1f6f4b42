import Testing
@testable import MemModel
import MemTrace

/// The replay loop takes events a batch at a time; errors must still come
/// in trace order, and names still be those the failing statement used.
@Suite struct BatchTests {
    /// Line 3 breaks a model rule, line 4 is not a statement: the reader
    /// decodes line 4 before the model applies line 3, but the replay
    /// reports line 3.
    @Test func aModelErrorBeforeASyntaxErrorInTheSameBatchComesFirst() {
        let e = scriptError(StackAllocator.self, config(), "spawn 1\nkfree o\nbogus 1\n")
        #expect(e?.line == 3)
        #expect(e?.message == "kfree: object o was never allocated (or is already freed)")
        let syntax = scriptError(StackAllocator.self, config(), "spawn 1\nr 1 0x1000\nbogus 1\n")
        #expect(syntax?.line == 4)
        #expect(syntax?.message == "unknown statement 'bogus'")
    }

    /// `pfree` releases its handle's name; the next `palloc` may reuse the
    /// id. A failing `pfree` later in the trace must still name its own handle.
    @Test func aReleasedNameIsNotReusedBeforeItsStatementIsApplied() {
        let e = scriptError(StackAllocator.self, config(), "palloc a 1\npfree a\npalloc b 1\npfree c\n")
        #expect(e?.line == 5)
        #expect(e?.message.contains("handle c") == true)
        let twice = scriptError(StackAllocator.self, config(), "palloc a 1\npfree a\npfree a\n")
        #expect(twice?.line == 4)
        #expect(twice?.message.contains(" a ") == true)
    }
}
