import ArgumentParser
import LoopApp
import LoopCodegen
import LoopInterpreter
import Foundation
import LoopData
import LoopGenerate
import LoopInduce
import LoopLLM
import LoopSema
import LoopTask

extension NaiveBayesBlend.Mode: ExpressibleByArgument {}

/// `loopai generate`: writes a checked program, with an LLM (prompt, tier-1 and tier-2 repair)
/// or with the offline inducer (no LLM).
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checked .loop program for a task: with an LLM (and repair rounds) or the offline inducer.",
        discussion: """
        With --task, the generator is the task's (auto: an LLM when one is configured, else the inducer); \
        --generator overrides it. The LLM gets the language reference, the Stdlib, the task and a balanced \
        set of examples; a reply that fails `loopai check` is sent back with the JSON diagnostics, and one \
        that fails its tests or the examples is sent back with the failing inputs, for up to --max-rounds \
        repair rounds. --print-prompt shows the exact messages without sending anything. \
        The inducer fits a multinomial logistic regression over word counts and a few std.text predicates \
        and writes it as word tables and score blocks; with --train-fraction it reports held-out accuracy.
        """)

    enum Generator: String, ExpressibleByArgument, CaseIterable { case auto, llm, induce, hybrid }

    @Option(help: "The task file (YAML; see Docs/task-spec.md).")
    var task: String?

    @Option(help: "Generator: auto, llm, induce, or hybrid (re-fit the score weights of --program on the data; default: the task's, else induce).")
    var generator: Generator?

    @Option(help: "Hybrid: the program whose score weights are re-fitted (an LLM-written or hand-written one).")
    var program: String?

    @Option(help: "Labeled examples (JSON Lines); default: the task's data.")
    var data: String?

    @Option(help: "The key holding the expected label (default: the task's, else label).")
    var label: String?

    @Option(help: "The key holding the text, for the inducer without a task.")
    var column: String = "text"

    @Option(name: .shortAndLong, help: "Where to write the program (.loop).")
    var output: String?

    @Option(help: "The program's name (default: the task's name, else induced).")
    var name: String?

    @OptionGroup var llm: LLMOptions

    @Option(help: "LLM: repair rounds after the first reply (default: the task's, else 3).")
    var maxRounds: Int?

    @Option(help: "LLM: examples from the data used to test each reply (the prompt gets a balanced subset).")
    var examples: Int = 500

    @Option(help: "LLM: send Grammar/loop.gbnf as the grammar: auto (when the server is llama.cpp), on, off.")
    var grammar: GrammarChoice = .auto

    @Flag(help: "LLM: print the requests that would be sent (system and user messages), send nothing.")
    var printPrompt = false

    @Option(help: "Inducer: train on this fraction of the data and report accuracy on the rest; 1 uses everything.")
    var trainFraction: Double = 1

    @Option(help: "Inducer: at most this many words per label.")
    var maxWords: Int = 300

    @Option(help: "Inducer: L2 regularisation strength on the mean cross-entropy (default 0.001; smaller fits the data more closely).")
    var l2: Double?

    @Option(help: "Inducer: optimisation passes over the data (default 400).")
    var iterations: Int?

    @Option(help: "Inducer: write the training and held-out parts of the data to DIR/train.jsonl and DIR/held.jsonl (for baselines on the same split).")
    var writeSplit: String?

    @Flag(help: "Inducer: do not add the task's examples and label descriptions to the training data.")
    var noTaskEvidence = false

    @Flag(inversion: .prefixedNo, help: "Inducer: give a word after an English negator (\"not good\") its own weight; the program scores with std.text's sum_words_negating. Default: chosen by cross-validation below 2,000 examples, else off.")
    var negation: Bool? = nil

    @Flag(inversion: .prefixedNo, help: "Inducer: weigh each training example by N / (labels × its label's count), so rare labels count as much as frequent ones. Default: chosen by cross-validation below 2,000 examples, else off.")
    var balanced: Bool? = nil

    @Option(help: "Inducer, two labels: blend the regression's word weights with Naive Bayes log-count ratios (blend), after scaling the words by their Naive Bayes ratio (scaled), or not (off). Default: chosen by cross-validation below 2,000 examples, else off.")
    var naiveBayes: NaiveBayesBlend.Mode? = nil

    @Option(help: "Inducer: below 2,000 examples, choose the L2 strength (and --negation, --balanced, --naive-bayes where not given) by this many-fold cross-validation; 0 or 1 turns it off.")
    var folds: Int = 5

    @Flag(inversion: .prefixedNo, help: "Inducer: weigh words by their inverse document frequency and divide by the text's total (length-normalised tf-idf). Default: chosen on a held-out seventh from 2,000 examples on, else off.")
    var normalize: Bool? = nil

    enum GrammarChoice: String, ExpressibleByArgument, CaseIterable { case auto, on, off }

    /// `, L2 0.001 (the defaults, kept by 5-fold cross-validation ...)` for the summary line.
    static func crossValidationSummary(_ cv: InducedProgram.CrossValidation, l2: Double) -> String {
        func pct(_ x: Double) -> String { String(format: "%.2f%%", x * 100) }
        var s = ", L2 \(l2)"
        if cv.negation { s += ", negation" }
        if cv.balanced { s += ", balanced" }
        if cv.naiveBayes != .off { s += ", Naive Bayes " + cv.naiveBayes.rawValue }
        let head = "\(cv.folds)-fold cross-validation of \(cv.candidates.count) candidates: \(pct(cv.chosen.accuracy))"
        if cv.keptDefaults {
            let best = pct(cv.best.accuracy), se = pct(cv.standardError)
            s += " (the defaults, kept by " + head + "; the best, " + best + ", is within one standard error, " + se + ")"
        } else {
            var against = ""
            if let d = cv.defaults { against = " against the defaults' " + pct(d.accuracy) }
            s += " (chosen by " + head + against + ")"
        }
        return s
    }

    /// `, 100 words per label (as accurate as 300 on ...: 25 → 96.1%, ...)` for the summary line.
    static func vocabularySummary(_ v: InducedProgram.Vocabulary) -> String {
        let curve = zip(v.wordsPerLabel, v.accuracy).map { "\($0) → " + String(format: "%.2f%%", $1 * 100) }.joined(separator: ", ")
        let most = v.wordsPerLabel.last!
        let why = v.chosen < most ? "as accurate as \(most)" : "fewer were less accurate"
        return ", \(v.chosen) words per label (\(why) on \(v.measuredOn): " + curve + ")"
    }

    func validate() throws {
        if !(trainFraction > 0 && trainFraction <= 1) { throw ValidationError("--train-fraction is in (0, 1]") }
        if maxWords < 1 { throw ValidationError("--max-words is at least 1") }
        if folds < 0 { throw ValidationError("--folds is 0 (off) or more") }
        if let l2, !(l2 >= 0 && l2.isFinite) { throw ValidationError("--l2 is a number ≥ 0") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations is at least 1") }
        if let m = maxRounds, m < 0 { throw ValidationError("--max-rounds is at least 0") }
        if examples < 0 { throw ValidationError("--examples is at least 0") }
        if let name, name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) || name.first!.isNumber {
            throw ValidationError("--name must be an identifier (letters, digits, _)")
        }
        if task == nil && data == nil { throw ValidationError("give --task, or --data for the inducer") }
        if generator == .hybrid && program == nil { throw ValidationError("--generator hybrid needs --program (the program to re-fit)") }
        if program != nil && generator != .hybrid { throw ValidationError("--program is for --generator hybrid") }
        if task == nil && (generator == .llm || printPrompt) { throw ValidationError("the LLM generator needs --task") }
        if output == nil && !printPrompt { throw ValidationError("give -o/--output for the program") }
    }

    func run() throws {
        let spec = try task.map(loadTask)
        if generator == .hybrid { return try hybrid(spec) }
        var kind = generator ?? (spec.map { Generator(rawValue: $0.generator.kind.rawValue) ?? .auto } ?? .induce)
        var resolved: ResolvedLLM? = nil
        if kind != .induce, let spec {
            resolved = try llm.resolve(spec.generator.endpoint, required: kind == .llm)
            if resolved == nil {
                if kind == .llm || printPrompt {
                    if !printPrompt {
                        throw CLIError("no LLM provider is configured: set OPENAI_API_KEY (or OPENAI_BASE_URL) or ANTHROPIC_API_KEY, give --provider, or use --generator induce", code: 2)
                    }
                } else {
                    printErr("no LLM provider is configured; using the offline inducer")
                    kind = .induce
                }
            } else { kind = .llm }
        }
        if kind == .induce && !printPrompt { return try induce(spec) }
        guard let spec else { throw CLIError("the LLM generator needs --task", code: 2) }
        try generateWithLLM(spec, resolved)
    }

    // MARK: LLM

    func generateWithLLM(_ spec: TaskSpec, _ resolved: ResolvedLLM?) throws {
        var options = TaskAssembly.generationOptions(spec)
        if let maxRounds { options.maxRepairRounds = maxRounds }
        let evaluation = try wrapIO { try taskExamples(spec) }
        guard let resolved else {
            // --print-prompt with no provider: show what an OpenAI-compatible request would carry.
            let g = LLMGenerator(task: spec, client: LLMClient(provider: OpenAICompatibleProvider(baseURL: LLMConfiguration.defaultOpenAIBaseURL, apiKey: "")),
                                 model: llm.model ?? spec.generator.endpoint.model ?? "gpt-4o-mini", options: options)
            return printRequest(g.initialRequest(examples: evaluation), to: "(no provider configured)")
        }
        if resolved.kind == .openai && (grammar == .on || (grammar == .auto && !printPrompt && !llm.offline && ProviderFactory.isLlamaCpp(baseURL: resolved.baseURL))) {
            options.grammar = PromptReference.gbnf
        }
        let client = resolved.client()
        let g = LLMGenerator(task: spec, client: client, model: resolved.model, options: options)
        if printPrompt {
            return printRequest(g.initialRequest(examples: evaluation), to: "\(resolved.provider.name) \(resolved.baseURL), model \(resolved.model)")
        }
        g.progress = { printErr("generate: " + $0) }
        let selection = g.promptExamples(evaluation)
        printErr("generate: asking \(resolved.provider.name) (\(resolved.model)) with \(selection.examples.count) examples in the prompt, \(evaluation.count) to test against")
        if !selection.short.isEmpty {
            printErr("generate: labels with fewer than \(selection.minPerLabel) examples in the prompt: "
                     + selection.short.map { "\($0.label) (\($0.count))" }.joined(separator: ", ")
                     + " (too few in the data, or generator.example_token_budget reached)")
        }
        let result: GenerationResult
        do { result = try g.generate(examples: evaluation) }
        catch {
            printErr("generate: \(ledgerSummary(client))")
            throw CLIError("generation failed: \(error)", code: 1)
        }
        let path = output ?? spec.programPath
        do { try result.source.write(toFile: path, atomically: true, encoding: .utf8) }
        catch { throw CLIError("cannot write \(path): \(error.localizedDescription)", code: 2) }
        let kinds = result.rounds.map(\.kind.rawValue).joined(separator: ", ")
        printErr(String(format: "wrote %@: %d round(s) (%@); accuracy %.2f%% on %d examples and tests%@", path, result.rounds.count, kinds,
                        result.accuracy * 100, result.evaluated, result.passedTier2 ? "" : " (below the bar; the best program found is written)"))
        printErr("calls: \(ledgerSummary(client))")
        if !result.passedTier2 { throw ExitCode(1) }
    }

    /// The task's own examples, then up to --examples records of its data (seeded shuffle, so a
    /// run is reproducible and the sample is not just the head of the file).
    func taskExamples(_ spec: TaskSpec) throws -> [TaskExample] {
        var fromData = SplitMix64.shuffled(try spec.examplesFromData(path: data, labelKey: label), seed: 7)
        // The task's own examples are often copied from its data: each input once.
        var seen = Set(spec.examples.map { JSONWriter.string($0.input) })
        fromData = fromData.filter { seen.insert(JSONWriter.string($0.input)).inserted }
        return spec.examples + fromData.prefix(examples)
    }

    func printRequest(_ r: ChatRequest, to target: String) {
        print("# The first request to \(target); repair rounds append the reply and the diagnostics or failing examples.")
        print("# temperature \(r.temperature), max tokens \(r.maxTokens)\(r.grammar != nil ? ", with the GBNF grammar" : "")")
        for m in r.messages {
            print("\n===== \(m.role.rawValue) =====\n")
            print(m.content)
        }
    }

    // MARK: Hybrid

    func hybrid(_ spec: TaskSpec?) throws {
        guard let program, let dataPath = data ?? spec?.data?.path else {
            throw CLIError("--generator hybrid needs --program and labeled data (--data or the task's data)", code: 2)
        }
        let labelKey = label ?? spec?.data?.labelKey ?? "label"
        let source: String
        do { source = try String(contentsOfFile: program, encoding: .utf8) } catch { throw CLIError("cannot read \(program): \(error.localizedDescription)", code: 2) }
        let records = try wrapIO { try RecordReader.read(dataPath, format: .jsonl) }
        var examples: [(input: JSON, label: String)] = []
        for r in records {
            guard case .json(let j) = r.raw, let l = RecordDecoder.label(r.raw, column: labelKey) else { continue }
            examples.append((j, l))
        }
        guard !examples.isEmpty else { throw CLIError("\(dataPath): no record has the label `\(labelKey)`", code: 2) }
        let (train, held) = Inducer.split(examples, trainFraction: trainFraction)
        let result: HybridRefit.Result
        do { result = try HybridRefit.refit(source: source, name: (program as NSString).lastPathComponent, examples: train) }
        catch { throw CLIError("the re-fit failed: \(error)", code: 1) }
        guard let output else { throw CLIError("give -o/--output for the program", code: 2) }
        if result.after < result.before {
            throw CLIError(String(format: "the re-fitted weights are less accurate on the %d examples (%.2f%% → %.2f%%); nothing was written",
                                  train.count, result.before * 100, result.after * 100), code: 1)
        }
        do { try result.source.write(toFile: output, atomically: true, encoding: .utf8) }
        catch { throw CLIError("cannot write \(output): \(error.localizedDescription)", code: 2) }
        var summary = String(format: "wrote %@: %d score weight(s) re-fitted on %d examples (%d decided by score blocks); accuracy on them %.2f%% → %.2f%%",
                             output, result.changedTerms, train.count, result.scoreDecided, result.before * 100, result.after * 100)
        if !held.isEmpty {
            let before = try HybridRefit.accuracy(source: source, examples: held)
            let after = try HybridRefit.accuracy(source: result.source, examples: held)
            summary += String(format: "; held-out %.2f%% → %.2f%% (%d examples)", before * 100, after * 100, held.count)
        }
        printErr(summary)
    }

    // MARK: Inducer

    func induce(_ spec: TaskSpec?) throws {
        guard let dataPath = data ?? spec?.data?.path else {
            throw CLIError("the inducer needs labeled data: give --data or a `data` entry in the task", code: 2)
        }
        if let spec, !spec.isSingleText {
            throw CLIError("the inducer learns from one text field; task \(spec.name) has a record input (\(spec.input.map(\.name).joined(separator: ", ")))", code: 2)
        }
        let labelKey = label ?? spec?.data?.labelKey ?? "label"
        let textKey = spec?.input.first?.name ?? column
        let examples = try wrapIO { try Inducer.loadJSONL(dataPath, textKey: textKey, labelKey: labelKey) }
        guard !examples.isEmpty else { throw CLIError("\(dataPath): no record has both `\(textKey)` and `\(labelKey)`", code: 2) }
        var (train, held) = trainFraction < 1 ? Inducer.split(examples, trainFraction: trainFraction) : (examples, [])
        if let dir = writeSplit {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for (name, part) in [("train", train), ("held", held)] {
                    let lines = part.map { JSONWriter.string(.object([("text", JSON(String(decoding: $0.text, as: UTF8.self))), ("label", JSON($0.label))])) }
                    try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(toFile: dir + "/\(name).jsonl", atomically: true, encoding: .utf8)
                }
            } catch { throw CLIError("cannot write the split to \(dir): \(error.localizedDescription)", code: 2) }
        }
        // The task is evidence too: its examples, and each label's description twice (a log
        // template's description is its text), so a label absent from the data can be answered
        // and the words of a rare label pass the two-example threshold.
        var evidence = 0
        if let spec, !noTaskEvidence {
            for e in spec.examples {
                guard let t = e.input.string ?? e.input[spec.input[0].name]?.string else { continue }
                train.append((Array(t.utf8), e.label)); evidence += 1
            }
            for l in spec.labels where !l.description.trimmingCharacters(in: .whitespaces).isEmpty {
                for _ in 0..<2 { train.append((Array(l.description.utf8), l.name)) }
                evidence += 2
            }
        }
        var options = Inducer.Options()
        options.engine = { JITEngine.preferred($0) }   // the same answers as the interpreter, faster
        options.programName = name ?? spec?.name ?? "induced"
        // With a task, the program's input is the task's field (`message`, not `text`).
        if let field = spec?.input.first?.name { options.inputName = field }
        // The task's names for its labels; without a task, labels that are not identifiers get
        // derived ones and the program answers with the data's strings.
        if let spec, spec.hasAnswerNames { options.labelNames = spec.answerNames }
        options.maxWordsPerLabel = maxWords
        options.chooseVocabulary = true
        options.negation = negation ?? false
        options.chooseNegation = negation == nil
        if let normalize { options.normalize = normalize }
        options.balanced = balanced ?? false
        options.chooseBalanced = balanced == nil
        options.naiveBayes = naiveBayes ?? .off
        options.chooseNaiveBayes = naiveBayes == nil
        options.crossValidationFolds = folds
        options.progress = { printErr("generate: " + $0) }
        // A given strength is not searched.
        if let l2 { options.l2 = l2; options.l2Grid = [l2]; options.crossValidationL2Grid = [l2] }
        if let iterations { options.iterations = iterations }
        let result: InducedProgram
        do { result = try Inducer.induce(examples: train, labels: spec?.labelNames, options: options) }
        catch { throw CLIError("the inducer failed: \(error)", code: 1) }
        guard let output else { throw CLIError("give -o/--output for the program", code: 2) }
        do { try result.source.write(toFile: output, atomically: true, encoding: .utf8) }
        catch { throw CLIError("cannot write \(output): \(error.localizedDescription)", code: 2) }
        let lines = result.source.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
        var summary = "wrote \(output) (\(lines) lines, \(String(format: "%.1f", Double(result.source.utf8.count) / 1024)) KB): \(result.labels.count) labels, \(result.wordCount) words, trained on \(train.count) examples"
            + (evidence > 0 ? " (\(evidence) from the task: its examples and each label's description twice)" : "")
        summary += String(format: ", training accuracy %.2f%%", result.trainingAccuracy * 100)
        if !result.validation.isEmpty { summary += ", L2 \(result.l2) (chosen on a held-out seventh)" }
        if let cv = result.crossValidation { summary += Self.crossValidationSummary(cv, l2: result.l2) }
        if let v = result.vocabulary { summary += Self.vocabularySummary(v) }
        if !held.isEmpty {
            let ev = result.evaluate(held)
            summary += String(format: ", held-out accuracy %.2f%% (%d/%d)", ev.accuracy * 100, ev.correct, ev.total)
        }
        printErr(summary)
    }
}
