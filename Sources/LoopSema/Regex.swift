import LoopDiagnostics

/// One item of a character class.
public enum ClassItem: Hashable, Sendable {
    case range(UInt32, UInt32)
    case digit, notDigit, word, notWord, space, notSpace

    public func contains(_ c: UInt32) -> Bool {
        switch self {
        case .range(let lo, let hi): return c >= lo && c <= hi
        case .digit: return TextSemantics.isDigit(c)
        case .notDigit: return !TextSemantics.isDigit(c)
        case .word: return TextSemantics.isWord(c)
        case .notWord: return !TextSemantics.isWord(c)
        case .space: return TextSemantics.isSpace(c)
        case .notSpace: return !TextSemantics.isSpace(c)
        }
    }
}

/// A character class; with `caseInsensitive`, a unit matches when it, its lowercase or its
/// uppercase is in the class.
public struct CharClass: Hashable, Sendable {
    public var items: [ClassItem]
    public var negated: Bool
    public var caseInsensitive: Bool
    public init(items: [ClassItem], negated: Bool, caseInsensitive: Bool) {
        self.items = items; self.negated = negated; self.caseInsensitive = caseInsensitive
    }

    @inline(__always)
    public func matches(_ c: UInt32) -> Bool {
        var hit = items.contains { $0.contains(c) }
        if !hit && caseInsensitive {
            let l = TextSemantics.lower(c), u = TextSemantics.upper(c)
            hit = (l != c && items.contains { $0.contains(l) }) || (u != c && items.contains { $0.contains(u) })
        }
        return hit != negated
    }
}

/// The linear-time regex subset, after parsing. Semantics in Docs/language.md ("Regexes").
public indirect enum RegexNode: Hashable, Sendable {
    case empty
    /// One unit (already case-folded into a class when the regex has the `i` flag).
    case char(UInt32)
    /// `.`: any unit but `\n`.
    case any
    case cls(CharClass)
    case concat([RegexNode])
    case alt([RegexNode])
    case rep(RegexNode, min: Int, max: Int?)
    case start, end, wordBoundary, notWordBoundary

    /// True when the node can match the empty string.
    public var nullable: Bool {
        switch self {
        case .empty, .start, .end, .wordBoundary, .notWordBoundary: return true
        case .char, .any, .cls: return false
        case .concat(let xs): return xs.allSatisfy(\.nullable)
        case .alt(let xs): return xs.contains(where: \.nullable)
        case .rep(let x, let mn, _): return mn == 0 || x.nullable
        }
    }

    /// Number of NFA states the node expands to (counted repetitions are copied).
    public var size: Int {
        switch self {
        case .empty, .start, .end, .wordBoundary, .notWordBoundary, .char, .any, .cls: return 1
        case .concat(let xs): return xs.reduce(0) { $0 + $1.size }
        case .alt(let xs): return xs.reduce(1) { $0 + $1.size + 1 }
        case .rep(let x, let mn, let mx): return x.size * Swift.max(1, mx ?? (mn + 1)) + 2
        }
    }
}

/// A checked regex literal.
public struct LoopRegex: Hashable, Sendable {
    public var pattern: String
    public var caseInsensitive: Bool
    public var node: RegexNode
}

/// Parses the linear-time subset and explains every rejected feature.
public struct RegexParser {
    public static let maxRepeat = 1000
    public static let maxStates = 20_000

    let chars: [Unicode.Scalar]
    let offsets: [Int]   // byte offset of each scalar within the pattern
    let patternLength: Int
    let ci: Bool
    var i = 0
    var depth = 0
    let file: SourceFile?
    let base: Int        // byte offset of the pattern's first byte in the file
    public private(set) var diagnostics: [Diagnostic] = []

    struct Bail: Error {}

    public static func parse(pattern: String, flags: String, file: SourceFile?, literalRange: SourceRange) -> (LoopRegex?, [Diagnostic]) {
        var diags: [Diagnostic] = []
        var ci = false
        var fo = literalRange.end - flags.utf8.count
        for f in flags.unicodeScalars {
            if f == "i" { ci = true } else {
                let why: String
                switch f {
                case "g": why = "`g` is not needed: `matches` asks whether a pattern occurs and `count_matches` already counts all matches"
                case "m": why = "`m` is not supported: `^` and `$` always mean the start and end of the whole text"
                case "s": why = "`s` is not supported: use `[\\s\\S]` to match any character including a newline"
                case "u": why = "`u` is not needed: Loop regexes always work on Unicode characters"
                case "x": why = "`x` (verbose mode) is not supported"
                default: why = "the only flag is `i` (case-insensitive)"
                }
                diags.append(Diagnostic(.error, "E0503", "unknown regex flag `\(f)`", file: file, range: SourceRange(fo, fo + 1),
                                        label: "unknown flag", hints: [why],
                                        fixes: [FixIt(range: SourceRange(fo, fo + 1), replacement: "", message: "remove the flag")]))
            }
            fo += String(f).utf8.count
        }
        var p = RegexParser(pattern: pattern, ci: ci, file: file, base: literalRange.start + 1)
        let node = try? p.parseAlt()
        if node != nil, p.i < p.chars.count, p.diagnostics.isEmpty {
            p.err("E0502", "unmatched `)` in regex", at: p.i, p.i + 1, label: "no `(` opens this", hints: ["escape it as `\\)` to match a parenthesis"])
        }
        diags += p.diagnostics
        guard let n = node, diags.isEmpty else { return (nil, diags) }
        if n.size > maxStates {
            diags.append(Diagnostic(.error, "E0505", "regex is too large (about \(n.size) states; the limit is \(maxStates))", file: file,
                                    range: literalRange, label: "too large", hints: ["large counted repetitions such as `{500}` inside other repetitions multiply; use `+` or `*`, or split the pattern"]))
            return (nil, diags)
        }
        return (LoopRegex(pattern: pattern, caseInsensitive: ci, node: n), diags)
    }

    init(pattern: String, ci: Bool, file: SourceFile?, base: Int) {
        var cs: [Unicode.Scalar] = [], os: [Int] = []
        var o = 0
        for s in pattern.unicodeScalars { cs.append(s); os.append(o); o += String(s).utf8.count }
        chars = cs; offsets = os; patternLength = o; self.ci = ci; self.file = file; self.base = base
    }

    func off(_ k: Int) -> Int { base + (k < offsets.count ? offsets[k] : patternLength) }

    mutating func err(_ code: String, _ msg: String, at s: Int, _ e: Int, label: String, hints: [String] = [], fixes: [FixIt] = []) {
        if diagnostics.isEmpty {
            diagnostics.append(Diagnostic(.error, code, msg, file: file, range: SourceRange(off(s), off(e)), label: label, hints: hints, fixes: fixes))
        }
    }

    var cur: Unicode.Scalar? { i < chars.count ? chars[i] : nil }
    func peek(_ k: Int) -> Unicode.Scalar? { i + k < chars.count ? chars[i + k] : nil }

    static let linearReason = "Loop regexes run in time linear in the input (they compile to automata), so features that need backtracking are not part of the language"

    mutating func parseAlt() throws -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        if depth > 100 {
            err("E0504", "regex nested too deeply", at: i, i + 1, label: "too deep")
            throw Bail()
        }
        var branches = [try parseConcat()]
        while cur == "|" { i += 1; branches.append(try parseConcat()) }
        return branches.count == 1 ? branches[0] : .alt(branches)
    }

    mutating func parseConcat() throws -> RegexNode {
        var items: [RegexNode] = []
        while let c = cur, c != "|", c != ")" {
            var atom = try parseAtom()
            atom = try parseQuantifiers(atom)
            items.append(atom)
        }
        return items.isEmpty ? .empty : items.count == 1 ? items[0] : .concat(items)
    }

    mutating func parseQuantifiers(_ atom: RegexNode) throws -> RegexNode {
        var node = atom
        var quantified = false
        while let c = cur, c == "*" || c == "+" || c == "?" || c == "{" {
            let qs = i
            var mn = 0, mx: Int? = nil
            if c == "{" {
                guard let (a, b, end) = parseBraces() else {
                    if quantified { break }
                    err("E0502", "`{` must start a repetition such as `{2}`, `{2,}` or `{2,5}`", at: i, i + 1, label: "malformed repetition",
                        hints: ["escape it as `\\{` to match a brace"])
                    throw Bail()
                }
                mn = a; mx = b; i = end
                if let b, b < a {
                    err("E0502", "repetition `{\(a),\(b)}` has its bounds reversed", at: qs, i, label: "min is larger than max",
                        fixes: [FixIt(range: SourceRange(off(qs), off(i)), replacement: "{\(b),\(a)}", message: "swap the bounds")])
                    throw Bail()
                }
                if a > RegexParser.maxRepeat || (b ?? 0) > RegexParser.maxRepeat {
                    err("E0504", "repetition count above \(RegexParser.maxRepeat)", at: qs, i, label: "too many repetitions",
                        hints: ["use `+` or `{n,}` for long runs"])
                    throw Bail()
                }
            } else {
                i += 1
                switch c { case "*": mn = 0; mx = nil; case "+": mn = 1; mx = nil; default: mn = 0; mx = 1 }
            }
            if quantified {
                if cur == nil || true {
                    let q = String(chars[qs])
                    let lazy = q == "?"
                    err("E0501", lazy ? "lazy quantifiers are not supported" : "a quantifier cannot follow another quantifier",
                        at: qs, qs + 1, label: lazy ? "lazy quantifier" : "double quantifier",
                        hints: lazy ? ["laziness only changes which match is reported; Loop only asks whether and how often a pattern matches, so the `?` changes nothing"]
                                    : ["possessive and stacked quantifiers are not supported; \(RegexParser.linearReason)"],
                        fixes: [FixIt(range: SourceRange(off(qs), off(qs + 1)), replacement: "", message: "remove `\(q)`")])
                    throw Bail()
                }
            }
            if case .empty = node { }
            switch node {
            case .start, .end, .wordBoundary, .notWordBoundary:
                err("E0502", "an anchor cannot be repeated", at: qs, i, label: "nothing to repeat")
                throw Bail()
            default: break
            }
            node = .rep(node, min: mn, max: mx)
            quantified = true
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}` starting at `i`; returns bounds and the index after `}`.
    func parseBraces() -> (Int, Int?, Int)? {
        var k = i + 1
        func num() -> Int? {
            var s = ""
            while k < chars.count, let d = chars[k].properties.numericType, d == .decimal, chars[k].isASCII { s.unicodeScalars.append(chars[k]); k += 1 }
            return s.isEmpty ? nil : Int(s.prefix(7))
        }
        guard let a = num() else { return nil }
        if k < chars.count, chars[k] == "}" { return (a, a, k + 1) }
        guard k < chars.count, chars[k] == "," else { return nil }
        k += 1
        let b = num()
        guard k < chars.count, chars[k] == "}" else { return nil }
        return (a, b, k + 1)
    }

    func lit(_ c: UInt32) -> RegexNode {
        if ci {
            let l = TextSemantics.lower(c), u = TextSemantics.upper(c)
            if l != c || u != c { return .cls(CharClass(items: [.range(c, c)], negated: false, caseInsensitive: true)) }
        }
        return .char(c)
    }

    mutating func parseAtom() throws -> RegexNode {
        let s = i
        let c = chars[i]
        switch c {
        case "(":
            i += 1
            if cur == "?" {
                let rest = String(String.UnicodeScalarView(chars[i..<min(chars.count, i + 3)]))
                if rest.hasPrefix("?:") { i += 2 }
                else {
                    let (what, hint, fix): (String, String, String?) =
                        rest.hasPrefix("?=") || rest.hasPrefix("?!") ? ("look-ahead", RegexParser.linearReason + "; test the following text with a second condition (`and not matches(...)`) instead", nil)
                        : rest.hasPrefix("?<=") || rest.hasPrefix("?<!") ? ("look-behind", RegexParser.linearReason + "; test the preceding text with a second condition instead", nil)
                        : rest.hasPrefix("?<") || rest.hasPrefix("?P") ? ("named groups", "groups only group here (nothing is captured); use a plain `(` or `(?:`", "(")
                        : rest.hasPrefix("?i") ? ("inline flags", "put the flag after the literal instead: /.../i", nil)
                        : ("`(?` groups", "only `(?:...)` is supported", nil)
                    var fixes: [FixIt] = []
                    if let fix {
                        var k = i
                        while k < chars.count, chars[k] != ">" { k += 1 }
                        fixes.append(FixIt(range: SourceRange(off(s), off(min(chars.count, k + 1))), replacement: fix, message: "use a plain group"))
                    }
                    err("E0501", "\(what) are not supported in Loop regexes", at: s, min(chars.count, i + 2), label: "unsupported", hints: [hint], fixes: fixes)
                    throw Bail()
                }
            }
            let inner = try parseAlt()
            guard cur == ")" else {
                err("E0502", "unclosed `(` in regex", at: s, s + 1, label: "this group is never closed",
                    fixes: [FixIt(range: SourceRange(off(chars.count), off(chars.count)), replacement: ")", message: "close the group")])
                throw Bail()
            }
            i += 1
            return inner
        case ")":
            err("E0502", "unmatched `)` in regex", at: i, i + 1, label: "no `(` opens this", hints: ["escape it as `\\)` to match a parenthesis"])
            throw Bail()
        case "*", "+", "?":
            err("E0502", "`\(c)` has nothing to repeat", at: i, i + 1, label: "nothing before it", hints: ["escape it as `\\\(c)` to match it literally"])
            throw Bail()
        case "{":
            if parseBraces() != nil {
                err("E0502", "repetition has nothing to repeat", at: i, i + 1, label: "nothing before it", hints: ["escape it as `\\{` to match a brace"])
                throw Bail()
            }
            i += 1
            return .char(UInt32(c.value))
        case ".": i += 1; return .any
        case "^": i += 1; return .start
        case "$": i += 1; return .end
        case "[": return try parseClass()
        case "\\": return try parseEscape(inClass: false).node
        default:
            i += 1
            return lit(c.value)
        }
    }

    /// An escape at `i`; returns a node, or (in a class) a class item.
    mutating func parseEscape(inClass: Bool) throws -> (node: RegexNode, item: ClassItem?, single: UInt32?) {
        let s = i
        i += 1
        guard let e = cur else {
            err("E0502", "regex ends with a lone backslash", at: s, s + 1, label: "nothing to escape",
                fixes: [FixIt(range: SourceRange(off(s), off(s + 1)), replacement: "\\\\", message: "escape the backslash")])
            throw Bail()
        }
        i += 1
        func cls(_ it: ClassItem) -> (RegexNode, ClassItem?, UInt32?) { (.cls(CharClass(items: [it], negated: false, caseInsensitive: false)), it, nil) }
        func single(_ v: UInt32) -> (RegexNode, ClassItem?, UInt32?) { (lit(v), .range(v, v), v) }
        switch e {
        case "d": return cls(.digit)
        case "D": return cls(.notDigit)
        case "w": return cls(.word)
        case "W": return cls(.notWord)
        case "s": return cls(.space)
        case "S": return cls(.notSpace)
        case "b" where !inClass: return (.wordBoundary, nil, nil)
        case "B" where !inClass: return (.notWordBoundary, nil, nil)
        case "n": return single(10)
        case "t": return single(9)
        case "r": return single(13)
        case "f": return single(12)
        case "v": return single(11)
        case "x":
            var hex = ""
            while hex.count < 2, let h = cur, h.properties.isASCIIHexDigit { hex.unicodeScalars.append(h); i += 1 }
            guard hex.count == 2, let v = UInt32(hex, radix: 16) else {
                err("E0502", "`\\x` needs two hex digits", at: s, i, label: "malformed escape", hints: ["for example `\\x41` for `A`"])
                throw Bail()
            }
            return single(v)
        case "u":
            guard cur == "{" else {
                err("E0502", "`\\u` needs braces: `\\u{HEX}`", at: s, i, label: "malformed escape")
                throw Bail()
            }
            i += 1
            var hex = ""
            while let h = cur, h != "}", hex.count < 7 { hex.unicodeScalars.append(h); i += 1 }
            guard cur == "}", let v = UInt32(hex, radix: 16), Unicode.Scalar(v) != nil else {
                err("E0502", "invalid `\\u{...}` escape", at: s, min(i + 1, chars.count), label: "not a Unicode scalar value")
                throw Bail()
            }
            i += 1
            return single(v)
        case "1", "2", "3", "4", "5", "6", "7", "8", "9":
            err("E0501", "back-references are not supported in Loop regexes", at: s, i, label: "back-reference",
                hints: [RegexParser.linearReason + "; spell the repeated text out, or compare parts with other conditions"])
            throw Bail()
        case "k":
            err("E0501", "named back-references are not supported in Loop regexes", at: s, i, label: "back-reference", hints: [RegexParser.linearReason])
            throw Bail()
        case "p", "P":
            err("E0501", "Unicode property classes (`\\\(e){...}`) are not supported", at: s, i, label: "unsupported",
                hints: ["use an explicit class such as `[a-zà-ÿ]`, or `\\w` for word characters"])
            throw Bail()
        case "A", "z", "Z", "G":
            let repl = e == "A" ? "^" : "$"
            err("E0501", "`\\\(e)` is not supported", at: s, i, label: "unsupported anchor",
                hints: ["`^` and `$` already mean the start and end of the whole text"],
                fixes: e == "G" ? [] : [FixIt(range: SourceRange(off(s), off(i)), replacement: repl, message: "use `\(repl)`")])
            throw Bail()
        case "b", "B":
            err("E0502", "`\\\(e)` (word boundary) cannot appear inside a class", at: s, i, label: "not a character")
            throw Bail()
        default:
            if e.properties.isAlphabetic || e.properties.numericType != nil {
                err("E0502", "unknown regex escape `\\\(e)`", at: s, i, label: "unknown escape",
                    hints: ["the escapes are \\d \\D \\w \\W \\s \\S \\b \\B \\n \\t \\r \\f \\v \\xHH \\u{HEX}, and a backslash before punctuation"])
                throw Bail()
            }
            return single(e.value)
        }
    }

    mutating func parseClass() throws -> RegexNode {
        let s = i
        i += 1
        var negated = false
        if cur == "^" { negated = true; i += 1 }
        var items: [ClassItem] = []
        var first = true
        while true {
            guard let c = cur else {
                err("E0502", "unclosed `[` in regex", at: s, s + 1, label: "this class is never closed",
                    fixes: [FixIt(range: SourceRange(off(chars.count), off(chars.count)), replacement: "]", message: "close the class")])
                throw Bail()
            }
            if c == "]" && !first { i += 1; break }
            first = false
            let itemStart = i
            var lo: UInt32
            if c == "\\" {
                let r = try parseEscape(inClass: true)
                guard let single = r.single else {
                    if let it = r.item { items.append(it) }
                    continue
                }
                lo = single
            } else if c == "[" && peek(1) == ":" {
                err("E0501", "POSIX classes like `[:alpha:]` are not supported", at: i, i + 2, label: "unsupported",
                    hints: ["use `a-zA-Z`, `\\d`, `\\w` or `\\s` inside the class"])
                throw Bail()
            } else {
                lo = c.value
                i += 1
            }
            if cur == "-", let n = peek(1), n != "]" {
                i += 1
                var hi: UInt32
                if cur == "\\" {
                    let r = try parseEscape(inClass: true)
                    guard let sv = r.single else {
                        err("E0502", "a class range cannot end in a class escape", at: itemStart, i, label: "bad range")
                        throw Bail()
                    }
                    hi = sv
                } else {
                    hi = cur!.value
                    i += 1
                }
                if hi < lo {
                    err("E0502", "class range is out of order", at: itemStart, i, label: "the end comes before the start")
                    throw Bail()
                }
                items.append(.range(lo, hi))
            } else {
                items.append(.range(lo, lo))
            }
        }
        return .cls(CharClass(items: items, negated: negated, caseInsensitive: ci))
    }
}
