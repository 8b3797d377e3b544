import Foundation
import LoopData
import LoopDiagnostics
import LoopStore

/// Runs a task engine's control side for a server: one thread does every step (on a timer, or
/// early when a batch of samples is waiting) and every operator command, so the control state is
/// touched by one thread at a time. Requests never wait for it (`ControlThread`; its priority
/// can be lowered with `LOOPAI_CONTROL_NICE`).
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
        queue = ControlThread(name: "loopai.control.\(engine.settings.task.name)")
        status = Locked(engine.state)
        recent = Locked(RecentRequests(capacity: recentCapacity))
        // The improver worker: generation, checks and tests run on their own thread; the result is
        // recorded on the control thread, which validates and commits meanwhile.
        let (q, stopped, status, ref) = (queue, self.stopped, self.status, WeakRef(engine))
        engine.improveAsync = { work, apply in
            // The improver's generation and fits on a thread of their own, as low as the control's.
            Thread.detachNewThread {
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
        if case .success(let a) = s.result { recent.withLock { $0.add(key.text, input: input, answer: a) } }
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
        if first { queue.async { [weak self] in self?.kicked.withLock { $0 = false }; self?.stepNow() } }
    }

    /// Answers many requests (see `TaskEngine.serveBatch`).
    public func serveBatch(_ requests: [(key: RequestKey, input: JSON, record: JSON)]) -> [Served] {
        let served = engine.serveBatch(requests)
        recent.withLock { rr in
            for (r, s) in zip(requests, served) { if case .success(let a) = s.result { rr.add(r.key.text, input: r.input, answer: a) } }
        }
        if served.contains(where: \.sampled) { stepEarlyIfABatchWaits() }
        return served
    }

    private func stepNow() {
        guard !stopped.current else { return }
        do {
            try engine.step()
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

/// The last N requests by id (a ring: the oldest is forgotten first), keyed by the id's 64-bit
/// hash so that keeping one costs no string hashing or copying.
struct RecentRequests {
    let capacity: Int
    /// The entries, oldest overwritten first; `index` finds an id's entry by the id's hash.
    private var ring: [(hash: UInt64, id: String, input: JSON, answer: Answer)?]
    private var next = 0
    private var index: [UInt64: Int32] = [:]

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        ring = Array(repeating: nil, count: max(capacity, 1))
        index.reserveCapacity(max(capacity, 1))
    }

    mutating func add(_ id: String, input: JSON, answer: Answer) {
        let h = StableHash.fnv1a64(id.utf8)
        if let at = index[h] {   // the same id again: its latest answer replaces the earlier one
            ring[Int(at)] = (h, id, input, answer)
            return
        }
        if let old = ring[next], index[old.hash] == Int32(next) { index[old.hash] = nil }
        ring[next] = (h, id, input, answer)
        index[h] = Int32(next)
        next = (next + 1) % capacity
    }

    func get(_ id: String) -> (input: JSON, answer: Answer)? {
        guard let at = index[StableHash.fnv1a64(id.utf8)], let e = ring[Int(at)], e.id == id else { return nil }
        return (e.input, e.answer)
    }
}
