import Foundation

/// ISO-style EBNF as used by Grammar/loop.ebnf: `name = alternatives ;`, `|`, `[ ]`, `{ }`, `( )`,
/// quoted terminals ('…' or "…", no escapes), `? … ?` special sequences, `a - b` exceptions,
/// `(* … *)` comments; concatenation by juxtaposition or `,`.
indirect enum EBNF: CustomStringConvertible {
    case terminal(String)
    case ref(String)
    case special(String)
    case seq([EBNF])
    case alt([EBNF])
    case opt(EBNF)
    case rep(EBNF)
    case except(EBNF, EBNF)

    var description: String {
        switch self {
        case .terminal(let s): return s.contains("\"") ? "'\(s)'" : "\"\(s)\""
        case .ref(let n): return n
        case .special(let s): return "? \(s) ?"
        case .seq(let xs): return xs.map(\.description).joined(separator: " ")
        case .alt(let xs): return "( " + xs.map(\.description).joined(separator: " | ") + " )"
        case .opt(let x): return "[ \(x) ]"
        case .rep(let x): return "{ \(x) }"
        case .except(let a, let b): return "\(a) - \(b)"
        }
    }

    /// Every terminal in the expression.
    var terminals: [String] {
        switch self {
        case .terminal(let s): return [s]
        case .ref, .special: return []
        case .seq(let xs), .alt(let xs): return xs.flatMap(\.terminals)
        case .opt(let x), .rep(let x): return x.terminals
        case .except(let a, let b): return a.terminals + b.terminals
        }
    }

    var references: [String] {
        switch self {
        case .ref(let n): return [n]
        case .terminal, .special: return []
        case .seq(let xs), .alt(let xs): return xs.flatMap(\.references)
        case .opt(let x), .rep(let x): return x.references
        case .except(let a, let b): return a.references + b.references
        }
    }
}

struct EBNFGrammar {
    var rules: [String: EBNF] = [:]
    var order: [String] = []

    /// Lexical rules are named in upper case; syntactic rules in lower case.
    static func isLexical(_ name: String) -> Bool { name.uppercased() == name }

    var syntacticRules: [String] { order.filter { !EBNFGrammar.isLexical($0) } }
    var lexicalRules: [String] { order.filter { EBNFGrammar.isLexical($0) } }

    struct ParseError: Error, CustomStringConvertible {
        var message: String
        var description: String { "EBNF: " + message }
    }

    static func parse(_ text: String) throws -> EBNFGrammar {
        var lx = EBNFLexer(Array(text.unicodeScalars))
        let toks = try lx.all()
        var p = EBNFParser(toks: toks)
        var g = EBNFGrammar()
        while !p.atEnd {
            let (name, body) = try p.rule()
            if g.rules[name] != nil { throw ParseError(message: "rule \(name) defined twice") }
            g.rules[name] = body
            g.order.append(name)
        }
        let undefined = Set(g.rules.values.flatMap(\.references)).subtracting(g.rules.keys)
        if !undefined.isEmpty { throw ParseError(message: "undefined rules: \(undefined.sorted())") }
        return g
    }
}

private enum EBNFToken: Equatable {
    case name(String), terminal(String), special(String), sym(Character)
}

private struct EBNFLexer {
    let s: [Unicode.Scalar]
    var i = 0
    init(_ s: [Unicode.Scalar]) { self.s = s }

    mutating func all() throws -> [EBNFToken] {
        var out: [EBNFToken] = []
        while true {
            while i < s.count, s[i].properties.isWhitespace { i += 1 }
            guard i < s.count else { return out }
            let c = Character(s[i])
            if c == "(" && i + 1 < s.count && s[i + 1] == "*" {
                i += 2
                while i + 1 < s.count, !(s[i] == "*" && s[i + 1] == ")") { i += 1 }
                guard i + 1 < s.count else { throw EBNFGrammar.ParseError(message: "unterminated comment") }
                i += 2
            } else if c == "\"" || c == "'" {
                let st = i + 1
                i += 1
                while i < s.count, Character(s[i]) != c, s[i] != "\n" { i += 1 }
                guard i < s.count, Character(s[i]) == c else { throw EBNFGrammar.ParseError(message: "unterminated terminal") }
                out.append(.terminal(String(String.UnicodeScalarView(s[st..<i]))))
                i += 1
            } else if c == "?" {
                let st = i + 1
                i += 1
                while i < s.count, s[i] != "?" { i += 1 }
                guard i < s.count else { throw EBNFGrammar.ParseError(message: "unterminated special sequence") }
                out.append(.special(String(String.UnicodeScalarView(s[st..<i])).trimmingCharacters(in: .whitespaces)))
                i += 1
            } else if c.isLetter || c == "_" {
                let st = i
                while i < s.count, Character(s[i]).isLetter || Character(s[i]).isNumber || s[i] == "_" { i += 1 }
                out.append(.name(String(String.UnicodeScalarView(s[st..<i]))))
            } else if "=|[]{}();-,".contains(c) {
                out.append(.sym(c))
                i += 1
            } else {
                throw EBNFGrammar.ParseError(message: "unexpected character \(c)")
            }
        }
    }
}

private struct EBNFParser {
    let toks: [EBNFToken]
    var i = 0
    var atEnd: Bool { i >= toks.count }
    func peek() -> EBNFToken? { i < toks.count ? toks[i] : nil }

    mutating func expect(_ c: Character) throws {
        guard peek() == .sym(c) else { throw EBNFGrammar.ParseError(message: "expected \(c) at token \(i): \(String(describing: peek()))") }
        i += 1
    }

    mutating func rule() throws -> (String, EBNF) {
        guard case .name(let n) = peek() else { throw EBNFGrammar.ParseError(message: "expected a rule name at token \(i)") }
        i += 1
        try expect("=")
        let body = try alternatives()
        try expect(";")
        return (n, body)
    }

    mutating func alternatives() throws -> EBNF {
        var alts = [try sequence()]
        while peek() == .sym("|") { i += 1; alts.append(try sequence()) }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    mutating func sequence() throws -> EBNF {
        var items: [EBNF] = []
        while let t = peek() {
            if t == .sym(",") { i += 1; continue }
            if case .sym(let c) = t, "|;)]}".contains(c) { break }
            var term = try factor()
            if peek() == .sym("-") { i += 1; term = .except(term, try factor()) }
            items.append(term)
        }
        if items.isEmpty { throw EBNFGrammar.ParseError(message: "empty sequence at token \(i)") }
        return items.count == 1 ? items[0] : .seq(items)
    }

    mutating func factor() throws -> EBNF {
        guard let t = peek() else { throw EBNFGrammar.ParseError(message: "unexpected end") }
        i += 1
        switch t {
        case .name(let n): return .ref(n)
        case .terminal(let s): return .terminal(s)
        case .special(let s): return .special(s)
        case .sym("("): let x = try alternatives(); try expect(")"); return x
        case .sym("["): let x = try alternatives(); try expect("]"); return .opt(x)
        case .sym("{"): let x = try alternatives(); try expect("}"); return .rep(x)
        default: throw EBNFGrammar.ParseError(message: "unexpected \(t) at token \(i - 1)")
        }
    }
}

// MARK: - Compiling

extension EBNFGrammar {
    /// The lexical rules compiled over characters. Special sequences: `U+XXXX` (one
    /// character) and `any Unicode scalar value`.
    func compileLexical() -> CompiledGrammar<CharClass> {
        let g = CompiledGrammar<CharClass>()
        func special(_ s: String) -> CharClass {
            if s.hasPrefix("U+"), let v = UInt32(s.dropFirst(2).prefix { $0.isHexDigit }, radix: 16) { return .char(v) }
            if s.lowercased().hasPrefix("any unicode") || s.lowercased().hasPrefix("any char") { return .anyChar }
            fatalError("unknown lexical special sequence ? \(s) ?")
        }
        func compile(_ e: EBNF) -> Int {
            switch e {
            case .terminal(let s):
                let parts = s.unicodeScalars.map { g.add(.term(.char($0.value))) }
                return parts.count == 1 ? parts[0] : g.add(.seq(parts))
            case .ref(let n): return g.add(.ref(g.rule(n)))
            case .special(let s): return g.add(.term(special(s)))
            case .seq(let xs): return g.add(.seq(xs.map(compile)))
            case .alt(let xs): return g.add(.alt(xs.map(compile)))
            case .opt(let x): return g.add(.opt(compile(x)))
            case .rep(let x): return g.add(.star(compile(x)))
            case .except(let a, let b): return g.add(.except(compile(a), compile(b)))
            }
        }
        for n in lexicalRules { g.define(n, compile(rules[n]!)) }
        return g
    }

    /// The syntactic rules compiled over tokens: a quoted terminal is one keyword or punctuation
    /// token with that text; an UPPER-CASE reference is one token whose text the lexical rule
    /// matches; `? any token ?` is any token; `? no space ?` asserts that the next token starts
    /// where the previous one ends.
    func compileSyntactic() -> CompiledGrammar<TokenTerm> {
        let g = CompiledGrammar<TokenTerm>()
        func compile(_ e: EBNF) -> Int {
            switch e {
            case .terminal(let s): return g.add(.term(.literal(s)))
            case .ref(let n):
                guard EBNFGrammar.isLexical(n) else { return g.add(.ref(g.rule(n))) }
                return g.add(.term(.lexical(n, id: lexicalRules.firstIndex(of: n)!)))
            case .special(let s):
                switch s.lowercased() {
                case "any token": return g.add(.term(.any))
                case "no space": return g.add(.assertion(.adjacent))
                default: fatalError("unknown syntactic special sequence ? \(s) ?")
                }
            case .seq(let xs): return g.add(.seq(xs.map(compile)))
            case .alt(let xs): return g.add(.alt(xs.map(compile)))
            case .opt(let x): return g.add(.opt(compile(x)))
            case .rep(let x): return g.add(.star(compile(x)))
            case .except(let a, let b): return g.add(.except(compile(a), compile(b)))
            }
        }
        for n in syntacticRules { g.define(n, compile(rules[n]!)) }
        return g
    }
}

enum TokenTerm: Hashable {
    case literal(String)
    case lexical(String, id: Int)
    case any
    case adjacent
}

/// A token as the token-level recognizer sees it.
struct TokenView {
    var text: String
    /// A keyword or punctuation token (as opposed to a name or a literal).
    var isLiteral: Bool
    /// No whitespace or comment between this token and the previous one.
    var adjacentToPrevious: Bool
    /// The first token on its line.
    var newlineBefore = false
}

/// Matches token sequences against the syntactic rules, using the lexical rules for UPPER-CASE
/// terminals (memoised per rule and text).
final class TokenRecognizer {
    let syntactic: CompiledGrammar<TokenTerm>
    let lexical: CompiledGrammar<CharClass>
    private var lexCache: [String: [String: Bool]] = [:]

    let lexicalRuleCount: Int

    init(_ g: EBNFGrammar) {
        syntactic = g.compileSyntactic()
        lexical = g.compileLexical()
        lexicalRuleCount = g.lexicalRules.count
    }

    func lexicalMatch(_ rule: String, _ text: String) -> Bool {
        if let v = lexCache[rule]?[text] { return v }
        let v = recognize(text, lexical, rule: rule).ok
        lexCache[rule, default: [:]][text] = v
        return v
    }

    /// Lexical matches per (rule id, token), computed on first use.
    private final class Table {
        var v: [Int8]
        init(_ n: Int) { v = Array(repeating: -1, count: n) }
    }

    func recognizer(_ toks: [TokenView]) -> Recognizer {
        let n = toks.count
        let table = Table(lexicalRuleCount * max(n, 1))
        let terms = syntactic.flat.terms
        return Recognizer(syntactic, count: n, term: { [unowned self] ti, i in
            switch terms[ti] {
            case .literal(let s): return toks[i].isLiteral && toks[i].text == s
            case .lexical(let r, let id):
                let k = id * n + i
                let c = table.v[k]
                if c >= 0 { return c == 1 }
                let ok = !toks[i].isLiteral && self.lexicalMatch(r, toks[i].text)
                table.v[k] = ok ? 1 : 0
                return ok
            case .any: return true
            case .adjacent: return false
            }
        }, assertion: { ti, i in
            guard case .adjacent = terms[ti] else { return true }
            return i < toks.count && toks[i].adjacentToPrevious
        })
    }

    func accepts(_ toks: [TokenView], rule: String) -> Bool { recognizer(toks).accepts(rule: rule) }
}
