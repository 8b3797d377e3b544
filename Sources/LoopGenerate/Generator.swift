import Foundation
import LoopDiagnostics
import LoopData
import LoopInterpreter
import LoopLLM
import LoopSema
import LoopTask

public struct GenerationOptions: Sendable {
    /// Repair rounds (tier 1 and tier 2 together) after the first reply.
    public var maxRepairRounds = 3
    /// Examples in the prompt (balanced across labels).
    public var maxExamples = 40
    /// Every label gets at least this many (its hardest) within `exampleTokenBudget`.
    public var minExamplesPerLabel = 2
    /// Tokens (4 bytes each, estimated) the prompt's examples may take.
    public var exampleTokenBudget = 8000
    public var maxTokens = 4096
    public var temperature = 0.2
    /// Tier 2 passes when every embedded test passes and the examples reach this accuracy.
    public var minExampleAccuracy = 0.9
    /// At most this many failing examples are fed back per round.
    public var maxFailuresShown = 15
    /// A GBNF grammar sent with every request (llama.cpp servers).
    public var grammar: String? = nil
    public init() {}
}

/// One round of generation: what was asked, and what came back.
public struct GenerationRound: Sendable {
    public enum Kind: String, Sendable { case initial, repairCheck = "repair-check", repairTests = "repair-tests", repairNoProgram = "repair-no-program" }
    public var kind: Kind
    /// Errors from `check` (0 when it passed or there was no program).
    public var errors: Int
    public var hadProgram: Bool
    /// Accuracy on examples and tests when the program checked.
    public var accuracy: Double?
}

public struct GenerationResult: Sendable {
    /// The program with its provenance header.
    public var source: String
    public var program: TypedProgram
    public var rounds: [GenerationRound]
    /// Accuracy on the tier-2 set (the task's examples, the prompt's examples, the embedded tests).
    public var accuracy: Double
    public var evaluated: Int
    /// True when tier 2 passed (else this is the best program found within the rounds).
    public var passedTier2: Bool
}

public enum GenerationError: Error, CustomStringConvertible {
    /// No reply held a program that checks; the last diagnostics (rendered) are kept.
    case noValidProgram(rounds: Int, lastProblem: String)

    public var description: String {
        switch self {
        case .noValidProgram(let n, let p): return "no program passed `check` after \(n) round(s); the last problem:\n\(p)"
        }
    }
}

/// Writes programs with an LLM: prompt, extraction, tier-1 repair from the checker's JSON
/// diagnostics, tier-2 repair from failing tests and examples. Also what the improvement loop
/// calls with counterexamples (`improve`).
public final class LLMGenerator {
    public let task: TaskSpec
    public let client: LLMClient
    public let model: String
    public var options: GenerationOptions
    /// Provenance for the header comment.
    public var providerName: String { client.provider.name }
    /// Called with a line of progress per round (for the terminal).
    public var progress: ((String) -> Void)?

    public init(task: TaskSpec, client: LLMClient, model: String, options: GenerationOptions = GenerationOptions()) {
        self.task = task; self.client = client; self.model = model; self.options = options
    }

    /// The first request `generate` would send.
    public func initialRequest(examples: [Example]) -> ChatRequest {
        request([.system(PromptBuilder.system()), .user(PromptBuilder.task(task, selection: promptExamples(examples)))], purpose: .generate)
    }

    public func improvementRequest(current: String, failures: [Counterexample], examples: [Example]) -> ChatRequest {
        request([.system(PromptBuilder.system()),
                 .user(PromptBuilder.improve(task, current: current, failures: failures, selection: promptExamples(examples)))], purpose: .generate)
    }

    /// The examples the prompt shows: every label's hardest first, then balanced (see `PromptBuilder.select`).
    public func promptExamples(_ examples: [Example]) -> ExampleSelection {
        PromptBuilder.select(examples, labels: task.labelNames, cap: options.maxExamples, minPerLabel: options.minExamplesPerLabel,
                             tokenBudget: options.exampleTokenBudget)
    }

    func request(_ messages: [ChatMessage], purpose: CallPurpose) -> ChatRequest {
        ChatRequest(model: model, messages: messages, temperature: options.temperature, maxTokens: options.maxTokens,
                    purpose: purpose, grammar: options.grammar)
    }

    /// Writes a new program from the task and `examples` (all of them are used for tier 2; a
    /// balanced, capped subset goes into the prompt).
    public func generate(examples: [Example], log: CallLog? = nil) throws -> GenerationResult {
        try run(initialRequest(examples: examples), evaluation: examples, reason: "generated from the task", log: log)
    }

    /// Writes a candidate from the current program and the inputs it gets wrong. Tier 2 evaluates
    /// on the counterexamples (with their correct labels) and `examples`.
    public func improve(current: String, failures: [Counterexample], examples: [Example], log: CallLog? = nil) throws -> GenerationResult {
        let fixed = failures.map { Example(input: $0.input, label: $0.expected) }
        return try run(improvementRequest(current: current, failures: failures, examples: examples), evaluation: examples + fixed,
                       reason: "improved with \(failures.count) counterexample(s)", log: log)
    }

    func run(_ first: ChatRequest, evaluation: [Example], reason: String, log: CallLog?) throws -> GenerationResult {
        var req = first
        var rounds: [GenerationRound] = []
        var best: (source: String, program: TypedProgram, ev: Tier2)? = nil
        var lastProblem = "no reply"
        for round in 0...options.maxRepairRounds {
            let reply: String
            do { reply = try client.complete(req, log: log).text }
            catch let e as LLMError where e.isMalformedReply {
                // A reply that is not a completion (truncated or malformed JSON with status 200, an
                // empty completion) costs this round, not the whole generation: ask again.
                rounds.append(GenerationRound(kind: round == 0 ? .initial : .repairNoProgram, errors: 0, hadProgram: false, accuracy: nil))
                lastProblem = "\(e)"
                progress?("round \(round + 1): malformed reply (\(e)); asking again")
                continue
            }
            req.messages.append(.assistant(reply))
            req.purpose = .repair
            let kind: GenerationRound.Kind = round == 0 ? .initial : rounds.last.map { r in
                !r.hadProgram ? .repairNoProgram : r.errors > 0 ? .repairCheck : .repairTests } ?? .initial
            guard let source = ProgramExtractor.extract(reply) else {
                rounds.append(GenerationRound(kind: kind, errors: 0, hadProgram: false, accuracy: nil))
                lastProblem = "the reply contains no program"
                progress?("round \(round + 1): no program in the reply")
                req.messages.append(.user(PromptBuilder.noProgram))
                continue
            }
            let (program, diagnostics) = Checker.checkSource(SourceFile(name: "\(task.name).loop", text: source), stdlib: .embedded)
            let errors = diagnostics.filter { $0.severity == .error }
            guard let program, errors.isEmpty else {
                rounds.append(GenerationRound(kind: kind, errors: errors.count, hadProgram: true, accuracy: nil))
                lastProblem = TextRenderer().render(errors)
                progress?("round \(round + 1): check found \(errors.count) error(s)")
                req.messages.append(.user(PromptBuilder.repairDiagnostics(DiagnosticJSON.document(diagnostics))))
                continue
            }
            if let mismatch = contractProblem(program) {
                rounds.append(GenerationRound(kind: kind, errors: 1, hadProgram: true, accuracy: nil))
                lastProblem = mismatch
                progress?("round \(round + 1): \(mismatch)")
                req.messages.append(.user(mismatch + "\nThe program must begin with exactly these lines:\n```loop\n\(PromptBuilder.header(task))\n```\nReply with the whole corrected program."))
                continue
            }
            let ev = Tier2.evaluate(program, examples: evaluation, labels: task.labelNames)
            rounds.append(GenerationRound(kind: kind, errors: 0, hadProgram: true, accuracy: ev.accuracy))
            progress?(String(format: "round %d: checks; %.1f%% on %d examples and tests", round + 1, ev.accuracy * 100, ev.total))
            if best == nil || ev.accuracy > best!.ev.accuracy { best = (source, program, ev) }
            if ev.passes(minAccuracy: options.minExampleAccuracy) { break }
            lastProblem = "\(ev.failures.count) example(s) or test(s) fail"
            req.messages.append(.user(PromptBuilder.repairFailures(Array(ev.failures.prefix(options.maxFailuresShown)),
                                                                   accuracy: ev.accuracy, total: ev.total)))
        }
        guard let best else { throw GenerationError.noValidProgram(rounds: rounds.count, lastProblem: lastProblem) }
        let source = header(rounds: rounds.count, reason: reason) + best.source
        // The header is comments only; re-check so the returned program's locations match the file.
        let (program, _) = Checker.checkSource(SourceFile(name: "\(task.name).loop", text: source), stdlib: .embedded)
        return GenerationResult(source: source, program: program ?? best.program, rounds: rounds, accuracy: best.ev.accuracy,
                                evaluated: best.ev.total, passedTier2: best.ev.passes(minAccuracy: options.minExampleAccuracy))
    }

    /// The program must answer with the task's labels and read the task's input.
    func contractProblem(_ p: TypedProgram) -> String? {
        switch TaskContract.check(p, task, labelOrderMatters: true) {
        case nil: return nil
        case .labels(let program, let wanted)?:
            return "The program's labels are \(program.joined(separator: ", ")); the task's are \(wanted.joined(separator: ", ")) (same names, same order)."
        case .input(let program, let wanted)?:
            return "The program's input is { \(program.joined(separator: ", ")) }; the task's is { \(wanted.joined(separator: ", ")) }."
        }
    }

    func header(rounds: Int, reason: String) -> String {
        let date = ISO8601DateFormatter().string(from: Date())
        return """
        // Generated by loopai generate: \(reason).
        // task: \(task.name) (\(task.path)); provider: \(providerName); model: \(model); rounds: \(rounds); date: \(date)

        """
    }
}

/// Tier 2: the program's own tests and the labeled examples, run through the interpreter.
struct Tier2 {
    var total = 0
    var correct = 0
    var testsFailed = 0
    var failures: [String] = []
    var accuracy: Double { total == 0 ? 1 : Double(correct) / Double(total) }

    func passes(minAccuracy: Double) -> Bool { testsFailed == 0 && accuracy >= minAccuracy }

    static func evaluate(_ program: TypedProgram, examples: [Example], labels: [String]) -> Tier2 {
        let engine = Interpreter(program)
        var t = Tier2()
        let (passed, failed) = EmbeddedTests.run(engine)
        t.total += passed + failed.count
        t.correct += passed
        t.testsFailed = failed.count
        for f in failed {
            let (line, _) = program.file.location(of: f.test.range.start)
            t.failures.append("test on line \(line): program \(program.labels[f.got.label]), expected \(program.labels[f.test.label]) (\(f.got.decidedByText(program)))")
        }
        let decoder = RecordDecoder(program: program)
        for e in examples {
            t.total += 1
            switch decoder.decode(.json(e.input)) {
            case .success(let values):
                let d = engine.classify(values)
                let got = program.labels[d.label]
                if got == e.label { t.correct += 1 } else {
                    t.failures.append(Counterexample(input: e.input, programLabel: got, expected: e.label, decidedBy: d.decidedByText(program)).line)
                }
            case .failure(let err):
                t.failures.append("\(JSONWriter.string(e.input)): the program cannot read this input: \(err.message)")
            }
        }
        return t
    }
}
