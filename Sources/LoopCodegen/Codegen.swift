import CLLVM
import Foundation
import LoopSema

/// The compiler driver: typed program → lowered form → LLVM IR → optimized module, for the JIT
/// or for object files.
public enum Codegen {
    /// Version of the C ABI described in Docs/abi.md.
    public static let abiVersion = 1

    static let initialized: Bool = { cllvm_initialize_native() == 0 }()

    /// Whether word tables are looked up by hash where they qualify (`LOOPAI_WORD_HASH=0`: no).
    public static let hashWordsByDefault: Bool = ProcessInfo.processInfo.environment["LOOPAI_WORD_HASH"] != "0"

    public struct Options: Sendable {
        /// 0...3, as -O0...-O3.
        public var optLevel: Int = 2
        /// Word tables by hash where they qualify (`WordHash`); false keeps their automata (tests
        /// compare both; `LOOPAI_WORD_HASH=0` sets the default).
        public var hashWords: Bool = Codegen.hashWordsByDefault
        public init(optLevel: Int = 2, hashWords: Bool = Codegen.hashWordsByDefault) { self.optLevel = optLevel; self.hashWords = hashWords }
    }

    /// Builds, verifies and optimizes the module for a program.
    static func buildModule(_ program: TypedProgram, prefix: String, options: Options, context: LLVMContextRef?,
                            triple: String, dataLayout: String?, tm: LLVMTargetMachineRef?) throws -> Emitter {
        guard initialized else { throw CodegenError.llvm("could not initialize the native target") }
        let timer = StageTimer(program.name)
        let low = try LoweredProgram(program, hashWords: options.hashWords)
        timer.mark("lower (automata included)")
        let em = Emitter(low, prefix: prefix, moduleName: program.name, context: context)
        LLVMSetTarget(em.ir.module, triple)
        if let dataLayout { LLVMSetDataLayout(em.ir.module, dataLayout) }
        em.emitModule()
        timer.mark("emit IR")
        if let err = em.ir.verify() { if getenv("LOOPAI_DUMP_BAD_IR") != nil { LLVMDumpModule(em.ir.module) }; throw CodegenError.llvm("generated IR does not verify: \(err)") }
        timer.mark("verify IR")
        try optimize(em.ir.module, level: options.optLevel, tm: tm)
        timer.mark("optimize O\(options.optLevel)")
        return em
    }

    static func optimize(_ module: LLVMModuleRef, level: Int, tm: LLVMTargetMachineRef?) throws {
        let opts = LLVMCreatePassBuilderOptions()
        defer { LLVMDisposePassBuilderOptions(opts) }
        let pipeline = "default<O\(max(0, min(3, level)))>"
        if let err = LLVMRunPasses(module, pipeline, tm, opts) {
            let msg = LLVMGetErrorMessage(err)!
            defer { LLVMDisposeErrorMessage(msg) }
            throw CodegenError.llvm("optimization failed: \(String(cString: msg))")
        }
    }

    /// A target machine for the host, position-independent (objects link into shared libraries).
    static func hostTargetMachine(level: Int) throws -> LLVMTargetMachineRef {
        guard initialized else { throw CodegenError.llvm("could not initialize the native target") }
        let triple = LLVMGetDefaultTargetTriple()!
        defer { LLVMDisposeMessage(triple) }
        var target: LLVMTargetRef? = nil
        var err: UnsafeMutablePointer<CChar>? = nil
        if LLVMGetTargetFromTriple(triple, &target, &err) != 0 {
            defer { LLVMDisposeMessage(err) }
            throw CodegenError.llvm("no target for \(String(cString: triple)): \(err.map { String(cString: $0) } ?? "")")
        }
        let cpu = LLVMGetHostCPUName()!, features = LLVMGetHostCPUFeatures()!
        defer { LLVMDisposeMessage(cpu); LLVMDisposeMessage(features) }
        let cg: LLVMCodeGenOptLevel = level == 0 ? LLVMCodeGenLevelNone : level == 1 ? LLVMCodeGenLevelLess : level == 3 ? LLVMCodeGenLevelAggressive : LLVMCodeGenLevelDefault
        guard let tm = LLVMCreateTargetMachine(target, triple, cpu, features, cg, LLVMRelocPIC, LLVMCodeModelDefault) else {
            throw CodegenError.llvm("could not create a target machine")
        }
        return tm
    }

    /// Builds the module for the host target and hands it, with the target machine, to `body`.
    static func withHostModule<T>(_ program: TypedProgram, prefix: String, options: Options,
                                  _ body: (Emitter, LLVMTargetMachineRef) throws -> T) throws -> T {
        let tm = try hostTargetMachine(level: options.optLevel)
        defer { LLVMDisposeTargetMachine(tm) }
        let triple = LLVMGetDefaultTargetTriple()!
        defer { LLVMDisposeMessage(triple) }
        let layout = LLVMCreateTargetDataLayout(tm)!
        defer { LLVMDisposeTargetData(layout) }
        let ls = LLVMCopyStringRepOfTargetData(layout)!
        defer { LLVMDisposeMessage(ls) }
        let em = try buildModule(program, prefix: prefix, options: options, context: nil, triple: String(cString: triple),
                                 dataLayout: String(cString: ls), tm: tm)
        return try body(em, tm)
    }

    /// Textual IR for `loopai dump ir` and `--emit llvm`.
    public static func llvmIR(_ program: TypedProgram, options: Options = Options(), prefix: String = "loop_") throws -> String {
        try withHostModule(program, prefix: prefix, options: options) { em, _ in em.ir.text }
    }

    /// The mid-level form, for `loopai dump mir`.
    public static func mir(_ program: TypedProgram) throws -> String { try LoweredProgram(program).summary }

    /// Writes an object file (`obj`) or assembly (`asm`).
    public static func emitFile(_ program: TypedProgram, to path: String, assembly: Bool, options: Options = Options()) throws {
        try withHostModule(program, prefix: "loop_", options: options) { em, tm in try writeFile(em, tm, path, assembly) }
    }

    static func writeFile(_ em: Emitter, _ tm: LLVMTargetMachineRef, _ path: String, _ assembly: Bool) throws {
        var err: UnsafeMutablePointer<CChar>? = nil
        let cpath = strdup(path)!
        defer { free(cpath) }
        if LLVMTargetMachineEmitToFile(tm, em.ir.module, cpath, assembly ? LLVMAssemblyFile : LLVMObjectFile, &err) != 0 {
            defer { LLVMDisposeMessage(err) }
            throw CodegenError.llvm("cannot write \(path): \(err.map { String(cString: $0) } ?? "")")
        }
    }
}

/// Where compile time goes, stage by stage, on standard error when `LOOPAI_TIMINGS` is set
/// (`LOOPAI_TIMINGS=1 loopai bench P --input D --engine jit`).
final class StageTimer {
    static let enabled = getenv("LOOPAI_TIMINGS") != nil
    private let name: String
    private var last: Double

    init(_ name: String) { self.name = name; last = Bench.now() }

    func mark(_ stage: String) {
        guard StageTimer.enabled else { return }
        let t = Bench.now()
        FileHandle.standardError.write(String(format: "timing %@: %@ %.1f ms\n", name as NSString, stage as NSString, (t - last) * 1000).data(using: .utf8)!)
        last = t
    }
}
