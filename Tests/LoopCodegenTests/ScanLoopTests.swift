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
}
