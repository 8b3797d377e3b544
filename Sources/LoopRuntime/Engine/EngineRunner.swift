import Foundation
import LoopData
import LoopDiagnostics
import LoopStore

/// Runs a task engine's control side for a server: one thread does every step (on a timer, or
/// early when a batch of samples is waiting) and every operator command, so the control state is
/// touched by one thread at a time. Requests never wait for it (`ControlThread`, at nice 10 by
/// default; `LOOPAI_CONTROL_NICE` sets another value).
public final class EngineRunner: @unchecked Sendable {
    public let engine: TaskEngine
    let queue: ControlThread
    let interval: Double
    private let stopped = Locked(false)
    private let kicked = Locked(false)
    /// What readers outside the control thread see: a copy of the state after the latest step.
    public let status: Locked<DriverState>
    /// Steps that failed (store errors); the samples they held are counted as unvalidated.
    public let stepFailures = Locked(0)
    /// Called with one line per event or failure.
    public var log: ((String) -> Void)?
    /// How long a shutdown keeps validating what is queued.
    public var drainSeconds = 30.0
    /// Recent requests by id, for feedback that names a request instead of repeating its input.
    let recent: Locked<RecentRequests>

    public init(engine: TaskEngine, commitInterval: Double = 0.25, recentCapacity: Int = 65_536) {
        self.engine = engine
        self.interval = max(commitInterval, 0.01)
        queue = ControlThread(name: "ctl \(engine.settings.task.name)")
        status = Locked(engine.state)
        recent = Locked(RecentRequests(capacity: recentCapacity))
        // The improver worker: generation, checks and tests run on their own thread; the result is
        // recorded on the control thread, which validates and commits meanwhile.
        let (q, stopped, status, ref) = (queue, self.stopped, self.status, WeakRef(engine))
        let improverName = "imp \(engine.settings.task.name)"
        engine.improveAsync = { work, apply in
            // The improver's generation and fits on a thread of their own, as low as the control's.
            Thread.detachNewThread {
                ControlThread.nameThisThread(improverName)
                ControlThread.lowerThisThreadsPriority()
                let r = work()
                q.async {
                    guard let e = ref.object, !stopped.current else { return }
                    apply(r)
                    status.withLock { $0 = e.state }
                }
            }
        }
    }

    /// Starts the periodic steps, and an early step whenever another replica records a rollout
    /// step of the task (a follower switches without waiting for its timer).
    public func start() {
        engine.store.watchVersions { [weak self] in self?.stepSoon() }
        queue.every(interval) { [weak self] in self?.stepNow() }
    }

    /// Answers one request (see `TaskEngine.serve`) and wakes the control side early when a
    /// whole batch of samples is waiting.
    public func serve(_ key: RequestKey, input: JSON, record: JSON) -> Served {
        let s = engine.serve(key, input: input, record: record)
        if case .success(let a) = s.result {
            let (h, e) = RecentRequests.entry(key.text, input: input, answer: a)
            let released = recent.withLock { $0.put(h, e) }
            _ = released
        }
        if s.sampled { stepEarlyIfABatchWaits() }
        return s
    }

    /// Starts a step before the timer when a whole batch of samples waits (once until it runs).
    private func stepEarlyIfABatchWaits() {
        guard engine.queued >= engine.settings.batchSize else { return }
        stepSoon()
    }

    /// Runs a step as soon as the control queue is free (once, however often it is asked before).
    func stepSoon() {
        let first = kicked.withLock { k -> Bool in defer { k = true }; return !k }
        if first { queue.async { [weak self] in self?.kicked.withLock { $0 = false }; self?.stepNow(mayDefer: true) } }
    }

    /// Answers many requests (see `TaskEngine.serveBatch`).
    public func serveBatch(_ requests: [(key: RequestKey, input: JSON, record: JSON)]) -> [Served] {
        let served = engine.serveBatch(requests)
        var items: [(UInt64, RecentRequests.Entry)] = []
        for (r, s) in zip(requests, served) { if case .success(let a) = s.result { items.append(RecentRequests.entry(r.key.text, input: r.input, answer: a)) } }
        var released: [RecentRequests.Entry] = []
        released.reserveCapacity(items.count)
        recent.withLock { $0.add(items, released: &released) }
        if served.contains(where: \.sampled) { stepEarlyIfABatchWaits() }
        return served
    }

    /// `serveBatch` for a batch read from one body's spans (`TaskEngine.serveSpans`); nil when a
    /// version does not read the batch's fields as text.
    public func serveSpans(_ batch: SpanBatch) -> SpanServed? {
        guard let served = engine.serveSpans(batch) else { return nil }
        // A body much larger than its inputs' texts (other fields) is not kept whole; the copy
        // is made before the cache's lock is taken. (A single request's body is not kept.)
        let kept = batch.count > 1 && batch.body.count > 2 * batch.spanBytes + 64 * batch.count ? batch.compacted() : batch
        // The entries are made, and the ones they evict released, outside the lock.
        if batch.count == 1 {
            let (h, e) = RecentRequests.single(batch, served)
            let released = recent.withLock { $0.put(h, e) }
            _ = released
        } else {
            let items = RecentRequests.entries(kept, served)
            var released: [RecentRequests.Entry] = []
            released.reserveCapacity(items.count)
            recent.withLock { $0.add(items, released: &released) }
        }
        if served.anySampled { stepEarlyIfABatchWaits() }
        return served
    }

    /// A control step; an early one (`mayDefer`) leaves its rows for the timer's next commit
    /// when the last commit is younger than the commit interval.
    private func stepNow(mayDefer: Bool = false) {
        guard !stopped.current else { return }
        do {
            try engine.step(mayDefer: mayDefer)
        } catch {
            stepFailures.withLock { $0 += 1 }
            log?("the control step failed: \(error)")
        }
        status.withLock { $0 = engine.state }
    }

    /// Runs `body` on the control thread (operator commands) and returns its result, without
    /// blocking the caller's thread (an HTTP event loop must not wait for a control step that
    /// may be waiting for the oracle).
    public func perform<T: Sendable>(_ body: @escaping @Sendable (TaskEngine) throws -> T) async throws -> T {
        let (queue, engine, status) = (self.queue, UncheckedBox(self.engine), self.status)
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            queue.async {
                do {
                    let r = try body(engine.value)
                    status.withLock { $0 = engine.value.state }
                    c.resume(returning: r)
                } catch { c.resume(throwing: error) }
            }
        }
    }

    /// Stops the timer, validates and commits what is queued. Requests that arrive afterwards
    /// are still answered but their samples are not validated.
    public func stop() {
        queue.cancelTimer()
        // The drain runs on the control queue's thread, not the caller's: `queue.sync` would run
        // it here, and a server stops from an event loop, where a PostgreSQL store must not wait.
        let done = DispatchSemaphore(value: 0)
        queue.async { [self] in
            defer { done.signal() }
            guard !stopped.current else { return }
            // Everything queued is validated (a step takes a bounded share), for at most `drainSeconds`;
            // what is left then is counted as unvalidated.
            let deadline = Date().addingTimeInterval(drainSeconds)
            repeat {
                do { try engine.step() } catch { log?("the last control step failed: \(error)"); break }
            } while engine.queued > 0 && Date() < deadline
            let left = engine.abandonQueued()
            if left > 0 {
                log?("\(left) queued sample(s) were not validated before the shutdown deadline")
                do { try engine.step() } catch { log?("the last control step failed: \(error)") }
            }
            do { try engine.flush() } catch { log?("the last commit failed: \(error)") }
            // Another replica takes the task over at its next step, without waiting for the lease to run out.
            engine.releaseLeadership()
            engine.store.shutdown()
            stopped.withLock { $0 = true }
            status.withLock { $0 = engine.state }
        }
        done.wait()
    }

    deinit { queue.finish() }

    /// Input and answer of a recent request.
    public func recentRequest(_ id: String) -> (input: JSON, answer: Answer)? { recent.withLock { $0.get(id) } }
}

/// A weak reference that can cross threads (the engine outlives none of its closures' uses).
final class WeakRef<T: AnyObject>: @unchecked Sendable {
    weak var object: T?
    init(_ o: T) { object = o }
}

/// The last N requests by id (a ring: the oldest is forgotten first), found by the id's 64-bit
/// hash in an open-addressing table, so that keeping one costs no string hashing or copying; a
/// batch read from spans is kept once, its inputs pointing into it (their values are built
/// only when feedback looks one up).
struct RecentRequests {
    let capacity: Int
    enum Entry {
        case one(RecentOne)
        case batch(RecentBatch, Int)
    }
    final class RecentOne {
        let id: String, input: JSON, answer: Answer
        init(_ id: String, _ input: JSON, _ answer: Answer) { self.id = id; self.input = input; self.answer = answer }
    }
    final class RecentBatch {
        let batch: SpanBatch, served: SpanServed
        init(_ b: SpanBatch, _ s: SpanServed) { batch = b; served = s }
    }
    /// Per ring slot: the id's hash and the entry (oldest overwritten first).
    private var hashes: [UInt64]
    private var entries: [Entry?]
    private var next = 0
    /// Linear probing over ring slots (-1: empty), at most half full.
    private var table: [Int32]
    private let mask: Int
    /// Where a hash's probe starts: the high bits of (hash ^ seed) × an odd constant, with a
    /// seed per process, so that ids chosen to share a start cannot be found offline.
    private let seed = UInt64.random(in: 0...UInt64.max)
    private let shift: UInt64
    private func home(_ h: UInt64) -> Int { Int(truncatingIfNeeded: ((h ^ seed) &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        hashes = Array(repeating: 0, count: self.capacity)
        entries = Array(repeating: nil, count: self.capacity)
        var size = 8
        while size < 2 * self.capacity { size *= 2 }
        table = Array(repeating: -1, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    /// An entry as the cache keeps it, made before its lock is taken (making one allocates).
    static func entry(_ id: String, input: JSON, answer: Answer) -> (UInt64, Entry) {
        (StableHash.fnv1a64(id.utf8), .one(RecentOne(id, input, answer)))
    }

    /// The entries of a batch answered from spans. A batch of one (a single request) is kept as
    /// its id, input and answer: its body's arrays are then freed with the request, while the
    /// cache is still warm, rather than when the entry is evicted.
    static func entries(_ batch: SpanBatch, _ served: SpanServed) -> [(UInt64, Entry)] {
        if batch.count == 1 { return [single(batch, served)] }
        let kept = RecentBatch(batch, served)
        return (0..<batch.count).map { (batch.idHash($0), .batch(kept, $0)) }
    }

    static func single(_ batch: SpanBatch, _ served: SpanServed) -> (UInt64, Entry) {
        (batch.idHash(0), .one(RecentOne(batch.idText(0), batch.input(0), served.answer(0))))
    }

    /// Keeps a request (without a lock: tests, and callers that own the cache).
    mutating func add(_ id: String, input: JSON, answer: Answer) {
        let (h, e) = Self.entry(id, input: input, answer: answer)
        _ = put(h, e)
    }

    /// Keeps a batch answered from spans (without a lock).
    mutating func add(_ batch: SpanBatch, _ served: SpanServed) {
        var released: [Entry] = []
        add(Self.entries(batch, served), released: &released)
    }

    /// Keeps entries; returns the ones they replace or evict, for the caller to release after
    /// the lock (freeing memory another thread allocated may wait for that thread's arena).
    mutating func add(_ items: [(UInt64, Entry)], released: inout [Entry]) {
        for (h, e) in items { if let old = put(h, e) { released.append(old) } }
    }

    func get(_ id: String) -> (input: JSON, answer: Answer)? {
        guard let (_, at) = find(StableHash.fnv1a64(id.utf8)), let e = entries[at] else { return nil }
        switch e {
        case .one(let o): return o.id == id ? (o.input, o.answer) : nil
        case .batch(let b, let k): return b.batch.idText(k) == id ? (b.batch.input(k), b.served.answer(k)) : nil
        }
    }

    /// The table position and ring slot of hash `h`.
    private func find(_ h: UInt64) -> (Int, Int)? {
        var p = home(h)
        while true {
            let slot = table[p]
            if slot < 0 { return nil }
            if hashes[Int(slot)] == h { return (p, Int(slot)) }
            p = (p + 1) & mask
        }
    }

    /// Keeps one entry; returns the entry it replaces or evicts.
    mutating func put(_ h: UInt64, _ e: Entry) -> Entry? {
        if let (_, at) = find(h) {   // the same id again: its latest answer replaces the earlier one
            defer { entries[at] = e }
            return entries[at]
        }
        let evicted = entries[next]
        if evicted != nil { remove(hashes[next]) }
        hashes[next] = h
        entries[next] = e
        var p = home(h)
        while table[p] >= 0 { p = (p + 1) & mask }
        table[p] = Int32(next)
        next = (next + 1) % capacity
        return evicted
    }

    /// Takes `h` out of the table, moving later entries of its probe run back (no tombstones).
    private mutating func remove(_ h: UInt64) {
        guard var (i, _) = find(h) else { return }
        var j = i
        while true {
            j = (j + 1) & mask
            let slot = table[j]
            if slot < 0 { break }
            let start = home(hashes[Int(slot)])
            // The entry at j may fill the hole at i unless its start lies cyclically in (i, j].
            let between = i <= j ? (start > i && start <= j) : (start > i || start <= j)
            if !between { table[i] = slot; i = j }
        }
        table[i] = -1
    }
}
