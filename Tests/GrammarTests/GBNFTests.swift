import Foundation
import LoopDiagnostics
import LoopSyntax
import XCTest

/// Generates the GBNF rules for identifiers: a minimal automaton for
/// `[a-zA-Z_][a-zA-Z0-9_]*` minus the keywords. A state is the set of keyword suffixes that
/// could still complete what was read.
enum IdentifierRules {
    static let startChars = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
    static let continueChars = startChars + Array("0123456789")

    static func stateName(_ r: Set<String>) -> String {
        "id-" + r.sorted().map { $0.isEmpty ? "0" : $0 }.joined(separator: "-")
    }

    static func step(_ r: Set<String>, _ c: Character) -> Set<String> {
        Set(r.compactMap { $0.first == c ? String($0.dropFirst()) : nil })
    }

    /// `[...]` for a set of characters, as ranges in code point order.
    static func charClass(_ chars: [Character]) -> String {
        let codes = chars.map { $0.unicodeScalars.first!.value }.sorted()
        var parts: [String] = []
        var i = 0
        while i < codes.count {
            var j = i
            while j + 1 < codes.count, codes[j + 1] == codes[j] + 1 { j += 1 }
            let a = String(Unicode.Scalar(codes[i])!), b = String(Unicode.Scalar(codes[j])!)
            parts.append(j == i ? a : j == i + 1 ? a + b : a + "-" + b)
            i = j + 1
        }
        return "[" + parts.joined() + "]"
    }

    static func generate(keywords: [String]) -> String {
        var lines: [String] = []
        var queue: [Set<String>] = []
        var seen: Set<Set<String>> = []
        func alternatives(_ r: Set<String>, chars: [Character]) -> [String] {
            let explicit = Set(r.compactMap(\.first)).sorted()
            var alts: [String] = []
            for c in explicit {
                let next = step(r, c)
                if !seen.contains(next) { seen.insert(next); queue.append(next) }
                alts.append("\"\(c)\" \(stateName(next))")
            }
            let rest = chars.filter { !explicit.contains($0) }
            if !rest.isEmpty { alts.append(charClass(rest) + " ident-rest") }
            return alts
        }
        let start = alternatives(Set(keywords), chars: startChars)
        lines.append("ident ::= " + start.joined(separator: " |\n    "))
        lines.append("ident-rest ::= [0-9A-Z_a-z]*")
        var k = 0
        while k < queue.count {
            let r = queue[k]
            k += 1
            let alts = alternatives(r, chars: continueChars).joined(separator: " | ")
            lines.append("\(stateName(r)) ::= " + (r.contains("") ? alts : "(\(alts))?"))
        }
        return lines.joined(separator: "\n")
    }
}

final class GBNFTests: XCTestCase {
    static let beginMarker = "# BEGIN GENERATED IDENTIFIER RULES"
    static let endMarker = "# END GENERATED IDENTIFIER RULES"

    static let source: String = (try? Repo.read("Grammar/loop.gbnf")) ?? ""
    static let compiled: Result<(grammar: CompiledGrammar<CharClass>, rules: [String]), Error> = Result { try GBNFParser.parse(source) }

    func grammar() throws -> CompiledGrammar<CharClass> { try GBNFTests.compiled.get().grammar }

    func assertAccepted(_ text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = recognize(text, try grammar(), rule: "root")
        XCTAssertNil(r.leftRecursion, file: file, line: line)
        XCTAssertTrue(r.ok, "GBNF rejects \(what) near \(Syntax.location(text, scalarOffset: r.furthest))\n\(text)", file: file, line: line)
    }

    func assertRejected(_ text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = recognize(text, try grammar(), rule: "root")
        XCTAssertFalse(r.ok, "GBNF accepts \(what)\n\(text)", file: file, line: line)
    }

    // MARK: the file itself

    func testFileParsesAsLlamaCppWould() throws {
        XCTAssertFalse(GBNFTests.source.isEmpty, "Grammar/loop.gbnf is missing")
        let (g, rules) = try GBNFTests.compiled.get()
        XCTAssertEqual(rules.first, "root")
        XCTAssertTrue(g.undefinedRules.isEmpty)
        // Every rule is used: reachable from root.
        var reached: Set<String> = ["root"]
        var todo = ["root"]
        func refs(_ n: Int, _ seen: inout Set<Int>, _ out: inout [String]) {
            guard seen.insert(n).inserted else { return }
            switch g.nodes[n] {
            case .ref(let r): out.append(g.ruleNames[r])
            case .seq(let xs), .alt(let xs): for x in xs { refs(x, &seen, &out) }
            case .opt(let x), .star(let x), .plus(let x): refs(x, &seen, &out)
            case .except(let a, let b): refs(a, &seen, &out); refs(b, &seen, &out)
            case .term, .assertion, .empty: break
            }
        }
        while let r = todo.popLast() {
            var seen: Set<Int> = []
            var out: [String] = []
            refs(g.node(ofRule: r)!, &seen, &out)
            for o in out where reached.insert(o).inserted { todo.append(o) }
        }
        XCTAssertEqual(Set(rules).subtracting(reached).sorted(), [], "rules not reachable from root")
        XCTAssertNil(leftRecursiveRule(g), "llama.cpp refuses left-recursive grammars")
    }

    /// The check llama.cpp makes when it loads a grammar: no rule may reach itself leftmost.
    func leftRecursiveRule(_ g: CompiledGrammar<CharClass>) -> String? {
        var nullable = Array(repeating: false, count: g.nodes.count)
        var changed = true
        func isNullable(_ n: Int) -> Bool {
            switch g.nodes[n] {
            case .term: return false
            case .assertion, .empty, .opt, .star: return true
            case .seq(let xs): return xs.allSatisfy { nullable[$0] }
            case .alt(let xs): return xs.contains { nullable[$0] }
            case .plus(let x): return nullable[x]
            case .except(let a, _): return nullable[a]
            case .ref(let r): return nullable[g.ruleNodes[r]]
            }
        }
        while changed {
            changed = false
            for n in g.nodes.indices where !nullable[n] && isNullable(n) { nullable[n] = true; changed = true }
        }
        func leftRefs(_ n: Int, _ out: inout Set<Int>) {
            switch g.nodes[n] {
            case .ref(let r): out.insert(r)
            case .seq(let xs):
                for x in xs { leftRefs(x, &out); if !nullable[x] { break } }
            case .alt(let xs): for x in xs { leftRefs(x, &out) }
            case .opt(let x), .star(let x), .plus(let x): leftRefs(x, &out)
            case .except(let a, _): leftRefs(a, &out)
            case .term, .assertion, .empty: break
            }
        }
        for r in g.ruleNames.indices {
            var seen: Set<Int> = []
            var todo = [r]
            while let x = todo.popLast() {
                var next: Set<Int> = []
                leftRefs(g.ruleNodes[x], &next)
                if next.contains(r) { return g.ruleNames[r] }
                for y in next where seen.insert(y).inserted { todo.append(y) }
            }
        }
        return nil
    }

    func testIdentifierRulesAreUpToDate() throws {
        let src = GBNFTests.source
        guard let b = src.range(of: GBNFTests.beginMarker), let e = src.range(of: GBNFTests.endMarker) else {
            return XCTFail("markers missing in Grammar/loop.gbnf")
        }
        let current = src[b.upperBound..<e.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        let expected = IdentifierRules.generate(keywords: Keyword.allCases.map(\.rawValue))
        if current != expected {
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("loop-gbnf-identifiers.txt")
            try? expected.write(to: tmp, atomically: true, encoding: .utf8)
            XCTFail("the generated identifier rules in Grammar/loop.gbnf are out of date; replace the text between the markers with \(tmp.path):\n\(expected)")
        }
    }

    func testIdentifiersExcludeExactlyTheKeywords() throws {
        // The `ident` rule alone, checked through a tiny wrapper grammar.
        let g = try GBNFParser.parse(GBNFTests.source.replacingOccurrences(of: "root ::= ws program-header", with: "root ::= ident\nold-root ::= ws program-header")).grammar
        for k in Keyword.allCases {
            XCTAssertFalse(recognize(k.rawValue, g, rule: "root").ok, "`\(k.rawValue)` must not be an identifier")
            XCTAssertTrue(recognize(k.rawValue + "x", g, rule: "root").ok)
            XCTAssertTrue(recognize(k.rawValue + "_", g, rule: "root").ok)
            XCTAssertTrue(recognize(String(k.rawValue.dropLast()), g, rule: "root").ok || k.rawValue.count == 1)
            XCTAssertTrue(recognize(k.rawValue.uppercased(), g, rule: "root").ok)
        }
        for ok in ["x", "_", "a1", "text", "number", "table", "regex", "bool", "i", "in", "inpu", "inputs", "confidenc", "Program", "_if", "then2"] {
            XCTAssertTrue(recognize(ok, g, rule: "root").ok, ok)
        }
        for bad in ["", "1a", "a-b", "é", "a b"] {
            XCTAssertFalse(recognize(bad, g, rule: "root").ok, bad)
        }
    }

    // MARK: acceptance

    func testAcceptsEveryExampleProgram() throws {
        for path in Repo.examplePrograms {
            let text = try Repo.read(path)
            XCTAssertEqual(Syntax.describe(Syntax.errors(text)), "", "\(path) does not parse")
            try assertAccepted(text, path)
        }
    }

    func testAcceptsSamplePrograms() throws {
        for (name, text) in Samples.valid {
            XCTAssertEqual(Syntax.describe(Syntax.errors(text)), "", "sample `\(name)` does not parse")
            try assertAccepted(text, "sample `\(name)`")
        }
    }

    /// Whatever the layout of the input, `loopai fmt` output is accepted.
    func testAcceptsFormattedExamplesAndSamples() throws {
        let texts = try Repo.examplePrograms.map { ($0, try Repo.read($0)) } + Samples.valid.map { ("sample " + $0.name, $0.text) }
        for (name, text) in texts {
            let (unit, diags) = Parser.parse(SourceFile(name: name, text: text))
            XCTAssertTrue(diags.isEmpty)
            try assertAccepted(Formatter.format(unit), "formatted \(name)")
        }
    }

    /// Random programs from loop.ebnf, printed by the formatter, are accepted (except those the
    /// GBNF excludes by its restriction 6, counted here).
    func testAcceptsFormattedRandomPrograms() throws {
        let ebnf = try EBNFGrammar.parse(try Repo.read("Grammar/loop.ebnf"))
        let rec = TokenRecognizer(ebnf)
        let gen = SentenceGenerator(ebnf, recognizer: rec, seed: 2024)
        var renderer = SentenceRenderer(seed: 99)
        var checked = 0, excluded = 0
        for _ in 0..<150 {
            let (text, _) = renderer.render(gen.sentence(from: "program_file"))
            let (unit, diags) = Parser.parse(SourceFile(name: "gen", text: text))
            guard diags.isEmpty else { return XCTFail("generated program does not parse: \(Syntax.describe(diags))\n\(text)") }
            if unit.decls.contains(where: GBNFTests.excludedByRestriction6) { excluded += 1; continue }
            try assertAccepted(Formatter.format(unit), "a formatted random program")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 100)
        print("GBNF: \(checked) formatted random programs accepted, \(excluded) skipped (restriction 6)")
    }

    /// Restriction 6: a test value, score term or confidence whose first operand is a regex or table.
    static func excludedByRestriction6(_ d: Decl) -> Bool {
        func leading(_ e: Expr?) -> Bool {
            guard let e else { return false }
            switch leftmostOperand(e).kind {
            case .regex, .table: return true
            default: return false
            }
        }
        switch d.kind {
        case .test(.value(let e), _): return leading(e)
        case .score(_, let terms): return terms.contains { leading($0.value) }
        case .rule(_, _, _, let c), .otherwise(_, let c): return leading(c)
        default: return false
        }
    }

    // MARK: rejection

    func testRejectsInvalidPrograms() throws {
        for (name, text) in Samples.invalid {
            XCTAssertFalse(Syntax.errors(text).isEmpty, "the parser accepts `\(name)`, so it is no invalid sample")
            try assertRejected(text, "`\(name)`")
        }
    }

    /// The documented restrictions: the parser accepts these, the GBNF does not.
    func testDocumentedRestrictions() throws {
        for (name, text) in Samples.stricterInGBNF {
            XCTAssertEqual(Syntax.describe(Syntax.errors(text)), "", "`\(name)` should parse")
            try assertRejected(text, "`\(name)` (a documented restriction)")
        }
    }

    /// What matters when the grammar constrains an LLM: whatever the GBNF accepts, the parser
    /// accepts. Mutants of valid programs (a token deleted, duplicated or replaced, a character
    /// inserted or deleted) that the GBNF accepts must parse without errors.
    func testAcceptsOnlyWhatTheParserAccepts() throws {
        let g = try grammar()
        let ebnf = try EBNFGrammar.parse(try Repo.read("Grammar/loop.ebnf"))
        let gen = SentenceGenerator(ebnf, recognizer: TokenRecognizer(ebnf), seed: 31, maxDepth: 16)
        var renderer = SentenceRenderer(seed: 32)
        var bases = Samples.valid.map(\.text)
        for _ in 0..<25 {
            let (unit, diags) = Parser.parse(SourceFile(name: "gen", text: renderer.render(gen.sentence(from: "program_file")).text))
            if diags.isEmpty { bases.append(Formatter.format(unit)) }
        }
        var rng = SplitMix(seed: 33)
        let pieces = Keyword.allCases.map(\.rawValue) + Punct.allCases.map(\.rawValue)
            + ["x", "1", "\"s\"", "/r/", " ", "\n", "-", "//", "\"", "(", "{", "1e", "_"]
        var judged = 0, acceptedByGBNF = 0
        for base in bases {
            let file = SourceFile(name: "b", text: base)
            let toks = Array(Lexer.tokenize(file).tokens.dropLast())
            for _ in 0..<12 {
                var bytes = file.bytes
                let t = toks[rng.int(toks.count)]
                switch rng.int(5) {
                case 0: bytes.removeSubrange(t.range.start..<t.range.end)
                case 1: bytes.insert(contentsOf: Array(bytes[t.range.start..<t.range.end]) + [32], at: t.range.start)
                case 2: bytes.replaceSubrange(t.range.start..<t.range.end, with: Array(rng.pick(pieces).utf8))
                case 3: bytes.insert(contentsOf: Array(rng.pick(pieces).utf8), at: rng.int(bytes.count + 1))
                default: if !bytes.isEmpty { bytes.remove(at: rng.int(bytes.count)) }
                }
                let text = String(decoding: bytes, as: UTF8.self)
                judged += 1
                guard recognize(text, g, rule: "root").ok else { continue }
                acceptedByGBNF += 1
                XCTAssertEqual(Syntax.describe(Syntax.errors(text)), "", "the GBNF accepts a program the parser rejects:\n\(text)")
            }
        }
        XCTAssertGreaterThan(judged, 300)
        XCTAssertGreaterThan(acceptedByGBNF, 30, "too few mutants stay valid to test anything")
        print("GBNF: \(judged) mutants, \(acceptedByGBNF) accepted by the GBNF and all parse")
    }

    /// Truncating a valid program anywhere inside a declaration makes it invalid for both.
    func testRejectsTruncatedPrograms() throws {
        let text = Samples.valid[0].text
        let scalars = Array(text.unicodeScalars)
        var rng = SplitMix(seed: 5)
        var tried = 0
        for _ in 0..<60 {
            let cut = 10 + rng.int(scalars.count - 10)
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars[..<cut])
            let prefix = String(s)
            // Only cuts that leave the parser unhappy: the GBNF must agree.
            guard !Syntax.errors(prefix).isEmpty else { continue }
            tried += 1
            try assertRejected(prefix, "a truncated program")
        }
        XCTAssertGreaterThan(tried, 20)
    }
}
