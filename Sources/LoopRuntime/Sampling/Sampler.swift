import LoopTask

/// Decides which live executions go to the oracle, and keeps the importance-weighted estimates
/// of the validations that come back.
///
/// Strategies (`SamplerConfiguration.strategy`):
/// - `random`: every input with probability `rate`.
/// - `stratified`: strata are (predicted label, deciding rule). A stratum is sampled with
///   probability 1 until `minPerStratum` of its inputs went to the oracle, so every rule gets
///   validated; then the sampling budget (`rate` × inputs seen) is spread across strata in
///   proportion to √(stratum size) — rare strata are sampled more, common ones a bit less, and
///   the mean rate stays near `rate`.
/// - `uncertainty`: probability `rate × u/ū`, u = (1 − confidence) + `uncertaintyFloor`, ū the
///   running mean of u, so low-confidence inputs are sampled more and the mean rate stays `rate`.
/// - `adaptive`: a uniform rate that every `adaptiveStep` validations is multiplied by
///   `adaptiveDecrease` when the lower bound of the agreement interval over the last
///   `adaptiveWindow` validations is above `targetAgreement`, and by `adaptiveIncrease` otherwise,
///   within [rate × floorFraction, min(1, rate × adaptiveMaxFactor)]. With few validations the
///   interval is wide, so the rate first rises until there is evidence to lower it.
///
/// Every probability is at least `rate × floorFraction`, then scaled by the budget's pacing
/// factor; `SamplingDecision.probability` is the value actually applied, and `observe` weights
/// each validation by its inverse, so the estimates stay unbiased whatever the strategy.
///
/// The oracle budget and bias: whether the budget has room when an input arrives depends only on
/// calls already made, never on the input, so an input arriving with room is included with
/// exactly the recorded probability and its weight is right. Inputs arriving while the budget is
/// exhausted cannot be sampled at all (inclusion probability 0): the estimate is then unbiased
/// for the traffic that arrived with room, and no weight could stand in for the rest — a coverage
/// gap, not a weighting error. We record the probability applied rather than inflate weights to
/// "cover" the gap, which would only be right if agreement were the same in both periods.
/// Pacing keeps the gap small (probabilities shrink evenly before the cap is reached), and
/// `seenWhileExhausted` / `skippedByBudget` report its size.
///
/// Codable: save it with the driver's state and a resumed run continues the same random stream,
/// budget windows and estimates.
public struct Sampler: Codable, Equatable, Sendable {
    public let configuration: SamplerConfiguration
    /// The oracle budget and its sliding windows.
    public private(set) var budget: OracleBudget
    private var rng: SamplingRNG

    /// Inputs decided on.
    public private(set) var seen = 0
    /// Inputs sent to the oracle.
    public private(set) var sampled = 0
    /// Inputs the draw selected but the budget refused: unvalidated "would have sampled" inputs.
    public private(set) var skippedByBudget = 0
    /// Inputs that arrived while the budget had no room (they had no chance to be sampled).
    public private(set) var seenWhileExhausted = 0
    /// Σ of the applied probabilities: the expected number of samples.
    public private(set) var probabilitySum: Double = 0

    /// Agreement since the start (or the last `resetStatistics`), importance-weighted.
    public private(set) var agreement = AgreementEstimator()
    /// Agreement over the last `adaptiveWindow` validations.
    public private(set) var recent: WindowedAgreement
    /// Weighted precision per deciding rule.
    public private(set) var precision = PrecisionByRule()

    /// Counts of one stratum (label, rule).
    public struct StratumCounts: Codable, Equatable, Sendable {
        /// Inputs seen.
        public var seen = 0
        /// Inputs sent to the oracle.
        public var sampled = 0
        /// Validations observed.
        public var validated = 0
    }
    /// Per stratum key ("label|rule"), its counts.
    public private(set) var strata: [String: StratumCounts] = [:]
    private var sqrtSizeSum: Double = 0      // Σ √(stratum seen)
    private var strataWaiting = 0            // strata below their minimum that have unsampled inputs
    private var strataSeen = 0               // Σ stratum seen (reset with the strata)
    private var meanUncertainty: Double = 0  // running mean of u
    private var uncertaintyCount = 0

    /// The adaptive strategy's current rate (the base rate for the other strategies).
    public private(set) var adaptiveRate: Double
    private var validationsSinceAdjustment = 0

    /// A sampler for a task's validation policy; `seed` makes its draws reproducible.
    public init(policy: ValidationPolicy, seed: UInt64) {
        self.init(configuration: SamplerConfiguration(policy: policy), seed: seed)
    }

    public init(configuration: SamplerConfiguration, seed: UInt64) {
        self.configuration = configuration
        budget = OracleBudget(callsPerHour: configuration.callsPerHour, costPerDay: configuration.costPerDay)
        rng = SamplingRNG(seed: seed)
        recent = WindowedAgreement(capacity: max(1, configuration.adaptiveWindow))
        adaptiveRate = configuration.baseRate
    }

    /// Σ probability / seen: the realized mean sampling rate (0 before any input).
    public var meanProbability: Double { seen > 0 ? probabilitySum / Double(seen) : 0 }

    /// Decides whether to send the input to the oracle. `estimatedCost` is what one oracle call
    /// is expected to cost (for the money budget; correct it later with `recordOracleCost`).
    public mutating func decide(_ context: SampleContext, estimatedCost: Double = 0) -> SamplingDecision {
        let key = context.stratum
        let time = context.time
        var counts = strata[key] ?? StratumCounts()
        let wasWaiting = Self.waiting(counts, minimum: configuration.minPerStratum)
        sqrtSizeSum += Double(counts.seen + 1).squareRoot() - Double(counts.seen).squareRoot()
        counts.seen += 1
        seen += 1
        strataSeen += 1

        var p = min(1, max(configuration.floorRate, strategyProbability(context, counts: counts)))
        if configuration.strategy == .stratified {
            // The configured rate is a ceiling: per-stratum minimums come out of it. While some
            // stratum waits for its minimum, the others are sampled at half their share, and a
            // minimum is taken only when the expected samples so far leave room for it.
            let room = configuration.baseRate * Double(seen) - probabilitySum
            if counts.sampled < configuration.minPerStratum {
                p = room >= 1 ? 1 : min(1, max(configuration.floorRate, strategyAllocation(counts)))
            } else {
                if strataWaiting > (wasWaiting ? 1 : 0) { p *= 0.5 }
                p = min(p, max(configuration.floorRate, room))
            }
        }
        if configuration.pacing && !budget.isUnlimited {
            budget.noteDemand(p, at: time)
            p *= budget.pacingScale(expectedCost: estimatedCost, at: time)
        }
        probabilitySum += p

        let selected = rng.nextUnit() < p
        if !budget.isUnlimited && !budget.hasRoom(for: estimatedCost, at: time) {
            seenWhileExhausted += 1
            if selected { skippedByBudget += 1 }
            strataWaiting += (Self.waiting(counts, minimum: configuration.minPerStratum) ? 1 : 0) - (wasWaiting ? 1 : 0)
            strata[key] = counts
            return SamplingDecision(sampled: false, probability: p, budgetExhausted: true)
        }
        if selected {
            budget.recordCall(cost: estimatedCost, at: time)
            counts.sampled += 1
            sampled += 1
        }
        strataWaiting += (Self.waiting(counts, minimum: configuration.minPerStratum) ? 1 : 0) - (wasWaiting ? 1 : 0)
        strata[key] = counts
        return SamplingDecision(sampled: selected, probability: p)
    }

    /// Feeds back one validation: whether the program agreed with the oracle on a sampled input,
    /// with the probability its decision carried.
    public mutating func observe(agree: Bool, probability: Double, context: SampleContext) {
        agreement.add(agree: agree, probability: probability)
        recent.add(agree: agree, probability: probability)
        precision.add(rule: context.rule, agree: agree, probability: probability)
        strata[context.stratum, default: StratumCounts()].validated += 1
        guard configuration.strategy == .adaptive else { return }
        validationsSinceAdjustment += 1
        if validationsSinceAdjustment >= max(1, configuration.adaptiveStep) {
            validationsSinceAdjustment = 0
            adjustAdaptiveRate()
        }
    }

    /// How many of the calls charged so far do not fit the budget at `time`: more than the calls
    /// per hour, or all of them when the day's money is spent. Sampling never charges past the
    /// budget, so only what was learned after charging (another replica's calls, a call's actual
    /// cost above its estimate) makes this positive.
    public mutating func callsOverBudget(at time: Double) -> Int {
        budget.callsOver(at: time)
    }

    /// Records an oracle call another replica of the task made: the budget is the task's.
    public mutating func recordCallElsewhere(cost: Double, at time: Double) {
        budget.recordCall(cost: cost, at: time)
    }

    /// Records oracle money spent beyond (or below, if negative) the estimate given to `decide`.
    public mutating func recordOracleCost(_ cost: Double, at time: Double) {
        budget.recordCost(cost, at: time)
    }

    /// Forgets the estimates and strata (e.g. when a new program version goes live); keeps the
    /// budget, the random stream and the adaptive rate.
    public mutating func resetStatistics() {
        agreement = AgreementEstimator()
        precision = PrecisionByRule()
        recent.removeAll()
        strata = [:]
        strataWaiting = 0
        sqrtSizeSum = 0
        strataSeen = 0
        validationsSinceAdjustment = 0
    }

    /// The strategy's probability for an input (before floor, clamp and pacing).
    private mutating func strategyProbability(_ context: SampleContext, counts: StratumCounts) -> Double {
        let rate = configuration.baseRate
        switch configuration.strategy {
        case .random:
            return rate
        case .stratified:
            return strategyAllocation(counts)
        case .uncertainty:
            let confidence = context.confidence.isFinite ? min(1, max(0, context.confidence)) : 1
            let u = (1 - confidence) + max(1e-3, configuration.uncertaintyFloor)
            uncertaintyCount += 1
            // The plain running mean at first, then an exponential one that follows drift slowly.
            meanUncertainty += (u - meanUncertainty) * max(1 / Double(uncertaintyCount), 0.001)
            return rate * u / meanUncertainty
        case .adaptive:
            return adaptiveRate
        }
    }

    /// √-allocation: stratum s gets rate·N·√N_s/Σ√N_j expected samples out of N_s inputs.
    /// Over the inputs the current strata have seen: after a reset, the allocation restarts too.
    private func strategyAllocation(_ counts: StratumCounts) -> Double {
        configuration.baseRate * Double(strataSeen) / (Double(counts.seen).squareRoot() * sqrtSizeSum)
    }

    /// A stratum waits while it is below its minimum and has inputs that were not sampled.
    private static func waiting(_ c: StratumCounts, minimum: Int) -> Bool { c.sampled < minimum && c.sampled < c.seen }

    private mutating func adjustAdaptiveRate() {
        let low = configuration.floorRate
        let high = min(1, configuration.baseRate * max(1, configuration.adaptiveMaxFactor))
        if let interval = recent.interval(level: configuration.confidence), interval.lower > configuration.targetAgreement {
            adaptiveRate = max(low, adaptiveRate * configuration.adaptiveDecrease)
        } else {
            adaptiveRate = min(high, adaptiveRate * configuration.adaptiveIncrease)
        }
    }
}
