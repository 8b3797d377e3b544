import Foundation
import LoopCodegen
import LoopData
import LoopInterpreter
import LoopSema

/// One program version ready to answer: checked, compiled to native code (or interpreted when
/// too large to compile), with its input decoder.
public final class LoadedProgram {
    public let versionId: Int64
    public let source: String
    public let program: TypedProgram
    public let engine: ClassifierEngine
    let decoder: RecordDecoder

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
    }

    /// Decodes and classifies one input; a bad input is an error value, never a crash.
    public func classify(_ input: JSON) -> Result<Answer, InputError> {
        switch decoder.decode(.json(input)) {
        case .failure(let e): return .failure(e)
        case .success(let values):
            let d = engine.classify(values)
            return .success(Answer(label: program.labels[d.label], confidence: d.confidence,
                                   decidedBy: d.decidedByText(program), versionId: versionId))
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
    public var label: String
    public var confidence: Double
    /// `rule:NAME`, `score` or `otherwise`.
    public var decidedBy: String
    public var versionId: Int64
}

/// The in-process executor: answers with the active program (or, during a canary, with the
/// candidate for its share of requests), and gives the other version's answer for shadow
/// comparison. Whether a request is sampled is the sampler's decision (`LoopDriver`).
/// Thread-compatible: one executor per serving thread, or external locking.
public final class Executor {
    public private(set) var active: LoadedProgram
    public private(set) var candidate: LoadedProgram?
    /// Share of requests the candidate answers (0 in shadow).
    public private(set) var canaryShare: Double = 0

    public init(active: LoadedProgram) { self.active = active }

    public func setCandidate(_ c: LoadedProgram?, share: Double) { candidate = c; canaryShare = c == nil ? 0 : share }
    public func promote() { if let c = candidate { active = c }; candidate = nil; canaryShare = 0 }

    /// True when request `seq` is served by the candidate (a deterministic hash of the sequence
    /// number, so a resumed run routes the same requests the same way).
    public func servedByCandidate(_ seq: Int) -> Bool {
        guard candidate != nil, canaryShare > 0 else { return false }
        var h = UInt64(bitPattern: Int64(seq)) &+ 0x9E3779B97F4A7C15
        h = (h ^ (h >> 30)) &* 0xBF58476D1CE4E5B9
        h = (h ^ (h >> 27)) &* 0x94D049BB133111EB
        h ^= h >> 31
        return Double(h >> 11) / Double(1 << 53) < canaryShare
    }

    /// The answer to request `seq`: label, confidence, what decided, version.
    public func classify(_ input: JSON, seq: Int) -> (result: Result<Answer, InputError>, servedByCandidate: Bool) {
        let byCandidate = servedByCandidate(seq)
        return ((byCandidate ? candidate! : active).classify(input), byCandidate)
    }

    /// What the version that did not answer request `seq` would have said (nil without a candidate).
    public func shadowAnswer(_ input: JSON, servedByCandidate: Bool) -> Answer? {
        guard let c = candidate else { return nil }
        return try? (servedByCandidate ? active : c).classify(input).get()
    }
}
