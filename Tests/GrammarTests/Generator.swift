import Foundation

/// Deterministic pseudo-random numbers (SplitMix64), so every run checks the same sentences.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
}

/// One token of a generated sentence.
struct GenToken {
    var text: String
    /// From a quoted terminal (keyword or punctuation); otherwise from `lexicalRule`.
    var isLiteral: Bool
    var lexicalRule: String?
    /// Must follow the previous token with no space (`? no space ?`, i.e. a call's `(`).
    var glued = false
    /// First token of a score term.
    var startsTerm = false
    /// First token of a declaration or header.
    var startsDeclaration = false
}

/// Example texts for the lexical tokens the syntactic rules use; a test checks that each one
/// is matched by its lexical rule and lexed as exactly one token.
enum Fillers {
    static let byRule: [String: [String]] = [
        "IDENTIFIER": ["x", "msg", "text", "number", "t", "flag", "_tmp1", "iff", "rules", "notes", "lett",
                       "inputs", "Score", "tests", "is_spam", "w2", "ors", "thenx", "TRUE", "std"],
        "NUMBER": ["0", "1", "2.5", "0.001", "1_000", "1e-7", "3E+2", "12.5e3", "007", "4_2.0_1"],
        "STRING": [#""""#, #""spam""#, #""a\"b""#, #""tab\there""#, #""\u{e9}t\u{E9}\u{1F600}""#, #""£900 prize""#,
                   #""back\\slash""#, #""日本語""#, #""// not a comment""#, #""/not/ a regex""#, #""cr\r lf\n""#],
        "REGEX": [#"/a+b/"#, #"/\d{3,}/i"#, #"/[a-z/]+/"#, #"/x\/y/"#, #"/^\s*$/"#, #"/(ab|cd)?e/ix"#,
                  #"/[\]/]/"#, #"/é+/"#, #"/a[[]b/"#, #"/"q"/"#],
    ]
}

/// Generates random sentences from the syntactic rules of an EBNF grammar, with bounded depth:
/// past `maxDepth` it takes the alternatives that end soonest and stops repeating.
final class SentenceGenerator {
    let grammar: EBNFGrammar
    let recognizer: TokenRecognizer
    var rng: SplitMix
    let maxDepth: Int
    private var heights: [String: Int] = [:]
    private var out: [GenToken] = []
    private var glueNext = false
    private var termStart = false
    private var declStart = false
    /// How often an exception (`a - b`) needed another try.
    private(set) var exceptionRetries = 0

    init(_ grammar: EBNFGrammar, recognizer: TokenRecognizer, seed: UInt64, maxDepth: Int = 19) {
        self.grammar = grammar
        self.recognizer = recognizer
        self.rng = SplitMix(seed: seed)
        self.maxDepth = maxDepth
        computeHeights()
    }

    private func computeHeights() {
        let big = 1 << 20
        for n in grammar.syntacticRules { heights[n] = big }
        var changed = true
        while changed {
            changed = false
            for n in grammar.syntacticRules {
                let h = height(grammar.rules[n]!)
                if h < heights[n]! { heights[n] = h; changed = true }
            }
        }
    }

    /// Fewest rule expansions needed to finish the expression.
    private func height(_ e: EBNF) -> Int {
        switch e {
        case .terminal, .special: return 0
        case .ref(let n): return EBNFGrammar.isLexical(n) ? 0 : min(1 << 20, heights[n]! + 1)
        case .seq(let xs): return xs.map(height).max() ?? 0
        case .alt(let xs): return xs.map(height).min() ?? 0
        case .opt, .rep: return 0
        case .except(let a, _): return height(a)
        }
    }

    func sentence(from rule: String) -> [GenToken] {
        out = []
        gen(.ref(rule), depth: 0)
        return out
    }

    private func emit(_ text: String, literal: Bool, rule: String?) {
        out.append(GenToken(text: text, isLiteral: literal, lexicalRule: rule, glued: glueNext,
                            startsTerm: termStart, startsDeclaration: declStart))
        glueNext = false
        termStart = false
        declStart = false
    }

    /// Probability of one more optional part or repetition.
    private func more(_ depth: Int, repeated: Int) -> Bool {
        if depth >= maxDepth { return false }
        if depth <= 2 { return repeated < 10 && rng.chance(0.8) }
        return repeated < 3 && rng.chance(max(0.05, 0.5 - Double(depth) * 0.02))
    }

    private func lexicalText(_ rule: String) -> String {
        if let xs = Fillers.byRule[rule] { return rng.pick(xs) }
        // No examples: derive the shortest text from the lexical rule itself.
        return shortest(grammar.rules[rule]!)
    }

    private func shortest(_ e: EBNF) -> String {
        switch e {
        case .terminal(let s): return s
        case .ref(let n): return shortest(grammar.rules[n]!)
        case .seq(let xs): return xs.map(shortest).joined()
        case .alt(let xs): return xs.map(shortest).min { $0.count < $1.count }!
        case .opt, .rep: return ""
        case .except(let a, _): return shortest(a)
        case .special(let s): fatalError("cannot derive text from ? \(s) ?")
        }
    }

    private func gen(_ e: EBNF, depth: Int) {
        switch e {
        case .terminal(let s):
            emit(s, literal: true, rule: nil)
        case .ref(let n):
            if EBNFGrammar.isLexical(n) { emit(lexicalText(n), literal: false, rule: n); return }
            if n == "score_term" { termStart = true }
            if ["declaration", "program_header", "module_header"].contains(n) { declStart = true }
            gen(grammar.rules[n]!, depth: depth + 1)
        case .special(let s):
            switch s.lowercased() {
            case "no space": glueNext = true
            case "any token": emit(rng.pick(Fillers.byRule["IDENTIFIER"]!), literal: false, rule: "IDENTIFIER")
            default: fatalError("unknown special sequence \(s)")
            }
        case .seq(let xs):
            for x in xs { gen(x, depth: depth) }
        case .alt(let xs):
            var choices = xs
            if depth >= maxDepth || (depth > maxDepth / 2 && rng.chance(0.5)) {
                let m = xs.map(height).min()!
                choices = xs.filter { height($0) == m }
            }
            gen(rng.pick(choices), depth: depth)
        case .opt(let x):
            if more(depth, repeated: 0) { gen(x, depth: depth) }
        case .rep(let x):
            var k = 0
            while more(depth, repeated: k) { gen(x, depth: depth); k += 1 }
        case .except(let a, let b):
            guard case .ref(let bRule) = b else { fatalError("generator supports `a - rule` exceptions only") }
            let start = out.count
            let saved = (glueNext, termStart, declStart)
            for _ in 0..<100 {
                gen(a, depth: depth)
                let slice = out[start...].map { TokenView(text: $0.text, isLiteral: $0.isLiteral, adjacentToPrevious: $0.glued) }
                if !recognizer.accepts(Array(slice), rule: bRule) { return }
                exceptionRetries += 1
                out.removeSubrange(start...)
                (glueNext, termStart, declStart) = saved
            }
            fatalError("could not generate \(a) - \(b)")
        }
    }
}

/// Turns generated tokens into source text, taking care of the context-sensitive points:
/// - REGEX RULE: a regex literal where the lexer would read `/` as division (after an operand)
///   is replaced by a text literal, which stands in the same places in the grammar;
/// - SCORE-BLOCK RULE: every score term starts on a new line, and inside a score block (outside
///   brackets and `if` conditions / then-branches) a binary `-` never starts a line;
/// - calls: `? no space ?` glues the `(` to the name.
/// Elsewhere the layout is random: spaces, line breaks and comments between tokens.
struct SentenceRenderer {
    var rng: SplitMix
    private(set) var regexReplacements = 0

    init(seed: UInt64) { rng = SplitMix(seed: seed) }

    static let nonOperandKeywords: Set<String> = ["and", "or", "not", "when", "if", "then", "else"]

    /// The lexer's view: after this token a `/` is division.
    static func lexerOperand(_ t: GenToken) -> Bool {
        if !t.isLiteral { return true }
        if [")", "]", "}"].contains(t.text) { return true }
        return t.text.first!.isLetter && !nonOperandKeywords.contains(t.text)
    }

    /// The parser's view: a `-` after this token is binary minus.
    static func endsOperand(_ t: GenToken) -> Bool {
        !t.isLiteral || [")", "]", "}", "true", "false"].contains(t.text)
    }

    private enum Context { case score, nested, ifCondition, ifThen }

    mutating func render(_ input: [GenToken]) -> (text: String, tokens: [GenToken]) {
        var toks: [GenToken] = []
        var text = ""
        var stack: [Context] = []
        for var t in input {
            if let prev = toks.last {
                if t.lexicalRule == "REGEX", SentenceRenderer.lexerOperand(prev) {
                    t.text = "\"re\""
                    t.lexicalRule = "STRING"
                    regexReplacements += 1
                }
                let termMode = stack.last == .score
                if t.glued {
                    // nothing between the name and `(`
                } else if t.startsDeclaration {
                    text += rng.pick(["\n", "\n", "\n\n", "\n// a comment\n", " // trailing\n"])
                } else if t.startsTerm {
                    text += rng.pick(["\n  ", "\n  ", "\n  // term comment\n  ", " // trailing\n  "])
                } else if t.isLiteral, t.text == "-", termMode, SentenceRenderer.endsOperand(prev) {
                    text += " "
                } else {
                    let r = rng.int(100)
                    text += r < 80 ? " " : r < 92 ? "\n    " : r < 97 ? " // c\n  " : "\t"
                }
            }
            text += t.text
            if t.isLiteral {
                switch t.text {
                case "{" where toks.count >= 2 && toks[toks.count - 2].isLiteral && toks[toks.count - 2].text == "score":
                    stack.append(.score)
                case "(", "[", "{": stack.append(.nested)
                case ")", "]", "}": _ = stack.popLast()
                case "if": stack.append(.ifCondition)
                case "then": if stack.last == .ifCondition { stack[stack.count - 1] = .ifThen }
                case "else": if stack.last == .ifThen { stack.removeLast() }
                default: break
                }
            }
            toks.append(t)
        }
        return (text + "\n", toks)
    }
}
