import Foundation

// The values of the validation store: plain structs, the same for every backend (SQLite and
// PostgreSQL map them to rows of their own; no database type appears here). Ids are assigned by
// the store on insert. Every record belongs to a task: `task` is filled in by the `TaskStore` that
// writes it, whatever the caller set. Timestamps are seconds since 1970.

/// Where a program version is in its life.
public enum VersionStatus: String, Codable, Sendable, CaseIterable {
    case candidate, shadow, canary, active, retired, rejected
    case rolledBack = "rolled_back"
}

/// A program, as generated or repaired, with where it came from.
public struct ProgramVersion: Codable, Equatable, Sendable {
    public var id: Int64?
    /// The task the record belongs to (set by the store on insert).
    public var task: String = ""
    /// `Store.hash(source)` unless given: FNV-1a 64 of the UTF-8 source, as `TypedProgram.sourceHash`.
    public var hash: String
    public var source: String
    public var parentId: Int64?
    /// Free text or JSON: generator, provider, model, rounds, reason.
    public var provenance: String
    public var status: VersionStatus
    public var createdAt: Double
    /// The share of live traffic while in canary (0...1).
    public var canaryShare: Double
    public var note: String?

    public init(id: Int64? = nil, hash: String? = nil, source: String, parentId: Int64? = nil, provenance: String = "",
                status: VersionStatus = .candidate, createdAt: Double = Store.now(), canaryShare: Double = 0, note: String? = nil) {
        self.id = id; self.hash = hash ?? Store.hash(source); self.source = source; self.parentId = parentId
        self.provenance = provenance; self.status = status; self.createdAt = createdAt; self.canaryShare = canaryShare; self.note = note
    }
}

/// One `loopai loop` run over a stream. `cursor` is the index of the next stream input to process:
/// it only moves inside `Store.commitBatch`, together with everything the batch produced.
public struct Run: Codable, Equatable, Sendable {
    public var id: Int64?
    public var taskName: String
    public var streamPath: String
    public var startedAt: Double
    /// The run's configuration as JSON text.
    public var config: String
    public var cursor: Int
    public var finishedAt: Double?
    /// The driver's state after the last committed batch (JSON), for `--resume`.
    public var state: String?

    public init(id: Int64? = nil, taskName: String, streamPath: String, startedAt: Double = Store.now(), config: String = "{}",
                cursor: Int = 0, finishedAt: Double? = nil, state: String? = nil) {
        self.id = id; self.taskName = taskName; self.streamPath = streamPath; self.startedAt = startedAt
        self.config = config; self.cursor = cursor; self.finishedAt = finishedAt; self.state = state
    }
}

/// A stored execution: only sampled inputs (and shadow disagreements) are stored, not every request.
public struct Execution: Codable, Equatable, Sendable {
    public var id: Int64?
    /// The task the record belongs to (set by the store on insert).
    public var task: String = ""
    public var runId: Int64
    /// The input's index in the stream; unique per run.
    public var seq: Int
    /// The input record as JSON text (canonical, so equal inputs hash equally).
    public var input: String
    /// `Store.hash(input)` unless given; validated inputs are deduplicated by it.
    public var inputHash: String
    /// The label the program answered.
    public var output: String
    public var confidence: Double?
    /// The deciding rule's name; nil for the fallback.
    public var rule: String?
    public var versionId: Int64
    public var time: Double
    /// The probability with which this input was sampled (its weight is the inverse).
    public var inclusionProbability: Double
    public var stratum: String
    /// How far validation went: 1, 2 or 3.
    public var tier: Int
    /// The request's id (the caller's, the server's, or the replay's line number).
    public var requestId: String?

    public init(id: Int64? = nil, runId: Int64, seq: Int, input: String, inputHash: String? = nil, output: String,
                confidence: Double? = nil, rule: String? = nil, versionId: Int64, time: Double = Store.now(),
                inclusionProbability: Double = 1, stratum: String = "", tier: Int = 1) {
        self.id = id; self.runId = runId; self.seq = seq; self.input = input; self.inputHash = inputHash ?? Store.hash(input)
        self.output = output; self.confidence = confidence; self.rule = rule; self.versionId = versionId; self.time = time
        self.inclusionProbability = inclusionProbability; self.stratum = stratum; self.tier = tier
    }
}

/// Where an oracle answer came from.
public enum AnswerSource: String, Codable, Sendable, CaseIterable {
    case llm, labels, cache
    /// Ground truth from the application or a reviewer (`POST /v1/tasks/{task}/feedback`).
    case feedback
}

/// The oracle's answer for one input.
public struct OracleAnswer: Codable, Equatable, Sendable {
    public var id: Int64?
    /// The task the record belongs to (set by the store on insert).
    public var task: String = ""
    public var executionId: Int64?
    public var inputHash: String
    /// nil when the reply was not a valid label.
    public var label: String?
    public var raw: String
    public var source: AnswerSource
    public var cost: Double
    public var time: Double
    /// The input as JSON text, for answers without a stored execution (feedback).
    public var input: String?

    public init(id: Int64? = nil, executionId: Int64? = nil, inputHash: String, label: String?, raw: String = "",
                source: AnswerSource = .llm, cost: Double = 0, time: Double = Store.now(), input: String? = nil) {
        self.id = id; self.executionId = executionId; self.inputHash = inputHash; self.label = label; self.raw = raw
        self.source = source; self.cost = cost; self.time = time; self.input = input
    }
}

/// A program's label against the oracle's, for one stored execution.
public struct Comparison: Codable, Equatable, Sendable {
    public var id: Int64?
    /// The task the record belongs to (set by the store on insert).
    public var task: String = ""
    public var executionId: Int64
    public var versionId: Int64
    public var programLabel: String
    public var oracleLabel: String
    public var agree: Bool
    /// 1 / inclusion probability.
    public var weight: Double

    public init(id: Int64? = nil, executionId: Int64 = 0, versionId: Int64, programLabel: String, oracleLabel: String,
                agree: Bool? = nil, weight: Double = 1) {
        self.id = id; self.executionId = executionId; self.versionId = versionId; self.programLabel = programLabel
        self.oracleLabel = oracleLabel; self.agree = agree ?? (programLabel == oracleLabel); self.weight = weight
    }
}

/// One LLM call (successful or not), as `LoopLLM.CallRecord` plus the run and time.
public struct LedgerEntry: Codable, Equatable, Sendable {
    public var id: Int64?
    /// The task the record belongs to (set by the store on insert).
    public var task: String = ""
    public var runId: Int64?
    public var provider: String
    public var model: String
    /// generate | repair | oracle (`LoopLLM.CallPurpose.rawValue`).
    public var purpose: String
    public var inputTokens: Int
    public var outputTokens: Int
    public var estimated: Bool
    public var latency: Double
    /// nil when no pricing is known for the model.
    public var cost: Double?
    /// "success" or the (redacted) error text.
    public var outcome: String
    public var cached: Bool
    public var time: Double

    public init(id: Int64? = nil, runId: Int64? = nil, provider: String, model: String, purpose: String, inputTokens: Int = 0,
                outputTokens: Int = 0, estimated: Bool = false, latency: Double = 0, cost: Double? = nil,
                outcome: String = "success", cached: Bool = false, time: Double = Store.now()) {
        self.id = id; self.runId = runId; self.provider = provider; self.model = model; self.purpose = purpose
        self.inputTokens = inputTokens; self.outputTokens = outputTokens; self.estimated = estimated; self.latency = latency
        self.cost = cost; self.outcome = outcome; self.cached = cached; self.time = time
    }
}

/// A rollout step for a candidate version.
public enum RolloutStage: String, Codable, Sendable, CaseIterable {
    case shadow, canary, promoted, rejected
    case rolledBack = "rolled_back"
}

public struct Rollout: Codable, Equatable, Sendable {
    public var id: Int64?
    /// The task the record belongs to (set by the store on insert).
    public var task: String = ""
    public var candidateId: Int64
    /// The version the candidate is measured against (the active one); nil for the first version.
    public var baseId: Int64?
    public var stage: RolloutStage
    /// The candidate's traffic share at this step (0...1).
    public var share: Double
    public var time: Double
    /// The statistics behind the decision, as JSON text.
    public var evidence: String

    public init(id: Int64? = nil, candidateId: Int64, baseId: Int64? = nil, stage: RolloutStage, share: Double = 0,
                time: Double = Store.now(), evidence: String = "{}") {
        self.id = id; self.candidateId = candidateId; self.baseId = baseId; self.stage = stage; self.share = share
        self.time = time; self.evidence = evidence
    }
}

public enum EscalationStatus: String, Codable, Sendable, CaseIterable {
    case open, resolved
}

/// A ticket for a human: the loop could not fix something by itself.
public struct Escalation: Codable, Equatable, Sendable {
    public var id: Int64?
    /// The task the record belongs to (set by the store on insert).
    public var task: String = ""
    public var runId: Int64?
    public var status: EscalationStatus
    public var reason: String
    public var createdAt: Double
    public var resolvedAt: Double?
    public var ticketMarkdown: String
    public var ticketJSON: String
    /// The version that resolved it, if any.
    public var resolutionVersionId: Int64?

    public init(id: Int64? = nil, runId: Int64? = nil, status: EscalationStatus = .open, reason: String,
                createdAt: Double = Store.now(), resolvedAt: Double? = nil, ticketMarkdown: String = "",
                ticketJSON: String = "{}", resolutionVersionId: Int64? = nil) {
        self.id = id; self.runId = runId; self.status = status; self.reason = reason; self.createdAt = createdAt
        self.resolvedAt = resolvedAt; self.ticketMarkdown = ticketMarkdown; self.ticketJSON = ticketJSON
        self.resolutionVersionId = resolutionVersionId
    }
}

/// A sampled execution with what its validation produced; `Store.commitBatch` fills in the
/// `executionId` of the answers and comparisons.
public struct BatchItem: Sendable, Equatable {
    public var execution: Execution
    public var answers: [OracleAnswer]
    public var comparisons: [Comparison]

    public init(execution: Execution, answers: [OracleAnswer] = [], comparisons: [Comparison] = []) {
        self.execution = execution; self.answers = answers; self.comparisons = comparisons
    }
}

/// An input the oracle labeled, deduplicated by input hash (the latest valid answer wins).
public struct ValidatedInput: Sendable, Equatable {
    public var inputHash: String
    public var input: String
    public var label: String

    public init(inputHash: String, input: String, label: String) { self.inputHash = inputHash; self.input = input; self.label = label }
}

/// Ledger sums for one purpose.
public struct LedgerTotals: Sendable, Equatable {
    public var calls = 0
    public var failures = 0
    public var cachedCalls = 0
    public var inputTokens = 0
    public var outputTokens = 0
    /// The sum of known costs.
    public var cost = 0.0
    /// Calls with no known pricing (not in `cost`).
    public var unpricedCalls = 0

    public init() {}
}

/// One point of a run's time series (agreement with its interval, sampling rate, costs), written
/// with each committed step; the dashboard and the report draw it.
public struct TimelinePoint: Codable, Equatable, Sendable {
    public var id: Int64?
    public var task: String = ""
    public var runId: Int64
    public var requests: Int
    public var agreement: Double?
    public var lower: Double?
    public var upper: Double?
    public var samplingRate: Double
    public var cost: Double
    public var allLLMCost: Double
    public var versionId: Int64
    public var time: Double

    public init(id: Int64? = nil, runId: Int64, requests: Int, agreement: Double?, lower: Double?, upper: Double?,
                samplingRate: Double, cost: Double, allLLMCost: Double, versionId: Int64, time: Double = Store.now()) {
        self.id = id; self.runId = runId; self.requests = requests; self.agreement = agreement; self.lower = lower; self.upper = upper
        self.samplingRate = samplingRate; self.cost = cost; self.allLLMCost = allLLMCost; self.versionId = versionId; self.time = time
    }
}
