import Foundation
import LoopData
import LoopGenerate
import LoopInterpreter
import LoopLLM
import LoopSema
import LoopStore
import LoopTask

/// How one task's engine is set up (for a replay of a file, or for `loopai serve`).
public struct LoopSettings {
    public var task: TaskSpec
    /// Where the requests come from: the replayed stream's path, or `serve` for live traffic.
    /// A run resumes only from the same source.
    public var streamPath: String
    /// The oracle and, for cost accounting, the prices of the LLM it is or stands in for.
    public var oracle: Oracle
    public var oraclePricing: Pricing?
    /// The oracle client's ledger (LLM oracle), for tokens and cost per call.
    public var oracleClient: LLMClient?
    public var generator: ProgramGenerator
    /// Examples for the first program (the task's examples and data).
    public var seedExamples: [TaskExample]
    /// Start from this program instead of generating one (when the store has no active version).
    public var initialProgram: String?
    /// The key of the true label in stream records, for accuracy (nil: unknown).
    public var labelKey: String?
    /// Inputs per committed batch (a replay commits every `batchSize` requests; a server commits
    /// when this many samples are waiting, or every commit interval).
    public var batchSize = 100
    public var seed: UInt64 = 1
    /// Stop after this many requests in this process (for tests and demos); nil = the whole stream.
    public var maxRequests: Int?
    /// Validations needed (in the task's window) before the agreement triggers act.
    public var minValidations = LoopSettings.defaultMinValidations
    public static let defaultMinValidations = 30
    /// Samples waiting for validation, at most; beyond it they are dropped and counted.
    public var queueCapacity = 10_000
    /// Samples one control step validates, at most (nil: all that wait, as a replay does).
    public var maxSamplesPerStep: Int?
    /// A server's steps commit at most this often (seconds) unless a decision waits; the rows
    /// of the steps between wait in memory, as when the store is out of reach, and a kill loses
    /// at most that interval's samples. nil: every step commits (the replay).
    public var minCommitSeconds: Double?
    /// This process's name among replicas sharing the store (nil: the only process). Replicas
    /// all serve, sample and validate; the one holding the task's lease also decides.
    public var replica: String?
    /// How long a leader's lease lasts without renewal (renewed every step).
    public var leaseSeconds = 5.0
    /// Where escalation tickets are written (Markdown and JSON).
    public var escalationDirectory: String
    public var webhook: String?
    public var webhookHTTP = HTTPClient.Configuration()

    public init(task: TaskSpec, streamPath: String, oracle: Oracle, oraclePricing: Pricing?, oracleClient: LLMClient?,
                generator: ProgramGenerator, seedExamples: [TaskExample], escalationDirectory: String) {
        self.task = task; self.streamPath = streamPath; self.oracle = oracle; self.oraclePricing = oraclePricing
        self.oracleClient = oracleClient; self.generator = generator; self.seedExamples = seedExamples
        self.escalationDirectory = escalationDirectory
        self.webhook = task.improvement.webhook
    }
}

public enum LoopError: Error, CustomStringConvertible {
    case stream(String)
    case resume(String)
    case firstProgram(String)
    case conflict(String)
    public var description: String {
        switch self {
        case .stream(let m): return "stream: \(m)"
        case .resume(let m): return "cannot resume: \(m)"
        case .firstProgram(let m): return "no first program: \(m)"
        case .conflict(let m): return m
        }
    }
}

/// One sampled (or shadow-disagreeing) request on its way to validation.
struct Sample {
    var seq: Int
    var requestId: String
    var input: JSON
    /// The whole request record (a labels oracle reads its label field from it).
    var record: JSON
    var answer: Answer
    /// The inclusion probability: the sampler's, times the share of samples the queue kept.
    var probability: Double
    var sampled: Bool
    var context: SampleContext
    var other: Answer?
    var servedByCandidate: Bool
}

/// What the request path changes on every request, behind one short lock. The control side
/// copies it into `DriverState` before it decides and commits.
struct LiveState {
    var sampler: Sampler
    var requests = 0
    var inputErrors = 0
    var sampled = 0
    var unvalidated = 0
    var shadowQueries = 0
    var trueCorrect = 0
    var trueTotal = 0
    var allLLMCost = 0.0
    var programSeconds = 0.0
    var latency = LatencyHistogram()
    /// Validation paused (oracle back-off): no oracle work before this request.
    var oracleBackoffUntil = 0
    /// Paused by an operator: requests are answered, nothing is sampled.
    var paused = false
    var queue: BoundedBuffer<Sample>
    /// Samples dropped before this process (the queue counts this process's own).
    var droppedBefore = 0

    init(state: DriverState, queueCapacity: Int) {
        sampler = state.sampler
        requests = state.requests; inputErrors = state.inputErrors; sampled = state.sampled
        unvalidated = state.unvalidated; shadowQueries = state.shadowQueries
        trueCorrect = state.trueCorrect; trueTotal = state.trueTotal
        allLLMCost = state.allLLMCost; programSeconds = state.programSeconds; latency = state.latency
        oracleBackoffUntil = state.oracleBackoffUntil
        paused = state.paused
        queue = BoundedBuffer(capacity: queueCapacity)
        droppedBefore = state.dropped
    }

    /// A copy for the control side without the queue: the copy would otherwise share the queue's
    /// storage, and the next request that queues a sample would copy every waiting sample (up to
    /// the queue's capacity) while it holds the request side's lock.
    func countsWithoutQueue() -> LiveState {
        var c = self
        c.droppedBefore += queue.dropped
        c.queue = BoundedBuffer(capacity: 1)
        return c
    }

    func copy(into s: inout DriverState) {
        s.sampler = sampler
        s.requests = requests; s.inputErrors = inputErrors; s.sampled = sampled
        s.unvalidated = unvalidated; s.shadowQueries = shadowQueries
        s.trueCorrect = trueCorrect; s.trueTotal = trueTotal
        s.allLLMCost = allLLMCost; s.programSeconds = programSeconds; s.latency = latency
        s.oracleBackoffUntil = oracleBackoffUntil
        s.dropped = droppedBefore + queue.dropped
    }
}

/// What the request path returns for one request.
public struct Served: Sendable {
    public var result: Result<Answer, InputError>
    /// The request's number in the run.
    public var seq: Int
    public var sampled: Bool
    public var nanoseconds: UInt64
}

/// What the request path returns for a `SpanBatch`: each input's answer, from the active version
/// or (where `byCandidate` says so) the candidate; the inputs are numbered from `firstSeq` on.
public struct SpanServed: Sendable {
    public let active: LoadedProgram
    public let candidate: LoadedProgram?
    public let answers: [NativeAnswer]
    /// Per input, whether the candidate answered it (empty: none did).
    public let byCandidate: [Bool]
    public let firstSeq: Int
    /// Whether any input was sampled.
    public let anySampled: Bool

    /// The version that answered input `i`.
    public func program(_ i: Int) -> LoadedProgram { !byCandidate.isEmpty && byCandidate[i] ? candidate! : active }
    public func answer(_ i: Int) -> Answer { program(i).answer(answers[i]) }
}

/// One task's engine: the request path (`serve`) answers from an immutable serving snapshot and
/// puts samples on a bounded queue; the control side (`step`, one thread at a time) validates
/// them, decides on improvements and rollouts, and commits everything in one transaction.
///
/// The request path takes one short lock and does no I/O; everything else belongs to the control
/// side, which a replay (`LoopDriver`) calls between batches and a server runs on its own
/// thread (`EngineRunner`).
public final class TaskEngine: @unchecked Sendable {
    public let settings: LoopSettings
    public let store: any TaskStore
    public internal(set) var run: Run
    /// The control side's state (read it from the control thread, or `status` elsewhere).
    public internal(set) var state: DriverState
    /// Whether this process decides for the task (always, without replicas).
    public internal(set) var isLeader = true
    let live: Locked<LiveState>
    public let snapshot: SnapshotCell
    /// The programs the control side serves with (the snapshot holds the same pair).
    var activeProgram: LoadedProgram
    var candidateProgram: LoadedProgram?
    /// Called with one line per notable event.
    public var log: ((String) -> Void)?
    /// Runs an improvement's work elsewhere and hands its result back on the control thread (a
    /// server's improver worker); nil: inline, as a replay does, so replays are deterministic.
    public var improveAsync: ((@escaping @Sendable () -> Improvement, @escaping @Sendable (Improvement) -> Void) -> Void)?
    /// An improvement is being made: no other starts until it is applied.
    var improvementInFlight = false
    /// Writes that must join the next batch's transaction (version rows, rollouts, escalations).
    var pending: [StoreWrite] = []
    /// The current batch's validated inputs (hash → input JSON text, oracle label): decisions are
    /// made before the batch commits, and must see them as if they were stored.
    var batchValidated: [String: (input: String, label: String)] = [:]
    /// Work that must wait until the next commit succeeded (ticket files, webhooks).
    var afterCommit: [(CommitResult) -> Void] = []
    /// The last oracle answer of another replica counted in this replica's budget.
    var oracleCallsSeen: Int64 = 0
    /// How many oracle calls of other replicas this replica's budget has counted (since it started).
    public internal(set) var oracleCallsElsewhere = 0
    /// Rows of steps whose commit did not reach the store, committed with the next one.
    var unflushed = Unflushed()
    /// When the last commit went through (monotonic seconds), for `settings.minCommitSeconds`.
    var lastCommit = 0.0
    /// The cursor of the last step whose rows wait for the next commit.
    var deferredCursor: Int?
    /// The rollout's clock: the requests whose samples have all been validated (or dropped), the
    /// cursor of the last step. Shadow and canary windows count these, not the requests answered,
    /// so a control side that falls behind the traffic (a slow oracle, a busy machine) closes a
    /// window only once its evidence is in. A replay validates every sample of a batch before it
    /// decides, so there the two counts are the same.
    var evidenceThrough = 0

    /// Commits the rows of steps that waited for the commit interval (a server stopping).
    public func flush() throws {
        guard let cursor = deferredCursor else { return }
        try commit(cursor: cursor, items: [])
    }
    /// Timeline points made since the last commit (written with it).
    var pendingPoints: [TimelinePoint] = []
    var task: TaskSpec { settings.task }
    /// Token estimates of oracle requests for pricing (the system prompt measured once).
    let tokenModel: OracleTokenModel
    /// Words of the seed examples: a failure cluster around a word none of them has is novel.
    lazy var seedWords: Set<String> = Set(settings.seedExamples.flatMap { FailureAnalysis.words(JSONWriter.string($0.input)) })

    /// Starts a new run, or resumes the latest unfinished run of the task from the same source
    /// when `resume` is set.
    public init(settings: LoopSettings, store: any TaskStore, resume: Bool) throws {
        guard store.task == settings.task.name else {
            throw LoopError.resume("the store at \(store.location) was opened for task \(store.task), not \(settings.task.name)")
        }
        self.settings = settings
        self.store = store
        tokenModel = OracleTokenModel(task: settings.task)
        if resume {
            // The latest run from the same source (a replica resumes its own run, not another's).
            guard let latest = try store.latestRun() else { throw LoopError.resume("the store has no run of task \(settings.task.name)") }
            guard let r = latest.streamPath == settings.streamPath ? latest : try store.runs().last(where: { $0.streamPath == settings.streamPath }) else {
                throw LoopError.resume("run \(latest.id!) read \(latest.streamPath), not \(settings.streamPath)")
            }
            guard r.finishedAt == nil else { throw LoopError.resume("run \(r.id!) of task \(settings.task.name) already finished; start a new run without --resume") }
            guard let json = r.state else { throw LoopError.resume("run \(r.id!) has no saved state") }
            var s: DriverState
            do { s = try DriverState.decode(json) }
            catch { throw LoopError.resume("run \(r.id!)'s saved state was written by a different version of loopai and cannot be read (\(error)); start a new run") }
            // A person may have resolved an escalation with a new version since: it is the active one.
            if let active = try store.activeVersion()?.id, active != s.activeVersion {
                s.events.append(DriverState.Event(requests: s.requests, versionId: active, kind: "resumed", detail: "v\(active) became active while the run was stopped"))
                Self.adopt(&s, active: active)
            }
            // A candidate written just before the run stopped, but never rolled out, is abandoned.
            for v in try store.versions() where (v.status == .shadow || v.status == .canary || v.status == .candidate) && v.id != s.candidate?.versionId {
                try store.setStatus(versionId: v.id!, .rejected, note: "abandoned: the run stopped before its rollout was recorded")
            }
            // Samples counted but not committed when the process stopped (kill -9) were never validated.
            let lost = s.sampled - s.validated - s.unvalidated
            if lost > 0 { s.unvalidated += lost; s.lostOnRestart += lost }
            // The timeline lives in its own table; a state saved before it did carries its points.
            let stored = try store.timeline(run: r.id!)
            if !stored.isEmpty { s.timeline = Timeline(stored.map(DriverState.Point.init)) }
            else {
                // Written to the table with the next commit, so a later restart still has them.
                pendingPoints = s.timeline.map { p in
                    TimelinePoint(runId: r.id!, requests: p.requests, agreement: p.agreement, lower: p.lower, upper: p.upper,
                                  samplingRate: p.samplingRate, cost: p.cost, allLLMCost: p.allLLMCost, versionId: p.versionId)
                }
            }
            while s.timeline.count > DriverState.timelineLimit { s.timeline = DriverState.thinned(s.timeline) }
            run = r
            state = s
            evidenceThrough = s.cursor
            activeProgram = try Self.load(store, s.activeVersion)
            if let problem = Self.contractProblem(activeProgram.program, settings.task) {
                // The task changed since (its labels gained application strings, say): the version
                // keeps answering as it was written until a fitting one is promoted or resolved.
                log?("warning: the active version v\(s.activeVersion) no longer fits task \(settings.task.name): \(problem)")
            }
            if let c = s.candidate { candidateProgram = try Self.load(store, c.versionId) }
            snapshot = SnapshotCell(ServingSnapshot(active: activeProgram, candidate: candidateProgram,
                                                    canaryShare: s.candidate.map { $0.stage == .canary ? $0.share : 0 } ?? 0))
            live = Locked(LiveState(state: s, queueCapacity: max(settings.queueCapacity, settings.batchSize)))
            log?("resuming run \(r.id!) at request \(r.cursor)")
            return
        }
        var seconds = 0.0
        var calls: [CallRecord] = []
        let (version, loaded) = try Self.firstProgram(settings, store, seconds: &seconds, calls: &calls)
        let config = JSONWriter.string(.object([("task", JSON(settings.task.path)), ("stream", JSON(settings.streamPath)),
                                                ("oracle", JSON(settings.oracle.name)), ("generator", JSON(settings.generator.name)),
                                                ("strategy", JSON(settings.task.validation.strategy.rawValue)),
                                                ("rate", .number(settings.task.validation.rate))]))
        run = try store.startRun(streamPath: settings.streamPath, config: config)
        // The agreement window of the triggers is the task's `improvement.window`.
        var samplerConfig = SamplerConfiguration(policy: settings.task.validation)
        samplerConfig.adaptiveWindow = max(settings.task.improvement.window, 10)
        state = DriverState(activeVersion: version, sampler: Sampler(configuration: samplerConfig, seed: settings.seed))
        state.buildSeconds = seconds
        activeProgram = loaded
        snapshot = SnapshotCell(ServingSnapshot(active: loaded))
        live = Locked(LiveState(state: state, queueCapacity: max(settings.queueCapacity, settings.batchSize)))
        account(calls, purposeCost: \.generationCost)
        if !calls.isEmpty { pending.append(.ledger(calls.map { Self.ledgerEntry($0, run: run.id) })) }
        state.events.append(DriverState.Event(requests: 0, versionId: version, kind: "start", detail: "v\(version) active"))
        try commit(cursor: 0, items: [])
    }

    /// Makes `active` the state's active version, dropping what belonged to the previous one.
    static func adopt(_ s: inout DriverState, active: Int64) {
        s.activeVersion = active
        s.candidate = nil
        s.attempts = 0
        s.failures = []
        s.escalated = []
        s.nextAttemptAt = s.requests
        s.sampler.resetStatistics()
    }

    // MARK: Setup

    static func load(_ store: any TaskStore, _ id: Int64) throws -> LoadedProgram {
        guard let v = try store.version(id: id) else { throw LoopError.resume("version \(id) is not in the store") }
        return try LoadedProgram(versionId: id, source: v.source, name: "v\(id).loop")
    }

    /// The store's active version, else the given program, else one from the generator.
    static func firstProgram(_ s: LoopSettings, _ store: any TaskStore, seconds: inout Double, calls: inout [CallRecord]) throws -> (Int64, LoadedProgram) {
        if let v = try store.activeVersion(), let id = v.id { return (id, try LoadedProgram(versionId: id, source: v.source)) }
        let start = CPUClock.now()
        var source = s.initialProgram
        var provenance = "given"
        if source == nil {
            do {
                let g = try s.generator.initial(examples: s.seedExamples)
                source = g.source; provenance = g.provenance; calls = g.calls
            } catch let f as GeneratorFailure {
                calls = f.calls
                throw LoopError.firstProgram("\(f.error)")
            } catch { throw LoopError.firstProgram("\(error)") }
        }
        seconds = CPUClock.now() - start
        let probe: LoadedProgram
        do { probe = try LoadedProgram(versionId: 0, source: source!) } catch { throw LoopError.firstProgram("\(error)") }
        if let problem = contractProblem(probe.program, s.task) { throw LoopError.firstProgram(problem) }
        var v = try store.addVersion(ProgramVersion(source: source!, provenance: provenance, status: .candidate))
        do {
            _ = try store.recordRollout(Rollout(candidateId: v.id!, stage: .promoted, share: 1, evidence: #"{"reason":"first program"}"#))
        } catch StoreError.invalidTransition {
            // Another replica made the first version meanwhile: serve it, and drop this one.
            try store.setStatus(versionId: v.id!, .rejected, note: "another replica made the first version")
            if let a = try store.activeVersion(), let id = a.id { return (id, try LoadedProgram(versionId: id, source: a.source)) }
            throw LoopError.firstProgram("the store's active version changed while the first program was stored")
        }
        v.status = .active
        return (v.id!, try LoadedProgram(versionId: v.id!, source: source!))
    }

    /// A program the loop can run for the task: the task's labels (in any order) and its input fields.
    static func contractProblem(_ p: TypedProgram, _ task: TaskSpec) -> String? {
        switch TaskContract.check(p, task, labelOrderMatters: false) {
        case nil: return nil
        case .labels(let program, let wanted)?:
            return "the program's labels (\(program.joined(separator: ", "))) are not the task's (\(wanted.joined(separator: ", ")))"
        case .input(let program, let wanted)?:
            return "the program's input (\(program.sorted().joined(separator: ", "))) is not the task's (\(wanted.sorted().joined(separator: ", ")))"
        }
    }

    // MARK: The request path

    /// Answers one request from the serving snapshot, and decides whether it is validated. Safe
    /// from any number of threads; no I/O, one short lock.
    /// - Parameters:
    ///   - key: the request's id (canary routing hashes it).
    ///   - input: the fields the program sees.
    ///   - record: the whole request (a labels oracle reads its label from it).
    ///   - truth: the true label when the caller knows it (replays of labeled data).
    public func serve(_ key: RequestKey, input: JSON, record: JSON, truth: String? = nil) -> Served {
        let snap = snapshot.current
        let oneCall = allLLMCallCost(input)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let (served, byCandidate) = snap.classify(input, key: key)
        let t1 = DispatchTime.now().uptimeNanoseconds
        var other: Answer? = nil
        var t2 = t1
        if snap.candidate != nil, case .success = served {
            other = snap.shadowAnswer(input, servedByCandidate: byCandidate)
            t2 = DispatchTime.now().uptimeNanoseconds
        }
        let r = Classified(key: key, input: input, record: record, truth: truth, result: served, byCandidate: byCandidate, other: other,
                           oneCall: oneCall, nanoseconds: t1 - t0)
        let now = Date().timeIntervalSince1970
        return live.withLock { l in count(r, programSeconds: Double(t2 - t0) / 1e9, time: now, into: &l) }
    }

    /// Answers many requests at once: each version classifies its share in one native call, and
    /// the request side's lock is taken once. The same answers and accounting as `serve` one by one.
    public func serveBatch(_ requests: [(key: RequestKey, input: JSON, record: JSON)]) -> [Served] {
        guard !requests.isEmpty else { return [] }
        let snap = snapshot.current
        let t0 = DispatchTime.now().uptimeNanoseconds
        let byCandidate = requests.map { snap.servedByCandidate($0.key) }
        var results = [Result<Answer, InputError>?](repeating: nil, count: requests.count)
        var others = results
        let answering = snap.classifyShares(requests.count, byCandidate: byCandidate, answers: &results, others: &others,
                                            classify: { p, idx in p.classifyBatch(idx.map { requests[$0].input }).map { Optional($0) } },
                                            shadowed: { if case .success? = $0 { return true }; return false })
        let t1 = DispatchTime.now().uptimeNanoseconds
        // Latency: the answering version's time; the program's CPU time: the shadow's too (as `serve`).
        let each = answering / UInt64(requests.count), cpu = (t1 - t0) / UInt64(requests.count)
        let costs = requests.map { allLLMCallCost($0.input) }
        let now = Date().timeIntervalSince1970
        return live.withLock { l in
            requests.indices.map { i in
                let r = Classified(key: requests[i].key, input: requests[i].input, record: requests[i].record, truth: nil, result: results[i]!,
                                   byCandidate: byCandidate[i], other: others[i].flatMap { try? $0.get() }, oneCall: costs[i], nanoseconds: each)
                return count(r, programSeconds: Double(cpu) / 1e9, time: now, into: &l)
            }
        }
    }

    /// Answers a batch read from one request body (`SpanBatch`): the versions classify from the
    /// body's bytes, and an input's JSON values are built only for the samples queued. The same
    /// answers and accounting as `serveBatch`; nil when a version does not read the batch's
    /// fields as text (the caller then builds the inputs and calls `serveBatch`).
    public func serveSpans(_ b: SpanBatch) -> SpanServed? {
        let snap = snapshot.current
        guard snap.active.readsSpans(b), snap.candidate?.readsSpans(b) ?? true else { return nil }
        let n = b.count
        let t0 = DispatchTime.now().uptimeNanoseconds
        let routed = snap.candidate != nil && snap.canaryShare > 0
        let byCandidate = routed ? (0..<n).map { snap.servedByCandidate(b.key($0)) } : []
        var answers = [NativeAnswer](repeating: NativeAnswer(label: 0, decidedBy: 0, confidence: 0), count: n)
        var others = snap.candidate == nil ? [] : answers
        let answering = snap.classifyShares(n, byCandidate: byCandidate, answers: &answers, others: &others,
                                            classify: { p, idx in p.classifySpans(b, idx) }, shadowed: { _ in true })
        let t1 = DispatchTime.now().uptimeNanoseconds
        // Latency: the answering version's time; the program's CPU time: the shadow's too (as `serve`).
        let each = answering / UInt64(max(n, 1)), cpu = (t1 - t0) / UInt64(max(n, 1))
        let costs = settings.oraclePricing == nil ? [] : (0..<n).map { allLLMCallCost(inputLength: b.inputJSONLength($0)) }
        let now = Date().timeIntervalSince1970
        let (first, sampled) = live.withLock { l -> (Int, Bool) in
            let first = l.requests
            var any = false
            for i in 0..<n {
                let c = routed && byCandidate[i]
                let (program, otherProgram) = c ? (snap.candidate!, snap.active) : (snap.active, snap.candidate)
                let (_, s) = count(answered: true, truth: nil, byCandidate: c, oneCall: costs.isEmpty ? 0 : costs[i], nanoseconds: each,
                                   programSeconds: Double(cpu) / 1e9, time: now, into: &l,
                                   answer: { program.answer(answers[i]) }, other: { otherProgram.map { $0.answer(others[i]) } },
                                   request: { (b.key(i), b.input(i), b.record(i)) })
                any = any || s
            }
            return (first, any)
        }
        return SpanServed(active: snap.active, candidate: snap.candidate, answers: answers, byCandidate: byCandidate,
                          firstSeq: first, anySampled: sampled)
    }

    /// One classified request on its way to the request side's accounting.
    struct Classified {
        var key: RequestKey
        var input: JSON
        var record: JSON
        var truth: String?
        var result: Result<Answer, InputError>
        var byCandidate: Bool
        var other: Answer?
        var oneCall: Double
        var nanoseconds: UInt64
    }

    /// What calling the LLM for this one input would cost (the all-LLM path).
    func allLLMCallCost(_ input: JSON) -> Double {
        guard settings.oraclePricing != nil else { return 0 }
        return allLLMCallCost(inputLength: JSONWriter.length(input))
    }

    /// The same, from the length of the input's JSON text.
    func allLLMCallCost(inputLength: Int) -> Double {
        guard let price = settings.oraclePricing else { return 0 }
        let t = tokenModel.single(inputLength: inputLength)
        return price.cost(inputTokens: t.input, outputTokens: t.output)
    }

    /// Counts one request, decides whether it is validated and queues the sample (lock held).
    func count(_ r: Classified, programSeconds: Double, time: Double, into l: inout LiveState) -> Served {
        let answer = try? r.result.get()
        let (seq, sampled) = count(answered: answer != nil, truth: r.truth, byCandidate: r.byCandidate, oneCall: r.oneCall, nanoseconds: r.nanoseconds,
                                   programSeconds: programSeconds, time: time, into: &l,
                                   answer: { answer! }, other: { r.other }, request: { (r.key, r.input, r.record) })
        return Served(result: r.result, seq: seq, sampled: sampled, nanoseconds: r.nanoseconds)
    }

    /// Counts one request and decides whether it is validated (lock held). What is not needed
    /// when nothing is sampled comes from closures, called only when the sampler or the queue
    /// needs it: the answer, the other version's answer, and the request itself (for a sample).
    @inline(__always)
    func count(answered: Bool, truth: String?, byCandidate: Bool, oneCall: Double, nanoseconds: UInt64, programSeconds: Double,
               time: Double, into l: inout LiveState, answer: () -> Answer, other: () -> Answer?,
               request: () -> (key: RequestKey, input: JSON, record: JSON)) -> (seq: Int, sampled: Bool) {
        let seq = l.requests
        l.requests += 1
        l.allLLMCost += oneCall
        l.latency.add(nanoseconds: nanoseconds)
        l.programSeconds += programSeconds
        guard answered else {
            l.inputErrors += 1
            return (seq, false)
        }
        if let truth {
            l.trueTotal += 1
            if truth == answer().label { l.trueCorrect += 1 }
        }
        if l.paused { return (seq, false) }
        let answer = answer(), other = other()
        let ctx = SampleContext(label: answer.label, rule: answer.decidedBy, confidence: answer.confidence, time: time)
        // The money budget is charged a whole one-input call per sample (an upper bound: batches cost less).
        let decision = l.sampler.decide(ctx, estimatedCost: oneCall)
        let oracleOff = seq < l.oracleBackoffUntil
        let disagreement = other.map { $0.label != answer.label } ?? false
        if decision.sampled { l.sampled += 1 }
        if decision.sampled && oracleOff { l.unvalidated += 1 }
        if (decision.sampled || disagreement) && !oracleOff {
            if !decision.sampled { l.shadowQueries += 1 }
            // A full queue drops the sample (counted); the kept ones carry the share kept, so
            // the weighted estimates stay unbiased when drops come in bursts.
            let p = decision.probability * (decision.sampled ? l.queue.keptFraction : 1)
            let kept = l.queue.offer({
                let r = request()
                return Sample(seq: seq, requestId: r.key.text, input: r.input, record: r.record, answer: answer, probability: p,
                              sampled: decision.sampled, context: ctx, other: other, servedByCandidate: byCandidate)
            }())
            if !kept && decision.sampled { l.unvalidated += 1 }
        }
        return (seq, decision.sampled)
    }

    /// Samples waiting for the control side.
    public var queued: Int { live.withLock { $0.queue.count } }

    /// Requests answered so far in this run.
    public var requestCount: Int { live.withLock { $0.requests } }

    /// Samples dropped because the queue was full.
    public var droppedSamples: Int { live.withLock { $0.droppedBefore + $0.queue.dropped } }

    /// Empties the queue without validating it (a shutdown past its deadline); the sampled ones
    /// count as unvalidated. Returns how many samples were dropped.
    func abandonQueued() -> Int {
        live.withLock { l in
            let left = l.queue.drain()
            l.unvalidated += left.filter(\.sampled).count
            return left.count
        }
    }

    /// The request side's counts now (the control side's state lags by up to one step).
    public var liveCounts: (requests: Int, sampled: Int, dropped: Int, queued: Int, unvalidated: Int) {
        live.withLock { ($0.requests, $0.sampled, $0.droppedBefore + $0.queue.dropped, $0.queue.count, $0.unvalidated) }
    }

    // MARK: The control side

    /// Validates the waiting samples, decides, and commits: one batch. Call from one thread at a time.
    /// With `mayDefer` (the server's periodic and early steps), the rows wait for the next
    /// commit when the last one is younger than `settings.minCommitSeconds` and nothing was decided.
    public func step(mayDefer: Bool = false) throws {
        try coordinate()
        // The request side's counts as of the drain: the state committed with this batch counts
        // exactly the requests whose samples it holds, so a kill loses both or neither.
        // A server bounds the samples one step takes (the oracle's capacity); the rest wait for the
        // next step, and the cursor stops before the first of them.
        let (samples, counts, waiting) = live.withLock { l -> ([Sample], LiveState, Int?) in
            let s = settings.maxSamplesPerStep.map { l.queue.drain(max: $0) } ?? l.queue.drain()
            return (s, l.countsWithoutQueue(), l.queue.first?.seq)
        }
        let cursor = waiting ?? counts.requests
        counts.copy(into: &state)
        let (items, answers, ledger, unvalidated) = validate(samples)
        evidenceThrough = max(evidenceThrough, cursor)
        state.unvalidated += unvalidated
        state.sampler = live.withLock { $0.sampler }
        let interval = state.agreement.interval(level: task.validation.confidence)
        let point = TimelinePoint(runId: run.id!, requests: state.requests, agreement: state.agreement.estimate,
                                  lower: interval?.lower, upper: interval?.upper, samplingRate: state.sampler.meanProbability,
                                  cost: totalCost, allLLMCost: state.allLLMCost, versionId: state.activeVersion)
        pendingPoints.append(point)
        state.timeline.append(DriverState.Point(point))
        if state.timeline.count > DriverState.timelineLimit { state.timeline = DriverState.thinned(state.timeline) }
        if state.breakEvenAt == nil && state.requests > 0 && totalCost < state.allLLMCost { state.breakEvenAt = state.requests }
        // Decisions join this batch's transaction, so a run killed after the commit resumes
        // with them, exactly as an uninterrupted run would go on.
        if !state.paused && isLeader { try decide() }
        if mayDefer, let gap = settings.minCommitSeconds, pending.isEmpty, afterCommit.isEmpty,
           ProcessInfo.processInfo.systemUptime - lastCommit < gap {
            unflushed = Unflushed(items: unflushed.items + items, answers: unflushed.answers + answers, ledger: unflushed.ledger + ledger)
            deferredCursor = cursor
            return
        }
        try commit(cursor: cursor, items: items, answers: answers, ledger: ledger)
    }

    /// Ends the run: a candidate still rolling out is rejected; the run is marked finished.
    public func finish() throws {
        try flush()
        if let c = state.candidate {
            // The stream ended before the candidate's rollout did: it is not left "in flight".
            event(c.versionId, "stopped", "the stream ended during its \(c.stage.rawValue); it was not promoted")
            let note = "the stream ended during its \(c.stage.rawValue)"
            pending.append(.status(versionId: c.versionId, .rejected, canaryShare: 0, note: note))
            state.candidate = nil
            setServing(candidate: nil, share: 0)
        }
        if !pending.isEmpty || !afterCommit.isEmpty { try commit(cursor: state.cursor, items: []) }
        if run.finishedAt == nil {
            try store.finishRun(runId: run.id!)
            run.finishedAt = Store.now()
        }
    }

    /// Publishes a new serving snapshot with `candidate` at `share` (0: shadow).
    func setServing(candidate: LoadedProgram?, share: Double) {
        candidateProgram = candidate
        snapshot.swap(active: activeProgram, candidate: candidate, canaryShare: share)
    }

    /// Every validated input so far (deduplicated by input; the latest answer wins), the current
    /// uncommitted batch included.
    func allValidated() -> [(hash: String, input: String, label: String)] {
        var out: [(hash: String, input: String, label: String)] = []
        for v in (try? store.validatedInputs()) ?? [] where batchValidated[v.inputHash] == nil { out.append((v.inputHash, v.input, v.label)) }
        for (h, v) in batchValidated.sorted(by: { $0.key < $1.key }) { out.append((h, v.input, v.label)) }
        return out
    }

    /// Program-path cost so far: oracle and generation calls, and CPU time at the configured price.
    public var totalCost: Double { Self.totalCost(state, cpuPricePerHour: task.validation.cpuPricePerHour) }

    public static func totalCost(_ s: DriverState, cpuPricePerHour: Double) -> Double {
        s.oracleCost + s.generationCost + (s.programSeconds + s.buildSeconds) * cpuPricePerHour / 3600
    }

    func account(_ calls: [CallRecord], purposeCost: WritableKeyPath<DriverState, Double>) {
        for c in calls where !c.cached {
            if c.purpose == .oracle {
                state.oracleCalls += 1
                state.oracleSeconds += c.latencySeconds
                if case .failure = c.outcome { state.oracleErrors += 1 }
            } else { state.generationCalls += 1 }
            state.inputTokens += c.inputTokens
            state.outputTokens += c.outputTokens
            state[keyPath: purposeCost] += c.cost ?? 0
        }
    }

    static func ledgerEntry(_ c: CallRecord, run: Int64?) -> LedgerEntry {
        var outcome = "success"
        if case .failure(let m) = c.outcome { outcome = m }
        return LedgerEntry(runId: run, provider: c.provider, model: c.model, purpose: c.purpose.rawValue, inputTokens: c.inputTokens,
                           outputTokens: c.outputTokens, estimated: c.tokensEstimated, latency: c.latencySeconds, cost: c.cost,
                           outcome: outcome, cached: c.cached, time: Store.now())
    }

    /// Commits the batch's rows, the pending writes and the state, in one transaction. A replica
    /// that makes decisions commits them fenced by its lease; when it lost the lease meanwhile,
    /// its decisions are dropped (the leader's stand) and the rest is committed.
    ///
    /// When the store cannot be reached (a restarting PostgreSQL), the step's rows are kept and
    /// committed with the next step that gets through, together with its state: validations are
    /// neither lost nor counted before they are stored. The rows kept are bounded
    /// (`settings.queueCapacity`); beyond it the oldest are dropped and counted as unvalidated.
    func commit(cursor given: Int, items: [BatchItem], answers: [OracleAnswer] = [], ledger: [LedgerEntry] = []) throws {
        // Rows of a deferred step reach further than a commit of the state alone (an operator
        // action, feedback) would say: the store takes rows only below the commit's cursor.
        let cursor = max(given, deferredCursor ?? given)
        state.cursor = cursor
        let items = unflushed.items + items, answers = unflushed.answers + answers, ledger = unflushed.ledger + ledger
        var json = String(decoding: try JSONEncoder().encode(self.state), as: UTF8.self)
        let decides = pending.contains(where: \.isDecision)
        let fence = decides ? settings.replica : nil
        var c = StoreCommit(runId: run.id!, cursor: cursor, writes: pending, items: items, answers: answers,
                            ledger: ledger, points: pendingPoints, state: json)
        c.leader = fence
        let result: CommitResult
        do {
            result = try store.commit(c)
        } catch StoreError.notLeader(let me) {
            log?("\(me) lost the leadership; its decisions of this step are dropped")
            isLeader = false
            pending = pending.filter { !$0.isDecision }
            afterCommit = []
            state.candidate = nil
            json = String(decoding: try JSONEncoder().encode(self.state), as: UTF8.self)
            c.writes = pending
            c.state = json
            c.leader = nil
            result = try store.commit(c)
        } catch {
            // Not a refusal of the store but a failure to reach it: keep the rows for the next step.
            if store.isOutage(error) { keepUnflushed(items, answers, ledger) }
            throw error
        }
        unflushed = Unflushed()
        lastCommit = ProcessInfo.processInfo.systemUptime
        deferredCursor = nil
        pending = []
        pendingPoints = []
        run.cursor = cursor
        batchValidated = [:]
        let after = afterCommit
        afterCommit = []
        for a in after { a(result) }
    }
}

/// The fields of a stream record that the program and the oracle see.
public enum TaskInputProjection {
    public static func project(_ record: JSON, _ task: TaskSpec) -> JSON {
        if case .string = record { return record }
        if task.isSingleText, let t = record[task.input[0].name] { return t }
        guard case .object = record else { return record }
        return .object(task.input.compactMap { f in record[f.name].map { (f.name, $0) } })
    }
}

/// Process CPU time in seconds.
enum CPUClock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A value handed to another thread by code that guarantees its use is confined (the improver's
/// inputs, read by its worker only; the engine, touched on its control queue only).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
