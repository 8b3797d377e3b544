import LoopSema

/// Zero-width conditions an automaton checks between two units.
enum Assertion: Hashable {
    case start, end, wordBoundary, notWordBoundary
    /// No word character immediately before (the start of a whole-word keyword).
    case notWordBefore
    /// No word character immediately after (the end of a whole-word keyword).
    case notWordAfter

    func holds(prevWord: Bool, curWord: Bool, atStart: Bool, atEnd: Bool) -> Bool {
        switch self {
        case .start: return atStart
        case .end: return atEnd
        case .wordBoundary: return prevWord != curWord
        case .notWordBoundary: return prevWord == curWord
        case .notWordBefore: return !prevWord
        case .notWordAfter: return !curWord
        }
    }
}

/// The patterns the automata are built from: regexes, keywords and whole words, over units.
indirect enum Pattern: Hashable {
    case empty
    case set(UnitSet)
    case concat([Pattern])
    case alt([Pattern])
    case rep(Pattern, min: Int, max: Int?)
    case assert(Assertion)

    /// A checked regex, read through a case mapping chain (`lower(upper(x))` → [upper, lower]).
    static func regex(_ n: RegexNode, through maps: [CaseMap]) -> Pattern {
        func set(_ s: UnitSet) -> Pattern { .set(maps.reversed().reduce(s) { $0.preimage($1) }) }
        switch n {
        case .empty: return .empty
        case .char(let c): return set(.single(c))
        case .any: return set(UnitSet.single(10).complement)
        case .cls(let cc): return set(UnitSet(cc))
        case .concat(let xs): return .concat(xs.map { regex($0, through: maps) })
        case .alt(let xs): return .alt(xs.map { regex($0, through: maps) })
        case .rep(let x, let mn, let mx): return .rep(regex(x, through: maps), min: mn, max: mx)
        case .start: return .assert(.start)
        case .end: return .assert(.end)
        case .wordBoundary: return .assert(.wordBoundary)
        case .notWordBoundary: return .assert(.notWordBoundary)
        }
    }

    /// A literal keyword (UTF-8 bytes) as a sequence of units.
    static func literal(_ bytes: [UInt8], through maps: [CaseMap]) -> Pattern {
        let units = TextSemantics.units(bytes).units
        return .concat(units.map { u in .set(maps.reversed().reduce(UnitSet.single(u)) { $0.preimage($1) }) })
    }
}
