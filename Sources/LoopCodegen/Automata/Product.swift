/// Several unanchored automata over one class map, run as one: the reachable part of their
/// product. Each part reports its own patterns' bits; the product reports them shifted by the
/// part's offset, so a group's automaton is built from its members' automata without a second
/// subset construction.
///
/// The result is the automaton the subset construction gives for the members' NFAs together
/// (up to the numbering of states): that construction's states are the members' states side by
/// side, since the members' NFA states are disjoint and every member sees the same unit, word
/// flag and position. Building it from the parts costs one table lookup per part, class and
/// state, so a trial group that exceeds its budget is cheap to give up.
extension DFA {
    init(product parts: [DFA], bitOffsets: [Int], budget: Int) throws {
        precondition(!parts.isEmpty && parts.count == bitOffsets.count)
        let classes = parts[0].classes
        precondition(parts.allSatisfy { $0.classes == classes })
        self.classes = classes
        let k = parts.count
        // State 0 is never entered (as in an unanchored subset construction).
        var tuples: [Int32] = Array(repeating: 0, count: k)
        var index: [Signature: Int32] = [:]
        var trans: [Int32] = Array(repeating: 0, count: classes)
        var out: [Int64] = Array(repeating: 0, count: classes)
        var finalOut: [Int64] = [0]
        var count = 1
        func intern(_ t: [Int32]) throws -> Int32 {
            let sig = Signature(t)
            if let i = index[sig] { return i }
            if count >= budget { throw AutomatonTooLarge(states: count, limit: budget) }
            let i = Int32(count)
            index[sig] = i
            tuples += t
            trans.append(contentsOf: repeatElement(0, count: classes))
            out.append(contentsOf: repeatElement(0, count: classes))
            var f: Int64 = 0
            for p in 0..<k { f |= parts[p].finalOut[Int(t[p])] << Int64(bitOffsets[p]) }
            finalOut.append(f)
            count += 1
            return i
        }
        for s in 0..<4 { start[s] = try intern(parts.map { $0.start[s] }) }
        var work = 1
        var target = [Int32](repeating: 0, count: k)
        while work < count {
            for c in 0..<classes {
                var o: Int64 = 0
                for p in 0..<k {
                    let cell = Int(tuples[work * k + p]) * classes + c
                    target[p] = parts[p].trans[cell]
                    o |= parts[p].out[cell] << Int64(bitOffsets[p])
                }
                trans[work * classes + c] = try intern(target)
                out[work * classes + c] = o
            }
            work += 1
        }
        self.trans = trans
        self.out = out
        self.finalOut = finalOut
        stateCount = count
        // A product state is idle when every part's state is.
        if parts.allSatisfy({ $0.idle.count == $0.stateCount }) {
            idle = (0..<count).map { s in s == 0 || (0..<k).allSatisfy { parts[$0].idle[Int(tuples[s * k + $0])] } }
        }
    }
}
