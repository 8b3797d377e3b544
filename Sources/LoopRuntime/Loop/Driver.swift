import Foundation
import LoopData
import LoopGenerate
import LoopInterpreter
import LoopLLM
import LoopSema
import LoopStore
import LoopTask

/// How one `loopai loop` run is set up.
public struct LoopSettings {
    public var task: TaskSpec
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
    /// Inputs per committed batch.
    public var batchSize = 100
    public var seed: UInt64 = 1
    /// Stop after this many requests in this process (for tests and demos); nil = the whole stream.
    public var maxRequests: Int?
    /// Validations needed before the agreement triggers act.
    public var minValidations = 30
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
    public var description: String {
        switch self {
        case .stream(let m): return "stream: \(m)"
        case .resume(let m): return "cannot resume: \(m)"
        case .firstProgram(let m): return "no first program: \(m)"
        }
    }
}

/// The self-improvement loop over a stream: execute, sample, validate, improve, roll out, escalate.
public final class LoopDriver {
    public let settings: LoopSettings
    public let store: Store
    public internal(set) var run: Run
    public internal(set) var state: DriverState
    let executor: Executor
    var programs: [Int64: LoadedProgram] = [:]
    let records: [(line: Int, json: JSON)]
    /// Called after each batch (for progress on a terminal).
    public var progress: ((DriverState, Int) -> Void)?
    /// Called with one line per notable event.
    public var log: ((String) -> Void)?
    /// Writes that must join the next batch's transaction (version rows, rollouts, escalations).
    var pending: [(StoreTransaction) throws -> Void] = []
    /// The current batch's validated inputs (hash → input JSON text, oracle label): decisions are
    /// made before the batch commits, and must see them as if they were stored.
    var batchValidated: [String: (input: String, label: String)] = [:]
    /// Work that must wait until the next commit succeeded (ticket files, webhooks).
    var afterCommit: [() -> Void] = []
    var task: TaskSpec { settings.task }
    /// Inputs in the stream.
    public var streamCount: Int { records.count }
    /// Token estimates of oracle requests for pricing (the system prompt measured once).
    lazy var tokenModel = OracleTokenModel(task: settings.task)
    /// Words of the seed examples: a failure cluster around a word none of them has is novel.
    lazy var seedWords: Set<String> = Set(settings.seedExamples.flatMap { FailureAnalysis.words(JSONWriter.string($0.input)) })

    /// Starts a new run, or resumes the latest unfinished run of the task when `resume` is set.
    public init(settings: LoopSettings, store: Store, resume: Bool) throws {
        self.settings = settings
        self.store = store
        records = try Self.readStream(settings.streamPath)
        if resume {
            guard let r = try store.latestRun(task: settings.task.name) else { throw LoopError.resume("the store has no run of task \(settings.task.name)") }
            guard r.finishedAt == nil else { throw LoopError.resume("run \(r.id!) of task \(settings.task.name) already finished; start a new run without --resume") }
            guard r.streamPath == settings.streamPath else { throw LoopError.resume("run \(r.id!) read \(r.streamPath), not \(settings.streamPath)") }
            guard let json = r.state else { throw LoopError.resume("run \(r.id!) has no saved state") }
            var s: DriverState
            do { s = try JSONDecoder().decode(DriverState.self, from: Data(json.utf8)) }
            catch { throw LoopError.resume("run \(r.id!)'s saved state was written by a different version of loopai and cannot be read (\(error)); start a new run") }
            // A person may have resolved an escalation with a new version since: it is the active one.
            if let active = try store.activeVersion()?.id, active != s.activeVersion {
                s.events.append(DriverState.Event(requests: s.requests, versionId: active, kind: "resumed", detail: "v\(active) became active while the run was stopped"))
                s.activeVersion = active
                s.candidate = nil
                s.attempts = 0
                s.failures = []
                s.escalated = []
                s.nextAttemptAt = s.requests
                s.sampler.resetStatistics()
            }
            // A candidate written just before the run stopped, but never rolled out, is abandoned.
            for v in try store.versions() where (v.status == .shadow || v.status == .canary || v.status == .candidate) && v.id != s.candidate?.versionId {
                try store.setStatus(versionId: v.id!, .rejected, note: "abandoned: the run stopped before its rollout was recorded")
            }
            run = r
            state = s
            let active = try Self.load(store, s.activeVersion)
            executor = Executor(active: active)
            programs[active.versionId] = active
            if let c = s.candidate {
                let cand = try Self.load(store, c.versionId)
                programs[c.versionId] = cand
                executor.setCandidate(cand, share: c.stage == .canary ? c.share : 0)
            }
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
        run = try store.startRun(taskName: settings.task.name, streamPath: settings.streamPath, config: config)
        // The agreement window of the triggers is the task's `improvement.window`.
        var samplerConfig = SamplerConfiguration(policy: settings.task.validation)
        samplerConfig.adaptiveWindow = max(settings.task.improvement.window, 10)
        state = DriverState(activeVersion: version, sampler: Sampler(configuration: samplerConfig, seed: settings.seed))
        state.buildSeconds = seconds
        executor = Executor(active: loaded)
        programs[version] = loaded
        account(calls, purposeCost: \.generationCost)
        if !calls.isEmpty { pending.append { [calls, runId = run.id] tx in for c in calls { _ = try tx.insert(Self.ledgerEntry(c, run: runId)) } } }
        state.events.append(DriverState.Event(requests: 0, versionId: version, kind: "start", detail: "v\(version) active"))
        try commit(cursor: 0, items: [])
    }

    // MARK: Setup

    static func readStream(_ path: String) throws -> [(line: Int, json: JSON)] {
        let rs: [InputRecord]
        do { rs = try RecordReader.read(path, format: .jsonl) } catch { throw LoopError.stream("\(error)") }
        return rs.compactMap { r in if case .json(let j) = r.raw { return (r.line, j) }; return nil }
    }

    static func load(_ store: Store, _ id: Int64) throws -> LoadedProgram {
        guard let v = try store.version(id: id) else { throw LoopError.resume("version \(id) is not in the store") }
        return try LoadedProgram(versionId: id, source: v.source, name: "v\(id).loop")
    }

    /// The store's active version, else the given program, else one from the generator.
    static func firstProgram(_ s: LoopSettings, _ store: Store, seconds: inout Double, calls: inout [CallRecord]) throws -> (Int64, LoadedProgram) {
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
        _ = try store.recordRollout(Rollout(candidateId: v.id!, stage: .promoted, share: 1, evidence: #"{"reason":"first program"}"#))
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

    // MARK: Running

    /// Processes the stream from the cursor to the end (or `maxRequests`), one batch per commit.
    public func runToEnd() throws -> DriverState {
        var processedHere = 0
        while state.cursor < records.count {
            if let m = settings.maxRequests, processedHere >= m {
                if !pending.isEmpty || !afterCommit.isEmpty { try commit(cursor: state.cursor, items: []) }
                return state
            }
            let n = min(settings.batchSize, records.count - state.cursor, settings.maxRequests.map { $0 - processedHere } ?? Int.max)
            try processBatch(state.cursor, count: n)
            processedHere += n
            progress?(state, records.count)
        }
        try finish()
        return state
    }

    func finish() throws {
        if let c = state.candidate {
            // The stream ended before the candidate's rollout did: it is not left "in flight".
            event(c.versionId, "stopped", "the stream ended during its \(c.stage.rawValue); it was not promoted")
            let note = "the stream ended during its \(c.stage.rawValue)"
            pending.append { tx in try tx.setStatus(versionId: c.versionId, .rejected, canaryShare: 0, note: note) }
            state.candidate = nil
            executor.setCandidate(nil, share: 0)
        }
        if !pending.isEmpty || !afterCommit.isEmpty { try commit(cursor: state.cursor, items: []) }
        if run.finishedAt == nil {
            try store.finishRun(runId: run.id!)
            run.finishedAt = Store.now()
        }
    }

    struct Pending {
        var seq: Int
        var input: JSON
        /// The whole stream record (a labels oracle reads its label column from it).
        var record: JSON
        var answer: Answer
        var probability: Double
        var sampled: Bool
        var context: SampleContext
        var other: Answer?
        var servedByCandidate: Bool
    }

    func processBatch(_ start: Int, count: Int) throws {
        var queue: [Pending] = []
        for seq in start..<(start + count) {
            let (_, record) = records[seq]
            let input = TaskInputProjection.project(record, task)
            state.requests += 1
            // The all-LLM path: the oracle's prompt for this one request.
            var oneCall = 0.0
            if let price = settings.oraclePricing {
                let t = tokenModel.single(input)
                oneCall = price.cost(inputTokens: t.input, outputTokens: t.output)
                state.allLLMCost += oneCall
            }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let (served, servedByCandidate) = executor.classify(input, seq: seq)
            let t1 = DispatchTime.now().uptimeNanoseconds
            state.latency.add(nanoseconds: t1 - t0)
            state.programSeconds += Double(t1 - t0) / 1e9
            guard case .success(let answer) = served else { state.inputErrors += 1; continue }
            if let key = settings.labelKey, let truth = record[key]?.string {
                state.trueTotal += 1
                if truth == answer.label { state.trueCorrect += 1 }
            }
            var other: Answer? = nil
            if executor.candidate != nil {
                let t2 = DispatchTime.now().uptimeNanoseconds
                other = executor.shadowAnswer(input, servedByCandidate: servedByCandidate)
                state.programSeconds += Double(DispatchTime.now().uptimeNanoseconds - t2) / 1e9
            }
            let ctx = SampleContext(label: answer.label, rule: answer.decidedBy, confidence: answer.confidence, time: Date().timeIntervalSince1970)
            // The money budget is charged a whole one-input call per sample (an upper bound: batches cost less).
            let decision = state.sampler.decide(ctx, estimatedCost: oneCall)
            let oracleOff = seq < state.oracleBackoffUntil
            let disagreement = other.map { $0.label != answer.label } ?? false
            if decision.sampled { state.sampled += 1 }
            if decision.sampled && oracleOff { state.unvalidated += 1 }
            if (decision.sampled || disagreement) && !oracleOff {
                if !decision.sampled { state.shadowQueries += 1 }
                queue.append(Pending(seq: seq, input: input, record: record, answer: answer, probability: decision.probability, sampled: decision.sampled,
                                     context: ctx, other: other, servedByCandidate: servedByCandidate))
            }
        }
        let (items, answers, ledger) = validate(queue)
        state.timeline.append(DriverState.Point(requests: state.requests, agreement: state.agreement.estimate,
                                                lower: state.agreement.interval(level: task.validation.confidence)?.lower,
                                                upper: state.agreement.interval(level: task.validation.confidence)?.upper,
                                                samplingRate: state.sampler.meanProbability, cost: totalCost, allLLMCost: state.allLLMCost,
                                                versionId: state.activeVersion))
        if state.breakEvenAt == nil && state.requests > 0 && totalCost < state.allLLMCost { state.breakEvenAt = state.requests }
        state.cursor = start + count
        // Decisions join this batch's transaction, so a run killed after the commit resumes
        // with them, exactly as an uninterrupted run would go on.
        try decide()
        try commit(cursor: start + count, items: items, answers: answers, ledger: ledger)
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
    public var totalCost: Double {
        state.oracleCost + state.generationCost + (state.programSeconds + state.buildSeconds) * task.validation.cpuPricePerHour / 3600
    }

    // MARK: Validation

    func validate(_ queue: [Pending]) -> ([BatchItem], [OracleAnswer], [LedgerEntry]) {
        guard !queue.isEmpty else { return ([], [], []) }
        var verdicts: [OracleVerdict?] = Array(repeating: nil, count: queue.count)
        var tiers = Array(repeating: 3, count: queue.count)
        var hashes: [String] = []
        // Tier 2: an answer the oracle already gave for this exact input costs nothing.
        for (i, p) in queue.enumerated() {
            let h = Store.hash(JSONWriter.string(p.input))
            hashes.append(h)
            if let label = try? store.latestLabel(inputHash: h) {
                // Every 50th stored answer is asked again: a changed answer shows an oracle that
                // contradicts itself (an ambiguous specification).
                state.storedAnswerLookups += 1
                if state.storedAnswerLookups % 50 != 0 {
                    verdicts[i] = OracleVerdict(label: label, raw: label, source: "cache")
                    tiers[i] = 2
                }
            }
        }
        let ask = queue.indices.filter { verdicts[$0] == nil }
        var ledger: [LedgerEntry] = []
        let answers: [OracleAnswer] = []
        var costPerAnswer = [Double](repeating: 0, count: queue.count)
        if !ask.isEmpty {
            let before = settings.oracleClient?.ledger.count ?? 0
            do {
                let seesRecord = settings.oracle is LabelsOracle
                let got = try settings.oracle.judge(ask.map { seesRecord ? queue[$0].record : queue[$0].input })
                for (k, i) in ask.enumerated() { verdicts[i] = got[k] }
                state.oracleFailuresInARow = 0
                if let client = settings.oracleClient {
                    let calls = Array(client.ledger.dropFirst(before))
                    account(calls, purposeCost: \.oracleCost)
                    ledger += calls.map { Self.ledgerEntry($0, run: run.id) }
                    let cost = calls.compactMap(\.cost).reduce(0, +) / Double(ask.count)
                    for i in ask { costPerAnswer[i] = cost }
                } else {
                    // A stand-in oracle is priced as the LLM calls it stands for: the same batched prompts.
                    let batch = max(1, task.oracle.batchSize)
                    for chunk in stride(from: 0, to: ask.count, by: batch) {
                        let part = Array(ask[chunk..<min(chunk + batch, ask.count)])
                        let (tin, tout) = tokenModel.batch(part.map { queue[$0].input })
                        let cost = settings.oraclePricing?.cost(inputTokens: tin, outputTokens: tout) ?? 0
                        state.oracleCalls += 1
                        state.inputTokens += tin; state.outputTokens += tout
                        state.oracleCost += cost
                        for i in part { costPerAnswer[i] = cost / Double(part.count) }
                        ledger.append(LedgerEntry(runId: run.id, provider: settings.oracle.name, model: "stand-in", purpose: "oracle",
                                                  inputTokens: tin, outputTokens: tout, estimated: true, latency: 0, cost: cost,
                                                  outcome: "success", cached: false, time: Store.now()))
                    }
                }
            } catch {
                // The oracle is down: requests are still answered; validation backs off and retries later.
                state.oracleFailuresInARow += 1
                let wait = min(settings.batchSize * (1 << min(state.oracleFailuresInARow, 6)), 20_000)
                state.oracleBackoffUntil = (queue.last?.seq ?? 0) + wait
                log?("oracle failed (\(error)); validation pauses for \(wait) requests")
                if let client = settings.oracleClient {
                    let calls = Array(client.ledger.dropFirst(before))
                    account(calls, purposeCost: \.oracleCost)
                    ledger += calls.map { Self.ledgerEntry($0, run: run.id) }
                }
            }
        }
        var items: [BatchItem] = []
        var batchLabels: [String: String] = [:]
        for (i, p) in queue.enumerated() {
            guard let v = verdicts[i] else { if p.sampled { state.unvalidated += 1 }; continue }
            var exec = Execution(runId: run.id!, seq: p.seq, input: JSONWriter.string(p.input), inputHash: hashes[i], output: p.answer.label,
                                 confidence: p.answer.confidence, rule: p.answer.decidedBy, versionId: p.answer.versionId, time: Store.now(),
                                 inclusionProbability: p.sampled ? p.probability : 1, stratum: p.sampled ? p.context.stratum : "shadow", tier: tiers[i])
            exec.inputHash = hashes[i]
            var item = BatchItem(execution: exec)
            if tiers[i] == 3 {
                item.answers.append(OracleAnswer(inputHash: hashes[i], label: v.label, raw: v.raw,
                                                 source: v.source == "labels" ? .labels : .llm, cost: costPerAnswer[i], time: Store.now()))
            }
            guard let label = v.label else {
                state.invalidOracleAnswers += 1
                if p.sampled { state.unvalidated += 1 }
                items.append(item)
                continue
            }
            batchValidated[hashes[i]] = (JSONWriter.string(p.input), label)
            if tiers[i] == 3 {
                let previous = batchLabels[hashes[i]] ?? (try? store.latestLabel(inputHash: hashes[i])) ?? nil
                if let previous, previous != label { state.contradictions += 1 }
                batchLabels[hashes[i]] = label
            }
            if p.sampled { state.validated += 1; if tiers[i] == 3 { state.tier3 += 1 } else { state.tier2 += 1 } }
            let agree = p.answer.label == label
            if !agree && p.answer.versionId == state.activeVersion {
                state.failures.append(Counterexample(input: p.input, programLabel: p.answer.label, expected: label, decidedBy: p.answer.decidedBy))
                if state.failures.count > 200 { state.failures.removeFirst(state.failures.count - 200) }
            }
            item.comparisons.append(Comparison(executionId: 0, versionId: p.answer.versionId, programLabel: p.answer.label, oracleLabel: label,
                                               agree: agree, weight: p.sampled ? 1 / p.probability : 0))
            if let o = p.other {
                item.comparisons.append(Comparison(executionId: 0, versionId: o.versionId, programLabel: o.label, oracleLabel: label,
                                                   agree: o.label == label, weight: 0))
            }
            if p.sampled {
                state.recentValidations.append(Validation(seq: p.seq, input: JSONWriter.string(p.input), programLabel: p.answer.label, oracleLabel: label,
                                                          decidedBy: p.answer.decidedBy, versionId: p.answer.versionId, weight: 1 / p.probability))
                if state.recentValidations.count > 400 { state.recentValidations.removeFirst(state.recentValidations.count - 400) }
                state.sampler.observe(agree: agree, probability: p.probability, context: p.context)
                state.agreement.add(agree: agree, probability: p.probability)
            }
            if var c = state.candidate {
                let candidateAnswer = p.servedByCandidate ? p.answer : p.other
                let activeAnswer = p.servedByCandidate ? p.other : p.answer
                if let ca = candidateAnswer, let aa = activeAnswer, ca.label != aa.label {
                    c.paired.record(candidateCorrect: ca.label == label, currentCorrect: aa.label == label)
                }
                if c.stage == .canary && p.sampled {
                    if p.servedByCandidate { c.canary.add(agree: agree, probability: p.probability) }
                    else { c.base.add(agree: agree, probability: p.probability) }
                }
                state.candidate = c
            }
            items.append(item)
        }
        return (items, answers, ledger)
    }

    func account(_ calls: [CallRecord], purposeCost: WritableKeyPath<DriverState, Double>) {
        for c in calls where !c.cached {
            if c.purpose == .oracle { state.oracleCalls += 1 } else { state.generationCalls += 1 }
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

    /// Commits the batch's rows, the pending writes and the state, in one transaction.
    func commit(cursor: Int, items: [BatchItem], answers: [OracleAnswer] = [], ledger: [LedgerEntry] = []) throws {
        state.cursor = cursor
        let writes = pending
        pending = []
        try store.write { tx in
            for w in writes { try w(tx) }
            let json = String(decoding: try JSONEncoder().encode(self.state), as: UTF8.self)
            _ = try tx.commitBatch(runId: self.run.id!, cursor: cursor, items: items, answers: answers, ledger: ledger, state: json)
        }
        run.cursor = cursor
        batchValidated = [:]
        let after = afterCommit
        afterCommit = []
        for a in after { a() }
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
