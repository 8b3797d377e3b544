import XCTest
import LoopSema
import LoopSyntax
import LoopDiagnostics
import LoopInterpreter
import LoopData
@testable import LoopInduce

/// Paths to the example data sets, relative to this file.
enum Data {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ example: String) -> String { root.appendingPathComponent("Examples/\(example)/data.jsonl").path }
}

final class InduceTests: XCTestCase {
    static func check(_ source: String) throws -> TypedProgram {
        let (p, diags) = Checker.checkSource(SourceFile(name: "t.loop", text: source), stdlib: .embedded)
        XCTAssertTrue(diags.filter { $0.severity != .note }.isEmpty, diags.map(\.message).joined(separator: "\n"))
        return try XCTUnwrap(p)
    }

    /// `sum_words(lower(text), table)` with every word at weight 1 counts exactly the words the
    /// inducer's tokenizer sees.
    func testTokenizerAgreesWithSumWords() throws {
        let texts = ["Hello, WORLD! hello_world foo-bar x2 2x", "ÉTÉ été Été ÀÖ ×÷ Ωμέγα Привет мир", "  ", "a.b.c a..b",
                     "don't stop\tthe\nmusic", "日本語 テキスト 한국어", "caf\u{E9}s CAFÉS", "bad \u{7F} byte"]
        var all: [[UInt8]] = []
        for t in texts { for w in Inducer.words(Array(t.utf8)) where !all.contains(w) { all.append(w) } }
        let table = all.map { Formatter.quote(String(decoding: $0, as: UTF8.self)) + ": 1" }.joined(separator: ", ")
        let src = "program p\ninput text: text\nlabels a, b\nlet msg = lower(text)\nconst t = {\(table)}\nscore a { sum_words(msg, t) }\notherwise => b\n"
        let p = try Self.check(src)
        let interp = Interpreter(p)
        for t in texts + ["HELLO hello Hello", "été_ÉTÉ"] {
            let bytes = Array(t.utf8)
            let n = Inducer.words(bytes).filter { all.contains($0) }.count
            XCTAssertEqual(interp.evaluate([.text(bytes)]).scores[0], Double(n), t)
        }
        // Invalid UTF-8 splits words and never becomes part of one.
        XCTAssertEqual(Inducer.words([0x61, 0xFF, 0x62]), [[0x61], [0x62]])
        XCTAssertEqual(Inducer.words(Array("Ab_1 c".utf8)), [Array("ab_1".utf8), Array("c".utf8)])
    }

    static let toy: [LabeledExample] = {
        var ex: [LabeledExample] = []
        let spam = ["WIN a free prize now", "free cash prize, call now", "claim your free prize", "you won cash, claim now",
                    "Free entry: win \"cash\" \\ prize", "URGENT win a prize today", "cash prize waiting, claim",
                    "free free free win"]
        let ham = ["see you at lunch", "are you coming home tonight", "ok see you later", "I will call you later",
                   "lunch at home?\nok", "sorry I am late", "see you tomorrow at home", "ok I am coming"]
        for (s, h) in zip(spam, ham) { ex.append((Array(s.utf8), "spam")); ex.append((Array(h.utf8), "ham")) }
        return ex
    }()

    func testToyProgramChecksCleanlyAndPassesItsTests() throws {
        var o = Inducer.Options()
        o.programName = "toy"
        let r = try Inducer.induce(examples: Self.toy, labels: ["spam", "ham"], options: o)
        XCTAssertEqual(r.labels, ["spam", "ham"])
        XCTAssertEqual(r.trainingAccuracy, 1.0)
        let p = try Self.check(r.source)       // no errors, no warnings
        XCTAssertEqual(p.labels, ["spam", "ham"])
        XCTAssertTrue(r.source.contains("program toy"))
        XCTAssertTrue(r.source.contains("sum_words(msg, "))
        XCTAssertTrue(r.source.contains("otherwise => "))
        XCTAssertFalse(p.tests.isEmpty)
        XCTAssertLessThanOrEqual(p.tests.count, o.testCount)
        let interp = Interpreter(p)
        for t in p.tests { XCTAssertEqual(interp.evaluate(t.input).label, t.label) }
        // Every training example is classified by the scores, and the evaluation agrees.
        XCTAssertEqual(r.evaluate(Self.toy).accuracy, 1.0)
        XCTAssertEqual(r.evaluate(Self.toy).f1("spam"), 1.0)
    }

    /// Labels as the application names them (`spam!`, `not spam`): the program gets derived
    /// identifiers, declares the strings with `as`, is fmt-clean, and is evaluated on the strings.
    func testTheApplicationsLabelStringsGetIdentifiers() throws {
        let examples = Self.toy.map { ($0.text, $0.label == "spam" ? "spam!" : "not spam") }
        let r = try Inducer.induce(examples: examples, options: .init())
        XCTAssertTrue(r.source.contains(#"labels spam as "spam!", not_spam as "not spam""#), r.source)
        let p = try Self.check(r.source)
        XCTAssertEqual(p.labels, ["spam", "not_spam"])
        XCTAssertEqual(p.labelNames, ["spam!", "not spam"])
        XCTAssertEqual(Formatter.format(Parser.parse(SourceFile(name: "t.loop", text: r.source)).0), r.source, "fmt-clean")
        XCTAssertEqual(r.evaluate(examples).accuracy, 1.0)
        let byIdentifier = Self.toy.map { ($0.text, $0.label == "spam" ? "spam" : "not_spam") }
        XCTAssertEqual(r.evaluate(byIdentifier).accuracy, 1.0, "identifiers are accepted as well")
        // With the task's identifiers and strings, examples may carry either.
        var o = Inducer.Options()
        o.labelNames = ["spam!", "not spam"]
        let mixed = examples.enumerated().map { $0.offset % 2 == 0 ? $0.element : ($0.element.0, $0.element.1 == "spam!" ? "spam" : "ham") }
        let t = try Inducer.induce(examples: mixed, labels: ["spam", "ham"], options: o)
        XCTAssertTrue(t.source.contains(#"labels spam as "spam!", ham as "not spam""#), t.source)
    }

    /// Normalised tf-idf: every label's word sum is scaled by the inverse of the text's total idf
    /// (zero without a candidate word), on automatically for more than two labels with enough
    /// examples to choose the strength, and off for two labels.
    func testNormalisedWordsForManyLabels() throws {
        var ex: [LabeledExample] = []
        let topics = [("card", ["card arrived late", "where is my card", "card delivery status", "new card not here"]),
                      ("fee", ["why a fee on top up", "charged a fee", "fee for transfer", "extra fee today"]),
                      ("pin", ["change my pin", "pin blocked", "forgot pin code", "reset the pin"])]
        for k in 0..<12 { for (label, texts) in topics { ex.append((Array((texts[k % 4] + (k > 3 ? " please" : "")).utf8), label)) } }
        var o = Inducer.Options()
        o.validationMinimum = 14
        let r = try Inducer.induce(examples: ex, options: o)
        XCTAssertTrue(r.source.contains("let idf_total = sum_words(msg, word_idf)"), r.source)
        XCTAssertTrue(r.source.contains("per_idf * sum_words(msg, fee_words)"), r.source)
        let p = try Self.check(r.source)
        XCTAssertEqual(r.evaluate(ex).accuracy, 1.0)
        // Texts without a candidate word score the biases alone, whatever their length; a word
        // counts the same alone or repeated (its share of the text's total does not change).
        let interp = Interpreter(p)
        func scores(_ t: String) -> [Double] { interp.classify([.text(Array(t.utf8))]).scores }
        XCTAssertEqual(scores("zzz"), scores("zzz qqq www"))
        XCTAssertNotEqual(scores("zzz"), scores("fee"))
        XCTAssertEqual(scores("fee"), scores("fee fee fee"))
        XCTAssertEqual(Formatter.format(Parser.parse(SourceFile(name: "t.loop", text: r.source)).0), r.source, "fmt-clean")
        // Two labels keep plain counts; off by choice too.
        XCTAssertFalse(try Inducer.induce(examples: Self.toy, options: o).source.contains("per_idf"))
        o.normalize = false
        XCTAssertFalse(try Inducer.induce(examples: ex, options: o).source.contains("per_idf"))
    }

    func testTestLinesEscapeQuotesBackslashesAndNewlines() throws {
        var o = Inducer.Options()
        o.testCount = 16
        let r = try Inducer.induce(examples: Self.toy, options: o)
        XCTAssertTrue(r.source.contains(#"test "Free entry: win \"cash\" \\ prize" => spam"#), r.source)
        XCTAssertTrue(r.source.contains(#"test "lunch at home?\nok" => ham"#), r.source)
        let p = try Self.check(r.source)
        XCTAssertEqual(p.tests.count, 16)
    }

    func testDeterministic() throws {
        let a = try Inducer.induce(examples: Self.toy, options: .init())
        let b = try Inducer.induce(examples: Self.toy, options: .init())
        XCTAssertEqual(a.source, b.source)
    }

    func testErrors() {
        XCTAssertThrowsError(try Inducer.induce(examples: [], options: .init()))
        XCTAssertThrowsError(try Inducer.induce(examples: [(Array("x".utf8), "a")], labels: ["b"], options: .init()))
    }

    func testRoundingAndFormatting() {
        XCTAssertEqual(Inducer.roundSig(1.23456, 3), 1.23)
        XCTAssertEqual(Inducer.roundSig(-0.000123456, 3), -0.000123)
        XCTAssertEqual(Inducer.format(-0.000123), "-0.000123")
        XCTAssertEqual(Inducer.format(2), "2")
        XCTAssertEqual(Inducer.format(12.5), "12.5")
    }

    func testSplitIsDeterministicAndDisjoint() {
        let ex: [LabeledExample] = (0..<100).map { (Array("\($0)".utf8), "a") }
        let (tr, te) = Inducer.split(ex, trainFraction: 0.2, seed: 7)
        XCTAssertEqual(tr.count, 20); XCTAssertEqual(te.count, 80)
        XCTAssertEqual(Set(tr.map(\.text) + te.map(\.text)).count, 100)
        XCTAssertEqual(Inducer.split(ex, trainFraction: 0.2, seed: 7).train.map(\.text), tr.map(\.text))
    }
}

/// Held-out accuracy on the example data sets (seeded shuffle, seed 42; train on the first part).
final class InduceHeldOutTests: XCTestCase {
    func run(_ name: String, key: String, fraction: Double, negation: Bool = false, balanced: Bool = false,
             adjust: (inout Inducer.Options) -> Void = { _ in }) throws -> (InducedProgram, LabeledEvaluation) {
        let all = try Inducer.loadJSONL(Data.path(name), textKey: key)
        XCTAssertGreaterThan(all.count, 1000)
        let (train, test) = Inducer.split(all, trainFraction: fraction)
        var o = Inducer.Options()
        o.programName = name
        o.negation = negation
        o.balanced = balanced
        adjust(&o)
        let r = try Inducer.induce(examples: train, options: o)
        _ = try InduceTests.check(r.source)
        // What the inducer writes is already in the `loopai fmt` layout (long tables packed).
        let (unit, _) = Parser.parse(SourceFile(name: "\(name).loop", text: r.source))
        XCTAssertEqual(Formatter.format(unit), r.source, "the induced \(name) program is fmt-clean")
        return (r, r.evaluate(test))
    }

    func testSMSSpamTenPercent() throws {
        let (r, ev) = try run("sms_spam", key: "text", fraction: 0.1)
        // Measured: 0.9761 accuracy, spam F1 0.906, training accuracy 0.996.
        XCTAssertGreaterThanOrEqual(ev.accuracy, 0.97, "\(ev)")
        XCTAssertGreaterThanOrEqual(ev.f1("spam"), 0.89, "\(ev)")
        XCTAssertGreaterThanOrEqual(r.trainingAccuracy, 0.98)
        XCTAssertLessThanOrEqual(r.wordCount, 2 * 300)
    }

    func testHDFSTwentyPercent() throws {
        // Measured: 0.9944 (the 9 misses are records of 4 templates absent from the training part).
        let (_, ev) = try run("hdfs_logs", key: "message", fraction: 0.2)
        XCTAssertGreaterThanOrEqual(ev.accuracy, 0.99, "\(ev)")
    }

    /// Balanced class weights on SMS (13% spam): spam's recall rises, and so does its F1.
    func testSMSSpamTenPercentBalanced() throws {
        // Measured: accuracy 0.9777, spam recall 0.922, F1 0.918 (0.846 and 0.906 unweighted).
        let (_, plain) = try run("sms_spam", key: "text", fraction: 0.1)
        let (_, ev) = try run("sms_spam", key: "text", fraction: 0.1, balanced: true)
        XCTAssertGreaterThan(ev.recall("spam"), plain.recall("spam") + 0.03, "\(ev)")
        XCTAssertGreaterThan(ev.f1("spam"), plain.f1("spam"), "\(ev)")
        XCTAssertGreaterThanOrEqual(ev.accuracy, 0.975, "\(ev)")
    }

    /// Five-fold cross-validation (what `loopai generate` does below 2,000 examples) over the
    /// strengths, negation and class weights: every candidate is measured, the most accurate one
    /// is trained, and on these splits it is at least as good as the fixed defaults.
    func testCrossValidationChoosesTheStrengthNegationAndWeights() throws {
        // (Sentiment on half, in Benchmarks/accuracy.sh: 0.8113 with L2 0.001 and negation.)
        for (name, key, fraction, floor) in [("sms_spam", "text", 0.1, 0.975)] {
            // Measured: SMS 0.9761 (the defaults kept).
            let (r, ev) = try run(name, key: key, fraction: fraction) { o in
                o.crossValidationFolds = 5; o.chooseNegation = true; o.chooseBalanced = true
            }
            let cv = try XCTUnwrap(r.crossValidation, name)
            XCTAssertEqual(cv.folds, 5)
            XCTAssertEqual(cv.candidates.count, 2 * 2 * Inducer.Options().crossValidationL2Grid.count, name)
            XCTAssertEqual(Set(cv.candidates.map { "\($0.negation) \($0.balanced)" }).count, 4, name)
            let best = cv.candidates.max { $0.accuracy < $1.accuracy }!
            let chosen = try XCTUnwrap(cv.candidates.first { $0.negation == cv.negation && $0.balanced == cv.balanced && $0.l2 == r.l2 })
            XCTAssertEqual(cv.best.accuracy, best.accuracy, name)
            // The defaults (plain counts, equal weights, 0.001) stay unless the best beats them by
            // more than one standard error; on this split it does not (97.85% against 98.20%, 0.62%).
            let defaults = try XCTUnwrap(cv.defaults)
            XCTAssertEqual(defaults.l2, 1e-3)
            XCTAssertEqual(cv.standardError, (defaults.accuracy * (1 - defaults.accuracy) / Double(557)).squareRoot(), accuracy: 1e-12)
            if best.accuracy - defaults.accuracy > cv.standardError { XCTAssertEqual(chosen.accuracy, best.accuracy, name) }
            else { XCTAssertTrue(cv.keptDefaults, name); XCTAssertEqual(chosen.accuracy, defaults.accuracy) }
            XCTAssertTrue(r.source.contains((cv.keptDefaults ? "kept" : "chosen") + " by 5-fold cross-validation"), name)
            XCTAssertEqual(r.source.contains("sum_words_negating"), cv.negation, name)
            XCTAssertGreaterThanOrEqual(ev.accuracy, floor, "\(name): \(ev)")
        }
        // What the caller fixes is not searched; large data keeps the held-out seventh.
        let (fixed, _) = try run("hdfs_logs", key: "message", fraction: 0.2) { o in o.crossValidationFolds = 3; o.crossValidationL2Grid = [1e-3] }
        XCTAssertNil(fixed.crossValidation, "one strength and ten labels: nothing to choose")
        XCTAssertFalse(fixed.source.contains("cross-validation"))
        let (large, _) = try run("sms_spam", key: "text", fraction: 0.1) { o in o.crossValidationFolds = 5; o.chooseNegation = true; o.validationMinimum = 500 }
        XCTAssertNil(large.crossValidation, "557 examples, over the minimum of 500: the strength is chosen on a held-out seventh")
        XCTAssertFalse(large.validation.isEmpty)
    }

    /// What `loopai generate` searches on two labels, the Naive Bayes blends included: on the
    /// examples' splits the folds prefer a blend by more than a standard error, and it holds out.
    func testCrossValidationChoosesANaiveBayesBlend() throws {
        // Measured: sentiment 82.13% (negation, scaled, L2 0.003; the defaults 80.40%), SMS 98.25%
        // with spam F1 0.932 (blend, L2 0.003; the defaults 97.61% and 0.906).
        for (name, fraction, floor, spamF1) in [("sentiment", 0.5, 0.815, nil), ("sms_spam", 0.1, 0.978, 0.925)] {
            let (r, ev) = try run(name, key: "text", fraction: fraction) { o in
                o.crossValidationFolds = 5; o.chooseNegation = true; o.chooseBalanced = true; o.chooseNaiveBayes = true
            }
            let cv = try XCTUnwrap(r.crossValidation, name)
            // Per negation: plain and balanced regression, blend, scaled; each over the strengths.
            XCTAssertEqual(cv.candidates.count, 2 * 4 * Inducer.Options().crossValidationL2Grid.count, name)
            XCTAssertEqual(Set(cv.candidates.map(\.naiveBayes)), [.off, .blend, .scaled], name)
            XCTAssertFalse(cv.candidates.contains { $0.naiveBayes != .off && $0.balanced }, "a blend carries the prior: no class weights")
            XCTAssertFalse(cv.keptDefaults, name)
            XCTAssertNotEqual(cv.naiveBayes, .off, name)
            XCTAssertGreaterThan(cv.chosen.accuracy - cv.defaults!.accuracy, cv.standardError, name)
            XCTAssertTrue(r.source.contains("blended with multinomial Naive Bayes"), name)
            XCTAssertGreaterThanOrEqual(ev.accuracy, floor, "\(name): \(ev)")
            if let spamF1 { XCTAssertGreaterThanOrEqual(ev.f1("spam"), spamF1, "\(ev)") }
        }
    }

    /// The words per label chosen on the held-out examples: the fewest as accurate as the most.
    func testTheVocabularyIsTheFewestWordsAsAccurateAsTheMost() throws {
        let v = InducedProgram.Vocabulary.choose(caps: [25, 50, 100, 300], accuracy: [0.9, 0.95, 0.97, 0.96], measuredOn: "x")
        XCTAssertEqual(v.chosen, 100, "the first at least as accurate as 300 words")
        XCTAssertEqual(InducedProgram.Vocabulary.choose(caps: [25, 300], accuracy: [0.9, 0.95], measuredOn: "x").chosen, 300)
        XCTAssertEqual(InducedProgram.Vocabulary.choose(caps: [300], accuracy: [0.5], measuredOn: "x").chosen, 300)
        // HDFS's templates need few words: the folds find every size as accurate, so the program
        // keeps the fewest, and holds out as well as with 300 words per label.
        let (full, fullEv) = try run("hdfs_logs", key: "message", fraction: 0.2) { o in o.crossValidationFolds = 5 }
        let (r, ev) = try run("hdfs_logs", key: "message", fraction: 0.2) { o in o.crossValidationFolds = 5; o.chooseVocabulary = true }
        XCTAssertNil(full.vocabulary)
        let voc = try XCTUnwrap(r.vocabulary)
        XCTAssertEqual(voc.wordsPerLabel, [25, 50, 100, 200, 300])
        XCTAssertEqual(voc.measuredOn, "5-fold cross-validation")
        XCTAssertEqual(voc.chosen, voc.wordsPerLabel[voc.accuracy.firstIndex { $0 >= voc.accuracy.last! }!])
        XCTAssertLessThan(voc.chosen, 300, "\(voc)")
        XCTAssertLessThanOrEqual(r.wordCount, voc.chosen * r.labels.count)
        XCTAssertLessThan(r.wordCount, full.wordCount)
        XCTAssertTrue(r.source.contains("at most \(voc.chosen) kept per label\n// (as accurate as 300 on 5-fold cross-validation);"), r.source)
        XCTAssertGreaterThanOrEqual(ev.accuracy, fullEv.accuracy - 0.002, "\(ev) against \(fullEv)")
        // Without held-out examples there is nothing to choose on.
        let (none, _) = try run("hdfs_logs", key: "message", fraction: 0.2) { o in o.chooseVocabulary = true }
        XCTAssertNil(none.vocabulary)
    }

    /// Folds are stratified: data ordered label by label, round-robin, still gives every fold every label.
    func testCrossValidationFoldsHoldEveryLabel() throws {
        let labels = (0..<5).map { "l\($0)" }
        var examples: [LabeledExample] = []
        for i in 0..<200 {
            let l = i % 5
            examples.append((text: Array("word\(l) filler\(i % 7) word\(l)x".utf8), label: labels[l]))
        }
        var o = Inducer.Options()
        o.crossValidationFolds = 5
        let r = try Inducer.induce(examples: examples, options: o)
        let cv = try XCTUnwrap(r.crossValidation)
        XCTAssertGreaterThan(cv.candidates.map(\.accuracy).max()!, 0.95, "\(cv.candidates)")
    }

    func testSentimentHalf() throws {
        // Measured: 0.8040.
        let (_, ev) = try run("sentiment", key: "text", fraction: 0.5)
        XCTAssertGreaterThanOrEqual(ev.accuracy, 0.79, "\(ev)")
    }

    /// With negation ("not good" has a weight of its own), on the same split.
    func testSentimentHalfWithNegation() throws {
        // Measured: 0.8113 (without negation 0.8040; with the former shared weight 0.8100).
        let (r, ev) = try run("sentiment", key: "text", fraction: 0.5, negation: true)
        XCTAssertGreaterThanOrEqual(ev.accuracy, 0.80, "\(ev)")
        XCTAssertTrue(r.source.contains("sum_words_negating(msg, positive_flips)"), r.source)
        XCTAssertTrue(r.source.contains("sum_words(msg, positive_words)"), r.source)
        XCTAssertTrue(r.source.contains("use std.text"))
        // The program's scores are the model's: its answers on the training part are the ones the
        // trainer counted (the evaluation runs the emitted program).
        XCTAssertEqual(r.program.labels, ["negative", "positive"])
    }
}

final class InduceNegationTests: XCTestCase {
    /// The inducer's negators are exactly those of std.text's `sum_words_negating`, with its scope.
    func testNegatorsAreTheStdlibs() throws {
        let p = try InduceTests.check("program p\ninput text: text\nlabels a, b\nuse std.text\nscore a { sum_words_negating(lower(text), {\"x\": 1}) }\notherwise => b\n")
        let f = try XCTUnwrap(p.functions.first { $0.name == "sum_words_negating" })
        guard case .builtin(.sum_words_negated, let args) = f.body.kind, case .literal(.list(let l)) = args[2].kind,
              case .literal(.number(let scope)) = args[3].kind else { return XCTFail("\(f.body)") }
        XCTAssertEqual(p.lists[l].map { String(decoding: $0, as: UTF8.self) }, Inducer.englishNegators)
        XCTAssertEqual(scope, Inducer.negationScope)
    }

    /// A word after a negator is learned with a weight of its own: "good" alone is positive, and
    /// "not good" examples then count against `positive` instead of confusing the weight. The
    /// program writes the two weights p (plain) and q (negated) as (p + q) / 2 in a `sum_words`
    /// table and (p − q) / 2 in a `sum_words_negating` one.
    func testNegatedOccurrencesCountAgainstTheWord() throws {
        let ex = ["good food", "good service", "really good", "not good", "not good at all", "bad food", "bad service", "never good"]
            .map { (text: Array($0.utf8), label: $0.hasPrefix("not") || $0.hasPrefix("never") || $0.hasPrefix("bad") ? "negative" : "positive") }
        var o = Inducer.Options()
        o.negation = true
        o.lengthFeature = false
        o.predicates = []
        let r = try Inducer.induce(examples: ex, options: o)
        XCTAssertEqual(r.trainingAccuracy, 1.0)
        XCTAssertTrue(r.source.contains("sum_words_negating(msg, positive_flips)") || r.source.contains("sum_words_negating(msg, negative_flips)"), r.source)
        let interp = Interpreter(r.program)
        for e in ex { XCTAssertEqual(r.program.labels[interp.evaluate([.text(e.text)]).label], e.label, String(decoding: e.text, as: UTF8.self)) }
        var plain = o
        plain.negation = false
        XCTAssertLessThan(try Inducer.induce(examples: ex, options: plain).trainingAccuracy, 1.0, "without negation \"not good\" and \"good food\" share their only word")
    }
}
