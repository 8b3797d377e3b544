import Foundation
import LoopCodegen
import LoopData
import LoopInterpreter
import LoopSema
import XCTest

/// The compiled softmax (four labels a vector, the argmax as a tree) against the interpreter,
/// on score gaps that reach every region of Loop's exp: 0, small, near −708 where terms become
/// 0, and far below; with label counts that leave lanes of the last vector empty, and ties.
final class SoftmaxTests: XCTestCase {
    func program(labels n: Int) -> String {
        // Label 0 scores 1; label i > 0 scores 1 − x·c_i, so its gap to label 0 is −x·c_i for x ≥ 0.
        let cs = [1.0, 0.5, 1.0001, 0.99999, 2, 10, 0.0, 1e-3, 3.5, 0.25, 1.5]
        var src = "program softmax_\(n)\ninput x: number\nlabels " + (0..<n).map { "l\($0)" }.joined(separator: ", ") + "\n"
        src += "score l0 { 1 }\n"
        for i in 1..<n { src += "score l\(i) { 1 - x * \(cs[(i - 1) % cs.count]) }\n" }
        return src + "otherwise => l0\n"
    }

    func testCompiledConfidencesAreTheInterpretersBitForBit() throws {
        let xs: [Double] = [0, 1e-9, 0.1, 1, 2.5, 37, 700, 707.9, 707.99, 708, 708.01, 709, 745, 746, 800, 1e4, 1e300,
                            -0.1, -1, -708, -1e4]
        let inputs = xs.map { [Value.number($0)] }
        for n in [2, 3, 4, 5, 7, 8, 9, 77] {
            let p = try XCTUnwrap(checkSource(program(labels: n)), "\(n) labels")
            let interp = Interpreter(p).classifyBatch(inputs)
            for level in [0, 2, 3] {
                let jit = try JITEngine(p, options: Codegen.Options(optLevel: level)).classifyBatch(inputs)
                assertSameDecisions(interp, jit, "\(n) labels -O\(level)", inputs: inputs)
            }
            // The reference itself: the documented order, computed here from the scores.
            for (x, d) in zip(xs, interp) where d.scores.contains(where: { $0 != 0 }) {
                let best = d.scores.firstIndex(of: d.scores.max()!)!
                XCTAssertEqual(d.label, best, "x = \(x), \(n) labels")
                var part = [0.0, 0.0, 0.0, 0.0]
                for (j, s) in d.scores.enumerated() { part[j % 4] += SoftmaxExp.exp(s - d.scores[best]) }
                XCTAssertEqual(d.confidence.bitPattern, (1 / ((part[0] + part[1]) + (part[2] + part[3]))).bitPattern, "x = \(x), \(n) labels")
            }
        }
    }
}
