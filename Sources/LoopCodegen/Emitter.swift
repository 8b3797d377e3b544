import CLLVM
import LoopSema

/// Emits LLVM IR for a lowered program: one table-driven scan function per fused automaton,
/// constant tables for the counting automata, `classify` (one input) and `classify_batch`, and the
/// metadata functions of the C ABI (Docs/abi.md, `loopai compile --emit header`).
final class Emitter {
    let ir: IR
    let low: LoweredProgram
    let p: TypedProgram
    let prefix: String

    lazy var valueT = ir.structType("loop_value", [ir.i8p, ir.i64, ir.f64])
    lazy var resultT = ir.structType("loop_result", [ir.i32, ir.i32, ir.f64])
    lazy var dfaT = ir.structType("loop_rt_dfa", [ir.i32, ir.i32, ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i32),
                                                   ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i8)])

    init(_ low: LoweredProgram, prefix: String, moduleName: String, context: LLVMContextRef? = nil) {
        self.low = low
        self.p = low.program
        self.prefix = prefix
        self.ir = IR(name: moduleName, context: context)
    }

    // MARK: runtime declarations

    func rt(_ name: String, _ ret: LLVMTypeRef, _ params: [LLVMTypeRef]) -> (LLVMValueRef, LLVMTypeRef) {
        let t = ir.fnType(ret, params)
        let f = ir.declare(name, t)
        // Helpers that only read their inputs: LLVM may then compute one once for all the
        // places that ask (`len(text)` in each of 77 score blocks is one call).
        if Emitter.pureHelpers.contains(name) { ir.addFunctionAttributes(f, ["readonly", "nounwind", "willreturn"]) }
        return (f, t)
    }

    /// Runtime helpers without side effects: they only read their arguments (and the tables they
    /// point to). Not `loop_rt_decode`: it writes the unit's length through its last argument.
    static let pureHelpers: Set<String> = [
        "loop_rt_len", "loop_rt_upper_ratio", "loop_rt_digit_ratio", "loop_rt_punct_ratio",
        "loop_rt_word_count", "loop_rt_equal", "loop_rt_class", "loop_rt_count", "loop_rt_count_negated",
    ]
    func rtCall(_ name: String, _ ret: LLVMTypeRef, _ params: [LLVMTypeRef], _ args: [LLVMValueRef]) -> LLVMValueRef {
        let (f, t) = rt(name, ret, params)
        return ir.call(f, t, args)
    }

    // MARK: values

    enum EV {
        case num(LLVMValueRef)
        case bool(LLVMValueRef)
        case text(LLVMValueRef, LLVMValueRef)
        var n: LLVMValueRef { if case .num(let v) = self { return v }; fatalError("not a number") }
        var b: LLVMValueRef { if case .bool(let v) = self { return v }; fatalError("not a bool") }
        var t: (LLVMValueRef, LLVMValueRef) { if case .text(let p, let l) = self { return (p, l) }; fatalError("not text") }
    }

    // Per-classify state.
    var fields: [EV] = []
    var scanResults: [LLVMValueRef] = []
    var counterResults: [LLVMValueRef?] = []
    var negatedResults: [LLVMValueRef?] = []
    var countArrays: [LLVMValueRef?] = []
    var weightedResults: [LLVMValueRef?] = []
    /// Per scan shared by several word tables: its sums (an array of doubles, filled by the scan).
    var weightedSums: [LLVMValueRef?] = []
    /// Per field with a shared scan loop, the number of units it read (f64), once the loop has run.
    var unitCounts: [Int: LLVMValueRef] = [:]
    var sourceValues: [(LLVMValueRef, LLVMValueRef)?] = []
    var letMemo: [EV?] = []
    var allocSlots: [LLVMValueRef] = []
    var entryBlock: LLVMBasicBlockRef!
    var literalCount = 0

    func textLiteral(_ bytes: [UInt8]) -> EV {
        literalCount += 1
        let g = ir.constBytes("lit\(literalCount)", bytes)
        return .text(g, ir.i64c(bytes.count))
    }

    /// A stack slot in the entry block, so every allocation can be freed on the one exit path.
    func newAllocSlot() -> LLVMValueRef {
        let here = ir.currentBlock
        let first = LLVMGetFirstInstruction(entryBlock)
        if let first { LLVMPositionBuilderBefore(ir.b, first) } else { ir.at(entryBlock) }
        let slot = ir.alloca(ir.i8p)
        ir.store(ir.nullPtr(ir.i8p), slot)
        ir.at(here)
        allocSlots.append(slot)
        return slot
    }

    /// An array in the entry block (outside any loop the classify function is inlined into).
    func entryArray(_ element: LLVMTypeRef, _ count: Int, align: UInt32? = nil) -> LLVMValueRef {
        let here = ir.currentBlock
        let first = LLVMGetFirstInstruction(entryBlock)
        if let first { LLVMPositionBuilderBefore(ir.b, first) } else { ir.at(entryBlock) }
        let arr = ir.alloca(LLVMArrayType(element, UInt32(count)))
        if let align { LLVMSetAlignment(arr, align) }
        ir.at(here)
        return ir.gep(LLVMArrayType(element, UInt32(count)), arr, [ir.i64c(0), ir.i64c(0)])
    }

    func emit(_ e: TExpr) -> EV {
        switch e.kind {
        case .literal(let v):
            switch v {
            case .number(let x): return .num(ir.f64c(x))
            case .bool(let x): return .bool(ir.bool(x))
            case .text(let t): return textLiteral(t)
            default: fatalError("lists, tables and regexes only appear as built-in arguments")
            }
        case .field(let i): return fields[i]
        case .letRef(let i): return letMemo[i] ?? emit(low.lets[i])
        case .param, .call: fatalError("calls are inlined by lowering")
        case .not(let x): return .bool(ir.xor(emit(x).b, ir.bool(true)))
        case .neg(let x): return .num(ir.fneg(emit(x).n))
        case .and(let a, let c): return shortCircuit(a, c, isAnd: true)
        case .or(let a, let c): return shortCircuit(a, c, isAnd: false)
        case .compare(let op, let a, let c):
            let x = emit(a), y = emit(c)
            switch (x, y) {
            case (.num(let l), .num(let r)):
                let pred: LLVMRealPredicate
                switch op {
                case .eq: pred = LLVMRealOEQ
                case .ne: pred = LLVMRealUNE
                case .lt: pred = LLVMRealOLT
                case .le: pred = LLVMRealOLE
                case .gt: pred = LLVMRealOGT
                default: pred = LLVMRealOGE
                }
                return .bool(ir.fcmp(pred, l, r))
            case (.bool(let l), .bool(let r)):
                return .bool(ir.icmp(op == .eq ? LLVMIntEQ : LLVMIntNE, l, r))
            case (.text(let lp, let ll), .text(let rp, let rl)):
                let eq = rtCall("loop_rt_equal", ir.i32, [ir.i8p, ir.i64, ir.i8p, ir.i64], [lp, ll, rp, rl])
                return .bool(ir.icmp(op == .eq ? LLVMIntNE : LLVMIntEQ, eq, ir.i32c(0)))
            default: fatalError("ill-typed comparison")
            }
        case .arith(let op, let a, let c):
            let x = emit(a).n, y = emit(c).n
            switch op {
            case .add: return .num(ir.fadd(x, y))
            case .sub: return .num(ir.fsub(x, y))
            case .mul: return .num(ir.fmul(x, y))
            default:
                // x / 0 is 0 (Arith.apply).
                let isZero = ir.fcmp(LLVMRealOEQ, y, ir.f64c(0))
                return .num(ir.select(isZero, ir.f64c(0), ir.fdiv(x, y)))
            }
        case .ifElse(let c, let a, let d):
            let cond = emit(c).b
            let f = ir.currentFunction
            let tb = ir.block(f, "then"), eb = ir.block(f, "else"), jb = ir.block(f, "join")
            ir.condBr(cond, tb, eb)
            ir.at(tb); let tv = emit(a); let tEnd = ir.currentBlock; ir.br(jb)
            ir.at(eb); let ev = emit(d); let eEnd = ir.currentBlock; ir.br(jb)
            ir.at(jb)
            switch (tv, ev) {
            case (.num(let x), .num(let y)): return .num(ir.phi(ir.f64, [(x, tEnd), (y, eEnd)]))
            case (.bool(let x), .bool(let y)): return .bool(ir.phi(ir.i1, [(x, tEnd), (y, eEnd)]))
            case (.text(let xp, let xl), .text(let yp, let yl)):
                return .text(ir.phi(ir.i8p, [(xp, tEnd), (yp, eEnd)]), ir.phi(ir.i64, [(xl, tEnd), (yl, eEnd)]))
            default: fatalError("ill-typed if")
            }
        case .builtin(let b, let xs):
            if LoweredProgram.flagBuiltins.contains(b) || LoweredProgram.counterBuiltins.contains(b) {
                return predicate(e)
            }
            return builtin(b, xs)
        }
    }

    func shortCircuit(_ a: TExpr, _ c: TExpr, isAnd: Bool) -> EV {
        let x = emit(a).b
        let start = ir.currentBlock
        let f = ir.currentFunction
        let rhs = ir.block(f, isAnd ? "and.rhs" : "or.rhs"), join = ir.block(f, isAnd ? "and.end" : "or.end")
        if isAnd { ir.condBr(x, rhs, join) } else { ir.condBr(x, join, rhs) }
        ir.at(rhs)
        let y = emit(c).b
        let rhsEnd = ir.currentBlock
        ir.br(join)
        ir.at(join)
        return .bool(ir.phi(ir.i1, [(ir.bool(!isAnd), start), (y, rhsEnd)]))
    }

    func predicate(_ e: TExpr) -> EV {
        guard let ref = low.predicateOf[low.key(e)] else { fatalError("predicate was not collected: \(low.key(e))") }
        switch ref {
        case .constant(let v):
            switch v {
            case .bool(let x): return .bool(ir.bool(x))
            case .number(let x): return .num(ir.f64c(x))
            default: fatalError("bad constant predicate")
            }
        case .counter(let i): return .num(counterResults[i]!)
        case .negated(let i): return .num(negatedResults[i]!)
        case .counted(let i):
            let fp = low.flags[i]
            let slot = ir.gep(ir.i32, countArrays[fp.scan]!, [ir.i64c(fp.bits[0])])
            return .num(LLVMBuildUIToFP(ir.b, ir.load(ir.i32, slot), ir.f64, ""))
        case .weighted(let i):
            let w = low.weighted[i]
            if let slot = w.slot { return .num(ir.load(ir.f64, ir.gep(ir.f64, weightedSums[w.scan]!, [ir.i64c(slot)]))) }
            return .num(weightedResults[w.scan]!)
        case .flag(let i):
            let fp = low.flags[i]
            let mask = fp.bits.reduce(Int64(0)) { $0 | (Int64(1) << Int64($1)) }
            let m = LLVMConstInt(ir.i64, UInt64(bitPattern: mask), 0)!
            let hit = ir.and(scanResults[fp.scan], m)
            return .bool(fp.all ? ir.icmp(LLVMIntEQ, hit, m) : ir.icmp(LLVMIntNE, hit, ir.i64c(0)))
        }
    }

    func builtin(_ b: Builtin, _ xs: [TExpr]) -> EV {
        switch b {
        case .lower, .upper:
            let (ptr, len) = emit(xs[0]).t
            let slot = newAllocSlot()
            let buf = rtCall("loop_rt_alloc", ir.i8p, [ir.i64], [len])
            ir.store(buf, slot)
            _ = rtCall("loop_rt_map_case", ir.void, [ir.i8p, ir.i64, ir.i32, ir.i8p], [ptr, len, ir.i32c(b == .upper ? 1 : 0), buf])
            return .text(buf, len)
        case .trim:
            let (ptr, len) = emit(xs[0]).t
            let outLen = ir.alloca(ir.i64)
            let start = rtCall("loop_rt_trim", ir.i64, [ir.i8p, ir.i64, ir.ptr(ir.i64)], [ptr, len, outLen])
            return .text(ir.gep(ir.i8, ptr, [start]), ir.load(ir.i64, outLen))
        case .len, .word_count, .upper_ratio, .digit_ratio, .punct_ratio:
            // A field's length is the number of units its shared scan read (the same decoding).
            if b == .len, case .field(let i) = xs[0].kind, let n = unitCounts[i] { return .num(n) }
            let (ptr, len) = emit(xs[0]).t
            let name = ["len": "loop_rt_len", "word_count": "loop_rt_word_count", "upper_ratio": "loop_rt_upper_ratio",
                        "digit_ratio": "loop_rt_digit_ratio", "punct_ratio": "loop_rt_punct_ratio"][b.rawValue]!
            return .num(rtCall(name, ir.f64, [ir.i8p, ir.i64], [ptr, len]))
        case .min:
            // Swift.min(x, y) = y < x ? y : x
            let x = emit(xs[0]).n, y = emit(xs[1]).n
            return .num(ir.select(ir.fcmp(LLVMRealOLT, y, x), y, x))
        case .max:
            // Swift.max(x, y) = y >= x ? y : x
            let x = emit(xs[0]).n, y = emit(xs[1]).n
            return .num(ir.select(ir.fcmp(LLVMRealOGE, y, x), y, x))
        case .abs:
            let x = emit(xs[0]).n
            let bits = ir.bitcast(x, ir.i64)
            let cleared = ir.and(bits, LLVMConstInt(ir.i64, 0x7FFF_FFFF_FFFF_FFFF, 0))
            return .num(ir.bitcast(cleared, ir.f64))
        case .clamp:
            let x = emit(xs[0]).n, lo = emit(xs[1]).n, hi = emit(xs[2]).n
            let m = ir.select(ir.fcmp(LLVMRealOGE, lo, x), lo, x)
            return .num(ir.select(ir.fcmp(LLVMRealOLT, hi, m), hi, m))
        default:
            fatalError("predicate built-ins are handled by the automata")
        }
    }

    // MARK: automata

    lazy var nfaT = ir.structType("loop_rt_nfa", [ir.i32, ir.i32, ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i32),
                                                   ir.i32, ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i32), ir.ptr(ir.i8),
                                                   ir.i32, ir.ptr(ir.i32), ir.ptr(ir.i8), ir.i32])

    /// A group too large for a DFA: a constant NFA descriptor and a call to the runtime's simulation.
    func emitNFAScanFunction(_ k: Int, _ plan: LoweredProgram.ScanPlan) -> (LLVMValueRef, LLVMTypeRef) {
        let type = ir.fnType(ir.i64, [ir.i8p, ir.i64])
        let f = ir.function("\(prefix)scan\(k)", type, internal: true)
        let nfa = plan.nfa, cm = plan.classMap
        var kind: [Int32] = [], arg: [Int32] = [], next: [Int32] = [], targets: [Int32] = []
        for st in nfa.states {
            switch st {
            case .unit(let set, let n): kind.append(0); arg.append(Int32(set)); next.append(Int32(n))
            case .split(let xs): kind.append(1); arg.append(Int32(xs.count)); next.append(Int32(targets.count)); targets += xs.map { Int32($0) }
            case .assert(let a, let n):
                let code: Int32
                switch a { case .start: code = 0; case .end: code = 1; case .wordBoundary: code = 2; case .notWordBoundary: code = 3; case .notWordBefore: code = 4; case .notWordAfter: code = 5 }
                kind.append(2); arg.append(code); next.append(Int32(n))
            case .match(let bit): kind.append(3); arg.append(Int32(bit)); next.append(0)
            }
        }
        var member: [UInt8] = []
        for s in nfa.sets.indices { for c in 0..<cm.count { member.append(cm.membership[s][c] ? 1 : 0) } }
        // What the start states can lead to, ignoring assertion conditions (a safe over-approximation).
        var seen = Set<Int>(), stack = nfa.starts
        var startClasses = [UInt8](repeating: 0, count: cm.count)
        var mayMatch = false
        while let x = stack.popLast() {
            if !seen.insert(x).inserted { continue }
            switch nfa.states[x] {
            case .split(let xs): stack += xs
            case .assert(_, let nx): stack.append(nx)
            case .match: mayMatch = true
            case .unit(let set, _): for c in 0..<cm.count where cm.membership[set][c] { startClasses[c] = 1 }
            }
        }
        let startInfo = (classes: startClasses, mayMatch: mayMatch)
        let fields: [LLVMValueRef] = [
            ir.i32c(cm.count), ir.i32c(cm.bounds.count),
            ir.constI32s("nfa\(k).ascii", cm.ascii), ir.constI32s("nfa\(k).bounds", cm.bounds.map { Int32(bitPattern: $0) }),
            ir.constI32s("nfa\(k).bclass", cm.boundClass), ir.constI32s("nfa\(k).word", cm.isWord.map { $0 ? 1 : 0 }),
            ir.i32c(nfa.states.count), ir.constI32s("nfa\(k).kind", kind), ir.constI32s("nfa\(k).arg", arg),
            ir.constI32s("nfa\(k).next", next), ir.constI32s("nfa\(k).targets", targets.isEmpty ? [0] : targets),
            ir.constBytes("nfa\(k).member", member), ir.i32c(nfa.starts.count), ir.constI32s("nfa\(k).starts", nfa.starts.map { Int32($0) }),
            ir.constBytes("nfa\(k).startclass", startInfo.classes), ir.i32c(startInfo.mayMatch ? 1 : 0),
        ]
        var fs: [LLVMValueRef?] = fields
        let initv = fs.withUnsafeMutableBufferPointer { LLVMConstNamedStruct(nfaT, $0.baseAddress, UInt32(fields.count)) }!
        let g = LLVMAddGlobal(ir.module, nfaT, "nfa\(k)")!
        LLVMSetInitializer(g, initv)
        LLVMSetGlobalConstant(g, 1)
        LLVMSetLinkage(g, LLVMPrivateLinkage)
        ir.at(ir.block(f, "entry"))
        ir.ret(rtCall("loop_rt_nfa_scan", ir.i64, [ir.ptr(nfaT), ir.i8p, ir.i64], [g, ir.param(f, 0), ir.param(f, 1)]))
        return (f, type)
    }

    /// Bits of a scan whose matches are counted (into the counts array) rather than only flagged.
    func countMask(_ k: Int) -> Int64 {
        low.flags.filter { $0.counted && $0.scan == k }.reduce(Int64(0)) { acc, f in f.bits.reduce(acc) { $0 | (Int64(1) << Int64($1)) } }
    }

    /// For each set bit of `m`, counts[bit] += 1. Leaves the builder in the continuation block.
    func emitCountBits(_ m: LLVMValueRef, _ counts: LLVMValueRef, _ f: LLVMValueRef) {
        let start = ir.currentBlock
        let loop = ir.block(f, "count"), cont = ir.block(f, "counted")
        ir.condBr(ir.icmp(LLVMIntNE, m, ir.i64c(0)), loop, cont)
        ir.at(loop)
        let mm = ir.phi(ir.i64, [(m, start)])
        let (cttz, cttzT) = rt("llvm.cttz.i64", ir.i64, [ir.i64, ir.i1])
        let bit = ir.call(cttz, cttzT, [mm, ir.bool(true)])
        let slot = ir.gep(ir.i32, counts, [bit])
        ir.store(ir.add(ir.load(ir.i32, slot), ir.i32c(1)), slot)
        let rest = ir.and(mm, LLVMBuildSub(ir.b, mm, ir.i64c(1), "")!)
        ir.addIncoming(mm, [(rest, loop)])
        ir.condBr(ir.icmp(LLVMIntNE, rest, ir.i64c(0)), loop, cont)
        ir.at(cont)
    }

    /// A DFA's tables as the scan loops read them. Packed: one 32-bit word per transition, the
    /// target in the low 20 bits and, above them, an index into the table of distinct outputs
    /// (0 = nothing matched here). When every `state × classes` fits in 20 bits the target is
    /// stored already multiplied by the class count (`premultiplied`), so the loop's next index is
    /// one addition: the multiplication leaves the chain of dependent loads that bounds a scan's
    /// speed. An automaton with 2,048 distinct outputs or more (a word table of thousands of
    /// keys), or 2^20 states, is not packed (`wide`): targets and output indexes in two tables.
    struct PackedDFA {
        let trans: LLVMValueRef, outIndex: LLVMValueRef?, out: LLVMValueRef, fin: LLVMValueRef
        let classes: Int
        let premultiplied: Bool
        /// The start state (prevWord = false, atStart = true) as the loop carries it.
        let start: Int
        var wide: Bool { outIndex != nil }
    }

    func packedTables(_ name: String, _ d: DFA) -> PackedDFA {
        var outputs: [Int64] = [0]
        var outputIndex: [Int64: Int32] = [0: 0]
        let indexes: [Int32] = d.out.map { o in
            if let i = outputIndex[o] { return i }
            let i = Int32(outputs.count); outputIndex[o] = i; outputs.append(o); return i
        }
        let wide = outputs.count >= 2048 || d.stateCount >= (1 << 20)
        let premultiplied = d.stateCount * d.classes < (wide ? Int(Int32.max) : 1 << 20)
        let scale = Int32(premultiplied ? d.classes : 1)
        let trans = wide ? d.trans.map { $0 * scale } : zip(d.trans, indexes).map { t, i in t * scale | (i << 20) }
        return PackedDFA(trans: ir.constI32s("\(name).trans", trans), outIndex: wide ? ir.constI32s("\(name).outindex", indexes) : nil,
                         out: ir.constI64s("\(name).out", outputs), fin: ir.constI64s("\(name).final", d.finalOut), classes: d.classes,
                         premultiplied: premultiplied, start: Int(d.start[1]) * Int(scale))
    }

    /// One step of a scan: the next state (as the loop carries it) and the index of its output.
    struct Step { let next: LLVMValueRef; let outIndex: LLVMValueRef }

    /// The step from `state` (as the loop carries it) reading `unitClass`.
    func transition(_ t: PackedDFA, _ state: LLVMValueRef, _ unitClass: LLVMValueRef) -> Step {
        let row = t.premultiplied ? ir.zext(state, ir.i64) : ir.mul(ir.zext(state, ir.i64), ir.i64c(t.classes))
        let index = ir.add(row, ir.zext(unitClass, ir.i64))
        let e = ir.load(ir.i32, ir.gep(ir.i32, t.trans, [index]))
        if let outIndex = t.outIndex { return Step(next: e, outIndex: ir.load(ir.i32, ir.gep(ir.i32, outIndex, [index]))) }
        return Step(next: ir.and(e, ir.i32c(0xFFFFF)), outIndex: ir.lshr(e, ir.i32c(20)))
    }
    func nextState(_ step: Step) -> LLVMValueRef { step.next }
    /// What matched at a step (0: nothing).
    func output(_ t: PackedDFA, _ step: Step) -> LLVMValueRef {
        ir.load(ir.i64, ir.gep(ir.i64, t.out, [ir.zext(step.outIndex, ir.i64)]))
    }
    /// What the text's end adds in `state`.
    func finalOutput(_ t: PackedDFA, _ state: LLVMValueRef) -> LLVMValueRef {
        let s = ir.zext(state, ir.i64)
        let index = t.premultiplied ? LLVMBuildUDiv(ir.b, s, ir.i64c(t.classes), "")! : s
        return ir.load(ir.i64, ir.gep(ir.i64, t.fin, [index]))
    }

    /// A class map's lookup tables: the class of each ASCII byte, and the ranges (bounds and
    /// their classes) the runtime searches for every other unit.
    func classTables(_ name: String, _ cm: ClassMap) -> (ascii: LLVMValueRef, bounds: LLVMValueRef, bclass: LLVMValueRef, count: Int) {
        (ir.constI32s("\(name).ascii", cm.ascii), ir.constI32s("\(name).bounds", cm.bounds.map { Int32(bitPattern: $0) }),
         ir.constI32s("\(name).bclass", cm.boundClass), cm.bounds.count)
    }

    typealias ClassTables = (ascii: LLVMValueRef, bounds: LLVMValueRef, bclass: LLVMValueRef, count: Int)

    /// In a scan loop's body: reads the unit at `i` (an ASCII byte through each table, anything
    /// else decoded once and classified by the runtime under each map) and continues in
    /// `blocks.step`, returning the unit's class under each map (i32) and its width in bytes (i64).
    func emitReadUnit(_ ptr: LLVMValueRef, _ len: LLVMValueRef, _ i: LLVMValueRef, _ nslot: LLVMValueRef, _ maps: [ClassTables],
                      blocks: (ascii: LLVMBasicBlockRef, wide: LLVMBasicBlockRef, step: LLVMBasicBlockRef)) -> ([LLVMValueRef], LLVMValueRef) {
        let byte = ir.load(ir.i8, ir.gep(ir.i8, ptr, [i]))
        ir.condBr(ir.icmp(LLVMIntULT, byte, LLVMConstInt(ir.i8, 0x80, 0)), blocks.ascii, blocks.wide)
        ir.at(blocks.ascii)
        let ac = maps.map { ir.load(ir.i32, ir.gep(ir.i32, $0.ascii, [ir.zext(byte, ir.i64)])) }
        ir.br(blocks.step)
        ir.at(blocks.wide)
        let u = rtCall("loop_rt_decode", ir.i32, [ir.i8p, ir.i64, ir.i64, ir.ptr(ir.i64)], [ptr, len, i, nslot])
        let wc = maps.map { t in
            rtCall("loop_rt_class", ir.i32, [ir.ptr(ir.i32), ir.ptr(ir.i32), ir.i32, ir.i32],
                   [ir.bitcast(t.bounds, ir.ptr(ir.i32)), t.bclass, ir.i32c(t.count), u])
        }
        let wn = ir.load(ir.i64, nslot)
        ir.br(blocks.step)
        ir.at(blocks.step)
        let classes = zip(ac, wc).map { ir.phi(ir.i32, [($0, blocks.ascii), ($1, blocks.wide)]) }
        return (classes, ir.phi(ir.i64, [(ir.i64c(1), blocks.ascii), (wn, blocks.wide)]))
    }

    /// One loop over a source's text for the scans that share it: every shared flag DFA (`flagScans`,
    /// one class map) and at most one shared word-table scan (`rowScan`, whose class map may
    /// differ: it reads the text through its case mappings). The unit is decoded once, and the
    /// automata's chains of dependent table loads, each bounded by load latency, overlap in the
    /// pipeline instead of running one pass after another. Flags are OR-ed and counts added
    /// (order-free); a key that ends adds its row of weights to the sums in text order, as a
    /// scan of its own would.
    /// void scan(i8* p, i64 len, i64* flags, i32* counts /* 64 per flag scan */, double* sums);
    /// flags[number of flag scans] receives the number of units read (what `len` of the text is).
    func emitSourceScanFunction(_ name: String, flagScans ks: [Int], rowScan: Int?) -> (LLVMValueRef, LLVMTypeRef) {
        let type = ir.fnType(ir.void, [ir.i8p, ir.i64, ir.ptr(ir.i64), ir.ptr(ir.i32), ir.ptr(ir.f64)])
        let f = ir.function("\(prefix)\(name)", type, internal: true)
        // A flag scan whose automaton remembers only the last unit's class reads one table entry
        // per unit and carries no state (`DFA.memoryless`). One that cannot match without a unit
        // of a few classes that common text lacks (`DFA.trigger`: digits, currency signs) only
        // notes whether such a unit occurs, and its automaton runs in a pass of its own on the
        // texts that hold one; it adds no chain of dependent loads to this loop. The others step
        // their automaton here.
        // (`LoweredProgram.flagScanMode`; `loopai dump mir` shows each scan's.)
        let modes = ks.map { low.flagScanMode($0) }
        let memo = ks.indices.map { j -> (perClass: LLVMValueRef, atStart: Int64)? in
            guard case .memoryless(let perClass, let atStart) = modes[j] else { return nil }
            return (ir.constI64s("scan\(ks[j]).perclass", perClass), atStart)
        }
        let triggered = ks.indices.map { j -> (perClass: LLVMValueRef, scan: (LLVMValueRef, LLVMTypeRef))? in
            guard case .triggered(let classesIn) = modes[j] else { return nil }
            return (ir.constI64s("scan\(ks[j]).trigger", classesIn.map { $0 ? 1 : 0 }), emitScanFunction(ks[j], low.scans[ks[j]]))
        }
        let tables = ks.indices.map { j in memo[j] == nil && triggered[j] == nil ? packedTables("scan\(ks[j])", low.scans[ks[j]].dfa!) : nil }
        var maps: [ClassTables] = []
        if let k0 = ks.first { maps.append(classTables("\(name).flags", low.scans[k0].classMap)) }
        let rows = rowScan.map { k -> (k: Int, t: PackedDFA?, start: LLVMValueRef, sum: LLVMValueRef, weight: LLVMValueRef,
                                       dense: (index: LLVMValueRef, weights: LLVMValueRef)?, sums: Int, map: Int, hash: HashedWords?) in
            let plan = low.scans[k], r = plan.rows!
            var map = 0
            if ks.isEmpty || !low.scans[ks[0]].classMap.assignsSameClasses(as: plan.classMap) {
                map = maps.count
                maps.append(classTables("scan\(k)", plan.classMap))
            }
            return (k, plan.dfa.map { packedTables("scan\(k)", $0) }, ir.constI32s("scan\(k).rowstart", r.start), ir.constI32s("scan\(k).rowsum", r.sum),
                    ir.constF64s("scan\(k).rowweight", r.weight), denseRows(k, r), r.sums, map, plan.wordHash.map { hashedWords("scan\(k)", $0) })
        }
        // Negating tables (sum_words_negated): the negators' automaton, and per sum whether it negates.
        let negation = rowScan.flatMap { k in low.scans[k].negation.map { n -> (t: PackedDFA, map: Int, scope: Double, slots: LLVMValueRef, isWord: LLVMValueRef, punct: LLVMValueRef) in
            maps.append(classTables("scan\(k).negators", n.classMap))
            // Per byte: does it end a clause (. , ; : ! ?; never a byte of a multi-byte unit).
            let clause = Set(".,;:!?".utf8)
            return (packedTables("scan\(k).negators", n.dfa), maps.count - 1, n.scope, ir.constBytes("scan\(k).negating", n.negating.map { $0 ? 1 : 0 }),
                    ir.constBytes("scan\(k).isword", low.scans[k].classMap.isWord.map { $0 ? 1 : 0 }),
                    ir.constBytes("scan\(k).clause", (0..<256).map { clause.contains(UInt8($0)) ? 1 : 0 }))
        } }
        let entry = ir.block(f, "entry"), loop = ir.block(f, "loop"), body = ir.block(f, "body")
        let asciiB = ir.block(f, "ascii"), wide = ir.block(f, "wide"), step = ir.block(f, "step"), done = ir.block(f, "done")
        let ptr = ir.param(f, 0), len = ir.param(f, 1), flagsOut = ir.param(f, 2), counts = ir.param(f, 3), sums = ir.param(f, 4)
        ir.at(entry)
        let nslot = ir.alloca(ir.i64)
        // Hashed words: the classes of the current run (at most the longest key's; the slot
        // past them takes the rest of a longer run).
        let runBuffer = rows?.hash.map { h in
            // At least 16 bytes: keys of up to 16 units are compared eight bytes at a time (lookupWord).
            let size = UInt32(max(h.maxLength + 1, 16))
            return ir.gep(LLVMArrayType(ir.i8, size), ir.alloca(LLVMArrayType(ir.i8, size)), [ir.i64c(0), ir.i64c(0)])
        }
        ir.br(loop)
        ir.at(loop)
        let i = ir.phi(ir.i64, [(ir.i64c(0), entry)])
        let units = ir.phi(ir.i64, [(ir.i64c(0), entry)])
        let states = tables.map { t in t.map { ir.phi(ir.i32, [(ir.i32c($0.start), entry)]) } }
        let flags = ks.map { _ in ir.phi(ir.i64, [(ir.i64c(0), entry)]) }
        let rowState = rows.flatMap { r in r.t.map { ir.phi(ir.i32, [(ir.i32c($0.start), entry)]) } }
        // Hashed words: whether the previous unit was a word unit, and the run's hash and length.
        let run = rows?.hash.map { _ in
            (inWord: ir.phi(ir.i1, [(ir.bool(false), entry)]), h: ir.phi(ir.i64, [(ir.i64c(0), entry)]), len: ir.phi(ir.i64, [(ir.i64c(0), entry)]))
        }
        // The negation state, as the interpreter's negatedSum keeps it from the last negator's end:
        // whether a negator was seen, the words begun since (and before the current word), whether
        // the previous unit was a word unit, and whether clause punctuation came since.
        let neg = negation.map { _ in
            (state: ir.phi(ir.i32, [(ir.i32c(negation!.t.start), entry)]), seen: ir.phi(ir.i1, [(ir.bool(false), entry)]),
             words: ir.phi(ir.i64, [(ir.i64c(0), entry)]), wordsBefore: ir.phi(ir.i64, [(ir.i64c(0), entry)]),
             inWord: ir.phi(ir.i1, [(ir.bool(false), entry)]), clauseEnded: ir.phi(ir.i1, [(ir.bool(false), entry)]))
        }
        ir.condBr(ir.icmp(LLVMIntSLT, i, len), body, done)
        ir.at(body)
        let (classes, n) = emitReadUnit(ptr, len, i, nslot, maps, blocks: (asciiB, wide, step))
        /// Whether a key that ends now is negated: a negator came before it, no clause punctuation
        /// since, and fewer than `scope` words between them.
        func negatedNow(_ st: (seen: LLVMValueRef, wordsBefore: LLVMValueRef, clauseEnded: LLVMValueRef)) -> LLVMValueRef {
            let near = ir.fcmp(LLVMRealOLT, LLVMBuildSIToFP(ir.b, st.wordsBefore, ir.f64, "")!, ir.f64c(negation!.scope))
            return ir.and(ir.and(st.seen, ir.not(st.clauseEnded)), near)
        }
        var nextStates: [LLVMValueRef?] = []
        var nextFlags: [LLVMValueRef] = []
        var outs: [LLVMValueRef] = []
        for j in ks.indices {
            let o: LLVMValueRef
            if let m = memo[j]?.perClass ?? triggered[j]?.perClass {
                o = ir.load(ir.i64, ir.gep(ir.i64, m, [ir.zext(classes[0], ir.i64)]))
                nextStates.append(nil)
            } else {
                let e = transition(tables[j]!, states[j]!, classes[0])
                nextStates.append(nextState(e))
                o = output(tables[j]!, e)
            }
            outs.append(o)
            nextFlags.append(ir.or(flags[j], o))
        }
        var nextRowState: LLVMValueRef? = nil
        var nextNeg: [LLVMValueRef] = []
        if let rows, let rowState, let t = rows.t {
            let e = transition(t, rowState, classes[rows.map])
            nextRowState = nextState(e)
            var sign: (negated: LLVMValueRef, slots: LLVMValueRef)? = nil
            if let negation, let neg {
                // A key ending at this unit began after every negator that ends here (keys and
                // negators are whole words), so it is weighed first, then a negator resets the state.
                sign = (negatedNow((neg.seen, neg.wordsBefore, neg.clauseEnded)), negation.slots)
                let en = transition(negation.t, neg.state, classes[negation.map])
                let reset = ir.icmp(LLVMIntNE, output(negation.t, en), ir.i64c(0))
                let seen = ir.or(neg.seen, reset)
                let words = ir.select(reset, ir.i64c(0), neg.words)
                let inWord = ir.select(reset, ir.bool(false), neg.inWord)
                let clause = ir.select(reset, ir.bool(false), neg.clauseEnded)
                // Then this unit: a word unit after a non-word one begins a word; . , ; : ! ? end the clause.
                let isWord = ir.icmp(LLVMIntNE, ir.load(ir.i8, ir.gep(ir.i8, negation.isWord, [ir.zext(classes[rows.map], ir.i64)])), LLVMConstInt(ir.i8, 0, 0))
                let begins = ir.and(isWord, ir.not(inWord))
                let byte = ir.zext(ir.load(ir.i8, ir.gep(ir.i8, ptr, [i])), ir.i64)
                let punct = ir.icmp(LLVMIntNE, ir.load(ir.i8, ir.gep(ir.i8, negation.punct, [byte])), LLVMConstInt(ir.i8, 0, 0))
                nextNeg = [nextState(en), seen, ir.select(begins, ir.add(words, ir.i64c(1)), words),
                           ir.select(begins, words, neg.wordsBefore), isWord, ir.or(clause, punct)]
            }
            addRow(output(t, e), rows.start, rows.sum, rows.weight, rows.dense, rows.sums, sums, f, sign: sign)
        }
        var nextRun: [LLVMValueRef] = []
        if let rows, let hw = rows.hash, let run, let runBuffer {
            // A word unit extends the run (or starts one); the first other unit after a run looks it up.
            let c = classes[rows.map]
            let isWord = ir.icmp(LLVMIntNE, ir.load(ir.i8, ir.gep(ir.i8, hw.isWord, [ir.zext(c, ir.i64)])), LLVMConstInt(ir.i8, 0, 0))
            let wordB = ir.block(f, "word"), endB = ir.block(f, "wordend"), lookB = ir.block(f, "wordlookup"), join = ir.block(f, "wordjoin")
            ir.condBr(isWord, wordB, endB)
            ir.at(wordB)
            let h0 = ir.select(run.inWord, run.h, ir.i64c(Int(truncatingIfNeeded: WordHash.seed)))
            let l0 = ir.select(run.inWord, run.len, ir.i64c(0))
            let at = ir.select(ir.icmp(LLVMIntULT, l0, ir.i64c(hw.maxLength)), l0, ir.i64c(hw.maxLength))
            // Short keys (`HashedWords.Keys.records`): each class plus one, so that no unit is a zero byte.
            ir.store(ir.trunc(hw.usesRecords ? ir.add(c, ir.i32c(1)) : c, ir.i8), ir.gep(ir.i8, runBuffer, [at]))
            let h1 = ir.mul(ir.xor(h0, ir.zext(c, ir.i64)), ir.i64c(Int(truncatingIfNeeded: WordHash.prime)))
            let l1 = ir.add(l0, ir.i64c(1))
            ir.br(join)
            ir.at(endB)
            ir.condBr(run.inWord, lookB, join)
            ir.at(lookB)
            addRow(lookupWord(hw, run.h, run.len, runBuffer, f), rows.start, rows.sum, rows.weight, rows.dense, rows.sums, sums, f)
            let lookEnd = ir.currentBlock
            ir.br(join)
            ir.at(join)
            nextRun = [ir.phi(ir.i1, [(ir.bool(true), wordB), (ir.bool(false), endB), (ir.bool(false), lookEnd)]),
                       ir.phi(ir.i64, [(h1, wordB), (run.h, endB), (run.h, lookEnd)]),
                       ir.phi(ir.i64, [(l1, wordB), (run.len, endB), (run.len, lookEnd)])]
        }
        for (j, k) in ks.enumerated() where triggered[j] == nil {
            let cmask = countMask(k)
            if cmask != 0 { emitCountBits(ir.and(outs[j], LLVMConstInt(ir.i64, UInt64(bitPattern: cmask), 0)), ir.gep(ir.i32, counts, [ir.i64c(64 * j)]), f) }
        }
        let ni = ir.add(i, n)
        let nunits = ir.add(units, ir.i64c(1))
        let stepEnd = ir.currentBlock
        ir.br(loop)
        ir.addIncoming(i, [(ni, stepEnd)])
        ir.addIncoming(units, [(nunits, stepEnd)])
        for j in ks.indices {
            if let state = states[j], let next = nextStates[j] { ir.addIncoming(state, [(next, stepEnd)]) }
            ir.addIncoming(flags[j], [(nextFlags[j], stepEnd)])
        }
        if let rowState, let nextRowState { ir.addIncoming(rowState, [(nextRowState, stepEnd)]) }
        if let run { for (phi, v) in zip([run.inWord, run.h, run.len], nextRun) { ir.addIncoming(phi, [(v, stepEnd)]) } }
        if let neg {
            for (phi, v) in zip([neg.state, neg.seen, neg.words, neg.wordsBefore, neg.inWord, neg.clauseEnded], nextNeg) { ir.addIncoming(phi, [(v, stepEnd)]) }
        }
        ir.at(done)
        ir.store(units, ir.gep(ir.i64, flagsOut, [ir.i64c(ks.count)]))
        for (j, k) in ks.enumerated() {
            if let t = triggered[j] {
                // flags[j] says whether a unit of its classes occurred: then the pass of its own.
                let run = ir.block(f, "scan\(k).run"), skip = ir.block(f, "scan\(k).skip"), joined = ir.block(f, "scan\(k).joined")
                ir.condBr(ir.icmp(LLVMIntNE, flags[j], ir.i64c(0)), run, skip)
                ir.at(run)
                let found = ir.call(t.scan.0, t.scan.1, [ptr, len, ir.gep(ir.i32, counts, [ir.i64c(64 * j)])])
                ir.br(joined)
                ir.at(skip)
                ir.br(joined)
                ir.at(joined)
                ir.store(ir.phi(ir.i64, [(found, run), (ir.i64c(0), skip)]), ir.gep(ir.i64, flagsOut, [ir.i64c(j)]))
                continue
            }
            let fo = memo[j].map { ir.i64c(Int($0.atStart)) } ?? finalOutput(tables[j]!, states[j]!)
            let cmask = countMask(k)
            if cmask != 0 { emitCountBits(ir.and(fo, LLVMConstInt(ir.i64, UInt64(bitPattern: cmask), 0)), ir.gep(ir.i32, counts, [ir.i64c(64 * j)]), f) }
            ir.store(ir.or(flags[j], fo), ir.gep(ir.i64, flagsOut, [ir.i64c(j)]))
        }
        if let rows, let rowState, let t = rows.t {
            let sign = negation.flatMap { n in neg.map { (negatedNow(($0.seen, $0.wordsBefore, $0.clauseEnded)), n.slots) } }
            addRow(finalOutput(t, rowState), rows.start, rows.sum, rows.weight, rows.dense, rows.sums, sums, f, sign: sign)
        }
        if let rows, let hw = rows.hash, let run, let runBuffer {
            // A run that reaches the text's end.
            let lookB = ir.block(f, "lastword"), fin = ir.block(f, "lastword.done")
            ir.condBr(run.inWord, lookB, fin)
            ir.at(lookB)
            addRow(lookupWord(hw, run.h, run.len, runBuffer, f), rows.start, rows.sum, rows.weight, rows.dense, rows.sums, sums, f)
            ir.br(fin)
            ir.at(fin)
        }
        ir.ret(nil)
        return (f, type)
    }

    /// A hashed word scan's tables (`WordHash`): slots, per class whether it is a word class,
    /// and how a run is compared with its candidate key (`Keys`).
    struct HashedWords {
        let slots: LLVMValueRef, isWord: LLVMValueRef
        let mask: Int, maxLength: Int
        let keys: Keys

        enum Keys {
            /// Keys of at most 16 units: per key 16 bytes, its classes each plus one, then zeros
            /// (a key that never occurs: all zeros). The run buffer then holds classes plus one too.
            case records(LLVMValueRef)
            /// Longer keys: per key its hash, its length (−1: never occurs) and where its classes
            /// start in one byte array.
            case hashed(hashes: LLVMValueRef, lengths: LLVMValueRef, starts: LLVMValueRef, classes: LLVMValueRef)
        }

        var usesRecords: Bool { if case .records = keys { return true }; return false }
    }

    func hashedWords(_ name: String, _ h: WordHash) -> HashedWords {
        let keys: HashedWords.Keys
        if h.maxLength <= 16 {
            keys = .records(ir.constBytes("\(name).records", h.classes.flatMap { cs -> [UInt8] in
                let units = (cs ?? []).map { $0 &+ 1 }
                return units + [UInt8](repeating: 0, count: 16 - units.count)
            }))
        } else {
            var flat: [UInt8] = []
            var starts: [Int32] = []
            for cs in h.classes { starts.append(Int32(flat.count)); flat += cs ?? [] }
            keys = .hashed(hashes: ir.constI64s("\(name).hashes", h.hashes.map { Int64(bitPattern: $0) }),
                           lengths: ir.constI32s("\(name).lengths", h.classes.map { Int32($0?.count ?? -1) }),
                           starts: ir.constI32s("\(name).starts", starts), classes: ir.constBytes("\(name).classes", flat + [0]))
        }
        return HashedWords(slots: ir.constI32s("\(name).slots", h.slots), isWord: ir.constBytes("\(name).wordclass", h.isWord.map { $0 ? 1 : 0 }),
                           mask: h.slots.count - 1, maxLength: h.maxLength, keys: keys)
    }

    /// The key (index + 1) whose classes the run's are, or 0: `WordHash.lookup` in IR.
    func lookupWord(_ hw: HashedWords, _ h: LLVMValueRef, _ len: LLVMValueRef, _ buffer: LLVMValueRef, _ f: LLVMValueRef) -> LLVMValueRef {
        let startB = ir.currentBlock
        let initB = ir.block(f, "probe.init"), probe = ir.block(f, "probe"), check = ir.block(f, "probe.check")
        let found = ir.block(f, "probe.found"), next = ir.block(f, "probe.next"), done = ir.block(f, "probe.done")
        ir.condBr(ir.icmp(LLVMIntULE, len, ir.i64c(hw.maxLength)), initB, done)
        ir.at(initB)
        let first = ir.and(ir.xor(h, ir.lshr(h, ir.i64c(32))), ir.i64c(hw.mask))
        ir.br(probe)
        ir.at(probe)
        let slot = ir.phi(ir.i64, [(first, initB)])
        let e = ir.load(ir.i32, ir.gep(ir.i32, hw.slots, [slot]))
        ir.condBr(ir.icmp(LLVMIntSLT, e, ir.i32c(0)), done, check)
        ir.at(check)
        let key = ir.zext(e, ir.i64)
        switch hw.keys {
        case .records(let records):
            // Keys of up to 16 units: the run (classes plus one, masked to its length) equals the
            // key's record exactly when it is the key (a shorter key's record has zeros where the
            // run has units, a longer one units where the masked run has zeros): two loads of the
            // key's 16 bytes and one branch, no hash, length or loop.
            func word(_ p: LLVMValueRef, _ at: LLVMValueRef) -> LLVMValueRef {
                let v = ir.load(ir.i64, ir.bitcast(ir.gep(ir.i8, p, [at]), ir.ptr(ir.i64)))
                LLVMSetAlignment(v, 1)
                return v
            }
            func lowBytes(_ n: LLVMValueRef) -> LLVMValueRef {   // a mask of the low n bytes, n ≥ 0
                let full = ir.icmp(LLVMIntUGE, n, ir.i64c(8))
                let bits = ir.shl(ir.select(full, ir.i64c(0), n), ir.i64c(3))
                return ir.select(full, ir.i64c(-1), LLVMBuildSub(ir.b, ir.shl(ir.i64c(1), bits), ir.i64c(1), "")!)
            }
            let at = ir.shl(key, ir.i64c(4))
            let rest = ir.select(ir.icmp(LLVMIntUGT, len, ir.i64c(8)), LLVMBuildSub(ir.b, len, ir.i64c(8), "")!, ir.i64c(0))
            let d0 = ir.xor(ir.and(word(buffer, ir.i64c(0)), lowBytes(len)), word(records, at))
            let d1 = ir.xor(ir.and(word(buffer, ir.i64c(8)), lowBytes(rest)), word(records, ir.add(at, ir.i64c(8))))
            ir.condBr(ir.icmp(LLVMIntEQ, ir.or(d0, d1), ir.i64c(0)), found, next)
        case .hashed(let hashes, let lengths, let starts, let classes):
            let sameLength = ir.icmp(LLVMIntEQ, ir.zext(ir.load(ir.i32, ir.gep(ir.i32, lengths, [key])), ir.i64), len)
            let base = ir.zext(ir.load(ir.i32, ir.gep(ir.i32, starts, [key])), ir.i64)
            let sameHash = ir.icmp(LLVMIntEQ, ir.load(ir.i64, ir.gep(ir.i64, hashes, [key])), h)
            let cmpHead = ir.block(f, "probe.cmp"), cmpBody = ir.block(f, "probe.cmpbody")
            ir.condBr(ir.and(sameHash, sameLength), cmpHead, next)
            ir.at(cmpHead)
            let j = ir.phi(ir.i64, [(ir.i64c(0), check)])
            ir.condBr(ir.icmp(LLVMIntULT, j, len), cmpBody, found)
            ir.at(cmpBody)
            let a = ir.load(ir.i8, ir.gep(ir.i8, buffer, [j])), b = ir.load(ir.i8, ir.gep(ir.i8, classes, [ir.add(base, j)]))
            ir.addIncoming(j, [(ir.add(j, ir.i64c(1)), cmpBody)])
            ir.condBr(ir.icmp(LLVMIntEQ, a, b), cmpHead, next)
        }
        ir.at(next)
        ir.addIncoming(slot, [(ir.and(ir.add(slot, ir.i64c(1)), ir.i64c(hw.mask)), next)])
        ir.br(probe)
        ir.at(found)
        let hit = ir.add(key, ir.i64c(1))
        ir.br(done)
        ir.at(done)
        return ir.phi(ir.i64, [(ir.i64c(0), startB), (ir.i64c(0), probe), (hit, found)])
    }

    func emitScanFunction(_ k: Int, _ plan: LoweredProgram.ScanPlan) -> (LLVMValueRef, LLVMTypeRef) {
        guard let d = plan.dfa else { return emitNFAScanFunction(k, plan) }
        precondition(plan.rows == nil, "a word-table scan runs in its source's scan function")
        let weighted = plan.weights != nil
        let cmask = countMask(k)
        let type = weighted ? ir.fnType(ir.f64, [ir.i8p, ir.i64]) : ir.fnType(ir.i64, [ir.i8p, ir.i64, ir.ptr(ir.i32)])
        let f = ir.function("\(prefix)scan\(k)", type, internal: true)
        let cm = plan.classMap
        let t = packedTables("scan\(k)", d)
        let classes = classTables("scan\(k)", cm)
        let entry = ir.block(f, "entry"), loop = ir.block(f, "loop"), body = ir.block(f, "body")
        let asciiB = ir.block(f, "ascii"), wide = ir.block(f, "wide"), step = ir.block(f, "step"), done = ir.block(f, "done")
        let ptr = ir.param(f, 0), len = ir.param(f, 1)
        ir.at(entry)
        let nslot = ir.alloca(ir.i64)
        let start = ir.i32c(t.start)
        ir.br(loop)
        ir.at(loop)
        let i = ir.phi(ir.i64, [(ir.i64c(0), entry)])
        let s = ir.phi(ir.i32, [(start, entry)])
        let flags = weighted ? ir.phi(ir.f64, [(ir.f64c(0), entry)]) : ir.phi(ir.i64, [(ir.i64c(0), entry)])
        let weightTable = plan.weights.map { ir.constF64s("scan\(k).weights", $0) }
        ir.condBr(ir.icmp(LLVMIntSLT, i, len), body, done)
        ir.at(body)
        let (cs, n) = emitReadUnit(ptr, len, i, nslot, [classes], blocks: (asciiB, wide, step))
        let c = cs[0]
        let e = transition(t, s, c)
        let ns = nextState(e)
        let o = output(t, e)
        let ni = ir.add(i, n)
        let nflags: LLVMValueRef
        if let wt = weightTable {
            nflags = addWeight(flags, o, wt, f)
        } else {
            nflags = ir.or(flags, o)
            if cmask != 0 { emitCountBits(ir.and(o, LLVMConstInt(ir.i64, UInt64(bitPattern: cmask), 0)), ir.param(f, 2), f) }
        }
        let stepEnd = ir.currentBlock
        ir.br(loop)
        ir.addIncoming(i, [(ni, stepEnd)])
        ir.addIncoming(s, [(ns, stepEnd)])
        ir.addIncoming(flags, [(nflags, stepEnd)])
        ir.at(done)
        let fo = finalOutput(t, s)
        if let wt = weightTable {
            ir.ret(addWeight(flags, fo, wt, f))
        } else {
            if cmask != 0 { emitCountBits(ir.and(fo, LLVMConstInt(ir.i64, UInt64(bitPattern: cmask), 0)), ir.param(f, 2), f) }
            ir.ret(ir.or(flags, fo))
        }
        return (f, type)
    }

    /// Keys whose row fills at least a quarter of the sums (the common words of a many-label
    /// program: "my", "card", "the") also get their row written out whole, so that adding it is
    /// one loop over the sums that vectorizes, instead of one indirect add per entry. Adding the
    /// zeros of the other sums changes nothing: a sum starts at +0 and, in round-to-nearest, never
    /// becomes −0, and x + 0 = x for every other x. Nil when no key qualifies.
    func denseRows(_ k: Int, _ rows: (start: [Int32], sum: [Int32], weight: [Double], sums: Int)) -> (index: LLVMValueRef, weights: LLVMValueRef)? {
        guard rows.sums >= 8 else { return nil }
        var index = [Int32](repeating: -1, count: max(rows.start.count - 1, 0))
        var weights: [Double] = []
        for key in index.indices {
            let a = Int(rows.start[key]), b = Int(rows.start[key + 1])
            guard (b - a) * 4 >= rows.sums else { continue }
            var row = [Double](repeating: 0, count: Emitter.paddedSums(rows.sums))
            for j in a..<b { row[Int(rows.sum[j])] += rows.weight[j] }
            // Two entries of one key for one sum would be added one after the other: keep them sparse.
            guard Set(rows.sum[a..<b]).count == b - a else { continue }
            index[key] = Int32(weights.count / Emitter.paddedSums(rows.sums))
            weights += row
        }
        guard !weights.isEmpty else { return nil }
        return (ir.constI32s("scan\(k).denseindex", index), ir.constF64s("scan\(k).dense", weights, align: 64))
    }

    /// When o != 0 (key o - 1 ended here): sums[rowSum[j]] += rowWeight[j] for each j of its row,
    /// or, for a key with a dense row, sums[s] += dense[row * n + s] for every sum s.
    /// With `sign`, a sum whose `slots` byte is set gets −weight while `negated` holds (a negating
    /// table's key after a negator), as `sum_words_negated` subtracts it.
    func addRow(_ o: LLVMValueRef, _ rowStart: LLVMValueRef, _ rowSum: LLVMValueRef, _ rowWeight: LLVMValueRef,
                _ dense: (index: LLVMValueRef, weights: LLVMValueRef)?, _ n: Int, _ sums: LLVMValueRef, _ f: LLVMValueRef,
                sign: (negated: LLVMValueRef, slots: LLVMValueRef)? = nil) {
        func signed(_ w: LLVMValueRef, sum: LLVMValueRef) -> LLVMValueRef {
            guard let sign else { return w }
            let negates = ir.icmp(LLVMIntNE, ir.load(ir.i8, ir.gep(ir.i8, sign.slots, [sum])), LLVMConstInt(ir.i8, 0, 0))
            return ir.select(ir.and(negates, sign.negated), ir.fneg(w), w)
        }
        let head = ir.block(f, "row"), each = ir.block(f, "rowadd"), cont = ir.block(f, "rowdone")
        ir.condBr(ir.icmp(LLVMIntNE, o, ir.i64c(0)), head, cont)
        ir.at(head)
        let key = LLVMBuildSub(ir.b, o, ir.i64c(1), "")!
        if let dense {
            let denseB = ir.block(f, "dense"), denseAdd = ir.block(f, "denseadd"), sparse = ir.block(f, "sparse")
            let row = ir.load(ir.i32, ir.gep(ir.i32, dense.index, [key]))
            ir.condBr(ir.icmp(LLVMIntSGE, row, ir.i32c(0)), denseB, sparse)
            ir.at(denseB)
            let base = ir.mul(ir.zext(row, ir.i64), ir.i64c(Emitter.paddedSums(n)))
            ir.br(denseAdd)
            ir.at(denseAdd)
            let s = ir.phi(ir.i64, [(ir.i64c(0), denseB)])
            let slot = ir.gep(ir.f64, sums, [s])
            ir.store(ir.fadd(ir.load(ir.f64, slot), signed(ir.load(ir.f64, ir.gep(ir.f64, dense.weights, [ir.add(base, s)])), sum: s)), slot)
            let ns = ir.add(s, ir.i64c(1))
            ir.addIncoming(s, [(ns, denseAdd)])
            ir.condBr(ir.icmp(LLVMIntULT, ns, ir.i64c(n)), denseAdd, cont)
            ir.at(sparse)
        }
        let first = ir.zext(ir.load(ir.i32, ir.gep(ir.i32, rowStart, [key])), ir.i64)
        let end = ir.zext(ir.load(ir.i32, ir.gep(ir.i32, rowStart, [ir.add(key, ir.i64c(1))])), ir.i64)
        let entry = ir.currentBlock
        ir.br(each)
        ir.at(each)
        let j = ir.phi(ir.i64, [(first, entry)])
        let sumIndex = ir.zext(ir.load(ir.i32, ir.gep(ir.i32, rowSum, [j])), ir.i64)
        let slot = ir.gep(ir.f64, sums, [sumIndex])
        ir.store(ir.fadd(ir.load(ir.f64, slot), signed(ir.load(ir.f64, ir.gep(ir.f64, rowWeight, [j])), sum: sumIndex)), slot)
        let nj = ir.add(j, ir.i64c(1))
        ir.addIncoming(j, [(nj, each)])
        ir.condBr(ir.icmp(LLVMIntULT, nj, end), each, cont)
        ir.at(cont)
    }

    /// sum + weights[o - 1] when o != 0 (the key that ended here), else sum; in text order.
    func addWeight(_ sum: LLVMValueRef, _ o: LLVMValueRef, _ weights: LLVMValueRef, _ f: LLVMValueRef) -> LLVMValueRef {
        let start = ir.currentBlock
        let add = ir.block(f, "weight"), cont = ir.block(f, "weighted")
        ir.condBr(ir.icmp(LLVMIntNE, o, ir.i64c(0)), add, cont)
        ir.at(add)
        let w = ir.load(ir.f64, ir.gep(ir.f64, weights, [LLVMBuildSub(ir.b, o, ir.i64c(1), "")!]))
        let s2 = ir.fadd(sum, w)
        ir.br(cont)
        ir.at(cont)
        return ir.phi(ir.f64, [(sum, start), (s2, add)])
    }

    /// A constant `loop_rt_dfa` descriptor for a counting automaton.
    func emitCounterDescriptor(_ k: Int, _ dfa: DFA, _ cm: ClassMap) -> LLVMValueRef { emitCounterDescriptor("cnt\(k)", dfa, cm) }

    func emitCounterDescriptor(_ name: String, _ dfa: DFA, _ cm: ClassMap) -> LLVMValueRef {
        let fields: [LLVMValueRef] = [
            ir.i32c(cm.count), ir.i32c(cm.bounds.count),
            ir.constI32s("\(name).ascii", cm.ascii),
            ir.bitcast0(ir.constI32s("\(name).bounds", cm.bounds.map { Int32(bitPattern: $0) })),
            ir.constI32s("\(name).bclass", cm.boundClass),
            ir.constI32s("\(name).word", cm.isWord.map { $0 ? 1 : 0 }),
            ir.constI32s("\(name).trans", dfa.trans),
            ir.constI32s("\(name).out", dfa.out.map { Int32($0) }),
            ir.constI32s("\(name).final", dfa.finalOut.map { Int32($0) }),
            ir.constI32s("\(name).start", dfa.start),
            ir.constBytes("\(name).asciistart", (0..<128).map { b -> UInt8 in
                // Can a match begin with this byte (not at the very start of the text), whatever came before?
                let c = Int(cm.ascii[b])
                for pw in 0..<2 {
                    let s = Int(dfa.start[pw * 2])
                    if s != 0 && (dfa.trans[s * dfa.classes + c] != 0 || dfa.out[s * dfa.classes + c] != 0) { return 1 }
                }
                return 0
            }),
        ]
        var fs: [LLVMValueRef?] = fields
        let initv = fs.withUnsafeMutableBufferPointer { LLVMConstNamedStruct(dfaT, $0.baseAddress, UInt32(fields.count)) }!
        let g = LLVMAddGlobal(ir.module, dfaT, "\(name)")!
        LLVMSetInitializer(g, initv)
        LLVMSetGlobalConstant(g, 1)
        LLVMSetLinkage(g, LLVMPrivateLinkage)
        return g
    }
}

extension IR {
    /// Constant arrays of i32 already have the right pointer type; kept for symmetry.
    func bitcast0(_ v: LLVMValueRef) -> LLVMValueRef { v }
}

extension Emitter {
    /// A row of sums rounded up to whole cache lines of doubles: dense rows are laid out at this
    /// stride in a 64-byte-aligned table, so that adding one reads whole lines.
    static func paddedSums(_ n: Int) -> Int { (n + 7) / 8 * 8 }
}
