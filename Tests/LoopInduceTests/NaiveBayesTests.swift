import XCTest
import LoopInterpreter
@testable import LoopInduce

/// The Naive Bayes blend (two labels): log-count ratios from the training rows, features scaled
/// by the presence ratio in `.scaled` mode, and the blended margin; chosen by cross-validation.
final class NaiveBayesTests: XCTestCase {
    // Three word columns and one extra feature (column 3); labels 0, 0, 1.
    let rows: [[(Int, Double)]] = [[(0, 2), (3, 1)], [(0, 1), (1, 1)], [(1, 3), (2, 1), (3, 1)]]
    let y = [0, 0, 1]

    func testRatiosAreTheSmoothedLogCountRatios() throws {
        let b = try XCTUnwrap(NaiveBayesBlend(rows: rows, y: y, words: 3, mode: .scaled, alpha: 1, mix: 0.25))
        // Counts: label 0 → [3, 1, 0] (total 4), label 1 → [0, 3, 1] (total 4); α = 1 over 3 words.
        let c0 = [3.0, 1, 0], c1 = [0.0, 3, 1]
        for j in 0..<3 { XCTAssertEqual(b.r[j], log((1 + c1[j]) / 7) - log((1 + c0[j]) / 7), accuracy: 1e-15) }
        // Presence: label 0 → [2, 1, 0] (total 3), label 1 → [0, 1, 1] (total 2).
        let p0 = [2.0, 1, 0], p1 = [0.0, 1, 1]
        let s = try XCTUnwrap(b.s)
        for j in 0..<3 { XCTAssertEqual(s[j], log((1 + p1[j]) / 5) - log((1 + p0[j]) / 6), accuracy: 1e-15) }
        XCTAssertEqual(b.prior, log(1.0 / 2), accuracy: 1e-15)
        // Word columns scaled, the extra feature not.
        let f = b.features(rows)
        XCTAssertEqual(f[2].map(\.0), [1, 2, 3])
        XCTAssertEqual(f[2][0].1, 3 * s[1], accuracy: 1e-15)
        XCTAssertEqual(f[2][2].1, 1)
        // `.blend` keeps the features as they are.
        let plain = try XCTUnwrap(NaiveBayesBlend(rows: rows, y: y, words: 3, mode: .blend, alpha: 1, mix: 0.25))
        XCTAssertNil(plain.s)
        XCTAssertEqual(plain.features(rows)[2][0].1, 3)
    }

    func testTheBlendedMarginMixesTheRegressionAndTheRatios() throws {
        let b = try XCTUnwrap(NaiveBayesBlend(rows: rows, y: y, words: 3, mode: .scaled, alpha: 1, mix: 0.25))
        var m = Model(labels: 2, features: 4)
        m.w = [[0.5, -1, 0.25, 0.125], [-0.5, 2, 1, -0.375]]
        m.b = [0.25, -0.25]
        let out = b.blend(m)
        let s = try XCTUnwrap(b.s)
        for j in 0..<3 {
            XCTAssertEqual(out.w[1][j], 0.75 * (m.w[1][j] - m.w[0][j]) * s[j] + 0.25 * b.r[j], accuracy: 1e-15)
            XCTAssertEqual(out.w[0][j], 0)
        }
        XCTAssertEqual(out.w[1][3], 0.75 * -0.5, accuracy: 1e-15)
        XCTAssertEqual(out.b[1], 0.75 * -0.5 + 0.25 * log(0.5), accuracy: 1e-15)
    }

    func testNoBlendWithoutTwoLabelsThatBothOccur() {
        XCTAssertNil(NaiveBayesBlend(rows: rows, y: y, words: 3, mode: .off, alpha: 1, mix: 0.25))
        XCTAssertNil(NaiveBayesBlend(rows: rows, y: [0, 0, 0], words: 3, mode: .blend, alpha: 1, mix: 0.25), "label 1 has no examples")
        XCTAssertNil(NaiveBayesBlend(rows: rows, y: [0, 1, 2], words: 3, mode: .blend, alpha: 1, mix: 0.25), "three labels")
    }

    /// With the blend, the program is not refitted, and its scores are still the model's: what it
    /// answers on the training examples is what the trainer counted, in both engines.
    func testABlendedProgramScoresAsTheModel() throws {
        let all = try Inducer.loadJSONL(Data.path("sentiment"))
        let (train, _) = Inducer.split(all, trainFraction: 0.2)
        for mode in [NaiveBayesBlend.Mode.blend, .scaled] {
            var o = Inducer.Options()
            o.naiveBayes = mode
            o.negation = true
            let r = try Inducer.induce(examples: train, options: o)
            XCTAssertTrue(r.source.contains("blended with multinomial Naive Bayes"), r.source)
            XCTAssertEqual(r.source.contains("scaled by its Naive Bayes ratio"), mode == .scaled)
            let interp = Interpreter(r.program)
            let correct = train.filter { r.program.labels[interp.evaluate([.text($0.text)]).label] == $0.label }.count
            XCTAssertEqual(Double(correct) / Double(train.count), r.trainingAccuracy, accuracy: 1e-12)
            XCTAssertGreaterThan(r.trainingAccuracy, 0.85)
        }
    }
}
