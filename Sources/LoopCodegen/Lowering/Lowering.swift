import Foundation
import LoopSema
import LoopInterpreter

/// The mid-level form between the typed program and LLVM IR. It makes the work explicit:
/// which texts are scanned, which keyword sets and regexes read each of them (fused into one
/// automaton per text), which counters run, and the param-free expressions of rules and scores.
public final class LoweredProgram {
    public let program: TypedProgram
    /// Rule conditions, score terms and lets with every function call inlined.
    var rules: [TExpr] = []
    var terms: [[(value: TExpr, condition: TExpr?)]] = []
    var lets: [TExpr] = []
    /// Texts that predicates read.
    var sources: [Source] = []
    var sourceIndex: [String: Int] = [:]
    /// Boolean predicates, answered by one fused automaton scan per source.
    var flags: [FlagPredicate] = []
    /// Counting predicates, each an anchored automaton run at every position.
    var counters: [CounterPredicate] = []
    /// Predicate results by the structural key of the call.
    var predicateOf: [String: PredicateRef] = [:]
    /// Built automata.
    var scans: [ScanPlan] = []

    enum Source {
        /// An input field read directly (case mappings are folded into the automata).
        case field(Int)
        /// Any other text: computed at run time, then scanned.
        case computed(TExpr)
    }
    enum PredicateRef {
        case flag(Int)
        /// Occurrences counted inside a fused scan (occurrences that can never overlap).
        case counted(Int)
        case counter(Int)
        /// A `sum_words` over keys of word characters only, summed in text order by its own scan.
        case weighted(Int)
        /// A `sum_words_negated`: the table's and the negators' anchored automata, run together.
        case negated(Int)
        case constant(Value)
    }

    struct FlagPredicate {
        let source: Int
        /// Patterns; the predicate holds when all (`all`) or any of them match.
        let patterns: [Pattern]
        let all: Bool
        /// Count the matches (the predicate is a number) instead of testing for one.
        var counted = false
        /// Assigned by planning: (scan index, first bit).
        var scan = 0
        var bits: [Int] = []
    }
    struct WeightedPredicate {
        let source: Int
        /// The case mappings its keys are read through (tables read through the same ones can
        /// share a scan: a word then matches at most one key of all of them).
        let maps: [ObjectIdentifier]
        let words: [[UInt8]]
        let keys: [Pattern]
        let weights: [Double]
        var scan = 0
        /// In a shared scan: which of its sums this is (nil: the scan is its own).
        var slot: Int? = nil
        /// For `sum_words_negated`: a key after one of these negators (whole words, in the same
        /// clause, fewer than `scope` words before it) subtracts its weight instead of adding it.
        var negation: Negation? = nil
    }
    struct Negation: Equatable {
        let negators: [[UInt8]]
        let scope: Double
        let patterns: [Pattern]
        static func == (a: Negation, b: Negation) -> Bool { a.negators == b.negators && a.scope.bitPattern == b.scope.bitPattern }
    }
    var weighted: [WeightedPredicate] = []
    /// The negation every negating table of a (source, mappings) shares in its scan: the first one
    /// seen; a table with other negators or another scope runs in the runtime.
    var negationOf: [String: Negation] = [:]

    struct CounterPredicate {
        let source: Int
        let patterns: [Pattern]
        let weights: [Double]?
        /// A flag predicate that tells whether any pattern occurs at all: when it does not, the
        /// count is 0 and the counting automaton never runs.
        var gate: Int? = nil
        var dfa: DFA? = nil
        var classMap: ClassMap? = nil
    }
    /// `sum_words_negated(t, table, negators, scope)`: two anchored automata (the table's keys
    /// with their weights, and the negators) read by one runtime call.
    struct NegatedPredicate {
        let source: Int
        let table: [Pattern]
        let weights: [Double]
        let negators: [Pattern]
        let scope: Double
        /// A flag predicate that tells whether any table key occurs at all.
        var gate: Int? = nil
        var tableDFA: DFA? = nil, tableClasses: ClassMap? = nil
        var negatorDFA: DFA? = nil, negatorClasses: ClassMap? = nil
    }
    var negated: [NegatedPredicate] = []

    /// One pass over a source's text that runs several scans in the same loop (the emitter's
    /// `emitSourceScanFunction`): flag automata and at most one shared word-table scan.
    struct ScanLoop: Equatable {
        let source: Int
        let flagScans: [Int]
        let rowScan: Int?
        var members: [Int] { flagScans + (rowScan.map { [$0] } ?? []) }
    }
    /// The fused loops, by source in order; a scan in none of them runs in a loop of its own.
    private(set) var loops: [ScanLoop] = []

    struct ScanPlan {
        let source: Int
        /// A DFA, or nil when the group runs as an NFA simulation (its DFA would be too large).
        let dfa: DFA?
        let nfa: NFA
        let classMap: ClassMap
        let patternCount: Int
        var states: Int { dfa?.stateCount ?? nfa.states.count }
        /// For a weighted scan: the key weights (the DFA reports key index + 1).
        var weights: [Double]? = nil
        /// For a scan shared by several word tables: per key (the DFA reports key index + 1),
        /// the sums it adds to and the weights, as rows (`rowStart[k] ..< rowStart[k + 1]`).
        var rows: (start: [Int32], sum: [Int32], weight: [Double], sums: Int)? = nil
        /// A flag automaton that shares its source with other flag automata (they run in one loop).
        var shared = false
        /// For a shared word scan with negating tables: the negators' automaton (unanchored, bit 0
        /// at the end of each occurrence), its class map, the scope, and which sums negate.
        var negation: (dfa: DFA, classMap: ClassMap, scope: Double, negating: [Bool])? = nil
        /// For a shared word scan without negation whose keys qualify: the keys by hash, and no
        /// automaton (`dfa` is nil).
        var wordHash: WordHash? = nil
    }

    public static let nodeBudget = 500_000
    /// States one automaton may have (LOOPAI_AUTOMATON_BUDGET overrides it, e.g. to test the limit).
    public static let stateBudget: Int = {
        if let v = ProcessInfo.processInfo.environment["LOOPAI_AUTOMATON_BUDGET"], let n = Int(v), n > 0 { return n }
        return 20_000
    }()
    var nodes = 0

    /// Shared word scans by hash where their keys qualify (`WordHash`), else automata.
    let hashWords: Bool

    public init(_ p: TypedProgram, hashWords: Bool = Codegen.hashWordsByDefault) throws {
        program = p
        self.hashWords = hashWords
        let timer = StageTimer(p.name)
        lets = try p.lets.map { try inline($0.value, []) }
        rules = try p.rules.map { try inline($0.condition, []) }
        terms = try p.scores.map { ts in try ts.map { (try inline($0.value, []), try $0.condition.map { try inline($0, []) }) } }
        for e in lets + rules { collect(e) }
        for ts in terms { for t in ts { collect(t.value); if let c = t.condition { collect(c) } } }
        timer.mark("inline and collect predicates")
        try plan()
        loops = Self.planLoops(scans, sourceCount: sources.count)
        timer.mark("plan and build automata")
    }

    /// Per source: when it has word tables, its first word-table scan runs with every flag
    /// automaton of the source; otherwise its shared flag automata run together. Further
    /// word-table scans of a source run in loops of their own.
    static func planLoops(_ scans: [ScanPlan], sourceCount: Int) -> [ScanLoop] {
        var loops: [ScanLoop] = []
        for si in 0..<sourceCount {
            let onSource = scans.indices.filter { scans[$0].source == si }
            let rowScans = onSource.filter { scans[$0].rows != nil }
            let flagDFAs = onSource.filter { scans[$0].dfa != nil && scans[$0].rows == nil && scans[$0].weights == nil }
            let flags = rowScans.isEmpty ? flagDFAs.filter { scans[$0].shared } : flagDFAs
            if !flags.isEmpty || !rowScans.isEmpty { loops.append(ScanLoop(source: si, flagScans: flags, rowScan: rowScans.first)) }
            for k in rowScans.dropFirst() { loops.append(ScanLoop(source: si, flagScans: [], rowScan: k)) }
        }
        return loops
    }

    // MARK: inlining

    /// Replaces calls by their bodies with the arguments substituted (functions are non-recursive).
    func inline(_ e: TExpr, _ args: [TExpr]) throws -> TExpr {
        nodes += 1
        if nodes > LoweredProgram.nodeBudget { throw CodegenError.tooLarge("the program expands to more than \(LoweredProgram.nodeBudget) expression nodes after inlining its functions") }
        func r(_ x: TExpr) throws -> TExpr { try inline(x, args) }
        var out = e
        switch e.kind {
        case .literal, .field, .letRef: return e
        case .param(let i): return args[i]
        case .call(let f, let xs):
            let a = try xs.map(r)
            return try inline(program.functions[f].body, a)
        case .builtin(let b, let xs): out.kind = .builtin(b, try xs.map(r))
        case .not(let x): out.kind = .not(try r(x))
        case .neg(let x): out.kind = .neg(try r(x))
        case .and(let a, let b): out.kind = .and(try r(a), try r(b))
        case .or(let a, let b): out.kind = .or(try r(a), try r(b))
        case .compare(let op, let a, let b): out.kind = .compare(op, try r(a), try r(b))
        case .arith(let op, let a, let b): out.kind = .arith(op, try r(a), try r(b))
        case .ifElse(let c, let a, let b): out.kind = .ifElse(try r(c), try r(a), try r(b))
        }
        return out
    }

    // MARK: predicates

    static let flagBuiltins: Set<Builtin> = [.contains, .starts_with, .ends_with, .contains_word, .contains_any, .contains_all,
                                             .contains_any_word, .starts_with_any, .ends_with_any, .one_of, .matches]
    static let counterBuiltins: Set<Builtin> = [.count, .count_word, .count_any, .count_words, .count_matches, .sum_words, .sum_words_negated]

    /// A structural key for an expression (equal keys, equal values for every input).
    func key(_ e: TExpr) -> String { TypedDump.expr(e, program) }

    /// The text a predicate reads, with the case mappings applied on the way (in order).
    func source(of e: TExpr) -> (source: Source, maps: [CaseMap], key: String)? {
        switch e.kind {
        case .field(let i): return (.field(i), [], "field:\(i)")
        case .letRef(let i): return source(of: lets[i])
        case .builtin(let b, let xs) where b == .lower || b == .upper:
            guard let inner = source(of: xs[0]) else { return nil }
            if case .field = inner.source {
                return (inner.source, inner.maps + [b == .lower ? CaseMap.lower : CaseMap.upper], inner.key)
            }
            return (.computed(e), [], "computed:" + key(e))
        case .literal: return nil
        default: return (.computed(e), [], "computed:" + key(e))
        }
    }

    func sourceIndex(_ s: Source, _ k: String) -> Int {
        if let i = sourceIndex[k] { return i }
        sources.append(s); sourceIndex[k] = sources.count - 1
        return sources.count - 1
    }

    func collect(_ e: TExpr) {
        switch e.kind {
        case .literal, .field, .letRef, .param, .call: return
        case .not(let x), .neg(let x): collect(x)
        case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b), .arith(_, let a, let b): collect(a); collect(b)
        case .ifElse(let c, let a, let b): collect(c); collect(a); collect(b)
        case .builtin(let b, let xs):
            xs.forEach(collect)
            guard LoweredProgram.flagBuiltins.contains(b) || LoweredProgram.counterBuiltins.contains(b) else { return }
            let k = key(e)
            if predicateOf[k] != nil { return }
            guard let (src, maps, skey) = source(of: xs[0]) else {
                // A constant text: evaluate the predicate now with the reference interpreter.
                predicateOf[k] = .constant(constantFold(e))
                return
            }
            if case .computed(let inner) = src { collect(inner) }
            let si = sourceIndex(src, skey)
            let arg = xs[1]
            func lit(_ bytes: [UInt8]) -> Pattern { .literal(bytes, through: maps) }
            func word(_ bytes: [UInt8]) -> Pattern { .concat([.assert(.notWordBefore), lit(bytes), .assert(.notWordAfter)]) }
            var text: [UInt8] = []
            var list: [[UInt8]] = []
            if case .literal(.text(let t)) = arg.kind { text = t }
            if case .literal(.list(let l)) = arg.kind { list = program.lists[l] }
            func flag(_ ps: [Pattern], all: Bool = false) {
                flags.append(FlagPredicate(source: si, patterns: ps, all: all)); predicateOf[k] = .flag(flags.count - 1)
            }
            func counted(_ ps: [Pattern]) {
                var f = FlagPredicate(source: si, patterns: ps, all: false)
                f.counted = true
                flags.append(f); predicateOf[k] = .counted(flags.count - 1)
            }
            func counter(_ ps: [Pattern], weights: [Double]? = nil) {
                var c = CounterPredicate(source: si, patterns: ps, weights: weights)
                flags.append(FlagPredicate(source: si, patterns: [.alt(ps)], all: false))
                c.gate = flags.count - 1
                counters.append(c); predicateOf[k] = .counter(counters.count - 1)
            }
            switch b {
            case .contains: if text.isEmpty { predicateOf[k] = .constant(.bool(true)) } else { flag([lit(text)]) }
            case .starts_with: if text.isEmpty { predicateOf[k] = .constant(.bool(true)) } else { flag([.concat([.assert(.start), lit(text)])]) }
            case .ends_with: if text.isEmpty { predicateOf[k] = .constant(.bool(true)) } else { flag([.concat([lit(text), .assert(.end)])]) }
            case .contains_word: if text.isEmpty { predicateOf[k] = .constant(.bool(false)) } else { flag([word(text)]) }
            case .contains_any: flag([.alt(list.map(lit))])
            case .contains_all: if list.isEmpty { predicateOf[k] = .constant(.bool(true)) } else { flag(list.map(lit), all: true) }
            case .contains_any_word: flag([.alt(list.map(word))])
            case .starts_with_any: flag([.alt(list.map { .concat([.assert(.start), lit($0)]) })])
            case .ends_with_any: flag([.alt(list.map { .concat([lit($0), .assert(.end)]) })])
            case .one_of: flag([.alt(list.map { .concat([.assert(.start), lit($0), .assert(.end)]) })])
            case .matches:
                guard case .literal(.regex(let r)) = arg.kind else { return }
                flag([.regex(program.regexes[r].node, through: maps)])
            // Occurrences that can never overlap are counted inside the fused scan; the others run
            // the anchored leftmost-longest counter.
            case .count:
                if text.isEmpty { predicateOf[k] = .constant(.number(0)) }
                else if LoweredProgram.neverOverlap([text], wholeWords: false) { counted([lit(text)]) } else { counter([lit(text)]) }
            case .count_word:
                if text.isEmpty { predicateOf[k] = .constant(.number(0)) }
                else if LoweredProgram.wordOnly(text) { counted([word(text)]) } else { counter([word(text)]) }
            case .count_any:
                if LoweredProgram.neverOverlap(list, wholeWords: false) { counted([.alt(list.map(lit))]) } else { counter(list.map(lit)) }
            case .count_words:
                if LoweredProgram.neverOverlap(list, wholeWords: true) { counted([.alt(list.map(word))]) } else { counter(list.map(word)) }

            case .count_matches:
                guard case .literal(.regex(let r)) = arg.kind else { return }
                counter([.regex(program.regexes[r].node, through: maps)])
            case .sum_words:
                guard case .literal(.table(let t)) = arg.kind else { return }
                let entries = program.tables[t]
                if entries.allSatisfy({ LoweredProgram.wordOnly($0.key) }) {
                    weighted.append(WeightedPredicate(source: si, maps: maps.map(ObjectIdentifier.init), words: entries.map(\.key),
                                                      keys: entries.map { word($0.key) }, weights: entries.map(\.weight)))
                    predicateOf[k] = .weighted(weighted.count - 1)
                } else {
                    counter(entries.map { word($0.key) }, weights: entries.map(\.weight))
                }
            case .sum_words_negated:
                guard case .literal(.table(let t)) = arg.kind, case .literal(.list(let l)) = xs[2].kind,
                      case .literal(.number(let scope)) = xs[3].kind else { return }
                let entries = program.tables[t]
                // Word keys and negators that are whole words which never overlap: the table joins
                // its source's shared word scan, which keeps the negation state as it reads.
                let negators = program.lists[l]
                let neg = Negation(negators: negators, scope: scope, patterns: negators.map(word))
                let sharedKey = "\(si) \(maps.map(ObjectIdentifier.init))"
                if entries.allSatisfy({ LoweredProgram.wordOnly($0.key) }) && LoweredProgram.negatorsShareAScan(negators)
                    && (negationOf[sharedKey] ?? neg) == neg {
                    negationOf[sharedKey] = neg
                    var w = WeightedPredicate(source: si, maps: maps.map(ObjectIdentifier.init), words: entries.map(\.key),
                                              keys: entries.map { word($0.key) }, weights: entries.map(\.weight))
                    w.negation = neg
                    weighted.append(w)
                    predicateOf[k] = .weighted(weighted.count - 1)
                    return
                }
                var n = NegatedPredicate(source: si, table: entries.map { word($0.key) }, weights: entries.map(\.weight),
                                         negators: program.lists[l].map(word), scope: scope)
                flags.append(FlagPredicate(source: si, patterns: [.alt(n.table)], all: false))
                n.gate = flags.count - 1
                negated.append(n); predicateOf[k] = .negated(negated.count - 1)
            default: return
            }
        }
    }

    /// Negators a shared word scan can follow: each starts and ends with a word unit (so a
    /// negator's whole-word occurrence ends where a word ends and a key can only start later) and no
    /// two occurrences overlap (so every occurrence is one of the leftmost-longest ones).
    static func negatorsShareAScan(_ negators: [[UInt8]]) -> Bool {
        !negators.isEmpty && negators.allSatisfy { n in
            let u = TextSemantics.units(n).units
            return !u.isEmpty && TextSemantics.isWord(u.first!) && TextSemantics.isWord(u.last!)
        } && neverOverlap(negators, wholeWords: true)
    }

    /// Every character is a word character: whole-word occurrences of such keywords are whole
    /// runs of word characters, so two of them never overlap.
    static func wordOnly(_ bytes: [UInt8]) -> Bool { TextSemantics.units(bytes).units.allSatisfy(TextSemantics.isWord) }

    /// True when no two occurrences of the keywords (whole-word occurrences with `wholeWords`)
    /// can ever overlap or start together. Then leftmost-longest counting equals counting every
    /// occurrence, which a fused scan can do in its single pass.
    static func neverOverlap(_ keywords: [[UInt8]], wholeWords: Bool) -> Bool {
        let ks = keywords.map { TextSemantics.units($0).units }
        func word(_ u: UInt32) -> Bool { TextSemantics.isWord(u) }
        for a in ks {
            for b in ks {
                for d in 0..<a.count {
                    if d == 0 && a == b { continue }
                    // b starting at offset d of a: the overlapping units must agree.
                    let n = min(a.count - d, b.count)
                    if !(0..<n).allSatisfy({ a[d + $0] == b[$0] }) { continue }
                    if wholeWords {
                        if d > 0 && word(a[d - 1]) { continue }
                        if d == 0 && a.count < b.count && word(b[a.count]) { continue }
                        if d == 0 && b.count < a.count && word(a[b.count]) { continue }
                        if d > 0 && d + b.count < a.count && word(a[d + b.count]) { continue }
                        if d > 0 && a.count - d < b.count && word(b[a.count - d]) { continue }
                    }
                    return false
                }
            }
        }
        return true
    }

    func constantFold(_ e: TExpr) -> Value {
        let interp = Interpreter(program)
        return interp.evaluateConstant(e)
    }

    // MARK: automata

    /// Per-automaton state budgets. Literal keyword sets combine into one Aho–Corasick-like
    /// automaton; regexes are added to a group while the group stays small, else start a new one.
    public static var literalGroupBudget: Int { stateBudget }
    public static let regexGroupBudget = 2_000
    public static let singleRegexBudget = 8_000

    func isLiteral(_ p: Pattern) -> Bool {
        switch p {
        case .rep: return false
        case .empty, .set, .assert: return true
        case .concat(let xs), .alt(let xs): return xs.allSatisfy(isLiteral)
        }
    }

    func plan() throws {
        var bySource: [Int: [Int]] = [:]
        for (i, f) in flags.enumerated() { bySource[f.source, default: []].append(i) }
        var totalStates = 0
        for s in bySource.keys.sorted() {
            let preds = bySource[s]!
            // One class map for every automaton of this source, so one loop can step them all.
            var all = NFA()
            for fi in preds { for p in flags[fi].patterns { all.add(p, id: 0) } }
            let cm = ClassMap(sets: all.sets)
            let firstScan = scans.count
            let literal = preds.filter { flags[$0].patterns.allSatisfy(isLiteral) }
            let regex = preds.filter { !flags[$0].patterns.allSatisfy(isLiteral) }
            // Literal predicates: as few automata as the 64-bit masks allow.
            var group: [Int] = []
            var bits = 0
            for fi in literal {
                if bits + flags[fi].patterns.count > 64 { totalStates += try flushGroup(s, group, cm, budget: LoweredProgram.literalGroupBudget); group = []; bits = 0 }
                group.append(fi); bits += flags[fi].patterns.count
            }
            if !group.isEmpty { totalStates += try flushGroup(s, group, cm, budget: LoweredProgram.literalGroupBudget) }
            // Regex predicates: grouped while the product of their sizes (an upper bound of the
            // combined automaton) stays under the budget, else tried; a regex whose DFA alone is
            // too large runs in an NFA simulation (still linear time).
            group = []; bits = 0
            var groupBound = 1
            // Each regex's own automaton, built on both cores at once (they are independent).
            prebuildSingles(s, regex, cm)
            var nfaGroup: [Int] = []
            var nfaBits = 0
            for fi in regex {
                guard let single = try? makeScan(s, [fi], cm, budget: LoweredProgram.singleRegexBudget) else {
                    if nfaBits + flags[fi].patterns.count > 64 { totalStates += try flushGroup(s, nfaGroup, cm, budget: 0, asNFA: true); nfaGroup = []; nfaBits = 0 }
                    nfaGroup.append(fi); nfaBits += flags[fi].patterns.count
                    continue
                }
                let size = single.0.states
                if !group.isEmpty && bits + flags[fi].patterns.count <= 64 {
                    if groupBound * size <= LoweredProgram.regexGroupBudget {
                        group.append(fi); bits += flags[fi].patterns.count; groupBound *= size
                        continue
                    }
                    if let trial = try? makeScan(s, group + [fi], cm, budget: LoweredProgram.regexGroupBudget) {
                        group.append(fi); bits += flags[fi].patterns.count; groupBound = trial.0.states
                        continue
                    }
                }
                if !group.isEmpty { totalStates += try flushGroup(s, group, cm, budget: LoweredProgram.stateBudget) }
                group = [fi]; bits = flags[fi].patterns.count; groupBound = size
            }
            if !group.isEmpty { totalStates += try flushGroup(s, group, cm, budget: LoweredProgram.stateBudget) }
            if !nfaGroup.isEmpty { totalStates += try flushGroup(s, nfaGroup, cm, budget: 0, asNFA: true) }
            let dfaScans = (firstScan..<scans.count).filter { scans[$0].dfa != nil }
            if dfaScans.count > 1 { for k in dfaScans { scans[k].shared = true } }
        }
        // Word tables read from the same text through the same mappings share one scan: a word
        // of the text is at most one of their keys, and its match adds a row of weights, one
        // per table that holds it; each sum still gets its weights in text order.
        var groups: [String: [Int]] = [:]
        for (i, w) in weighted.enumerated() { groups["\(w.source) \(w.maps)", default: []].append(i) }
        for members in groups.values.sorted(by: { $0[0] < $1[0] }) where members.count > 1 || members.contains(where: { weighted[$0].negation != nil }) {
            var keyOf: [[UInt8]: Int] = [:]
            var keys: [Pattern] = []
            var entries: [[(sum: Int32, weight: Double)]] = []
            for (slot, i) in members.enumerated() {
                weighted[i].slot = slot
                for (word, (key, weight)) in zip(weighted[i].words, zip(weighted[i].keys, weighted[i].weights)) {
                    let k: Int
                    if let known = keyOf[word] { k = known } else { k = keys.count; keyOf[word] = k; keys.append(key); entries.append([]) }
                    entries[k].append((Int32(slot), weight))
                }
            }
            var nfa = NFA()
            for (k, p) in keys.enumerated() { nfa.add(p, id: k) }
            let cm = ClassMap(sets: nfa.sets)
            let negates = members.contains { weighted[$0].negation != nil }
            let hash = negates || !hashWords ? nil : WordHash(keys: keys, classMap: cm)
            let dfa = hash == nil ? try build(nfa, cm, unanchored: true, budget: LoweredProgram.stateBudget, firstId: true) : nil
            var plan = ScanPlan(source: weighted[members[0]].source, dfa: dfa, nfa: nfa, classMap: cm, patternCount: keys.count)
            plan.wordHash = hash
            var start: [Int32] = [0]
            for e in entries { start.append(start.last! + Int32(e.count)) }
            plan.rows = (start, entries.flatMap { $0.map(\.sum) }, entries.flatMap { $0.map(\.weight) }, members.count)
            if let neg = members.lazy.compactMap({ self.weighted[$0].negation }).first {
                var nn = NFA()
                nn.add(.alt(neg.patterns), id: 0)
                let ncm = ClassMap(sets: nn.sets)
                let ndfa = try build(nn, ncm, unanchored: true, budget: LoweredProgram.stateBudget)
                plan.negation = (ndfa, ncm, neg.scope, members.map { weighted[$0].negation != nil })
                totalStates += ndfa.stateCount
            }
            for i in members { weighted[i].scan = scans.count }
            scans.append(plan)
            totalStates += dfa?.stateCount ?? 0
        }
        for i in weighted.indices where weighted[i].slot == nil {
            var nfa = NFA()
            for (k, p) in weighted[i].keys.enumerated() { nfa.add(p, id: k) }
            let cm = ClassMap(sets: nfa.sets)
            let dfa = try build(nfa, cm, unanchored: true, budget: LoweredProgram.stateBudget, firstId: true)
            weighted[i].scan = scans.count
            var plan = ScanPlan(source: weighted[i].source, dfa: dfa, nfa: nfa, classMap: cm, patternCount: weighted[i].keys.count)
            plan.weights = weighted[i].weights
            scans.append(plan)
            totalStates += dfa.stateCount
        }
        for i in counters.indices {
            var nfa = NFA()
            for (k, p) in counters[i].patterns.enumerated() { nfa.add(p, id: k) }
            let cm = ClassMap(sets: nfa.sets)
            counters[i].classMap = cm
            counters[i].dfa = try build(nfa, cm, unanchored: false, budget: LoweredProgram.stateBudget)
            totalStates += counters[i].dfa!.stateCount
        }
        for i in negated.indices {
            var tn = NFA(), nn = NFA()
            for (k, p) in negated[i].table.enumerated() { tn.add(p, id: k) }
            for (k, p) in negated[i].negators.enumerated() { nn.add(p, id: k) }
            let tc = ClassMap(sets: tn.sets), nc = ClassMap(sets: nn.sets)
            negated[i].tableClasses = tc
            negated[i].negatorClasses = nc
            negated[i].tableDFA = try build(tn, tc, unanchored: false, budget: LoweredProgram.stateBudget)
            negated[i].negatorDFA = try build(nn, nc, unanchored: false, budget: LoweredProgram.stateBudget)
            totalStates += negated[i].tableDFA!.stateCount + negated[i].negatorDFA!.stateCount
        }
        if totalStates > LoweredProgram.totalStateBudget {
            throw CodegenError.tooLarge("its automata need \(totalStates) states in all (the limit is \(LoweredProgram.totalStateBudget))")
        }
    }

    public static let totalStateBudget = 200_000

    /// Builds the automaton for a group of flag predicates on one source.
    /// Builds the single-predicate automata of `preds` concurrently and caches them; a predicate
    /// whose automaton exceeds the single-regex budget is simply not cached (planning retries it).
    func prebuildSingles(_ source: Int, _ preds: [Int], _ cm: ClassMap) {
        let patterns = preds.map { flags[$0].patterns }
        var results = [DFA?](repeating: nil, count: preds.count)
        var nfas = [NFA](repeating: NFA(), count: preds.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: preds.count) { i in
            var nfa = NFA()
            for (bit, p) in patterns[i].enumerated() { nfa.add(p, id: bit) }
            let dfa = try? DFA(nfa: nfa, classMap: cm, unanchored: true, budget: LoweredProgram.singleRegexBudget)
            lock.lock(); results[i] = dfa; nfas[i] = nfa; lock.unlock()
        }
        for (i, fi) in preds.enumerated() {
            guard let dfa = results[i] else { continue }
            let bits = Array(0..<patterns[i].count)
            scanCache[[fi]] = (ScanPlan(source: source, dfa: dfa, nfa: nfas[i], classMap: cm, patternCount: bits.count), [bits])
        }
    }

    /// Automata already built while grouping, reused when the group is final.
    var scanCache: [[Int]: (ScanPlan, [[Int]])] = [:]

    func makeScan(_ source: Int, _ group: [Int], _ cm: ClassMap, budget: Int, asNFA: Bool = false) throws -> (ScanPlan, [[Int]]) {
        if !asNFA, let hit = scanCache[group] { return hit }
        var nfa = NFA()
        var bit = 0
        var bitsOf: [[Int]] = []
        for fi in group {
            var bits: [Int] = []
            for p in flags[fi].patterns { nfa.add(p, id: bit); bits.append(bit); bit += 1 }
            bitsOf.append(bits)
        }
        // An NFA simulation indexes classes by its own sets, so it keeps a class map of its own.
        let map = asNFA ? ClassMap(sets: nfa.sets) : cm
        // A group whose members' automata are built already is their product (cheap, and the
        // same automaton as a subset construction over the whole group).
        let parts = group.count > 1 ? group.compactMap { scanCache[[$0]]?.0.dfa } : []
        let dfa: DFA?
        if asNFA { dfa = nil }
        else if parts.count == group.count {
            dfa = try product(parts, bitOffsets: bitsOf.map { $0.first ?? 0 }, budget: budget)
        } else { dfa = try build(nfa, map, unanchored: true, budget: budget) }
        let result = (ScanPlan(source: source, dfa: dfa, nfa: nfa, classMap: map, patternCount: bit), bitsOf)
        if !asNFA { scanCache[group] = result }
        return result
    }

    func flushGroup(_ source: Int, _ group: [Int], _ cm: ClassMap, budget: Int, asNFA: Bool = false) throws -> Int {
        let (plan, bitsOf) = try makeScan(source, group, cm, budget: max(budget, group.count == 1 ? LoweredProgram.stateBudget : budget), asNFA: asNFA)
        for (k, fi) in group.enumerated() { flags[fi].bits = bitsOf[k]; flags[fi].scan = scans.count }
        scans.append(plan)
        return plan.states
    }

    func product(_ parts: [DFA], bitOffsets: [Int], budget: Int) throws -> DFA {
        let timer = StageTimer(program.name)
        do {
            let dfa = try DFA(product: parts, bitOffsets: bitOffsets, budget: budget)
            timer.mark("product of \(parts.count) automata: \(dfa.stateCount) states")
            return dfa
        } catch let e as AutomatonTooLarge {
            timer.mark("product of \(parts.count) automata abandoned at \(e.limit) states")
            throw CodegenError.tooLarge("a pattern automaton needs more than \(e.limit) states; split large keyword lists or simplify the regexes that read the same text")
        }
    }

    func build(_ nfa: NFA, _ cm: ClassMap, unanchored: Bool, budget: Int, firstId: Bool = false) throws -> DFA {
        let timer = StageTimer(program.name)
        do {
            let dfa = try DFA(nfa: nfa, classMap: cm, unanchored: unanchored, budget: budget, firstId: firstId)
            timer.mark("automaton of \(dfa.stateCount) states (\(nfa.states.count) NFA states, \(cm.count) classes)")
            return dfa
        } catch let e as AutomatonTooLarge {
            timer.mark("automaton abandoned at \(e.limit) states")
            throw CodegenError.tooLarge("a pattern automaton needs more than \(e.limit) states; split large keyword lists or simplify the regexes that read the same text")
        }
    }

    /// How a flag scan runs in its source's shared loop (Emitter.emitSourceScanFunction).
    enum FlagScanMode {
        /// Its automaton steps with the others.
        case automaton
        /// It remembers only the last unit's class (`DFA.memoryless`): one table entry per unit.
        case memoryless(perClass: [Int64], atStart: Int64)
        /// It cannot match without a unit of these classes (`DFA.trigger`): the loop notes whether
        /// one occurs, and the automaton runs alone on the texts that hold one.
        case triggered(classes: [Bool])
    }

    /// Bytes most texts hold (letters, space): a flag scan triggered by one of them would run its
    /// pass on nearly every text, so it keeps its automaton in the shared loop.
    static let commonText = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ".utf8)

    func flagScanMode(_ k: Int) -> FlagScanMode {
        let plan = scans[k]
        guard let d = plan.dfa, plan.rows == nil else { return .automaton }
        if let m = d.memoryless(start: Int(d.start[1])) { return .memoryless(perClass: m.perClass, atStart: m.atStart) }
        if let classesIn = d.trigger(start: Int(d.start[1])),
           LoweredProgram.commonText.allSatisfy({ !classesIn[Int(plan.classMap.ascii[Int($0)])] }) {
            return .triggered(classes: classesIn)
        }
        return .automaton
    }

    /// A summary for `loopai dump mir`.
    public var summary: String {
        var s = "sources:\n"
        for (i, src) in sources.enumerated() {
            switch src {
            case .field(let f): s += "  source#\(i) field \(program.fields[f].name)\n"
            case .computed(let e): s += "  source#\(i) computed \(key(e))\n"
            }
        }
        s += "fused scans:\n"
        for (i, sc) in scans.enumerated() {
            if let h = sc.wordHash {
                s += "  scan#\(i) source#\(sc.source): \(sc.patternCount) words by hash (\(h.slots.count) slots, runs of up to \(h.maxLength) units), \(sc.classMap.count) unit classes\n"
                continue
            }
            s += "  scan#\(i) source#\(sc.source): \(sc.patternCount) patterns, \(sc.dfa == nil ? "NFA" : "DFA") with \(sc.states) states, \(sc.classMap.count) unit classes\n"
        }
        s += "scan loops (one pass over the text each; other scans run alone):\n"
        if loops.isEmpty { s += "  (none)\n" }
        for l in loops {
            s += "  source#\(l.source): \(l.members.map { "scan#\($0)" }.joined(separator: " + "))\n"
            for k in l.flagScans {
                switch flagScanMode(k) {
                case .automaton: break
                case .memoryless: s += "    scan#\(k): remembers only the last unit's class: one table entry per unit, no state\n"
                case .triggered(let classesIn):
                    s += "    scan#\(k): cannot match without a unit of \(classesIn.filter { $0 }.count) of its \(classesIn.count) classes: runs alone on texts that hold one\n"
                }
            }
        }
        s += "flag predicates:\n"
        for (k, ref) in predicateOf.sorted(by: { $0.key < $1.key }) {
            switch ref {
            case .flag(let i): s += "  flag#\(i) scan#\(flags[i].scan) bits \(flags[i].bits)\(flags[i].all ? " (all)" : "")  \(k)\n"
            case .counted(let i): s += "  counted#\(i) scan#\(flags[i].scan) bit \(flags[i].bits)  \(k)\n"
            case .weighted(let i): s += "  weighted#\(i) scan#\(weighted[i].scan)\(weighted[i].slot.map { " sum \($0)" } ?? "") \(weighted[i].keys.count) keys  \(k)\n"
            case .counter(let i): s += "  counter#\(i) source#\(counters[i].source) \(counters[i].dfa!.stateCount) states  \(k)\n"
            case .negated(let i):
                s += "  negated#\(i) source#\(negated[i].source) \(negated[i].tableDFA!.stateCount)+\(negated[i].negatorDFA!.stateCount) states  \(k)\n"
            case .constant(let v): s += "  constant \(v)  \(k)\n"
            }
        }
        return s
    }
}

/// Why a program could not be compiled (it still runs in the interpreter).
public enum CodegenError: Error, CustomStringConvertible {
    case tooLarge(String)
    case llvm(String)
    public var description: String {
        switch self {
        case .tooLarge(let m): return "program too large to compile: \(m)"
        case .llvm(let m): return "LLVM: \(m)"
        }
    }
}
