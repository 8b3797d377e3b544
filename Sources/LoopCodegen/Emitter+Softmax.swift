import Foundation
import CLLVM
import LoopInterpreter

extension Emitter {
    /// The first label with the largest score, and that score, as a balanced tree of
    /// comparisons (depth log₂ n instead of a chain of n): each node keeps its left half's
    /// winner unless the right half's is strictly larger, so it returns the first index of its
    /// range's largest score, the interpreter's scan. Scores are finite here (non-finite sums
    /// count as 0), so no NaN makes the order matter.
    func argmax(_ scores: [LLVMValueRef]) -> (label: LLVMValueRef, score: LLVMValueRef) {
        var level = scores.enumerated().map { (ir.i32c($0.offset), $0.element) }
        while level.count > 1 {
            var next: [(LLVMValueRef, LLVMValueRef)] = []
            for i in stride(from: 0, to: level.count, by: 2) {
                guard i + 1 < level.count else { next.append(level[i]); break }
                let (a, b) = (level[i], level[i + 1])
                let right = ir.fcmp(LLVMRealOGT, b.1, a.1)
                next.append((ir.select(right, b.0, a.0), ir.select(right, b.1, a.1)))
            }
            level = next
        }
        return level[0]
    }

    /// The softmax denominator (Docs/language.md, Evaluation order): label j's
    /// SoftmaxExp.exp(s_j − best) goes into partial sum j mod 4, then (s₀ + s₁) + (s₂ + s₃),
    /// exactly as the interpreter adds them. Four labels at a time fill one vector: lane i
    /// computes `SoftmaxExp.exp` with the same operations in the same order, and the vector of
    /// partial sums adds them; lanes past the last label add +0, which changes no sum (a sum of
    /// non-negative terms starting at +0 is never −0).
    func softmaxDenominator(_ scores: [LLVMValueRef], best: LLVMValueRef) -> LLVMValueRef {
        let w = SoftmaxExp.partialSums
        // Eight labels a vector (two of the partial sums' four-label groups, added low half then
        // high half: the same additions in the same order): twice the independent work per vector
        // for the out-of-order core to overlap (LLVM splits it into 256-bit halves on AVX2).
        let lanes = Emitter.softmaxLanes
        let vf = ir.vector(ir.f64, lanes), vi = ir.vector(ir.i64, lanes)
        func c(_ x: Double) -> LLVMValueRef { ir.splat(ir.f64c(x), lanes) }
        let bestV = ir.vector(of: Array(repeating: best, count: lanes), ir.f64, width: lanes, fill: ir.f64c(0))
        var sums = ir.splat(ir.f64c(0), w)
        for start in stride(from: 0, to: scores.count, by: lanes) {
            let chunk = Array(scores[start..<min(start + lanes, scores.count)])
            let x = ir.fsub(ir.vector(of: chunk, ir.f64, width: lanes, fill: ir.f64c(0)), bestV)
            let k = ir.unaryIntrinsic("llvm.floor.v\(lanes)f64", vf, ir.fadd(ir.fmul(x, c(SoftmaxExp.invLn2)), c(0.5)))
            let r = ir.fsub(ir.fsub(x, ir.fmul(k, c(SoftmaxExp.ln2Hi))), ir.fmul(k, c(SoftmaxExp.ln2Lo)))
            let p = SoftmaxExp.polynomial(r, ir.fmul(r, r), constant: c, add: ir.fadd, mul: ir.fmul)
            let bits = ir.shl(ir.bitcast(ir.fadd(k, c(SoftmaxExp.exponentBias)), vi), ir.splat(ir.i64c(52), lanes))
            var e = ir.fmul(p, ir.bitcast(bits, vf))
            e = ir.select(ir.fcmp(LLVMRealOGT, x, c(SoftmaxExp.highest)), c(.infinity), e)
            e = ir.select(ir.fcmp(LLVMRealOLE, x, c(SoftmaxExp.lowest)), c(0), e)
            e = ir.select(ir.fcmp(LLVMRealUNO, x, x), x, e)
            if chunk.count < lanes {
                e = ir.vector(of: (0..<chunk.count).map { ir.lane(e, $0) }, ir.f64, width: lanes, fill: ir.f64c(0))
            }
            for half in stride(from: 0, to: min(chunk.count, lanes), by: w) {
                sums = ir.fadd(sums, lanes == w ? e : ir.shuffle(e, Array(half..<(half + w))))
            }
        }
        return ir.fadd(ir.fadd(ir.lane(sums, 0), ir.lane(sums, 1)), ir.fadd(ir.lane(sums, 2), ir.lane(sums, 3)))
    }

    /// Labels per vector in the softmax's exp (4 or 8; `LOOPAI_SOFTMAX_LANES`, for comparing).
    static let softmaxLanes: Int = ProcessInfo.processInfo.environment["LOOPAI_SOFTMAX_LANES"] == "4" ? 4 : 8
}
