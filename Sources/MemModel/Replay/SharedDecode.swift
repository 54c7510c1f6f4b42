import MemTrace

#if canImport(Glibc)
import Glibc
#endif

/// One decode of a trace feeding several replays: `compare` runs every
/// variant on its own thread, all reading the batches one decoder thread
/// fills, so a trace is read and parsed once however many variants replay it.
///
/// The batches go round a ring of `depth` ``EventBatch``es. The decoder
/// fills batch `n` in slot `n % depth` once every variant still replaying
/// has moved past batch `n - depth`; a variant waits for batch `n` until the
/// decoder has published it. Memory is the ring (`depth` batches of
/// ``batchCapacity`` events, 512 KiB each), whatever the trace's length;
/// the slowest variant sets the pace, and the decoder is never more than
/// `depth` batches ahead of it.
///
/// The depth (``defaultDepth(variants:)``) is 8 batches for one replay and
/// 16 per variant, up to 64, for several: variants that share cores run
/// in turns of the scheduler's time slice, and a shallow ring made the ones
/// that had run ahead wait for the one that had not (`compare` of 4
/// variants of a 16 M-event text trace: 1.62× one replay's time with 8
/// batches, 1.50× with 32, 1.42× with 64).
///
/// Every variant sees exactly the events, lines and reader errors a reader
/// of its own would give it (the reader defers an error until the batches
/// before it are out; the decode publishes it after them), so its rows are
/// those of a replay on its own — with one exception that the caller
/// repairs: a model error cannot be worded here, because the reader's name
/// tables have moved on (a released name's id may already name another
/// symbol). It comes back as ``UnnamedModelError``, and ``word(_:)`` reads
/// the trace again up to that line for the names the statement used.
public final class SharedDecode: @unchecked Sendable {
    public let path: String
    /// The trace's machine directives, read once for every variant.
    public let directives: Replayer.Directives
    private let reader: TraceReader
    private let ring: [EventBatch]
    private let depth: Int
    private let monitor = Monitor()
    // Guarded by `monitor`:
    /// Who sleeps on `monitor`: the decoder (waiting for a free slot) and
    /// how many variants (waiting for a batch), so that a handoff wakes
    /// only a thread that waits for it.
    private var decoderWaits = false
    private var variantsWaiting = 0
    /// Batches published so far.
    private var published = 0
    /// Per variant, the first batch it may still read; `Int.max` once it
    /// has stopped.
    private var position: [Int]
    /// No more batches: the end of the trace, or `failure`.
    private var finished = false
    private var failure: TraceError? = nil
    /// Names of the caches declared so far (caches are never released).
    private var cacheNames: [Symbol: String] = [:]

    /// Opens the shared decode of `reader` for `variants` replays and reads
    /// the directives (a reader error there is thrown: no variant can start).
    /// Events per batch: larger than a reader's own (fewer handoffs
    /// between threads; 512 KiB a batch).
    public static let batchCapacity = 16_384
    /// Batches the decoder publishes between wake-ups of sleeping variants
    /// (and before it sleeps itself, or at the end).
    static let wakeEvery = 4

    /// How often a waiting thread yields its core before it sleeps (each
    /// yield about a microsecond: a few hundred microseconds in all, the
    /// time the decoder takes for a batch of text) when every thread has a
    /// core of its own; none when they share cores (compare's variants),
    /// where a yielding thread would take turns from those with work.
    private let yieldsBeforeSleep: Int

    /// The ring's depth for `variants` replays (see the type's comment).
    public static func defaultDepth(variants: Int) -> Int { variants == 1 ? 8 : min(64, 16 * variants) }

    public init(reader: TraceReader, variants: Int, depth: Int? = nil) throws(TraceError) {
        let depth = depth ?? Self.defaultDepth(variants: variants)
        precondition(variants > 0 && depth > 1)
        path = reader.path
        self.reader = reader
        // Model errors are worded by reading the trace again (word(_:)), so
        // a batch need not end where a name is released.
        reader.batchesEndAtReleases = false
        self.depth = depth
        ring = (0..<depth).map { _ in EventBatch(capacity: Self.batchCapacity) }
        position = Array(repeating: 0, count: variants)
        yieldsBeforeSleep = variants + 1 <= sysconf(Int32(_SC_NPROCESSORS_ONLN)) ? 512 : 0
        directives = try Replayer.readDirectives(reader)
        // The statement after the directives is read with them, outside any
        // batch the decoder scans for names.
        if case .cache(let symbol, _, _, _)? = directives.first?.0 {
            cacheNames[symbol] = reader.symbols.name(.cache, symbol)
        }
    }

    /// The source variant `index` replays from.
    public func consumer(_ index: Int) -> Consumer { Consumer(self, index) }

    /// Decodes the trace to its end, or until every variant has stopped;
    /// run it on a thread of its own.
    public func decode() {
        var n = 0
        while true {
            monitor.lock()
            var spins = 0
            while position.min()! <= n - depth {
                // Variants may sleep on batches not yet announced.
                if variantsWaiting > 0 { monitor.broadcast(.variants) }
                // Ahead of the slowest variant by the whole ring: yield a
                // while before sleeping, as a waiting variant does (see
                // batch(_:for:)).
                if monitor.yielded(&spins, limit: yieldsBeforeSleep) { continue }
                decoderWaits = true
                monitor.wait(.decoder)
                decoderWaits = false
            }
            let stop = position.allSatisfy { $0 == Int.max }
            monitor.unlock()
            if stop { return }
            let batch = ring[n % depth]
            var error: TraceError? = nil
            do {
                try reader.nextBatch(batch)
            } catch let e {
                error = e
                batch.count = 0
            }
            var names: [Symbol: String] = [:]
            for e in UnsafeBufferPointer(start: batch.events, count: batch.count) {
                if case .cache(let symbol, _, _, _) = e { names[symbol] = reader.symbols.name(.cache, symbol) }
            }
            monitor.lock()
            cacheNames.merge(names) { a, _ in a }
            if batch.count > 0 { published = n + 1 }
            if let error {
                failure = error
                finished = true
            } else if batch.count == 0 {
                finished = true
            }
            let done = finished
            // Sleeping variants are woken every `wakeEvery` batches, not at
            // each: a woken variant then finds several to replay before it
            // sleeps again (4 variants of a 16 M-event text trace made 15.8 k
            // futex calls when each batch woke them all).
            if variantsWaiting > 0 && (done || n % Self.wakeEvery == Self.wakeEvery - 1) { monitor.broadcast(.variants) }
            monitor.unlock()
            if done { return }
            n += 1
        }
    }

    /// Batch `n` for variant `index`, `nil` at the end; releases the
    /// batches before `n`.
    fileprivate func batch(_ n: Int, for index: Int) throws(TraceError) -> EventBatch? {
        monitor.lock()
        defer { monitor.unlock() }
        // The slot of the batch just released is the one the decoder may wait for.
        let freesAWaitedSlot = position[index] == position.min()!
        position[index] = n
        if decoderWaits && freesAWaitedSlot { monitor.broadcast(.decoder) }
        var spins = 0
        while published <= n && !finished {
            // A model faster than the decoder waits for nearly every batch.
            // Sleeping on the condition then lets the scheduler wake it on
            // the decoder's core, and the two share one core from then on
            // (full replays of a text trace ran at either about 62 or about
            // 93 M events/s, run to run); yielding for a while first keeps
            // each on its own core. Only when every thread has a core
            // (`yieldsBeforeSleep`).
            if monitor.yielded(&spins, limit: yieldsBeforeSleep) { continue }
            variantsWaiting += 1
            monitor.wait(.variants)
            variantsWaiting -= 1
        }
        if published > n { return ring[n % depth] }
        if let failure { throw failure }
        return nil
    }

    fileprivate func stop(_ index: Int) {
        monitor.lock()
        position[index] = Int.max
        monitor.broadcast(.decoder)
        monitor.unlock()
    }

    fileprivate func cacheName(_ symbol: Symbol) -> String {
        monitor.lock()
        defer { monitor.unlock() }
        return cacheNames[symbol] ?? "?"
    }

    /// The `FILE:LINE: message` of a model error met under a shared decode,
    /// worded as a replay of its own words it: the trace read again (no
    /// model) up to the statement at `error.line`, whose names then still
    /// stand (a reader releases a statement's names only when it reads the
    /// next one).
    /// A trace that is not a regular file (a FIFO) cannot be read again:
    /// its symbols are then given by their ids.
    public func word(_ error: UnnamedModelError) -> TraceError {
        var st = stat()
        guard stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG else {
            return TraceError(file: path, line: error.line, message: error.error.rendered(SymbolTables()))
        }
        do {
            let again = try TraceReader(path: path)
            while again.line < error.line, try again.next() != nil {}
            return TraceError(file: path, line: error.line, message: error.error.rendered(again.symbols))
        } catch {
            return error
        }
    }

    /// One variant's view of the decode: the batches in order.
    /// Sendable: handed to the variant's thread, then used by it alone.
    public final class Consumer: EventSource, @unchecked Sendable {
        public let shared: SharedDecode
        let index: Int
        private var next = 0
        private let empty = EventBatch(capacity: 1)

        init(_ shared: SharedDecode, _ index: Int) {
            self.shared = shared
            self.index = index
        }

        /// Lets the decoder go on without this variant (it has ended, or
        /// stopped on an error); again on `deinit`, in case.
        public func stop() { shared.stop(index) }

        deinit { shared.stop(index) }

        public var path: String { shared.path }

        public func fill(_ batch: EventBatch) throws(TraceError) -> EventBatch {
            guard let b = try shared.batch(next, for: index) else { return empty }
            next += 1
            return b
        }

        public func cacheName(_ symbol: Symbol) -> String { shared.cacheName(symbol) }

        public func render(_ error: ModelError) -> String? { nil }
    }
}

/// A mutex and two condition variables, one for the decoder and one for the
/// variants (used per batch, never per event).
private final class Monitor: @unchecked Sendable {
    enum Sleeper: Int { case decoder = 0, variants = 1 }
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let conditions = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 2)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(conditions, nil)
        pthread_cond_init(conditions + 1, nil)
    }

    deinit {
        pthread_cond_destroy(conditions)
        pthread_cond_destroy(conditions + 1)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        conditions.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func wait(_ who: Sleeper) { pthread_cond_wait(conditions + who.rawValue, mutex) }
    func broadcast(_ who: Sleeper) { pthread_cond_broadcast(conditions + who.rawValue) }

    /// Held, before a wait: while `spins` is below `limit`, counts one,
    /// yields the core with the mutex released and says so (the caller
    /// tests its condition again); then `false`, and the caller sleeps.
    func yielded(_ spins: inout Int, limit: Int) -> Bool {
        guard spins < limit else { return false }
        spins += 1
        unlock()
        sched_yield()
        lock()
        return true
    }
}
