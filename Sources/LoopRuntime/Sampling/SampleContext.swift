/// What the sampler knows about one live execution when deciding whether to validate it.
public struct SampleContext: Codable, Equatable, Sendable {
    /// The label the program predicted.
    public var label: String
    /// The rule that decided (nil: the program's default branch).
    public var rule: String?
    /// The program's confidence in [0, 1] (1 when the program gives none).
    public var confidence: Double
    /// When the input arrived, in seconds on the caller's clock (any origin; non-decreasing).
    /// The sampler never reads a clock itself.
    public var time: Double

    public init(label: String, rule: String? = nil, confidence: Double = 1, time: Double) {
        self.label = label; self.rule = rule; self.confidence = confidence; self.time = time
    }

    /// The stratum key, "label|rule" ("label|" for the default branch).
    public var stratum: String { label + "|" + (rule ?? "") }
}

/// The sampler's answer for one input.
public struct SamplingDecision: Codable, Equatable, Sendable {
    /// Send this input to the oracle.
    public var sampled: Bool
    /// The inclusion probability actually applied to this input (after pacing). Record it with
    /// the sample: estimates weight each validation by 1 / probability. Always > 0.
    public var probability: Double
    /// True when the oracle budget had no room when this input arrived, so it could not be
    /// sampled whatever the draw (if the draw selected it, it counts in `Sampler.skippedByBudget`).
    public var budgetExhausted: Bool

    public init(sampled: Bool, probability: Double, budgetExhausted: Bool = false) {
        self.sampled = sampled; self.probability = probability; self.budgetExhausted = budgetExhausted
    }
}
