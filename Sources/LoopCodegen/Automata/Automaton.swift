import LoopSema

/// The partition of the unit space into classes that every set of a program respects.
struct ClassMap {
    /// For units < 128.
    var ascii: [Int32]
    /// Interval starts for units >= 128 (first is 128) and their classes.
    var bounds: [UInt32]
    var boundClass: [Int32]
    var count: Int
    /// Whether each class holds word characters.
    var isWord: [Bool]
    /// membership[row][class]; `rows` gives the row of each set.
    var membership: [[Bool]]
    var rows: [UnitSet: Int] = [:]

    /// Whether both maps put every unit in the same class (one class table serves both).
    func assignsSameClasses(as o: ClassMap) -> Bool { ascii == o.ascii && bounds == o.bounds && boundClass == o.boundClass }

    init(sets: [UnitSet]) {
        var points = Set<UInt32>([0, 128])
        for s in sets + [UnitSet.word] {
            for r in s.ranges {
                points.insert(r.lowerBound)
                if r.upperBound < UnitSet.maxUnit { points.insert(r.upperBound + 1) }
            }
        }
        let starts = points.sorted()
        var signatureClass: [[Bool]: Int32] = [:]
        var classOfInterval: [Int32] = []
        var member: [[Bool]] = Array(repeating: [], count: sets.count)
        var words: [Bool] = []
        for s in starts {
            var sig = sets.map { $0.contains(s) }
            sig.append(UnitSet.word.contains(s))
            if let c = signatureClass[sig] { classOfInterval.append(c); continue }
            let c = Int32(signatureClass.count)
            signatureClass[sig] = c
            classOfInterval.append(c)
            for k in sets.indices { member[k].append(sig[k]) }
            words.append(sig.last!)
        }
        func classOf(_ u: UInt32) -> Int32 {
            var lo = 0, hi = starts.count - 1
            while lo < hi { let mid = (lo + hi + 1) / 2; if starts[mid] <= u { lo = mid } else { hi = mid - 1 } }
            return classOfInterval[lo]
        }
        ascii = (0..<128).map { classOf(UInt32($0)) }
        var b: [UInt32] = [], bc: [Int32] = []
        for (k, s) in starts.enumerated() where s >= 128 { b.append(s); bc.append(classOfInterval[k]) }
        bounds = b; boundClass = bc
        count = signatureClass.count
        isWord = words
        membership = member
        for (k, set) in sets.enumerated() where rows[set] == nil { rows[set] = k }
    }

    func classOf(_ u: UInt32) -> Int {
        if u < 128 { return Int(ascii[Int(u)]) }
        var lo = 0, hi = bounds.count - 1
        while lo < hi { let mid = (lo + hi + 1) / 2; if bounds[mid] <= u { lo = mid } else { hi = mid - 1 } }
        return Int(boundClass[lo])
    }
}

/// Thompson NFA over set indices, with assertions as zero-width states.
struct NFA {
    enum State {
        case unit(set: Int, next: Int)
        case split([Int])
        case assert(Assertion, next: Int)
        case match(Int)
    }
    var states: [State] = []
    var sets: [UnitSet] = []
    var setIndex: [UnitSet: Int] = [:]
    var starts: [Int] = []

    mutating func intern(_ s: UnitSet) -> Int {
        if let i = setIndex[s] { return i }
        sets.append(s); setIndex[s] = sets.count - 1
        return sets.count - 1
    }

    /// Adds a pattern; `id` is reported when it matches.
    mutating func add(_ p: Pattern, id: Int) {
        let m = states.count
        states.append(.match(id))
        starts.append(build(p, next: m))
    }

    /// Builds `p` so that it continues to `next`; returns its entry state.
    mutating func build(_ p: Pattern, next: Int) -> Int {
        switch p {
        case .empty: return next
        case .set(let s):
            states.append(.unit(set: intern(s), next: next)); return states.count - 1
        case .assert(let a):
            states.append(.assert(a, next: next)); return states.count - 1
        case .concat(let xs):
            var n = next
            for x in xs.reversed() { n = build(x, next: n) }
            return n
        case .alt(let xs):
            let entries = xs.map { build($0, next: next) }
            states.append(.split(entries)); return states.count - 1
        case .rep(let x, let mn, let mx):
            var n = next
            if let mx {
                for _ in mn..<mx {
                    let body = build(x, next: n)
                    states.append(.split([body, next]))
                    n = states.count - 1
                }
            } else {
                // loop: split(body, next); body continues to the split
                let loop = states.count
                states.append(.split([]))
                let body = build(x, next: loop)
                states[loop] = .split([body, n])
                n = loop
            }
            for _ in 0..<mn { n = build(x, next: n) }
            return n
        }
    }
}

/// Thrown when an automaton exceeds its state budget.
public struct AutomatonTooLarge: Error {
    public let states: Int
    public let limit: Int
}

/// A DFA over unit classes. Matches are reported on transitions (they depend on the next unit
/// through word-boundary assertions) and at the end of the text.
struct DFA {
    var trans: [Int32] = []        // state * classes + class
    var out: [Int64] = []          // unanchored: pattern bit mask; anchored: pattern id + 1
    var finalOut: [Int64] = []
    var start: [Int32] = [0, 0, 0, 0]   // [prevWord * 2 + atStart]
    var stateCount = 0
    /// Unanchored: per state, whether no pattern is under way in it (empty when not known).
    var idle: [Bool] = []
    let classes: Int

    /// A DFA state under construction: its set of NFA states and the situation it was entered
    /// in. The hash is computed once (FNV-1a), so interning a state hashes one word, not the set.
    struct Key: Hashable {
        let set: [Int32]; let prevWord: Bool; let atStart: Bool
        let hash: Int
        init(set: [Int32], prevWord: Bool, atStart: Bool) {
            self.set = set; self.prevWord = prevWord; self.atStart = atStart
            hash = Signature.fnv(set, seed: (prevWord ? 2 : 0) | (atStart ? 1 : 0))
        }
        static func == (a: Key, b: Key) -> Bool { a.hash == b.hash && a.prevWord == b.prevWord && a.atStart == b.atStart && a.set == b.set }
        func hash(into h: inout Hasher) { h.combine(hash) }
    }

    /// A list of small integers with its hash computed once.
    struct Signature: Hashable {
        let values: [Int32]
        let hash: Int
        init(_ values: [Int32]) { self.values = values; hash = Signature.fnv(values, seed: 0) }
        static func == (a: Signature, b: Signature) -> Bool { a.hash == b.hash && a.values == b.values }
        func hash(into h: inout Hasher) { h.combine(hash) }
        static func fnv(_ xs: [Int32], seed: Int) -> Int {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(seed)
            for x in xs { h = (h ^ UInt64(UInt32(bitPattern: x))) &* 0x100_0000_01b3 }
            return Int(bitPattern: UInt(h))
        }
    }

    /// `unanchored`: patterns may start anywhere and `out` holds bit masks (≤ 64 patterns);
    /// anchored: one attempt from the start and `out` holds the longest... the matched pattern id + 1
    /// (the lowest id when several end together).
    init(nfa: NFA, classMap: ClassMap, unanchored: Bool, budget: Int, firstId: Bool = false) throws {
        classes = classMap.count
        let classes = self.classes
        let n = nfa.states.count
        // accepts[set * classes + class]: whether the NFA's unit set holds that class (flat, so the
        // inner loops read one array).
        var accepts = [Bool](repeating: false, count: nfa.sets.count * classes)
        for (k, set) in nfa.sets.enumerated() {
            let row = classMap.membership[classMap.rows[set]!]
            for c in 0..<classes where row[c] { accepts[k * classes + c] = true }
        }
        // Split closures, computed once per NFA state (assertions stay in the set, unresolved),
        // kept flat: closure of s = closure[closureAt[s]..<closureAt[s + 1]].
        var mark = [Int](repeating: 0, count: n)
        var gen = 0
        var closure: [Int32] = []
        var closureAt = [Int](repeating: 0, count: n + 1)
        var stack: [Int] = []
        for s in 0..<n {
            gen += 1
            closureAt[s] = closure.count
            stack.append(s)
            while let x = stack.popLast() {
                if mark[x] == gen { continue }
                mark[x] = gen
                if case .split(let xs) = nfa.states[x] { stack += xs } else { closure.append(Int32(x)) }
            }
        }
        closureAt[n] = closure.count
        var startSet: [Int32] = []
        do {
            gen += 1
            for st in nfa.starts { for x in closure[closureAt[st]..<closureAt[st + 1]] where mark[Int(x)] != gen { mark[Int(x)] = gen; startSet.append(x) } }
            startSet.sort()
        }
        var keys: [Key] = [Key(set: [], prevWord: false, atStart: false)]   // state 0: dead
        // State 0 is dead; unanchored automata never die, so its key stays free for the idle state.
        var index: [Key: Int] = unanchored ? [:] : [keys[0]: 0]
        var trans: [Int32] = Array(repeating: 0, count: classes)
        var out: [Int64] = Array(repeating: 0, count: classes)
        var finalOut: [Int64] = [0]
        func encode(_ ms: [Int]) -> Int64 {
            if ms.isEmpty { return 0 }
            if unanchored && !firstId { return ms.reduce(Int64(0)) { $0 | (Int64(1) << Int64($1)) } }
            return Int64(ms.min()! + 1)
        }
        func intern(_ k: Key) throws -> Int {
            if let i = index[k] { return i }
            if k.set.isEmpty && !unanchored { return 0 }
            if keys.count >= budget { throw AutomatonTooLarge(states: keys.count, limit: budget) }
            keys.append(k); index[k] = keys.count - 1
            trans.append(contentsOf: repeatElement(0, count: classes))
            out.append(contentsOf: repeatElement(0, count: classes))
            finalOut.append(0)
            return keys.count - 1
        }
        /// The unit states reached through the assertions that hold here, and the matches.
        struct Resolved { var sets: [Int] = []; var nexts: [Int] = []; var matches: [Int] = [] }
        func resolve(_ set: [Int32], prevWord: Bool, curWord: Bool, atStart: Bool, atEnd: Bool) -> Resolved {
            gen += 1
            var r = Resolved()
            stack.removeAll(keepingCapacity: true)
            for x in set { stack.append(Int(x)) }
            while let x = stack.popLast() {
                if mark[x] == gen { continue }
                mark[x] = gen
                switch nfa.states[x] {
                case .split(let xs): stack += xs
                case .assert(let a, let nx):
                    if a.holds(prevWord: prevWord, curWord: curWord, atStart: atStart, atEnd: atEnd) {
                        for y in closure[closureAt[nx]..<closureAt[nx + 1]] { stack.append(Int(y)) }
                    }
                case .match(let id): r.matches.append(id)
                case .unit(let set, let nx): r.sets.append(set); r.nexts.append(nx)
                }
            }
            return r
        }
        var inStart = [Bool](repeating: false, count: n)
        for x in startSet { inStart[Int(x)] = true }
        // Unanchored: the start states are part of every state, so keys hold only the progress
        // beyond them, and the start states' own moves are computed once per situation.
        let initial = unanchored ? [] : startSet
        for pw in [false, true] {
            for st in [false, true] {
                start[(pw ? 2 : 0) + (st ? 1 : 0)] = Int32(try intern(Key(set: initial, prevWord: pw, atStart: st)))
            }
        }
        struct StartMoves { var matches: [Int]; var next: [[Int32]]; var sigId: [Int32] }
        var startMoves = [StartMoves?](repeating: nil, count: 16)
        func startMovesFor(prevWord: Bool, curWord: Bool, atStart: Bool, atEnd: Bool) -> StartMoves {
            let key = (prevWord ? 8 : 0) | (curWord ? 4 : 0) | (atStart ? 2 : 0) | (atEnd ? 1 : 0)
            if let m = startMoves[key] { return m }
            let r = resolve(startSet, prevWord: prevWord, curWord: curWord, atStart: atStart, atEnd: atEnd)
            var next: [[Int32]] = []
            for c in 0..<classes {
                gen += 1
                var out: [Int32] = []
                for (k, set) in r.sets.enumerated() where accepts[set * classes + c] {
                    let nx = r.nexts[k]
                    for x in closure[closureAt[nx]..<closureAt[nx + 1]] where mark[Int(x)] != gen { mark[Int(x)] = gen; out.append(x) }
                }
                next.append(out)
            }
            var ids: [[Int32]: Int32] = [:]
            let sigId = next.map { nx -> Int32 in
                if let i = ids[nx] { return i }
                let i = Int32(ids.count); ids[nx] = i; return i
            }
            let m = StartMoves(matches: r.matches, next: next, sigId: sigId)
            startMoves[key] = m
            return m
        }
        // Classes this automaton cannot tell apart (same word flag, same membership in each of
        // its sets, same start moves) share one computation per state.
        var representatives: [Int] = []
        var members = [[Int]](repeating: [], count: classes)
        do {
            var byKey: [[Int32]: Int] = [:]
            let startKeys: [[Int32]] = unanchored ? [false, true].flatMap { pw in [false, true].flatMap { cw in [false, true].map { st in
                startMovesFor(prevWord: pw, curWord: cw, atStart: st, atEnd: false).sigId } } } : []
            for c in 0..<classes {
                var key: [Int32] = [classMap.isWord[c] ? 1 : 0]
                for k in nfa.sets.indices { key.append(accepts[k * classes + c] ? 1 : 0) }
                for sk in startKeys { key.append(sk[c]) }
                if let rep = byKey[key] { members[rep].append(c) } else { byKey[key] = c; representatives.append(c); members[c] = [c] }
            }
        }
        var work = 1
        var next: [Int32] = []
        var sig: [Int32] = []
        var seen: [Signature: (Int32, Int64)] = [:]
        while work < keys.count {
            let k = keys[work]
            var endMatches = resolve(k.set, prevWord: k.prevWord, curWord: false, atStart: k.atStart, atEnd: true).matches
            if unanchored { endMatches += startMovesFor(prevWord: k.prevWord, curWord: false, atStart: k.atStart, atEnd: true).matches }
            finalOut[work] = encode(endMatches)
            let byWord = [false, true].map { resolve(k.set, prevWord: k.prevWord, curWord: $0, atStart: k.atStart, atEnd: false) }
            let startByWord = unanchored ? [false, true].map { startMovesFor(prevWord: k.prevWord, curWord: $0, atStart: k.atStart, atEnd: false) } : []
            // Classes that every unit state treats alike lead to the same state: compute each once.
            seen.removeAll(keepingCapacity: true)
            for c in representatives {
                let curWord = classMap.isWord[c]
                let units = byWord[curWord ? 1 : 0]
                sig.removeAll(keepingCapacity: true)
                sig.append(curWord ? 1 : 0)
                if unanchored { sig.append(startByWord[curWord ? 1 : 0].sigId[c]) }
                for (ui, set) in units.sets.enumerated() where accepts[set * classes + c] { sig.append(Int32(ui)) }
                let signature = Signature(sig)
                if let hit = seen[signature] {
                    for m in members[c] { trans[work * classes + m] = hit.0; out[work * classes + m] = hit.1 }
                    continue
                }
                var matches = units.matches
                gen += 1
                next.removeAll(keepingCapacity: true)
                if unanchored {
                    let sm = startByWord[curWord ? 1 : 0]
                    matches += sm.matches
                    for x in sm.next[c] where mark[Int(x)] != gen { mark[Int(x)] = gen; next.append(x) }
                }
                for (ui, set) in units.sets.enumerated() where accepts[set * classes + c] {
                    let nx = units.nexts[ui]
                    for x in closure[closureAt[nx]..<closureAt[nx + 1]] where mark[Int(x)] != gen { mark[Int(x)] = gen; next.append(x) }
                }
                if unanchored { next.removeAll { inStart[Int($0)] } }
                next.sort()
                let target = try intern(Key(set: next, prevWord: curWord, atStart: false))
                let o = encode(matches)
                for m in members[c] { trans[work * classes + m] = Int32(target); out[work * classes + m] = o }
                seen[signature] = (Int32(target), o)
            }
            work += 1
        }
        self.trans = trans
        self.out = out
        self.finalOut = finalOut
        stateCount = keys.count
        if unanchored { idle = keys.map(\.set.isEmpty) }
    }
}

extension DFA {
    /// What a scan needs when the automaton remembers nothing but the last unit's class: every
    /// state reachable from `start` moves on a class to the same state whatever the state, and
    /// what a state reports (at the next unit or at the text's end) does not depend on that next
    /// unit. A search for one unit of a set (`\d`) is such. Then the report of every step after
    /// the first is what the state the previous unit's class leads to reports: per class (`perClass`),
    /// plus what the start state reports once (`atStart`, the whole answer for an empty text).
    /// A scan ORs or counts one table entry per unit and carries no state, so no chain of
    /// dependent loads through the transition table. Nil for anything else.
    func memoryless(start s0: Int) -> (perClass: [Int64], atStart: Int64)? {
        guard classes > 0, s0 >= 0, s0 < stateCount else { return nil }
        let targets = Array(trans[(s0 * classes)..<(s0 * classes + classes)])
        func reports(_ s: Int) -> Int64? {
            let row = out[(s * classes)..<(s * classes + classes)]
            guard let first = row.first, row.allSatisfy({ $0 == first }), finalOut[s] == first else { return nil }
            return first
        }
        var seen: Set<Int> = [s0]
        var work = [s0]
        while let s = work.popLast() {
            guard reports(s) != nil, trans[(s * classes)..<(s * classes + classes)].elementsEqual(targets) else { return nil }
            for t in targets where seen.insert(Int(t)).inserted { work.append(Int(t)) }
        }
        guard let atStart = reports(s0) else { return nil }
        return (targets.map { reports(Int($0))! }, atStart)
    }

    /// The classes without which the automaton never reports anything, when it has such a set:
    /// from `start`, a text without any unit of these classes keeps it in idle states (no pattern
    /// under way) that report nothing, at any step or at the end. For `[£$€¥]\s?\d|\d\s?[£$€¥]`
    /// these are the currency signs and the digits: a text without one cannot match, and a scan
    /// need only run the automaton on texts that hold one. Per class, whether it is such a class;
    /// nil when the idle states are not known or the start state is not idle. The set is safe,
    /// not always the smallest: every class that leads an idle state reached without it out of
    /// the idle states, or makes it report, is in it.
    func trigger(start s0: Int) -> [Bool]? {
        guard idle.count == stateCount, s0 >= 0, s0 < stateCount, idle[s0] else { return nil }
        var classesIn = [Bool](repeating: false, count: classes)
        var seen: Set<Int> = [s0]
        var work = [s0]
        while let s = work.popLast() {
            guard finalOut[s] == 0 else { return nil }
            for c in 0..<classes {
                let t = Int(trans[s * classes + c])
                if !idle[t] || out[s * classes + c] != 0 { classesIn[c] = true }
                // A state reached on a class found to be in the set later is explored needlessly,
                // which can only add classes: the set stays safe.
                if !classesIn[c] && seen.insert(t).inserted { work.append(t) }
            }
        }
        return classesIn
    }
}
