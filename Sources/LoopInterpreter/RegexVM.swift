import LoopSema

/// A Pike VM (Thompson NFA simulation) for the Loop regex subset: time linear in the text for
/// `matches`, no backtracking anywhere. This is the reference the compiled automata must agree with.
public final class RegexVM {
    enum Inst {
        case unit(UInt32)
        case any
        case cls(CharClass)
        case split(Int, Int)
        case jmp(Int)
        case start, end, wordBoundary, notWordBoundary
        case match
    }

    var prog: [Inst] = []

    public init(_ regex: LoopRegex) {
        emit(regex.node)
        prog.append(.match)
    }

    private func emit(_ n: RegexNode) {
        switch n {
        case .empty: break
        case .char(let c): prog.append(.unit(c))
        case .any: prog.append(.any)
        case .cls(let c): prog.append(.cls(c))
        case .start: prog.append(.start)
        case .end: prog.append(.end)
        case .wordBoundary: prog.append(.wordBoundary)
        case .notWordBoundary: prog.append(.notWordBoundary)
        case .concat(let xs): xs.forEach(emit)
        case .alt(let xs):
            var jumps: [Int] = []
            for (k, x) in xs.enumerated() {
                if k < xs.count - 1 {
                    let sp = prog.count
                    prog.append(.split(sp + 1, -1))
                    emit(x)
                    jumps.append(prog.count)
                    prog.append(.jmp(-1))
                    prog[sp] = .split(sp + 1, prog.count)
                } else {
                    emit(x)
                }
            }
            for j in jumps { prog[j] = .jmp(prog.count) }
        case .rep(let x, let mn, let mx):
            for _ in 0..<mn { emit(x) }
            if let mx {
                var splits: [Int] = []
                for _ in mn..<mx {
                    splits.append(prog.count)
                    prog.append(.split(prog.count + 1, -1))
                    emit(x)
                }
                for s in splits { prog[s] = .split(s + 1, prog.count) }
            } else {
                let l = prog.count
                prog.append(.split(l + 1, -1))
                emit(x)
                prog.append(.jmp(l))
                prog[l] = .split(l + 1, prog.count)
            }
        }
    }

    // MARK: simulation

    /// Thread lists with a sparse set for O(1) membership; each thread carries its start.
    struct Threads {
        var pcs: [Int] = []
        var starts: [Int] = []
        var mark: [Int]
        var gen = 1
        init(size: Int) { mark = [Int](repeating: 0, count: size) }
        mutating func clear() { pcs.removeAll(keepingCapacity: true); starts.removeAll(keepingCapacity: true); gen += 1 }
    }

    /// Adds the epsilon closure of `pc` at unit position `i`; returns the start of a thread that
    /// reached `match` (the earliest, since threads are added in start order), if any.
    private func add(_ list: inout Threads, _ pc0: Int, _ start: Int, _ i: Int, _ u: [UInt32], _ stack: inout [Int]) -> Bool {
        var matched = false
        stack.removeAll(keepingCapacity: true)
        stack.append(pc0)
        while let pc = stack.popLast() {
            if list.mark[pc] == list.gen { continue }
            list.mark[pc] = list.gen
            switch prog[pc] {
            case .jmp(let t): stack.append(t)
            case .split(let a, let b): stack.append(b); stack.append(a)
            case .start: if i == 0 { stack.append(pc + 1) }
            case .end: if i == u.count { stack.append(pc + 1) }
            case .wordBoundary, .notWordBoundary:
                let before = i > 0 && TextSemantics.isWord(u[i - 1])
                let after = i < u.count && TextSemantics.isWord(u[i])
                let at = before != after
                if case .wordBoundary = prog[pc] { if at { stack.append(pc + 1) } } else if !at { stack.append(pc + 1) }
            case .match:
                matched = true
                list.pcs.append(pc); list.starts.append(start)
            default:
                list.pcs.append(pc); list.starts.append(start)
            }
        }
        return matched
    }

    @inline(__always)
    private func step(_ inst: Inst, _ c: UInt32) -> Bool {
        switch inst {
        case .unit(let x): return x == c
        case .any: return c != 10
        case .cls(let cc): return cc.matches(c)
        default: return false
        }
    }

    /// Does the regex match anywhere in the decoded text?
    public func matches(_ u: [UInt32]) -> Bool {
        var clist = Threads(size: prog.count), nlist = Threads(size: prog.count)
        var stack: [Int] = []
        for i in 0...u.count {
            if add(&clist, 0, i, i, u, &stack) { return true }
            guard i < u.count else { break }
            if clist.pcs.isEmpty { clist.clear(); continue }
            nlist.clear()
            let c = u[i]
            for k in 0..<clist.pcs.count {
                let pc = clist.pcs[k]
                if step(prog[pc], c), add(&nlist, pc + 1, clist.starts[k], i + 1, u, &stack) { return true }
            }
            swap(&clist, &nlist)
        }
        return false
    }

    /// Non-empty, non-overlapping leftmost-longest matches, left to right.
    public func countMatches(_ u: [UInt32]) -> Int {
        var count = 0
        var from = 0
        var clist = Threads(size: prog.count), nlist = Threads(size: prog.count)
        var stack: [Int] = []
        while from <= u.count {
            var bestStart = -1, bestEnd = -1
            clist.clear()
            var i = from
            while true {
                // New threads start only while no match has been found.
                if bestStart < 0 { _ = add(&clist, 0, i, i, u, &stack) }
                // Record matches reached at position i (non-empty only).
                for k in 0..<clist.pcs.count {
                    if case .match = prog[clist.pcs[k]] {
                        let s = clist.starts[k]
                        if i > s && (bestStart < 0 || s < bestStart || (s == bestStart && i > bestEnd)) { bestStart = s; bestEnd = i }
                    }
                }
                if i >= u.count { break }
                nlist.clear()
                let c = u[i]
                for k in 0..<clist.pcs.count {
                    let s = clist.starts[k]
                    if bestStart >= 0 && s > bestStart { continue }
                    let pc = clist.pcs[k]
                    if step(prog[pc], c) { _ = add(&nlist, pc + 1, s, i + 1, u, &stack) }
                }
                swap(&clist, &nlist)
                i += 1
                if clist.pcs.isEmpty && bestStart >= 0 { break }
            }
            guard bestStart >= 0 else { break }
            count += 1
            from = bestEnd
        }
        return count
    }
}
