@testable import LoopCodegen
import LoopInterpreter
import LoopSema
import XCTest

/// The lowering decides which scans read a text in one pass (the emitter only follows the plan,
/// and `loopai dump mir` shows it): per source, its first word-table scan with every flag
/// automaton of the source; without word tables, its shared flag automata; another text's
/// scans never join. The compiled program still answers as the interpreter does.
final class ScanLoopTests: XCTestCase {
    static let program = """
    program loops
    input { subject: text, body: text }
    labels a, b, c
    let low = lower(body)
    const a_words = {"refund": 1.5, "invoice": 2, "charge": 0.5}
    const b_words = {"crash": 1, "error": 2.5, "refund": -0.25}
    const c_words = {"hello": 0.5, "thanks": 1}
    rule urgent when contains_any(subject, ["urgent", "asap"]) and matches(subject, /[0-9]{3}/) => c
    score a {
      sum_words(low, a_words)
      1 when contains_any(body, ["http", "www"])
    }
    score b {
      sum_words(low, b_words)
      2 when matches(body, /err(or)?[0-9]+/)
    }
    score c { sum_words(subject, c_words) }
    otherwise => a
    """

    func testThePlanGroupsEachSourcesScansIntoOnePass() throws {
        let p = try XCTUnwrap(checkSource(ScanLoopTests.program))
        let low = try LoweredProgram(p)
        // Every scan in at most one loop, and a loop's scans all read its source.
        let members = low.loops.flatMap(\.members)
        XCTAssertEqual(members.count, Set(members).count, "a scan in two loops")
        for l in low.loops { XCTAssertTrue(l.members.allSatisfy { low.scans[$0].source == l.source }) }
        // The body's two word tables share one row scan, which runs with the body's flag automata.
        let rowScans = low.scans.indices.filter { low.scans[$0].rows != nil }
        XCTAssertEqual(rowScans.count, 1, low.summary)
        let bodyLoop = try XCTUnwrap(low.loops.first { $0.rowScan == rowScans[0] }, low.summary)
        let bodyFlags = low.scans.indices.filter { low.scans[$0].source == bodyLoop.source && low.scans[$0].dfa != nil && low.scans[$0].rows == nil
            && low.scans[$0].weights == nil }
        XCTAssertFalse(bodyFlags.isEmpty, low.summary)
        XCTAssertEqual(bodyLoop.flagScans, bodyFlags)
        // The subject's single table is a weighted scan of its own, outside every loop.
        let weighted = low.scans.indices.filter { low.scans[$0].weights != nil }
        XCTAssertEqual(weighted.count, 1, low.summary)
        XCTAssertFalse(members.contains(weighted[0]))
        // The dump names each pass.
        XCTAssertTrue(low.summary.contains("scan loops (one pass over the text each; other scans run alone):\n"), low.summary)
        XCTAssertTrue(low.summary.contains("\n  source#\(bodyLoop.source): " + bodyLoop.members.map { "scan#\($0)" }.joined(separator: " + ") + "\n"),
                      low.summary)
        // And the compiled code follows it with the interpreter's answers.
        let texts: [(String, String)] = [("urgent 123", "refund please"), ("hi", "error42 at www.x.com, refund refund"), ("thanks", "hello"),
                                         ("asap", "crash: err7 invoice"), ("", ""), ("URGENT 999", "Refund INVOICE charge")]
        let inputs = texts.map { [Value.text(Array($0.0.utf8)), .text(Array($0.1.utf8))] }
        let interp = Interpreter(p).classifyBatch(inputs)
        let jit = try JITEngine(p).classifyBatch(inputs)
        for (x, y) in zip(interp, jit) {
            XCTAssertEqual(x.label, y.label)
            XCTAssertEqual(x.scores.map(\.bitPattern), y.scores.map(\.bitPattern))
        }
    }

    /// Flag scans in a shared loop: `\d` remembers only the last unit's class (no state), a
    /// currency pattern cannot match without a digit or a sign (it runs alone on texts with one),
    /// a word pattern (alone, or grouped with `\d` into one automaton) steps its automaton; the
    /// dump says which; the answers are the interpreter's.
    func testFlagScansRunAsTheirAutomataAllow() throws {
        let source = """
        program flags
        input text: text
        labels a, b
        use std.text
        let low = lower(text)
        score a {
          1 when has_number(text)
          2 when has_currency(text)
          sum_words(low, {"win": 1, "cash": 2})
        }
        score b {
          sum_words(low, {"win": -1, "lose": 3})
          0.5 when matches(text, /free/i)
        }
        otherwise => b
        """
        func kinds(_ low: LoweredProgram) throws -> [String] {
            let loop = try XCTUnwrap(low.loops.first { !$0.flagScans.isEmpty }, low.summary)
            return loop.flagScans.map { k -> String in
                switch low.flagScanMode(k) {
                case .automaton: return "automaton"
                case .memoryless: return "memoryless"
                case .triggered(let classes): XCTAssertLessThan(classes.filter { $0 }.count, classes.count); return "triggered"
                }
            }.sorted()
        }
        // Without the word pattern; with it, alone; with it and `\d` (grouped into one automaton).
        let without = try XCTUnwrap(checkSource(source.replacingOccurrences(of: "  0.5 when matches(text, /free/i)\n", with: "")))
        let low = try LoweredProgram(without)
        XCTAssertEqual(try kinds(low), ["memoryless", "triggered"], low.summary)
        XCTAssertTrue(low.summary.contains("remembers only the last unit's class"), low.summary)
        XCTAssertTrue(low.summary.contains("runs alone on texts that hold one"), low.summary)
        let alone = try XCTUnwrap(checkSource(source.replacingOccurrences(of: "  1 when has_number(text)\n", with: "")
            .replacingOccurrences(of: "  2 when has_currency(text)\n", with: "")))
        XCTAssertEqual(try kinds(LoweredProgram(alone)), ["automaton"])
        let p = try XCTUnwrap(checkSource(source))
        XCTAssertTrue(try kinds(LoweredProgram(p)).contains("automaton"))
        for program in [without, alone, p] {
            let texts = ["win cash now", "WIN $50 cash", "free 3 days", "lose 10 eur", "£ 5", "5 £", "nothing", "", "Free €", "9",
                     "cash 12.50 usd", "win\u{301} 7"]
            let inputs = texts.map { [Value.text(Array($0.utf8))] }
            let interp = Interpreter(program).classifyBatch(inputs)
            let jit = try JITEngine(program).classifyBatch(inputs)
            assertSameDecisions(interp, jit, "flag scans", inputs: inputs)
            for (x, y) in zip(interp, jit) { XCTAssertEqual(x.scores.map(\.bitPattern), y.scores.map(\.bitPattern)) }
        }
    }
}
