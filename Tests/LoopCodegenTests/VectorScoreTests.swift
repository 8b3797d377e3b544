@testable import LoopCodegen
import LoopData
import LoopInterpreter
import LoopSema
import XCTest

/// Many-label programs, whose scores the compiled code computes eight labels at a time
/// (Emitter+VectorScores): terms of shared forms in different orders per label, repeated forms,
/// per-label word tables, conditions that differ from lane to lane, −0, infinite and divided-by-zero
/// terms, labels without scores. Scores, labels and confidences agree with the interpreter bit for bit.
final class VectorScoreTests: XCTestCase {
    static func program(_ r: inout Rng) -> String {
        let labels = 8 + r.int(13)
        var s = "program wide\ninput text: text\nlabels " + (0..<labels).map { "l\($0)" }.joined(separator: ", ") + "\n"
        s += "use std.text\nlet low = lower(text)\nlet up = upper(text)\nlet per = if len(text) > 3 then 2.5 / len(text) else 0\n"
        let shared = ["C", "per * sum_words(low, T)", "C when has_number(text)", "C * min(len(text), 400) / 100", "C when is_shouting(text)",
                      "C when len(text) > N", "-0", "C / 0", "1e308 * C * 10", "C * word_count(low) - C", "-(C * len(low))",
                      "C when contains(low, \"free\")"]
        for l in 0..<labels where r.int(8) > 0 {
            // Shared forms (C: a number, N: a length, T: a table, all per label) and random terms.
            var terms = (0..<(1 + r.int(5))).map { _ in r.int(4) == 0 ? (RandomPrograms.numExpr(&r, 1), false) : (r.pick(shared), true) }
            if r.int(3) == 0 { for k in stride(from: terms.count - 1, to: 0, by: -1) { terms.swapAt(k, r.int(k + 1)) } }
            s += "score l\(l) {\n"
            for (t, isShared) in terms {
                var line = t
                guard isShared else { s += "  \(line)\n"; continue }
                while let c = line.range(of: "C") { line.replaceSubrange(c, with: String(Double(r.int(2000) - 1000) / 256)) }
                line = line.replacingOccurrences(of: "N", with: String(r.int(30)))
                if line.contains("sum_words(low, T)") {
                    let words = (0..<(1 + r.int(4))).map { _ in Formatter.quote(r.pick(RandomPrograms.words)) }
                    let table = Set(words).sorted().map { "\($0): \(Double(r.int(400) - 200) / 64)" }.joined(separator: ", ")
                    line = line.replacingOccurrences(of: "T", with: "{\(table)}")
                }
                s += "  \(line)\n"
            }
            s += "}\n"
        }
        return s + "otherwise => l0\n"
    }

    func testManyLabelScoresAgreeWithTheInterpreter() throws {
        var r = Rng(77)
        var programs = 0
        for _ in 0..<40 {
            let src = VectorScoreTests.program(&r)
            let p = try XCTUnwrap(checkSource(src), src)
            programs += 1
            var inputs: [[Value]] = [[.text([])], [.text(Array("FREE MONEY NOW 100 $".utf8))], [.text(Array("free win café 7".utf8))]]
            for _ in 0..<80 { inputs.append([.text(RandomPrograms.input(&r))]) }
            let interp = Interpreter(p).classifyBatch(inputs)
            let jit = try JITEngine(p).classifyBatch(inputs)
            assertSameDecisions(interp, jit, "many-label program:\n\(src)", inputs: inputs)
            for (x, y) in zip(interp, jit) { XCTAssertEqual(x.scores.map(\.bitPattern), y.scores.map(\.bitPattern), src) }
        }
        XCTAssertEqual(programs, 40)
    }

    func testAlignedSlotsKeepEveryLabelsOrder() {
        var r = Rng(5)
        for _ in 0..<30 {
            let src = VectorScoreTests.program(&r)
            guard let p = checkSource(src), let low = try? LoweredProgram(p) else { XCTFail(src); continue }
            let (slots, ofTerm) = Emitter.alignedSlots(low.terms)
            for (l, s) in ofTerm.enumerated() {
                XCTAssertEqual(s.count, low.terms[l].count)
                XCTAssertEqual(s, s.sorted(), "label \(l)'s terms keep their order")
                XCTAssertEqual(Set(s).count, s.count, "one slot per term")
                XCTAssertTrue(s.allSatisfy { $0 < slots })
            }
        }
        // Shared forms share slots: two labels with the same two forms in the same order use two slots.
        let p = checkSource("""
        program two
        input text: text
        labels a, b
        score a {
          1
          2 * len(text)
        }
        score b {
          3
          4 * len(text)
        }
        otherwise => a
        """)!
        XCTAssertEqual(Emitter.alignedSlots(try! LoweredProgram(p).terms).slots, 2)
    }
}
