import Foundation
import LoopSema
import XCTest
@testable import LoopInterpreter

/// Loop's own exponential (Docs/language.md, Evaluation order) against the C library's, and the
/// softmax denominator's documented order of additions.
final class SoftmaxExpTests: XCTestCase {
    func testWithinOneUnitInTheLastPlaceOfTheCLibrary() {
        var worst = 0.0, at = 0.0
        // Every value from −708 to 709 in steps that are not multiples of ln 2 or of each other,
        // plus the small gaps a softmax mostly sees.
        var xs = stride(from: -707.999, through: 709, by: 0.0137).map { $0 }
        xs += stride(from: -40, through: 0, by: 0.000731).map { $0 }
        xs += [-1e-300, -5e-324, 1e-300, 0.5 * log(2.0), -0.5 * log(2.0), log(2.0), -log(2.0)]
        for x in xs {
            let ours = SoftmaxExp.exp(x), libm = Foundation.exp(x)
            let ulps = abs(ours - libm) / libm.ulp
            if ulps > worst { worst = ulps; at = x }
        }
        XCTAssertLessThanOrEqual(worst, 1, "worst at x = \(at)")
    }

    func testTheEdgesOfItsRange() {
        XCTAssertEqual(SoftmaxExp.exp(0), 1, "the winner's own term is exactly 1")
        XCTAssertEqual(SoftmaxExp.exp(-0.0), 1)
        XCTAssertEqual(SoftmaxExp.exp(-708), 0, "at or below −708 the term is 0")
        XCTAssertEqual(SoftmaxExp.exp(-1e300), 0)
        XCTAssertEqual(SoftmaxExp.exp(-.infinity), 0)
        XCTAssertGreaterThan(SoftmaxExp.exp(-707.99), 0)
        XCTAssertLessThan(SoftmaxExp.exp(-707.99), 1e-307)
        XCTAssertEqual(SoftmaxExp.exp(709.5), .infinity)
        XCTAssertEqual(SoftmaxExp.exp(.infinity), .infinity)
        XCTAssertTrue(SoftmaxExp.exp(709).isFinite)
        XCTAssertTrue(SoftmaxExp.exp(.nan).isNaN)
    }

    func testTheDenominatorKeepsFourPartialSumsInLabelOrder() {
        // Seven scores: labels 0 and 4 go to the first partial sum, 1 and 5 to the second, ...
        let scores = [0.3, -1.7, 2.25, -0.001, 1.0 / 3, -12.5, 2.25]
        let d = Interpreter.argmaxSoftmax(scores)
        XCTAssertEqual(d.label, 2, "the first of the two largest scores")
        let e = scores.map { SoftmaxExp.exp($0 - 2.25) }
        let expected = 1 / ((e[0] + e[4]) + (e[1] + e[5]) + ((e[2] + e[6]) + e[3]))
        XCTAssertEqual(d.confidence.bitPattern, expected.bitPattern)
        let sequential = 1 / e.reduce(0, +)
        XCTAssertEqual(d.confidence, sequential, accuracy: 1e-15, "the order changes at most the last bits")
    }
}
