import ArgumentParser
import Foundation
import LoopData
import LoopInterpreter
import LoopSema
import LoopCodegen

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify inputs; one JSON line out per input, in order.",
        discussion: """
        Inputs: JSONL (objects or strings), CSV/TSV with a header, or plain lines. Each output line has \
        line, label, confidence and decided_by (rule:NAME, score or otherwise; scores for score decisions). \
        A bad record yields {"line":N,"error":"..."} and the others still run; the status is then 1.
        """)

    @Argument(help: "The program (.loop).")
    var program: String

    @Option(name: .shortAndLong, help: "Input file; - or nothing reads standard input.")
    var input: String?

    @OptionGroup var inputOptions: InputOptions

    @Option(help: "Engine: jit (native code) or interp (the reference interpreter). Default: jit, falling back to interp with a warning when the program is too large to compile.")
    var engine: EngineChoice?

    func run() throws {
        let p = try loadProgram(program, showWarnings: false)
        let format = RecordReader.resolve(inputOptions.inputFormat, path: input)
        if (input == nil || input == "-") && (format == .lines || format == .jsonl) {
            // Standard input is read as it comes, and each answer written as soon as it is
            // computed: `tail -f app.log | loopai run p.loop` answers line by line.
            return try streamStandardInput(p, format: format, engine: try makeEngine(engine, p))
        }
        let e = try makeEngine(engine, p)
        let writer = DecisionLineWriter(program: p)
        var out = ByteOutput()
        let total: Int, errors: Int
        if let jit = e as? JITEngine, jit.readsTextFieldsDirectly, format == .jsonl {
            // The native path reads the records' text fields straight from the file's bytes and
            // its answers are written as they come out of the native code.
            let results = jit.classifyJSONLinesCompact(try wrapIO { try RecordReader.readBytes(input) }, column: inputOptions.column)
            results.forEach(answer: { line, label, confidence, by, scores in
                writer.write(line: line, label: label, confidence: confidence, decidedBy: by, scores: scores, into: &out.buf)
                out.flushIfFull()
            }, error: { line, err in out.error(line: line, err) })
            total = results.count; errors = results.errors
        } else {
            let records = try wrapIO { try RecordReader.read(input, format: inputOptions.inputFormat) }
            let outcomes = Driver.classify(e, records, column: inputOptions.column, progress: Progress("run", total: records.count))
            errors = Self.write(outcomes, writer, to: &out)
            total = outcomes.count
        }
        out.flush()
        if errors > 0 {
            printErr("\(errors) of \(total) records could not be classified")
            throw ExitCode(1)
        }
    }
}

extension Run {
    /// One JSON line per outcome (the answer, or the record's error); returns the errors.
    static func write(_ outcomes: [Driver.Outcome], _ writer: DecisionLineWriter, to out: inout ByteOutput) -> Int {
        var errors = 0
        for o in outcomes {
            switch o.result {
            case .success(let d): writer.write(line: o.line, d, into: &out.buf); out.flushIfFull()
            case .failure(let err): errors += 1; out.error(line: o.line, err)
            }
        }
        return errors
    }

    /// Reads standard input in chunks; the complete lines of each chunk are classified together
    /// and their answers written (and flushed) before the next read.
    func streamStandardInput(_ p: TypedProgram, format: InputFormat, engine e: ClassifierEngine) throws {
        var pending: [UInt8] = []
        var lineNumber = 0
        var errors = 0, total = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var out = ByteOutput()
        let writer = DecisionLineWriter(program: p)
        func emit(_ lines: [[UInt8]]) {
            var records: [InputRecord] = []
            for var l in lines {
                lineNumber += 1
                if l.last == 0x0D { l.removeLast() }
                if format == .jsonl {
                    if let r = RecordReader.jsonLine(lineNumber, l) { records.append(r) }
                } else {
                    records.append(InputRecord(line: lineNumber, raw: .text(l)))
                }
            }
            let outcomes = Driver.classify(e, records, column: inputOptions.column)
            total += outcomes.count
            errors += Self.write(outcomes, writer, to: &out)
            out.flush()
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw CLIError("cannot read standard input: \(String(cString: strerror(errno)))", code: 2) }
            if n == 0 { break }
            pending += chunk[0..<n]
            guard let lastNewline = pending.lastIndex(of: 0x0A) else { continue }
            let complete = pending[..<lastNewline].split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            pending.removeSubrange(...lastNewline)
            emit(complete)
        }
        if !pending.isEmpty { emit([pending]) }
        if errors > 0 {
            printErr("\(errors) of \(total) records could not be classified")
            throw ExitCode(1)
        }
    }
}

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a program decides one input: rules tried, score terms, final scores.")

    @Argument(help: "The program (.loop).")
    var program: String

    @Argument(help: "The input: the text itself for a single-text program, a JSON object for a record program.")
    var input: String

    @Flag(help: "Print the trace as JSON.")
    var json = false

    func run() throws {
        let p = try loadProgram(program, showWarnings: false)
        let raw: RawRecord
        // A single-text program takes the argument as the text itself; a record program, as JSON.
        if !p.singleInput {
            guard let j = try? JSONParser.parse(input) else { throw CLIError("the input must be a JSON object with fields " + p.fields.map(\.name).joined(separator: ", "), code: 2) }
            raw = .json(j)
        } else {
            raw = .text(Array(input.utf8))
        }
        let values: [Value]
        switch RecordDecoder(program: p).decode(raw) {
        case .success(let v): values = v
        case .failure(let e): throw CLIError(e.message, code: 1)
        }
        let (d, trace) = Interpreter(p).explain(values)
        if json {
            print(JSONWriter.string(ExplainReport.json(p, d, trace)))
        } else {
            print(ExplainReport.text(p, d, trace), terminator: "")
        }
    }
}

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one stage's view of a program: tokens, ast, typed, mir or ir.")

    enum Stage: String, ExpressibleByArgument, CaseIterable { case tokens, ast, typed, mir, ir }

    @Argument(help: "tokens, ast, typed, mir (automata and predicates) or ir (optimized LLVM IR).")
    var stage: Stage

    @Argument(help: "The program (.loop).")
    var program: String

    @Flag(help: "With ast: show byte ranges.")
    var ranges = false

    func run() throws {
        let file = try wrapIO { try Driver.sourceFile(program) }
        switch stage {
        case .tokens: print(SyntaxDump.tokens(file), terminator: "")
        case .ast:
            let (unit, diags) = Parser.parse(file)
            if !diags.isEmpty { printErr(TextRenderer().render(diags)) }
            print(SyntaxDump.ast(unit, withRanges: ranges), terminator: "")
            if diags.contains(where: { $0.severity == .error }) { throw ExitCode(1) }
        case .typed:
            let p = try loadProgram(program)
            print(TypedDump.dump(p), terminator: "")
        case .mir:
            let p = try loadProgram(program)
            do { print(try Codegen.mir(p), terminator: "") } catch { throw CLIError("\(error)", code: 1) }
        case .ir:
            let p = try loadProgram(program)
            do { print(try Codegen.llvmIR(p), terminator: "") } catch { throw CLIError("\(error)", code: 1) }
        }
    }
}
