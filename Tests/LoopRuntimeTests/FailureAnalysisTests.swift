import Foundation
import XCTest
import LoopData
import LoopStore
import LoopTask
import LoopGenerate
@testable import LoopRuntime

/// What tickets say about failures, and the novel-cluster escalation.
final class FailureAnalysisTests: XCTestCase {
    func v(_ text: String, _ program: String, _ oracle: String, _ rule: String = "score") -> Validation {
        Validation(seq: 0, input: JSONWriter.string(JSON(text)), programLabel: program, oracleLabel: oracle, decidedBy: rule, versionId: 1, weight: 1)
    }

    func testConfusionsWordsAndSystematicErrors() {
        var vs: [Validation] = []
        for i in 0..<8 { vs.append(v("free ringtone \(i)", "ham", "spam")) }
        vs.append(v("meeting moved", "spam", "ham", "rule:urgent"))
        for i in 0..<40 { vs.append(v("see you at lunch \(i)", "ham", "ham")) }
        for i in 0..<10 { vs.append(v("win a free prize \(i)", "spam", "spam", "rule:prize")) }
        let a = FailureAnalysis.of(vs)
        XCTAssertEqual(a.failures, 9)
        XCTAssertEqual(a.pairs.first.map { "\($0.program)→\($0.oracle):\($0.count)" }, "ham→spam:8")
        XCTAssertEqual(a.words.first?.word, "ringtone", "in every failure, in no agreement")
        XCTAssertFalse(a.words.contains { $0.word == "free" && $0.inAgreements == 0 }, "“free” also appears where the program is right")
        XCTAssertTrue(a.systematic, "8 of 9 failures: one confusion through one decision")
        XCTAssertTrue(a.hypotheses.contains { $0.contains("“ringtone”") })
        let scattered = FailureAnalysis.of([v("a b c", "ham", "spam"), v("d e f", "spam", "ham", "rule:x"), v("g h i", "ham", "spam", "rule:y")])
        XCTAssertFalse(scattered.systematic)
        XCTAssertEqual(FailureAnalysis.of([v("fine", "ham", "ham")]).hypotheses, ["No failures among the recent validations."])
    }

    /// Function words are in failures as in agreements: they never lead the list; negators stay.
    func testStopWordsAreIgnoredAndNegatorsKept() {
        var vs: [Validation] = []
        for i in 0..<6 { vs.append(v("the food was not what they said \(i)", "positive", "negative")) }
        for i in 0..<3 { vs.append(v("the service was fine \(i)", "positive", "positive")) }
        let a = FailureAnalysis.of(vs)
        let words = a.words.map(\.word)
        for stop in ["the", "was", "what", "they"] { XCTAssertFalse(words.contains(stop), "\(stop) in \(words)") }
        XCTAssertTrue(words.contains("not"), "\(words)")
        XCTAssertTrue(words.contains("food"), "\(words)")
    }

    /// For a score program, the ticket's evidence names the table words that pushed each wrong
    /// answer and counts them over the failures; a rule names itself.
    func testFailureEvidenceNamesTheWordsAndRulesThatPushedTheWrongLabel() throws {
        let source = """
        program review
        input text: text
        labels positive, negative
        let msg = lower(text)
        const praise = {"good": 1, "great": 2}
        const complaint = {"bad": 1.5}
        rule shouting when contains(text, "!!!") => negative
        score positive {
          sum_words(msg, praise)
          0.5
        }
        score negative { sum_words(msg, complaint) }
        otherwise => positive

        """
        let program = try LoadedProgram(versionId: 1, source: source).program
        func f(_ t: String, _ got: String, _ right: String) -> Counterexample { Counterexample(input: .object([("text", JSON(t))]), programLabel: got, expected: right, decidedBy: nil) }
        let e = FailureEvidence.of(program: program, failures: [f("not good at all", "positive", "negative"), f("not great, not good", "positive", "negative"),
                                                                 f("great!!! loved it", "negative", "positive")])
        XCTAssertEqual(e.perFailure[0], ["word “good” (sum_words(msg, praise)) +1"])
        XCTAssertEqual(e.perFailure[1], ["word “great” (sum_words(msg, praise)) +2", "word “good” (sum_words(msg, praise)) +1"])
        XCTAssertEqual(e.perFailure[2], ["rule shouting"])
        XCTAssertEqual(e.pushes.first, FailureEvidence.Push(evidence: "word “good” (sum_words(msg, praise))", toward: "positive", failures: 2, weight: 2))
        XCTAssertEqual(e.pushes.count, 3, "the constant 0.5 (an intercept) is not evidence: \(e.pushes)")
        XCTAssertEqual(e.pushes.map(\.evidence), ["word “good” (sum_words(msg, praise))", "word “great” (sum_words(msg, praise))", "rule shouting"],
                       "heaviest first, then the most frequent")
    }

    /// A cluster of failures around a word no seed example has, still there after an attempt,
    /// opens an escalation; the same cluster around a word the seed knows does not.
    func testANovelClusterAfterAFailedAttemptIsEscalated() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loop-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let stream = dir.appendingPathComponent("s.jsonl")
        try #"{"text": "hello", "label": "ham"}"#.appending("\n").write(to: stream, atomically: true, encoding: .utf8)
        let task = try TaskLoader.load(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/sms_spam/task.yaml").path)
        let program = "program p\ninput text: text\nlabels spam, ham\notherwise => ham\ntest \"x\" => ham\n"
        func driver(seed: [TaskExample], tag: String) throws -> TaskEngine {
            var s = LoopSettings(task: task, streamPath: stream.path, oracle: LabelsOracle(column: "label", labels: task.labelNames),
                                 oraclePricing: nil, oracleClient: nil, generator: InducerGenerator(task: task, seed: seed), seedExamples: seed,
                                 escalationDirectory: dir.appendingPathComponent("esc-\(tag)").path)
            s.initialProgram = program
            let d = try TaskEngine(settings: s, store: try SQLiteStore.open(path: dir.appendingPathComponent("\(tag).sqlite").path, task: s.task.name), resume: false)
            for i in 0..<6 {
                d.state.recentValidations.append(Validation(seq: i, input: JSONWriter.string(JSON("polyphonic tones \(i)")), programLabel: "ham",
                                                            oracleLabel: "spam", decidedBy: "otherwise", versionId: d.state.activeVersion, weight: 1))
            }
            d.state.attempts = 1
            d.state.nextAttemptAt = Int.max
            try d.decide()
            try d.commit(cursor: 0, items: [])
            return d
        }
        let novel = try driver(seed: [TaskExample(input: JSON("see you soon"), label: "ham")], tag: "novel")
        let open = try novel.store.escalations(status: .open)
        XCTAssertEqual(open.count, 1)
        XCTAssertTrue(open.first?.reason.contains("no example of the task has") ?? false, open.first?.reason ?? "")
        let known = try driver(seed: [TaskExample(input: JSON("polyphonic tones for you"), label: "spam")], tag: "known")
        XCTAssertTrue(try known.store.escalations(status: .open).isEmpty, "the seed has these words: not novel")
    }
}
