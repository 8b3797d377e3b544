import Foundation
import LoopApp
import LoopData
import LoopRuntime
import LoopStore
import LoopTask

/// One task a server answers for: its engine (request path and control side), where its
/// requests' fields go, and its store.
final class ServedTask: @unchecked Sendable {
    let name: String
    let spec: TaskSpec
    let runner: EngineRunner
    let storePath: String
    /// `labels:FIELD`: the field that carries the true label in each request (removed from the input).
    let labelField: String?
    let oracleName: String
    let generatorName: String
    /// Field names the program reads, and the task's labels.
    let inputFields: Set<String>
    let labelSet: Set<String>

    var engine: TaskEngine { runner.engine }

    init(entry: ServeConfig.TaskEntry, config: ServeConfig, log: @escaping @Sendable (String) -> Void) throws {
        let spec = try TaskAssembly.loadTask(entry.task)
        var assembly = TaskAssembly(spec: spec)
        assembly.oracle = entry.oracle
        assembly.generator = entry.generator
        assembly.llm = config.llm
        assembly.examplesPath = entry.examples
        // The first program: --program, else the task's own program file when it has one.
        assembly.initialProgramPath = entry.program ?? (FileManager.default.fileExists(atPath: spec.programPath) ? spec.programPath : nil)
        let storePath = config.store + "/\(spec.name).sqlite"
        let store = try TaskAssembly.openStore(storePath, task: spec.name)
        var settings = try assembly.settings(source: "serve", escalationDirectory: config.store + "/escalations/\(spec.name)")
        settings.labelKey = nil
        settings.batchSize = config.batchSize
        settings.queueCapacity = config.queueCapacity
        // One step validates what the oracle can take in a few rounds of its batches; the rest wait.
        settings.maxSamplesPerStep = max(config.batchSize, spec.oracle.batchSize * max(1, spec.oracle.concurrency) * 2)
        // A server resumes the task's unfinished serving run, whatever stopped it.
        let latest = try store.latestRun()
        let resume = latest.map { $0.finishedAt == nil && $0.streamPath == "serve" } ?? false
        let engine: TaskEngine
        do { engine = try TaskEngine(settings: settings, store: store, resume: resume) }
        catch let e as LoopError { throw AppError("task \(spec.name): \(e)", code: 1) }
        engine.log = { log("\(spec.name): \($0)") }
        runner = EngineRunner(engine: engine, commitInterval: config.commitInterval)
        runner.log = { log("\(spec.name): \($0)") }
        self.name = spec.name
        self.spec = spec
        self.storePath = storePath
        labelField = entry.oracle.hasPrefix("labels:") ? String(entry.oracle.dropFirst(7)) : nil
        oracleName = settings.oracle.name
        generatorName = settings.generator.name
        inputFields = Set(spec.input.map(\.name))
        labelSet = Set(spec.labelNames)
        if resume { log("\(spec.name): resumed run \(engine.run.id ?? 0) at request \(engine.state.requests), v\(engine.state.activeVersion) active") }
        else { log("\(spec.name): new run \(engine.run.id ?? 0), v\(engine.state.activeVersion) active") }
    }

    /// The report of the task as it stands (the same figures as `loopai loop`'s report).
    func report() -> LoopReport {
        let s = runner.status.current
        let c = spec.validation
        return LoopReport(task: name, state: s, totalCost: TaskEngine.totalCost(s, cpuPricePerHour: c.cpuPricePerHour), confidence: c.confidence, cpuPricePerHour: c.cpuPricePerHour,
                          oracle: oracleName, generator: generatorName, strategy: s.sampler.configuration.strategy.rawValue,
                          rate: s.sampler.configuration.rate)
    }
}
