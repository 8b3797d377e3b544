import LoopDiagnostics

/// Turns source bytes into tokens. Never fails: bad input becomes a diagnostic and lexing goes on.
public struct Lexer {
    public let file: SourceFile
    private let b: [UInt8]
    private var i = 0
    private var sawNewline = true
    private var lastWasOperand = false
    public private(set) var diagnostics: [Diagnostic] = []
    public private(set) var comments: [Comment] = []
    private var codeOnLine = false
    private var skippedComment = false

    public init(file: SourceFile) { self.file = file; self.b = file.bytes }

    /// Lex the whole file; the last token is always `.eof`.
    public static func tokenize(_ file: SourceFile) -> (tokens: [Token], comments: [Comment], diagnostics: [Diagnostic]) {
        var lx = Lexer(file: file)
        var out: [Token] = []
        while true {
            let t = lx.next()
            out.append(t)
            if t.kind == .eof { break }
        }
        return (out, lx.comments, lx.diagnostics)
    }

    private mutating func error(_ code: String, _ msg: String, _ s: Int, _ e: Int, label: String? = nil, hints: [String] = [], fixes: [FixIt] = []) {
        diagnostics.append(Diagnostic(.error, code, msg, file: file, range: SourceRange(s, e), label: label, hints: hints, fixes: fixes))
    }

    private func peek(_ k: Int = 0) -> UInt8 { i + k < b.count ? b[i + k] : 0 }

    public mutating func next() -> Token {
        skipTrivia()
        let nl = sawNewline
        sawNewline = false
        guard i < b.count else { return Token(kind: .eof, range: SourceRange(b.count, b.count), newlineBefore: true) }
        let start = i
        let c = b[i]
        codeOnLine = true
        var kind: TokenKind
        if isIdentStart(c) {
            while i < b.count, isIdentContinue(b[i]) { i += 1 }
            let word = String(decoding: b[start..<i], as: UTF8.self)
            if let k = Keyword.byName[word] { kind = .keyword(k) } else { kind = .identifier(word) }
            lastWasOperand = !(kind == .keyword(.and) || kind == .keyword(.or) || kind == .keyword(.not)
                || kind == .keyword(.when) || kind == .keyword(.if) || kind == .keyword(.then) || kind == .keyword(.else))
        } else if isDigit(c) {
            kind = lexNumber(start)
            lastWasOperand = true
        } else if c == UInt8(ascii: "\"") {
            kind = .string(lexString(start))
            lastWasOperand = true
        } else if c == UInt8(ascii: "/") && !lastWasOperand {
            kind = lexRegex(start)
            lastWasOperand = true
        } else if let p = lexPunct() {
            kind = .punct(p)
            lastWasOperand = (p == .rparen || p == .rbracket || p == .rbrace)
        } else {
            skippedComment = false
            let recoveredKind = recoverForeignSyntax(start)
            if skippedComment { return next() }
            if let recovered = recoveredKind {
                kind = recovered
                lastWasOperand = { if case .string = recovered { return true }; return false }()
                return Token(kind: kind, range: SourceRange(start, i), newlineBefore: nl)
            }
            // One whole UTF-8 sequence (or one bad byte) becomes one error, then lexing resumes.
            let len = utf8Length(c)
            i = min(b.count, i + max(1, len))
            let shown = String(decoding: b[start..<i], as: UTF8.self)
            var hints: [String] = []
            var fixes: [FixIt] = []
            switch shown {
            case "%": hints.append("Loop has no `%` operator")
            case ";":
                hints.append("Loop needs no semicolons; put each declaration on its own line")
                fixes.append(FixIt(range: SourceRange(start, i), replacement: "", message: "remove the semicolon"))
            default: break
            }
            let scalar = shown.unicodeScalars.first
            let display: String
            if let sc = scalar, sc.value >= 0x20, sc.value != 0x7F, sc != "\u{FFFD}" { display = String(sc) }
            else if len == 1 || scalar == "\u{FFFD}" { display = "\\x" + String(format: "%02X", b[start]) }
            else { display = "\\u{" + String(scalar!.value, radix: 16) + "}" }
            error("E0103", "unexpected character `\(display)`", start, i, label: "not part of the language", hints: hints, fixes: fixes)
            return next()
        }
        return Token(kind: kind, range: SourceRange(start, i), newlineBefore: nl)
    }

    /// Syntax from other languages (`&&`, `||`, `!`, `#` comments, quotes, `→`): one error with a
    /// fix, then the token Loop would have had, so the parser reports nothing more.
    private mutating func recoverForeignSyntax(_ start: Int) -> TokenKind? {
        let c = b[start]
        func sub(_ n: Int, _ message: String, _ replacement: String, _ kind: TokenKind) -> TokenKind {
            i = start + n
            error("E0103", message, start, i, label: "not Loop syntax",
                  fixes: [FixIt(range: SourceRange(start, i), replacement: replacement, message: "write `\(replacement)`")])
            return kind
        }
        if c == UInt8(ascii: "&") && peek(1) == UInt8(ascii: "&") { return sub(2, "`&&` is written `and` in Loop", "and", .keyword(.and)) }
        if c == UInt8(ascii: "|") && peek(1) == UInt8(ascii: "|") { return sub(2, "`||` is written `or` in Loop", "or", .keyword(.or)) }
        if c == UInt8(ascii: "&") { return sub(1, "`&` is written `and` in Loop", "and", .keyword(.and)) }
        if c == UInt8(ascii: "|") { return sub(1, "`|` is written `or` in Loop", "or", .keyword(.or)) }
        if c == UInt8(ascii: "!") { return sub(1, "`!` is written `not` in Loop", "not ", .keyword(.not)) }
        if c == 0xE2 && peek(1) == 0x86 && peek(2) == 0x92 { return sub(3, "`→` is written `=>` in Loop", "=>", .punct(.fatArrow)) }
        if c == UInt8(ascii: "#") {
            var e = start
            while e < b.count, b[e] != UInt8(ascii: "\n") { e += 1 }
            error("E0103", "comments start with `//`, not `#`", start, start + 1, label: "not a comment in Loop",
                  fixes: [FixIt(range: SourceRange(start, start + 1), replacement: "//", message: "write `//`")])
            comments.append(Comment(range: SourceRange(start, e), text: "//" + String(decoding: b[(start + 1)..<e], as: UTF8.self), trailing: codeOnLine))
            i = e
            skippedComment = true
            return nil
        }
        // 'text' or “text”: a text literal with the wrong quotes.
        let open: [UInt8], close: [UInt8]
        if c == UInt8(ascii: "'") { open = [c]; close = [c] }
        else if c == 0xE2 && peek(1) == 0x80 && (peek(2) == 0x9C || peek(2) == 0x9D) { open = [0xE2, 0x80, peek(2)]; close = [0xE2, 0x80, 0x9D] }
        else { return nil }
        var e = start + open.count
        while e < b.count, b[e] != UInt8(ascii: "\n") {
            if Array(b[e..<min(b.count, e + close.count)]) == close || (close.count == 3 && Array(b[e..<min(b.count, e + 3)]) == [0xE2, 0x80, 0x9C]) {
                let body = Array(b[(start + open.count)..<e])
                i = e + close.count
                let text = String(decoding: body, as: UTF8.self)
                error("E0103", "text literals use plain double quotes", start, i, label: "wrong quotes",
                      fixes: [FixIt(range: SourceRange(start, i), replacement: Formatter.quote(text), message: "use double quotes")])
                return .string(text)
            }
            e += 1
        }
        return nil
    }

    private mutating func skipTrivia() {
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\n") { sawNewline = true; codeOnLine = false; i += 1 }
            else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") || c == 0x0C { i += 1 }
            else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/") {
                let s = i
                while i < b.count, b[i] != UInt8(ascii: "\n") { i += 1 }
                var e = i
                while e > s, b[e - 1] == UInt8(ascii: "\r") || b[e - 1] == UInt8(ascii: " ") { e -= 1 }
                comments.append(Comment(range: SourceRange(s, e), text: String(decoding: b[s..<e], as: UTF8.self), trailing: codeOnLine))
            } else { break }
        }
    }

    private func isIdentStart(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 }
    private func isIdentContinue(_ c: UInt8) -> Bool { isIdentStart(c) || isDigit(c) }
    private func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private func utf8Length(_ c: UInt8) -> Int { c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1 }

    private mutating func lexNumber(_ start: Int) -> TokenKind {
        while i < b.count, isDigit(b[i]) || b[i] == UInt8(ascii: "_") { i += 1 }
        if peek() == UInt8(ascii: "."), isDigit(peek(1)) {
            i += 1
            while i < b.count, isDigit(b[i]) || b[i] == UInt8(ascii: "_") { i += 1 }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            let save = i
            i += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
            if isDigit(peek()) { while i < b.count, isDigit(b[i]) { i += 1 } } else { i = save }
        }
        // A letter glued to a number (`3x`) is a mistake worth naming.
        if i < b.count, isIdentStart(b[i]) {
            let s = i
            while i < b.count, isIdentContinue(b[i]) { i += 1 }
            error("E0105", "invalid number literal `\(String(decoding: b[start..<i], as: UTF8.self))`", start, i,
                  label: "letters cannot follow a number", hints: ["put a space or an operator between `\(String(decoding: b[start..<s], as: UTF8.self))` and `\(String(decoding: b[s..<i], as: UTF8.self))`"])
            return .number(0)
        }
        let text = b[start..<i].contains(UInt8(ascii: "_"))
            ? String(decoding: b[start..<i].filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
            : String(decoding: b[start..<i], as: UTF8.self)
        guard let v = Double(text), v.isFinite else {
            error("E0105", "number literal `\(text)` is out of range", start, i, label: "not a finite number")
            return .number(0)
        }
        return .number(v)
    }

    private mutating func lexString(_ start: Int) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count, b[i] != UInt8(ascii: "\n") else {
                error("E0101", "unterminated text literal", start, i, label: "this text has no closing quote",
                      hints: ["text literals end on the line they start on; close it with `\"`"],
                      fixes: [FixIt(range: SourceRange(i, i), replacement: "\"", message: "close the text")])
                return String(decoding: out, as: UTF8.self)
            }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c == UInt8(ascii: "\\") {
                let es = i
                i += 1
                let e = peek()
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "\\"): out.append(92)
                case UInt8(ascii: "\""): out.append(34)
                case UInt8(ascii: "u") where peek() == UInt8(ascii: "{"):
                    i += 1
                    let hs = i
                    while i < b.count, b[i] != UInt8(ascii: "}"), i - hs < 8, b[i] != UInt8(ascii: "\"") { i += 1 }
                    let hex = String(decoding: b[hs..<i], as: UTF8.self)
                    let closed = peek() == UInt8(ascii: "}")
                    if closed { i += 1 }
                    if closed, !hex.isEmpty, hex.allSatisfy(\.isHexDigit), let v = UInt32(hex, radix: 16), let sc = Unicode.Scalar(v) {
                        out.append(contentsOf: Array(String(Character(sc)).utf8))
                    } else {
                        error("E0102", "invalid unicode escape `\\u{\(hex)}`", es, i, label: "not a Unicode scalar value",
                              hints: ["write 1 to 6 hex digits of a scalar value, e.g. `\\u{e9}` for é"])
                    }
                default:
                    let shown = e == 0 ? "" : String(decoding: [e], as: UTF8.self)
                    error("E0102", "unknown escape `\\\(shown)` in text literal", es, min(i, b.count), label: "unknown escape",
                          hints: ["the escapes are \\n \\t \\r \\\\ \\\" and \\u{HEX}; regex escapes such as \\d belong in /regex/ literals"])
                }
                continue
            }
            out.append(c)
            i += 1
        }
        // The whole file is valid UTF-8 (checked before lexing, E0107), so the literal is too.
        let bytes = out
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func lexRegex(_ start: Int) -> TokenKind {
        i += 1
        var inClass = false
        let ps = i
        while true {
            guard i < b.count, b[i] != UInt8(ascii: "\n") else {
                error("E0104", "unterminated regex literal", start, i, label: "this regex has no closing `/`",
                      hints: ["a regex literal is /pattern/ with optional flag `i`; escape a slash inside it as `\\/`"])
                return .regex(pattern: String(decoding: b[ps..<i], as: UTF8.self), flags: "")
            }
            let c = b[i]
            if c == UInt8(ascii: "\\") {
                // A backslash escapes the next character, but never a line break or the end of the file.
                i += (i + 1 < b.count && b[i + 1] != UInt8(ascii: "\n")) ? 2 : 1
                continue
            }
            if c == UInt8(ascii: "[") { inClass = true }
            else if c == UInt8(ascii: "]") { inClass = false }
            else if c == UInt8(ascii: "/") && !inClass { break }
            i += 1
        }
        let pattern = String(decoding: b[ps..<min(i, b.count)], as: UTF8.self)
        i += 1
        let fs = i
        while i < b.count, isIdentContinue(b[i]) { i += 1 }
        let flags = String(decoding: b[fs..<i], as: UTF8.self)
        return .regex(pattern: pattern, flags: flags)
    }

    private mutating func lexPunct() -> Punct? {
        let c = b[i], n = peek(1)
        func two(_ p: Punct) -> Punct { i += 2; return p }
        func one(_ p: Punct) -> Punct { i += 1; return p }
        switch c {
        case UInt8(ascii: "="): return n == UInt8(ascii: ">") ? two(.fatArrow) : n == UInt8(ascii: "=") ? two(.eq) : one(.assign)
        case UInt8(ascii: "-"): return n == UInt8(ascii: ">") ? two(.arrow) : one(.minus)
        case UInt8(ascii: "!"): return n == UInt8(ascii: "=") ? two(.ne) : nil
        case UInt8(ascii: "<"): return n == UInt8(ascii: "=") ? two(.le) : one(.lt)
        case UInt8(ascii: ">"): return n == UInt8(ascii: "=") ? two(.ge) : one(.gt)
        case UInt8(ascii: "("): return one(.lparen)
        case UInt8(ascii: ")"): return one(.rparen)
        case UInt8(ascii: "["): return one(.lbracket)
        case UInt8(ascii: "]"): return one(.rbracket)
        case UInt8(ascii: "{"): return one(.lbrace)
        case UInt8(ascii: "}"): return one(.rbrace)
        case UInt8(ascii: ","): return one(.comma)
        case UInt8(ascii: ":"): return one(.colon)
        case UInt8(ascii: "."): return one(.dot)
        case UInt8(ascii: "+"): return one(.plus)
        case UInt8(ascii: "*"): return one(.star)
        case UInt8(ascii: "/"): return one(.slash)
        default: return nil
        }
    }
}
