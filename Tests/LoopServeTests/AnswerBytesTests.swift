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

    func testMadeIdNumbersAreWrittenInBase36() {
        var rng = SplitMix64(seed: 5)
        let numbers = [0, 1, 35, 36, 1295, 1296, Int(Int32.max), Int.max] + (0..<2000).map { _ in Int.random(in: 0...Int.max >> Int.random(in: 0...60, using: &rng), using: &rng) }
        for n in numbers {
            var out: [UInt8] = [0x78]
            AnswerBytes.base36(n, into: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), "x" + String(n, radix: 36))
        }
    }

    /// The request path takes exactly the two classify paths; anything else goes to the router.
    func testTheRequestPathTakesExactlyTheClassifyPaths() {
        XCTAssertTrue(Responder.classifyPath("/v1/tasks/sms_spam/classify")! == ("sms_spam", false))
        XCTAssertTrue(Responder.classifyPath("/v1/tasks/sms_spam/classify/batch")! == ("sms_spam", true))
        XCTAssertTrue(Responder.classifyPath("/v1/tasks/é/classify")! == ("é", false))
        for other in ["/v1/tasks//classify", "/v1/tasks/a/b/classify", "/v1/tasks/sms%5Fspam/classify", "/v1/tasks/sms_spam/classify/",
                      "/v1/tasks/sms_spam/classifyx", "/v1/tasks/sms_spam/feedback", "/v1/tasks/sms_spam", "/v1/tasks/", "/v2/tasks/a/classify",
                      "v1/tasks/a/classify", "/v1/tasks/sms_spam/classify/batch/", "/v1/tasks/sms_spam/classify/batchx", ""] {
            XCTAssertNil(Responder.classifyPath(other), other)
        }
    }
}
