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
    let decidedByTexts: [String]

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

    func decidedByText(_ d: Decision) -> String {
        switch d.decidedBy {
        case .rule(let r): return decidedByTexts[r]
        case .score: return decidedByTexts[program.rules.count]
        case .otherwise: return decidedByTexts[program.rules.count + 1]
        }
    }

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

