import Foundation
import LoopDiagnostics
import LoopSyntax
import XCTest

final class EBNFTests: XCTestCase {
    static let parsed: Result<EBNFGrammar, Error> = Result { try EBNFGrammar.parse(try Repo.read("Grammar/loop.ebnf")) }
    static let recognizer: TokenRecognizer? = try? TokenRecognizer(parsed.get())

    func grammar() throws -> EBNFGrammar { try EBNFTests.parsed.get() }
    func tokens() throws -> TokenRecognizer { try XCTUnwrap(EBNFTests.recognizer) }

    // MARK: terminals

    func testKeywordAndPunctuationTerminalsMatchTheLexer() throws {
        let g = try grammar()
        let terminals = Set(g.syntacticRules.flatMap { g.rules[$0]!.terminals })
        let words = terminals.filter { $0.first!.isLetter }
        let puncts = terminals.subtracting(words)
        XCTAssertEqual(words.sorted(), Keyword.allCases.map(\.rawValue).sorted(), "keyword terminals of the syntactic rules")
        XCTAssertEqual(puncts.sorted(), Punct.allCases.map(\.rawValue).sorted(), "punctuation terminals of the syntactic rules")
        // The lexical lists say the same.
        XCTAssertEqual(g.rules["KEYWORD"].map { Set($0.terminals) }, Set(Keyword.allCases.map(\.rawValue)))
        XCTAssertEqual(g.rules["PUNCTUATION"].map { Set($0.terminals) }, Set(Punct.allCases.map(\.rawValue)))
        // Every rule is used, from the start rules or as a token.
        var used: Set<String> = ["file", "any_file", "TOKEN", "COMMENT", "WHITESPACE"]
        var todo = Array(used)
        while let r = todo.popLast() {
            for x in g.rules[r]!.references where used.insert(x).inserted { todo.append(x) }
        }
        XCTAssertEqual(Set(g.order).subtracting(used).sorted(), [], "unused rules")
    }

    // MARK: lexical rules

    func testFillersAreSingleTokensOfTheirRule() throws {
        let rec = try tokens()
        for (rule, texts) in Fillers.byRule {
            for t in texts {
                XCTAssertTrue(rec.lexicalMatch(rule, t), "\(rule) does not match \(t)")
                let lexed = Lexer.tokenize(SourceFile(name: "f", text: t))
                XCTAssertEqual(lexed.tokens.count, 2, "\(t) is not one token")
                XCTAssertTrue(lexed.diagnostics.isEmpty, "\(t): \(lexed.diagnostics.map(\.message))")
                XCTAssertEqual(EBNFTests.lexicalRule(of: lexed.tokens[0].kind), rule == "TEXT_TYPE" ? "IDENTIFIER" : rule, t)
            }
        }
    }

    static func lexicalRule(of k: TokenKind) -> String {
        switch k {
        case .identifier: return "IDENTIFIER"
        case .keyword: return "KEYWORD"
        case .number: return "NUMBER"
        case .string: return "STRING"
        case .regex: return "REGEX"
        case .punct: return "PUNCTUATION"
        case .eof: return "EOF"
        }
    }

    /// The lexer reads the text as exactly one token of this lexical rule, without complaint.
    static func lexerRule(_ text: String) -> String? {
        let lexed = Lexer.tokenize(SourceFile(name: "l", text: text))
        guard lexed.diagnostics.isEmpty, lexed.tokens.count == 2, lexed.comments.isEmpty else { return nil }
        return lexicalRule(of: lexed.tokens[0].kind)
    }

    /// Texts on which the lexer is laxer than the lexical rules (see "Known differences" at the
    /// end of Grammar/loop.ebnf): left out of the comparison.
    static func knownLexerLeniency(_ text: String) -> Bool {
        // `\u{41` (no closing brace) and `\u{+41}` pass the lexer.
        if text.contains("\\u{") { return true }
        // A number too large for a double is a lexer error, which the grammar does not model.
        return false
    }

    /// For random short texts: the lexer reads one token of rule R exactly when the lexical
    /// rule R matches the text (for identifiers, keywords, numbers, strings, regexes, punctuation).
    func testLexicalRulesAgreeWithTheLexer() throws {
        let rec = try tokens()
        var rng = SplitMix(seed: 11)
        let alphabet = Array("ab_zZ09.eE+-\"\\/[]{}()nut é\u{1F600}:=<>!*,i")
        var seeds = Fillers.byRule.values.flatMap { $0 }
        seeds += Keyword.allCases.map(\.rawValue) + Punct.allCases.map(\.rawValue)
        seeds += ["1.", ".5", "1e", "1e+", "1__", "1_.5", "0x1F", "//", "/a", "/[/]", "/a\\/", "\"a", "\"\\q\"", "a1_", "_"]
        let rules = ["IDENTIFIER", "KEYWORD", "NUMBER", "STRING", "REGEX", "PUNCTUATION"]
        var checked = 0
        var disagreements: [String] = []
        for i in 0..<4000 {
            var t = Array(seeds[i % seeds.count])
            for _ in 0..<rng.int(3) {
                let at = rng.int(t.count + 1)
                switch rng.int(3) {
                case 0: t.insert(rng.pick(alphabet), at: at)
                case 1: if at < t.count { t.remove(at: at) }
                default: if at < t.count { t[at] = rng.pick(alphabet) }
                }
            }
            let text = String(t)
            guard !text.isEmpty, !text.hasPrefix(" "), !text.hasSuffix(" "), !EBNFTests.knownLexerLeniency(text) else { continue }
            // A regex literal cut short right after a backslash at the end of the file crashes
            // Lexer.lexRegex (index out of range); reported, not exercised here.
            if text.hasSuffix("\\"), text.contains("/") { continue }
            // Each kind of token is lexed where it may stand: a regex where an operand may
            // start (after `(`), punctuation after an operand (so `/` is division).
            func lexed(after prefix: String) -> String? {
                let r = Lexer.tokenize(SourceFile(name: "l", text: prefix + text))
                let expected = prefix.isEmpty ? 2 : 3
                guard r.diagnostics.isEmpty, r.tokens.count == expected, r.comments.isEmpty else { return nil }
                return EBNFTests.lexicalRule(of: r.tokens[expected - 2].kind)
            }
            let plain = lexed(after: ""), asOperand = lexed(after: "("), afterOperand = lexed(after: "x ")
            for r in rules {
                let grammarSays = rec.lexicalMatch(r, text)
                let lexerSays = (r == "REGEX" ? asOperand : r == "PUNCTUATION" ? afterOperand : plain) == r
                if grammarSays != lexerSays, !disagreements.contains(where: { $0.hasPrefix("\(r) \(text.debugDescription):") }) { disagreements.append("\(r) \(text.debugDescription): grammar \(grammarSays), lexer \(lexerSays)") }
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 3000)
        XCTAssertEqual(disagreements, [])
    }

    // MARK: random sentences

    func testRandomSentencesParse() throws {
        let g = try grammar()
        let rec = try tokens()
        let gen = SentenceGenerator(g, recognizer: rec, seed: 42)
        var renderer = SentenceRenderer(seed: 7)
        var count = 0, tokensTotal = 0
        let plan = Array(repeating: "file", count: 300) + Array(repeating: "any_file", count: 100)
        for start in plan {
            let generated = gen.sentence(from: start)
            let (text, toks) = renderer.render(generated)
            // The text lexes back to exactly the generated tokens.
            let file = SourceFile(name: "gen.loop", text: text)
            let lexed = Lexer.tokenize(file)
            XCTAssertEqual(Syntax.describe(lexed.diagnostics), "", text)
            let texts = lexed.tokens.dropLast().map { String(decoding: file.bytes[$0.range.start..<$0.range.end], as: UTF8.self) }
            XCTAssertEqual(texts, toks.map(\.text), "the rendering does not lex back to the sentence\n\(text)")
            // The parser accepts it.
            let errors = Syntax.errors(text)
            XCTAssertTrue(errors.isEmpty, "the parser rejects a sentence of loop.ebnf: \(Syntax.describe(errors))\n\(text)")
            // And the token-level recognizer too (a check of the recognizer and the renderer).
            let views = Syntax.tokenViews(text).views
            XCTAssertTrue(rec.accepts(views, rule: start), "recognizer rejects\n\(text)")
            if !errors.isEmpty || texts != toks.map(\.text) { break }
            count += 1
            tokensTotal += toks.count
        }
        XCTAssertEqual(count, 400)
        XCTAssertGreaterThan(tokensTotal / max(count, 1), 15, "sentences too small to be interesting")
        print("EBNF: \(count) random sentences (\(tokensTotal) tokens) parse; \(renderer.regexReplacements) regex literals stood after an operand and became text; \(gen.exceptionRetries) exception retries")
    }

    /// The generator reaches every syntactic rule and every alternative of the expression rules.
    func testRandomSentencesCoverTheGrammar() throws {
        let g = try grammar()
        let gen = SentenceGenerator(g, recognizer: try tokens(), seed: 42)
        var seenTerminals: Set<String> = []
        var seenLexical: Set<String> = []
        for _ in 0..<400 {
            for t in gen.sentence(from: "file") {
                if t.isLiteral { seenTerminals.insert(t.text) } else { seenLexical.insert(t.lexicalRule!) }
            }
        }
        XCTAssertEqual(Set(Keyword.allCases.map(\.rawValue)).subtracting(seenTerminals).sorted(), [])
        XCTAssertEqual(Set(Punct.allCases.map(\.rawValue)).subtracting(seenTerminals).sorted(), [])
        XCTAssertEqual(seenLexical, ["IDENTIFIER", "NUMBER", "STRING", "REGEX", "TEXT_TYPE"])
    }

    // MARK: real programs

    func testExampleProgramsAndStdlibAreSentences() throws {
        let rec = try tokens()
        let files = Repo.examplePrograms.map { ($0, "program_file") } + Repo.stdlibModules.map { ($0, "module_file") }
        XCTAssertFalse(Repo.stdlibModules.isEmpty)
        for (path, start) in files {
            let text = try Repo.read(path)
            let (views, lexErrors) = Syntax.tokenViews(text)
            XCTAssertEqual(Syntax.describe(lexErrors), "", path)
            let r = rec.recognizer(views)
            XCTAssertTrue(r.accepts(rule: start), "\(path) is not a \(start): stuck at token \(r.furthest) `\(r.furthest < views.count ? views[r.furthest].text : "end")`")
            XCTAssertTrue(rec.accepts(views, rule: "file"), path)
            XCTAssertTrue(rec.accepts(views, rule: "any_file"), path)
        }
    }

    func testSampleProgramsAreSentences() throws {
        let rec = try tokens()
        for (name, text) in Samples.valid {
            let (views, _) = Syntax.tokenViews(text)
            XCTAssertTrue(rec.accepts(views, rule: "program_file"), name)
        }
    }

    func testInvalidProgramsAreNotSentences() throws {
        let rec = try tokens()
        var checked = 0
        for (name, text) in Samples.invalid {
            XCTAssertFalse(Syntax.errors(text).isEmpty, name)
            let (views, lexErrors) = Syntax.tokenViews(text)
            guard lexErrors.isEmpty else { continue }   // not a token sequence at all
            XCTAssertFalse(rec.accepts(views, rule: "any_file"), "loop.ebnf accepts `\(name)`")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 25)
    }

    /// Mutate valid programs token by token (delete, duplicate, swap, replace); whenever the
    /// result still lexes cleanly, the parser and loop.ebnf (`any_file`) must agree on it.
    func testMutantsAreJudgedAlikeByParserAndGrammar() throws {
        let g = try grammar()
        let rec = try tokens()
        let gen = SentenceGenerator(g, recognizer: rec, seed: 77)
        var renderer = SentenceRenderer(seed: 78)
        var bases = try Repo.examplePrograms.map { try Repo.read($0) } + Repo.stdlibModules.map { try Repo.read($0) }
        bases += Samples.valid.map(\.text)
        for _ in 0..<50 { bases.append(renderer.render(gen.sentence(from: "file")).text) }
        var rng = SplitMix(seed: 3)
        var judged = 0, accepted = 0, skippedForScoreRule = 0
        var disagreements: [String] = []
        let replacements = Keyword.allCases.map(\.rawValue) + Punct.allCases.map(\.rawValue) + ["x", "1", "\"s\"", "/r/"]
        for base in bases {
            let file = SourceFile(name: "m", text: base)
            let toks = Lexer.tokenize(file).tokens.dropLast()
            guard toks.count > 2 else { continue }
            for _ in 0..<20 {
                var bytes = file.bytes
                let i = rng.int(toks.count)
                let t = toks[toks.startIndex + i]
                let piece = Array(bytes[t.range.start..<t.range.end])
                switch rng.int(4) {
                case 0: bytes.replaceSubrange(t.range.start..<t.range.end, with: [])
                case 1: bytes.replaceSubrange(t.range.start..<t.range.start, with: piece + [32])
                case 2:
                    let j = rng.int(toks.count)
                    let u = toks[toks.startIndex + j]
                    if u.range.start > t.range.end {
                        let other = Array(bytes[u.range.start..<u.range.end])
                        bytes.replaceSubrange(u.range.start..<u.range.end, with: piece)
                        bytes.replaceSubrange(t.range.start..<t.range.end, with: other)
                    }
                default: bytes.replaceSubrange(t.range.start..<t.range.end, with: Array(rng.pick(replacements).utf8))
                }
                let text = String(decoding: bytes, as: UTF8.self)
                let (views, lexErrors) = Syntax.tokenViews(text)
                guard lexErrors.isEmpty else { continue }
                // The score-block rule depends on line breaks, which the token grammar cannot
                // see (testRandomSentencesParse covers it through the renderer).
                if hasLineStartingMinusInScoreBlock(views) { skippedForScoreRule += 1; continue }
                let parserOK = Syntax.errors(text).isEmpty
                let grammarOK = rec.accepts(views, rule: "any_file")
                judged += 1
                if parserOK { accepted += 1 }
                if parserOK != grammarOK, disagreements.count < 5 {
                    let dump = FileManager.default.temporaryDirectory.appendingPathComponent("loop-mutant-\(disagreements.count).loop")
                    try? text.write(to: dump, atomically: true, encoding: .utf8)
                    disagreements.append("(\(dump.path)) " + "parser \(parserOK ? "accepts" : "rejects: " + Syntax.describe(Syntax.errors(text))), grammar \(grammarOK ? "accepts" : "rejects"):\n\(text)")
                }
            }
        }
        XCTAssertGreaterThan(judged, 800)
        XCTAssertGreaterThan(accepted, 50, "too few mutants stay valid to test acceptance")
        XCTAssertEqual(disagreements, [])
        print("EBNF: \(judged) mutants judged alike by parser and grammar (\(accepted) valid; \(skippedForScoreRule) skipped for the score-block rule)")
    }
}
