import ArgumentParser
import Foundation
import LoopCodegen
import LoopPackage
import LoopData
import LoopInterpreter
import LoopSema

/// What `loopai compile` writes: the AOT outputs, or a Python wheel.
enum CompileEmit: String, CaseIterable, ExpressibleByArgument {
    case obj, shared, llvm, asm, header, runtime, wheel
    case sparkSQL = "spark-sql", duckdbSQL = "duckdb-sql"
}

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile a program ahead of time: object, shared library, LLVM IR, assembly, C header or runtime.",
        discussion: """
        --emit shared writes a shared library (program + runtime) that C, Python (ctypes) or any FFI can load; \
        --emit header writes its C header (Docs/abi.md). An object (--emit obj) links with the runtime source \
        written by --emit runtime. --emit wheel writes a pip-installable wheel into the directory -o names: \
        the library and a Python module named after the program (classify, classify_batch, LABELS, ...). \
        --emit spark-sql (or duckdb-sql) writes the program as one SQL query (CASE WHEN ... RLIKE ...), for \
        comparing with what a Spark or DuckDB user would write by hand; programs SQL cannot express are refused.
        """)

    @Argument(help: "The program (.loop).")
    var program: String

    @Option(name: .shortAndLong, help: "Output file (for --emit wheel: the directory the wheel goes into).")
    var output: String

    @Option(help: "What to write: obj, shared, llvm, asm, header, runtime, wheel, spark-sql or duckdb-sql.")
    var emit: CompileEmit = .shared

    @Option(help: "Wheel: the distribution and module name (default: the program's name).")
    var wheelName: String?

    @Option(help: "Wheel: the version (default: 0.0.0+ the program's hash).")
    var wheelVersion: String?

    @Option(name: .customShort("O"), help: "Optimization level 0-3.")
    var optLevel: Int = 2

    func validate() throws { if !(0...3).contains(optLevel) { throw ValidationError("-O takes 0, 1, 2 or 3") } }

    func run() throws {
        let p = try loadProgram(program)
        if emit == .wheel {
            var options = Wheel.Options(name: wheelName, version: wheelVersion)
            options.optimization = Codegen.Options(optLevel: optLevel)
            let path: String
            do { path = try Wheel.write(p, to: output, options: options) }
            catch let e as Wheel.Failure { throw CLIError(e.description, code: 2) }
            catch let e as CodegenError { throw CLIError("\(e)", code: 1) }
            printErr("wrote \(path) (wheel: pip install it, then `import \(try Wheel.moduleName(wheelName ?? p.name))`)")
            return
        }
        guard wheelName == nil && wheelVersion == nil else { throw CLIError("--wheel-name and --wheel-version go with --emit wheel", code: 2) }
        if emit == .sparkSQL || emit == .duckdbSQL {
            let sql: String
            do { sql = try SparkSQL.query(p, dialect: emit == .sparkSQL ? .spark : .duckdb) }
            catch let e as SparkSQL.Unsupported { throw CLIError("\(program): \(e.description)", code: 1) }
            do { try sql.write(toFile: output, atomically: true, encoding: .utf8) }
            catch { throw CLIError("cannot write \(output): \(error.localizedDescription)", code: 2) }
            printErr("wrote \(output) (\(emit.rawValue))")
            return
        }
        do { try AOT.emit(p, kind: AOT.Emit(rawValue: emit.rawValue)!, to: output, options: Codegen.Options(optLevel: optLevel)) }
        catch let e as CodegenError {
            // Writing the output is I/O (2); a program that cannot be compiled is a program error (1).
            if case .llvm(let m) = e, m.hasPrefix("cannot write") { throw CLIError(m, code: 2) }
            throw CLIError("\(e)", code: 1)
        }
        printErr("wrote \(output) (\(emit.rawValue))")
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure classifications per second, ns per input and MB/s for each engine over real data.",
        discussion: "Inputs are loaded and decoded first; each engine is warmed up, then timed over whole passes. Timing belongs here, never in tests.")

    @Argument(help: "The program (.loop).")
    var program: String

    @Option(help: "Input data (JSONL, CSV, TSV or lines).")
    var input: String

    @OptionGroup var inputOptions: InputOptions

    @Option(help: "Engines to measure, comma-separated: jit,interp.")
    var engine: String = "jit,interp"

    @Option(help: "Minimum seconds per engine.")
    var seconds: Double = 2

    @Option(name: .customShort("O"), help: "Optimization level 0-3 for the JIT.")
    var optLevel: Int = 2

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let p = try loadProgram(program, showWarnings: false)
        let records = try wrapIO { try RecordReader.read(input, format: inputOptions.inputFormat) }
        let decoder = RecordDecoder(program: p, column: inputOptions.column)
        let inputs: [[Value]] = records.compactMap { if case .success(let v) = decoder.decode($0.raw) { return v }; return nil }
        guard !inputs.isEmpty else { throw CLIError("\(input): no record could be decoded for this program", code: 1) }
        var rows: [JSON] = []
        var text = "program \(p.name), \(inputs.count) inputs from \(input)\n"
        let t0 = LoopCodegen.Bench.now()
        var jitCompileMs: Double? = nil
        for name in engine.split(separator: ",").map(String.init) {
            guard let choice = EngineChoice(rawValue: name) else { throw CLIError("unknown engine `\(name)` (jit, interp)") }
            let c0 = LoopCodegen.Bench.now()
            let e = try makeEngine(choice, p, optLevel: optLevel)
            if choice == .jit { jitCompileMs = (LoopCodegen.Bench.now() - c0) * 1000 }
            let m = (e as? JITEngine).map { LoopCodegen.Bench.jit($0, inputs, minSeconds: seconds) } ?? LoopCodegen.Bench.engine(e, inputs, minSeconds: seconds)
            let io = try LoopCodegen.Bench.ioInclusive(e, path: input, format: inputOptions.inputFormat, column: inputOptions.column)
            let ioRate = Double(io.inputs) / io.seconds
            rows.append(.object([("engine", JSON(m.engine)), ("inputs", .number(Double(m.inputs))), ("passes", .number(Double(m.passes))),
                                 ("classifications_per_second", .number(m.perSecond.rounded())), ("ns_per_input", .number((m.nsPerInput * 10).rounded() / 10)),
                                 ("mb_per_second", .number((m.mbPerSecond * 10).rounded() / 10)),
                                 ("io_inclusive_classifications_per_second", .number(ioRate.rounded()))]))
            text += String(format: "  %-7@ %12.0f/s  %9.1f ns/input  %8.1f MB/s   (read+decode+classify: %.0f/s)\n",
                           m.engine as NSString, m.perSecond, m.nsPerInput, m.mbPerSecond, ioRate)
        }
        _ = t0
        if let ms = jitCompileMs { text += String(format: "  jit compile: %.1f ms\n", ms) }
        if rows.count == 2, let a = rows[0]["classifications_per_second"]?.number, let b = rows[1]["classifications_per_second"]?.number, b > 0 {
            text += String(format: "  speed-up %@ over %@: %.1fx\n", (rows[0]["engine"]?.string ?? "") as NSString, (rows[1]["engine"]?.string ?? "") as NSString, a / b)
        }
        if json {
            var kv: [(String, JSON)] = [("program", JSON(p.name)), ("input", JSON(input)), ("engines", .array(rows))]
            if let ms = jitCompileMs { kv.append(("jit_compile_ms", .number((ms * 10).rounded() / 10))) }
            print(JSONWriter.string(.object(kv)))
        } else { print(text, terminator: "") }
    }
}
