import ArgumentParser
import Foundation
import LoopData
import LoopInterpreter
import LoopSema
import LoopCodegen

extension InputFormat: ExpressibleByArgument {}

/// Loads and checks a program; prints its diagnostics (errors and warnings) to standard error
/// and fails with status 1 if it has errors.
func loadProgram(_ path: String, showWarnings: Bool = true) throws -> TypedProgram {
    let (program, diags) = try wrapIO { try Driver.check(path) }
    let shown = showWarnings ? diags : diags.filter { $0.severity == .error }
    if !shown.isEmpty { printErr(TextRenderer(color: isatty(2) != 0).render(shown)) }
    guard let program else {
        throw CLIError("\(path): \(diags.filter { $0.severity == .error }.count) error(s); the program was not run", code: 1)
    }
    return program
}

/// Turns I/O failures into exit status 2 with the file name in the message.
func wrapIO<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as InputError { throw CLIError(e.message, code: 2) }
    catch let e as CLIError { throw e }
    catch { throw CLIError("\(error)", code: 2) }
}

/// Options shared by the commands that read inputs.
struct InputOptions: ParsableArguments {
    @Option(name: .long, help: "Input layout: auto (from the file name), jsonl, csv, tsv or lines.")
    var inputFormat: InputFormat = .auto

    @Option(name: .long, help: "For a single-text program reading CSV/TSV/JSON objects: the column or key holding the text (default: the input's name).")
    var column: String?
}

/// `interp` is the reference interpreter; `jit` compiles the program to native code with LLVM.
enum EngineChoice: String, ExpressibleByArgument, CaseIterable {
    case jit, interp
}

/// No choice: native code, or the interpreter (with a warning) when the program cannot be compiled.
func makeEngine(_ choice: EngineChoice?, _ p: TypedProgram, optLevel: Int = 2) throws -> ClassifierEngine {
    guard let choice else {
        do { return try JITEngine(p, options: Codegen.Options(optLevel: optLevel)) }
        catch {
            printErr("warning: \(p.file.name) runs in the interpreter: \(error)")
            return Interpreter(p)
        }
    }
    switch choice {
    case .interp: return Interpreter(p)
    case .jit:
        do { return try JITEngine(p, options: Codegen.Options(optLevel: optLevel)) }
        catch { throw CLIError("cannot compile \(p.file.name) to native code: \(error) (use --engine interp to run it in the interpreter)", code: 1) }
    }
}
