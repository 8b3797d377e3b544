import LoopDiagnostics

/// Recursive-descent parser with panic-mode recovery: after an error it skips to the next line
/// that starts a declaration, so one run reports every independent error without cascades.
public struct Parser {
    public static let maxDepth = 128

    let file: SourceFile
    var tokens: [Token]
    var pos = 0
    var diags: [Diagnostic] = []
    var depth = 0
    /// Inside a score block a `-` that starts a line starts the next term.
    var termMode = false
    /// Set once an error was reported in the current declaration, to avoid follow-on errors.
    var poisoned = false

    struct Bail: Error {}

    public init(file: SourceFile, tokens: [Token]) { self.file = file; self.tokens = tokens }

    /// Lex and parse a file. Diagnostics of both stages come back together, in source order.
    public static func parse(_ file: SourceFile) -> (unit: SourceUnit, diagnostics: [Diagnostic]) {
        if let bad = firstNonText(file.bytes) {
            let d = Diagnostic(.error, "E0107", "this file is not UTF-8 text", file: file, range: SourceRange(bad, bad + 1),
                               label: String(format: "byte 0x%02X", file.bytes[bad]),
                               hints: ["a .loop program is UTF-8 text; check that the right file was given"])
            return (SourceUnit(file: file, decls: [], comments: []), [d])
        }
        let lexed = Lexer.tokenize(file)
        var p = Parser(file: file, tokens: lexed.tokens)
        let decls = p.parseFile()
        return (SourceUnit(file: file, decls: decls, comments: lexed.comments), lexed.diagnostics + p.diags)
    }

    /// Offset of the first byte that makes the file binary: invalid UTF-8, NUL or another control
    /// character other than tab, newline, carriage return and form feed.
    static func firstNonText(_ b: [UInt8]) -> Int? {
        var i = 0
        return b.withUnsafeBufferPointer { p -> Int? in
            while i < p.count {
                let c = p[i]
                if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D && c != 0x0C { return i }
                if c == 0x7F { return i }
                if c < 0x80 { i += 1; continue }
                var n = 0
                if c >= 0xC2 && c <= 0xDF { n = 1 } else if c >= 0xE0 && c <= 0xEF { n = 2 } else if c >= 0xF0 && c <= 0xF4 { n = 3 } else { return i }
                for k in 1...n where i + k >= p.count || p[i + k] & 0xC0 != 0x80 { return i }
                let v: UInt32 = n == 1 ? 0 : n == 2 ? (UInt32(c & 0x0F) << 12) | (UInt32(p[i + 1] & 0x3F) << 6) | UInt32(p[i + 2] & 0x3F)
                    : (UInt32(c & 0x07) << 18) | (UInt32(p[i + 1] & 0x3F) << 12) | (UInt32(p[i + 2] & 0x3F) << 6) | UInt32(p[i + 3] & 0x3F)
                if n == 2 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) { return i }
                if n == 3 && (v < 0x10000 || v > 0x10FFFF) { return i }
                i += n + 1
            }
            return nil
        }
    }

    // MARK: tokens

    var tok: Token { tokens[pos] }
    func peekKind(_ k: Int = 1) -> TokenKind { tokens[min(pos + k, tokens.count - 1)].kind }
    mutating func advance() -> Token { let t = tokens[pos]; if pos < tokens.count - 1 { pos += 1 }; return t }
    func at(_ p: Punct) -> Bool { tok.kind == .punct(p) }
    func at(_ k: Keyword) -> Bool { tok.kind == .keyword(k) }
    var prevEnd: Int { pos > 0 ? tokens[pos - 1].range.end : 0 }

    mutating func eat(_ p: Punct) -> Bool { if at(p) { _ = advance(); return true }; return false }
    mutating func eat(_ k: Keyword) -> Bool { if at(k) { _ = advance(); return true }; return false }

    mutating func fail(_ code: String, _ message: String, at range: SourceRange? = nil, label: String? = nil,
                       hints: [String] = [], fixes: [FixIt] = []) -> Bail {
        if !poisoned {
            diags.append(Diagnostic(.error, code, message, file: file, range: range ?? tok.range, label: label, hints: hints, fixes: fixes))
        }
        poisoned = true
        return Bail()
    }

    mutating func expect(_ p: Punct, _ what: String) throws {
        if eat(p) { return }
        var hints: [String] = []
        var fixes: [FixIt] = []
        if p == .fatArrow, at(.assign) || at(.arrow) || at(.ge) {
            hints.append("a rule's label follows `=>`")
            fixes.append(FixIt(range: tok.range, replacement: "=>", message: "write `=>`"))
        } else if p == .assign, at(.eq) {
            fixes.append(FixIt(range: tok.range, replacement: "=", message: "a definition uses a single `=`"))
        } else if [.rparen, .rbracket, .rbrace].contains(p) {
            hints.append("check that every opening bracket has its closing one")
        }
        if fixes.isEmpty, [.rparen, .rbracket, .rbrace, .fatArrow, .assign, .colon].contains(p) {
            fixes.append(FixIt(range: SourceRange(prevEnd, prevEnd), replacement: p == .fatArrow || p == .assign ? " \(p.rawValue)" : p.rawValue, message: "insert `\(p.rawValue)`"))
        }
        throw fail("E0201", "expected `\(p.rawValue)` \(what), found \(tok.display)", label: "expected `\(p.rawValue)`", hints: hints, fixes: fixes)
    }

    mutating func expectIdent(_ what: String) throws -> Ident {
        if case .identifier(let s) = tok.kind { let t = advance(); return Ident(s, t.range) }
        if case .keyword(let k) = tok.kind {
            throw fail("E0202", "`\(k.rawValue)` is a reserved word and cannot be used as \(what)", label: "reserved word",
                       hints: ["choose another name, e.g. `\(k.rawValue)_`"])
        }
        throw fail("E0201", "expected \(what), found \(tok.display)", label: "expected a name")
    }

    // MARK: declarations

    static let declStarts: [Keyword] = [.program, .module, .input, .labels, .use, .const, .let, .fn, .rule, .score, .otherwise, .test]

    mutating func parseFile() -> [Decl] {
        var decls: [Decl] = []
        while tok.kind != .eof {
            poisoned = false
            let before = pos
            do {
                decls.append(try parseDecl())
            } catch {
                synchronize(from: before)
            }
        }
        return decls
    }

    /// Skip to the next token that starts a declaration at the start of a line.
    mutating func synchronize(from start: Int) {
        if pos == start { _ = advance() }
        while tok.kind != .eof {
            if tok.newlineBefore {
                if case .keyword(let k) = tok.kind, Parser.declStarts.contains(k) { return }
                // A name in the first column followed by a name reads like a misspelled declaration keyword.
                if case .identifier = tok.kind, file.location(of: tok.range.start).column == 1, case .identifier = peekKind() { return }
            }
            _ = advance()
        }
    }

    mutating func parseDecl() throws -> Decl {
        let start = tok.range.start
        guard case .keyword(let k) = tok.kind, Parser.declStarts.contains(k) else {
            var hints: [String] = []
            var fixes: [FixIt] = []
            if case .identifier(let s) = tok.kind {
                let alias: [String: String] = ["label": "labels", "rules": "rule", "else": "otherwise", "default": "otherwise",
                                               "fallback": "otherwise", "import": "use", "def": "fn", "func": "fn", "function": "fn",
                                               "var": "let", "val": "let", "scores": "score", "tests": "test", "if": "rule"]
                let near = alias[s].map { [$0] } ?? suggestions(for: s, among: Parser.declStarts.map(\.rawValue), limit: 1)
                if let n = near.first {
                    hints.append("did you mean `\(n)`?")
                    fixes.append(FixIt(range: tok.range, replacement: n, message: "replace `\(s)` with `\(n)`"))
                }
            }
            hints.append("a declaration starts with one of: " + Parser.declStarts.map { "`\($0.rawValue)`" }.joined(separator: ", "))
            throw fail("E0202", "expected a declaration, found \(tok.display)", label: "not a declaration", hints: hints, fixes: fixes)
        }
        _ = advance()
        let kind: DeclKind
        switch k {
        case .program:
            let name = try expectIdent("a program name")
            kind = .program(name, description: parseOptionalDescription())
        case .module:
            var path = [try expectIdent("a module name")]
            while eat(.dot) { path.append(try expectIdent("a module name")) }
            kind = .module(path, description: parseOptionalDescription())
        case .input:
            kind = .input(try parseInputShape())
        case .labels:
            var names = [try expectIdent("a label name")]
            var display = [try parseLabelName()]
            while eat(.comma) {
                names.append(try expectIdent("a label name"))
                display.append(try parseLabelName())
            }
            kind = .labels(names, names: display)
        case .use:
            var path = [try expectIdent("a module name")]
            while eat(.dot) { path.append(try expectIdent("a module name")) }
            kind = .use(path)
        case .const, .let:
            let name = try expectIdent("a name")
            try expect(.assign, "after the name")
            let e = try parseExpr()
            kind = k == .const ? .const(name, e) : .let(name, e)
        case .fn:
            let name = try expectIdent("a function name")
            try expect(.lparen, "to start the parameter list")
            var params: [Param] = []
            if !at(.rparen) {
                repeat {
                    if at(.rparen) { break }
                    let pn = try expectIdent("a parameter name")
                    try expect(.colon, "before the parameter's type")
                    params.append(Param(name: pn, type: try parseType()))
                } while eat(.comma)
            }
            try expect(.rparen, "to close the parameter list")
            try expect(.arrow, "before the return type")
            let ret = try parseType()
            try expect(.assign, "before the function body")
            kind = .fn(name, params, ret, try parseExpr())
        case .rule:
            let name = try expectIdent("a rule name")
            if !eat(.when) {
                throw fail("E0201", "expected `when` after the rule name, found \(tok.display)", label: "expected `when`",
                           hints: ["a rule reads: rule NAME when CONDITION => LABEL"])
            }
            let cond = try parseExpr()
            try expect(.fatArrow, "before the rule's label")
            let label = try expectIdent("a label")
            kind = .rule(name, cond, label: label, confidence: try parseOptionalConfidence())
        case .score:
            let label = try expectIdent("a label")
            try expect(.lbrace, "to open the score block")
            var terms: [ScoreTerm] = []
            while !at(.rbrace) && tok.kind != .eof {
                if case .keyword(let kk) = tok.kind, Parser.declStarts.contains(kk), tok.newlineBefore { break }
                let saved = termMode
                termMode = true
                defer { termMode = saved }
                let v = try parseExpr()
                var c: Expr? = nil
                if eat(.when) { c = try parseExpr() }
                terms.append(ScoreTerm(value: v, condition: c, range: SourceRange(v.range.start, prevEnd)))
                _ = eat(.comma)
            }
            try expect(.rbrace, "to close the score block")
            kind = .score(label, terms)
        case .otherwise:
            try expect(.fatArrow, "after `otherwise`")
            let label = try expectIdent("a label")
            kind = .otherwise(label: label, confidence: try parseOptionalConfidence())
        case .test:
            let input: TestInput
            if at(.lbrace) && isRecordLiteralAhead() {
                _ = advance()
                var fields: [(name: Ident, value: Expr)] = []
                while !at(.rbrace) {
                    let n = try expectIdent("a field name")
                    try expect(.colon, "after the field name")
                    fields.append((n, try parseExpr()))
                    if !eat(.comma) { break }
                }
                try expect(.rbrace, "to close the test record")
                input = .record(fields)
            } else {
                input = .value(try parseExpr())
            }
            try expect(.fatArrow, "before the expected label")
            kind = .test(input, label: try expectIdent("the expected label"))
        default:
            throw fail("E0202", "expected a declaration", label: "not a declaration")
        }
        return Decl(kind, SourceRange(start, prevEnd))
    }

    func isRecordLiteralAhead() -> Bool {
        if case .identifier = peekKind(1), peekKind(2) == .punct(.colon) { return true }
        return peekKind(1) == .punct(.rbrace)
    }

    /// `as "the application's string"` after a label.
    mutating func parseLabelName() throws -> LabelName? {
        guard eat(.as) else { return nil }
        guard case .string(let s) = tok.kind else {
            throw fail("E0201", "expected the label's string after `as`, found \(tok.display)", label: "expected a string",
                       hints: ["write the application's name for the label in quotes, e.g. `not_spam as \"not spam\"`"])
        }
        let t = advance()
        return LabelName(s, t.range)
    }

    mutating func parseOptionalDescription() -> String? {
        if case .string(let s) = tok.kind { _ = advance(); return s }
        return nil
    }

    mutating func parseOptionalConfidence() throws -> Expr? {
        guard eat(.confidence) else { return nil }
        return try parseUnary()
    }

    mutating func parseType() throws -> TypeRef {
        let s = tok.range.start
        if eat(.lbracket) {
            let inner = try expectIdent("an element type")
            try expect(.rbracket, "to close the list type")
            if inner.name != "text" {
                throw fail("E0403", "lists hold text only; `[\(inner.name)]` is not a type", at: SourceRange(s, prevEnd),
                           label: "unsupported list type", fixes: [FixIt(range: inner.range, replacement: "text", message: "use `[text]`")])
            }
            return TypeRef(name: "list", range: SourceRange(s, prevEnd))
        }
        let id = try expectIdent("a type")
        return TypeRef(name: id.name, range: id.range)
    }

    mutating func parseInputShape() throws -> InputShape {
        if eat(.lbrace) {
            var fields: [(name: Ident, type: TypeRef)] = []
            while !at(.rbrace) {
                let n = try expectIdent("a field name")
                try expect(.colon, "after the field name")
                fields.append((n, try parseType()))
                if !eat(.comma) { break }
            }
            try expect(.rbrace, "to close the input record")
            return .record(fields)
        }
        let n = try expectIdent("the input's name")
        try expect(.colon, "before the input's type")
        return .single(n, try parseType())
    }

    // MARK: expressions

    public mutating func parseExpr() throws -> Expr {
        depth += 1
        defer { depth -= 1 }
        if depth > Parser.maxDepth {
            throw fail("E0204", "expression nested too deeply (more than \(Parser.maxDepth) levels)", label: "too deep",
                       hints: ["split the expression with `let` bindings or functions"])
        }
        return try parseBinary(minPrec: 1)
    }

    func binaryOp(_ t: Token) -> BinaryOp? {
        switch t.kind {
        case .keyword(.or): return .or
        case .keyword(.and): return .and
        case .punct(let p):
            switch p {
            case .eq: return .eq
            case .ne: return .ne
            case .lt: return .lt
            case .le: return .le
            case .gt: return .gt
            case .ge: return .ge
            case .plus: return .add
            case .minus: return termMode && t.newlineBefore ? nil : .sub
            case .star: return .mul
            case .slash: return .div
            default: return nil
            }
        default: return nil
        }
    }

    /// Operators in one chain (`a + b + c ...`) each deepen the tree by one level.
    public static let maxChain = 400
    var chain = 0

    mutating func parseBinary(minPrec: Int) throws -> Expr {
        var lhs = try parseUnaryOrNot()
        let chainStart = chain
        defer { chain = chainStart }
        while let op = binaryOp(tok), op.precedence >= minPrec {
            chain += 1
            if chain > Parser.maxChain {
                throw fail("E0204", "expression too long (more than \(Parser.maxChain) operators in a row)", label: "too long",
                           hints: ["split the condition into `let` bindings or functions, or use a keyword list with `contains_any`"])
            }
            let opTok = advance()
            let rhs = try parseBinary(minPrec: op.precedence + 1)
            if op.precedence == 4, case .binary(let inner, _, _) = lhs.kind, inner.precedence == 4 {
                throw fail("E0205", "comparisons cannot be chained", at: opTok.range, label: "second comparison",
                           hints: ["combine two comparisons with `and`: `a < b and b < c`"])
            }
            lhs = Expr(.binary(op, lhs, rhs), SourceRange(lhs.range.start, rhs.range.end))
        }
        if at(.assign) {
            throw fail("E0201", "`=` is not a comparison", label: "use `==` to compare",
                       fixes: [FixIt(range: tok.range, replacement: "==", message: "compare with `==`")])
        }
        return lhs
    }

    mutating func parseUnaryOrNot() throws -> Expr {
        if at(.not) {
            let s = advance().range.start
            depth += 1
            defer { depth -= 1 }
            if depth > Parser.maxDepth { throw fail("E0204", "expression nested too deeply (more than \(Parser.maxDepth) levels)", label: "too deep") }
            // `not` binds looser than comparison: `not a == b` is `not (a == b)`.
            let e = try parseBinary(minPrec: 4)
            return Expr(.unary(.not, e), SourceRange(s, e.range.end))
        }
        return try parseUnary()
    }

    mutating func parseUnary() throws -> Expr {
        if at(.minus) {
            let s = advance().range.start
            depth += 1
            defer { depth -= 1 }
            if depth > Parser.maxDepth { throw fail("E0204", "expression nested too deeply (more than \(Parser.maxDepth) levels)", label: "too deep") }
            let e = try parseUnary()
            return Expr(.unary(.neg, e), SourceRange(s, e.range.end))
        }
        return try parsePrimary()
    }

    mutating func nested<T>(_ body: (inout Parser) throws -> T) throws -> T {
        let saved = termMode
        termMode = false
        defer { termMode = saved }
        depth += 1
        defer { depth -= 1 }
        if depth > Parser.maxDepth {
            throw fail("E0204", "expression nested too deeply (more than \(Parser.maxDepth) levels)", label: "too deep",
                       hints: ["split the expression with `let` bindings or functions"])
        }
        return try body(&self)
    }

    mutating func parsePrimary() throws -> Expr {
        let t = tok
        switch t.kind {
        case .number(let v): _ = advance(); return Expr(.number(v), t.range)
        case .string(let s): _ = advance(); return Expr(.string(s), t.range)
        case .regex(let p, let f): _ = advance(); return Expr(.regex(pattern: p, flags: f), t.range)
        case .keyword(.true): _ = advance(); return Expr(.bool(true), t.range)
        case .keyword(.false): _ = advance(); return Expr(.bool(false), t.range)
        case .identifier(let s):
            _ = advance()
            let id = Ident(s, t.range)
            if at(.lparen) && tok.range.start == t.range.end {
                _ = advance()
                let args: [Expr] = try nested { p in
                    var args: [Expr] = []
                    if !p.at(.rparen) {
                        repeat {
                            if p.at(.rparen) { break }
                            args.append(try p.parseExpr())
                        } while p.eat(.comma)
                    }
                    try p.expect(.rparen, "to close the argument list of `\(s)`")
                    return args
                }
                return Expr(.call(id, args), SourceRange(t.range.start, prevEnd))
            }
            return Expr(.name(id), t.range)
        case .punct(.lparen):
            _ = advance()
            let e = try nested { p in try p.parseExpr() }
            try nested { p in try p.expect(.rparen, "to close the parenthesis") }
            return Expr(.paren(e), SourceRange(t.range.start, prevEnd))
        case .punct(.lbracket):
            _ = advance()
            let items: [Expr] = try nested { p in
                var items: [Expr] = []
                while !p.at(.rbracket) {
                    items.append(try p.parseExpr())
                    if !p.eat(.comma) { break }
                }
                try p.expect(.rbracket, "to close the list")
                return items
            }
            return Expr(.list(items), SourceRange(t.range.start, prevEnd))
        case .punct(.lbrace):
            _ = advance()
            let entries: [(key: Expr, value: Expr)] = try nested { p in
                var entries: [(key: Expr, value: Expr)] = []
                while !p.at(.rbrace) {
                    let k = try p.parseExpr()
                    try p.expect(.colon, "between a table key and its weight")
                    entries.append((k, try p.parseExpr()))
                    if !p.eat(.comma) { break }
                }
                try p.expect(.rbrace, "to close the table")
                return entries
            }
            return Expr(.table(entries), SourceRange(t.range.start, prevEnd))
        case .keyword(.if):
            // `if` extends as far right as it can: `if c then a else b + 1` is `if c then a else (b + 1)`.
            let s = advance().range.start
            let c = try nested { p in try p.parseExpr() }
            if !eat(.then) { throw fail("E0201", "expected `then` after the condition of `if`, found \(tok.display)", label: "expected `then`", hints: ["an if-expression reads: if COND then A else B"]) }
            let a = try nested { p in try p.parseExpr() }
            if !eat(.else) { throw fail("E0201", "expected `else` in the if-expression, found \(tok.display)", label: "expected `else`", hints: ["every `if` needs an `else`: the expression must always have a value"]) }
            let saved = termMode
            let b = try parseExpr()
            termMode = saved
            return Expr(.ifElse(c, a, b), SourceRange(s, b.range.end))
        case .eof:
            throw fail("E0201", "expected an expression, found the end of the file", label: "the file ends here")
        default:
            var hints: [String] = []
            if case .keyword(let k) = t.kind, Parser.declStarts.contains(k) {
                hints.append("the previous declaration seems incomplete")
            }
            if t.kind == .punct(.slash) { hints.append("a regex literal cannot start here; put it where a value is expected") }
            throw fail("E0201", "expected an expression, found \(t.display)", label: "expected an expression", hints: hints)
        }
    }
}
