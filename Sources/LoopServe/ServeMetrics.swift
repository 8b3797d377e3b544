import Foundation
import LoopRuntime
import Prometheus

/// The server's Prometheus metrics (swift-prometheus). Requests and latencies are recorded as they
/// happen; the validation pipeline's counts are taken from each task's state when /metrics is read.
final class ServeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private struct RequestKey: Hashable { var task: String; var version: Int64; var label: String; var decidedBy: String }
    private let requestCounters = Locked<[RequestKey: Counter]>([:])
    private let errors = Locked<[String: Counter]>([:])
    /// The last exported value of each state count, so counters advance by the difference.
    private let exported = Locked<[String: Double]>([:])
    /// Classify requests answered on the event loop (`ClassifyChannelHandler`); the others took Hummingbird's route.
    let onEventLoop: Counter

    init() {
        onEventLoop = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "loopai_classify_on_event_loop", unitName: "total",
                                                                            helpText: "Classify requests answered on the event loop; the others took Hummingbird's route (Docs/serve.md)."))
    }

    static let buckets: [Duration] = [.microseconds(5), .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100),
                                      .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
                                      .milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1)]

    func request(task: String, version: Int64, label: String, decidedBy: String, count: Int = 1) {
        requestCounter(task: task, version: version, label: label, decidedBy: decidedBy).increment(by: Int64(count))
    }

    /// The counter of requests answered by `version` with `label`, decided by `decidedBy`.
    func requestCounter(task: String, version: Int64, label: String, decidedBy: String) -> Counter {
        let key = RequestKey(task: task, version: version, label: label, decidedBy: decidedBy)
        return requestCounters.withLock { m -> Counter in
            if let c = m[key] { return c }
            let c = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "loopai_requests", unitName: "total", helpText: "Requests answered, by task, version, label and deciding rule."),
                                         labels: [("task", task), ("version", "v\(version)"), ("label", label), ("decided_by", decidedBy)])
            m[key] = c
            return c
        }
    }

    /// A task's request latency histograms (single, batch); `ServedTask` keeps them.
    func latencyHistograms(task: String) -> (single: DurationHistogram, batch: DurationHistogram) {
        func make(_ name: String, _ help: String) -> DurationHistogram {
            registry.makeDurationHistogram(descriptor: MetricNameDescriptor(metricName: name, unitName: "seconds", helpText: help),
                                           labels: [("task", task)], buckets: Self.buckets)
        }
        return (make("loopai_request_duration", "Time from a request's body to its answer (decode, classify, encode)."),
                make("loopai_batch_request_duration", "Time from a batch request's body to its answers."))
    }

    func error(task: String, kind: String) {
        let key = task + "\u{0}" + kind
        let c = errors.withLock { m -> Counter in
            if let c = m[key] { return c }
            let c = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "loopai_request_errors", unitName: "total", helpText: "Requests refused, by task and kind."),
                                         labels: [("task", task), ("kind", kind)])
            m[key] = c
            return c
        }
        c.increment()
    }

    /// Brings the state-derived metrics of a task up to date.
    func update(task: String, state s0: DriverState, live: (requests: Int, sampled: Int, dropped: Int, queued: Int, unvalidated: Int),
                stepFailures: Int, confidence: Double) {
        var s = s0
        s.sampled = live.sampled; s.dropped = live.dropped; s.unvalidated = live.unvalidated
        let queued = live.queued
        let counts: [(String, String, Double)] = [
            ("loopai_samples_sampled_total", "Requests the sampler chose for validation.", Double(s.sampled)),
            ("loopai_samples_validated_total", "Samples validated (stored answers and oracle).", Double(s.validated)),
            ("loopai_samples_dropped_total", "Samples dropped because the validation queue was full.", Double(s.dropped)),
            ("loopai_samples_unvalidated_total", "Samples not validated (oracle down, invalid answer, dropped).", Double(s.unvalidated)),
            ("loopai_oracle_calls_total", "Oracle requests made.", Double(s.oracleCalls)),
            ("loopai_oracle_errors_total", "Oracle requests that failed.", Double(s.oracleErrors)),
            ("loopai_oracle_invalid_answers_total", "Oracle answers that were not one of the task's labels (or missing).", Double(s.invalidOracleAnswers)),
            ("loopai_oracle_seconds_total", "Time spent waiting for the oracle.", s.oracleSeconds),
            ("loopai_oracle_cost_dollars_total", "Money spent on the oracle.", s.oracleCost),
            ("loopai_generation_cost_dollars_total", "Money spent generating programs.", s.generationCost),
            ("loopai_all_llm_cost_dollars_total", "What calling the LLM on every request would have cost.", s.allLLMCost),
            ("loopai_promotions_total", "Candidates promoted.", Double(s.promoted)),
            ("loopai_rollbacks_total", "Candidates rolled back.", Double(s.rolledBack)),
            ("loopai_escalations_total", "Escalations opened.", Double(s.escalations)),
            ("loopai_feedback_total", "Ground-truth labels received as feedback.", Double(s.feedback)),
            ("loopai_control_step_failures_total", "Control steps that failed (store errors).", Double(stepFailures)),
        ]
        for (name, help, value) in counts {
            let key = task + "\u{0}" + name
            let delta = exported.withLock { m -> Double in
                let d = value - (m[key] ?? 0)
                if d > 0 { m[key] = value }
                return d
            }
            guard delta > 0 else { continue }
            let base = String(name.dropLast(6))  // the registry appends the unit
            registry.makeCounter(descriptor: MetricNameDescriptor(metricName: base, unitName: "total", helpText: help), labels: [("task", task)]).increment(by: delta)
        }
        let interval = s.agreement.interval(level: confidence)
        let gauges: [(String, String, Double?)] = [
            ("loopai_agreement", "Importance-weighted agreement of the served answers with the oracle.", s.agreement.estimate),
            ("loopai_agreement_lower", "Lower bound of the agreement's confidence interval.", interval?.lower),
            ("loopai_sampling_rate", "Realized mean sampling probability.", s.sampler.meanProbability),
            ("loopai_queue_depth", "Samples waiting for validation.", Double(queued)),
            ("loopai_active_version", "The active program version.", Double(s.activeVersion)),
            ("loopai_candidate_share", "Share of traffic the candidate answers (0 in shadow or without one).", s.candidate?.share ?? 0),
        ]
        for (name, help, value) in gauges {
            guard let value, value.isFinite else { continue }
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, helpText: help), labels: [("task", task)]).set(value)
        }
    }

    func text() -> [UInt8] { registry.emitToBuffer() }
}
