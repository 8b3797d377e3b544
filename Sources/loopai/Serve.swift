import ArgumentParser
import Foundation
import LoopApp
import LoopServe

/// `loopai serve`: answers an application's requests over HTTP while validation, improvement and
/// rollout run in the background.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve tasks over HTTP: answers from the compiled program, validation and improvement in the background.",
        discussion: """
        Every task's program comes from its store (the active version), --program, or the task's generator. \
        Requests are answered from native code; a sample is validated by the oracle (llm, or labels:FIELD read \
        from each request and removed before the program sees it), and candidates are generated, tried in \
        shadow and canary, promoted or rolled back, and escalated, as in `loopai loop`. Stores are SQLite files \
        in --store (one per task); a restart resumes every task. SIGTERM drains requests in flight and commits \
        the queued samples. Admin endpoints need a bearer token from $LOOPAI_ADMIN_TOKEN (or admin_token_file \
        in the configuration). See Docs/serve.md and Docs/openapi.yaml.
        """)

    @Option(help: "A YAML configuration (host, port, store, tasks, tokens, limits); flags override it.")
    var config: String?

    @Option(help: "A task file to serve (repeat for several tasks).")
    var task: [String] = []

    @Option(help: "The oracle of the --task tasks: llm, or labels:FIELD (the true label is a field of each request).")
    var oracle: String?

    @Option(help: "Generator of the --task tasks: auto, llm, induce or hybrid (default: each task's).")
    var generator: Generate.Generator?

    @Option(help: "Start from this program when the store has no active version (with one --task).")
    var program: String?

    @Option(help: "Address to listen on.")
    var host: String?

    @Option(help: "Port to listen on (0: any free port; the chosen one is printed).")
    var port: Int?

    @Option(help: "Directory of the stores (one SQLite file per task) and escalation tickets (default: .loopai), or a PostgreSQL URL (postgres://USER@HOST:PORT/DB, password from PGPASSWORD) shared by replicas.")
    var store: String?

    @Option(help: "This server's name among replicas sharing a PostgreSQL store (default: HOST:PORT).")
    var replica: String?

    @Option(help: "Seconds a task's leadership lasts unrenewed (how soon a replica replaces a dead leader).")
    var leaseSeconds: Double?

    @Option(help: "Seconds between validation commits.")
    var commitInterval: Double?

    @Option(help: "Samples waiting for validation per task, at most; beyond it they are dropped and counted.")
    var queueCapacity: Int?

    @Option(help: "Largest request body in bytes.")
    var maxBody: Int?

    @Option(help: "Most inputs in one batch request.")
    var maxBatch: Int?

    @Option(help: "Samples per validation commit (a commit also happens every --commit-interval).")
    var batch: Int?

    @Flag(help: "Pin each event loop to a CPU of its own (for a server that has the machine or a cpuset to itself).")
    var pinEventLoops = false

    @Option(help: "Seconds a connection may stay idle before it is closed.")
    var idleTimeout: Double?

    @OptionGroup var llm: LLMOptions

    func run() throws {
        var c = try config.map { try ServeConfig.load(path: $0) } ?? ServeConfig()
        if program != nil && task.count != 1 { throw CLIError("--program goes with exactly one --task", code: 2) }
        for t in task {
            var e = ServeConfig.TaskEntry(task: t)
            if let oracle { e.oracle = oracle }
            e.generator = generator.flatMap { GeneratorChoice(rawValue: $0.rawValue) }
            e.program = program
            c.tasks.append(e)
        }
        if task.isEmpty {
            for i in c.tasks.indices {
                if let oracle { c.tasks[i].oracle = oracle }
                if let g = generator { c.tasks[i].generator = GeneratorChoice(rawValue: g.rawValue) }
            }
        }
        if let batch { c.batchSize = batch }
        if let idleTimeout {
            guard idleTimeout > 0 else { throw CLIError("--idle-timeout is a positive number of seconds", code: 2) }
            c.idleTimeout = idleTimeout
        }
        if let host { c.host = host }
        if let port { c.port = port }
        if let store { c.store = store }
        if let replica { c.replica = replica }
        if let leaseSeconds {
            guard leaseSeconds >= 1 else { throw CLIError("--lease-seconds is at least 1", code: 2) }
            c.leaseSeconds = leaseSeconds
        }
        if let commitInterval { c.commitInterval = commitInterval }
        if let queueCapacity { c.queueCapacity = queueCapacity }
        if let maxBody { c.maxBodyBytes = maxBody }
        if let maxBatch { c.maxBatch = maxBatch }
        if pinEventLoops { c.pinEventLoops = true }
        c.llm = llm.settings
        // Requests run on the NIO event loops instead of hopping to Swift's global executor.
        LoopServer.prepareProcess()
        let log: @Sendable (String) -> Void = { printErr("serve: " + $0) }
        let server = try LoopServer(config: c, log: log)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do { try await server.run() } catch { log("\(error)") }
            done.signal()
        }
        done.wait()
    }
}
