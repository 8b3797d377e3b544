import Foundation
import XCTest
import LoopSema
import LoopData
@testable import LoopInterpreter

// The semantics documented in Docs/language.md, as executable statements. Every expected value
// here is written out by hand (or computed independently of the implementation), never copied
// from the interpreter's output.

/// Compiling and evaluating small programs.
enum LoopHarness {
    struct CompileFailed: Error, CustomStringConvertible {
        let diagnostics: String
        var description: String { "the program did not compile:\n" + diagnostics }
    }

    /// Parses and checks `source` against the embedded Stdlib; a program with errors fails the test.
    static func compile(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> TypedProgram {
        let (p, diags) = Checker.checkSource(SourceFile(name: "test.loop", text: source), stdlib: .embedded)
        guard let p else {
            let text = TextRenderer().render(diags)
            XCTFail("the program did not compile:\n\(text)\n\(source)", file: file, line: line)
            throw CompileFailed(diagnostics: text)
        }
        return p
    }

    /// The diagnostics codes of a program that must not compile.
    static func errorCodes(_ source: String) -> [String] {
        let (p, diags) = Checker.checkSource(SourceFile(name: "test.loop", text: source), stdlib: .embedded)
        XCTAssertNil(p, "expected the program to be rejected:\n\(source)")
        return diags.filter { $0.severity == .error }.map(\.code)
    }

    /// A program over one text input `t` that binds `v = expr`; the value of `v` for `input`.
    static func value(_ expr: String, _ input: [UInt8], prelude: String = "",
                      file: StaticString = #filePath, line: UInt = #line) throws -> Value {
        let p = try compile("program p\ninput t: text\nlabels a, b\n\(prelude)\nlet v = \(expr)\notherwise => b\n", file: file, line: line)
        let i = p.lets.firstIndex { $0.name == "v" }!
        var env = Interpreter.Env(input: [.text(input)], lets: Array(repeating: nil, count: p.lets.count))
        return Interpreter(p).eval(TExpr(.letRef(i), p.lets[i].value.type, p.lets[i].range), &env, [])
    }

    static func number(_ expr: String, _ input: [UInt8], prelude: String = "", file: StaticString = #filePath, line: UInt = #line) throws -> Double {
        let v = try value(expr, input, prelude: prelude, file: file, line: line)
        guard case .number(let x) = v else { XCTFail("not a number: \(v)", file: file, line: line); return .nan }
        return x
    }

    static func bool(_ expr: String, _ input: [UInt8], prelude: String = "", file: StaticString = #filePath, line: UInt = #line) throws -> Bool {
        let v = try value(expr, input, prelude: prelude, file: file, line: line)
        guard case .bool(let x) = v else { XCTFail("not a bool: \(v)", file: file, line: line); return false }
        return x
    }

    static func text(_ expr: String, _ input: [UInt8], prelude: String = "", file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let v = try value(expr, input, prelude: prelude, file: file, line: line)
        guard case .text(let x) = v else { XCTFail("not text: \(v)", file: file, line: line); return [] }
        return x
    }

    /// Classifies one text with a compiled program.
    static func classify(_ p: TypedProgram, _ input: String) -> Decision {
        Interpreter(p).evaluate([.text(Array(input.utf8))])
    }
}

/// Length of a scalar's UTF-8 encoding.
func utf8Length(_ c: UInt32) -> Int { c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4 }

/// Bytes of a Swift string (always valid UTF-8).
func u8(_ s: String) -> [UInt8] { Array(s.utf8) }

final class SemanticsTests: XCTestCase {
    typealias H = LoopHarness

    // MARK: every built-in, on ASCII and on non-ASCII input

    enum Expected { case number(Double), bool(Bool), text([UInt8]) }
    struct Case { let builtin: Builtin; let expr: String; let input: [UInt8]; let expected: Expected }

    static func c(_ b: Builtin, _ expr: String, _ input: String, _ n: Double) -> Case { Case(builtin: b, expr: expr, input: u8(input), expected: .number(n)) }
    static func c(_ b: Builtin, _ expr: String, _ input: String, _ x: Bool) -> Case { Case(builtin: b, expr: expr, input: u8(input), expected: .bool(x)) }
    static func c(_ b: Builtin, _ expr: String, _ input: String, _ s: String) -> Case { Case(builtin: b, expr: expr, input: u8(input), expected: .text(u8(s))) }
    static func c(_ b: Builtin, _ expr: String, bytes: [UInt8], _ e: Expected) -> Case { Case(builtin: b, expr: expr, input: bytes, expected: e) }

    /// At least one ASCII and one non-ASCII case for every built-in; `testEveryBuiltinIsCovered`
    /// keeps this table complete when a built-in is added.
    static let cases: [Case] = [
        c(.lower, "lower(t)", "Hello WORLD 123!", "hello world 123!"),
        c(.lower, "lower(t)", "ÉCOLE ŁÓDŹ ΣΟΦΙΑ ПРИВЕТ Ёж Ÿ", "école łódź σοφια привет ёж ÿ"),
        c(.lower, "lower(t)", "İ ẞ Ά Ґ Ａ 中文 😀", "İ ẞ Ά Ґ Ａ 中文 😀"),   // outside the mapped ranges: unchanged
        c(.lower, "lower(t)", bytes: [0x41, 0xFF, 0xC3, 0x41, 0xE2, 0x82], .text([0x61, 0xFF, 0xC3, 0x61, 0xE2, 0x82])),
        c(.upper, "upper(t)", "hello, world", "HELLO, WORLD"),
        c(.upper, "upper(t)", "straße ÿ ς σ ё я ı ĸ ŉ ſ", "STRAßE Ÿ Σ Σ Ё Я ı ĸ ŉ ſ"),
        c(.upper, "upper(t)", bytes: [0x61, 0xFF, 0x62], .text([0x41, 0xFF, 0x42])),
        c(.trim, "trim(t)", " \t\n\u{0B}\u{0C}\r hi there \r\n", "hi there"),
        c(.trim, "trim(t)", "\u{A0}héllo\u{3000}", "\u{A0}héllo\u{3000}"),   // only ASCII white space is trimmed
        c(.trim, "trim(t)", bytes: [0x20, 0xFF, 0x20], .text([0xFF])),
        c(.len, "len(t)", "hello", 5),
        c(.len, "len(t)", "héllo 中文", 8),
        c(.len, "len(t)", "e\u{301}", 2),          // a combining accent is a character of its own
        c(.len, "len(t)", "😀", 1),
        c(.len, "len(t)", "👍🏽🇫🇷", 4),           // emoji modifiers and flags are two scalars each
        c(.len, "len(t)", bytes: [0xFF], .number(1)),
        c(.len, "len(t)", bytes: [0xE2, 0x82], .number(2)),               // truncated sequence: one per byte
        c(.len, "len(t)", bytes: [0xE2, 0x82, 0x41], .number(3)),
        c(.len, "len(t)", bytes: [0xC0, 0x80], .number(2)),               // overlong encoding
        c(.len, "len(t)", bytes: [0xED, 0xA0, 0x80], .number(3)),         // encoded surrogate
        c(.len, "len(t)", bytes: [0xF4, 0x90, 0x80, 0x80], .number(4)),   // above U+10FFFF
        c(.word_count, "word_count(t)", "hello, world_2 don't", 4),
        c(.word_count, "word_count(t)", "Ελληνικά и русский 中文字 😀 naïve café", 6),
        c(.word_count, "word_count(t)", "東京タワー", 1),
        c(.word_count, "word_count(t)", "e\u{301}x", 2),   // U+0301 is not a word character
        c(.word_count, "word_count(t)", bytes: [0x61, 0xFF, 0x62], .number(2)),
        c(.upper_ratio, "upper_ratio(t)", "ABcd!!", 0.5),
        c(.upper_ratio, "upper_ratio(t)", "ÉCOLE école", 0.5),
        c(.upper_ratio, "upper_ratio(t)", "ΣΑς", 2.0 / 3.0),   // ς is cased (upper(ς) = Σ) but not uppercase
        c(.upper_ratio, "upper_ratio(t)", "ß 中文 123", 0),      // no cased letter at all
        c(.upper_ratio, "upper_ratio(t)", bytes: [0xFF, 0x41], .number(1)),
        c(.digit_ratio, "digit_ratio(t)", "a1b2", 0.5),
        c(.digit_ratio, "digit_ratio(t)", "١٢٣4", 0.25),        // only ASCII digits count
        c(.digit_ratio, "digit_ratio(t)", "", 0),
        c(.digit_ratio, "digit_ratio(t)", bytes: [0xFF, 0x31], .number(0.5)),
        c(.punct_ratio, "punct_ratio(t)", "hi!!", 0.5),
        c(.punct_ratio, "punct_ratio(t)", "¿qué?", 0.2),         // ¿ is not ASCII punctuation
        c(.punct_ratio, "punct_ratio(t)", "“hi”—…", 0),
        c(.contains, "contains(t, \"ell\")", "Hello", true),
        c(.contains, "contains(t, \"hello\")", "Hello", false),
        c(.contains, "contains(t, \"É\")", "École", true),
        c(.contains, "contains(t, \"É\")", "école", false),
        c(.contains, "contains(t, \"i\")", "naïve", false),
        c(.contains, "contains(t, \"\")", "x", true),
        c(.contains, "contains(t, \"a\")", bytes: [0xFF, 0x61], .bool(true)),
        c(.starts_with, "starts_with(t, \"ab\")", "abc", true),
        c(.starts_with, "starts_with(t, \"É\")", "Été", true),
        c(.starts_with, "starts_with(t, \"É\")", "été", false),
        c(.starts_with, "starts_with(t, \"\")", "abc", true),
        c(.ends_with, "ends_with(t, \"bc\")", "abc", true),
        c(.ends_with, "ends_with(t, \"é\")", "café", true),
        c(.ends_with, "ends_with(t, \"é\")", "cafe\u{301}", false),   // no normalization
        c(.contains_word, "contains_word(t, \"cat\")", "the cat sat", true),
        c(.contains_word, "contains_word(t, \"cat\")", "concatenate", false),
        c(.contains_word, "contains_word(t, \"caf\")", "café noir", false),
        c(.contains_word, "contains_word(t, \"na\")", "naïve", false),
        c(.contains_word, "contains_word(t, \"café\")", "I ❤️ café!", true),
        c(.contains_word, "contains_word(t, \"東京\")", "東京タワー", false),
        c(.contains_word, "contains_word(t, \"東京\")", "東京 タワー", true),
        c(.contains_word, "contains_word(t, \"cafe\")", "cafe\u{301}", true),   // U+0301 is not a word character
        c(.contains_word, "contains_word(t, \"new york\")", "new york city", true),
        c(.contains_word, "contains_word(t, \"C++\")", "C++ rocks", true),
        c(.contains_word, "contains_word(t, \"!!\")", "wow!!", false),           // `w` is a word character before it
        c(.contains_word, "contains_word(t, \"σοφια\")", "ΣΟΦΙΑ σοφια", true),
        c(.contains_word, "contains_word(t, \"\")", "x", false),
        c(.contains_word, "contains_word(t, \"abc\")", bytes: [0xFF, 0x61, 0x62, 0x63, 0xFF], .bool(true)),
        c(.count, "count(t, \"aa\")", "aaaa", 2),
        c(.count, "count(t, \"aa\")", "aaa", 1),
        c(.count, "count(t, \"é\")", "ééé É", 3),
        c(.count, "count(t, \"\")", "abc", 0),
        c(.count, "count(t, \"a\")", bytes: [0x61, 0xFF, 0x61], .number(2)),
        c(.count_word, "count_word(t, \"cat\")", "cat cat concat cat.", 3),
        c(.count_word, "count_word(t, \"é\")", "é é é", 3),
        c(.count_word, "count_word(t, \"é\")", "éé", 0),
        c(.count_word, "count_word(t, \"\")", "a b", 0),
        c(.contains_any, "contains_any(t, [\"foo\", \"bar\"])", "xbarx", true),
        c(.contains_any, "contains_any(t, [\"foo\", \"bär\"])", "xbärx", true),
        c(.contains_any, "contains_any(t, [\"foo\", \"bär\"])", "BÄR", false),
        c(.contains_all, "contains_all(t, [\"ab\", \"b\"])", "ab", true),       // occurrences may overlap
        c(.contains_all, "contains_all(t, [\"é\", \"ß\"])", "éß", true),
        c(.contains_all, "contains_all(t, [\"é\", \"ß\"])", "é", false),
        c(.contains_any_word, "contains_any_word(t, [\"cat\", \"dog\"])", "concat dogs", false),
        c(.contains_any_word, "contains_any_word(t, [\"cat\", \"dog\"])", "hot dog!", true),
        c(.contains_any_word, "contains_any_word(t, [\"chat\"])", "château", false),
        c(.contains_any_word, "contains_any_word(t, [\"chat\"])", "le chat.", true),
        c(.starts_with_any, "starts_with_any(t, [\"http\", \"www\"])", "www.x", true),
        c(.starts_with_any, "starts_with_any(t, [\"É\", \"é\"])", "Été", true),
        c(.starts_with_any, "starts_with_any(t, [\"É\", \"é\"])", "Ete", false),
        c(.ends_with_any, "ends_with_any(t, [\"!\", \"?\"])", "hi?", true),
        c(.ends_with_any, "ends_with_any(t, [\"？\"])", "what？", true),
        c(.ends_with_any, "ends_with_any(t, [\"？\"])", "what?", false),
        c(.one_of, "one_of(t, [\"yes\", \"no\"])", "yes", true),
        c(.one_of, "one_of(t, [\"yes\", \"no\"])", "Yes", false),
        c(.one_of, "one_of(t, [\"oui\", \"sí\"])", "sí", true),
        c(.one_of, "one_of(t, [\"oui\", \"sí\"])", "si", false),
        c(.count_any, "count_any(t, [\"he\", \"she\", \"hers\"])", "ushers", 1),   // leftmost-longest, no overlaps
        c(.count_any, "count_any(t, [\"ab\", \"abab\"])", "ababab", 2),
        c(.count_any, "count_any(t, [\"é\", \"éé\"])", "ééé", 2),
        c(.count_words, "count_words(t, [\"new\", \"new york\"])", "new york new yorker", 2),
        c(.count_words, "count_words(t, [\"東京\"])", "東京 東京タワー", 1),
        c(.matches, "matches(t, /colou?r/)", "color", true),
        c(.matches, "matches(t, /colou?r/)", "colr", false),
        c(.matches, "matches(t, /é/i)", "ÉTÉ", true),
        c(.matches, "matches(t, /σ/i)", "ς", false),
        c(.count_matches, "count_matches(t, /ab|abab/)", "ababab", 2),
        c(.count_matches, "count_matches(t, /\\w+/)", "naïve café 中文 😀", 3),
        c(.sum_words, "sum_words(t, {\"new\": 1, \"new york\": 5})", "new york new yorker", 6),
        c(.sum_words, "sum_words(t, {\"café\": 2, \"thé\": -1})", "café, thé et café", 3),
        c(.sum_words, "sum_words(t, {\"café\": 2, \"thé\": -1})", "cafés", 0),
        // The examples of Docs/language.md for sum_words_negated, and the clause and scope limits.
        c(.sum_words_negated, "sum_words_negated(t, {\"good\": 1}, [\"not\"], 3)", "not good", -1),
        c(.sum_words_negated, "sum_words_negated(t, {\"good\": 1}, [\"not\"], 1)", "not very good", 1),
        c(.sum_words_negated, "sum_words_negated(t, {\"good\": 1, \"bad\": -2}, [\"not\"], 3)", "not bad. good", 3),
        c(.sum_words_negated, "sum_words_negated(t, {\"disappoint\": -1}, [\"didn't\"], 3)", "didn't disappoint", 1),
        c(.sum_words_negated, "sum_words_negated(t, {\"bon\": 1, \"café\": 2}, [\"pas\"], 2)", "pas très bon; café", 1),
        c(.sum_words_negated, "sum_words_negated(t, {\"bon\": 1}, [\"pas\"], 2)", "pas très très bon", 1),
        c(.sum_words_negated, "sum_words_negated(t, {\"good\": 1}, [\"not\"], 3)", "notgood not_good good", 1),
        c(.min, "min(len(t), 3)", "abcdef", 3),
        c(.min, "min(len(t), 3)", "hé", 2),
        c(.max, "max(len(t), 3)", "ab", 3),
        c(.max, "max(len(t), 3)", "日本語です", 5),
        c(.abs, "abs(0 - len(t))", "abc", 3),
        c(.abs, "abs(0 - len(t))", "日本", 2),
        c(.clamp, "clamp(len(t), 2, 4)", "a", 2),
        c(.clamp, "clamp(len(t), 2, 4)", "😀😀😀😀😀", 4),
        c(.clamp, "clamp(len(t), 10, 0)", "abc", 0),   // lo > hi: the result is hi
        // The examples of Docs/language.md, "Built-in functions", verbatim.
        c(.lower, "lower(t)", "ÉCOLE ŁÓDŹ ΣΟΦΙΑ Ёж", "école łódź σοφια ёж"),
        c(.lower, "lower(t)", "İ ẞ", "İ ẞ"),
        c(.upper, "upper(t)", "straße ÿ ς", "STRAßE Ÿ Σ"),
        c(.trim, "trim(t)", "  hi \n", "hi"),
        c(.len, "len(t)", "héllo", 5),
        c(.word_count, "word_count(t)", "it's a naïve café", 5),
        c(.upper_ratio, "upper_ratio(t)", "Hello World", 0.2),
        c(.upper_ratio, "upper_ratio(t)", "123", 0),
        c(.digit_ratio, "digit_ratio(t)", "call 0800", 4.0 / 9.0),
        c(.punct_ratio, "punct_ratio(t)", "Hi!!!", 0.6),
        c(.count, "count(lower(t), \"free\")", "FREE free FrEe", 3),
        c(.count_any, "count_any(lower(t), [\"win\", \"winner\", \"prize\"])", "Winner! You win a PRIZE", 3),
        c(.count_words, "count_words(t, [\"win\", \"winner\", \"prize\"])", "winner! you win a prize, prizes", 3),
        c(.count_matches, "count_matches(t, /\\d+/)", "call 0800 123 456", 3),
        c(.sum_words, "sum_words(lower(t), {\"great\": 2, \"good\": 1, \"bad\": -2})", "Good food, great service, bad parking", 1),
        c(.sum_words, "sum_words(t, {\"new\": 1, \"new york\": 5})", "new york", 5),
        c(.sum_words, "sum_words(t, {\"café\": 2})", "cafés", 0),
        c(.starts_with_any, "starts_with_any(t, [\"re:\", \"fwd:\"])", "fwd: hello", true),
    ]

    func testEveryBuiltinOnItsCases() throws {
        for k in Self.cases {
            let shown = String(decoding: k.input, as: UTF8.self)
            let v = try H.value(k.expr, k.input)
            switch (k.expected, v) {
            case (.number(let e), .number(let x)): XCTAssertEqual(x, e, accuracy: 1e-12, "\(k.expr) on \(shown)")
            case (.bool(let e), .bool(let x)): XCTAssertEqual(x, e, "\(k.expr) on \(shown)")
            case (.text(let e), .text(let x)): XCTAssertEqual(x, e, "\(k.expr) on \(shown): got \(String(decoding: x, as: UTF8.self))")
            default: XCTFail("\(k.expr): unexpected value \(v)")
            }
        }
    }

    func testEveryBuiltinIsCovered() {
        for b in Builtin.allCases {
            let mine = Self.cases.filter { $0.builtin == b }
            XCTAssertTrue(mine.contains { $0.input.allSatisfy { $0 < 0x80 } }, "no ASCII case for \(b)")
            XCTAssertTrue(mine.contains { $0.input.contains { $0 >= 0x80 } }, "no non-ASCII case for \(b)")
            XCTAssertTrue(mine.allSatisfy { $0.expr.hasPrefix(b.rawValue + "(") }, "a case of \(b) calls something else first")
        }
    }

    // MARK: text: case mapping, exhaustively against the table in Docs/language.md

    /// The lowercase mapping exactly as the documentation's table states it.
    static func documentedLower(_ c: UInt32) -> UInt32 {
        switch c {
        case 0x41...0x5A: return c + 0x20
        case 0xC0...0xDE where c != 0xD7: return c + 0x20
        case 0x100...0x12F, 0x132...0x137, 0x14A...0x177: return c % 2 == 0 ? c + 1 : c
        case 0x139...0x148, 0x179...0x17E: return c % 2 == 1 ? c + 1 : c
        case 0x178: return 0xFF
        case 0x391...0x3A9 where c != 0x3A2: return c + 0x20
        case 0x400...0x40F: return c + 0x50
        case 0x410...0x42F: return c + 0x20
        default: return c
        }
    }

    func testCaseMappingMatchesTheDocumentedTable() {
        // upper is the inverse of lower, plus ς → Σ.
        var inverse: [UInt32: UInt32] = [:]
        for c in UInt32(0)...0x10FFFF where Unicode.Scalar(c) != nil {
            let l = Self.documentedLower(c)
            if l != c { inverse[l] = c }
        }
        inverse[0x3C2] = 0x3A3
        var mismatches: [String] = []
        for c in UInt32(0)...0x10FFFF where Unicode.Scalar(c) != nil {
            let l = TextSemantics.lower(c), u = TextSemantics.upper(c)
            if l != Self.documentedLower(c) { mismatches.append("lower(U+\(String(c, radix: 16)))") }
            if u != (inverse[c] ?? c) { mismatches.append("upper(U+\(String(c, radix: 16)))") }
            // Every mapping keeps the UTF-8 length.
            if utf8Length(l) != utf8Length(c) { mismatches.append("length of lower(U+\(String(c, radix: 16)))") }
            if utf8Length(u) != utf8Length(c) { mismatches.append("length of upper(U+\(String(c, radix: 16)))") }
            if mismatches.count > 20 { break }
        }
        XCTAssertEqual(mismatches, [])
        // Units that stand for invalid bytes never change.
        for b in UInt32(0x80)...0xFF {
            XCTAssertEqual(TextSemantics.lower(TextSemantics.invalidBase + b), TextSemantics.invalidBase + b)
            XCTAssertEqual(TextSemantics.upper(TextSemantics.invalidBase + b), TextSemantics.invalidBase + b)
        }
    }

    func testLowerAndUpperBuiltinsOverEveryMappedLetter() throws {
        // Every scalar from U+0000 to U+052F through the built-ins, against the documented table.
        var scalars: [Unicode.Scalar] = []
        for c in UInt32(1)...0x52F { if let s = Unicode.Scalar(c) { scalars.append(s) } }
        var input = ""; input.unicodeScalars.append(contentsOf: scalars)
        var lowered = ""; lowered.unicodeScalars.append(contentsOf: scalars.map { Unicode.Scalar(Self.documentedLower($0.value))! })
        let got = try H.text("lower(t)", u8(input))
        XCTAssertEqual(got, u8(lowered))
        XCTAssertEqual(got.count, u8(input).count, "case mapping keeps the byte length")
        let up = try H.text("upper(t)", u8(input))
        XCTAssertEqual(up.count, u8(input).count)
        // Round trips: lower(upper(x)) of a lowercase letter is itself, except final sigma.
        XCTAssertEqual(try H.text("lower(upper(t))", u8("àéîõüÿāăąćĉčďđēĕėęěĝğġģĥħĩīĭįĳĵķĺļľŀłńņňŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷźżž")),
                       u8("àéîõüÿāăąćĉčďđēĕėęěĝğġģĥħĩīĭįĳĵķĺļľŀłńņňŋōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷźżž"))
        XCTAssertEqual(try H.text("lower(upper(t))", u8("ς")), u8("σ"))
    }

    // MARK: text: word characters, exhaustively against the table in Docs/language.md

    static let documentedWordRanges: [ClosedRange<UInt32>] = [
        0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A,
        0xC0...0xD6, 0xD8...0xF6, 0xF8...0x24F,
        0x370...0x37D, 0x37F...0x386, 0x388...0x52F,
        0x590...0x6FF, 0x900...0xE7F, 0x1E00...0x1FFF,
        0x3040...0x30FF, 0x3400...0x9FFF, 0xAC00...0xD7AF,
    ]

    func testWordCharactersMatchTheDocumentedTable() {
        var mismatches: [UInt32] = []
        for c in UInt32(0)...0x10FFFF where Unicode.Scalar(c) != nil {
            let documented = Self.documentedWordRanges.contains { $0.contains(c) }
            if TextSemantics.isWord(c) != documented { mismatches.append(c) }
            if mismatches.count > 20 { break }
        }
        XCTAssertEqual(mismatches, [])
        for b in UInt32(0x80)...0xFF { XCTAssertFalse(TextSemantics.isWord(TextSemantics.invalidBase + b)) }
    }

    func testWordCharactersThroughTheBuiltins() throws {
        // Letters of many scripts join words; symbols, emoji, combining marks and invalid bytes split them.
        for w in ["é", "Σ", "ж", "א", "ب", "क", "ก", "ạ", "ひ", "カ", "中", "한", "_", "7", "،"] {
            XCTAssertEqual(try H.number("word_count(t)", u8("a\(w)b")), 1, "\(w) is a word character")
        }
        for s in ["×", "÷", "µ", "ª", "\u{301}", "😀", "—", "。", "\u{A0}", "！", ";", "·"] {
            XCTAssertEqual(try H.number("word_count(t)", u8("a\(s)b")), 2, "\(s) is not a word character")
        }
        XCTAssertEqual(try H.number("word_count(t)", [0x61, 0xC3, 0x62]), 2, "an invalid byte is not a word character")
    }

    // MARK: regexes

    func testCaseInsensitiveRegexesOnNonASCII() throws {
        XCTAssertTrue(try H.bool("matches(t, /école/i)", u8("ÉCOLE")))
        XCTAssertTrue(try H.bool("matches(t, /ÉCOLE/i)", u8("école")))
        XCTAssertTrue(try H.bool("matches(t, /привет/i)", u8("ПРИВЕТ")))
        XCTAssertTrue(try H.bool("matches(t, /łódź/i)", u8("ŁÓDŹ")))
        XCTAssertTrue(try H.bool("matches(t, /ÿ/i)", u8("Ÿ")))
        XCTAssertTrue(try H.bool("matches(t, /Ÿ/i)", u8("ÿ")))
        XCTAssertTrue(try H.bool("matches(t, /[à-ÿ]+$/i)", u8("ÉÈÀ")), "a class matches a letter whose lower or upper case is in it")
        XCTAssertFalse(try H.bool("matches(t, /[a-z]/i)", u8("É")))
        XCTAssertFalse(try H.bool("matches(t, /é/)", u8("É")), "without the flag matching is case-sensitive")
        XCTAssertFalse(try H.bool("matches(t, /[^a]/i)", u8("A")))
        // No multi-character folding: ß is not ss, İ is not i.
        XCTAssertFalse(try H.bool("matches(t, /straße/i)", u8("STRASSE")))
        XCTAssertTrue(try H.bool("matches(t, /straße/i)", u8("STRAßE")))
        XCTAssertFalse(try H.bool("matches(t, /i/i)", u8("İ")))
        // Sigma: a character matches when it, its lowercase or its uppercase is the pattern's.
        let sigma: [(String, String, Bool)] = [
            ("Σ", "Σ", true), ("Σ", "σ", true), ("Σ", "ς", true),
            ("σ", "Σ", true), ("σ", "σ", true), ("σ", "ς", false),
            ("ς", "Σ", false), ("ς", "σ", false), ("ς", "ς", true),
        ]
        for (p, t, e) in sigma { XCTAssertEqual(try H.bool("matches(t, /\(p)/i)", u8(t)), e, "/\(p)/i on \(t)") }
    }

    func testRegexCharactersAreDecodedUnits() throws {
        XCTAssertTrue(try H.bool("matches(t, /^.$/)", u8("😀")))
        XCTAssertTrue(try H.bool("matches(t, /^.$/)", u8("é")))
        XCTAssertFalse(try H.bool("matches(t, /^.$/)", u8("e\u{301}")))
        XCTAssertTrue(try H.bool("matches(t, /^..$/)", u8("e\u{301}")))
        XCTAssertTrue(try H.bool("matches(t, /^.$/)", [0xFF]), "an invalid byte is one character")
        XCTAssertTrue(try H.bool("matches(t, /^..$/)", [0xE2, 0x82]), "a truncated sequence is one character per byte")
        XCTAssertTrue(try H.bool("matches(t, /^a[^b]c$/)", [0x61, 0xFF, 0x63]))
        XCTAssertTrue(try H.bool("matches(t, /^a\\Wc$/)", [0x61, 0xFF, 0x63]))
        XCTAssertFalse(try H.bool("matches(t, /\\xff/)", [0xFF]), "\\xff is U+00FF ÿ, not the byte 0xFF")
        XCTAssertTrue(try H.bool("matches(t, /\\xff/)", u8("ÿ")))
        XCTAssertTrue(try H.bool("matches(t, /\\u{1F600}/)", u8("😀")))
        XCTAssertFalse(try H.bool("matches(t, /a.b/)", u8("a\nb")), "`.` does not match a newline")
        XCTAssertTrue(try H.bool("matches(t, /a.b/)", u8("a\rb")))
        XCTAssertTrue(try H.bool("matches(t, /a[\\s\\S]b/)", u8("a\nb")))
        XCTAssertTrue(try H.bool("matches(t, /^\\w+$/)", u8("naïve_日本")))
        XCTAssertFalse(try H.bool("matches(t, /\\d/)", u8("١٢٣")), "\\d is ASCII digits only")
        XCTAssertFalse(try H.bool("matches(t, /\\s/)", u8("a\u{A0}b")), "\\s is ASCII white space only")
    }

    func testRegexAnchorsAndWordBoundaries() throws {
        XCTAssertFalse(try H.bool("matches(t, /^b$/)", u8("a\nb")), "^ and $ are the start and end of the whole text")
        XCTAssertFalse(try H.bool("matches(t, /a$/)", u8("a\n")))
        XCTAssertTrue(try H.bool("matches(t, /^$/)", []))
        XCTAssertFalse(try H.bool("matches(t, /\\bcaf\\b/)", u8("café")), "é is a word character: no boundary before it")
        XCTAssertTrue(try H.bool("matches(t, /\\bcafé\\b/)", u8("un café!")))
        XCTAssertTrue(try H.bool("matches(t, /\\bcafe\\b/)", u8("cafe\u{301}")), "a combining mark is not a word character")
        XCTAssertTrue(try H.bool("matches(t, /\\bok\\b/)", [0xFF] + u8("ok") + [0xFF]))
        XCTAssertTrue(try H.bool("matches(t, /\\b東京\\b/)", u8("東京 タワー")))
        XCTAssertFalse(try H.bool("matches(t, /\\b東京\\b/)", u8("東京タワー")))
        XCTAssertTrue(try H.bool("matches(t, /a\\Bb/)", u8("ab")))
        XCTAssertFalse(try H.bool("matches(t, /\\b/)", u8("  ")))
    }

    func testMatchesAndCountMatches() throws {
        XCTAssertTrue(try H.bool("matches(t, /a*/)", []), "an empty match counts for matches")
        XCTAssertTrue(try H.bool("matches(t, /x?/)", u8("abc")))
        XCTAssertEqual(try H.number("count_matches(t, /x?/)", u8("abc")), 0, "empty matches are not counted")
        XCTAssertEqual(try H.number("count_matches(t, /\\b/)", u8("ab cd")), 0)
        XCTAssertEqual(try H.number("count_matches(t, /a*/)", u8("baaab aa")), 2)
        XCTAssertEqual(try H.number("count_matches(t, /aa/)", u8("aaaaa")), 2, "non-overlapping")
        XCTAssertEqual(try H.number("count_matches(t, /ab|abab/)", u8("ababab")), 2, "longest at the leftmost start")
        XCTAssertEqual(try H.number("count_matches(t, /abcd|bc/)", u8("abcx")), 1)
        XCTAssertEqual(try H.number("count_matches(t, /a|ab|abc/)", u8("abcabc")), 2)
        XCTAssertEqual(try H.number("count_matches(t, /^a/)", u8("aaa")), 1, "^ only at the start of the whole text")
        XCTAssertEqual(try H.number("count_matches(t, /\\d+/)", u8("1 22 333 4444")), 4)
        XCTAssertEqual(try H.number("count_matches(t, /é+/i)", u8("éÉé x É")), 2)
        XCTAssertEqual(try H.number("count_matches(t, /\\bcat\\b/)", u8("cat concat cat")), 2)
        XCTAssertEqual(try H.number("count_matches(t, /[^a]/)", [0xFF, 0x61, 0xFE]), 2)
        XCTAssertEqual(try H.number("count_matches(t, /a{2,3}/)", u8("aaaaaaa")), 2, "aaa aaa, then a lone a")
    }

    func testRejectedRegexFeatures() {
        let rejected: [(String, String)] = [
            ("/a(?=b)/", "E0501"), ("/(?<=a)b/", "E0501"), ("/(a)\\1/", "E0501"), ("/a+?/", "E0501"), ("/a++/", "E0501"),
            ("/(?<n>a)/", "E0501"), ("/(?i)a/", "E0501"), ("/\\p{L}/", "E0501"), ("/\\Aa/", "E0501"), ("/[[:alpha:]]/", "E0501"),
            ("/a/g", "E0503"), ("/a/m", "E0503"), ("/a/s", "E0503"), ("/x{y/", "E0502"), ("/a{3,2}/", "E0502"),
            ("/a{1001}/", "E0504"), ("/(a{1000}){30}/", "E0505"), ("/[z-a]/", "E0502"), ("/\\q/", "E0502"), ("/^*/", "E0502"),
            ("/(a/", "E0502"), ("/a)/", "E0502"), ("/[\\b]/", "E0502"),
        ]
        for (r, code) in rejected {
            let codes = H.errorCodes("program p\ninput t: text\nlabels a, b\nrule r when matches(t, \(r)) => a\notherwise => b\n")
            XCTAssertEqual(codes, [code], r)
        }
        for ok in ["/(?:a|b)+/", "/a{2,}/", "/{x/", "/[]a]/", "/[^]a]/", "/[a-]/", "/\\//", "/a|/", "/\\{/", "/[\\d\\s_-]/i"] {
            XCTAssertNoThrow(try H.compile("program p\ninput t: text\nlabels a, b\nrule r when matches(t, \(ok)) => a\notherwise => b\n"), ok)
        }
    }

    // MARK: keyword functions: leftmost-longest, whole words

    func testKeywordScanningIsLeftmostLongest() throws {
        let list = "[\"he\", \"she\", \"hers\", \"his\"]"
        XCTAssertEqual(try H.number("count_any(t, \(list))", u8("ushers")), 1)
        XCTAssertEqual(try H.number("count_any(t, \(list))", u8("she his hers")), 3)
        XCTAssertEqual(try H.number("count_any(t, [\"a\", \"aa\"])", u8("aaaaa")), 3)   // aa aa a
        XCTAssertEqual(try H.number("count_any(t, [\"ab\", \"abab\"])", u8("ababab")), 2)
        // Whole-word scanning takes the longest keyword that is a whole word at the position.
        XCTAssertEqual(try H.number("count_words(t, [\"new\", \"new york\"])", u8("new yorker")), 1)
        XCTAssertEqual(try H.number("sum_words(t, {\"new\": 1, \"new york\": 5})", u8("new yorker")), 1)
        XCTAssertEqual(try H.number("sum_words(t, {\"new\": 1, \"new york\": 5})", u8("new york")), 5)
        XCTAssertEqual(try H.number("count_words(t, [\"ça\", \"ça va\"])", u8("Ça va? ça va! ça")), 2)
        XCTAssertEqual(try H.number("count_word(t, \"aa\")", u8("aa aaa aa")), 2)
        XCTAssertEqual(try H.number("count(t, \"aba\")", u8("ababa")), 1)
        XCTAssertTrue(try H.bool("contains_any_word(t, [\"york\", \"new york\"])", u8("new yorkers in york")))
        XCTAssertEqual(try H.number("sum_words(t, {\"good\": 1, \"bad\": -2})", u8("good good bad")), 0)
    }

    func testMatchingIsByBytesAndCaseSensitive() throws {
        XCTAssertFalse(try H.bool("contains(t, \"Free\")", u8("FREE")))
        XCTAssertTrue(try H.bool("contains(lower(t), \"free\")", u8("FREE")))
        XCTAssertFalse(try H.bool("contains(t, \"é\")", u8("e\u{301}")), "no Unicode normalization")
        XCTAssertFalse(try H.bool("t == \"é\"", u8("e\u{301}")))
        XCTAssertTrue(try H.bool("t == \"é\"", u8("é")))
        XCTAssertTrue(try H.bool("contains(t, \"b\")", [0xFF, 0x62, 0xFE]))
        XCTAssertTrue(try H.bool("contains_word(lower(t), \"été\")", u8("ÉTÉ!")))
    }

    // MARK: arithmetic and constants

    func testArithmeticAndPrecedence() throws {
        XCTAssertEqual(try H.number("1 + 2 * 3 - 4 / 2", []), 5)
        XCTAssertEqual(try H.number("10 - 4 - 3", []), 3, "left associative")
        XCTAssertEqual(try H.number("-2 * 3", []), -6)
        XCTAssertEqual(try H.number("len(t) / 0", u8("abc")), 0, "division by zero yields 0")
        XCTAssertEqual(try H.number("(len(t) - 3) / (len(t) - 3)", u8("abc")), 0, "0 / 0 yields 0")
        XCTAssertEqual(try H.number("if len(t) > 2 then 1 else 2 + 10", u8("ab")), 12, "else extends to the right")
        XCTAssertEqual(try H.number("c", [], prelude: "const c = max(1 / 0, -5) + 2 * 3"), 6)
        XCTAssertFalse(try H.bool("not len(t) == 3 and true", u8("abc")), "`not` binds looser than comparison")
        XCTAssertTrue(try H.bool("false and false or true", []), "and binds tighter than or")
        XCTAssertTrue(try H.bool("false or len(t) > 1 and len(t) < 5", u8("abc")))
        XCTAssertTrue(try H.bool("c == \"big\"", [], prelude: "const k = 7\nconst c = if k > 5 then \"big\" else \"small\""))
    }

    func testNonConstantsAreRejectedAsConstants() {
        XCTAssertEqual(H.errorCodes("program p\ninput t: text\nlabels a, b\nconst c = lower(\"A\")\nrule r when c == \"a\" => a\notherwise => b\n"), ["E0309"])
        XCTAssertEqual(H.errorCodes("program p\ninput t: text\nlabels a, b\nconst c = len(t)\nrule r when c == 1 => a\notherwise => b\n"), ["E0309"])
    }

    // MARK: decisions

    func testRulesInOrderFirstMatchWins() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels a, b, c
        rule first when contains(t, "x") => b
        rule second when contains(t, "y") => c confidence 0.7
        rule third when contains(t, "x") or contains(t, "y") => a confidence 0.2
        otherwise => a
        """)
        var d = H.classify(p, "xy")
        XCTAssertEqual(p.labels[d.label], "b")
        XCTAssertEqual(d.confidence, 1, "a rule's confidence defaults to 1")
        XCTAssertEqual(d.decidedBy, .rule(0))
        XCTAssertEqual(d.scores, [])
        d = H.classify(p, "y")
        XCTAssertEqual(p.labels[d.label], "c")
        XCTAssertEqual(d.confidence, 0.7)
        XCTAssertEqual(d.decidedBy, .rule(1))
        d = H.classify(p, "z")
        XCTAssertEqual(p.labels[d.label], "a")
        XCTAssertEqual(d.decidedBy, .otherwise)
        XCTAssertEqual(d.confidence, 1.0 / 3.0, "otherwise confidence defaults to 1 / number of labels")
    }

    func testRulesWinOverScores() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels a, b
        rule r when contains(t, "!") => b confidence 0.6
        score a { 100 }
        otherwise => b
        """)
        let d = H.classify(p, "hi!")
        XCTAssertEqual(d.label, 1)
        XCTAssertEqual(d.confidence, 0.6)
    }

    func testSoftmaxConfidence() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels low, mid, high
        score high {
          2 when contains(t, "!")
          0.5 * count(t, "!")
        }
        score low { 1 when len(t) > 3 }
        score mid { -0.25 }
        otherwise => low
        """)
        let d = H.classify(p, "hey!!")
        // Scores in label order: low 1, mid -0.25, high 2 + 0.5 * 2 = 3.
        XCTAssertEqual(d.scores, [1, -0.25, 3])
        XCTAssertEqual(p.labels[d.label], "high")
        XCTAssertEqual(d.decidedBy, .score)
        var sum = 0.0
        for s in [1.0, -0.25, 3.0] { sum += exp(s - 3.0) }
        XCTAssertEqual(d.confidence, 1.0 / sum)
        XCTAssertEqual(d.confidence, 0.85171, accuracy: 0.00001)
    }

    func testTiesGoToTheEarlierDeclaredLabel() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels a, b, c
        score c { 1 }
        score b { 1 }
        otherwise => c
        """)
        let d = H.classify(p, "anything")
        XCTAssertEqual(p.labels[d.label], "b", "b is declared before c; the order of the blocks does not matter")
        XCTAssertEqual(d.scores, [0, 1, 1])
        XCTAssertEqual(d.confidence, 1.0 / (exp(-1.0) + 1 + 1))
    }

    func testLabelsWithoutABlockScoreZeroAndCanWin() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels a, b
        score a { -1 when len(t) > 0 }
        otherwise => a confidence 0.9
        """)
        let d = H.classify(p, "x")
        XCTAssertEqual(d.label, 1)
        XCTAssertEqual(d.decidedBy, .score)
        XCTAssertEqual(d.confidence, 1.0 / (exp(-1.0) + 1))
        let e = H.classify(p, "")
        XCTAssertEqual(e.label, 0)
        XCTAssertEqual(e.decidedBy, .otherwise)
        XCTAssertEqual(e.confidence, 0.9)
    }

    func testOtherwiseWhenNoTermContributes() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels a, b, c, d
        score a {
          0 when contains(t, "zero")
          2 when contains(t, "x")
          count(t, "y") * 3
          len(t) / 0
          1e308 * 10 when contains(t, "huge")
        }
        otherwise => c
        """)
        for input in ["", "zero", "huge", "nothing here"] {
            let d = H.classify(p, input)
            XCTAssertEqual(d.decidedBy, .otherwise, input)
            XCTAssertEqual(p.labels[d.label], "c", input)
            XCTAssertEqual(d.confidence, 0.25, input)
            XCTAssertEqual(d.scores, [0, 0, 0, 0], "non-finite and zero terms count as 0: \(input)")
        }
        let d = H.classify(p, "x y")
        XCTAssertEqual(d.decidedBy, .score)
        XCTAssertEqual(d.scores, [5, 0, 0, 0])
    }

    func testTermsThatCancelStillDecideByScore() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels a, b
        score b {
          1 when contains(t, "+")
          -1 when contains(t, "-")
        }
        otherwise => b confidence 0.9
        """)
        let d = H.classify(p, "+-")
        XCTAssertEqual(d.decidedBy, .score, "a term contributed a non-zero value")
        XCTAssertEqual(d.label, 0, "all scores are 0: the tie goes to the first label")
        XCTAssertEqual(d.confidence, 0.5)
    }

    func testConstantTermsAreEvidence() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels spam, ham
        score spam { 2 when contains(t, "prize") }
        score ham { 1 }
        otherwise => spam
        """)
        let d = H.classify(p, "lunch?")
        XCTAssertEqual(d.label, 1)
        XCTAssertEqual(d.decidedBy, .score, "the constant term of ham always contributes, so otherwise is never reached")
        XCTAssertEqual(d.confidence, 1.0 / (exp(-1.0) + 1))
    }

    func testExplainTraceReportsEveryStep() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels a, b
        rule r1 when contains(t, "stop") => b
        rule r2 when contains(t, "halt") => b
        score a { 2 when contains(t, "go") }
        score b { 0.5 }
        otherwise => b
        """)
        let (d, trace) = Interpreter(p).explain([.text(u8("halt"))])
        XCTAssertEqual(d.decidedBy, .rule(1))
        XCTAssertEqual(trace.rules.map(\.fired), [false, true])
        XCTAssertTrue(trace.terms.isEmpty, "score terms are not evaluated when a rule decides")
        let (d2, t2) = Interpreter(p).explain([.text(u8("go"))])
        XCTAssertEqual(d2.scores, [2, 0.5])
        XCTAssertEqual(t2.rules.count, 2)
        XCTAssertEqual(t2.terms.map(\.value), [2, 0.5])
    }

    // MARK: evaluation order and laziness

    func testLetsAreEvaluatedLazilyAndAtMostOnce() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels yes, no
        let a1 = count(t, "a")
        let b1 = count(t, "b")
        let c1 = count(t, "c")
        let w = len(t) * 2
        let unused = upper(t)
        rule r1 when a1 > 0 => yes
        rule r2 when b1 > 0 and c1 > 0 => yes
        score yes { w when contains(t, "z") }
        otherwise => no
        """)
        let interp = Interpreter(p)
        func evaluated(_ input: String) -> [String] {
            var env = Interpreter.Env(input: [.text(u8(input))], lets: Array(repeating: nil, count: p.lets.count))
            _ = interp.decide(&env, trace: nil)
            return p.lets.indices.filter { env.lets[$0] != nil }.map { p.lets[$0].name }
        }
        XCTAssertEqual(evaluated("a"), ["a1"], "the first rule fires: nothing else is needed")
        XCTAssertEqual(evaluated("x"), ["a1", "b1"], "`and` stops at false; the weight of a false `when` term is not evaluated")
        XCTAssertEqual(evaluated("bcz"), ["a1", "b1", "c1"], "the second rule fires: the score block is not evaluated")
        XCTAssertEqual(evaluated("bz"), ["a1", "b1", "c1", "w"])
        XCTAssertEqual(evaluated("z"), ["a1", "b1", "w"])
        // Evaluated once: the memoized value is what later references see.
        var env = Interpreter.Env(input: [.text(u8("bcz"))], lets: Array(repeating: nil, count: p.lets.count))
        env.lets[p.lets.firstIndex { $0.name == "a1" }!] = .number(1)
        XCTAssertEqual(interp.decide(&env, trace: nil).decidedBy, .rule(0), "a let already evaluated for this input is not evaluated again")
    }

    func testIfEvaluatesOneBranchAndOrShortCircuits() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels yes, no
        let expensive = count_matches(t, /a+/)
        let other = count(t, "b")
        rule r when len(t) == 0 or expensive > 1 => yes
        rule s when (if contains(t, "q") then other else 0) > 0 => yes
        otherwise => no
        """)
        let interp = Interpreter(p)
        var env = Interpreter.Env(input: [.text([])], lets: [nil, nil])
        XCTAssertEqual(interp.decide(&env, trace: nil).decidedBy, .rule(0))
        XCTAssertNil(env.lets[0], "`or` stops at true")
        env = Interpreter.Env(input: [.text(u8("xyz"))], lets: [nil, nil])
        _ = interp.decide(&env, trace: nil)
        XCTAssertNotNil(env.lets[0])
        XCTAssertNil(env.lets[1], "the `then` branch is not evaluated when the condition is false")
    }

    func testFunctionsSeeOnlyParametersAndConstants() throws {
        let p = try H.compile("""
        program p
        input t: text
        labels a, b, c
        const k = 10
        fn scaled(x: number) -> number = x * k
        fn shouty(s: text, k: number) -> bool = upper_ratio(s) * k > 5
        rule r when shouty(t, 1) => a
        rule s when scaled(len(t)) == 30 => b
        otherwise => c
        """)
        XCTAssertEqual(p.labels[H.classify(p, "ABC").label], "b", "the parameter k (1) shadows the constant k (10)")
        XCTAssertEqual(p.labels[H.classify(p, "ABCD").label], "c")
        XCTAssertEqual(H.errorCodes("program p\ninput t: text\nlabels a, b\nfn f() -> number = len(t)\nrule r when f() > 0 => a\notherwise => b\n"), ["E0310"])
        XCTAssertEqual(H.errorCodes("program p\ninput t: text\nlabels a, b\nfn f(x: number) -> number = g(x)\nfn g(x: number) -> number = f(x)\nrule r when f(1) > 0 => a\notherwise => b\n"), ["E0306"])
    }

    // MARK: inputs

    func testLineInputs() throws {
        let rs = try RecordReader.parse(u8("one\r\n\ntwo\nthree"), format: .lines, name: "x")
        XCTAssertEqual(rs.map(\.line), [1, 2, 3, 4])
        let texts = rs.map { r -> String in if case .text(let t) = r.raw { return String(decoding: t, as: UTF8.self) }; return "?" }
        XCTAssertEqual(texts, ["one", "", "two", "three"], "CRLF is stripped; empty lines are inputs; no final empty line")
        XCTAssertEqual(try RecordReader.parse(u8("a\n"), format: .lines, name: "x").count, 1)
    }

    func testJSONLAndRecordDecoding() throws {
        let p = try H.compile("program p\ninput { subject: text, n: number, vip: bool }\nlabels a, b\nrule r when vip => a\notherwise => b\n")
        let rs = try RecordReader.parse(u8("{\"subject\":\"hé\",\"n\":2,\"vip\":true,\"extra\":1}\n   \n{bad\n{\"subject\":\"x\",\"n\":\"2\",\"vip\":false}\n{\"subject\":\"x\",\"vip\":false}\n"),
                                        format: .jsonl, name: "x")
        XCTAssertEqual(rs.map(\.line), [1, 3, 4, 5], "blank lines are skipped")
        let dec = RecordDecoder(program: p)
        guard case .success(let v) = dec.decode(rs[0].raw) else { return XCTFail() }
        XCTAssertEqual(v, [.text(u8("hé")), .number(2), .bool(true)])
        guard case .failure(let e1) = dec.decode(rs[1].raw) else { return XCTFail() }
        XCTAssertTrue(e1.message.hasPrefix("invalid JSON"))
        guard case .failure(let e2) = dec.decode(rs[2].raw) else { return XCTFail() }
        XCTAssertEqual(e2.message, "field `n` must be a number, found a string")
        guard case .failure(let e3) = dec.decode(rs[3].raw) else { return XCTFail() }
        XCTAssertEqual(e3.message, "missing field `n`")
    }

    func testCSVAndTSV() throws {
        let p = try H.compile("program p\ninput { body: text, n: number, vip: bool }\nlabels a, b\nrule r when vip => a\notherwise => b\n")
        let dec = RecordDecoder(program: p)
        let csv = try RecordReader.parse(u8("vip,body,n\r\nTRUE,\"a, \"\"quoted\"\"\nline\", 5 \n0,plain,1e2\n"), format: .csv, name: "x")
        XCTAssertEqual(csv.map(\.line), [2, 4], "a record's line is where it starts")
        guard case .success(let v) = dec.decode(csv[0].raw) else { return XCTFail() }
        XCTAssertEqual(v, [.text(u8("a, \"quoted\"\nline")), .number(5), .bool(true)])
        guard case .success(let w) = dec.decode(csv[1].raw) else { return XCTFail() }
        XCTAssertEqual(w, [.text(u8("plain")), .number(100), .bool(false)])
        XCTAssertThrowsError(try RecordReader.parse(u8("a\n\"open"), format: .csv, name: "x"))
        let tsv = try RecordReader.parse(u8("body\tn\tvip\n\"q\"\t1\tfalse\n\nx\ty\t1\n"), format: .tsv, name: "x")
        XCTAssertEqual(tsv.count, 2, "empty lines are skipped")
        guard case .success(let t) = dec.decode(tsv[0].raw) else { return XCTFail() }
        XCTAssertEqual(t, [.text(u8("\"q\"")), .number(1), .bool(false)], "TSV has no quoting")
        guard case .failure(let e) = dec.decode(tsv[1].raw) else { return XCTFail() }
        XCTAssertEqual(e.message, "field `n` must be a number, found \"y\"")
    }

    func testSingleTextProgramsReadStringsObjectsAndColumns() throws {
        let p = try H.compile("program p\ninput msg: text\nlabels a, b\nrule r when contains(msg, \"!\") => a\notherwise => b\n")
        let rs = try RecordReader.parse(u8("\"hi!\"\n{\"msg\":\"yo\"}\n{\"body\":\"x!\"}\n"), format: .jsonl, name: "x")
        XCTAssertEqual(try RecordDecoder(program: p).decode(rs[0].raw).get(), [.text(u8("hi!"))])
        XCTAssertEqual(try RecordDecoder(program: p).decode(rs[1].raw).get(), [.text(u8("yo"))])
        XCTAssertEqual(try RecordDecoder(program: p, column: "body").decode(rs[2].raw).get(), [.text(u8("x!"))])
        let csv = try RecordReader.parse(u8("id,sms\n1,hello\n"), format: .csv, name: "x")
        XCTAssertEqual(try RecordDecoder(program: p, column: "sms").decode(csv[0].raw).get(), [.text(u8("hello"))])
        guard case .failure = RecordDecoder(program: p).decode(csv[0].raw) else { return XCTFail("no column msg") }
        XCTAssertEqual(RecordReader.resolve(.auto, path: "a.JSONL"), .jsonl)
        XCTAssertEqual(RecordReader.resolve(.auto, path: "a.ndjson"), .jsonl)
        XCTAssertEqual(RecordReader.resolve(.auto, path: "a.json"), .jsonl)
        XCTAssertEqual(RecordReader.resolve(.auto, path: "a.csv"), .csv)
        XCTAssertEqual(RecordReader.resolve(.auto, path: "a.tsv"), .tsv)
        XCTAssertEqual(RecordReader.resolve(.auto, path: "a.txt"), .lines)
        XCTAssertEqual(RecordReader.resolve(.auto, path: nil), .lines)
    }

    // MARK: embedded tests

    func testEmbeddedTestsRunThroughTheEngine() throws {
        let p = try H.compile("""
        program p
        input { subject: text, urgent: bool }
        labels high, low
        rule r when urgent or contains(lower(subject), "outage") => high
        otherwise => low
        test { subject: "Outage in EU", urgent: false } => high
        test { urgent: true, subject: "" } => high
        test { subject: "hello", urgent: false } => high
        """)
        let (passed, failures) = EmbeddedTests.run(Interpreter(p))
        XCTAssertEqual(passed, 2)
        XCTAssertEqual(failures.count, 1)
        XCTAssertEqual(failures.first.map { p.labels[$0.got.label] }, "low")
    }

    // MARK: labels as the application names them

    /// `labels id as "string"`: rules, scores and tests name the identifier; answers, the run's
    /// JSON and evaluations use the string; data may give either.
    func testLabelsAnswerWithTheApplicationsStrings() throws {
        let p = try LoopHarness.compile("""
        program p
        input t: text
        labels fee as "card_payment_fee_charged?", other as "not banking", arrival
        rule f when contains(lower(t), "fee") => fee
        score arrival { 1 when contains(t, "card") }
        otherwise => other
        test "a fee" => fee
        """)
        XCTAssertEqual(p.labels, ["fee", "other", "arrival"])
        XCTAssertEqual(p.labelNames, ["card_payment_fee_charged?", "not banking", "arrival"])
        XCTAssertTrue(p.hasLabelNames)
        XCTAssertEqual(p.labelIndex(named: "card_payment_fee_charged?"), 0)
        XCTAssertEqual(p.labelIndex(named: "fee"), 0)
        XCTAssertEqual(p.labelIndex(named: "arrival"), 2)
        XCTAssertNil(p.labelIndex(named: "Fee"))
        let interp = Interpreter(p)
        let d = interp.classify([.text(Array("Why a FEE?".utf8))])
        let json = decisionJSON(d, program: p, line: 1)
        XCTAssertEqual(json["label"]?.string, "card_payment_fee_charged?")
        let scored = decisionJSON(interp.classify([.text(Array("my card".utf8))]), program: p, line: 2)
        XCTAssertEqual(scored["label"]?.string, "arrival")
        guard case .object(let scores)? = scored["scores"] else { return XCTFail("no scores: \(scored)") }
        XCTAssertEqual(scores.map(\.0), ["card_payment_fee_charged?", "not banking", "arrival"])
        var ev = Evaluation(program: p)
        ev.add(expected: "card_payment_fee_charged?", predicted: 0)
        ev.add(expected: "fee", predicted: 0)
        ev.add(expected: "not banking", predicted: 2)
        ev.add(expected: "nonsense", predicted: 1)
        XCTAssertEqual(ev.correct, 2)
        XCTAssertEqual(ev.total, 4)
        XCTAssertEqual(ev.unknownExpected, ["nonsense": 1])
        XCTAssertEqual(ev.labels, p.labelNames)
        // `loopai explain --json`: the label and the scores' keys are the strings, as in `run`.
        let (ed, trace) = interp.explain([.text(Array("my card".utf8))])
        let explained = ExplainReport.json(p, ed, trace)
        XCTAssertEqual(explained["label"]?.string, "arrival")
        guard case .object(let explainedScores)? = explained["scores"] else { return XCTFail("no scores") }
        XCTAssertEqual(explainedScores.map(\.0), p.labelNames)
    }

    /// A label's string is not empty and names one label only (E0613), whether it repeats
    /// another label's string or spells another label's identifier.
    func testLabelStringsMustNameOneLabel() {
        XCTAssertEqual(LoopHarness.errorCodes("program p\ninput t: text\nlabels a as \"x\", b as \"x\"\notherwise => a\n"), ["E0613"])
        XCTAssertEqual(LoopHarness.errorCodes("program p\ninput t: text\nlabels a as \"b\", b\notherwise => a\n"), ["E0613"])
        XCTAssertEqual(LoopHarness.errorCodes("program p\ninput t: text\nlabels a as \" \", b\notherwise => a\n"), ["E0613"])
        XCTAssertEqual(LoopHarness.errorCodes("program p\ninput t: text\nlabels a as \" x\", b\notherwise => a\n"), ["E0613"])
        // Its own identifier is allowed (the same as no string).
        let (p, _) = Checker.checkSource(SourceFile(name: "t.loop", text: "program p\ninput t: text\nlabels a as \"a\", b\notherwise => a\n"), stdlib: .embedded)
        XCTAssertEqual(p?.labelNames, ["a", "b"])
        XCTAssertEqual(p?.hasLabelNames, false)
    }
}
