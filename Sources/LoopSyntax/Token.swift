import LoopDiagnostics

/// The kinds of token of the Loop language. Keywords are reserved; type names (`text`, `number`,
/// `bool`, `regex`, `table`) are ordinary identifiers that mean a type only in type position.
public enum TokenKind: Equatable, Sendable {
    case identifier(String)
    case keyword(Keyword)
    /// A number literal, already converted.
    case number(Double)
    /// A string literal, escapes decoded.
    case string(String)
    /// A regex literal `/pattern/flags`, pattern kept raw (escapes are the regex's own).
    case regex(pattern: String, flags: String)
    case punct(Punct)
    case eof
}

/// Reserved words. The list is mirrored by Grammar/loop.ebnf and checked by a test.
public enum Keyword: String, CaseIterable, Sendable {
    case program, module, input, labels, `as`, use, const, `let`, fn, rule, when, score, otherwise, test
    case confidence, and, or, not, `if`, then, `else`, `true`, `false`

    /// The lexer's lookup (a hash table rather than the comparisons of `init(rawValue:)`).
    static let byName: [String: Keyword] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0) })
}

/// Punctuation and operators.
public enum Punct: String, CaseIterable, Sendable {
    case lparen = "(", rparen = ")", lbracket = "[", rbracket = "]", lbrace = "{", rbrace = "}"
    case comma = ",", colon = ":", dot = ".", fatArrow = "=>", arrow = "->", assign = "="
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case plus = "+", minus = "-", star = "*", slash = "/"
}

/// A token with its byte range; `newlineBefore` lets the parser end a score term at a line
/// that starts with `-` (see Docs/language.md, "Score blocks").
public struct Token: Sendable, Equatable {
    public var kind: TokenKind
    public var range: SourceRange
    public var newlineBefore: Bool
    public init(kind: TokenKind, range: SourceRange, newlineBefore: Bool) {
        self.kind = kind; self.range = range; self.newlineBefore = newlineBefore
    }

    /// How the token reads in a message: `keyword \`rule\``, `identifier \`x\``, `\`,\``.
    public var display: String {
        switch kind {
        case .identifier(let s): return "identifier `\(s)`"
        case .keyword(let k): return "keyword `\(k.rawValue)`"
        case .number: return "a number"
        case .string: return "a string"
        case .regex: return "a regex"
        case .punct(let p): return "`\(p.rawValue)`"
        case .eof: return "the end of the file"
        }
    }
}

/// A comment kept for the formatter, which must never drop one.
public struct Comment: Sendable, Equatable {
    public var range: SourceRange
    public var text: String
    /// True when code precedes the comment on its line (a trailing comment).
    public var trailing: Bool
}
