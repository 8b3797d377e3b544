import Foundation
import LoopCodegen
import LoopData
import LoopInterpreter
import LoopGenerate
import LoopInduce
import LoopLLM
import LoopTask

/// A program written by a generator, with what it cost.
public struct GeneratedProgram {
    public var source: String
    public var provenance: String
    /// LLM calls made for it (empty for the inducer).
    public var calls: [CallRecord]
}

/// What the loop calls to write the first program and to improve it.
public protocol ProgramGenerator: AnyObject {
    var name: String { get }
    func initial(examples: [TaskExample]) throws -> GeneratedProgram
    /// A candidate from the current program, the inputs it gets wrong and every validated input.
    func improve(current: String, failures: [Counterexample], validated: [TaskExample]) throws -> GeneratedProgram
}

public enum GeneratorError: Error, CustomStringConvertible {
    case unsupported(String)
    public var description: String { if case .unsupported(let m) = self { return m }; return "" }
}

/// The offline inducer as a generator: it re-learns the whole program from the task's examples
/// and every validated input (the oracle's labels), so counterexamples count as training data.
public final class InducerGenerator: ProgramGenerator {
    public let task: TaskSpec
    /// The labeled examples the first program was learned from; every refit keeps them.
    public var seed: [TaskExample]
    public var options = Inducer.Options()
    public var name: String { "inducer" }

    public init(task: TaskSpec, seed: [TaskExample] = []) {
        self.task = task
        self.seed = seed
        options.programName = task.name
        options.programDescription = "Induced by loopai loop from the task's examples and the oracle's validated answers."
        options.engine = { JITEngine.preferred($0) }
        if task.hasAnswerNames { options.labelNames = task.answerNames }
    }

    func labeled(_ examples: [TaskExample]) throws -> [LabeledExample] {
        guard task.isSingleText else {
            throw GeneratorError.unsupported("the inducer learns from one text field; task \(task.name) has a record input, so it needs an LLM generator")
        }
        let key = task.input[0].name
        return examples.compactMap { e in
            let text = e.input.string ?? e.input[key]?.string
            return text.map { (Array($0.utf8), e.label) }
        }
    }

    public func initial(examples: [TaskExample]) throws -> GeneratedProgram {
        let r = try Inducer.induce(examples: try labeled(examples), labels: task.labelNames, options: options)
        return GeneratedProgram(source: r.source, provenance: "inducer: \(examples.count) examples", calls: [])
    }

    public func improve(current: String, failures: [Counterexample], validated: [TaskExample]) throws -> GeneratedProgram {
        let all = (seed.isEmpty ? task.examples : seed) + validated
        let r = try Inducer.induce(examples: try labeled(all), labels: task.labelNames, options: options)
        return GeneratedProgram(source: r.source, provenance: "inducer: refit on \(all.count) examples (\(failures.count) counterexamples)", calls: [])
    }
}

/// An LLM as the generator (prompt, repair rounds), through `LLMGenerator`.
public final class LLMProgramGenerator: ProgramGenerator {
    public let generator: LLMGenerator
    public var name: String { "llm:\(generator.providerName)/\(generator.model)" }
    public init(_ generator: LLMGenerator) { self.generator = generator }

    func newCalls(_ body: (CallLog) throws -> GenerationResult) throws -> GeneratedProgram {
        let log = CallLog()
        do {
            let r = try body(log)
            let calls = log.records
            return GeneratedProgram(source: r.source, provenance: "\(name): \(r.rounds.count) round(s), accuracy \(String(format: "%.3f", r.accuracy)) on \(r.evaluated)", calls: calls)
        } catch {
            throw GeneratorFailure(error: error, calls: log.records)
        }
    }

    public func initial(examples: [TaskExample]) throws -> GeneratedProgram {
        try newCalls { try generator.generate(examples: examples, log: $0) }
    }

    public func improve(current: String, failures: [Counterexample], validated: [TaskExample]) throws -> GeneratedProgram {
        try newCalls { try generator.improve(current: current, failures: Array(failures.suffix(25)), examples: validated, log: $0) }
    }
}

/// A generator failure that still cost money: the calls are kept for the ledger.
public struct GeneratorFailure: Error, CustomStringConvertible {
    public var error: Error
    public var calls: [CallRecord]
    public var description: String { "\(error)" }
}

/// Hybrid: the first program comes from `base` (an LLM or the inducer); improvements re-fit the
/// current program's score weights on the seed and every validated input (no LLM call), and ask
/// `base` only when the re-fit cannot help (no score terms, or no better on the examples).
public final class HybridGenerator: ProgramGenerator {
    public let base: ProgramGenerator
    public let seed: [TaskExample]
    public var name: String { "hybrid(\(base.name))" }
    public init(base: ProgramGenerator, seed: [TaskExample]) { self.base = base; self.seed = seed }

    public func initial(examples: [TaskExample]) throws -> GeneratedProgram { try base.initial(examples: examples) }

    public func improve(current: String, failures: [Counterexample], validated: [TaskExample]) throws -> GeneratedProgram {
        let examples = (seed + validated).map { (input: $0.input, label: $0.label) }
        if let r = try? HybridRefit.refit(source: current, examples: examples), r.changedTerms > 0, r.after > r.before {
            return GeneratedProgram(source: r.source, provenance: String(format: "hybrid: %d weight(s) re-fitted on %d examples (%.2f%% → %.2f%%)",
                                                                         r.changedTerms, examples.count, r.before * 100, r.after * 100), calls: [])
        }
        return try base.improve(current: current, failures: failures, validated: validated)
    }
}
