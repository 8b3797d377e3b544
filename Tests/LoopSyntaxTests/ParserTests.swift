import XCTest
@testable import LoopSyntax
import LoopDiagnostics

final class ParserTests: XCTestCase {
    func parse(_ s: String) -> (SourceUnit, [Diagnostic]) { Parser.parse(SourceFile(name: "t.loop", text: s)) }

    func testPrecedence() {
        let (u, d) = parse("let x = 1 + 2 * 3 > 4 and not a or b")
        XCTAssertTrue(d.isEmpty)
        XCTAssertEqual(SyntaxDump.ast(u), """
        Let x
          Binary or
            Binary and
              Binary >
                Binary +
                  Number 1
                  Binary *
                    Number 2
                    Number 3
                Number 4
              Unary not
                Name a
            Name b

        """)
    }

    func testNotBindsLooserThanComparison() {
        let (u, _) = parse("let x = not a == b")
        XCTAssertTrue(SyntaxDump.ast(u).contains("Unary not\n    Binary ==\n"))
    }

    func testScoreTermsSplitOnLeadingMinus() {
        let (u, d) = parse("score a {\n  2 when x\n  -1 when y\n  3 -\n  1\n}")
        XCTAssertTrue(d.isEmpty, "\(d)")
        guard case .score(_, let terms) = u.decls[0].kind else { return XCTFail() }
        // `-1` at a line start begins a term; a `-` ending a line continues the term (`3 - 1`).
        XCTAssertEqual(terms.count, 3)
        XCTAssertEqual(terms.map { Formatter.exprInline($0.value) }, ["2", "-1", "3 - 1"])
    }

    func testChainedComparisonRejected() {
        let (_, d) = parse("let x = 1 < 2 < 3")
        XCTAssertEqual(d.map(\.code), ["E0205"])
    }

    func testRecoveryReportsEachDeclarationOnce() {
        let (u, d) = parse("""
        program p
        input text: text
        labels a, b
        rule r1 when => a
        rule r2 when contains(text, "x" => b
        rul r3 when true => a
        otherwise => a
        """)
        XCTAssertEqual(d.map(\.code), ["E0201", "E0201", "E0202"])
        XCTAssertTrue(d[2].hints.contains("did you mean `rule`?"))
        // The declarations around the broken ones are still there.
        XCTAssertTrue(u.decls.contains { if case .otherwise = $0.kind { return true }; return false })
    }

    func testDeepNestingIsADiagnosticNotACrash() {
        let deep = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        let (_, d) = parse("let x = " + deep)
        XCTAssertEqual(d.first?.code, "E0204")
        let deepNot = String(repeating: "not ", count: 5000) + "true"
        XCTAssertEqual(parse("let x = " + deepNot).1.first?.code, "E0204")
        let deepNeg = String(repeating: "-", count: 5000) + "1"
        XCTAssertEqual(parse("let x = " + deepNeg).1.first?.code, "E0204")
    }

    func testTestRecordsAndTables() {
        let (u, d) = parse("""
        const w = {"good": 1.5, "bad": -2}
        test { a: "x", n: 3 } => yes
        test "plain" => no
        """)
        XCTAssertTrue(d.isEmpty, "\(d)")
        XCTAssertEqual(u.decls.count, 3)
    }

    func testReservedWordAsName() {
        let (_, d) = parse("let rule = 1")
        XCTAssertEqual(d.map(\.code), ["E0202"])
    }

    func testAssignInsteadOfEquals() {
        let (_, d) = parse("rule r when text = \"a\" => b")
        XCTAssertEqual(d.map(\.code), ["E0201"])
        XCTAssertEqual(d[0].fixes.first?.replacement, "==")
    }
}
