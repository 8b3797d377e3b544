import Foundation
@testable import LoopCodegen
import LoopDiagnostics
import LoopSema
import XCTest

/// A group of regexes is compiled as the product of its members' automata instead of a subset
/// construction over their NFAs together. The two must be the same automaton: as many states,
/// and the same matches at every position of every text.
final class ProductAutomatonTests: XCTestCase {
    let sources = [
        #"\b(win|won|prize)\b"#, #"\d{4,}"#, "^hello", "(call|txt) now$", "[A-Z]{3,}!+",
        #"\bfree\b"#, "£[0-9]+", "a.b", #"\Bing\b"#, "(ab|ba)*c", "x{2,3}y?", #"\w+@\w+\.com"#,
    ]

    func regex(_ s: String) throws -> RegexNode {
        let (r, diags) = RegexParser.parse(pattern: s, flags: "", file: nil, literalRange: SourceRange(0, s.utf8.count + 2))
        return try XCTUnwrap(r, "\(s): \(diags.map { $0.message })").node
    }

    func testAProductIsTheSubsetConstructionOfTheWholeGroup() throws {
        var rng = SystemRandomNumberGenerator()
        let (patterns, cm, singles) = try automata(sources)
        for trial in 0..<40 {
            let size = Int.random(in: 2...5, using: &rng)
            let group = Array(patterns.indices.shuffled(using: &rng).prefix(size))
            var nfa = NFA()
            for (bit, k) in group.enumerated() { nfa.add(patterns[k], id: bit) }
            let whole = try DFA(nfa: nfa, classMap: cm, unanchored: true, budget: 20_000)
            let product = try DFA(product: group.map { singles[$0] }, bitOffsets: Array(group.indices), budget: 20_000)
            XCTAssertEqual(product.stateCount, whole.stateCount, "trial \(trial), group \(group.map { sources[$0] })")
            for _ in 0..<200 {
                let text = (0..<Int.random(in: 0...24, using: &rng)).map { _ in Int.random(in: 0..<cm.count, using: &rng) }
                XCTAssertEqual(run(product, text, cm), run(whole, text, cm), "group \(group.map { sources[$0] }), classes \(text)")
            }
        }
    }

    func testAProductOverItsBudgetIsGivenUp() throws {
        let (_, _, singles) = try automata([#"\d{4,}[a-z]{3}"#, "[a-z]{2,6}x", "(ab|ba)*c"])
        let full = try DFA(product: singles, bitOffsets: [0, 1, 2], budget: 20_000)
        XCTAssertThrowsError(try DFA(product: singles, bitOffsets: [0, 1, 2], budget: full.stateCount - 1)) { error in
            XCTAssertEqual((error as? AutomatonTooLarge)?.limit, full.stateCount - 1)
        }
    }

    /// The regexes' patterns, one class map for all of them, and each one's own automaton.
    func automata(_ sources: [String]) throws -> ([Pattern], ClassMap, [DFA]) {
        let patterns = try sources.map { Pattern.regex(try regex($0), through: []) }
        var all = NFA()
        for p in patterns { all.add(p, id: 0) }
        let cm = ClassMap(sets: all.sets)
        let singles = try patterns.map { p -> DFA in
            var nfa = NFA(); nfa.add(p, id: 0)
            return try DFA(nfa: nfa, classMap: cm, unanchored: true, budget: 20_000)
        }
        return (patterns, cm, singles)
    }

    /// The matches reported after each class (and at the end), as the compiled scan reads them.
    func run(_ dfa: DFA, _ classes: [Int], _ cm: ClassMap) -> [Int64] {
        var state = Int(dfa.start[1])   // no word before, at the start
        var reports: [Int64] = []
        for c in classes {
            reports.append(dfa.out[state * dfa.classes + c])
            state = Int(dfa.trans[state * dfa.classes + c])
        }
        reports.append(dfa.finalOut[state])
        return reports
    }
}
