import XCTest
@testable import LoopRuntime

final class StatisticsTests: XCTestCase {
    func testNormalQuantileKnownValues() {
        XCTAssertEqual(NormalDistribution.quantile(0.975), 1.959963984540054, accuracy: 1e-12)
        XCTAssertEqual(NormalDistribution.quantile(0.025), -1.959963984540054, accuracy: 1e-12)
        XCTAssertEqual(NormalDistribution.quantile(0.995), 2.5758293035489, accuracy: 1e-12)
        XCTAssertEqual(NormalDistribution.quantile(0.5), 0, accuracy: 1e-15)
        XCTAssertEqual(NormalDistribution.quantile(1e-10), -6.361340902404056, accuracy: 1e-9)
        XCTAssertEqual(NormalDistribution.quantile(1e-300), -37.0470962993612, accuracy: 1e-8)
        XCTAssertEqual(NormalDistribution.quantile(0.9999999), 5.199337582290662, accuracy: 1e-8)
        XCTAssertEqual(NormalDistribution.twoSidedCritical(level: 0.95), 1.959963984540054, accuracy: 1e-12)
        XCTAssertEqual(NormalDistribution.quantile(0), -.infinity)
        XCTAssertEqual(NormalDistribution.quantile(1), .infinity)
        XCTAssertTrue(NormalDistribution.quantile(1.5).isNaN)
        XCTAssertEqual(NormalDistribution.cdf(1.96), 0.9750021048517796, accuracy: 1e-14)
        for p in stride(from: 0.001, to: 1, by: 0.0173) {
            XCTAssertEqual(NormalDistribution.cdf(NormalDistribution.quantile(p)), p, accuracy: 1e-14 * max(1, 1 / p))
        }
    }

    func testBinomialTails() {
        XCTAssertEqual(BinomialDistribution.lowerTail(3, n: 10, p: 0.3), 0.6496107184, accuracy: 1e-10)
        XCTAssertEqual(BinomialDistribution.upperTail(4, n: 10, p: 0.3), 1 - 0.6496107184, accuracy: 1e-10)
        XCTAssertEqual(BinomialDistribution.pmf(5, n: 10, p: 0.5), 252.0 / 1024, accuracy: 1e-14)
        // Large n, no overflow: values from scipy.stats.binom (P(X ≥ k) = sf(k − 1), P(X ≤ k) = cdf(k)).
        XCTAssertEqual(BinomialDistribution.upperTail(500_000, n: 1_000_000, p: 0.5), 0.5003989421806654, accuracy: 1e-9)
        XCTAssertEqual(BinomialDistribution.upperTail(501_000, n: 1_000_000, p: 0.5), 0.0228041499326948, accuracy: 1e-9)
        XCTAssertEqual(BinomialDistribution.lowerTail(29_900, n: 100_000, p: 0.3), 0.24623934378813114, accuracy: 1e-9)
        let tiny = BinomialDistribution.upperTail(1_500, n: 1_000_000, p: 0.001)
        XCTAssertEqual(tiny / 2.7806154254079264e-49, 1, accuracy: 1e-6)
        XCTAssertEqual(BinomialDistribution.upperTail(600_000, n: 1_000_000, p: 0.5), 0)
        XCTAssertEqual(BinomialDistribution.upperTail(0, n: 5, p: 0.2), 1)
        XCTAssertEqual(BinomialDistribution.upperTail(6, n: 5, p: 0.2), 0)
        XCTAssertEqual(BinomialDistribution.lowerTail(5, n: 5, p: 0.2), 1)
    }

    func testSignTest() {
        XCTAssertEqual(SignificanceTests.signTest(wins: 9, losses: 1), 0.0107421875, accuracy: 1e-15)
        XCTAssertEqual(SignificanceTests.signTest(wins: 10, losses: 0), 1.0 / 1024, accuracy: 1e-15)
        XCTAssertEqual(SignificanceTests.signTest(wins: 5, losses: 5), 0.623046875, accuracy: 1e-12)
        XCTAssertEqual(SignificanceTests.signTest(wins: 15, losses: 5), 0.020694732666015625, accuracy: 1e-15)
        XCTAssertEqual(SignificanceTests.signTest(wins: 0, losses: 0), 1)

        var shadow = PairedComparison()
        for _ in 0..<9 { shadow.record(candidate: "spam", current: "ham", oracle: "spam") }
        shadow.record(candidate: "spam", current: "ham", oracle: "ham")
        shadow.record(candidate: "spam", current: "ham", oracle: "other")
        XCTAssertEqual(shadow.candidateWins, 9)
        XCTAssertEqual(shadow.currentWins, 1)
        XCTAssertEqual(shadow.ties, 1)
        XCTAssertEqual(shadow.pValue, 0.0107421875, accuracy: 1e-15)
        XCTAssertTrue(shadow.candidateIsBetter(alpha: 0.05))
        XCTAssertFalse(shadow.candidateIsBetter(alpha: 0.01))
        XCTAssertGreaterThan(shadow.regressionPValue, 0.99)
    }

    func testTwoProportionTest() {
        // z = (0.80 − 0.90)/√(0.85·0.15·(2/1000)) = −6.2622...
        let p = SignificanceTests.proportionBelow(successes: 800, trials: 1000, baselineSuccesses: 900, baselineTrials: 1000)
        XCTAssertEqual(p, NormalDistribution.cdf(-0.1 / (0.85 * 0.15 * 0.002).squareRoot()), accuracy: 1e-15)
        XCTAssertLessThan(p, 1e-8)
        XCTAssertGreaterThan(SignificanceTests.proportionBelow(successes: 90, trials: 100, baselineSuccesses: 900, baselineTrials: 1000), 0.4)
        XCTAssertEqual(SignificanceTests.proportionBelow(successes: 10, trials: 10, baselineSuccesses: 10, baselineTrials: 10), 1)

        // Unweighted estimators give exactly the count-based test.
        var canary = AgreementEstimator(), baseline = AgreementEstimator()
        for i in 0..<1000 { canary.add(agree: i < 800, probability: 1); baseline.add(agree: i < 900, probability: 1) }
        XCTAssertEqual(SignificanceTests.agreementBelow(canary, baseline: baseline), p, accuracy: 1e-12)
    }

    func testWilsonInterval() throws {
        let i = try XCTUnwrap(ConfidenceInterval.wilson(successes: 8, trials: 10, level: 0.95))
        XCTAssertEqual(i.lower, 0.49016247153664183, accuracy: 1e-12)
        XCTAssertEqual(i.upper, 0.9433178485456247, accuracy: 1e-12)
        let all = try XCTUnwrap(ConfidenceInterval.wilson(successes: 20, trials: 20, level: 0.95))
        XCTAssertEqual(all.lower, 0.8388748419471808, accuracy: 1e-12)
        XCTAssertEqual(all.upper, 1)
        XCTAssertNil(ConfidenceInterval.wilson(successes: 0, trials: 0, level: 0.95))
    }

    func testEstimatorUnweightedReducesToWilson() throws {
        var e = AgreementEstimator()
        XCTAssertNil(e.estimate)
        XCTAssertNil(e.interval())
        for i in 0..<10 { e.add(agree: i < 8, probability: 1) }
        XCTAssertEqual(try XCTUnwrap(e.estimate), 0.8, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(e.variance), 0.8 * 0.2 / 10, accuracy: 1e-15)
        XCTAssertEqual(e.effectiveSampleSize, 10, accuracy: 1e-12)
        let i = try XCTUnwrap(e.interval(level: 0.95))
        XCTAssertEqual(i.lower, 0.49016247153664183, accuracy: 1e-12)
        XCTAssertEqual(i.upper, 0.9433178485456247, accuracy: 1e-12)
    }

    func testEstimatorWeighting() throws {
        // 10 samples at p = 0.1 (weight 10), 3 of them agree; 10 at p = 1, all agree.
        var e = AgreementEstimator()
        for i in 0..<10 { e.add(agree: i < 3, probability: 0.1) }
        for _ in 0..<10 { e.add(agree: true, probability: 1) }
        XCTAssertEqual(try XCTUnwrap(e.estimate), (30.0 + 10) / 110, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(e.unweightedEstimate), 13.0 / 20, accuracy: 1e-12)
        XCTAssertEqual(e.weightSum, 110, accuracy: 1e-9)
        XCTAssertEqual(e.effectiveSampleSize, 110.0 * 110 / 1010, accuracy: 1e-9)
        // Linearization variance by hand.
        let p = 40.0 / 110
        let manual = (3 * 100 * (1 - p) * (1 - p) + 7 * 100 * p * p + 10 * (1 - p) * (1 - p)) / (110 * 110)
        XCTAssertEqual(try XCTUnwrap(e.variance), manual, accuracy: 1e-12)

        var merged = AgreementEstimator()
        var other = AgreementEstimator()
        for i in 0..<10 { merged.add(agree: i < 3, probability: 0.1) }
        for _ in 0..<10 { other.add(agree: true, probability: 1) }
        merged.merge(other)
        XCTAssertEqual(merged, e)
    }

    /// 300 runs of 2,000 Bernoulli(0.9) samples: the 95% interval covers the truth 92–98% of the time.
    func testUnweightedIntervalCoverage() {
        var rng = SamplingRNG(seed: 7)
        var covered = 0
        let runs = 300
        for _ in 0..<runs {
            var e = AgreementEstimator()
            for _ in 0..<2_000 { e.add(agree: rng.nextUnit() < 0.9, probability: 1) }
            if e.interval(level: 0.95)!.contains(0.9) { covered += 1 }
        }
        let coverage = Double(covered) / Double(runs)
        XCTAssertGreaterThanOrEqual(coverage, 0.92, "coverage \(coverage)")
        XCTAssertLessThanOrEqual(coverage, 0.98, "coverage \(coverage)")
    }

    /// Unequal-probability (stratified Poisson) samples: the weighted interval still covers the
    /// truth 92–98% of the time, where the unweighted one almost never does.
    func testWeightedIntervalCoverage() {
        var rng = SamplingRNG(seed: 11)
        let truth = 0.1 * 0.7 + 0.9 * 0.97
        var covered = 0, naiveCovered = 0
        let runs = 300
        for _ in 0..<runs {
            var e = AgreementEstimator()
            for _ in 0..<20_000 {
                let rare = rng.nextUnit() < 0.1
                let agree = rng.nextUnit() < (rare ? 0.7 : 0.97)
                let p = rare ? 0.5 : 0.05
                if rng.nextUnit() < p { e.add(agree: agree, probability: p) }
            }
            if e.interval(level: 0.95)!.contains(truth) { covered += 1 }
            if ConfidenceInterval.wilson(successes: e.agreements, trials: e.count, level: 0.95)!.contains(truth) { naiveCovered += 1 }
        }
        let coverage = Double(covered) / Double(runs)
        XCTAssertGreaterThanOrEqual(coverage, 0.92, "coverage \(coverage)")
        XCTAssertLessThanOrEqual(coverage, 0.98, "coverage \(coverage)")
        XCTAssertLessThan(Double(naiveCovered) / Double(runs), 0.05)
    }

    func testWindowedAgreement() throws {
        var w = WindowedAgreement(capacity: 100)
        for _ in 0..<500 { w.add(agree: true, probability: 0.5) }
        XCTAssertEqual(w.count, 100)
        XCTAssertEqual(try XCTUnwrap(w.estimate), 1)
        for _ in 0..<40 { w.add(agree: false, probability: 0.5) }
        XCTAssertEqual(try XCTUnwrap(w.estimate), 0.6, accuracy: 1e-12)
        XCTAssertEqual(w.estimator.count, 100)
        // Newer samples with a lower probability weigh more.
        for _ in 0..<50 { w.add(agree: true, probability: 0.1) }
        // Window: 10 true + 40 false at weight 2, 50 true at weight 10.
        XCTAssertEqual(try XCTUnwrap(w.estimate), (20.0 + 500) / (100 + 500), accuracy: 1e-12)
        w.removeAll()
        XCTAssertNil(w.estimate)
    }

    func testPrecisionByRule() throws {
        var byRule = PrecisionByRule()
        for i in 0..<50 { byRule.add(rule: "r1", agree: i < 45, probability: 0.5) }
        for i in 0..<20 { byRule.add(rule: "r2", agree: i < 10, probability: 1) }
        for i in 0..<5 { byRule.add(rule: "r3", agree: i < 1, probability: 1) }
        byRule.add(rule: nil, agree: true, probability: 0.2)
        XCTAssertEqual(try XCTUnwrap(byRule["r1"]?.estimate), 0.9, accuracy: 1e-12)
        XCTAssertEqual(byRule[nil]?.count, 1)
        XCTAssertEqual(byRule.entries().map(\.rule), [PrecisionByRule.defaultRuleKey, "r1", "r2", "r3"])
        let low = byRule.rules(below: 0.8, minimumCount: 10)
        XCTAssertEqual(low.map(\.rule), ["r2"])
        XCTAssertEqual(low[0].count, 20)
        XCTAssertEqual(low[0].agreements, 10)
        XCTAssertEqual(byRule.rules(below: 0.8, minimumCount: 1).map(\.rule), ["r3", "r2"])
    }
}
