import Foundation
import LoopDiagnostics
import LoopSyntax
import XCTest

/// A small TextMate tokenizer (match, begin/end, captures with nested patterns, includes from
/// the repository), enough to check what Grammar/loop.tmLanguage.json does to sample lines.
/// Regexes run on ICU (NSRegularExpression), close to the Oniguruma that editors use for the
/// constructs this grammar uses.
final class TextMate {
    final class Rule {
        var name: String?
        var contentName: String?
        var match: NSRegularExpression?
        var begin: NSRegularExpression?
        var end: NSRegularExpression?
        var captures: [Int: Capture] = [:]
        var beginCaptures: [Int: Capture] = [:]
        var endCaptures: [Int: Capture] = [:]
        var patterns: [Rule] = []
        var include: String?
    }
    struct Capture { var name: String?; var patterns: [Rule] }

    let repository: [String: Rule]
    let top: [Rule]
    /// Every regex source, for the checks on keyword coverage.
    private(set) var regexSources: [String] = []

    init(json: [String: Any]) throws {
        var repo: [String: Rule] = [:]
        var sources: [String] = []
        func regex(_ s: Any?) throws -> NSRegularExpression? {
            guard let s = s as? String else { return nil }
            sources.append(s)
            return try NSRegularExpression(pattern: s, options: [.anchorsMatchLines])
        }
        func captures(_ any: Any?) throws -> [Int: Capture] {
            guard let d = any as? [String: Any] else { return [:] }
            var out: [Int: Capture] = [:]
            for (k, v) in d {
                let c = v as? [String: Any] ?? [:]
                out[Int(k)!] = Capture(name: c["name"] as? String, patterns: try rules(c["patterns"]))
            }
            return out
        }
        func rules(_ any: Any?) throws -> [Rule] { try (any as? [[String: Any]] ?? []).map(rule) }
        func rule(_ d: [String: Any]) throws -> Rule {
            let r = Rule()
            r.name = d["name"] as? String
            r.contentName = d["contentName"] as? String
            r.include = d["include"] as? String
            r.match = try regex(d["match"])
            r.begin = try regex(d["begin"])
            r.end = try regex(d["end"])
            r.captures = try captures(d["captures"])
            r.beginCaptures = try captures(d["beginCaptures"] ?? d["captures"])
            r.endCaptures = try captures(d["endCaptures"] ?? d["captures"])
            r.patterns = try rules(d["patterns"])
            return r
        }
        for (k, v) in json["repository"] as? [String: [String: Any]] ?? [:] { repo[k] = try rule(v) }
        repository = repo
        top = try rules(json["patterns"])
        regexSources = sources
    }

    /// Expand includes into a flat, ordered list of match / begin rules.
    func flatten(_ rs: [Rule], depth: Int = 0) -> [Rule] {
        precondition(depth < 20, "include cycle")
        var out: [Rule] = []
        for r in rs {
            if let inc = r.include {
                guard inc.hasPrefix("#"), let target = repository[String(inc.dropFirst())] else { fatalError("bad include \(inc)") }
                out += target.match != nil || target.begin != nil ? [target] : flatten(target.patterns, depth: depth + 1)
            } else if r.match != nil || r.begin != nil {
                out.append(r)
            } else {
                out += flatten(r.patterns, depth: depth + 1)
            }
        }
        return out
    }

    /// Scopes of every UTF-16 unit of the text (lines are tokenized in order, state carried over).
    func scopes(_ text: String) -> [[String]] {
        let ns = text as NSString
        var result = Array(repeating: ["source.loop"], count: ns.length)
        var stack: [Rule] = []
        var lineStart = 0
        while lineStart < ns.length || lineStart == 0 {
            var lineEnd = ns.range(of: "\n", range: NSRange(location: lineStart, length: ns.length - lineStart)).location
            if lineEnd == NSNotFound { lineEnd = ns.length }
            let line = ns.substring(with: NSRange(location: lineStart, length: lineEnd - lineStart)) + "\n"
            var lineScopes = Array(repeating: [String](), count: (line as NSString).length)
            tokenizeLine(line, &stack, &lineScopes)
            for i in 0..<(lineEnd - lineStart) { result[lineStart + i] += lineScopes[i] }
            if lineEnd >= ns.length { break }
            lineStart = lineEnd + 1
        }
        return result
    }

    private func apply(_ caps: [Int: Capture], _ m: NSTextCheckingResult, _ line: String, _ out: inout [[String]]) {
        for (k, c) in caps.sorted(by: { $0.key < $1.key }) where k < m.numberOfRanges {
            let r = m.range(at: k)
            guard r.location != NSNotFound else { continue }
            if let n = c.name { for i in r.location..<(r.location + r.length) { out[i].append(n) } }
            if !c.patterns.isEmpty {
                let sub = (line as NSString).substring(with: r)
                var st: [Rule] = []
                var subScopes = Array(repeating: [String](), count: r.length)
                tokenize(sub, patterns: flatten(c.patterns), &st, &subScopes)
                for i in 0..<r.length { out[r.location + i] += subScopes[i] }
            }
        }
    }

    private func tokenizeLine(_ line: String, _ stack: inout [Rule], _ out: inout [[String]]) {
        tokenize(line, patterns: flatten(top), &stack, &out)
    }

    private func tokenize(_ line: String, patterns topPatterns: [Rule], _ stack: inout [Rule], _ out: inout [[String]]) {
        let ns = line as NSString
        var pos = 0
        func fill(_ from: Int, _ to: Int, _ names: [String]) {
            guard from < to else { return }
            for i in from..<min(to, out.count) { out[i] += names }
        }
        while pos < ns.length {
            let current = stack.last
            let patterns = current.map { flatten($0.patterns) } ?? topPatterns
            let enclosing = stack.compactMap(\.name)
            var best: (start: Int, rule: Rule?, m: NSTextCheckingResult)? = nil
            let range = NSRange(location: pos, length: ns.length - pos)
            // The end pattern wins ties, as in vscode-textmate.
            if let end = current?.end, let m = end.firstMatch(in: line, options: [.withTransparentBounds, .withoutAnchoringBounds], range: range) {
                best = (m.range.location, nil, m)
            }
            for p in patterns {
                guard let re = p.match ?? p.begin,
                      let m = re.firstMatch(in: line, options: [.withTransparentBounds, .withoutAnchoringBounds], range: range) else { continue }
                if best == nil || m.range.location < best!.start { best = (m.range.location, p, m) }
            }
            guard let b = best else { break }
            let r = b.m.range
            fill(pos, r.location, enclosing)
            fill(r.location, r.location + r.length, enclosing)
            if let rule = b.rule {
                fill(r.location, r.location + r.length, rule.name.map { [$0] } ?? [])
                if rule.match != nil {
                    apply(rule.captures, b.m, line, &out)
                } else {
                    apply(rule.beginCaptures, b.m, line, &out)
                    stack.append(rule)
                }
            } else if let rule = current {
                apply(rule.endCaptures, b.m, line, &out)
                stack.removeLast()
            }
            pos = r.location + r.length
            if r.length == 0 && b.rule?.begin == nil && b.rule != nil { pos += 1 }
            if r.length == 0 && b.rule == nil { continue }
        }
        fill(pos, ns.length, stack.compactMap(\.name))
    }
}

final class TextMateTests: XCTestCase {
    static let path = "Grammar/loop.tmLanguage.json"

    func load() throws -> [String: Any] {
        let data = try Data(contentsOf: Repo.url(TextMateTests.path))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], "top level is not an object")
    }

    func testIsValidJSONWithTheExpectedKeys() throws {
        let j = try load()
        XCTAssertEqual(j["scopeName"] as? String, "source.loop")
        XCTAssertEqual(j["fileTypes"] as? [String], ["loop"])
        XCTAssertEqual(j["name"] as? String, "Loop")
        XCTAssertNotNil(j["patterns"] as? [[String: Any]])
        XCTAssertNotNil(j["repository"] as? [String: Any])
        // Every include points into the repository, and every regex compiles.
        let tm = try TextMate(json: j)
        _ = tm.flatten(tm.top)
        for (_, r) in tm.repository { _ = tm.flatten(r.patterns) }
        XCTAssertGreaterThan(tm.regexSources.count, 20)
    }

    /// Words inside the grammar's regexes (alternations like `\b(and|or|not)\b`).
    func words(_ tm: TextMate) -> Set<String> {
        var out: Set<String> = []
        for s in tm.regexSources {
            for w in s.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }) { out.insert(String(w)) }
        }
        return out
    }

    func testEveryKeywordAppears() throws {
        let tm = try TextMate(json: try load())
        let w = words(tm)
        for k in Keyword.allCases { XCTAssertTrue(w.contains(k.rawValue), "keyword `\(k.rawValue)` missing") }
    }

    /// The built-in functions are the cases of `Builtin` in Sources/LoopSema/Types.swift.
    func testEveryBuiltinAppears() throws {
        let src = try Repo.read("Sources/LoopSema/Types.swift")
        let start = try XCTUnwrap(src.range(of: "enum Builtin"))
        let body = src[start.upperBound...].prefix { $0 != "}" }
        var builtins: [String] = []
        for line in body.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("case "), !t.contains("."), !t.contains(":") else { continue }
            builtins += t.dropFirst(5).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        XCTAssertGreaterThan(builtins.count, 20)
        let tm = try TextMate(json: try load())
        let callRule = try XCTUnwrap(tm.repository["call"])
        let builtinRegex = try XCTUnwrap(tm.flatten(callRule.patterns).first?.match?.pattern)
        let listed = Set(builtinRegex.split(whereSeparator: { !($0.isLetter || $0 == "_") }).map(String.init))
        XCTAssertEqual(Set(builtins).subtracting(listed).sorted(), [], "built-ins missing from the grammar")
    }

    /// Scopes of the `occurrence`-th appearance of `needle` in `line` (at its first character).
    func scope(_ tm: TextMate, _ text: String, _ needle: String, occurrence: Int = 1) -> [String] {
        let ns = text as NSString
        var from = 0
        var loc = NSNotFound
        for _ in 0..<occurrence {
            loc = ns.range(of: needle, range: NSRange(location: from, length: ns.length - from)).location
            if loc == NSNotFound { return ["<not found>"] }
            from = loc + 1
        }
        return tm.scopes(text)[loc]
    }

    func assertScope(_ tm: TextMate, _ text: String, _ needle: String, _ expected: String, occurrence: Int = 1,
                     file: StaticString = #filePath, line: UInt = #line) {
        let s = scope(tm, text, needle, occurrence: occurrence)
        XCTAssertTrue(s.contains { $0.hasPrefix(expected) }, "`\(needle)` in `\(text)` has scopes \(s), expected \(expected)", file: file, line: line)
    }

    func assertNoScope(_ tm: TextMate, _ text: String, _ needle: String, _ unexpected: String, occurrence: Int = 1,
                       file: StaticString = #filePath, line: UInt = #line) {
        let s = scope(tm, text, needle, occurrence: occurrence)
        XCTAssertFalse(s.contains { $0.hasPrefix(unexpected) }, "`\(needle)` in `\(text)` has scopes \(s)", file: file, line: line)
    }

    func testHighlightsTheConstructs() throws {
        let tm = try TextMate(json: try load())
        // comments
        assertScope(tm, "let x = 1 // note /a/ \"s\"", "note", "comment.line.double-slash")
        // declaration names
        assertScope(tm, "rule money when x => spam", "money", "entity.name.function.rule")
        assertScope(tm, "fn shouty(t: text) -> bool = true", "shouty", "entity.name.function")
        assertScope(tm, "let msg = lower(text)", "msg", "variable.other.definition")
        assertScope(tm, "const words = [\"a\"]", "words", "variable.other.constant")
        assertScope(tm, "score spam {", "spam", "entity.name.label")
        // labels
        assertScope(tm, "rule r when x => spam confidence 0.9", "spam", "entity.name.label")
        assertScope(tm, "otherwise => ham", "ham", "entity.name.label")
        assertScope(tm, "labels spam, ham", "ham", "entity.name.label")
        assertScope(tm, "labels yes,\n  no\nrule r when x => yes", "no", "entity.name.label")
        assertNoScope(tm, "labels yes, no\nrule r when x => yes", "r", "entity.name.label", occurrence: 1)
        // keywords
        assertScope(tm, "rule r when not a and b or c => x", "when", "keyword.control")
        assertScope(tm, "rule r when not a and b or c => x", "not", "keyword.operator.logical")
        assertScope(tm, "let n = if a then 1 else 2", "then", "keyword.control")
        assertScope(tm, "test \"x\" => a", "test", "keyword.other.declaration")
        assertScope(tm, "let b = true", "true", "constant.language.boolean")
        // strings and escapes
        assertScope(tm, #"test "caf\u{e9} \"q\"" => a"#, "caf", "string.quoted.double")
        assertScope(tm, #"test "caf\u{e9} \"q\"" => a"#, #"\u{e9}"#, "constant.character.escape")
        assertScope(tm, #"test "a\d" => a"#, #"\d"#, "invalid.illegal")
        // regex literals versus division
        assertScope(tm, "rule r when matches(t, /\\d+[/]x/i) => a", "\\d", "string.regexp")
        assertScope(tm, "rule r when matches(t, /\\d+[/]x/i) => a", "i)", "keyword.other.flag.regexp")
        assertScope(tm, "let r = if c then /a/ else /b/", "/a/", "string.regexp")
        assertScope(tm, "  /x/ when y", "/x/", "string.regexp")
        assertNoScope(tm, "let q = a / b / c", "b", "string.regexp")
        assertScope(tm, "let q = a / b / c", "/", "keyword.operator.arithmetic")
        assertNoScope(tm, "let q = (1) / 2 / 3", "2", "string.regexp")
        // numbers, built-ins, calls, types, operators
        assertScope(tm, "let n = 1_000.5e-3", "1_000", "constant.numeric")
        assertNoScope(tm, "let w2 = 1", "2", "constant.numeric")
        assertScope(tm, "let n = len(text)", "len", "support.function.builtin")
        assertScope(tm, "let n = has_url(text)", "has_url", "entity.name.function.call")
        assertScope(tm, "fn f(t: text, l: [text]) -> number = 1", "text", "support.type")
        assertScope(tm, "fn f(t: text, l: [text]) -> number = 1", "[text]", "support.type")
        assertScope(tm, "fn f(t: text, l: [text]) -> number = 1", "number", "support.type")
        assertScope(tm, "rule r when a >= 2 => x", ">=", "keyword.operator.comparison")
        assertScope(tm, "program sms_spam", "sms_spam", "entity.name.namespace")
        assertScope(tm, "use std.text", "text", "entity.name.namespace")
    }

    /// Every keyword in the example programs gets a keyword-like scope, and every regex
    /// literal the lexer finds is highlighted as one.
    func testExampleProgramsHighlightLikeTheLexer() throws {
        let tm = try TextMate(json: try load())
        for path in Repo.examplePrograms + Repo.stdlibModules {
            let text = try Repo.read(path)
            let file = SourceFile(name: path, text: text)
            let scopes = tm.scopes(text)
            // UTF-16 offset of a byte offset.
            func u16(_ byte: Int) -> Int { String(decoding: file.bytes[..<byte], as: UTF8.self).utf16.count }
            for t in Lexer.tokenize(file).tokens {
                let s = scopes.indices.contains(u16(t.range.start)) ? scopes[u16(t.range.start)] : []
                switch t.kind {
                case .regex:
                    XCTAssertTrue(s.contains { $0.hasPrefix("string.regexp") }, "\(path): regex at byte \(t.range.start) has \(s)")
                case .keyword(let k):
                    XCTAssertTrue(s.contains { $0.hasPrefix("keyword") || $0.hasPrefix("storage") || $0.hasPrefix("constant.language") },
                                  "\(path): keyword \(k) at byte \(t.range.start) has \(s)")
                case .string:
                    XCTAssertTrue(s.contains { $0.hasPrefix("string.quoted") }, "\(path): string at byte \(t.range.start) has \(s)")
                case .punct(.slash):
                    XCTAssertFalse(s.contains { $0.hasPrefix("string.regexp") }, "\(path): division at byte \(t.range.start) has \(s)")
                default: break
                }
            }
        }
    }
}
