@testable import LoopCodegen
import LoopData
import LoopInterpreter
import LoopSema
import XCTest

/// Word tables looked up by hash (`WordHash`) instead of an automaton: on random programs of
/// shared word tables (read through `lower`, `upper` or as written, keys in any case, Unicode
/// words, keys no text can match) and random texts, the hashed scan, the automaton and the
/// interpreter give the same sums, bit for bit.
final class WordHashTests: XCTestCase {
    static let keys = ["free", "win", "winner", "a", "ab", "café", "CAFÉ", "Café", "ß", "straße", "ΣΟΦΙΑ", "σοφία", "ς", "日本", "x9",
                       "under_score", "internationalisation", "the", "é", "É", "ok", "Ж", "ж", "ÿ", "Ÿ", "ǅ", "ﬁ", "K", "k", "ʼn", "i", "İ", "ı"]
    static let pieces = keys + ["internationalisations", "internationalisatio", " ", " ", "  ", ",", ".", "!", "'", "-", "\n", "😀", "\u{301}", "x", "9", "_", "Free", "WIN", "THE", "Ok"]

    func program(_ r: inout Rng) -> String {
        var s = "program hashed\ninput text: text\nlabels a, b, c\nlet low = lower(text)\nlet up = upper(text)\n"
        var terms: [[String]] = [[], [], []]
        for t in 0..<(2 + r.int(4)) {
            var ks = Set<String>()
            for _ in 0..<(1 + r.int(12)) { ks.insert(r.pick(WordHashTests.keys)) }
            let entries = ks.sorted().map { "\(Formatter.quote($0)): \(Double(r.int(2000)) / 64 - 15)" }
            s += "const t\(t) = {\(entries.joined(separator: ", "))}\n"
            terms[r.int(3)].append("sum_words(\(r.pick(["low", "low", "up", "text"])), t\(t))")
        }
        for (l, ts) in zip(["a", "b", "c"], terms) { s += "score \(l) {\n  0\n" + ts.map { "  \($0)\n" }.joined() + "}\n" }
        return s + "otherwise => c\n"
    }

    func text(_ r: inout Rng) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<(r.int(9) == 0 ? 100 + r.int(300) : r.int(25)) { out += Array(r.pick(WordHashTests.pieces).utf8) }
        return out
    }

    func testHashedWordScansAgreeWithTheAutomataAndTheInterpreter() throws {
        var r = Rng(2026)
        var hashedScans = 0, longKeyScans = 0
        for _ in 0..<40 {
            let src = program(&r)
            let p = try XCTUnwrap(checkSource(src), src)
            let low = try LoweredProgram(p, hashWords: true)
            hashedScans += low.scans.filter { $0.wordHash != nil }.count
            longKeyScans += low.scans.filter { ($0.wordHash?.maxLength ?? 0) > 16 }.count
            // Every shared word scan qualifies here (no negation; each key unit is one class).
            XCTAssertTrue(low.scans.allSatisfy { $0.rows == nil || $0.wordHash != nil }, low.summary)
            // Every hashed key's classes are found again by the lookup, the first of equal ones.
            for plan in low.scans { if let h = plan.wordHash {
                for (k, cs) in h.classes.enumerated() { if let cs { XCTAssertEqual(h.classes[h.lookup(cs)!], cs, "key \(k)") } }
                XCTAssertNil(h.lookup(Array(repeating: 0, count: h.maxLength + 1)), "longer than every key")
            } }
            var inputs: [[Value]] = [[.text([])]]
            for _ in 0..<150 { inputs.append([.text(text(&r))]) }
            let interp = Interpreter(p).classifyBatch(inputs)
            for hashWords in [true, false] {
                let jit = try JITEngine(p, options: Codegen.Options(optLevel: 2, hashWords: hashWords)).classifyBatch(inputs)
                assertSameDecisions(interp, jit, "hashWords \(hashWords)\n\(src)", inputs: inputs)
                for (x, y) in zip(interp, jit) { XCTAssertEqual(x.scores.map(\.bitPattern), y.scores.map(\.bitPattern), src) }
            }
        }
        XCTAssertGreaterThan(hashedScans, 10, "programs with two tables on one text share a scan")
        // Keys of up to 16 units are compared eight bytes at a time, longer ones unit by unit: both occur.
        XCTAssertGreaterThan(longKeyScans, 0)
        XCTAssertLessThan(longKeyScans, hashedScans)
    }

    func testTheDumpSaysWhichScansHash() throws {
        let p = try XCTUnwrap(checkSource("""
        program two
        input text: text
        labels a, b
        let low = lower(text)
        score a { sum_words(low, {"card": 1, "top": 2}) }
        score b { sum_words(low, {"card": -1, "up": 0.5}) }
        otherwise => b
        """))
        XCTAssertTrue(try LoweredProgram(p, hashWords: true).summary.contains("3 words by hash"))
        XCTAssertTrue(try LoweredProgram(p, hashWords: false).summary.contains("3 patterns, DFA"))
    }
}
