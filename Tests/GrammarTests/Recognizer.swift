import Foundation

/// A context-free grammar (with ISO-EBNF exceptions) compiled to a graph of nodes. Terminals are
/// values of `T` that match one unit of input (a character or a token); assertions are values of
/// `T` that match the empty string at a position (used for "no space before this token").
final class CompiledGrammar<T> {
    enum Node {
        case term(T)
        case assertion(T)
        case empty
        case seq([Int])
        case alt([Int])
        case opt(Int)
        case star(Int)
        case plus(Int)
        /// `a - b`: what `a` matches except what `b` matches (over the same span).
        case except(Int, Int)
        /// A reference to a rule, by rule index.
        case ref(Int)
    }

    private(set) var nodes: [Node] = []
    private(set) var ruleNames: [String] = []
    private(set) var ruleNodes: [Int] = []
    private(set) var ruleIndex: [String: Int] = [:]

    func add(_ n: Node) -> Int { nodes.append(n); return nodes.count - 1 }

    /// Index of a rule, creating a forward declaration when it is not defined yet.
    func rule(_ name: String) -> Int {
        if let i = ruleIndex[name] { return i }
        ruleIndex[name] = ruleNames.count
        ruleNames.append(name)
        ruleNodes.append(-1)
        return ruleNames.count - 1
    }

    func define(_ name: String, _ node: Int) { ruleNodes[rule(name)] = node }

    /// The nodes as plain arrays, for `Recognizer` (built once, on first use).
    struct Flat {
        var kind: [NodeKind] = []
        var argA: [Int] = []
        var argB: [Int] = []
        var kids: [Int] = []
        var terms: [T] = []
        var ruleNode: [String: Int] = [:]
    }
    private var flatCache: Flat?
    var flat: Flat {
        if let f = flatCache { return f }
        var f = Flat()
        for (i, name) in ruleNames.enumerated() where ruleNodes[i] >= 0 { f.ruleNode[name] = ruleNodes[i] }
        for n in nodes {
            var a = 0, b = 0
            let k: NodeKind
            switch n {
            case .term(let t): k = .term; a = f.terms.count; f.terms.append(t)
            case .assertion(let t): k = .assertion; a = f.terms.count; f.terms.append(t)
            case .empty: k = .empty
            case .seq(let xs): k = .seq; a = f.kids.count; f.kids += xs; b = f.kids.count
            case .alt(let xs): k = .alt; a = f.kids.count; f.kids += xs; b = f.kids.count
            case .opt(let x): k = .opt; a = x
            case .star(let x): k = .star; a = x
            case .plus(let x): k = .plus; a = x
            case .except(let x, let y): k = .except; a = x; b = y
            case .ref(let r): k = .ref; a = ruleNodes[r]; precondition(a >= 0, "undefined rule \(ruleNames[r])")
            }
            f.kind.append(k); f.argA.append(a); f.argB.append(b)
        }
        flatCache = f
        return f
    }

    var undefinedRules: [String] { ruleNames.indices.filter { ruleNodes[$0] < 0 }.map { ruleNames[$0] } }

    func node(ofRule name: String) -> Int? {
        guard let i = ruleIndex[name], ruleNodes[i] >= 0 else { return nil }
        return ruleNodes[i]
    }
}

/// Recognizes input against a `CompiledGrammar` by memoised "all end positions" search: for a
/// node and a start position it computes every position where a match can end. That handles
/// any non-left-recursive grammar, ambiguity included, in polynomial time, and makes exceptions
/// (`a - b`) a set difference. Left recursion is reported, not looped on.
///
/// Written for speed in debug builds: the node graph is flattened into plain arrays, and a
/// result is a handle (one end position, none, or a slice of a shared pool), not an array.
enum NodeKind: UInt8 { case term, assertion, empty, seq, alt, opt, star, plus, except, ref }

final class Recognizer {
    let count: Int
    /// (terminal index, position) -> matches
    private let matchTerm: (Int, Int) -> Bool
    private let matchAssertion: (Int, Int) -> Bool
    private let ruleNode: [String: Int]

    // Flattened nodes.
    private typealias K = NodeKind
    private var kind: [K] = []
    private var argA: [Int] = []
    private var argB: [Int] = []
    private var kids: [Int] = []

    // Results: a handle h is `none`, `-10 - e` for the single end e, or an index into
    // poolStart / poolCount (ends in `pool`, sorted, distinct).
    private static var none: Int32 { -3 }
    private var memo: [Int32]
    private var pool: [Int32] = []
    private var poolStart: [Int32] = []
    private var poolCount: [Int32] = []

    /// Set when a rule was re-entered at the same position without consuming input.
    private(set) var leftRecursion: String?
    /// Furthest input position at which some terminal was tried (for error messages).
    private(set) var furthest = 0

    /// `term(i, p)`: does terminal number `i` of `grammar.flat.terms` match input unit `p`?
    /// `assertion(i, p)`: does zero-width assertion `i` hold before unit `p`?
    init<T>(_ grammar: CompiledGrammar<T>, count: Int, term: @escaping (Int, Int) -> Bool,
            assertion: @escaping (Int, Int) -> Bool = { _, _ in true }) {
        let f = grammar.flat
        self.count = count
        self.kind = f.kind
        self.argA = f.argA
        self.argB = f.argB
        self.kids = f.kids
        self.ruleNode = f.ruleNode
        self.memo = Array(repeating: -1, count: f.kind.count * (count + 1))
        self.matchTerm = term
        self.matchAssertion = assertion
    }

    /// True when the rule matches the whole input.
    func accepts(rule name: String) -> Bool { ends(rule: name).last == count }

    /// The longest prefix the rule matches, or nil when it matches none (for messages).
    func longestPrefix(rule name: String) -> Int? { ends(rule: name).last }

    func ends(rule name: String) -> [Int] {
        guard let n = ruleNode[name] else { fatalError("no rule \(name)") }
        var out: [Int32] = []
        append(ends(n, 0), to: &out)
        return out.map(Int.init)
    }

    @inline(__always) private func append(_ h: Int32, to out: inout [Int32]) {
        if h <= -10 { out.append(-10 - h) }
        else if h >= 0 {
            var k = Int(poolStart[Int(h)])
            let e = k + Int(poolCount[Int(h)])
            while k < e { out.append(pool[k]); k += 1 }
        }
    }

    private func handle(_ xs: inout [Int32]) -> Int32 {
        if xs.isEmpty { return Recognizer.none }
        if xs.count == 1 { return -10 - xs[0] }
        if xs.count == 2 {
            if xs[0] == xs[1] { return -10 - xs[0] }
            if xs[0] > xs[1] { xs.swapAt(0, 1) }
        } else {
            xs.sort()
        }
        var w = 1
        for i in 1..<xs.count where xs[i] != xs[w - 1] { xs[w] = xs[i]; w += 1 }
        if w == 1 { return -10 - xs[0] }
        poolStart.append(Int32(pool.count))
        poolCount.append(Int32(w))
        pool.append(contentsOf: xs[0..<w])
        return Int32(poolStart.count - 1)
    }

    private func ends(_ node: Int, _ pos: Int) -> Int32 {
        switch kind[node] {
        case .term:
            if pos > furthest { furthest = pos }
            return pos < count && matchTerm(argA[node], pos) ? Int32(-10 - pos - 1) : Recognizer.none
        case .assertion:
            return matchAssertion(argA[node], pos) ? Int32(-10 - pos) : Recognizer.none
        case .empty:
            return Int32(-10 - pos)
        case .ref:
            return ends(argA[node], pos)
        default:
            break
        }
        let key = node * (count + 1) + pos
        let m = memo[key]
        if m != -1 {
            if m == -2 {
                if leftRecursion == nil { leftRecursion = "node \(node) re-entered at \(pos)" }
                return Recognizer.none
            }
            return m
        }
        memo[key] = -2
        let r = compute(node, pos)
        memo[key] = r
        return r
    }

    private func compute(_ node: Int, _ pos: Int) -> Int32 {
        var out: [Int32] = []
        switch kind[node] {
        case .seq:
            var cur: [Int32] = [Int32(pos)]
            var k = argA[node]
            while k < argB[node] {
                let child = kids[k]
                k += 1
                var next: [Int32] = []
                var j = 0
                while j < cur.count { append(ends(child, Int(cur[j])), to: &next); j += 1 }
                if next.isEmpty { return Recognizer.none }
                if next.count > 1 {
                    next.sort()
                    var w = 1
                    for i in 1..<next.count where next[i] != next[w - 1] { next[w] = next[i]; w += 1 }
                    next.removeLast(next.count - w)
                }
                cur = next
            }
            out = cur
        case .alt:
            var k = argA[node]
            while k < argB[node] { append(ends(kids[k], pos), to: &out); k += 1 }
        case .opt:
            out.append(Int32(pos))
            append(ends(argA[node], pos), to: &out)
        case .star, .plus:
            var frontier: [Int32] = []
            if kind[node] == .star { out.append(Int32(pos)); frontier.append(Int32(pos)) }
            else { append(ends(argA[node], pos), to: &out); frontier = out }
            var step: [Int32] = []
            var seen: Set<Int32>? = nil   // only for long results; a scan is faster for short ones
            while let p = frontier.popLast() {
                step.removeAll(keepingCapacity: true)
                append(ends(argA[node], Int(p)), to: &step)
                var j = 0
                while j < step.count {
                    let e = step[j]
                    j += 1
                    if seen == nil && out.count > 24 { seen = Set(out) }
                    if seen != nil {
                        if seen!.contains(e) { continue }
                    } else {
                        var dup = false
                        var q = 0
                        while q < out.count { if out[q] == e { dup = true; break }; q += 1 }
                        if dup { continue }
                    }
                    seen?.insert(e)
                    out.append(e)
                    frontier.append(e)
                }
            }
        case .except:
            var bs: [Int32] = []
            append(ends(argB[node], pos), to: &bs)
            var xs: [Int32] = []
            append(ends(argA[node], pos), to: &xs)
            out = xs.filter { !bs.contains($0) }
        default:
            fatalError("handled in ends")
        }
        return handle(&out)
    }
}

/// A character class: ranges of Unicode scalar values, possibly negated; `any` matches all.
struct CharClass: CustomStringConvertible {
    let ranges: [ClosedRange<UInt32>]
    let negated: Bool
    let any: Bool
    /// Membership of the ASCII characters, negation applied (a fast path).
    private let low: UInt64, high: UInt64

    init(ranges: [ClosedRange<UInt32>], negated: Bool = false, any: Bool = false) {
        self.ranges = ranges
        self.negated = negated
        self.any = any
        var lo: UInt64 = 0, hi: UInt64 = 0
        for c in UInt32(0)..<128 {
            let inside = any || (ranges.contains { $0.contains(c) } != negated)
            if inside { if c < 64 { lo |= 1 << UInt64(c) } else { hi |= 1 << UInt64(c - 64) } }
        }
        low = lo
        high = hi
    }

    static func char(_ c: UInt32) -> CharClass { CharClass(ranges: [c...c]) }
    static let anyChar = CharClass(ranges: [], any: true)

    func matches(_ c: UInt32) -> Bool {
        if c < 64 { return low & (1 << UInt64(c)) != 0 }
        if c < 128 { return high & (1 << UInt64(c - 64)) != 0 }
        if any { return true }
        var i = 0
        while i < ranges.count {
            if c >= ranges[i].lowerBound && c <= ranges[i].upperBound { return !negated }
            i += 1
        }
        return negated
    }

    var description: String {
        if any { return "." }
        let body = ranges.map { r -> String in
            func show(_ v: UInt32) -> String {
                if let s = Unicode.Scalar(v), v > 32, v < 127 { return String(Character(s)) }
                return String(format: "\\u{%x}", v)
            }
            return r.lowerBound == r.upperBound ? show(r.lowerBound) : show(r.lowerBound) + "-" + show(r.upperBound)
        }.joined()
        return "[" + (negated ? "^" : "") + body + "]"
    }
}

/// Recognizes a string (as Unicode scalars) with a character-level grammar.
func recognize(_ text: String, _ grammar: CompiledGrammar<CharClass>, rule: String) -> (ok: Bool, prefix: Int?, furthest: Int, leftRecursion: String?) {
    let scalars = Array(text.unicodeScalars.map(\.value))
    let classes = grammar.flat.terms
    let r = Recognizer(grammar, count: scalars.count, term: { t, i in classes[t].matches(scalars[i]) })
    let ok = r.accepts(rule: rule)
    return (ok, r.longestPrefix(rule: rule), r.furthest, r.leftRecursion)
}
