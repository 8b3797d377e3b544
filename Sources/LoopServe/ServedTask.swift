import Foundation
import LoopApp
import LoopData
import LoopRuntime
import LoopStore
import LoopTask
import Prometheus

/// One task a server answers for: its engine (request path and control side), where its
/// requests' fields go, and its store.
final class ServedTask: @unchecked Sendable {
    let name: String
    let spec: TaskSpec
    let runner: EngineRunner
    let storePath: String
    /// This server's name among the task's replicas (nil without a shared store).
    let replica: String?
    /// `labels:FIELD`: the field that carries the true label in each request (removed from the input).
    let labelField: String?
    let oracleName: String
    let generatorName: String
    /// Field names the program reads, and the task's labels.
    let inputFields: Set<String>
    let labelSet: Set<String>
    /// `labelSet` as bytes (a batch read from spans compares its labels without making strings).
    let labelBytes: [[UInt8]]

    /// What each version's answers are written with and counted by.
    let outputs = VersionOutputs()
    /// The input's field names, in the task's order.
    let fieldNames: [String]
    /// The keys a body read as spans looks for (the fields, the label field, then `id`), as
    /// bytes; nil when a field is not text (such bodies take the full parser).
    let spanKeys: [[UInt8]]?

    var engine: TaskEngine { runner.engine }

    /// The request latency histograms (single, batch), made once so a request records without a lookup.
    let latency: (single: DurationHistogram, batch: DurationHistogram)

    /// Records a classify request's time from `start` (uptime nanoseconds) to now.
    func recordLatency(since start: UInt64, batch: Bool) {
        (batch ? latency.batch : latency.single).recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
    }

    init(entry: ServeConfig.TaskEntry, config: ServeConfig, metrics: ServeMetrics, log: @escaping @Sendable (String) -> Void) throws {
        let spec = try TaskAssembly.loadTask(entry.task)
        var assembly = TaskAssembly(spec: spec)
        assembly.oracle = entry.oracle
        assembly.generator = entry.generator
        assembly.llm = config.llm
        assembly.examplesPath = entry.examples
        // The first program: --program, else the task's own program file when it has one.
        assembly.initialProgramPath = entry.program ?? (FileManager.default.fileExists(atPath: spec.programPath) ? spec.programPath : nil)
        // SQLite: a file per task in the store directory. PostgreSQL: one database for every task
        // and replica; each replica serves its own run and follows the task's leader.
        let shared = TaskAssembly.isSharedStore(config.store)
        let storePath = shared ? config.store : config.store + "/\(spec.name).sqlite"
        let store = try TaskAssembly.openStore(storePath, task: spec.name)
        let replica = config.replica ?? (shared ? "\(config.host):\(config.port == 0 ? "pid\(getpid())" : String(config.port))" : nil)
        let source = replica.map { "serve:\($0)" } ?? "serve"
        var settings = try assembly.settings(source: source, escalationDirectory: (shared ? ".loopai" : config.store) + "/escalations/\(spec.name)")
        settings.replica = replica
        settings.leaseSeconds = config.leaseSeconds
        settings.labelKey = nil
        settings.batchSize = config.batchSize
        settings.queueCapacity = config.queueCapacity
        // One step validates what the oracle can take in a few rounds of its batches; the rest wait.
        settings.maxSamplesPerStep = max(config.batchSize, spec.oracle.batchSize * max(1, spec.oracle.concurrency) * 2)
        // Steps start as soon as an oracle batch waits; their rows are committed every commit interval.
        settings.minCommitSeconds = config.commitInterval
        // A server resumes the task's unfinished serving run, whatever stopped it.
        let latest = try store.runs().last { $0.streamPath == source }
        let resume = latest.map { $0.finishedAt == nil } ?? false
        let engine: TaskEngine
        do { engine = try TaskEngine(settings: settings, store: store, resume: resume) }
        catch let e as LoopError { throw AppError("task \(spec.name): \(e)", code: 1) }
        engine.log = { log("\(spec.name): \($0)") }
        runner = EngineRunner(engine: engine, commitInterval: config.commitInterval)
        runner.log = { log("\(spec.name): \($0)") }
        self.name = spec.name
        latency = metrics.latencyHistograms(task: spec.name)
        self.spec = spec
        self.storePath = shared ? store.location : storePath
        self.replica = replica
        labelField = entry.oracle.hasPrefix("labels:") ? String(entry.oracle.dropFirst(7)) : nil
        oracleName = settings.oracle.name
        generatorName = settings.generator.name
        inputFields = Set(spec.input.map(\.name))
        labelSet = Set(spec.labelNames + spec.answerNames)
        labelBytes = labelSet.map { Array($0.utf8) }
        fieldNames = spec.input.map(\.name)
        let keys = (fieldNames + (labelField.map { [$0] } ?? []) + ["id"]).map { Array($0.utf8) }
        // One bit per key marks its escapes.
        spanKeys = spec.input.allSatisfy({ $0.type == .text }) && keys.count <= 64 ? keys : nil
        if resume { log("\(spec.name): resumed run \(engine.run.id ?? 0) at request \(engine.state.requests), v\(engine.state.activeVersion) active") }
        else { log("\(spec.name): new run \(engine.run.id ?? 0), v\(engine.state.activeVersion) active") }
    }

    /// With replicas: the task-wide figures, pooled over every replica's run (this one's live
    /// counts, the others' as of their last commit), the agreement of the active version over
    /// every replica's validations (weighted by inverse inclusion probabilities), and who leads.
    func taskWide() throws -> JSON? {
        guard let replica else { return nil }
        let s = runner.status.current
        let live = engine.liveCounts
        var requests = live.requests, sampled = live.sampled, validated = s.validated, replicas = 1
        for r in try engine.store.runs() where r.streamPath.hasPrefix("serve") && r.id != engine.run.id {
            guard let json = r.state, let other = try? DriverState.decode(json) else { continue }
            requests += other.requests; sampled += other.sampled; validated += other.validated
            replicas += 1
        }
        let sums = try engine.store.agreementSums(version: s.activeVersion)
        let interval = sums.estimate.flatMap { ConfidenceInterval.wilson(estimate: $0, trials: sums.effectiveCount, level: spec.validation.confidence) }
        return .object([
            ("replica", JSON(replica)), ("leader", (try engine.store.leader()).map { JSON($0) } ?? .null),
            ("this_replica_leads", .bool(engine.isLeader)), ("replicas", .number(Double(replicas))),
            ("requests", .number(Double(requests))), ("sampled", .number(Double(sampled))), ("validated", .number(Double(validated))),
            ("active_version", .number(Double(s.activeVersion))),
            ("agreement", sums.estimate.map { .number($0) } ?? .null), ("agreement_lower", interval.map { .number($0.lower) } ?? .null),
            ("agreement_validations", .number(Double(sums.count))),
            ("oracle_calls_elsewhere", .number(Double(engine.oracleCallsElsewhere))),
        ])
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
