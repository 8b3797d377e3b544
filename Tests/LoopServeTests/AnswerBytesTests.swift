import Foundation
import LoopData
@testable import LoopRuntime
@testable import LoopServe
import XCTest

/// The batch endpoint writes its answers as bytes; they are the text the single endpoint's JSON
/// value gives, for every kind of id, label, rule name and confidence.
final class AnswerBytesTests: XCTestCase {
    func testAnAnswerWrittenAsBytesIsTheAnswerAsJSON() {
        var rng = SplitMix64(seed: 11)
        let ids = ["b1", "k3x9a0pq-1a", "say \"hi\"", "tab\there", "é-😀", "", String(repeating: "x", count: 40)]
        let labels = ["ham", "spam", "not spam", "reverted_card_payment?", "naïve \\ label"]
        let rules = ["score", "otherwise", "rule:premium_rate", "rule:a\"b"]
        let confidences: [Double] = [0, 1, 0.5, 0.973403006423134, 1e-9, .nan, .infinity]
        for _ in 0..<500 {
            let l = labels.randomElement(using: &rng)!
            let a = Answer(label: "id_" + String(l.count), name: l, confidence: confidences.randomElement(using: &rng)!,
                           decidedBy: rules.randomElement(using: &rng)!, versionId: Int64.random(in: 1...100_000, using: &rng))
            let id = ids.randomElement(using: &rng)!
            var bytes: [UInt8] = []
            AnswerBytes.write(id: id, a, into: &bytes)
            let json = JSON.object([("id", JSON(id)), ("label", JSON(a.name)), ("confidence", API.number(a.confidence)),
                                    ("decided_by", JSON(a.decidedBy)), ("version", API.int64(a.versionId))])
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), JSONWriter.string(json))
        }
    }
}
