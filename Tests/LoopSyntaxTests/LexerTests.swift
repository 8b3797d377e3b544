import XCTest
@testable import LoopSyntax
import LoopDiagnostics

final class LexerTests: XCTestCase {
    func kinds(_ s: String) -> [TokenKind] {
        Lexer.tokenize(SourceFile(name: "t", text: s)).tokens.map(\.kind)
    }

    func testRegexVersusDivision() {
        XCTAssertEqual(kinds("a / b"), [.identifier("a"), .punct(.slash), .identifier("b"), .eof])
        XCTAssertEqual(kinds("f(t, /a\\/b/i)"), [.identifier("f"), .punct(.lparen), .identifier("t"), .punct(.comma),
                                                 .regex(pattern: "a\\/b", flags: "i"), .punct(.rparen), .eof])
        XCTAssertEqual(kinds("when /x[/]y/"), [.keyword(.when), .regex(pattern: "x[/]y", flags: ""), .eof])
        XCTAssertEqual(kinds("(1) / 2"), [.punct(.lparen), .number(1), .punct(.rparen), .punct(.slash), .number(2), .eof])
    }

    func testStringEscapes() {
        XCTAssertEqual(kinds(#""a\n\t\"\\\u{e9}""#), [.string("a\n\t\"\\é"), .eof])
        let r = Lexer.tokenize(SourceFile(name: "t", text: #""bad \d""#))
        XCTAssertEqual(r.diagnostics.map(\.code), ["E0102"])
    }

    func testUnterminatedStringRecoversAtEndOfLine() {
        let r = Lexer.tokenize(SourceFile(name: "t", text: "\"abc\nlabels a"))
        XCTAssertEqual(r.diagnostics.map(\.code), ["E0101"])
        XCTAssertTrue(r.tokens.contains { $0.kind == .keyword(.labels) })
    }

    func testNumbers() {
        XCTAssertEqual(kinds("1 2.5 1e3 1_000 0.25"), [.number(1), .number(2.5), .number(1000), .number(1000), .number(0.25), .eof])
        XCTAssertEqual(Lexer.tokenize(SourceFile(name: "t", text: "3x")).diagnostics.map(\.code), ["E0105"])
        XCTAssertEqual(Lexer.tokenize(SourceFile(name: "t", text: "1e999")).diagnostics.map(\.code), ["E0105"])
    }

    func testUnexpectedCharactersHaveHints() {
        let r = Lexer.tokenize(SourceFile(name: "t", text: "a && b; 'x'"))
        // One error each, and the token Loop would have had, so the parser sees `a and b "x"`.
        XCTAssertEqual(r.diagnostics.map(\.code), ["E0103", "E0103", "E0103"])
        XCTAssertEqual(r.diagnostics[0].fixes.first?.replacement, "and")
        XCTAssertTrue(r.diagnostics[1].hints.contains { $0.contains("semicolons") })
        XCTAssertEqual(r.diagnostics[2].fixes.first?.replacement, "\"x\"")
        XCTAssertEqual(r.tokens.map(\.kind), [.identifier("a"), .keyword(.and), .identifier("b"), .string("x"), .eof])
    }

    func testCommentsAreKeptWithTrailingFlag() {
        let r = Lexer.tokenize(SourceFile(name: "t", text: "// lead\nlabels a, b // trail\n"))
        XCTAssertEqual(r.comments.map(\.text), ["// lead", "// trail"])
        XCTAssertEqual(r.comments.map(\.trailing), [false, true])
    }

    func testNewlineFlag() {
        let toks = Lexer.tokenize(SourceFile(name: "t", text: "a\n-b")).tokens
        XCTAssertFalse(toks[0].newlineBefore == false && toks[0].kind != .identifier("a"))
        XCTAssertTrue(toks[1].newlineBefore)
        XCTAssertFalse(toks[2].newlineBefore)
    }

    func testLocationsCountScalars() {
        let f = SourceFile(name: "t", text: "é\nab€c")
        XCTAssertEqual(f.location(of: 0).line, 1)
        let off = Array("é\nab€".utf8).count
        XCTAssertEqual(f.location(of: off).line, 2)
        XCTAssertEqual(f.location(of: off).column, 4)
    }
}
