import Foundation
import LoopApp
import Yams

/// What `loopai serve` runs: from `--config serve.yaml`, or from flags (`--task`, `--port`, ...).
public struct ServeConfig: Sendable {
    public struct TaskEntry: Sendable {
        /// The task file.
        public var task: String
        /// `llm`, or `labels:FIELD` (the field is read from each request and removed before the
        /// program sees the input).
        public var oracle = "llm"
        public var generator: GeneratorChoice?
        /// Start from this program when the store has no active version.
        public var program: String?
        /// Labeled examples for the first program (default: the task's data).
        public var examples: String?
        public init(task: String) { self.task = task }
    }

    public var host = "127.0.0.1"
    /// 0 picks a free port (printed on standard error when listening).
    public var port = 8080
    /// A directory: one SQLite store per task (TASK.sqlite), escalation tickets in escalations/.
    /// Or a PostgreSQL URL (postgres://USER@HOST:PORT/DB): one database shared by every task and
    /// by several replicas (Docs/scale.md); escalation tickets then go to .loopai/escalations/.
    public var store = ".loopai"
    /// This server's name among replicas sharing a PostgreSQL store (default: HOST:PORT).
    public var replica: String?
    /// Seconds a leader's lease lasts unrenewed: how long a dead leader's tasks wait for a successor.
    public var leaseSeconds = 5.0
    public var tasks: [TaskEntry] = []
    /// Admin endpoints need `Authorization: Bearer TOKEN`; the token comes from this environment
    /// variable or this owner-only file. Without one, admin endpoints are refused.
    public var adminTokenEnv = "LOOPAI_ADMIN_TOKEN"
    public var adminTokenFile: String?
    /// Classify and feedback endpoints need a token too when one is configured.
    public var clientTokenEnv = "LOOPAI_CLIENT_TOKEN"
    public var clientTokenFile: String?
    public var maxBodyBytes = 4 * 1024 * 1024
    public var maxBatch = 10_000
    /// Seconds between control steps (validation commits); a step also starts once a batch of samples waits.
    public var commitInterval = 0.25
    /// Samples waiting for validation per task, at most (beyond it they are dropped and counted).
    public var queueCapacity = 10_000
    /// Samples per committed batch.
    public var batchSize = 100
    /// Seconds a connection may stay idle (nothing read or written) before it is closed.
    public var idleTimeout = 60.0
    /// Each event loop on a CPU of its own (of those the process may use): for a server that has
    /// the machine, or a cpuset, to itself (Docs/serve.md).
    public var pinEventLoops = false
    public var llm = LLMSettings()

    public init() {}

    /// Reads a YAML configuration; relative paths in it are relative to the file.
    public static func load(path: String) throws -> ServeConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw AppError("cannot read \(path): \(error.localizedDescription)", code: 2) }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw AppError("\(path): not valid YAML: \(error)", code: 2) }
        guard let map = node?.mapping else { throw AppError("\(path): expected a mapping with `tasks:` at the top", code: 2) }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String { p.hasPrefix("/") || base.isEmpty ? p : base + "/" + p }
        var c = ServeConfig()
        let known: Set<String> = ["host", "port", "store", "tasks", "admin_token_env", "admin_token_file", "client_token_env", "client_token_file",
                                  "max_body_bytes", "max_batch", "commit_interval", "queue_capacity", "batch_size", "idle_timeout",
                                  "replica", "lease_seconds", "pin_event_loops"]
        for (k, v) in map {
            guard let key = k.string else { continue }
            let at = "\(path):\(k.mark.map { "\($0.line):\($0.column)" } ?? "?")"
            guard known.contains(key) else { throw AppError("\(at): unknown key `\(key)` (known: \(known.sorted().joined(separator: ", ")))", code: 2) }
            func str() throws -> String { guard let s = v.string else { throw AppError("\(at): `\(key)` is a string", code: 2) }; return s }
            func int() throws -> Int { guard let s = v.int else { throw AppError("\(at): `\(key)` is a whole number", code: 2) }; return s }
            switch key {
            case "host": c.host = try str()
            case "port": c.port = try int()
            case "store": let s = try str(); c.store = TaskAssembly.isSharedStore(s) ? s : resolve(s)
            case "replica": c.replica = try str()
            case "lease_seconds":
                guard let d = v.float, d >= 1 else { throw AppError("\(at): `lease_seconds` is a number of seconds, at least 1", code: 2) }
                c.leaseSeconds = d
            case "admin_token_env": c.adminTokenEnv = try str()
            case "admin_token_file": c.adminTokenFile = resolve(try str())
            case "client_token_env": c.clientTokenEnv = try str()
            case "client_token_file": c.clientTokenFile = resolve(try str())
            case "max_body_bytes": c.maxBodyBytes = try int()
            case "max_batch": c.maxBatch = try int()
            case "queue_capacity": c.queueCapacity = try int()
            case "batch_size": c.batchSize = try int()
            case "pin_event_loops":
                guard let b = v.bool else { throw AppError("\(at): `pin_event_loops` is true or false", code: 2) }
                c.pinEventLoops = b
            case "idle_timeout":
                guard let d = v.float, d > 0 else { throw AppError("\(at): `idle_timeout` is a positive number of seconds", code: 2) }
                c.idleTimeout = d
            case "commit_interval":
                guard let d = v.float else { throw AppError("\(at): `commit_interval` is a number of seconds", code: 2) }
                c.commitInterval = d
            case "tasks":
                guard let seq = v.sequence else { throw AppError("\(at): `tasks` is a list", code: 2) }
                for item in seq {
                    let tat = "\(path):\(item.mark.map { "\($0.line):\($0.column)" } ?? "?")"
                    if let s = item.string { c.tasks.append(TaskEntry(task: resolve(s))); continue }
                    guard let m = item.mapping, let t = m["task"]?.string else { throw AppError("\(tat): a task is a path, or a mapping with `task:`", code: 2) }
                    var e = TaskEntry(task: resolve(t))
                    for (tk, tv) in m {
                        guard let name = tk.string else { continue }
                        switch name {
                        case "task": break
                        case "oracle": e.oracle = tv.string ?? e.oracle
                        case "generator":
                            guard let g = tv.string.flatMap(GeneratorChoice.init(rawValue:)) else {
                                throw AppError("\(tat): `generator` is one of \(GeneratorChoice.allCases.map(\.rawValue).joined(separator: ", "))", code: 2)
                            }
                            e.generator = g
                        case "program": e.program = tv.string.map(resolve)
                        case "examples": e.examples = tv.string.map(resolve)
                        default: throw AppError("\(tat): unknown task key `\(name)` (known: task, oracle, generator, program, examples)", code: 2)
                        }
                    }
                    c.tasks.append(e)
                }
            default: break
            }
        }
        try c.validate()
        return c
    }

    public func validate() throws {
        if tasks.isEmpty { throw AppError("no task to serve: give --task FILE (or `tasks:` in the configuration)", code: 2) }
        if !(0...65535).contains(port) { throw AppError("the port is 0–65535, not \(port)", code: 2) }
        if maxBodyBytes < 64 { throw AppError("max_body_bytes is at least 64", code: 2) }
        if maxBatch < 1 { throw AppError("max_batch is at least 1", code: 2) }
        if queueCapacity < 1 { throw AppError("queue_capacity is at least 1", code: 2) }
        if batchSize < 1 { throw AppError("batch_size is at least 1", code: 2) }
        if !(commitInterval > 0) { throw AppError("commit_interval is a positive number of seconds", code: 2) }
        for t in tasks where !(t.oracle == "llm" || (t.oracle.hasPrefix("labels:") && t.oracle.count > 7)) {
            throw AppError("\(t.task): the oracle is llm or labels:FIELD, not \(t.oracle)", code: 2)
        }
    }
}

/// A bearer token from an environment variable or an owner-only file (never logged).
enum Token {
    static func load(env: String, file: String?) throws -> String? {
        if let file {
            var st = stat()
            guard stat(file, &st) == 0 else { throw AppError("cannot read the token file \(file)", code: 2) }
            if st.st_mode & 0o077 != 0 { throw AppError("the token file \(file) can be read by others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it", code: 2) }
            guard let t = try? String(contentsOfFile: file, encoding: .utf8) else { throw AppError("cannot read the token file \(file)", code: 2) }
            let token = t.trimmingCharacters(in: .whitespacesAndNewlines)
            if token.isEmpty { throw AppError("the token file \(file) is empty", code: 2) }
            return token
        }
        if let t = ProcessInfo.processInfo.environment[env], !t.isEmpty { return t }
        return nil
    }

    /// Compares in time independent of where the first difference is.
    static func matches(_ header: String?, _ token: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.utf8.dropFirst(7)), want = Array(token.utf8)
        var diff = UInt8(given.count == want.count ? 0 : 1)
        for i in 0..<want.count { diff |= want[i] ^ (i < given.count ? given[i] : 0) }
        return diff == 0
    }
}
