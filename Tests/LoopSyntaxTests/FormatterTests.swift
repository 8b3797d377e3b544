import XCTest
@testable import LoopSyntax
import LoopDiagnostics

/// Random programs from a seeded generator: the formatter must keep meaning (same AST) and be idempotent.
struct ProgramGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }

    let words = ["free", "win", "prize", "café", "ΣΟΦΙΑ", "naïve", "call now", "日本", "\"quoted\"", "back\\slash", "tab\there"]
    let names = ["text", "msg", "n", "flag"]

    mutating func expr(_ d: Int, type: String) -> String {
        if d <= 0 {
            switch type {
            case "bool": return pick(["true", "false", "flag", "contains(msg, \"a\")"])
            case "text": return pick(["text", "msg", "\"x\"", Formatter.quote(pick(words))])
            default: return pick(["1", "2.5", "n", "0.001", "1e-7", "len(text)"])
            }
        }
        switch type {
        case "bool":
            switch int(8) {
            case 0: return "\(expr(d - 1, type: "bool")) and \(expr(d - 1, type: "bool"))"
            case 1: return "\(expr(d - 1, type: "bool")) or \(expr(d - 1, type: "bool"))"
            case 2: return "not \(expr(d - 1, type: "bool"))"
            case 3: return "\(expr(d - 1, type: "number")) \(pick([">", "<", ">=", "<=", "==", "!="])) \(expr(d - 1, type: "number"))"
            case 4: return "(\(expr(d - 1, type: "bool")))"
            case 5: return "contains_any(\(expr(d - 1, type: "text")), [\(Formatter.quote(pick(words))), \(Formatter.quote(pick(words)))])"
            case 6: return "matches(\(expr(d - 1, type: "text")), /\(pick(["a+b", "\\b09\\d{9}\\b", "[a-z]{2,}", "(x|y)?z", "é"]))/\(pick(["", "i"])))"
            default: return "if \(expr(d - 1, type: "bool")) then \(expr(d - 1, type: "bool")) else \(expr(d - 1, type: "bool"))"
            }
        case "text":
            return pick(["lower(\(expr(d - 1, type: "text")))", "upper(\(expr(d - 1, type: "text")))", "trim(\(expr(d - 1, type: "text")))", expr(0, type: "text")])
        default:
            switch int(6) {
            case 0: return "\(expr(d - 1, type: "number")) \(pick(["+", "-", "*", "/"])) \(expr(d - 1, type: "number"))"
            case 1: return "-\(expr(d - 1, type: "number"))"
            case 2: return "(\(expr(d - 1, type: "number")))"
            case 3: return "count(\(expr(d - 1, type: "text")), \"!\")"
            case 4: return "max(\(expr(d - 1, type: "number")), \(expr(d - 1, type: "number")))"
            default: return expr(0, type: "number")
            }
        }
    }

    mutating func program() -> String {
        var s = "// header comment\nprogram p\(int(100))\n  \"desc \(int(9))\"\n\n"
        s += "input { text: text, n: number, flag: bool }\nlabels a, b" + (int(2) == 0 ? " as \(Formatter.quote(pick(words)))" : "") + ", c\n"
        if int(2) == 0 { s += "use std.text\n" }
        s += "let msg = \(expr(2, type: "text"))  // trailing\n"
        s += "const kw = [" + (0..<(1 + int(40))).map { _ in Formatter.quote(pick(words)) }.joined(separator: ", ") + "]\n"
        s += "fn f(x: number, t: text) -> bool = \(expr(2, type: "bool").replacingOccurrences(of: "flag", with: "true"))\n"
        for i in 0..<int(5) { s += "rule r\(i) when \(expr(1 + int(4), type: "bool")) => \(pick(["a", "b", "c"]))\(int(3) == 0 ? " confidence 0.9" : "")\n" }
        for l in ["a", "b"] where int(3) > 0 {
            s += "score \(l) {\n"
            for _ in 0..<int(5) {
                if int(4) == 0 { s += "  // a comment in the block\n" }
                s += "  " + (int(2) == 0 ? "\(expr(1, type: "number")) when \(expr(2, type: "bool"))" : expr(2, type: "number")) + "\n"
            }
            s += "}\n"
        }
        s += "otherwise => c\n"
        s += "test { text: \(Formatter.quote(pick(words))), n: 3, flag: true } => a\n"
        return s
    }
}

final class FormatterTests: XCTestCase {
    func roundTrip(_ src: String, file: StaticString = #filePath, line: UInt = #line) {
        let (u1, d1) = Parser.parse(SourceFile(name: "a", text: src))
        XCTAssertTrue(d1.filter { $0.severity == .error }.isEmpty, "generated program does not parse: \(d1.map(\.message))\n\(src)", file: file, line: line)
        let f1 = Formatter.format(u1)
        let (u2, d2) = Parser.parse(SourceFile(name: "b", text: f1))
        XCTAssertTrue(d2.isEmpty, "formatted program does not parse: \(d2.map(\.message))\n\(f1)", file: file, line: line)
        XCTAssertEqual(SyntaxDump.ast(u1), SyntaxDump.ast(u2), "formatting changed the meaning\n\(src)\n---\n\(f1)", file: file, line: line)
        XCTAssertEqual(Formatter.format(u2), f1, "formatting is not idempotent", file: file, line: line)
        XCTAssertEqual(u1.comments.count, u2.comments.count, "a comment was lost", file: file, line: line)
    }

    func testRandomProgramsRoundTrip() {
        var g = ProgramGenerator(seed: 42)
        for _ in 0..<300 { roundTrip(g.program()) }
    }

    func testCanonicalLayout() {
        let src = """
        program   demo "d"
        input text:text
        labels spam,ham
        const words=["a","b"]
        rule r when contains_any(text,words)=>spam confidence 0.9
        score ham{1.0
        -0.5 when len(text)>3}
        otherwise=>ham
        """
        let (u, d) = Parser.parse(SourceFile(name: "a", text: src))
        XCTAssertTrue(d.isEmpty, "\(d)")
        XCTAssertEqual(Formatter.format(u), """
        program demo
          "d"

        input text: text
        labels spam, ham

        const words = ["a", "b"]

        rule r when contains_any(text, words) => spam confidence 0.9

        score ham {
          1
          -0.5 when len(text) > 3
        }

        otherwise => ham

        """)
    }

    /// Labels with the application's strings: one line when it fits, else one label per line
    /// (a 77-label task), and either layout round-trips.
    func testLabelsWithApplicationStrings() {
        roundTrip("program p\ninput text: text\nlabels  not_spam as   \"not spam\",spam\notherwise => spam\n")
        let (u, _) = Parser.parse(SourceFile(name: "a", text: "program p\ninput text: text\nlabels not_spam as \"not spam\",spam\notherwise => spam\n"))
        XCTAssertTrue(Formatter.format(u).contains("labels not_spam as \"not spam\", spam\n"), Formatter.format(u))
        let many = (0..<77).map { "intent_\($0) as \"intent \($0)?\"" }.joined(separator: ", ")
        let src = "program p\ninput text: text\nlabels \(many)\notherwise => intent_0\n"
        let (m, _) = Parser.parse(SourceFile(name: "a", text: src))
        let out = Formatter.format(m)
        XCTAssertTrue(out.contains("labels\n  intent_0 as \"intent 0?\",\n  intent_1 as \"intent 1?\",\n"), out)
        XCTAssertTrue(out.contains("  intent_76 as \"intent 76?\"\n"), out)
        roundTrip(src)
        // `as` needs the string.
        let (_, d) = Parser.parse(SourceFile(name: "a", text: "program p\ninput text: text\nlabels a as b, c\n"))
        XCTAssertEqual(d.first?.code, "E0201")
        XCTAssertTrue(d.first?.message.contains("expected the label's string after `as`") ?? false, d.first?.message ?? "")
    }

    func testLongListsWrap() {
        let items = (0..<40).map { "\"keyword\($0)\"" }.joined(separator: ", ")
        let (u, _) = Parser.parse(SourceFile(name: "a", text: "const k = [\(items)]"))
        let out = Formatter.format(u)
        XCTAssertTrue(out.split(separator: "\n").allSatisfy { $0.count <= Formatter.width })
        roundTrip("const k = [\(items)]")
    }

    /// A long word table is packed up to the line width like a list (an induced program's 600
    /// words stay ~100 lines, not 600), and round-trips.
    func testLongTablesPackUpToTheLineWidth() {
        let entries = (0..<600).map { "\"word\($0)\": \(Double($0 % 17) / 8)" }.joined(separator: ", ")
        let src = "const t = {\(entries)}\n"
        let (u, _) = Parser.parse(SourceFile(name: "a", text: src))
        let out = Formatter.format(u)
        let lines = out.split(separator: "\n")
        XCTAssertTrue(lines.allSatisfy { $0.count <= Formatter.width }, out)
        XCTAssertLessThan(lines.count, 120, out)
        XCTAssertTrue(lines[1].hasPrefix("  \"word0\": 0, \"word1\": 0.125, "), out)
        roundTrip(src)
    }

    func testCommentsInsideListsAndTablesStayWithTheirEntries() {
        let src = "const w = {\n  // praise\n  \"good\": 1, // trailing\n  \"bad\": -1\n}\nconst k = [\"x\", // first\n  \"y\"]\n"
        let (u, d) = Parser.parse(SourceFile(name: "a", text: src))
        XCTAssertTrue(d.isEmpty)
        XCTAssertEqual(Formatter.format(u), """
        const w = {
          // praise
          "good": 1, // trailing
          "bad": -1,
        }
        const k = [
          "x", // first
          "y",
        ]

        """)
        roundTrip(src)
    }

    func testCommentsSurvive() {
        roundTrip("""
        // leading
        program p // trailing on header
        // before input
        input text: text
        labels a, b
        score a {
          // inside
          1 when contains(text, "x") // trailing term
        }
        otherwise => b
        // at the end
        """)
    }
}

final class RobustnessTests: XCTestCase {
    /// The parser (and lexer) must survive any byte string: random bytes and mutated programs.
    func testParserNeverCrashesOnArbitraryBytes() {
        var g = ProgramGenerator(seed: 7)
        let base = Array(g.program().utf8)
        for i in 0..<2000 {
            var bytes: [UInt8]
            switch i % 3 {
            case 0: bytes = (0..<g.int(300)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            case 1:
                bytes = base
                for _ in 0..<(1 + g.int(8)) where !bytes.isEmpty { bytes[g.int(bytes.count)] = UInt8(truncatingIfNeeded: g.next()) }
            default:
                bytes = Array(base.prefix(g.int(base.count + 1)))
            }
            let f = SourceFile(name: "fuzz", bytes: bytes)
            let (_, d) = Parser.parse(f)
            // Every diagnostic must point inside the file.
            for x in d { XCTAssertLessThanOrEqual(x.range.end, bytes.count + 1) }
            _ = TextRenderer().render(d)
        }
    }
}
