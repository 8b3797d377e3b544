import CLLVM
import LoopSema

/// A many-label program's scores computed eight labels at a time, in vector registers, instead
/// of label after label (BANKING77: 77 labels of three or four terms each, a fifth of the time
/// per input when computed one by one).
///
/// Each label keeps its own terms, in its own order, with the interpreter's operations: a term's
/// value (0 when its condition fails), non-finite values counted as 0, added to the label's sum,
/// which starts at +0. The terms of all labels are aligned first: terms of the same form (the
/// same expression but for its number literals and table names, and the same condition) share a
/// slot, and the slots are ordered so that every label's terms come in its own order
/// (`alignedSlots`). A vector of eight labels then adds slot after slot; a lane whose label has no
/// term in a slot keeps its sum unchanged (a select, not an addition of 0, so even −0 stays
/// exact). Within a slot, what the lanes share (a `let`, `min(len(text), 400)`, the divisor 100)
/// is computed once, literals become vector constants, and arithmetic is done lane by lane
/// (IEEE additions, subtractions, multiplications and divisions, x / 0 = 0, as in the scalar
/// code); anything else is computed per lane as before and gathered into the vector.
extension Emitter {
    /// Programs with at least this many labels get vector scores.
    static let vectorScoreLabels = 8
    static let scoreLanes = 8

    /// The form of an expression: exact (every literal, table and list) or abstract (numbers and
    /// table, list and regex constants replaced by placeholders), as a string to compare. Not the
    /// lowering's `key` (TypedDump): that prints −0 and 0 alike, and lanes judged alike share one
    /// computed value, so numbers are compared here by their bits.
    static func form(_ e: TExpr, abstract: Bool) -> String {
        func f(_ x: TExpr) -> String { form(x, abstract: abstract) }
        switch e.kind {
        case .literal(let v):
            switch v {
            case .number(let x): return abstract ? "C" : "n\(x.bitPattern)"
            case .bool(let x): return "b\(x)"
            case .text(let t): return "s\(t)"
            case .list(let i): return abstract ? "L" : "l\(i)"
            case .table(let i): return abstract ? "T" : "t\(i)"
            case .regex(let i): return abstract ? "R" : "r\(i)"
            }
        case .field(let i): return "f\(i)"
        case .letRef(let i): return "v\(i)"
        case .param(let i): return "p\(i)"
        case .builtin(let b, let xs): return "\(b.rawValue)(\(xs.map(f).joined(separator: ",")))"
        case .call(let i, let xs): return "c\(i)(\(xs.map(f).joined(separator: ",")))"
        case .not(let x): return "!(\(f(x)))"
        case .neg(let x): return "-(\(f(x)))"
        case .and(let a, let b): return "(\(f(a))&&\(f(b)))"
        case .or(let a, let b): return "(\(f(a))||\(f(b)))"
        case .compare(let op, let a, let b): return "(\(f(a))\(op.rawValue)\(f(b)))"
        case .arith(let op, let a, let b): return "(\(f(a))\(op.rawValue)\(f(b)))"
        case .ifElse(let c, let a, let b): return "if(\(f(c)),\(f(a)),\(f(b)))"
        }
    }

    /// Per label, the slot of each of its terms; slots ordered so that each label's terms are in
    /// its order (a common supersequence of the labels' lists of term forms, merged label by label).
    static func alignedSlots(_ terms: [[(value: TExpr, condition: TExpr?)]]) -> (slots: Int, ofTerm: [[Int]]) {
        // A term's key: its value's abstract form, its condition's exact form, and which occurrence
        // of that pair it is within its label.
        let keys: [[String]] = terms.map { ts in
            var seen: [String: Int] = [:]
            return ts.map { t in
                let k = form(t.value, abstract: true) + " when " + (t.condition.map { form($0, abstract: false) } ?? "-")
                seen[k, default: 0] += 1
                return k + " #\(seen[k]!)"
            }
        }
        /// `order` and `ks` merged through their longest common subsequence (a shortest common supersequence).
        func merge(_ order: [String], _ ks: [String]) -> [String] {
            let n = order.count, m = ks.count
            var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lcs[i][j] = order[i] == ks[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
            var merged: [String] = []
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, order[i] == ks[j] { merged.append(order[i]); i += 1; j += 1 }
                else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) { merged.append(order[i]); i += 1 }
                else { merged.append(ks[j]); j += 1 }
            }
            return merged
        }
        var order: [String] = []
        var keyed: [[String]] = []
        for var ks in keys {
            // A label that orders two shared forms the other way round than an earlier one cannot
            // share both slots: its term of a form that would need two slots gets a slot of its own.
            var merged = merge(order, ks)
            while let twice = Dictionary(grouping: merged, by: { $0 }).first(where: { $0.value.count > 1 })?.key, let at = ks.firstIndex(of: twice) {
                ks[at] += "~"
                merged = merge(order, ks)
            }
            order = merged
            keyed.append(ks)
        }
        let slotOf = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, $0.offset) })
        return (order.count, keyed.map { $0.map { slotOf[$0]! } })
    }

    /// The scores of every label (finite, as the scalar path gives them) and whether any term was
    /// nonzero (the evidence that sends the decision to the argmax rather than the fallback).
    func vectorScores() -> (scores: [LLVMValueRef], evidence: LLVMValueRef) {
        let lanes = Emitter.scoreLanes
        let zero = ir.splat(ir.f64c(0), lanes)
        let (slotCount, ofTerm) = Emitter.alignedSlots(low.terms)
        var scores: [LLVMValueRef] = []
        var evidence = ir.bool(false)
        for first in stride(from: 0, to: p.labels.count, by: lanes) {
            let labels = Array(first..<min(first + lanes, p.labels.count))
            var sum = zero
            // Lanes where some term was nonzero (the evidence), reduced once per vector.
            var nonzeroSeen = constVector(Array(repeating: ir.bool(false), count: lanes))
            for slot in 0..<slotCount {
                let terms: [(value: TExpr, condition: TExpr?)?] = (0..<lanes).map { k in
                    guard k < labels.count, let t = ofTerm[labels[k]].firstIndex(of: slot) else { return nil }
                    return low.terms[labels[k]][t]
                }
                guard let any = terms.compactMap({ $0 }).first else { continue }
                // A slot's key holds its condition's exact form, so every lane's condition is this one.
                var v = vectorValue(terms.map { $0?.value })
                if let c = any.condition { v = ir.select(emit(c).b, v, zero) }
                // Non-finite values count as 0; lanes without a term in this slot keep their sum.
                v = ir.select(ir.fcmp(LLVMRealOEQ, ir.fsub(v, v), zero), v, zero)
                let present = constVector(terms.map { ir.bool($0 != nil) })
                nonzeroSeen = ir.or(nonzeroSeen, ir.and(ir.fcmp(LLVMRealONE, v, zero), present))
                sum = ir.select(present, ir.fadd(sum, v), sum)
            }
            let mask = LLVMIntTypeInContext(ir.ctx, UInt32(lanes))!
            evidence = ir.or(evidence, ir.icmp(LLVMIntNE, ir.bitcast(nonzeroSeen, mask), LLVMConstInt(mask, 0, 0)))
            // A sum that overflowed counts as 0 (as in the interpreter).
            sum = ir.select(ir.fcmp(LLVMRealOEQ, ir.fsub(sum, sum), zero), sum, zero)
            for k in labels.indices { scores.append(ir.lane(sum, k)) }
        }
        return (scores, evidence)
    }

    func constVector(_ xs: [LLVMValueRef]) -> LLVMValueRef {
        var lanes: [LLVMValueRef?] = xs
        return lanes.withUnsafeMutableBufferPointer { LLVMConstVector($0.baseAddress, UInt32(xs.count))! }
    }

    /// A term's value as the scalar path computes it: 0 when its condition fails (Emitter+Classify).
    func scalarTerm(_ t: (value: TExpr, condition: TExpr?)) -> LLVMValueRef {
        guard let c = t.condition else { return emit(t.value).n }
        let cond = emit(c).b
        let start = ir.currentBlock
        let f = ir.currentFunction
        let tb = ir.block(f, "term"), jb = ir.block(f, "term.end")
        ir.condBr(cond, tb, jb)
        ir.at(tb)
        let val = emit(t.value).n
        let tEnd = ir.currentBlock
        ir.br(jb)
        ir.at(jb)
        return ir.phi(ir.f64, [(ir.f64c(0), start), (val, tEnd)])
    }

    /// One number expression per lane (nil: no term, any value) as a vector.
    func vectorValue(_ lanes: [TExpr?]) -> LLVMValueRef {
        let width = lanes.count
        let present = lanes.compactMap { $0 }
        guard let e = present.first else { return ir.splat(ir.f64c(0), width) }
        // What every lane computes alike is computed once.
        let exact = Emitter.form(e, abstract: false)
        if present.allSatisfy({ Emitter.form($0, abstract: false) == exact }) {
            let x = emit(e).n
            return ir.vector(of: Array(repeating: x, count: width), ir.f64, width: width, fill: ir.f64c(0))
        }
        func numbers(_ xs: [TExpr?]) -> [Double]? {
            var out: [Double] = []
            for x in xs {
                guard let x else { out.append(0); continue }
                guard case .literal(.number(let v)) = x.kind else { return nil }
                out.append(v)
            }
            return out
        }
        if let values = numbers(lanes) {
            return constVector(values.map { ir.f64c($0) })
        }
        if case .arith(let op, _, _) = e.kind {
            var lhs: [TExpr?] = [], rhs: [TExpr?] = []
            var same = true
            for x in lanes {
                guard let x else { lhs.append(nil); rhs.append(nil); continue }
                guard case .arith(let o, let a, let b) = x.kind, o == op else { same = false; break }
                lhs.append(a); rhs.append(b)
            }
            if same {
                let x = vectorValue(lhs), y = vectorValue(rhs)
                switch op {
                case .add: return ir.fadd(x, y)
                case .sub: return ir.fsub(x, y)
                case .mul: return ir.fmul(x, y)
                default:
                    // x / 0 is 0 (Arith.apply), lane by lane.
                    let z = ir.splat(ir.f64c(0), width)
                    return ir.select(ir.fcmp(LLVMRealOEQ, y, z), z, ir.fdiv(x, y))
                }
            }
        }
        return ir.vector(of: lanes.map { $0.map { emit($0).n } ?? ir.f64c(0) }, ir.f64, width: width, fill: ir.f64c(0))
    }
}
