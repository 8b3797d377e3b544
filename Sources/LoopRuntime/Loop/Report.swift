import Foundation
import LoopData

/// The final table of `loopai loop` and its JSON form (field names are documented in
/// Docs/loop.md and never change).
public struct LoopReport {
    public var task: String
    public var state: DriverState
    public var totalCost: Double
    public var confidence: Double
    public var cpuPricePerHour: Double
    public var oracle: String
    public var generator: String
    public var strategy: String
    public var rate: Double

    public init(task: String, state: DriverState, totalCost: Double, confidence: Double, cpuPricePerHour: Double,
                oracle: String, generator: String, strategy: String, rate: Double) {
        self.task = task; self.state = state; self.totalCost = totalCost; self.confidence = confidence
        self.cpuPricePerHour = cpuPricePerHour; self.oracle = oracle; self.generator = generator; self.strategy = strategy; self.rate = rate
    }

    public var costFraction: Double? { state.allLLMCost > 0 ? totalCost / state.allLLMCost : nil }
    public var interval: ConfidenceInterval? { state.agreement.interval(level: confidence) }
    public var accuracy: Double? { state.trueTotal > 0 ? Double(state.trueCorrect) / Double(state.trueTotal) : nil }
    public var tier3Share: Double? { state.sampled > 0 ? Double(state.tier3) / Double(state.sampled) : nil }

    public var json: JSON {
        func num(_ x: Double?) -> JSON { x.map { .number($0) } ?? .null }
        let i = interval
        return .object([
            ("task", JSON(task)), ("oracle", JSON(oracle)), ("generator", JSON(generator)), ("strategy", JSON(strategy)),
            ("sampling_rate", .number(rate)), ("realized_sampling_rate", .number(state.sampler.meanProbability)),
            ("requests", .number(Double(state.requests))), ("program_answers", .number(Double(state.requests - state.inputErrors))),
            ("input_errors", .number(Double(state.inputErrors))),
            ("sampled", .number(Double(state.sampled))), ("validated", .number(Double(state.validated))),
            ("tier2_validations", .number(Double(state.tier2))), ("tier3_validations", .number(Double(state.tier3))),
            ("tier3_share", num(tier3Share)), ("shadow_queries", .number(Double(state.shadowQueries))),
            ("unvalidated", .number(Double(state.unvalidated))), ("invalid_oracle_answers", .number(Double(state.invalidOracleAnswers))),
            ("skipped_by_budget", .number(Double(state.sampler.skippedByBudget))),
            ("oracle_calls", .number(Double(state.oracleCalls))), ("generation_calls", .number(Double(state.generationCalls))),
            ("input_tokens", .number(Double(state.inputTokens))), ("output_tokens", .number(Double(state.outputTokens))),
            ("oracle_cost", .number(state.oracleCost)), ("generation_cost", .number(state.generationCost)),
            ("cpu_seconds", .number(state.programSeconds + state.buildSeconds)),
            ("cpu_cost", .number((state.programSeconds + state.buildSeconds) * cpuPricePerHour / 3600)),
            ("cost", .number(totalCost)), ("all_llm_cost", .number(state.allLLMCost)),
            ("cost_fraction", num(costFraction)), ("cost_reduction", num(costFraction.map { 1 - $0 })),
            ("break_even_at", state.breakEvenAt.map { .number(Double($0)) } ?? .null),
            ("agreement", num(state.agreement.estimate)), ("agreement_lower", num(i?.lower)), ("agreement_upper", num(i?.upper)),
            ("confidence_level", .number(confidence)),
            ("accuracy", num(accuracy)), ("labeled_requests", .number(Double(state.trueTotal))),
            ("versions_promoted", .number(Double(state.promoted))), ("versions_rolled_back", .number(Double(state.rolledBack))),
            ("candidates_rejected", .number(Double(state.rejected))), ("escalations", .number(Double(state.escalations))),
            ("active_version", .number(Double(state.activeVersion))),
            ("latency_p50_ns", num(state.latency.quantile(0.5))), ("latency_p99_ns", num(state.latency.quantile(0.99))),
        ])
    }

    public var text: String {
        func pct(_ x: Double?) -> String { x.map { String(format: "%.2f%%", $0 * 100) } ?? "n/a" }
        func money(_ x: Double) -> String { String(format: "$%.6f", x) }
        func ns(_ x: Double?) -> String {
            guard let x else { return "n/a" }
            return x < 1000 ? String(format: "%.0f ns", x) : x < 1e6 ? String(format: "%.1f µs", x / 1000) : String(format: "%.2f ms", x / 1e6)
        }
        var rows: [(String, String)] = [
            ("requests", "\(state.requests)"),
            ("program answers", "\(state.requests - state.inputErrors)" + (state.inputErrors > 0 ? " (\(state.inputErrors) bad inputs)" : "")),
            ("sampled for validation", "\(state.sampled) (" + pct(state.sampler.meanProbability) + " realized, \(strategy) at " + pct(rate) + ")"),
            ("validated", "\(state.validated): \(state.tier2) from stored answers (tier 2), \(state.tier3) by the oracle (tier 3, " + pct(tier3Share) + " of samples)"),
            ("shadow disagreements sent to the oracle", "\(state.shadowQueries)"),
            ("unvalidated samples", "\(state.unvalidated)" + (state.invalidOracleAnswers > 0 ? " (\(state.invalidOracleAnswers) invalid oracle answers)" : "")
                + (state.sampler.skippedByBudget > 0 ? "; \(state.sampler.skippedByBudget) more drawn but over the oracle budget" : "")),
            ("oracle calls", "\(state.oracleCalls) (\(oracle))"),
            ("generation calls", "\(state.generationCalls) (\(generator))"),
            ("tokens", "\(state.inputTokens) in, \(state.outputTokens) out"),
            ("cost", money(totalCost) + " = oracle " + money(state.oracleCost) + " + generation " + money(state.generationCost)
                + " + CPU " + money((state.programSeconds + state.buildSeconds) * cpuPricePerHour / 3600)),
            ("all-LLM cost", money(state.allLLMCost)),
            ("cost vs all-LLM", pct(costFraction) + (costFraction.map { String(format: " (%.1f%% reduction)", (1 - $0) * 100) } ?? "")),
            ("break-even", state.breakEvenAt.map { "after \($0) requests" } ?? "not reached"),
            ("agreement with the oracle", pct(state.agreement.estimate) + (interval.map { String(format: " (%.0f%% CI %.2f%%–%.2f%%)", confidence * 100, $0.lower * 100, $0.upper * 100) } ?? "")),
            ("accuracy (true labels)", accuracy.map { pct($0) + " on \(state.trueTotal)" } ?? "unknown"),
            ("versions promoted / rolled back", "\(state.promoted) / \(state.rolledBack) (\(state.rejected) candidates rejected; active v\(state.activeVersion))"),
            ("escalations opened", "\(state.escalations)"),
            ("program latency p50 / p99", ns(state.latency.quantile(0.5)) + " / " + ns(state.latency.quantile(0.99))),
        ]
        if state.requests == 0 { rows = [("requests", "0")] }
        let w = rows.map(\.0.count).max() ?? 0
        return "loop report: \(task)\n" + rows.map { $0.0.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n") + "\n"
    }
}
