import Foundation
import Hummingbird
import CThreadAffinity
import LoopApp
import LoopData
import LoopRuntime
import LoopStore
import NIOCore
import NIOPosix
import Synchronization

/// `loopai serve`: the tasks' engines behind HTTP/1.1 (Hummingbird).
public final class LoopServer: Sendable {
    let config: ServeConfig
    let tasks: [String: ServedTask]
    let order: [String]
    let metrics = ServeMetrics()
    let adminToken: String?
    let clientToken: String?
    let log: @Sendable (String) -> Void
    /// Ids for requests that come without one: a per-process prefix of 8 characters and a
    /// counter, both in base 36 (`k3x9a0pq-1a`): up to 15 bytes, which Swift keeps without
    /// allocating, until the counter passes 2 billion.
    let idPrefix = String(UInt64.random(in: 78_364_164_096..<2_821_109_907_456), radix: 36)   // 36^7 ..< 36^8
    let idCounter = Atomic<Int>(0)

    func madeId(_ n: Int) -> String { SpanBatch.madeId(idPrefix, n) }
    /// `idPrefix` and its dash, as bytes.
    let idPrefixBytes: [UInt8]
    /// Whether the classify endpoints are answered on the event loop (`ClassifyChannelHandler`);
    /// `LOOPAI_CLASSIFY_PATH=route` sends them through Hummingbird's route instead (for comparisons).
    let classifyOnEventLoop = ProcessInfo.processInfo.environment["LOOPAI_CLASSIFY_PATH"] != "route"

    /// Runs Swift concurrency on the NIO event loops, so a request does not hop between threads.
    /// Call once, before any task starts (`loopai serve` does).
    public static func prepareProcess() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        // The event loops' threads start now, from this thread: a thread inherits its creator's
        // nice value and CPUs, and the control threads (made with the tasks) run at a lower
        // priority (`ControlThread.defaultNice`).
        _ = MultiThreadedEventLoopGroup.singleton.next()
    }

    /// Loads every task (checks and compiles its active program, resuming its run from the store).
    public init(config: ServeConfig, log: @escaping @Sendable (String) -> Void) throws {
        try config.validate()
        self.config = config
        self.log = log
        adminToken = try Token.load(env: config.adminTokenEnv, file: config.adminTokenFile)
        clientToken = try Token.load(env: config.clientTokenEnv, file: config.clientTokenFile)
        var tasks: [String: ServedTask] = [:]
        var order: [String] = []
        for e in config.tasks {
            let t = try ServedTask(entry: e, config: config, metrics: metrics, log: log)
            guard tasks[t.name] == nil else { throw AppError("two task files are named \(t.name); each served task needs its own name", code: 2) }
            tasks[t.name] = t
            order.append(t.name)
        }
        self.tasks = tasks
        self.order = order
        idPrefixBytes = Array((idPrefix + "-").utf8)
    }

    /// Serves until SIGTERM or SIGINT, then drains the requests in flight and commits every
    /// task's queued samples.
    public func run() async throws {
        // The runners start their threads first: a thread started from a pinned one keeps its CPU.
        for t in tasks.values { t.runner.start() }
        if config.pinEventLoops { await pinEventLoops() }
        if ProcessInfo.processInfo.environment["LOOPAI_BENCH_ROUTES"] == "1" { log("benchmark routes on: POST /bench/echo") }
        let app = Application(responder: Responder(server: self, router: router().buildResponder()),
                              server: ServeChannel.builder(self),
                              configuration: .init(address: .hostname(config.host, port: config.port), serverName: LoopServer.serverName),
                              onServerRunning: { [log, config, order] channel in
                                  let port = channel.localAddress?.port ?? config.port
                                  log("listening on http://\(config.host):\(port) (tasks: \(order.joined(separator: ", ")))")
                              },
                              logger: ServerLogHandler.logger(log))
        do { try await app.runService() } catch { log("the server stopped: \(error)") }
        stop()
    }

    /// Pins each event loop (the threads that answer requests) to a CPU of its own. On a small
    /// machine shared with its clients, an unpinned loop woken by a request tends to be queued
    /// behind another thread while a core is idle (Docs/performance.md).
    func pinEventLoops() async {
        var pinned: [Int32] = []
        for (i, loop) in MultiThreadedEventLoopGroup.singleton.makeIterator().enumerated() {
            pinned.append((try? await loop.submit { loopai_pin_this_thread(Int32(i)) }.get()) ?? -1)
        }
        if pinned.contains(where: { $0 < 0 }) {
            log("--pin-event-loops: the system refused to pin some event loops (CPUs: \(pinned.map { $0 < 0 ? "none" : String($0) }.joined(separator: ", "))); those run unpinned")
        } else {
            log("event loops pinned to CPUs \(pinned.map(String.init).joined(separator: ", "))")
        }
    }

    /// Validates and commits what every task has queued.
    public func stop() {
        for name in order {
            let t = tasks[name]!
            t.runner.stop()
            let s = t.runner.status.current
            log("\(name): stopped at request \(s.requests) (\(s.validated) validated, \(s.dropped) samples dropped), v\(s.activeVersion) active")
        }
    }

    // MARK: Routes

    func router() -> Router<BasicRequestContext> {
        let r = Router(context: BasicRequestContext.self)
        r.add(middleware: JSONErrors())
        r.get("/healthz") { _, _ in API.json(.object([("status", JSON("ok"))])) }
        r.get("/readyz") { [self] _, _ in
            // Every task's program was compiled before the server started listening.
            API.json(.object([("status", JSON("ready")), ("tasks", .array(order.map { JSON($0) }))]))
        }
        r.get("/metrics") { [self] _, _ in
            for name in order {
                let t = tasks[name]!
                metrics.update(task: name, state: t.runner.status.current, live: t.engine.liveCounts,
                               stepFailures: t.runner.stepFailures.current, confidence: t.spec.validation.confidence)
            }
            return API.bytes(metrics.text(), type: "text/plain; version=0.0.4; charset=utf-8")
        }
        r.get("/") { [self] _, _ in API.text(Dashboard.page(tasks: order), type: "text/html; charset=utf-8") }
        if ProcessInfo.processInfo.environment["LOOPAI_BENCH_ROUTES"] == "1" {
            // The baseline of Benchmarks/serve.sh: decode the same JSON body, answer two fields.
            r.post("/bench/echo") { request, _ in
                var req = request
                let buffer = try await req.collectBody(upTo: 1 << 20)
                let body = (try? JSONParser.parse(Array(buffer.readableBytesView))) ?? .null
                return API.json(.object([("label", JSON("ham")), ("length", .number(Double(body["text"]?.string?.utf8.count ?? 0)))]))
            }
        }
        r.get("/v1/tasks") { [self] request, context in
            try await guarded(context) { [self] in
                try authorizeReader(request)
                return API.json(.object([("tasks", .array(order.map { summary(tasks[$0]!) }))]))
            }
        }
        r.get("/v1/tasks/:task") { [self] request, context in
            try await guarded(context) { [self] in try authorizeReader(request); let t = try task(context); return API.json(detail(t)) }
        }
        r.get("/v1/tasks/:task/dashboard") { [self] request, context in
            try await guarded(context) { [self] in
                try authorizeReader(request)
                let t = try task(context)
                return API.text(Dashboard.fragment(t), type: "text/html; charset=utf-8")
            }
        }
        // The request path: also taken before the router (`Responder`), these are its slow way in.
        r.post("/v1/tasks/:task/classify") { [self] request, context in
            try await classifyEndpoint(context.parameters.get("task") ?? "", request, batch: false)
        }
        r.post("/v1/tasks/:task/classify/batch") { [self] request, context in
            try await classifyEndpoint(context.parameters.get("task") ?? "", request, batch: true)
        }
        r.post("/v1/tasks/:task/feedback") { [self] request, context in
            try await guardedAsync(context) {
                try authorizeClient(request)
                let t = try task(context)
                let body = try await API.body(request, limit: config.maxBodyBytes)
                return try await feedback(t, body)
            }
        }
        // Admin.
        for action in ["promote", "rollback", "pause", "resume"] {
            r.post("/v1/tasks/:task/\(action)") { [self] request, context in
                try await guardedAsync(context) {
                    try authorizeAdmin(request)
                    let t = try task(context)
                    return try await admin(t, action)
                }
            }
        }
        r.get("/v1/tasks/:task/versions") { [self] request, context in
            try await guarded(context) { [self] in
                try authorizeAdmin(request)
                let t = try task(context)
                let versions = try t.engine.store.versions()
                return API.json(.object([("versions", .array(versions.map { versionJSON($0, source: false) }))]))
            }
        }
        r.get("/v1/tasks/:task/versions/:id") { [self] request, context in
            try await guarded(context) { [self] in
                try authorizeAdmin(request)
                let t = try task(context)
                guard let id = context.parameters.get("id").flatMap({ Int64($0.hasPrefix("v") ? String($0.dropFirst()) : $0) }) else {
                    throw API.Refusal(.badRequest, "invalid_request", "a version is a number (or vN)")
                }
                guard let v = try t.engine.store.version(id: id) else { throw API.Refusal(.notFound, "not_found", "task \(t.name) has no version \(id)") }
                return API.json(versionJSON(v, source: true))
            }
        }
        r.get("/v1/tasks/:task/escalations") { [self] request, context in
            try await guarded(context) { [self] in
                try authorizeAdmin(request)
                let t = try task(context)
                let list = try t.engine.store.escalations()
                return API.json(.object([("escalations", .array(list.map { escalationJSON($0, ticket: false) }))]))
            }
        }
        r.get("/v1/tasks/:task/escalations/:id") { [self] request, context in
            try await guarded(context) { [self] in
                try authorizeAdmin(request)
                let t = try task(context)
                let e = try escalation(t, context.parameters.get("id"))
                return API.json(escalationJSON(e, ticket: true))
            }
        }
        r.post("/v1/tasks/:task/escalations/:id/resolve") { [self] request, context in
            try await guardedAsync(context) {
                try authorizeAdmin(request)
                let t = try task(context)
                let ref = context.parameters.get("id")
                let e = try await offLoop { try self.escalation(t, ref) }
                let body = try await API.body(request, limit: config.maxBodyBytes)
                guard let source = body["program"]?.string else {
                    throw API.Refusal(.badRequest, "invalid_request", "the body is {\"program\": \"...the edited .loop source...\", \"dry_run\": false, \"force\": false}")
                }
                let dry = body["dry_run"]?.bool ?? false, force = body["force"]?.bool ?? false
                let id = e.id!
                let result: (comparison: EscalationResolution.Comparison, versionId: Int64?)
                do { result = try await t.runner.perform { try $0.resolveEscalation(id, source: source, force: force, dryRun: dry) } }
                catch let err as ProgramError { throw API.Refusal(.unprocessableContent, "program_does_not_check", "\(err)") }
                catch let err as LoopError { throw API.Refusal(.conflict, "conflict", "\(err)") }
                let c = result.comparison
                return API.json(.object([
                    ("escalation", API.int64(id)), ("dry_run", .bool(dry)),
                    ("validations", API.int(c.total)), ("edited_right", API.int(c.editedRight)), ("active_right", API.int(c.activeRight)),
                    ("version", result.versionId.map { API.int64($0) } ?? .null),
                ]))
            }
        }
        return r
    }

    // MARK: Handlers

    func task(_ context: BasicRequestContext) throws -> ServedTask {
        try task(named: context.parameters.get("task") ?? "")
    }

    func task(named name: String) throws -> ServedTask {
        guard let t = tasks[name] else {
            throw API.Refusal(.notFound, "unknown_task", "no task named `\(name)` is served here (tasks: \(order.joined(separator: ", ")))")
        }
        return t
    }

    func authorizeClient(_ request: Request) throws {
        guard let clientToken else { return }
        guard Token.matches(request.headers[.authorization], clientToken) else {
            throw API.Refusal(.unauthorized, "unauthorized", "this endpoint needs `Authorization: Bearer TOKEN` (the client token)")
        }
    }

    /// Status and the dashboard show the programs: with a client token, they need it (or the admin one).
    func authorizeReader(_ request: Request) throws {
        guard let clientToken else { return }
        let header = request.headers[.authorization]
        guard Token.matches(header, clientToken) || (adminToken.map { Token.matches(header, $0) } ?? false) else {
            throw API.Refusal(.unauthorized, "unauthorized", "this endpoint needs `Authorization: Bearer TOKEN` (the client or the admin token)")
        }
    }

    func authorizeAdmin(_ request: Request) throws {
        guard let adminToken else {
            throw API.Refusal(.forbidden, "admin_disabled", "admin endpoints are disabled: start the server with an admin token (\(config.adminTokenEnv), or admin_token_file)")
        }
        guard Token.matches(request.headers[.authorization], adminToken) else {
            throw API.Refusal(.unauthorized, "unauthorized", "this endpoint needs `Authorization: Bearer TOKEN` (the admin token)")
        }
    }

    func feedback(_ t: ServedTask, _ body: JSON) async throws -> Response {
        guard let label = body["label"]?.string else {
            throw API.Refusal(.badRequest, "invalid_request", "the body is {\"id\": \"...\", \"label\": \"...\"} (or \"input\" instead of \"id\" for a request this server no longer remembers)")
        }
        var input: JSON
        var programLabel: String? = nil
        if let given = body["input"] {
            input = try programInput(t, given.removing(t.labelField.map { [$0] } ?? []))
        } else if let id = try body["id"].map(requestId) {
            guard let r = t.runner.recentRequest(id) else {
                throw API.Refusal(.notFound, "unknown_request", "request `\(id)` is not among the recent requests of task \(t.name); send its \"input\" with the label")
            }
            input = r.input
            programLabel = r.answer.label
        } else {
            throw API.Refusal(.badRequest, "invalid_request", "feedback names the request (\"id\") or repeats its \"input\"")
        }
        let (given, answered) = (input, programLabel)
        do { try await t.runner.perform { try $0.recordFeedback(input: given, label: label, programLabel: answered) } }
        catch let e as LoopError { throw API.Refusal(.unprocessableContent, "invalid_label", "\(e)") }
        let stored = t.spec.labelIdentifier(label).map(t.spec.answerName) ?? label
        return API.json(.object([("stored", .bool(true)), ("label", JSON(stored)), ("program", programLabel.map { JSON(t.spec.answerName($0)) } ?? .null)]))
    }

    func admin(_ t: ServedTask, _ action: String) async throws -> Response {
        do {
            switch action {
            case "promote":
                let v = try await t.runner.perform { try $0.forcePromote() }
                return API.json(.object([("active_version", API.int64(v))]))
            case "rollback":
                let v = try await t.runner.perform { try $0.rollback() }
                return API.json(.object([("active_version", API.int64(v))]))
            default:
                let pause = action == "pause"
                try await t.runner.perform { try $0.setPaused(pause) }
                return API.json(.object([("paused", .bool(pause))]))
            }
        } catch let e as LoopError { throw API.Refusal(.conflict, "conflict", "\(e)") }
    }

    func escalation(_ t: ServedTask, _ ref: String?) throws -> Escalation {
        guard let id = ref.flatMap({ Int64($0.hasPrefix("ESC-") ? String($0.dropFirst(4)) : $0) }) else {
            throw API.Refusal(.badRequest, "invalid_request", "an escalation is a number (or ESC-N)")
        }
        guard let e = try t.engine.store.escalation(id: id) else { throw API.Refusal(.notFound, "not_found", "task \(t.name) has no escalation \(id)") }
        return e
    }

    // MARK: JSON views

    func summary(_ t: ServedTask) -> JSON {
        let s = t.runner.status.current
        return .object([
            ("task", JSON(t.name)), ("active_version", API.int64(s.activeVersion)),
            ("candidate", s.candidate.map { .object([("version", API.int64($0.versionId)), ("stage", JSON($0.stage.rawValue)), ("share", .number($0.share))]) } ?? .null),
            ("requests", API.int(t.engine.requestCount)), ("agreement", API.number(s.agreement.estimate)),
            ("open_escalations", API.int((try? t.engine.store.escalations(status: .open).count) ?? 0)),
        ])
    }

    func detail(_ t: ServedTask) -> JSON {
        let s = t.runner.status.current
        let live = t.engine.liveCounts
        let report = t.report()
        let interval = report.interval
        let recent = s.sampler.recent
        let need = max(0, t.engine.settings.minValidations - recent.count)
        let waiting: String? = s.candidate == nil && need > 0
            ? "waiting for \(need) more validation(s) before the agreement triggers can act (they need \(t.engine.settings.minValidations) in the window)" : nil
        var fields: [(String, JSON)] = [
            ("task", JSON(t.name)),
            ("active_version", API.int64(s.activeVersion)),
            ("candidate", s.candidate.map { c in .object([("version", API.int64(c.versionId)), ("stage", JSON(c.stage.rawValue)), ("share", .number(c.share)),
                                                          ("since_request", API.int(c.since)), ("why", JSON(c.why))]) } ?? .null),
            ("paused", .bool(s.paused)),
            ("requests", API.int(live.requests)), ("sampled", API.int(live.sampled)), ("validated", API.int(s.validated)),
            ("unvalidated", API.int(live.unvalidated)), ("dropped", API.int(live.dropped)), ("queue_depth", API.int(live.queued)),
            ("agreement", API.number(s.agreement.estimate)), ("agreement_lower", API.number(interval?.lower)), ("agreement_upper", API.number(interval?.upper)),
            ("sampling_rate_configured", .number(s.sampler.configuration.rate)), ("sampling_rate_realized", .number(s.sampler.meanProbability)),
            ("cost", .number(report.totalCost)), ("all_llm_cost", .number(s.allLLMCost)),
            ("feedback", API.int(s.feedback)),
            ("open_escalations", .array(((try? t.engine.store.escalations(status: .open)) ?? []).map { escalationJSON($0, ticket: false) })),
            ("waiting", waiting.map { JSON($0) } ?? .null),
            ("report", report.json),
        ]
        // Replicas sharing a store: the same figures for the whole task, and who leads it.
        if let wide = try? t.taskWide() { fields.append(("task_wide", wide)) }
        fields.append(("events", .array(s.events.suffix(50).map { e in
            .object([("requests", API.int(e.requests)), ("version", e.versionId.map { API.int64($0) } ?? .null), ("kind", JSON(e.kind)), ("detail", JSON(e.detail))])
        })))
        return .object(fields)
    }

    func versionJSON(_ v: ProgramVersion, source: Bool) -> JSON {
        var f: [(String, JSON)] = [("version", API.int64(v.id ?? 0)), ("status", JSON(v.status.rawValue)), ("parent", v.parentId.map { API.int64($0) } ?? .null),
                                   ("provenance", JSON(v.provenance)), ("created_at", .number(v.createdAt)), ("canary_share", .number(v.canaryShare)),
                                   ("note", v.note.map { JSON($0) } ?? .null), ("hash", JSON(v.hash))]
        if source { f.append(("source", JSON(v.source))) }
        return .object(f)
    }

    func escalationJSON(_ e: Escalation, ticket: Bool) -> JSON {
        var f: [(String, JSON)] = [("id", API.int64(e.id ?? 0)), ("status", JSON(e.status.rawValue)), ("reason", JSON(e.reason)),
                                   ("created_at", .number(e.createdAt))]
        if ticket {
            f.append(("ticket_markdown", JSON(e.ticketMarkdown)))
            f.append(("ticket", (try? JSONParser.parse(e.ticketJSON)) ?? .null))
        }
        return .object(f)
    }

    // MARK: Refusals

    func refused(_ context: BasicRequestContext, _ r: API.Refusal) {
        refused(task: context.parameters.get("task") ?? "", r)
    }

    func refused(task name: String, _ r: API.Refusal) {
        metrics.error(task: tasks[name] == nil ? "" : name, kind: r.code)
    }

    /// Runs a handler that reads the store off the event loop (a PostgreSQL store blocks its
    /// caller on the network; an event loop must never wait), and turns refusals into answers.
    func guarded(_ context: BasicRequestContext, _ body: @escaping @Sendable () throws -> Response) async throws -> Response {
        do { return try await offLoop(body) }
        catch let r as API.Refusal { refused(context, r); return r.response }
        catch { log("internal error: \(error)"); return API.error(.internalServerError, "internal", "\(error)") }
    }

    /// Runs a store read off the event loop, from an async handler.
    func offLoop<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            Self.storeReaders.async {
                // A pool thread started from a pinned event loop would keep that loop's one CPU.
                if self.config.pinEventLoops { _ = loopai_unpin_this_thread() }
                c.resume(with: Result { try body() })
            }
        }
    }

    /// Where store-reading handlers run.
    static let storeReaders = DispatchQueue(label: "loopai.store-readers", qos: .userInitiated, attributes: .concurrent)

    func guardedAsync(_ context: BasicRequestContext, _ body: () async throws -> Response) async throws -> Response {
        try await guardedAsync(task: context.parameters.get("task") ?? "", body)
    }

    func guardedAsync(task name: String, _ body: () async throws -> Response) async throws -> Response {
        do { return try await body() } catch { return failure(task: name, error).response }
    }

    /// What a request that failed answers, on either path: a refusal as it is (counted in the
    /// metrics); anything else is an internal error, logged and answered with a 500.
    func failure(task name: String, _ error: Error) -> API.Refusal {
        if let r = error as? API.Refusal { refused(task: name, r); return r }
        log("internal error: \(error)")
        return API.Refusal(.internalServerError, "internal", "\(error)")
    }
}

/// Refusals that Hummingbird makes itself (no route, a body over its own limit) answer with the
/// same JSON error body as every other refusal.
struct JSONErrors: RouterMiddleware {
    typealias Context = BasicRequestContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) }
        catch let e as HTTPError {
            if e.status == .notFound { return API.error(.notFound, "not_found", "no endpoint \(request.method) \(request.uri.path) (see Docs/openapi.yaml)") }
            return API.error(e.status, "http_error", e.body ?? e.status.reasonPhrase)
        } catch let e as HTTPResponseError {
            return API.error(e.status, "http_error", e.status.reasonPhrase)
        }
    }
}

