import Foundation

/// A two-sided confidence interval for a proportion.
public struct ConfidenceInterval: Codable, Equatable, Sendable, CustomStringConvertible {
    public var lower: Double
    public var upper: Double
    /// The confidence level, e.g. 0.95.
    public var level: Double

    public init(lower: Double, upper: Double, level: Double) {
        self.lower = lower; self.upper = upper; self.level = level
    }

    /// True when `value` lies in [lower, upper].
    public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }

    public var width: Double { upper - lower }

    public var description: String {
        String(format: "[%.4f, %.4f] @%.0f%%", lower, upper, level * 100)
    }

    /// The Wilson score interval for a proportion `estimate` observed over `trials` (which may
    /// be fractional: an effective sample size). Stays inside [0, 1] and behaves well near 0
    /// and 1, unlike the Wald interval. Nil when `trials` is not positive.
    public static func wilson(estimate: Double, trials: Double, level: Double) -> ConfidenceInterval? {
        guard trials > 0, trials.isFinite, estimate.isFinite else { return nil }
        let p = min(1, max(0, estimate))
        let z = NormalDistribution.twoSidedCritical(level: level)
        let z2 = z * z
        let denominator = 1 + z2 / trials
        let center = (p + z2 / (2 * trials)) / denominator
        let half = z * (p * (1 - p) / trials + z2 / (4 * trials * trials)).squareRoot() / denominator
        return ConfidenceInterval(lower: max(0, center - half), upper: min(1, center + half), level: level)
    }

    /// The Wilson score interval for `successes` out of `trials`.
    public static func wilson(successes: Int, trials: Int, level: Double) -> ConfidenceInterval? {
        guard trials > 0 else { return nil }
        return wilson(estimate: Double(successes) / Double(trials), trials: Double(trials), level: level)
    }

    /// The Wald interval estimate ± z·standardError, clipped to [0, 1].
    public static func wald(estimate: Double, standardError: Double, level: Double) -> ConfidenceInterval {
        let z = NormalDistribution.twoSidedCritical(level: level)
        return ConfidenceInterval(lower: max(0, estimate - z * standardError),
                                  upper: min(1, estimate + z * standardError), level: level)
    }
}
