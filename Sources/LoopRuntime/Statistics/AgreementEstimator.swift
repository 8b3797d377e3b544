import Foundation
import LoopStore

/// Accumulates validated samples (did the program agree with the oracle?, with the sample's
/// inclusion probability) and estimates the agreement rate of the whole traffic.
///
/// Each sample is weighted by w = 1/π (π = its inclusion probability), and the estimate is the
/// Hájek (self-normalized Horvitz–Thompson) ratio p̂ = Σ w·y / Σ w, which stays consistent
/// however unequal the sampling probabilities were (stratified, uncertainty, adaptive). Its
/// variance is the linearization (Taylor) variance of a ratio estimator, treating the samples
/// as drawn independently (Poisson sampling from an infinite stream, no finite-population
/// correction): V̂ = Σ w²(y − p̂)² / (Σ w)². With equal weights V̂ = p̂(1−p̂)/n, the Wald variance.
///
/// The interval is a Wilson interval at the effective sample size n* = p̂(1−p̂)/V̂ (the design
/// effect folded into n), which is exactly the Wilson interval when all weights are equal; when
/// p̂ is 0 or 1 the Kish effective size (Σw)²/Σw² stands in.
public struct AgreementEstimator: Codable, Equatable, Sendable {
    /// Validated samples.
    public private(set) var count: Int = 0
    /// Samples where program and oracle agreed.
    public private(set) var agreements: Int = 0
    /// Σ w: the Horvitz–Thompson estimate of how many items the samples stand for.
    public private(set) var weightSum: Double = 0
    private var weightedAgreements: Double = 0   // Σ w·y
    private var squaredWeightSum: Double = 0     // Σ w²
    private var squaredWeightedAgreements: Double = 0   // Σ w²·y

    public init() {}

    /// An estimator holding these sums (another process's validations, from the store).
    public init(sums: AgreementSums) {
        count = sums.count; agreements = sums.agreements; weightSum = sums.weight
        weightedAgreements = sums.agreeWeight; squaredWeightSum = sums.weightSquared
        squaredWeightedAgreements = sums.agreeWeightSquared
    }

    /// Adds one validated sample drawn with inclusion probability `probability` (in (0, 1]).
    public mutating func add(agree: Bool, probability: Double) {
        precondition(probability > 0 && probability <= 1, "inclusion probability must be in (0, 1]")
        add(agree: agree, weight: 1 / probability)
    }

    /// Adds one validated sample with an explicit weight (1 / inclusion probability).
    public mutating func add(agree: Bool, weight: Double) {
        precondition(weight > 0 && weight.isFinite, "weight must be positive and finite")
        count += 1
        weightSum += weight
        squaredWeightSum += weight * weight
        if agree {
            agreements += 1
            weightedAgreements += weight
            squaredWeightedAgreements += weight * weight
        }
    }

    /// Adds everything another estimator has seen (samples from disjoint parts of the traffic).
    public mutating func merge(_ other: AgreementEstimator) {
        count += other.count; agreements += other.agreements; weightSum += other.weightSum
        weightedAgreements += other.weightedAgreements; squaredWeightSum += other.squaredWeightSum
        squaredWeightedAgreements += other.squaredWeightedAgreements
    }

    /// The importance-weighted (Hájek) agreement estimate; nil before any sample.
    public var estimate: Double? {
        weightSum > 0 ? min(1, max(0, weightedAgreements / weightSum)) : nil
    }

    /// The plain share of sampled items that agreed, ignoring inclusion probabilities. Biased
    /// whenever sampling was non-uniform; kept for diagnostics and comparisons.
    public var unweightedEstimate: Double? {
        count > 0 ? Double(agreements) / Double(count) : nil
    }

    /// The linearization variance of `estimate`; nil before any sample.
    public var variance: Double? {
        guard let p = estimate else { return nil }
        // Σ w²(y − p)² with y ∈ {0, 1}: Σw²y·(1 − 2p) + p²·Σw².
        let residual = squaredWeightedAgreements * (1 - 2 * p) + p * p * squaredWeightSum
        return max(0, residual) / (weightSum * weightSum)
    }

    /// The standard error of `estimate`; nil before any sample.
    public var standardError: Double? { variance.map { $0.squareRoot() } }

    /// Kish's effective sample size (Σw)²/Σw²: how many equally weighted samples the weighted
    /// ones are worth (equals `count` when all weights are equal).
    public var effectiveSampleSize: Double {
        squaredWeightSum > 0 ? weightSum * weightSum / squaredWeightSum : 0
    }

    /// The effective sample size the interval uses: p̂(1−p̂)/V̂, or Kish's when that is undefined.
    public var intervalSampleSize: Double {
        guard let p = estimate, let v = variance, v > 0, p > 0, p < 1 else { return effectiveSampleSize }
        return p * (1 - p) / v
    }

    /// A confidence interval for the agreement rate at `level` (e.g. 0.95); nil before any sample.
    public func interval(level: Double = 0.95) -> ConfidenceInterval? {
        guard let p = estimate else { return nil }
        return ConfidenceInterval.wilson(estimate: p, trials: intervalSampleSize, level: level)
    }
}
