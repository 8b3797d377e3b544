import CLLVM
import LoopSema

extension Emitter {
    /// Lets in an order where each comes after the lets it reads.
    func letOrder() -> [Int] {
        var order: [Int] = []
        var state = [Int](repeating: 0, count: low.lets.count)
        func deps(_ e: TExpr, _ out: inout [Int]) {
            switch e.kind {
            case .letRef(let i): out.append(i)
            case .not(let x), .neg(let x): deps(x, &out)
            case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b), .arith(_, let a, let b): deps(a, &out); deps(b, &out)
            case .ifElse(let c, let a, let b): deps(c, &out); deps(a, &out); deps(b, &out)
            case .builtin(_, let xs): for x in xs { deps(x, &out) }
            default: break
            }
        }
        func visit(_ i: Int) {
            if state[i] != 0 { return }
            state[i] = 1
            var ds: [Int] = []
            deps(low.lets[i], &ds)
            ds.forEach(visit)
            state[i] = 2
            order.append(i)
        }
        low.lets.indices.forEach(visit)
        return order
    }

    /// Builds the whole module.
    func emitModule() {
        // Per source, the scans that run in one loop (the lowering's plan, `dump mir` shows it).
        var multiFns: [Int: [(fn: (LLVMValueRef, LLVMTypeRef), scans: [Int], rows: Int?)]] = [:]
        let inLoop = Set(low.loops.flatMap(\.members))
        for l in low.loops {
            let n = multiFns[l.source]?.count ?? 0
            multiFns[l.source, default: []].append((emitSourceScanFunction("multi\(l.source)_\(n)", flagScans: l.flagScans, rowScan: l.rowScan),
                                                    l.flagScans, l.rowScan))
        }
        let scanFns = low.scans.enumerated().map { inLoop.contains($0.offset) ? nil : emitScanFunction($0.offset, $0.element) }
        let counterDescs = low.counters.enumerated().map { emitCounterDescriptor($0.offset, $0.element.dfa!, $0.element.classMap!) }
        let counterWeights: [LLVMValueRef?] = low.counters.enumerated().map { k, c in c.weights.map { ir.constF64s("cnt\(k).weights", $0) } }
        let negatedDescs = low.negated.enumerated().map { k, n in
            (emitCounterDescriptor("neg\(k).table", n.tableDFA!, n.tableClasses!), emitCounterDescriptor("neg\(k).negators", n.negatorDFA!, n.negatorClasses!),
             ir.constF64s("neg\(k).weights", n.weights))
        }

        // void classify(const loop_value *in, loop_result *out, double *scores)
        let classifyT = ir.fnType(ir.void, [ir.ptr(valueT), ir.ptr(resultT), ir.ptr(ir.f64)])
        let f = ir.function("\(prefix)classify", classifyT, internal: false)
        let input = ir.param(f, 0), outp = ir.param(f, 1), scoresp = ir.param(f, 2)
        entryBlock = ir.block(f, "entry")
        let exit = ir.block(f, "exit")
        ir.at(entryBlock)

        // Fields.
        fields = p.fields.enumerated().map { i, fld in
            let base = ir.gep(valueT, input, [ir.i64c(i)])
            switch fld.type {
            case .text:
                return .text(ir.load(ir.i8p, ir.gep(valueT, base, [ir.i32c(0), ir.i32c(0)])), ir.load(ir.i64, ir.gep(valueT, base, [ir.i32c(0), ir.i32c(1)])))
            case .number:
                return .num(ir.load(ir.f64, ir.gep(valueT, base, [ir.i32c(0), ir.i32c(2)])))
            default:
                return .bool(ir.fcmp(LLVMRealUNE, ir.load(ir.f64, ir.gep(valueT, base, [ir.i32c(0), ir.i32c(2)])), ir.f64c(0)))
            }
        }
        letMemo = Array(repeating: nil, count: low.lets.count)
        scanResults = Array(repeating: ir.i64c(0), count: low.scans.count)
        counterResults = Array(repeating: nil, count: low.counters.count)
        negatedResults = Array(repeating: nil, count: low.negated.count)
        weightedResults = Array(repeating: nil, count: low.scans.count)
        weightedSums = Array(repeating: nil, count: low.scans.count)
        countArrays = low.scans.indices.map { k -> LLVMValueRef? in
            let mask = countMask(k)
            guard mask != 0 else { return nil }
            let arr = ir.alloca(LLVMArrayType(ir.i32, 64))
            let base = ir.gep(LLVMArrayType(ir.i32, 64), arr, [ir.i64c(0), ir.i64c(0)])
            for bit in 0..<64 where mask & (Int64(1) << Int64(bit)) != 0 { ir.store(ir.i32c(0), ir.gep(ir.i32, base, [ir.i64c(bit)])) }
            return base
        }

        // Sources in order; each followed by its scans and counters (inner predicates come first).
        for (si, src) in low.sources.enumerated() {
            let value: (LLVMValueRef, LLVMValueRef)
            switch src {
            case .field(let i): value = fields[i].t
            case .computed(let e): value = emit(e).t
            }
            for m in multiFns[si] ?? [] {
                let nk = m.scans.count + 1   // the flags, then the number of units read
                let flagsArr = ir.alloca(LLVMArrayType(ir.i64, UInt32(nk)))
                let countsArr = ir.alloca(LLVMArrayType(ir.i32, UInt32(64 * nk)))
                let fbase = ir.gep(LLVMArrayType(ir.i64, UInt32(nk)), flagsArr, [ir.i64c(0), ir.i64c(0)])
                let cbase = ir.gep(LLVMArrayType(ir.i32, UInt32(64 * nk)), countsArr, [ir.i64c(0), ir.i64c(0)])
                for (j, k) in m.scans.enumerated() {
                    let mask = countMask(k)
                    for bit in 0..<64 where mask & (Int64(1) << Int64(bit)) != 0 { ir.store(ir.i32c(0), ir.gep(ir.i32, cbase, [ir.i64c(64 * j + bit)])) }
                    if mask != 0 { countArrays[k] = ir.gep(ir.i32, cbase, [ir.i64c(64 * j)]) }
                }
                var sums = ir.nullPtr(ir.ptr(ir.f64))
                if let k = m.rows, let rows = low.scans[k].rows {
                    sums = entryArray(ir.f64, rows.sums, align: 64)   // whole cache lines for dense rows
                    for j in 0..<rows.sums { ir.store(ir.f64c(0), ir.gep(ir.f64, sums, [ir.i64c(j)])) }
                    weightedSums[k] = sums
                }
                _ = ir.call(m.fn.0, m.fn.1, [value.0, value.1, fbase, cbase, sums])
                for (j, k) in m.scans.enumerated() { scanResults[k] = ir.load(ir.i64, ir.gep(ir.i64, fbase, [ir.i64c(j)])) }
                if case .field(let fi) = src {
                    unitCounts[fi] = LLVMBuildUIToFP(ir.b, ir.load(ir.i64, ir.gep(ir.i64, fbase, [ir.i64c(m.scans.count)])), ir.f64, "")!
                }
            }
            for (k, plan) in low.scans.enumerated() where plan.source == si && !inLoop.contains(k) {
                if plan.weights != nil {
                    weightedResults[k] = ir.call(scanFns[k]!.0, scanFns[k]!.1, [value.0, value.1])
                } else if plan.dfa == nil {
                    scanResults[k] = ir.call(scanFns[k]!.0, scanFns[k]!.1, [value.0, value.1])
                } else {
                    scanResults[k] = ir.call(scanFns[k]!.0, scanFns[k]!.1, [value.0, value.1, countArrays[k] ?? ir.nullPtr(ir.ptr(ir.i32))])
                }
            }
            /// A number computed only when the gate flag says some pattern occurs (0 otherwise).
            func gated(_ gateFlag: Int, _ name: String, _ compute: () -> LLVMValueRef) -> LLVMValueRef {
                let gate = low.flags[gateFlag]
                let gm = LLVMConstInt(ir.i64, UInt64(bitPattern: gate.bits.reduce(Int64(0)) { $0 | (Int64(1) << Int64($1)) }), 0)!
                let present = ir.icmp(LLVMIntNE, ir.and(scanResults[gate.scan], gm), ir.i64c(0))
                let start = ir.currentBlock
                let run = ir.block(f, name), done = ir.block(f, name + ".done")
                ir.condBr(present, run, done)
                ir.at(run)
                let v = compute()
                ir.br(done)
                ir.at(done)
                return ir.phi(ir.f64, [(ir.f64c(0), start), (v, run)])
            }
            for (k, c) in low.counters.enumerated() where c.source == si {
                counterResults[k] = gated(c.gate!, "count\(k)") {
                    rtCall("loop_rt_count", ir.f64, [ir.ptr(dfaT), ir.i8p, ir.i64, ir.ptr(ir.f64)],
                           [counterDescs[k], value.0, value.1, counterWeights[k] ?? ir.nullPtr(ir.ptr(ir.f64))])
                }
            }
            for (k, n) in low.negated.enumerated() where n.source == si {
                let (td, nd, ws) = negatedDescs[k]
                negatedResults[k] = gated(n.gate!, "negated\(k)") {
                    rtCall("loop_rt_count_negated", ir.f64, [ir.ptr(dfaT), ir.ptr(dfaT), ir.i8p, ir.i64, ir.ptr(ir.f64), ir.f64],
                           [td, nd, value.0, value.1, ws, ir.f64c(n.scope)])
                }
            }
        }
        // Number and bool lets are computed once here; text lets are computed where a value is
        // needed (predicates read their source directly, so `let msg = lower(text)` costs nothing).
        for i in letOrder() where low.lets[i].type != .text { letMemo[i] = emit(low.lets[i]) }

        func storeResult(label: LLVMValueRef, decided: Int32, decidedValue: LLVMValueRef? = nil, confidence: LLVMValueRef) {
            ir.store(label, ir.gep(resultT, outp, [ir.i64c(0), ir.i32c(0)]))
            ir.store(decidedValue ?? ir.i32c(Int(decided)), ir.gep(resultT, outp, [ir.i64c(0), ir.i32c(1)]))
            ir.store(confidence, ir.gep(resultT, outp, [ir.i64c(0), ir.i32c(2)]))
        }

        // Rules: first match wins.
        for (i, r) in p.rules.enumerated() {
            let c = emit(low.rules[i]).b
            let hit = ir.block(f, "rule\(i)"), next = ir.block(f, "after.rule\(i)")
            ir.condBr(c, hit, next)
            ir.at(hit)
            storeResult(label: ir.i32c(r.label), decided: Int32(i), confidence: ir.f64c(r.confidence))
            ir.br(exit)
            ir.at(next)
        }

        // Scores, summed in label order, term order.
        var scores: [LLVMValueRef] = []
        var evidence = ir.bool(false)
        if p.labels.count >= Emitter.vectorScoreLabels { (scores, evidence) = vectorScores() }   // Emitter+VectorScores
        for l in p.labels.indices where p.labels.count < Emitter.vectorScoreLabels {
            var s = ir.f64c(0)
            for t in low.terms[l] {
                var v = scalarTerm(t)
                // Non-finite values count as 0.
                let finite = ir.fcmp(LLVMRealOEQ, ir.fsub(v, v), ir.f64c(0))
                v = ir.select(finite, v, ir.f64c(0))
                evidence = ir.or(evidence, ir.fcmp(LLVMRealONE, v, ir.f64c(0)))
                s = ir.fadd(s, v)
            }
            // A sum that overflowed counts as 0 (as in the interpreter).
            s = ir.select(ir.fcmp(LLVMRealOEQ, ir.fsub(s, s), ir.f64c(0)), s, ir.f64c(0))
            scores.append(s)
        }
        // Scores go out on the score and fallback paths, as the interpreter reports them.
        let haveScores = ir.icmp(LLVMIntNE, ir.bitcast(scoresp, ir.i8p), ir.nullPtr(ir.i8p))
        let storeB = ir.block(f, "store.scores"), decideB = ir.block(f, "decide")
        ir.condBr(haveScores, storeB, decideB)
        ir.at(storeB)
        for (l, s) in scores.enumerated() { ir.store(s, ir.gep(ir.f64, scoresp, [ir.i64c(l)])) }
        ir.br(decideB)
        ir.at(decideB)
        let argmaxB = ir.block(f, "argmax"), fallbackB = ir.block(f, "otherwise")
        ir.condBr(evidence, argmaxB, fallbackB)
        ir.at(argmaxB)
        let (best, bestScore) = argmax(scores)
        let sum = softmaxDenominator(scores, best: bestScore)
        storeResult(label: best, decided: -1, confidence: ir.fdiv(ir.f64c(1), sum))
        ir.br(exit)
        ir.at(fallbackB)
        let fb = p.otherwise
        storeResult(label: ir.i32c(fb.label), decided: -2, confidence: ir.f64c(fb.confidence ?? 1.0 / Double(p.labels.count)))
        ir.br(exit)

        ir.at(exit)
        for slot in allocSlots { _ = rtCall("loop_rt_free", ir.void, [ir.i8p], [ir.load(ir.i8p, slot)]) }
        ir.ret(nil)

        emitBatch(f, classifyT)
        emitMetadata()
    }

    /// void classify_batch(const loop_value *in, int64_t n, loop_result *out, double *scores)
    func emitBatch(_ one: LLVMValueRef, _ oneT: LLVMTypeRef) {
        let t = ir.fnType(ir.void, [ir.ptr(valueT), ir.i64, ir.ptr(resultT), ir.ptr(ir.f64)])
        let f = ir.function("\(prefix)classify_batch", t, internal: false)
        let input = ir.param(f, 0), n = ir.param(f, 1), outp = ir.param(f, 2), scoresp = ir.param(f, 3)
        let entry = ir.block(f, "entry"), loop = ir.block(f, "loop"), body = ir.block(f, "body"), done = ir.block(f, "done")
        ir.at(entry)
        let hasScores = ir.icmp(LLVMIntNE, ir.bitcast(scoresp, ir.i8p), ir.nullPtr(ir.i8p))
        ir.br(loop)
        ir.at(loop)
        let i = ir.phi(ir.i64, [(ir.i64c(0), entry)])
        ir.condBr(ir.icmp(LLVMIntSLT, i, n), body, done)
        ir.at(body)
        let inI = ir.gep(valueT, input, [ir.mul(i, ir.i64c(p.fields.count))])
        let outI = ir.gep(resultT, outp, [i])
        let sI = ir.select(hasScores, ir.gep(ir.f64, scoresp, [ir.mul(i, ir.i64c(p.labels.count))]), ir.nullPtr(ir.ptr(ir.f64)))
        _ = ir.call(one, oneT, [inI, outI, sI])
        let ni = ir.add(i, ir.i64c(1))
        ir.br(loop)
        ir.addIncoming(i, [(ni, body)])
        ir.at(done)
        ir.ret(nil)
    }

    func emitMetadata() {
        func constFn(_ name: String, _ v: LLVMValueRef, _ t: LLVMTypeRef) {
            let f = ir.function("\(prefix)\(name)", ir.fnType(t, []), internal: false)
            ir.at(ir.block(f, "entry"))
            ir.ret(v)
        }
        func stringTable(_ name: String, _ strings: [String]) {
            let ptrs = strings.enumerated().map { k, s in ir.constBytes("\(name).\(k)", Array(s.utf8)) }
            let table = ir.constArray("\(name).table", ir.i8p, ptrs)
            let f = ir.function("\(prefix)\(name)", ir.fnType(ir.i8p, [ir.i32]), internal: false)
            ir.at(ir.block(f, "entry"))
            let i = ir.param(f, 0)
            let ok = ir.icmp(LLVMIntULT, i, ir.i32c(strings.count))
            let safe = ir.select(ok, ir.zext(i, ir.i64), ir.i64c(0))
            let v = ir.load(ir.i8p, ir.gep(ir.i8p, table, [safe]))
            ir.ret(ir.select(ok, v, ir.nullPtr(ir.i8p)))
        }
        constFn("abi_version", ir.i32c(Codegen.abiVersion), ir.i32)
        constFn("label_count", ir.i32c(p.labels.count), ir.i32)
        constFn("field_count", ir.i32c(p.fields.count), ir.i32)
        stringTable("label_name", p.labelNames)
        stringTable("field_name", p.fields.map(\.name))
        stringTable("field_type", p.fields.map { $0.type.rawValue })
        let hash = ir.constBytes("program.hash", Array(p.sourceHash.utf8))
        constFn("program_hash", hash, ir.i8p)
        let name = ir.constBytes("program.name", Array(p.name.utf8))
        constFn("program_name", name, ir.i8p)
    }
}
