import XCTest
import LoopData
import LoopSema
@testable import LoopInduce

/// The hybrid generator keeps a program's structure and re-fits only its score weights.
final class HybridTests: XCTestCase {
    func examples(_ example: String) throws -> [(input: JSON, label: String)] {
        try RecordReader.read(Data.path(example), format: .jsonl).compactMap { r in
            guard case .json(let j) = r.raw, let l = RecordDecoder.label(r.raw, column: "label") else { return nil }
            return (j, l)
        }
    }

    /// A program whose author got one weight's sign wrong: the data puts it right, and the
    /// rules, conditions and lists are untouched.
    func testAWrongWeightIsCorrectedAndTheStructureKept() throws {
        let source = """
        program s
        input text: text
        labels positive, negative

        const good_words = ["great", "good", "excellent", "love", "loved", "best", "nice"]
        const bad_words = ["bad", "worst", "poor", "terrible", "waste", "disappointed"]

        let msg = lower(text)

        rule empty when len(text) == 0 => negative

        score positive {
          -1 when contains_any_word(msg, good_words)
        }
        score negative {
          1 when contains_any_word(msg, bad_words)
        }
        otherwise => positive
        """
        let data = try examples("sentiment")
        let r = try HybridRefit.refit(source: source, examples: data)
        XCTAssertEqual(r.changedTerms, 2)
        XCTAssertGreaterThan(r.after, r.before + 0.1, "from \(r.before) to \(r.after)")
        // The sign of the good-words weight flipped; everything else is as written.
        let p = r.program
        guard case .literal(.number(let w)) = p.scores[0][0].value.kind else { return XCTFail("the weight is no longer a literal") }
        XCTAssertGreaterThan(w, 0)
        XCTAssertTrue(r.source.contains("rule empty when len(text) == 0 => negative"))
        XCTAssertTrue(r.source.contains(#"const bad_words = ["bad", "worst", "poor", "terrible", "waste", "disappointed"]"#))
        XCTAssertEqual(try HybridRefit.accuracy(source: r.source, examples: data), r.after, accuracy: 1e-12)
    }

    /// Terms that are not `literal when condition` get a multiplier, written into the source.
    func testExpressionTermsGetAMultiplier() throws {
        let source = """
        program s
        input text: text
        labels positive, negative
        let msg = lower(text)
        score positive {
          0.01 * count_words(msg, ["great", "good", "love", "excellent"])
        }
        score negative {
          0.01 * count_words(msg, ["bad", "worst", "poor", "terrible"])
        }
        otherwise => positive
        """
        let r = try HybridRefit.refit(source: source, examples: try examples("sentiment"))
        XCTAssertEqual(r.changedTerms, 2)
        XCTAssertTrue(r.source.contains("* (0.01 * count_words(msg"), r.source)
        XCTAssertGreaterThanOrEqual(r.after, r.before)
    }

    func testNothingToRefitIsAClearError() throws {
        let rulesOnly = "program s\ninput text: text\nlabels a, b\nrule x when contains(text, \"x\") => a\notherwise => b\n"
        XCTAssertThrowsError(try HybridRefit.refit(source: rulesOnly, examples: [(JSON("x"), "a")])) { e in
            XCTAssertEqual("\(e)", "the program has no score terms to re-fit")
        }
        XCTAssertThrowsError(try HybridRefit.refit(source: "program s\ninput text: text\nlabels a, b\n", examples: [])) { e in
            XCTAssertTrue("\(e)".contains("does not check"), "\(e)")
        }
        let scored = "program s\ninput text: text\nlabels a, b\nscore a { 1 when contains(text, \"x\") }\notherwise => b\n"
        XCTAssertThrowsError(try HybridRefit.refit(source: scored, examples: [(JSON("y"), "zzz")])) { e in
            XCTAssertEqual("\(e)", "no example is decided by the score blocks, so there is nothing to learn from")
        }
    }
}
