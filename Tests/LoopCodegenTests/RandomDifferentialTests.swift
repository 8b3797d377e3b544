import Foundation
import LoopCodegen
import LoopData
import LoopInterpreter
import LoopSema
import XCTest

/// Seeded random programs and random inputs (non-ASCII, invalid UTF-8, empty, very long):
/// the compiled code must agree with the interpreter on every one.
struct Rng {
    var s: UInt64
    init(_ seed: UInt64) { s = seed &* 0x9E3779B97F4A7C15 | 1 }
    mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
}

enum RandomPrograms {
    static let words = ["free", "win", "winner", "a", "ab", "abc", "café", "CAFÉ", "ß", "ΣΟΦΙΑ", "σοφία", "ς", "日本", "😀", "call now",
                        "x", "xx", "the", "é", "É", "!", "?!", "ok", "Ж", "ж", "ÿ", "Ÿ"]
    static let regexes = ["/\\d+/", "/\\b\\w+\\b/", "/[a-z]{2,}/i", "/^a/", "/a$/", "/(ab|a)c?/", "/é+/i", "/[^a-z ]/", "/\\Bx/",
                          "/.x./", "/(?:wi|ca)n?/i", "/[σς]/i", "/\\s+/", "/[À-ÿ]/", "/^$/", "/x*/", "/\\bfree\\b/i", "/[\\d\\s]{3}/"]

    static func textExpr(_ r: inout Rng) -> String {
        r.pick(["text", "low", "up", "lower(text)", "upper(low)", "trim(text)", "lower(trim(text))", "(if len(text) > 5 then low else text)"])
    }
    static func list(_ r: inout Rng) -> String {
        var ws = Set<String>()
        for _ in 0..<(1 + r.int(5)) { ws.insert(r.pick(words)) }
        return "[" + ws.sorted().map { Formatter.quote($0) }.joined(separator: ", ") + "]"
    }
    static func boolExpr(_ r: inout Rng, _ d: Int) -> String {
        if d > 0 && r.int(3) == 0 {
            return r.pick(["\(boolExpr(&r, d - 1)) and \(boolExpr(&r, d - 1))", "\(boolExpr(&r, d - 1)) or \(boolExpr(&r, d - 1))", "not \(boolExpr(&r, d - 1))",
                           "\(numExpr(&r, d - 1)) > \(numExpr(&r, d - 1))", "\(textExpr(&r)) == \(Formatter.quote(r.pick(words)))"])
        }
        let t = textExpr(&r), w = Formatter.quote(r.pick(words))
        switch r.int(11) {
        case 0: return "contains(\(t), \(w))"
        case 1: return "contains_any(\(t), \(list(&r)))"
        case 2: return "contains_all(\(t), \(list(&r)))"
        case 3: return "contains_word(\(t), \(w))"
        case 4: return "contains_any_word(\(t), \(list(&r)))"
        case 5: return "starts_with(\(t), \(w))"
        case 6: return "ends_with_any(\(t), \(list(&r)))"
        case 7: return "one_of(\(t), \(list(&r)))"
        case 8: return "starts_with_any(\(t), \(list(&r)))"
        case 9: return "ends_with(\(t), \(w))"
        default: return "matches(\(t), \(r.pick(regexes)))"
        }
    }
    static func numExpr(_ r: inout Rng, _ d: Int) -> String {
        if d > 0 && r.int(3) == 0 {
            return r.pick(["\(numExpr(&r, d - 1)) + \(numExpr(&r, d - 1))", "\(numExpr(&r, d - 1)) * 0.5", "\(numExpr(&r, d - 1)) / \(numExpr(&r, d - 1))",
                           "min(\(numExpr(&r, d - 1)), 2)", "max(\(numExpr(&r, d - 1)), -1)", "abs(\(numExpr(&r, d - 1)) - 3)",
                           "clamp(\(numExpr(&r, d - 1)), 0, 4)", "(if \(boolExpr(&r, d - 1)) then 1.5 else -0.25)"])
        }
        let t = textExpr(&r)
        switch r.int(13) {
        case 11: return "sum_words_negated(\(t), {\"free\": 1.5, \"win\": -0.5, \"café\": 2, \"call now\": 3, \"σοφία\": 0.25}, [\"no\", \"n\", \"win\", \"ΣΟΦΙΑ\", \"x\"], \(r.int(4)))"
        case 0: return "count(\(t), \(Formatter.quote(r.pick(words))))"
        case 1: return "count_any(\(t), \(list(&r)))"
        case 2: return "count_words(\(t), \(list(&r)))"
        case 3: return "count_matches(\(t), \(r.pick(regexes)))"
        case 4: return "sum_words(\(t), {\"free\": 1.5, \"win\": -0.5, \"café\": 2, \"σοφία\": 0.25, \"call now\": 3})"
        case 5: return "len(\(t))"
        case 6: return "word_count(\(t))"
        case 7: return "upper_ratio(\(t))"
        case 8: return "digit_ratio(\(t))"
        case 9: return "punct_ratio(\(t))"
        case 10: return "count_word(\(t), \(Formatter.quote(r.pick(words))))"
        default: return String(r.int(5)) + ".5"
        }
    }
    static func program(_ r: inout Rng) -> String {
        var s = "program gen\ninput text: text\nlabels a, b, c\nlet low = lower(text)\nlet up = upper(text)\n"
        s += "fn f(t: text, n: number) -> number = n * 2 + count(t, \"a\")\n"
        for i in 0..<r.int(4) { s += "rule r\(i) when \(boolExpr(&r, 2)) => \(r.pick(["a", "b", "c"]))\(r.int(2) == 0 ? " confidence 0.5" : "")\n" }
        for l in ["a", "b", "c"] where r.int(4) > 0 {
            s += "score \(l) {\n"
            for _ in 0..<(1 + r.int(4)) {
                s += r.int(2) == 0 ? "  \(numExpr(&r, 2)) when \(boolExpr(&r, 2))\n" : "  \(numExpr(&r, 2))\n"
            }
            if r.int(3) == 0 { s += "  f(low, 0.5)\n" }
            s += "}\n"
        }
        s += "otherwise => \(r.pick(["a", "b", "c"]))\n"
        return s
    }

    static let alphabet: [[UInt8]] = ["a", "b", "c", "x", "w", "i", "n", "e", "f", "r", " ", " ", "!", "?", "0", "9", "A", "C", "F", "W", "\n",
                                      "é", "É", "ß", "Σ", "σ", "ς", "ΣΟΦΙΑ", "Ж", "ж", "日", "😀", "ÿ", "Ÿ", "free", "win", "café", "call now", "_"].map { Array($0.utf8) }
        + [[0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF0, 0x9F]]

    static func input(_ r: inout Rng) -> [UInt8] {
        let n = r.int(10) == 0 ? 2000 + r.int(20000) : r.int(40)
        var out: [UInt8] = []
        for _ in 0..<n { out += r.pick(alphabet) }
        return out
    }
}

final class RandomDifferentialTests: XCTestCase {
    func testRandomProgramsAgreeWithTheInterpreter() throws {
        var r = Rng(2026)
        var programs = 0, rejected = 0
        for _ in 0..<60 {
            let src = RandomPrograms.program(&r)
            let (checked, diags) = Checker.checkSource(SourceFile(name: "gen.loop", text: src), stdlib: .embedded)
            guard let p = checked else {
                rejected += 1
                print("rejected:\n\(src)\n" + TextRenderer().render(diags.filter { $0.severity == .error }))
                continue
            }
            programs += 1
            var inputs: [[Value]] = [[.text([])], [.text(Array("free win café".utf8))]]
            for _ in 0..<60 { inputs.append([.text(RandomPrograms.input(&r))]) }
            let jit = try JITEngine(p).classifyBatch(inputs)
            assertSameDecisions(Interpreter(p).classifyBatch(inputs), jit, "random program:\n\(src)", inputs: inputs)
        }
        XCTAssertLessThan(rejected, 3, "the generator should produce checkable programs")
        XCTAssertGreaterThan(programs, 50)
    }

    /// upper_ratio counts eight ASCII bytes at a time and the last one to seven bytes of a text of
    /// eight or more as one word: every length from 0 to 40, ASCII and not, agrees with the interpreter.
    func testUpperRatioOfEveryLengthAgreesWithTheInterpreter() throws {
        let p = try XCTUnwrap(checkSource("program r\ninput text: text\nlabels a, b\nscore a { upper_ratio(text) }\notherwise => b\n"))
        var r = Rng(8)
        let pieces: [[UInt8]] = ["A", "b", "Z", "z", "1", " ", "@", "[", "`", "{", "É", "é", "ß"].map { Array($0.utf8) } + [[0xFF]]
        var inputs: [[Value]] = []
        for n in 0...40 {
            for _ in 0..<12 {
                var t: [UInt8] = []
                while t.count < n { t += r.int(5) == 0 ? r.pick(pieces) : [r.pick(Array("AbZz1 @[`{".utf8))] }
                inputs.append([.text(Array(t.prefix(n)))])
            }
        }
        let interp = Interpreter(p).classifyBatch(inputs), jit = try JITEngine(p).classifyBatch(inputs)
        assertSameDecisions(interp, jit, "upper_ratio", inputs: inputs)
        for (x, y) in zip(interp, jit) { XCTAssertEqual(x.scores.map(\.bitPattern), y.scores.map(\.bitPattern)) }
    }

    /// Megabyte-long lines and regex-like text: both engines finish and agree (time is measured by
    /// Benchmarks/adversarial.sh, not here).
    func testMegabyteInputs() throws {
        let p = try XCTUnwrap(checkSource("""
        program big
        input text: text
        labels a, b
        rule r when matches(text, /(a|aa)*b/) => a
        score a {
          count_matches(text, /a+/)
          0.001 * count_any(text, ["aaaa", "aaab", "(a*)*"])
          1 when contains_word(text, "b")
        }
        otherwise => b
        """))
        let inputs: [[Value]] = [
            [.text(Array(repeating: UInt8(ascii: "a"), count: 1 << 20))],
            [.text(Array(String(repeating: "(a*)*b|", count: 150_000).utf8))],
            [.text(Array(String(repeating: "é", count: 300_000).utf8) + [0xFF])],
        ]
        assertSameDecisions(Interpreter(p).classifyBatch(inputs), try JITEngine(p).classifyBatch(inputs), "megabyte inputs", inputs: inputs.map { _ in [] })
    }
}
