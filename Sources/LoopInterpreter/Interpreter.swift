import Foundation
import LoopSema

/// What decided an answer.
public enum DecidedBy: Equatable, Sendable {
    /// The rule at this index (first match wins).
    case rule(Int)
    /// Score blocks: argmax of the label scores.
    case score
    /// Nothing fired: the `otherwise` fallback.
    case otherwise
}

/// The answer for one input.
public struct Decision: Equatable, Sendable {
    public var label: Int
    public var confidence: Double
    public var decidedBy: DecidedBy
    /// Label scores in label order (empty when a rule decided).
    public var scores: [Double]
    public init(label: Int, confidence: Double, decidedBy: DecidedBy, scores: [Double]) {
        self.label = label; self.confidence = confidence; self.decidedBy = decidedBy; self.scores = scores
    }
}

/// A step-by-step account of one evaluation, for `loopai explain`.
public struct Trace: Sendable {
    public struct RuleStep: Sendable { public let rule: Int; public let fired: Bool }
    public struct TermStep: Sendable {
        public let label: Int; public let term: Int; public let value: Double; public let fired: Bool
        /// For a term with `sum_words`: each table word found, with its count and weight, largest
        /// contribution first (what the total is made of).
        public var words: [WordHit] = []
    }
    /// One word of a table found in the text: `count` whole-word occurrences at `weight` each.
    public struct WordHit: Sendable, Equatable {
        public let word: String; public let count: Int; public let weight: Double
        /// Found after a negator (`sum_words_negated`): `weight` is the table's weight flipped.
        public var negated = false
        public init(word: String, count: Int, weight: Double, negated: Bool = false) {
            self.word = word; self.count = count; self.weight = weight; self.negated = negated
        }
        public var contribution: Double { Double(count) * weight }
    }
    public var rules: [RuleStep] = []
    public var terms: [TermStep] = []
}

/// The reference semantics of Loop: a direct evaluator over the typed program. Every faster
/// engine must produce the same label and a bit-identical confidence for every input.
public final class Interpreter: @unchecked Sendable {
    public let program: TypedProgram
    let vms: [RegexVM]
    let keywordSets: [KeywordSet]
    let tableSets: [KeywordSet]

    public init(_ program: TypedProgram) {
        self.program = program
        vms = program.regexes.map(RegexVM.init)
        keywordSets = program.lists.map { KeywordSet($0) }
        tableSets = program.tables.map { KeywordSet($0.map(\.key), weights: $0.map(\.weight)) }
    }

    /// Per-input evaluation state: the input values and the memoized `let`s.
    struct Env {
        let input: [Value]
        var lets: [Value?]
        var units: [[UInt8]: [UInt32]] = [:]
    }

    public func evaluate(_ input: [Value]) -> Decision {
        var env = Env(input: input, lets: Array(repeating: nil, count: program.lets.count))
        return decide(&env, trace: nil)
    }

    public func explain(_ input: [Value]) -> (Decision, Trace) {
        var env = Env(input: input, lets: Array(repeating: nil, count: program.lets.count))
        var trace = Trace()
        let d = decide(&env, trace: &trace)
        return (d, trace)
    }

    func decide(_ env: inout Env, trace: UnsafeMutablePointer<Trace>?) -> Decision {
        for (i, r) in program.rules.enumerated() {
            let fired = eval(r.condition, &env, []).asBool
            trace?.pointee.rules.append(.init(rule: i, fired: fired))
            if fired { return Decision(label: r.label, confidence: r.confidence, decidedBy: .rule(i), scores: []) }
        }
        let n = program.labels.count
        var scores = [Double](repeating: 0, count: n)
        var evidence = false
        for l in 0..<n {
            for (k, t) in program.scores[l].enumerated() {
                var v = 0.0
                var fired = true
                if let c = t.condition { fired = eval(c, &env, []).asBool }
                if fired { v = eval(t.value, &env, []).asNumber }
                if !v.isFinite { v = 0 }
                if let trace {
                    var step = Trace.TermStep(label: l, term: k, value: v, fired: fired && v != 0)
                    if fired { step.words = wordHits(t.value, &env) }
                    trace.pointee.terms.append(step)
                }
                if v != 0 { evidence = true }
                scores[l] += v
            }
            // A sum that overflowed counts as 0, like a non-finite term.
            if !scores[l].isFinite { scores[l] = 0 }
        }
        if evidence {
            return Interpreter.argmaxSoftmax(scores)
        }
        let fb = program.otherwise
        return Decision(label: fb.label, confidence: fb.confidence ?? 1.0 / Double(n), decidedBy: .otherwise, scores: scores)
    }

    /// The table words behind the `sum_words` calls of a score term (outside function bodies),
    /// summed per word over the calls, largest absolute contribution first.
    func wordHits(_ e: TExpr, _ env: inout Env) -> [Trace.WordHit] {
        var counts: [Int: [Int: Int]] = [:]   // table → word index (negated: -1 - index) → count
        // Through the bodies of the functions called (a Stdlib `sum_words_negating`), with their
        // arguments as parameters; Loop has no recursion, so this ends.
        func walk(_ e: TExpr, _ params: [Value]) {
            switch e.kind {
            case .builtin(.sum_words, let args) where args.count == 2:
                let text = eval(args[0], &env, params).asText, table = eval(args[1], &env, params).asTable
                tableSets[table].scan(text, wholeWords: true) { counts[table, default: [:]][$0, default: 0] += 1 }
            case .builtin(.sum_words_negated, let args) where args.count == 4:
                let text = eval(args[0], &env, params).asText, table = eval(args[1], &env, params).asTable
                let negators = keywordSets[eval(args[2], &env, params).asList], scope = eval(args[3], &env, params).asNumber
                _ = tableSets[table].negatedSum(text, negators: negators, scope: scope) { k, negated in
                    counts[table, default: [:]][negated ? -1 - k : k, default: 0] += 1
                }
            case .builtin(_, let args): args.forEach { walk($0, params) }
            case .call(let f, let args):
                args.forEach { walk($0, params) }
                walk(program.functions[f].body, args.map { eval($0, &env, params) })
            case .not(let x), .neg(let x): walk(x, params)
            case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b), .arith(_, let a, let b): walk(a, params); walk(b, params)
            case .ifElse(let a, let b, let c): walk(a, params); walk(b, params); walk(c, params)
            case .literal, .field, .letRef, .param: break
            }
        }
        walk(e, [])
        var hits: [Trace.WordHit] = []
        for (table, words) in counts.sorted(by: { $0.key < $1.key }) {
            let set = tableSets[table]
            for (w, n) in words.sorted(by: { $0.key < $1.key }) {
                let k = w < 0 ? -1 - w : w
                hits.append(Trace.WordHit(word: String(decoding: set.words[k], as: UTF8.self), count: n, weight: w < 0 ? -set.weights[k] : set.weights[k],
                                          negated: w < 0))
            }
        }
        return hits.sorted { abs($0.contribution) > abs($1.contribution) || (abs($0.contribution) == abs($1.contribution) && $0.word < $1.word) }
    }

    /// Argmax (first label on ties) and its softmax probability (Docs/language.md, Evaluation
    /// order: four partial sums, label j into sum j mod 4, then (s₀ + s₁) + (s₂ + s₃)).
    public static func argmaxSoftmax(_ scores: [Double]) -> Decision {
        var best = 0
        for i in 1..<scores.count where scores[i] > scores[best] { best = i }
        let m = scores[best]
        var part = (0.0, 0.0, 0.0, 0.0)
        for (j, s) in scores.enumerated() {
            let e = SoftmaxExp.exp(s - m)
            switch j % SoftmaxExp.partialSums {
            case 0: part.0 += e
            case 1: part.1 += e
            case 2: part.2 += e
            default: part.3 += e
            }
        }
        let sum = (part.0 + part.1) + (part.2 + part.3)
        return Decision(label: best, confidence: 1.0 / sum, decidedBy: .score, scores: scores)
    }

    // MARK: expressions

    func units(_ t: [UInt8], _ env: inout Env) -> [UInt32] {
        if let u = env.units[t] { return u }
        let u = TextSemantics.units(t).units
        env.units[t] = u
        return u
    }

    func eval(_ e: TExpr, _ env: inout Env, _ params: [Value]) -> Value {
        switch e.kind {
        case .literal(let v): return v
        case .field(let i): return env.input[i]
        case .param(let i): return params[i]
        case .letRef(let i):
            if let v = env.lets[i] { return v }
            let v = eval(program.lets[i].value, &env, [])
            env.lets[i] = v
            return v
        case .call(let f, let args):
            let vals = args.map { eval($0, &env, params) }
            return eval(program.functions[f].body, &env, vals)
        case .not(let x): return .bool(!eval(x, &env, params).asBool)
        case .neg(let x): return .number(-eval(x, &env, params).asNumber)
        case .and(let a, let b): return .bool(eval(a, &env, params).asBool && eval(b, &env, params).asBool)
        case .or(let a, let b): return .bool(eval(a, &env, params).asBool || eval(b, &env, params).asBool)
        case .compare(let op, let a, let b): return .bool(Arith.compare(op, eval(a, &env, params), eval(b, &env, params)))
        case .arith(let op, let a, let b): return .number(Arith.apply(op, eval(a, &env, params).asNumber, eval(b, &env, params).asNumber))
        case .ifElse(let c, let a, let b): return eval(c, &env, params).asBool ? eval(a, &env, params) : eval(b, &env, params)
        case .builtin(let b, let args):
            let vals = args.map { eval($0, &env, params) }
            return builtin(b, vals, &env)
        }
    }

    func builtin(_ b: Builtin, _ a: [Value], _ env: inout Env) -> Value {
        switch b {
        case .lower: return .text(TextSemantics.mapCase(a[0].asText, TextSemantics.lower))
        case .upper: return .text(TextSemantics.mapCase(a[0].asText, TextSemantics.upper))
        case .trim: return .text(TextOps.trim(a[0].asText))
        case .len: return .number(Double(TextOps.length(a[0].asText)))
        case .word_count: return .number(Double(TextOps.wordCount(a[0].asText)))
        case .upper_ratio: return .number(TextOps.ratio(a[0].asText, TextSemantics.isUpper, TextSemantics.isCased))
        case .digit_ratio: return .number(TextOps.ratio(a[0].asText, TextSemantics.isDigit, { _ in true }))
        case .punct_ratio: return .number(TextOps.ratio(a[0].asText, TextSemantics.isPunct, { _ in true }))
        case .contains: return .bool(TextOps.contains(a[0].asText, a[1].asText))
        case .starts_with: return .bool(TextOps.startsWith(a[0].asText, a[1].asText))
        case .ends_with: return .bool(TextOps.endsWith(a[0].asText, a[1].asText))
        case .contains_word: return .bool(KeywordSet([a[1].asText]).count(a[0].asText, wholeWords: true) > 0)
        case .count: return .number(Double(TextOps.count(a[0].asText, a[1].asText)))
        case .count_word: return .number(Double(KeywordSet([a[1].asText]).count(a[0].asText, wholeWords: true)))
        case .contains_any: return .bool(keywordSets[a[1].asList].containsAny(a[0].asText))
        case .contains_all: return .bool(keywordSets[a[1].asList].containsAll(a[0].asText))
        case .contains_any_word: return .bool(keywordSets[a[1].asList].count(a[0].asText, wholeWords: true) > 0)
        case .starts_with_any: return .bool(keywordSets[a[1].asList].startsWithAny(a[0].asText))
        case .ends_with_any: return .bool(keywordSets[a[1].asList].endsWithAny(a[0].asText))
        case .one_of: return .bool(keywordSets[a[1].asList].oneOf(a[0].asText))
        case .count_any: return .number(Double(keywordSets[a[1].asList].count(a[0].asText, wholeWords: false)))
        case .count_words: return .number(Double(keywordSets[a[1].asList].count(a[0].asText, wholeWords: true)))
        case .matches: return .bool(vms[a[1].asRegex].matches(units(a[0].asText, &env)))
        case .count_matches: return .number(Double(vms[a[1].asRegex].countMatches(units(a[0].asText, &env))))
        case .sum_words: return .number(tableSets[a[1].asTable].sum(a[0].asText))
        case .sum_words_negated:
            return .number(tableSets[a[1].asTable].negatedSum(a[0].asText, negators: keywordSets[a[2].asList], scope: a[3].asNumber))
        case .min: return .number(Swift.min(a[0].asNumber, a[1].asNumber))
        case .max: return .number(Swift.max(a[0].asNumber, a[1].asNumber))
        case .abs: return .number(Swift.abs(a[0].asNumber))
        case .clamp: return .number(Arith.clamp(a[0].asNumber, a[1].asNumber, a[2].asNumber))
        }
    }
}

extension Value {
    @inline(__always) var asBool: Bool { if case .bool(let b) = self { return b }; return false }
    @inline(__always) var asNumber: Double { if case .number(let v) = self { return v }; return 0 }
    @inline(__always) var asText: [UInt8] { if case .text(let t) = self { return t }; return [] }
    @inline(__always) var asList: Int { if case .list(let i) = self { return i }; return 0 }
    @inline(__always) var asTable: Int { if case .table(let i) = self { return i }; return 0 }
    @inline(__always) var asRegex: Int { if case .regex(let i) = self { return i }; return 0 }
}

extension Interpreter {
    /// Evaluates an input-independent expression (constant folding in the compiler).
    public func evaluateConstant(_ e: TExpr) -> Value {
        var env = Env(input: [], lets: Array(repeating: nil, count: program.lets.count))
        return eval(e, &env, [])
    }
}
