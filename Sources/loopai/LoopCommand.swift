import ArgumentParser
import LoopApp
import Foundation
import LoopData
import LoopGenerate
import LoopLLM
import LoopRuntime
import LoopStore
import LoopTask

extension SamplingStrategyKind: ExpressibleByArgument {}

/// `loopai loop`: the whole lifecycle over a stream.
struct LoopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loop",
        abstract: "Run a task's program over a stream, validate samples with the oracle, improve, roll out and escalate.",
        discussion: """
        The first program comes from the store (its active version), --program, or the task's generator (an LLM \
        when configured, else the offline inducer over the task's examples and data). Every input is answered \
        by the program; a sample goes to the oracle (llm, or labels:COLUMN for ground truth read from the \
        stream); when agreement drops, a candidate is generated from the counterexamples, checked and tested \
        against every validated input, run in shadow, promoted through canary steps or rolled back; people \
        are called in with a ticket when the loop cannot fix it. Everything is stored in SQLite (--store); \
        --resume continues a killed run from its last committed batch. See Docs/loop.md.
        """)

    @Option(help: "The task file.")
    var task: String

    @Option(help: "The stream of inputs: JSON Lines (objects with the task's fields, or strings).")
    var stream: String

    @Option(help: "llm (the task's oracle) or labels:COLUMN (ground truth from each record's COLUMN).")
    var oracle: String = "llm"

    @Option(help: "Sampling rate in (0, 1] (default: the task's validation.rate).")
    var sampling: Double?

    @Option(help: "Sampling strategy: random, stratified, uncertainty or adaptive (default: the task's).")
    var strategy: SamplingStrategyKind?

    @Option(help: "The SQLite store (default: .loopai/TASK.sqlite).")
    var store: String?

    @Flag(help: "Continue the task's last unfinished run from its last committed batch.")
    var resume = false

    @Option(help: "Start from this program (when the store has no active version).")
    var program: String?

    @Option(help: "Labeled examples for the first program (default: the task's examples and data).")
    var examples: String?

    @Option(help: "Generator for the first program and improvements: auto, llm, induce, or hybrid (improvements re-fit the current program's weights first; default: the task's).")
    var generator: Generate.Generator?

    @Option(help: "Key of the true label in the stream, to report accuracy (default: COLUMN of labels:COLUMN).")
    var labelColumn: String?

    @Option(help: "Inputs per oracle request (default: the task's oracle.batch_size).")
    var oracleBatch: Int?

    @Option(help: "Inputs per committed batch.")
    var batch: Int = 100

    @Option(help: "Seed of the sampler's random draws.")
    var seed: UInt64 = 1

    @Option(help: "Stop after this many requests (the run stays resumable).")
    var maxRequests: Int?

    @Option(help: "Report format: text or json.")
    var format: ReportFormat = .text

    @Option(help: "Also write a self-contained HTML report here.")
    var report: String?

    @Option(help: "Where escalation tickets are written (default: escalations/ beside the store).")
    var escalations: String?

    @Flag(help: "Print each event (candidates, promotions, rollbacks, escalations) as it happens.")
    var verbose = false

    @OptionGroup var llm: LLMOptions

    enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func validate() throws {
        if let s = sampling, !(s > 0 && s <= 1) { throw ValidationError("--sampling is a rate in (0, 1]") }
        if batch < 1 { throw ValidationError("--batch is at least 1") }
        if let b = oracleBatch, b < 1 { throw ValidationError("--oracle-batch is at least 1") }
        if let m = maxRequests, m < 1 { throw ValidationError("--max-requests is at least 1") }
        if oracle != "llm" && !(oracle.hasPrefix("labels:") && oracle.count > 7) { throw ValidationError("--oracle is llm or labels:COLUMN") }
        if resume && program != nil { throw ValidationError("--resume continues a run as it was; --program starts one") }
    }

    func run() throws {
        var spec = try loadTask(task)
        if let sampling { spec.validation.rate = sampling }
        if let strategy { spec.validation.strategy = strategy }
        if let oracleBatch { spec.oracle.batchSize = oracleBatch }
        let storePath = store ?? ".loopai/\(spec.name).sqlite"
        let db: any TaskStore
        do { db = try SQLiteStore.open(path: storePath, task: spec.name) } catch { throw CLIError("cannot open the store \(storePath): \(error)", code: 2) }
        let escalationDir = escalations ?? ((storePath as NSString).deletingLastPathComponent.isEmpty ? "." : (storePath as NSString).deletingLastPathComponent) + "/escalations"

        var assembly = TaskAssembly(spec: spec)
        assembly.oracle = oracle
        assembly.generator = generator.flatMap { GeneratorChoice(rawValue: $0.rawValue) }
        assembly.llm = llm.settings
        assembly.examplesPath = examples
        assembly.initialProgramPath = program
        assembly.labelKey = labelColumn
        var settings = try assembly.settings(source: (stream as NSString).standardizingPath, escalationDirectory: escalationDir)
        let judge = settings.oracle, gen = settings.generator
        let seedExamples = settings.seedExamples
        settings.batchSize = batch
        settings.seed = seed
        settings.maxRequests = maxRequests

        if !resume && program == nil && (try? db.activeVersion()) == nil {
            printErr("loop: writing the first program with \(gen.name) from \(seedExamples.count) examples")
        }
        let driver: LoopDriver
        do { driver = try LoopDriver(settings: settings, store: db, resume: resume) }
        catch let e as LoopError {
            if case .stream = e { throw CLIError("\(e)", code: 2) }
            throw CLIError("\(e)", code: 1)
        } catch { throw CLIError("\(error)", code: 1) }
        if verbose { driver.log = { printErr("loop: " + $0) } }
        let kept = driver.state.sampler.configuration
        if resume && ((sampling != nil && sampling != kept.rate) || (strategy != nil && strategy != kept.strategy)) {
            printErr("warning: a resumed run keeps its own sampling (\(kept.strategy.rawValue) at \(kept.rate)); --sampling and --strategy are ignored")
        }
        let progress = Progress("loop", total: 0, force: isatty(2) != 0)
        driver.progress = { state, total in
            guard isatty(2) != 0 else { return }
            let a = state.agreement.estimate.map { String(format: "%.1f%%", $0 * 100) } ?? "-"
            FileHandle.standardError.write(Data("\rloop: \(state.cursor)/\(total) requests, agreement \(a), v\(state.activeVersion), \(state.escalations) escalation(s)\u{1B}[K".utf8))
        }
        let final: DriverState
        do { final = try driver.runToEnd() } catch { progress.finish(); throw CLIError("the loop stopped: \(error)", code: 1) }
        if isatty(2) != 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let r = LoopReport(task: spec.name, state: final, totalCost: driver.totalCost, confidence: spec.validation.confidence,
                           cpuPricePerHour: spec.validation.cpuPricePerHour, oracle: judge.name, generator: gen.name,
                           strategy: final.sampler.configuration.strategy.rawValue, rate: final.sampler.configuration.rate)
        if let report {
            let html = HTMLReport.render(r, versions: (try? db.versions()) ?? [])
            do { try html.write(toFile: report, atomically: true, encoding: .utf8) }
            catch { throw CLIError("cannot write \(report): \(error.localizedDescription)", code: 2) }
        }
        if format == .json { print(JSONWriter.string(r.json)) } else {
            print(r.text, terminator: "")
            if final.cursor < driver.streamCount {
                print("stopped at request \(final.cursor); continue with --resume")
            }
        }
    }
}
