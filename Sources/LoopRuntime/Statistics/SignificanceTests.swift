import Foundation

/// Hypothesis tests for rolling out a new program version.
public enum SignificanceTests {
    /// The one-sided exact sign test (exact McNemar test): of `wins + losses` discordant pairs,
    /// the probability of at least `wins` wins if both sides were equally good (p = ½).
    /// Ties are not passed in; they carry no information about which side is better.
    /// E.g. 9 wins, 1 loss → 11/1024 = 0.0107421875.
    public static func signTest(wins: Int, losses: Int) -> Double {
        precondition(wins >= 0 && losses >= 0, "counts must not be negative")
        let n = wins + losses
        guard n > 0 else { return 1 }
        return BinomialDistribution.upperTail(wins, n: n, p: 0.5)
    }

    /// One-sided pooled two-proportion z-test of "the first proportion is lower than the
    /// second": returns the p-value Φ(z), z = (p₁ − p₂) / √(p̄(1−p̄)(1/n₁ + 1/n₂)).
    /// 1 when either side has no trials or the pooled proportion is 0 or 1 (nothing to tell apart).
    public static func proportionBelow(successes: Double, trials: Double,
                                       baselineSuccesses: Double, baselineTrials: Double) -> Double {
        guard trials > 0, baselineTrials > 0 else { return 1 }
        let p1 = successes / trials, p2 = baselineSuccesses / baselineTrials
        let pooled = (successes + baselineSuccesses) / (trials + baselineTrials)
        let se = (pooled * (1 - pooled) * (1 / trials + 1 / baselineTrials)).squareRoot()
        guard se > 0, se.isFinite else { return 1 }
        return NormalDistribution.cdf((p1 - p2) / se)
    }

    /// `proportionBelow` on counts.
    public static func proportionBelow(successes: Int, trials: Int, baselineSuccesses: Int, baselineTrials: Int) -> Double {
        proportionBelow(successes: Double(successes), trials: Double(trials),
                        baselineSuccesses: Double(baselineSuccesses), baselineTrials: Double(baselineTrials))
    }

    /// Is the canary's agreement significantly below the baseline's? The one-sided p-value of the
    /// pooled two-proportion z-test on the two importance-weighted estimates, each counted at its
    /// effective sample size (`AgreementEstimator.intervalSampleSize`), so unequal sampling
    /// probabilities widen the test as they should. With equal weights it is the ordinary test.
    public static func agreementBelow(_ canary: AgreementEstimator, baseline: AgreementEstimator) -> Double {
        guard let p1 = canary.estimate, let p2 = baseline.estimate else { return 1 }
        let n1 = canary.intervalSampleSize, n2 = baseline.intervalSampleSize
        return proportionBelow(successes: p1 * n1, trials: n1, baselineSuccesses: p2 * n2, baselineTrials: n2)
    }
}

/// A paired comparison of a candidate program against the current one in shadow mode, on inputs
/// where the two disagree and the oracle settled it. The candidate "wins" an input when the
/// oracle sides with it and not with the current program; an input where the oracle sides
/// with neither is a tie. Promotion asks the exact sign test whether the wins are significant.
///
/// The test assumes the judged disagreements are a uniform sample of all disagreements (e.g.
/// all of them, or a fixed fraction), which is how disagreements are sent to the oracle first.
public struct PairedComparison: Codable, Equatable, Sendable {
    /// Inputs where the oracle agreed with the candidate but not the current program.
    public private(set) var candidateWins: Int = 0
    /// Inputs where the oracle agreed with the current program but not the candidate.
    public private(set) var currentWins: Int = 0
    /// Inputs where neither (or both) agreed with the oracle.
    public private(set) var ties: Int = 0

    public init() {}

    /// Records one judged input from whether each side agreed with the oracle.
    public mutating func record(candidateCorrect: Bool, currentCorrect: Bool) {
        switch (candidateCorrect, currentCorrect) {
        case (true, false): candidateWins += 1
        case (false, true): currentWins += 1
        default: ties += 1
        }
    }

    /// Records one judged input from the three labels.
    public mutating func record(candidate: String, current: String, oracle: String) {
        record(candidateCorrect: candidate == oracle, currentCorrect: current == oracle)
    }

    /// The one-sided p-value that the candidate is better (exact McNemar / sign test).
    public var pValue: Double { SignificanceTests.signTest(wins: candidateWins, losses: currentWins) }

    /// The one-sided p-value that the candidate is worse.
    public var regressionPValue: Double { SignificanceTests.signTest(wins: currentWins, losses: candidateWins) }

    /// True when the candidate wins with significance `alpha` (e.g. 0.05).
    public func candidateIsBetter(alpha: Double) -> Bool { candidateWins > currentWins && pValue < alpha }
}
