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
    /// membership[set index][class]
    var membership: [[Bool]]

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
    let classes: Int

    struct Key: Hashable { let set: [Int]; let prevWord: Bool; let atStart: Bool }

    /// `unanchored`: patterns may start anywhere and `out` holds bit masks (≤ 64 patterns);
    /// anchored: one attempt from the start and `out` holds the longest... the matched pattern id + 1
    /// (the lowest id when several end together).
    init(nfa: NFA, classMap: ClassMap, unanchored: Bool, budget: Int, firstId: Bool = false) throws {
        classes = classMap.count
        var keys: [Key] = [Key(set: [], prevWord: false, atStart: false)]   // state 0: dead
        var index: [Key: Int] = [keys[0]: 0]
        trans = Array(repeating: 0, count: classes)
        out = Array(repeating: 0, count: classes)
        finalOut = [0]

        func closure(_ seeds: [Int], into set: inout Set<Int>) {
            var stack = seeds
            while let s = stack.popLast() {
                if set.contains(s) { continue }
                if case .split(let xs) = nfa.states[s] { set.insert(s); stack += xs; continue }
                set.insert(s)
            }
        }
        func canonical(_ set: Set<Int>) -> [Int] {
            set.filter { if case .split = nfa.states[$0] { return false }; return true }.sorted()
        }
        /// Follows assertions that hold here; returns the set and the matches found.
        func resolve(_ set: [Int], prevWord: Bool, curWord: Bool, atStart: Bool, atEnd: Bool) -> (Set<Int>, [Int]) {
            var all = Set<Int>()
            var stack = set
            var matches: [Int] = []
            while let s = stack.popLast() {
                if all.contains(s) { continue }
                all.insert(s)
                switch nfa.states[s] {
                case .split(let xs): stack += xs
                case .assert(let a, let n): if a.holds(prevWord: prevWord, curWord: curWord, atStart: atStart, atEnd: atEnd) { stack.append(n) }
                case .match(let id): matches.append(id)
                case .unit: break
                }
            }
            return (all, matches)
        }
        func encode(_ ms: [Int]) -> Int64 {
            if ms.isEmpty { return 0 }
            if unanchored && !firstId { return ms.reduce(Int64(0)) { $0 | (Int64(1) << Int64($1)) } }
            return Int64(ms.min()! + 1)
        }
        func intern(_ k: Key) throws -> Int {
            if let i = index[k] { return i }
            if k.set.isEmpty { return 0 }
            if keys.count >= budget { throw AutomatonTooLarge(states: keys.count, limit: budget) }
            keys.append(k); index[k] = keys.count - 1
            trans += Array(repeating: 0, count: classes)
            out += Array(repeating: 0, count: classes)
            finalOut.append(0)
            return keys.count - 1
        }
        var startSet = Set<Int>()
        closure(nfa.starts, into: &startSet)
        let startCanon = canonical(startSet)
        for pw in [false, true] {
            for st in [false, true] {
                start[(pw ? 2 : 0) + (st ? 1 : 0)] = Int32(try intern(Key(set: startCanon, prevWord: pw, atStart: st)))
            }
        }
        var work = 1
        while work < keys.count {
            let k = keys[work]
            let (_, endMatches) = resolve(k.set, prevWord: k.prevWord, curWord: false, atStart: k.atStart, atEnd: true)
            finalOut[work] = encode(endMatches)
            for c in 0..<classes {
                let curWord = classMap.isWord[c]
                let (here, matches) = resolve(k.set, prevWord: k.prevWord, curWord: curWord, atStart: k.atStart, atEnd: false)
                var next = Set<Int>()
                for s in here {
                    if case .unit(let set, let n) = nfa.states[s], classMap.membership[set][c] { closure([n], into: &next) }
                }
                if unanchored { closure(nfa.starts, into: &next) }
                let target = try intern(Key(set: canonical(next), prevWord: curWord, atStart: false))
                trans[work * classes + c] = Int32(target)
                out[work * classes + c] = encode(matches)
            }
            work += 1
        }
        stateCount = keys.count
    }
}
