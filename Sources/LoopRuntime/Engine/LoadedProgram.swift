import Foundation
import LoopCodegen
import LoopData
import LoopInterpreter
import LoopSema

/// One program version ready to answer: checked, compiled to native code (or interpreted when
/// too large to compile), with its input decoder.
public final class LoadedProgram: @unchecked Sendable {
    public let versionId: Int64
    public let source: String
    public let program: TypedProgram
    public let engine: ClassifierEngine
    let decoder: RecordDecoder
    /// `rule:NAME` per rule, then `score` and `otherwise`: made once, shared by every answer.
    public let decidedByTexts: [String]

    /// Checks and compiles `source`; throws `ProgramError.check` with the rendered diagnostics.
    public init(versionId: Int64, source: String, name: String = "program.loop") throws {
        let (p, diagnostics) = Checker.checkSource(SourceFile(name: name, text: source), stdlib: .embedded)
        let errors = diagnostics.filter { $0.severity == .error }
        guard let p, errors.isEmpty else { throw ProgramError.check(TextRenderer().render(errors)) }
        self.versionId = versionId
        self.source = source
        self.program = p
        self.engine = (try? JITEngine(p)) ?? Interpreter(p)
        self.decoder = RecordDecoder(program: p)
        self.decidedByTexts = p.rules.map { "rule:" + $0.name } + ["score", "otherwise"]
    }

    func decidedByText(_ d: Decision) -> String { decidedByTexts[decidedByIndex(d)] }

    /// Decodes and classifies many inputs with one call into the engine.
    public func classifyBatch(_ inputs: [JSON]) -> [Result<Answer, InputError>] {
        var values: [[Value]] = []
        var slots: [Result<Int, InputError>] = []
        values.reserveCapacity(inputs.count)
        for i in inputs {
            switch decoder.decode(.json(i)) {
            case .success(let v): slots.append(.success(values.count)); values.append(v)
            case .failure(let e): slots.append(.failure(e))
            }
        }
        let ds = values.isEmpty ? [] : engine.classifyBatch(values)
        return slots.map { s in
            s.map { k in
                let d = ds[k]
                return Answer(label: program.labels[d.label], name: program.labelNames[d.label], confidence: d.confidence,
                              decidedBy: decidedByText(d), versionId: versionId)
            }
        }
    }

    /// Classifies the inputs `indices` of `batch` from their spans: with native code, pointers
    /// into the body go straight to it (no value per input); otherwise the interpreter gets the
    /// texts. The same answers `classify` gives for each input's JSON.
    public func classifySpans(_ batch: SpanBatch, _ indices: [Int]) -> [NativeAnswer] {
        guard !indices.isEmpty else { return [] }
        // Where each of the program's fields lies among the batch's spans.
        let map = program.fields.map { f in batch.fields.firstIndex(of: f.name) }
        precondition(readsSpans(batch), "classifySpans: the batch's fields are not the program's text fields")
        let per = batch.spansPerInput
        if let jit = engine as? JITEngine {
            var offsets: [Int] = []
            offsets.reserveCapacity(2 * map.count * indices.count)
            batch.spans.withUnsafeBufferPointer { sp in
                for i in indices { for j in map { offsets.append(sp[2 * (i * per + j!)]); offsets.append(sp[2 * (i * per + j!) + 1]) } }
            }
            let rules = Int32(program.rules.count)
            return jit.classifySpanAnswers(batch.body, batch.extra, offsets, count: indices.count).map { r in
                NativeAnswer(label: r.label, decidedBy: r.decidedBy >= 0 ? r.decidedBy : r.decidedBy == -1 ? rules : rules + 1, confidence: r.confidence)
            }
        }
        let values = indices.map { i in map.map { Value.text(batch.text(i, $0!)) } }
        return engine.classifyBatch(values).map { d in
            NativeAnswer(label: Int32(d.label), decidedBy: Int32(decidedByIndex(d)), confidence: d.confidence)
        }
    }

    /// Whether every field of the program is a text field of `batch` (what `classifySpans` needs).
    public func readsSpans(_ batch: SpanBatch) -> Bool {
        program.fields.allSatisfy { f in f.type == .text && batch.fields.contains(f.name) }
    }

    func decidedByIndex(_ d: Decision) -> Int {
        switch d.decidedBy {
        case .rule(let r): return r
        case .score: return program.rules.count
        case .otherwise: return program.rules.count + 1
        }
    }

    /// The answer a native one stands for.
    public func answer(_ a: NativeAnswer) -> Answer {
        Answer(label: program.labels[Int(a.label)], name: program.labelNames[Int(a.label)], confidence: a.confidence,
               decidedBy: decidedByTexts[Int(a.decidedBy)], versionId: versionId)
    }

    /// Decodes and classifies one input; a bad input is an error value, never a crash.
    public func classify(_ input: JSON) -> Result<Answer, InputError> {
        switch decoder.decode(.json(input)) {
        case .failure(let e): return .failure(e)
        case .success(let values):
            let d = engine.classify(values)
            return .success(Answer(label: program.labels[d.label], name: program.labelNames[d.label], confidence: d.confidence,
                                   decidedBy: decidedByText(d), versionId: versionId))
        }
    }
}

public enum ProgramError: Error, CustomStringConvertible {
    case check(String)
    public var description: String {
        switch self { case .check(let d): return "the program does not check:\n\(d)" }
    }
}

/// A program's answer to one request.
public struct Answer: Equatable, Sendable {
    /// The label's identifier (what the store, the statistics and the rollout compare).
    public var label: String
    /// The label as the application names it (`as "..."`): what leaves the server.
    public var name: String
    public var confidence: Double
    /// `rule:NAME`, `score` or `otherwise`.
    public var decidedBy: String
    public var versionId: Int64
}


/// An answer as a program's code gives it: its label's index, the index of what decided
/// (`decidedByTexts`: rules, then `score`, then `otherwise`) and the confidence.
public struct NativeAnswer: Sendable, Equatable {
    public var label: Int32
    public var decidedBy: Int32
    public var confidence: Double
}
