import CLLVM

/// A thin Swift layer over the LLVM C API's context, module and builder: the types and
/// instructions the Loop emitter needs, nothing more. Nothing outside LoopCodegen sees LLVM.
final class IR {
    let ctx: LLVMContextRef
    let module: LLVMModuleRef
    let b: LLVMBuilderRef
    var ownsModule = true

    let ownsContext: Bool

    /// With `context`, the module lives in a context someone else owns (the JIT's).
    init(name: String, context: LLVMContextRef? = nil) {
        ownsContext = context == nil
        ctx = context ?? LLVMContextCreate()
        module = LLVMModuleCreateWithNameInContext(name, ctx)
        b = LLVMCreateBuilderInContext(ctx)
    }

    deinit {
        LLVMDisposeBuilder(b)
        if ownsModule { LLVMDisposeModule(module) }
        if ownsContext { LLVMContextDispose(ctx) }
    }

    // MARK: types
    lazy var void = LLVMVoidTypeInContext(ctx)!
    lazy var i1 = LLVMInt1TypeInContext(ctx)!
    lazy var i8 = LLVMInt8TypeInContext(ctx)!
    lazy var i32 = LLVMInt32TypeInContext(ctx)!
    lazy var i64 = LLVMInt64TypeInContext(ctx)!
    lazy var f64 = LLVMDoubleTypeInContext(ctx)!
    lazy var i8p = LLVMPointerType(i8, 0)!
    func ptr(_ t: LLVMTypeRef) -> LLVMTypeRef { LLVMPointerType(t, 0) }
    func fnType(_ ret: LLVMTypeRef, _ params: [LLVMTypeRef]) -> LLVMTypeRef {
        var ps: [LLVMTypeRef?] = params
        return ps.withUnsafeMutableBufferPointer { LLVMFunctionType(ret, $0.baseAddress, UInt32(params.count), 0) }
    }
    func structType(_ name: String, _ fields: [LLVMTypeRef]) -> LLVMTypeRef {
        let t = LLVMStructCreateNamed(ctx, name)!
        var fs: [LLVMTypeRef?] = fields
        fs.withUnsafeMutableBufferPointer { LLVMStructSetBody(t, $0.baseAddress, UInt32(fields.count), 0) }
        return t
    }

    // MARK: constants
    func int(_ t: LLVMTypeRef, _ v: Int) -> LLVMValueRef { LLVMConstInt(t, UInt64(bitPattern: Int64(v)), 1) }
    func i32c(_ v: Int) -> LLVMValueRef { int(i32, v) }
    func i64c(_ v: Int) -> LLVMValueRef { int(i64, v) }
    func f64c(_ v: Double) -> LLVMValueRef { LLVMConstReal(f64, v) }
    func bool(_ v: Bool) -> LLVMValueRef { LLVMConstInt(i1, v ? 1 : 0, 0) }
    func nullPtr(_ t: LLVMTypeRef) -> LLVMValueRef { LLVMConstNull(t) }

    /// A private constant global array; returns a pointer to its first element.
    func constArray(_ name: String, _ elem: LLVMTypeRef, _ values: [LLVMValueRef]) -> LLVMValueRef {
        var vs: [LLVMValueRef?] = values
        let arr = vs.withUnsafeMutableBufferPointer { LLVMConstArray(elem, $0.baseAddress, UInt32(values.count)) }!
        let g = LLVMAddGlobal(module, LLVMArrayType(elem, UInt32(values.count)), name)!
        LLVMSetInitializer(g, arr)
        LLVMSetGlobalConstant(g, 1)
        LLVMSetLinkage(g, LLVMPrivateLinkage)
        LLVMSetUnnamedAddr(g, 1)
        return gep0(LLVMArrayType(elem, UInt32(values.count)), g)
    }
    /// Large tables go in as one blob of little-endian bytes (one LLVM call instead of one
    /// constant per entry), then are addressed as an array of the element type.
    func constBlob(_ name: String, _ bytes: [UInt8], elem: LLVMTypeRef, count: Int, align: UInt32) -> LLVMValueRef {
        let data = bytes.isEmpty ? [UInt8](repeating: 0, count: 8) : bytes
        let init_ = data.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: data.count) { LLVMConstStringInContext(ctx, $0, UInt32(data.count), 1) }
        }!
        let arrT = LLVMArrayType(i8, UInt32(data.count))!
        let g = LLVMAddGlobal(module, arrT, name)!
        LLVMSetInitializer(g, init_)
        LLVMSetGlobalConstant(g, 1)
        LLVMSetLinkage(g, LLVMPrivateLinkage)
        LLVMSetUnnamedAddr(g, 1)
        LLVMSetAlignment(g, align)
        return LLVMConstBitCast(gep0(arrT, g), ptr(elem))
    }
    func constI32s(_ name: String, _ xs: [Int32]) -> LLVMValueRef {
        var b: [UInt8] = []
        b.reserveCapacity(xs.count * 4)
        for x in xs { let u = UInt32(bitPattern: x); b += [UInt8(u & 0xFF), UInt8((u >> 8) & 0xFF), UInt8((u >> 16) & 0xFF), UInt8(u >> 24)] }
        return constBlob(name, b, elem: i32, count: xs.count, align: 8)
    }
    func constI64s(_ name: String, _ xs: [Int64], align: UInt32 = 8) -> LLVMValueRef {
        var b: [UInt8] = []
        b.reserveCapacity(xs.count * 8)
        for x in xs { let u = UInt64(bitPattern: x); for k in 0..<8 { b.append(UInt8((u >> (8 * UInt64(k))) & 0xFF)) } }
        return constBlob(name, b, elem: i64, count: xs.count, align: align)
    }
    func constF64s(_ name: String, _ xs: [Double], align: UInt32 = 8) -> LLVMValueRef {
        constI64s(name, xs.map { Int64(bitPattern: $0.bitPattern) }, align: align).withType(ptr(f64), self)
    }
    func constBytes(_ name: String, _ bytes: [UInt8]) -> LLVMValueRef {
        constArray(name, i8, (bytes.isEmpty ? [0] : bytes + [0]).map { LLVMConstInt(i8, UInt64($0), 0) })
    }
    /// A constant GEP to element 0 of a global array.
    func gep0(_ arrayType: LLVMTypeRef, _ g: LLVMValueRef) -> LLVMValueRef {
        var idx: [LLVMValueRef?] = [i64c(0), i64c(0)]
        return idx.withUnsafeMutableBufferPointer { LLVMConstInBoundsGEP2(arrayType, g, $0.baseAddress, 2) }
    }

    // MARK: functions and blocks
    func function(_ name: String, _ type: LLVMTypeRef, internal isInternal: Bool) -> LLVMValueRef {
        let f = LLVMAddFunction(module, name, type)!
        if isInternal { LLVMSetLinkage(f, LLVMInternalLinkage) }
        return f
    }
    /// Adds function attributes by name (`readonly`, `nounwind`, ...).
    func addFunctionAttributes(_ f: LLVMValueRef, _ names: [String]) {
        for n in names {
            let kind = LLVMGetEnumAttributeKindForName(n, n.utf8.count)
            guard kind != 0 else { continue }
            LLVMAddAttributeAtIndex(f, LLVMAttributeIndex(bitPattern: -1), LLVMCreateEnumAttribute(ctx, kind, 0))
        }
    }

    func declare(_ name: String, _ type: LLVMTypeRef) -> LLVMValueRef {
        if let f = LLVMGetNamedFunction(module, name) { return f }
        return LLVMAddFunction(module, name, type)
    }
    func param(_ f: LLVMValueRef, _ i: Int) -> LLVMValueRef { LLVMGetParam(f, UInt32(i)) }
    func block(_ f: LLVMValueRef, _ name: String) -> LLVMBasicBlockRef { LLVMAppendBasicBlockInContext(ctx, f, name) }
    func at(_ bb: LLVMBasicBlockRef) { LLVMPositionBuilderAtEnd(b, bb) }
    var currentBlock: LLVMBasicBlockRef { LLVMGetInsertBlock(b) }
    var currentFunction: LLVMValueRef { LLVMGetBasicBlockParent(currentBlock) }

    // MARK: instructions
    func br(_ bb: LLVMBasicBlockRef) { LLVMBuildBr(b, bb) }
    func condBr(_ c: LLVMValueRef, _ t: LLVMBasicBlockRef, _ f: LLVMBasicBlockRef) { LLVMBuildCondBr(b, c, t, f) }
    func ret(_ v: LLVMValueRef?) { if let v { LLVMBuildRet(b, v) } else { LLVMBuildRetVoid(b) } }
    func phi(_ t: LLVMTypeRef, _ incoming: [(LLVMValueRef, LLVMBasicBlockRef)]) -> LLVMValueRef {
        let p = LLVMBuildPhi(b, t, "")!
        addIncoming(p, incoming)
        return p
    }
    func addIncoming(_ p: LLVMValueRef, _ incoming: [(LLVMValueRef, LLVMBasicBlockRef)]) {
        var vs: [LLVMValueRef?] = incoming.map(\.0)
        var bs: [LLVMBasicBlockRef?] = incoming.map(\.1)
        vs.withUnsafeMutableBufferPointer { v in bs.withUnsafeMutableBufferPointer { bb in LLVMAddIncoming(p, v.baseAddress, bb.baseAddress, UInt32(incoming.count)) } }
    }
    func call(_ f: LLVMValueRef, _ type: LLVMTypeRef, _ args: [LLVMValueRef]) -> LLVMValueRef {
        var a: [LLVMValueRef?] = args
        return a.withUnsafeMutableBufferPointer { LLVMBuildCall2(b, type, f, $0.baseAddress, UInt32(args.count), "") }
    }
    func gep(_ t: LLVMTypeRef, _ p: LLVMValueRef, _ idx: [LLVMValueRef]) -> LLVMValueRef {
        var ix: [LLVMValueRef?] = idx
        return ix.withUnsafeMutableBufferPointer { LLVMBuildInBoundsGEP2(b, t, p, $0.baseAddress, UInt32(idx.count), "") }
    }
    func load(_ t: LLVMTypeRef, _ p: LLVMValueRef) -> LLVMValueRef { LLVMBuildLoad2(b, t, p, "") }
    func store(_ v: LLVMValueRef, _ p: LLVMValueRef) { LLVMBuildStore(b, v, p) }
    func alloca(_ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildAlloca(b, t, "") }
    func icmp(_ op: LLVMIntPredicate, _ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildICmp(b, op, x, y, "") }
    func fcmp(_ op: LLVMRealPredicate, _ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildFCmp(b, op, x, y, "") }
    func select(_ c: LLVMValueRef, _ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildSelect(b, c, x, y, "") }
    func add(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildAdd(b, x, y, "") }
    func mul(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildMul(b, x, y, "") }
    func and(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildAnd(b, x, y, "") }
    func or(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildOr(b, x, y, "") }
    func xor(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildXor(b, x, y, "") }
    func fadd(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildFAdd(b, x, y, "") }
    func fsub(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildFSub(b, x, y, "") }
    func fmul(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildFMul(b, x, y, "") }
    func fdiv(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildFDiv(b, x, y, "") }
    func fneg(_ x: LLVMValueRef) -> LLVMValueRef { LLVMBuildFNeg(b, x, "") }
    func zext(_ x: LLVMValueRef, _ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildZExt(b, x, t, "") }
    func sext(_ x: LLVMValueRef, _ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildSExt(b, x, t, "") }
    func trunc(_ x: LLVMValueRef, _ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildTrunc(b, x, t, "") }
    func shl(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildShl(b, x, y, "") }
    func lshr(_ x: LLVMValueRef, _ y: LLVMValueRef) -> LLVMValueRef { LLVMBuildLShr(b, x, y, "") }
    func not(_ x: LLVMValueRef) -> LLVMValueRef { LLVMBuildNot(b, x, "") }
    func bitcast(_ x: LLVMValueRef, _ t: LLVMTypeRef) -> LLVMValueRef { LLVMBuildBitCast(b, x, t, "") }
    func unreachable() { LLVMBuildUnreachable(b) }

    // MARK: vectors
    func vector(_ t: LLVMTypeRef, _ n: Int) -> LLVMTypeRef { LLVMVectorType(t, UInt32(n)) }
    /// A vector constant with every lane `c`.
    func splat(_ c: LLVMValueRef, _ n: Int) -> LLVMValueRef {
        var lanes: [LLVMValueRef?] = Array(repeating: c, count: n)
        return lanes.withUnsafeMutableBufferPointer { LLVMConstVector($0.baseAddress, UInt32(n)) }
    }
    /// A vector of `t` whose lanes are `values`, the rest `fill`.
    func vector(of values: [LLVMValueRef], _ t: LLVMTypeRef, width n: Int, fill: LLVMValueRef) -> LLVMValueRef {
        var v = splat(fill, n)
        for (i, x) in values.enumerated() { v = LLVMBuildInsertElement(b, v, x, i32c(i), "") }
        return v
    }
    func lane(_ v: LLVMValueRef, _ i: Int) -> LLVMValueRef { LLVMBuildExtractElement(b, v, i32c(i), "") }
    /// The lanes `indexes` of `v`, as a vector of their own.
    func shuffle(_ v: LLVMValueRef, _ indexes: [Int]) -> LLVMValueRef {
        var mask: [LLVMValueRef?] = indexes.map { i32c($0) }
        let m = mask.withUnsafeMutableBufferPointer { LLVMConstVector($0.baseAddress, UInt32(indexes.count)) }
        return LLVMBuildShuffleVector(b, v, LLVMGetUndef(LLVMTypeOf(v)), m, "")
    }
    /// Calls an LLVM intrinsic that takes and returns one value of type `t` (`llvm.floor.v4f64`).
    func unaryIntrinsic(_ name: String, _ t: LLVMTypeRef, _ x: LLVMValueRef) -> LLVMValueRef {
        let type = fnType(t, [t])
        return call(declare(name, type), type, [x])
    }

    /// Verifies the module; returns the verifier's message on failure.
    func verify() -> String? {
        var msg: UnsafeMutablePointer<CChar>? = nil
        let failed = LLVMVerifyModule(module, LLVMReturnStatusAction, &msg) != 0
        defer { if let msg { LLVMDisposeMessage(msg) } }
        return failed ? (msg.map { String(cString: $0) } ?? "invalid module") : nil
    }

    var text: String {
        let s = LLVMPrintModuleToString(module)!
        defer { LLVMDisposeMessage(s) }
        return String(cString: s)
    }
}

extension LLVMValueRef {
    /// A constant pointer reinterpreted as another pointer type.
    func withType(_ t: LLVMTypeRef, _ ir: IR) -> LLVMValueRef { LLVMConstBitCast(self, t) }
}
