@testable import LoopRuntime

/// A synthetic live stream with known truth: strata (label, rule) with very different shares and
/// agreement rates, and a confidence that is higher when the program is right.
struct SyntheticStream {
    struct Item { var context: SampleContext; var correct: Bool }
    struct Stratum { var label: String; var rule: String?; var share: Double; var agreement: Double }

    static let strata: [Stratum] = [
        Stratum(label: "ham", rule: "r1", share: 0.68, agreement: 0.995),
        Stratum(label: "ham", rule: "r2", share: 0.29, agreement: 0.98),
        Stratum(label: "spam", rule: "r3", share: 0.0285, agreement: 0.60),
        Stratum(label: "spam", rule: "r9", share: 0.0014, agreement: 0.50),
        Stratum(label: "ham", rule: nil, share: 0.0001, agreement: 0.90),
    ]

    let items: [Item]
    /// The true agreement of the whole stream (share of items the program got right).
    let truth: Double

    /// `count` items, one every `spacing` seconds.
    init(count: Int, seed: UInt64, spacing: Double = 0.05, strata: [Stratum] = SyntheticStream.strata) {
        var rng = SamplingRNG(seed: seed)
        var items: [Item] = []
        items.reserveCapacity(count)
        var correctCount = 0
        for i in 0..<count {
            var u = rng.nextUnit()
            var s = strata[strata.count - 1]
            for candidate in strata {
                if u < candidate.share { s = candidate; break }
                u -= candidate.share
            }
            let correct = rng.nextUnit() < s.agreement
            let confidence = correct ? 0.6 + 0.4 * rng.nextUnit() : 0.2 + 0.6 * rng.nextUnit()
            if correct { correctCount += 1 }
            items.append(Item(context: SampleContext(label: s.label, rule: s.rule, confidence: confidence, time: Double(i) * spacing),
                              correct: correct))
        }
        self.items = items
        truth = Double(correctCount) / Double(count)
    }

    /// Runs `sampler` over the stream, validating every sampled item against the truth.
    func run(_ sampler: inout Sampler) {
        for item in items {
            let decision = sampler.decide(item.context)
            if decision.sampled {
                sampler.observe(agree: item.correct, probability: decision.probability, context: item.context)
            }
        }
    }
}
