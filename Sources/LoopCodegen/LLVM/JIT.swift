import CLLVM
import Foundation
import LoopRuntimeC

/// One ORC LLJIT per process. Runtime helpers are defined as absolute symbols (SwiftPM binaries
/// export none), and every program gets its own symbol prefix, so many programs share the JIT.
final class JIT: @unchecked Sendable {
    static let shared: Result<JIT, CodegenError> = { Result { try JIT() }.mapError { $0 as? CodegenError ?? .llvm("\($0)") } }()

    let jit: LLVMOrcLLJITRef
    let triple: String
    let dataLayout: String
    /// The host's target machine, for the optimizer's cost model only (LLJIT generates the code
    /// with its own): without it the IR passes assume a generic target and vectorize nothing.
    let targetMachine: LLVMTargetMachineRef
    let lock = NSLock()

    private init() throws {
        guard Codegen.initialized else { throw CodegenError.llvm("could not initialize the native target") }
        var j: LLVMOrcLLJITRef? = nil
        if let err = LLVMOrcCreateLLJIT(&j, LLVMOrcCreateLLJITBuilder()) { throw JIT.error(err, "cannot create the JIT") }
        jit = j!
        triple = String(cString: LLVMOrcLLJITGetTripleString(jit))
        dataLayout = String(cString: LLVMOrcLLJITGetDataLayoutStr(jit))
        targetMachine = try Codegen.hostTargetMachine(level: 2)
        var n: Int32 = 0
        let syms = loop_rt_symbols(&n)!
        var pairs: [LLVMJITCSymbolMapPair] = (0..<Int(n)).map { i in
            let s = syms[i]
            let flags = LLVMJITSymbolFlags(GenericFlags: UInt8(LLVMJITSymbolGenericFlagsExported.rawValue | LLVMJITSymbolGenericFlagsCallable.rawValue), TargetFlags: 0)
            return LLVMJITCSymbolMapPair(Name: LLVMOrcLLJITMangleAndIntern(jit, s.name),
                                         Sym: LLVMJITEvaluatedSymbol(Address: LLVMOrcJITTargetAddress(UInt(bitPattern: s.address)), Flags: flags))
        }
        let mu = pairs.withUnsafeMutableBufferPointer { LLVMOrcAbsoluteSymbols($0.baseAddress, Int($0.count)) }
        if let err = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(jit), mu) { throw JIT.error(err, "cannot define the runtime symbols") }
    }

    static func error(_ err: LLVMErrorRef, _ what: String) -> CodegenError {
        let msg = LLVMGetErrorMessage(err)!
        defer { LLVMDisposeErrorMessage(msg) }
        return .llvm("\(what): \(String(cString: msg))")
    }

    /// Compiles a program and returns the address of its batch entry point and the resource
    /// tracker that owns its code (remove it with `release` once nothing can call the code).
    func compile(_ program: TypedProgramRef, prefix: String, options: Codegen.Options) throws -> (address: UInt, tracker: LLVMOrcResourceTrackerRef) {
        lock.lock()
        defer { lock.unlock() }
        let tsc = LLVMOrcCreateNewThreadSafeContext()!
        let ctx = LLVMOrcThreadSafeContextGetContext(tsc)!
        let em: Emitter
        do {
            em = try Codegen.buildModule(program.program, prefix: prefix, options: options, context: ctx, triple: triple,
                                         dataLayout: dataLayout, tm: targetMachine)
        } catch {
            LLVMOrcDisposeThreadSafeContext(tsc)
            throw error
        }
        em.ir.ownsModule = false
        let tsm = LLVMOrcCreateNewThreadSafeModule(em.ir.module, tsc)
        LLVMOrcDisposeThreadSafeContext(tsc)
        let tracker = LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(jit))!
        if let err = LLVMOrcLLJITAddLLVMIRModuleWithRT(jit, tracker, tsm) {
            LLVMOrcReleaseResourceTracker(tracker)
            throw JIT.error(err, "cannot add the module")
        }
        var addr: LLVMOrcExecutorAddress = 0
        let timer = StageTimer(program.program.name)
        if let err = LLVMOrcLLJITLookup(jit, &addr, "\(prefix)classify_batch") {
            release(trackerLocked: tracker)
            throw JIT.error(err, "cannot find the entry point")
        }
        timer.mark("machine code and link")
        return (UInt(addr), tracker)
    }

    /// Frees a program's code and data (its symbols leave the JIT, so it can be compiled again).
    func release(_ tracker: LLVMOrcResourceTrackerRef) {
        lock.lock()
        defer { lock.unlock() }
        release(trackerLocked: tracker)
    }

    private func release(trackerLocked tracker: LLVMOrcResourceTrackerRef) {
        if let err = LLVMOrcResourceTrackerRemove(tracker) { LLVMConsumeError(err) }
        LLVMOrcReleaseResourceTracker(tracker)
    }
}

/// Boxes the program so it can cross into the JIT's lock.
struct TypedProgramRef { let program: LoopSema.TypedProgram }

import LoopSema
