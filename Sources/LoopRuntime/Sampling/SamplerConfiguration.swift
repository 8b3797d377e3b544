import LoopTask

/// Everything the `Sampler` needs: the task's `ValidationPolicy` plus tuning knobs with
/// sensible defaults.
public struct SamplerConfiguration: Codable, Equatable, Sendable {
    public var strategy: SamplingStrategyKind
    /// Base sampling rate in (0, 1].
    public var rate: Double
    /// Stratified: every stratum (label, rule) is sampled with probability 1 until this many of
    /// its inputs have been sent to the oracle.
    public var minPerStratum: Int
    /// Adaptive: the agreement the interval's lower bound must stay above for the rate to fall.
    public var targetAgreement: Double
    /// Confidence level of the intervals (e.g. 0.95).
    public var confidence: Double
    /// Oracle calls per sliding hour (nil: unlimited).
    public var callsPerHour: Int?
    /// Oracle money per sliding day (nil: unlimited).
    public var costPerDay: Double?
    /// No input is sampled with probability below `rate × floorFraction` (before pacing), so every
    /// input has a nonzero inclusion probability, which the weighted estimates need.
    public var floorFraction: Double = 0.1
    /// Uncertainty: the weight of an input is (1 − confidence) + `uncertaintyFloor`, so even fully
    /// confident inputs keep some chance.
    public var uncertaintyFloor: Double = 0.1
    /// Adaptive: the rate is revisited after every `adaptiveStep` validations...
    public var adaptiveStep: Int = 20
    /// ...from the interval over the last `adaptiveWindow` validations.
    public var adaptiveWindow: Int = 200
    /// Adaptive: the factor applied when the lower bound is above target.
    public var adaptiveDecrease: Double = 0.8
    /// Adaptive: the factor applied when it is not.
    public var adaptiveIncrease: Double = 1.5
    /// Adaptive: the rate stays within [rate × floorFraction, min(1, rate × adaptiveMaxFactor)].
    public var adaptiveMaxFactor: Double = 4
    /// Scale probabilities down ahead of the budget instead of only hitting the hard cap.
    public var pacing: Bool = true

    public init(strategy: SamplingStrategyKind = .random, rate: Double = 0.05, minPerStratum: Int = 5,
                targetAgreement: Double = 0.95, confidence: Double = 0.95,
                callsPerHour: Int? = nil, costPerDay: Double? = nil) {
        self.strategy = strategy; self.rate = rate; self.minPerStratum = minPerStratum
        self.targetAgreement = targetAgreement; self.confidence = confidence
        self.callsPerHour = callsPerHour; self.costPerDay = costPerDay
    }

    /// The configuration a task's validation policy asks for.
    public init(policy: ValidationPolicy) {
        self.init(strategy: policy.strategy, rate: policy.rate, minPerStratum: policy.minPerStratum,
                  targetAgreement: policy.targetAgreement, confidence: policy.confidence,
                  callsPerHour: policy.maxOracleCallsPerHour, costPerDay: policy.maxCostPerDay)
        pacing = policy.pacing
    }

    private enum CodingKeys: String, CodingKey {
        case strategy, rate, minPerStratum, targetAgreement, confidence, callsPerHour, costPerDay, floorFraction,
             uncertaintyFloor, adaptiveStep, adaptiveWindow, adaptiveDecrease, adaptiveIncrease, adaptiveMaxFactor, pacing
    }

    // `SamplingStrategyKind` is not Codable (it lives in LoopTask), so it goes by its raw value.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .strategy)
        guard let strategy = SamplingStrategyKind(rawValue: name) else {
            throw DecodingError.dataCorruptedError(forKey: .strategy, in: c, debugDescription: "unknown sampling strategy `\(name)`")
        }
        self.init(strategy: strategy, rate: try c.decode(Double.self, forKey: .rate),
                  minPerStratum: try c.decode(Int.self, forKey: .minPerStratum),
                  targetAgreement: try c.decode(Double.self, forKey: .targetAgreement),
                  confidence: try c.decode(Double.self, forKey: .confidence),
                  callsPerHour: try c.decodeIfPresent(Int.self, forKey: .callsPerHour),
                  costPerDay: try c.decodeIfPresent(Double.self, forKey: .costPerDay))
        floorFraction = try c.decodeIfPresent(Double.self, forKey: .floorFraction) ?? floorFraction
        uncertaintyFloor = try c.decodeIfPresent(Double.self, forKey: .uncertaintyFloor) ?? uncertaintyFloor
        adaptiveStep = try c.decodeIfPresent(Int.self, forKey: .adaptiveStep) ?? adaptiveStep
        adaptiveWindow = try c.decodeIfPresent(Int.self, forKey: .adaptiveWindow) ?? adaptiveWindow
        adaptiveDecrease = try c.decodeIfPresent(Double.self, forKey: .adaptiveDecrease) ?? adaptiveDecrease
        adaptiveIncrease = try c.decodeIfPresent(Double.self, forKey: .adaptiveIncrease) ?? adaptiveIncrease
        adaptiveMaxFactor = try c.decodeIfPresent(Double.self, forKey: .adaptiveMaxFactor) ?? adaptiveMaxFactor
        pacing = try c.decodeIfPresent(Bool.self, forKey: .pacing) ?? pacing
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(strategy.rawValue, forKey: .strategy)
        try c.encode(rate, forKey: .rate)
        try c.encode(minPerStratum, forKey: .minPerStratum)
        try c.encode(targetAgreement, forKey: .targetAgreement)
        try c.encode(confidence, forKey: .confidence)
        try c.encodeIfPresent(callsPerHour, forKey: .callsPerHour)
        try c.encodeIfPresent(costPerDay, forKey: .costPerDay)
        try c.encode(floorFraction, forKey: .floorFraction)
        try c.encode(uncertaintyFloor, forKey: .uncertaintyFloor)
        try c.encode(adaptiveStep, forKey: .adaptiveStep)
        try c.encode(adaptiveWindow, forKey: .adaptiveWindow)
        try c.encode(adaptiveDecrease, forKey: .adaptiveDecrease)
        try c.encode(adaptiveIncrease, forKey: .adaptiveIncrease)
        try c.encode(adaptiveMaxFactor, forKey: .adaptiveMaxFactor)
        try c.encode(pacing, forKey: .pacing)
    }

    /// `rate` clamped to [1e-6, 1].
    var baseRate: Double { min(1, max(1e-6, rate.isFinite ? rate : 1)) }
    /// The lowest probability any input gets before pacing.
    var floorRate: Double { baseRate * min(1, max(1e-3, floorFraction)) }
}
