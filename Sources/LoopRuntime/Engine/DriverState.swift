import Foundation
import LoopGenerate
import LoopStore
import LoopTask

/// Everything the driver knows between batches. Saved as JSON with every batch, in the same
/// transaction as the batch's rows, so a run killed at any moment resumes from its last commit
/// and counts nothing twice.
public struct DriverState: Codable, Sendable {
    public struct Candidate: Codable, Equatable, Sendable {
        public enum Stage: String, Codable, Sendable { case shadow, canary }
        public var versionId: Int64
        public var stage: Stage
        /// Index into the canary steps (canary only).
        public var step: Int = 0
        public var share: Double = 0
        /// Request at which the current stage or step began.
        public var since: Int
        /// Shadow: disagreements between candidate and active that the oracle settled.
        public var paired = PairedComparison()
        /// Canary: validations of requests the candidate answered, and of those the active one answered.
        public var canary = AgreementEstimator()
        public var base = AgreementEstimator()
        public var why: String
        /// How many more validated inputs it got right than the active version when it was tested.
        public var validatedGain = 0
    }

    /// One point of the time series in the report.
    public struct Point: Codable, Sendable {
        public var requests: Int
        public var agreement: Double?
        public var lower: Double?
        public var upper: Double?
        public var samplingRate: Double
        public var cost: Double
        public var allLLMCost: Double
        public var versionId: Int64
    }

    /// A version event for the timeline.
    public struct Event: Codable, Sendable {
        public var requests: Int
        public var versionId: Int64?
        public var kind: String
        public var detail: String
    }

    public var cursor = 0
    public var activeVersion: Int64
    public var candidate: Candidate?
    public var sampler: Sampler
    /// Run-wide agreement of the served answers with the oracle (never reset).
    public var agreement = AgreementEstimator()
    /// Failed improvement attempts since the last promotion.
    public var attempts = 0
    /// No new attempt before this request (a cool-down after each attempt).
    public var nextAttemptAt = 0
    /// Oracle back-off after failures: no oracle calls before this request.
    public var oracleBackoffUntil = 0
    public var oracleFailuresInARow = 0
    /// Oracle requests that failed (after the client's retries), and the oracle's time in seconds.
    public var oracleErrors = 0
    public var oracleSeconds = 0.0
    /// Inputs the promoted versions fixed (hashes): a candidate must keep them right.
    public var fixed: Set<String> = []
    /// The latest validations of served answers (both outcomes), newest last, for failure analysis.
    public var recentValidations: [Validation] = []
    /// Recent inputs the active version got wrong (validated), newest last.
    public var failures: [Counterexample] = []
    /// Escalation causes already opened (each is opened once until resolved).
    public var escalated: Set<String> = []

    // Counts.
    public var requests = 0
    public var inputErrors = 0
    public var sampled = 0
    public var validated = 0
    /// Samples that reached the LLM/labels oracle (tier 3), answered from stored answers (tier 2).
    public var tier3 = 0
    public var tier2 = 0
    public var shadowQueries = 0
    public var unvalidated = 0
    public var invalidOracleAnswers = 0
    public var oracleCalls = 0
    public var generationCalls = 0
    public var contradictions = 0
    /// Stored oracle answers looked up (every 50th is asked again).
    public var storedAnswerLookups = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var promoted = 0
    public var rolledBack = 0
    public var rejected = 0
    public var escalations = 0
    /// Correct answers against the true labels, when the stream has them.
    public var trueCorrect = 0
    public var trueTotal = 0

    // Money.
    public var oracleCost = 0.0
    public var generationCost = 0.0
    /// CPU seconds of the program path (classification) and of building programs (checks, JIT, inducer).
    public var programSeconds = 0.0
    public var buildSeconds = 0.0
    /// What calling the LLM on every request would have cost.
    public var allLLMCost = 0.0
    /// The first request count at which the program path had cost less in total than the all-LLM path.
    public var breakEvenAt: Int?

    /// Ground-truth labels received as feedback, and how many of them the program's answer matched.
    public var feedback = 0
    public var feedbackAgreed = 0
    /// Samples dropped because the validation queue was full.
    public var dropped = 0
    /// Samples counted but lost with a killed process (before their batch was committed).
    public var lostOnRestart = 0
    /// An operator paused validation and improvement (requests are still answered).
    public var paused = false

    public var latency = LatencyHistogram()
    /// One point per committed step, as stored in the timeline table; in memory halved (every
    /// other point kept) past `timelineLimit`. Not saved with the state (it has its own table):
    /// encoded empty, and a state saved before the table existed still gives its points.
    public var timeline: Timeline = []
    public var events: [Event] = []
}

/// The in-memory timeline: encoded as an empty list (the points are rows of their own).
public struct Timeline: Codable, Sendable, RandomAccessCollection, RangeReplaceableCollection, ExpressibleByArrayLiteral {
    public var points: [DriverState.Point] = []
    public init() {}
    public init(arrayLiteral elements: DriverState.Point...) { points = elements }
    public init(from decoder: Decoder) throws { points = try [DriverState.Point](from: decoder) }
    public func encode(to encoder: Encoder) throws { try [DriverState.Point]().encode(to: encoder) }
    public var startIndex: Int { points.startIndex }
    public var endIndex: Int { points.endIndex }
    public subscript(i: Int) -> DriverState.Point {
        get { points[i] }
        set { points[i] = newValue }
    }
    public mutating func replaceSubrange<C: Collection>(_ r: Range<Int>, with c: C) where C.Element == DriverState.Point {
        points.replaceSubrange(r, with: c)
    }
}

extension DriverState.Point {
    init(_ p: TimelinePoint) {
        self.init(requests: p.requests, agreement: p.agreement, lower: p.lower, upper: p.upper,
                  samplingRate: p.samplingRate, cost: p.cost, allLLMCost: p.allLLMCost, versionId: p.versionId)
    }
}

extension DriverState {
    /// Points kept in memory (the table keeps all of them).
    static let timelineLimit = 2000

    /// Every other point, the newest always kept: a long-running server's timeline stays bounded.
    static func thinned(_ t: Timeline) -> Timeline {
        guard let last = t.last else { return t }
        var out = Timeline(stride(from: 0, to: t.count - 1, by: 2).map { t[$0] })
        out.append(last)
        return out
    }
}

/// Request latencies in logarithmic buckets (4 per power of two, from 1 ns), for p50/p99.
public struct LatencyHistogram: Codable, Sendable {
    public var counts: [Int] = Array(repeating: 0, count: 160)
    public var total = 0

    public mutating func add(nanoseconds: UInt64) {
        let x = Double(max(nanoseconds, 1))
        let b = min(counts.count - 1, max(0, Int((log2(x) * 4).rounded(.down))))
        counts[b] += 1
        total += 1
    }

    /// The upper edge of the bucket holding the q-quantile, in nanoseconds.
    public func quantile(_ q: Double) -> Double? {
        guard total > 0 else { return nil }
        let target = Int((Double(total) * q).rounded(.up))
        var seen = 0
        for (i, c) in counts.enumerated() {
            seen += c
            if seen >= max(target, 1) { return pow(2, Double(i + 1) / 4) }
        }
        return nil
    }
}

extension DriverState {
    /// Reads a saved state. A state saved by an older build may lack fields added since: those
    /// (at the top level) take their defaults, so an upgraded server or `--resume` continues its
    /// runs instead of refusing them. Any other mismatch is an error.
    public static func decode(_ json: String) throws -> DriverState {
        let data = Data(json.utf8)
        do {
            return try JSONDecoder().decode(DriverState.self, from: data)
        } catch DecodingError.keyNotFound(let key, let context) where context.codingPath.isEmpty {
            guard var saved = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw DecodingError.keyNotFound(key, context) }
            let fresh = DriverState(activeVersion: 0, sampler: Sampler(configuration: SamplerConfiguration(policy: ValidationPolicy()), seed: 0))
            guard let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(fresh)) as? [String: Any] else { throw DecodingError.keyNotFound(key, context) }
            for (k, v) in defaults where saved[k] == nil { saved[k] = v }
            return try JSONDecoder().decode(DriverState.self, from: JSONSerialization.data(withJSONObject: saved))
        }
    }
}
