import Foundation
@testable import LoopCodegen
import LoopData
import LoopInterpreter
import LoopSema
import XCTest

/// `sum_words_negated` tables of whole words, with negators that are whole words and never
/// overlap (std.text's `sum_words_negating` among them), join their source's shared word scan,
/// which keeps the negation state as it reads. Random sentences of keys, negators, fillers and
/// clause punctuation: the compiled sums must be the interpreter's, bit for bit.
final class NegationScanTests: XCTestCase {
    static let pieces = ["not", "Not", "NOT", "no", "never", "don't", "don’t", "can't", "cannot", "can", "don", "t", "'", "’",
                         "good", "GOOD", "bad", "great", "awful", "fine", "very", "really", "the", "film", "café", "CAFÉ", "ΣΟΦΙΑ", "σοφία",
                         " ", " ", " ", "  ", ",", ".", "!", "?", ";", ":", "-", "\n", "é", "x", "_", "9", "日本", "😀"]
    static let program = """
    program negation_scan
    input text: text
    labels pos, neg, other
    use std.text
    let low = lower(text)
    const pos_words = {"good": 1.5, "great": 2, "fine": 0.25, "café": 0.5, "σοφία": 0.125, "t": 0.0625}
    const pos_flips = {"good": 0.75, "great": -0.5, "bad": 0.3, "can": 0.01}
    const neg_words = {"bad": 1.25, "awful": 2.5, "good": -0.125, "not": 0.2, "no": 0.3}
    const neg_flips = {"bad": -0.4, "awful": 0.6, "fine": 1.1, "don": 0.7}
    score pos {
      sum_words(low, pos_words)
      sum_words_negating(low, pos_flips)
    }
    score neg {
      sum_words(low, neg_words)
      sum_words_negating(low, neg_flips)
      0.5 * sum_words_negated(text, neg_flips, ["not", "never"], 2)
    }
    score other {
      sum_words_negated(low, pos_words, ["no", "nothing"], 1)
    }
    otherwise => other
    """

    func sentence(_ r: inout Rng) -> [UInt8] {
        let n = r.int(8) == 0 ? 200 + r.int(400) : r.int(30)
        var out: [UInt8] = []
        for _ in 0..<n { out += Array(r.pick(NegationScanTests.pieces).utf8) }
        return out
    }

    func testNegatingTablesInTheSharedScanAgreeWithTheInterpreter() throws {
        let p = try XCTUnwrap(checkSource(NegationScanTests.program))
        // std.text's negators and `low`'s mapping: both negating tables share the scan of `low`'s
        // words; other negators on the same text (`other`) and another text (`text`) keep the runtime's.
        let mir = try Codegen.mir(p)
        let shared = mir.split(separator: "\n").filter { $0.contains("weighted#") && $0.contains("sum_words_negated") }
        XCTAssertEqual(shared.count, 3, mir)
        XCTAssertTrue(mir.contains("negated#"), mir)
        var r = Rng(77)
        var inputs: [[Value]] = [[.text([])], [.text(Array("not good, but not bad. Never great!".utf8))],
                                 [.text(Array("I don't think it's good; it is not very very good".utf8))]]
        for _ in 0..<400 { inputs.append([.text(sentence(&r))]) }
        let interp = Interpreter(p).classifyBatch(inputs)
        // The inputs reach both signs: some keys are negated, some not.
        XCTAssertTrue(interp.contains { $0.scores[0] < 0 } && interp.contains { $0.scores[0] > 0 })
        for level in [0, 2] {
            let jit = try JITEngine(p, options: Codegen.Options(optLevel: level)).classifyBatch(inputs)
            assertSameDecisions(interp, jit, "-O\(level)", inputs: inputs)
            for (a, b) in zip(interp, jit) { XCTAssertEqual(a.scores.map(\.bitPattern), b.scores.map(\.bitPattern)) }
        }
    }

    func testNegatorsThatCannotShareTheScan() {
        XCTAssertTrue(LoweredProgram.negatorsShareAScan([Array("not".utf8), Array("don't".utf8), Array("never".utf8)]))
        XCTAssertFalse(LoweredProgram.negatorsShareAScan([]), "no negators")
        XCTAssertFalse(LoweredProgram.negatorsShareAScan([Array("not".utf8), Array("not good".utf8)]), "two occurrences can start together")
        XCTAssertFalse(LoweredProgram.negatorsShareAScan([Array("'nt".utf8)]), "starts with a non-word unit")
        XCTAssertFalse(LoweredProgram.negatorsShareAScan([Array("no!".utf8)]), "ends with a non-word unit")
    }

    /// A word scan with more distinct outputs than the packed encoding holds (2,047 and more keys)
    /// uses two tables instead of stopping the process.
    func testThousandsOfKeysUseTheWideTables() throws {
        let keys = (0..<2300).map { "w\($0)" }
        let table = "{" + keys.enumerated().map { "\"\($1)\": \(Double($0 % 97) / 8 - 6)" }.joined(separator: ", ") + "}"
        let src = """
        program wide
        input text: text
        labels a, b
        const t = \(table)
        score a { sum_words_negated(lower(text), t, ["not", "never"], 3) }
        score b { sum_words(lower(text), t) * 0.5 }
        otherwise => a
        """
        let p = try XCTUnwrap(checkSource(src))
        var r = Rng(5)
        var inputs: [[Value]] = [[.text(Array("w5 not w2046 w100, no W7 never w2299".utf8))]]
        for _ in 0..<200 {
            let words = (0..<r.int(20)).map { _ in r.int(6) == 0 ? r.pick(["not", "never", ",", ".", "x"]) : "W\(r.int(2400))" }
            inputs.append([.text(Array(words.joined(separator: r.pick([" ", "  ", "-"])).utf8))])
        }
        let interp = Interpreter(p).classifyBatch(inputs)
        XCTAssertTrue(interp.contains { $0.scores[0] != 0 })
        assertSameDecisions(interp, try JITEngine(p).classifyBatch(inputs), "2,300 keys", inputs: inputs)
    }
}
