import Foundation
import Hummingbird
import LoopApp
import LoopData
import LoopRuntime
import LoopStore
import NIOCore
import NIOPosix

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
    let idCounter = Locked(0)

    func madeId(_ n: Int) -> String { idPrefix + "-" + String(n, radix: 36) }

    /// Runs Swift concurrency on the NIO event loops, so a request does not hop between threads.
    /// Call once, before any task starts (`loopai serve` does).
    public static func prepareProcess() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
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
            let t = try ServedTask(entry: e, config: config, log: log)
            guard tasks[t.name] == nil else { throw AppError("two task files are named \(t.name); each served task needs its own name", code: 2) }
            tasks[t.name] = t
            order.append(t.name)
        }
        self.tasks = tasks
        self.order = order
    }

    /// Serves until SIGTERM or SIGINT, then drains the requests in flight and commits every
    /// task's queued samples.
    public func run() async throws {
        for t in tasks.values { t.runner.start() }
        if ProcessInfo.processInfo.environment["LOOPAI_BENCH_ROUTES"] == "1" { log("benchmark routes on: POST /bench/echo") }
        let app = Application(router: router(),
                              server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(config.idleTimeout * 1000)))),
                              configuration: .init(address: .hostname(config.host, port: config.port), serverName: "loopai"),
                              onServerRunning: { [log, config, order] channel in
                                  let port = channel.localAddress?.port ?? config.port
                                  log("listening on http://\(config.host):\(port) (tasks: \(order.joined(separator: ", ")))")
                              })
        do { try await app.runService() } catch { log("the server stopped: \(error)") }
        stop()
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
        r.post("/v1/tasks/:task/classify") { [self] request, context in
            try await guardedAsync(context) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try authorizeClient(request)
                let t = try task(context)
                let body = try await API.body(request, limit: config.maxBodyBytes)
                let (answer, _) = try classify(t, body)
                let response = API.json(answer)
                metrics.latency(task: t.name, nanoseconds: DispatchTime.now().uptimeNanoseconds - t0)
                return response
            }
        }
        r.post("/v1/tasks/:task/classify/batch") { [self] request, context in
            try await guardedAsync(context) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try authorizeClient(request)
                let t = try task(context)
                let bytes = try await API.bodyBytes(request, limit: config.maxBodyBytes)
                if let spans = spanBatch(t, bytes), let served = t.runner.serveSpans(spans) {
                    let response = API.bytes(answerSpans(t, spans, served), type: API.jsonType)
                    metrics.latency(task: t.name, nanoseconds: DispatchTime.now().uptimeNanoseconds - t0, batch: true)
                    return response
                }
                // Any other body (an input refused, a value the scan does not read): the full parser.
                let body = try API.parse(bytes)
                guard case .array(let inputs)? = body["inputs"] else {
                    throw API.Refusal(.badRequest, "invalid_request", "the body is {\"inputs\": [...]}: a list of inputs")
                }
                guard inputs.count <= config.maxBatch else {
                    throw API.Refusal(.contentTooLarge, "batch_too_large", "\(inputs.count) inputs; a batch holds at most \(config.maxBatch)")
                }
                let response = API.bytes(answerBatch(t, prepareBatch(t, inputs)), type: API.jsonType)
                metrics.latency(task: t.name, nanoseconds: DispatchTime.now().uptimeNanoseconds - t0, batch: true)
                return response
            }
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
        let name = context.parameters.get("task") ?? ""
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

    /// Classifies one request body; refusals are thrown (the batch endpoint answers them inline).
    /// A request body made ready for the engine: its id (given or made), the program's input and
    /// the whole record; refusals are thrown.
    func prepare(_ t: ServedTask, _ body: JSON) throws -> (key: RequestKey, input: JSON, record: JSON) {
        guard case .object = body else {
            throw API.Refusal(.badRequest, "invalid_request", "an input is a JSON object with the task's fields (\(t.spec.input.map(\.name).joined(separator: ", ")))")
        }
        let key: RequestKey
        if let given = body["id"], given != .null {
            key = .id(try requestId(given))
        } else {
            let n = idCounter.withLock { c -> Int in c += 1; return c }
            key = .id(madeId(n))
        }
        let record = body.removing(["id"])
        var input = record
        if let f = t.labelField {
            guard let truth = record[f] else {
                throw API.Refusal(.unprocessableContent, "missing_field", "this server validates with labels from the `\(f)` field of each request (--oracle labels:\(f)), and it is missing")
            }
            guard let name = truth.string, t.labelSet.contains(name) else {
                throw API.Refusal(.unprocessableContent, "invalid_label", "`\(f)` is one of the task's labels (\(t.spec.answerNames.map { JSONWriter.string(JSON($0)) }.joined(separator: ", "))), not \(JSONWriter.string(truth))")
            }
            input = record.removing([f])
        }
        return (key, try programInput(t, input), record)
    }

    /// The answer to one request, or its refusal.
    func answer(_ t: ServedTask, _ key: RequestKey, _ served: Served) throws -> JSON {
        switch served.result {
        case .failure(let e):
            throw API.Refusal(.unprocessableContent, "invalid_input", e.message)
        case .success(let a):
            metrics.request(task: t.name, version: a.versionId, label: a.name, decidedBy: a.decidedBy)
            return .object([("id", JSON(key.text)), ("label", JSON(a.name)), ("confidence", API.number(a.confidence)),
                            ("decided_by", JSON(a.decidedBy)), ("version", API.int64(a.versionId))])
        }
    }

    func classify(_ t: ServedTask, _ body: JSON) throws -> (answer: JSON, seq: Int) {
        let r = try prepare(t, body)
        let served = t.runner.serve(r.key, input: r.input, record: r.record)
        return (try answer(t, r.key, served), served.seq)
    }

    /// The plain batch body as spans (`SpanBatch`): every input an object whose task fields,
    /// label field and id are strings (simple escapes allowed) and whose label is the task's;
    /// nil otherwise, and the full parser reads it (with the refusals in place).
    func spanBatch(_ t: ServedTask, _ bytes: [UInt8]) -> SpanBatch? {
        guard t.spec.input.allSatisfy({ $0.type == .text }) else { return nil }
        let fields = t.spec.input.map(\.name)
        let keys = (fields + (t.labelField.map { [$0] } ?? []) + ["id"]).map { Array($0.utf8) }
        let nk = keys.count, idKey = nk - 1
        guard nk <= 64 else { return nil }   // one bit per key marks its escapes
        var batch = SpanBatch(body: bytes, fields: fields, labelField: t.labelField, singleText: t.spec.isSingleText, madeIdPrefix: idPrefix)
        var unnamed = 0
        let ok: Bool = bytes.withUnsafeBufferPointer { b in
            guard let ranges = BatchBody.inputRanges(b), ranges.count <= config.maxBatch else { return false }
            batch.reserve(ranges.count)
            var offs: [Int] = []
            offs.reserveCapacity(2 * nk)
            var escaped: UInt64 = 0
            var scratch: [UInt8] = []
            for r in ranges {
                offs.removeAll(keepingCapacity: true)
                guard FastJSONLines.textSpans(b, r.lowerBound, r.upperBound, keys: keys, optional: 1, into: &offs, escaped: &escaped, allowEscapes: true) else {
                    // Parsed alone (e.g. a `\u` escape): kept when its fields, label and id are
                    // strings as the scanner would have read them, else the other paths answer.
                    guard let element = try? JSONParser.parse(Array(b[r])), case .object = element else { return false }
                    var texts: [[UInt8]] = []
                    for k in keys.indices.dropLast() {
                        guard case .string(let v)? = element[String(decoding: keys[k], as: UTF8.self)] else { return false }
                        texts.append(v)
                    }
                    if t.labelField != nil, !t.labelBytes.contains(texts[fields.count]) { return false }
                    var given: String? = nil
                    switch element["id"] {
                    case nil, .null?: break
                    case .string(let v)?: given = String(decoding: v, as: UTF8.self)
                    default: return false
                    }
                    batch.append(texts: texts, givenId: given, madeNumber: given == nil ? unnamed : -1)
                    if given == nil { unnamed += 1 }
                    continue
                }
                /// Span j's text, unescaped into `scratch` when it holds an escape.
                func withSpan<R>(_ j: Int, _ f: (UnsafeBufferPointer<UInt8>) -> R) -> R {
                    guard escaped & (1 << UInt64(j)) != 0 else { return f(UnsafeBufferPointer(rebasing: b[offs[2 * j]..<offs[2 * j + 1]])) }
                    scratch.removeAll(keepingCapacity: true)
                    FastJSONLines.unescape(b, offs[2 * j], offs[2 * j + 1], into: &scratch)
                    return scratch.withUnsafeBufferPointer(f)
                }
                if t.labelField != nil {
                    let known = withSpan(fields.count) { l in t.labelBytes.contains { $0.count == l.count && $0.elementsEqual(l) } }
                    guard known else { return false }
                }
                var given: String? = nil
                if offs[2 * idKey] >= 0 { given = withSpan(idKey) { String(decoding: $0, as: UTF8.self) } }
                batch.append(spans: offs[0..<(2 * idKey)], givenId: given, madeNumber: given == nil ? unnamed : -1)
                if given == nil { unnamed += 1 }
                var e = escaped & ~(1 << UInt64(idKey))
                while e != 0 {
                    let j = e.trailingZeroBitCount
                    e &= e - 1
                    var text: [UInt8] = []
                    FastJSONLines.unescape(b, offs[2 * j], offs[2 * j + 1], into: &text)
                    batch.placeLast(j, text)
                }
            }
            return true
        }
        guard ok else { return nil }
        // Ids for the inputs that come without one, taken together (one lock a batch).
        let base = idCounter.withLock { c -> Int in c += unnamed; return c - unnamed }
        batch.numberMadeIds(from: base + 1)
        return batch
    }

    /// The answers to a batch served from spans, as bytes: the same text `answerBatch` writes.
    func answerSpans(_ t: ServedTask, _ b: SpanBatch, _ s: SpanServed) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + 110 * b.count)
        out += AnswerBytes.open
        // Per version: its labels, deciding texts and number as JSON text, written once.
        let versions = [s.active] + (s.candidate.map { [$0] } ?? [])
        let pieces = versions.map { AnswerPieces($0) }
        // Requests counted once per (version, label, deciding rule) for the batch.
        var counts: [Int: Int] = [:]
        let prefix = Array((idPrefix + "-").utf8)
        for i in 0..<b.count {
            if i > 0 { out.append(0x2C) }
            let v = !s.byCandidate.isEmpty && s.byCandidate[i] ? 1 : 0
            let a = s.answers[i]
            let p = pieces[v]
            counts[(v << 62) | (Int(a.label) << 31) | Int(a.decidedBy), default: 0] += 1
            out += AnswerBytes.id
            if let given = b.givenIds[i] { JSONWriter.string(given, bytes: &out) }
            else { out.append(0x22); out += prefix; Self.base36(b.madeNumbers[i], into: &out); out.append(0x22) }
            out += AnswerBytes.label
            out += p.labels[Int(a.label)]
            out += AnswerBytes.confidence
            if a.confidence.isFinite { JSONWriter.number(a.confidence, bytes: &out) } else { out += AnswerBytes.null }
            out += AnswerBytes.decidedBy
            out += p.decidedBy[Int(a.decidedBy)]
            out += AnswerBytes.version
            out += p.version
            out.append(0x7D)
        }
        out += [0x5D, 0x7D, 0x0A]
        for (k, n) in counts {
            let program = versions[k >> 62]
            let label = (k >> 31) & 0x7FFF_FFFF, by = k & 0x7FFF_FFFF
            metrics.request(task: t.name, version: program.versionId, label: program.program.labelNames[label],
                            decidedBy: program.decidedByTexts[by], count: n)
        }
        return out
    }

    /// One version's parts of an answer as JSON text.
    struct AnswerPieces {
        let labels: [[UInt8]], decidedBy: [[UInt8]], version: [UInt8]
        init(_ p: LoadedProgram) {
            labels = p.program.labelNames.map { var o: [UInt8] = []; JSONWriter.string($0, bytes: &o); return o }
            decidedBy = p.decidedByTexts.map { var o: [UInt8] = []; JSONWriter.string($0, bytes: &o); return o }
            var v: [UInt8] = []
            JSONWriter.number(Double(p.versionId), bytes: &v)
            version = v
        }
    }

    /// `String(n, radix: 36)` appended as bytes.
    static func base36(_ n: Int, into out: inout [UInt8]) {
        var digits: [UInt8] = []
        var v = n
        repeat { let d = UInt8(v % 36); digits.append(d < 10 ? 0x30 + d : 0x61 + d - 10); v /= 36 } while v > 0
        out += digits.reversed()
    }

    /// Inputs ready for the engine, and for each input of the body its place among them or its refusal.
    typealias PreparedBatch = (prepared: [(key: RequestKey, input: JSON, record: JSON)], slots: [Result<Int, API.Refusal>])

    /// The full path: every input of the parsed body prepared on its own.
    func prepareBatch(_ t: ServedTask, _ inputs: [JSON]) -> PreparedBatch {
        var prepared: [(key: RequestKey, input: JSON, record: JSON)] = []
        var slots: [Result<Int, API.Refusal>] = []
        for input in inputs {
            do { slots.append(.success(prepared.count)); prepared.append(try prepare(t, input)) }
            catch let e as API.Refusal { slots[slots.count - 1] = .failure(e) }
            catch { slots[slots.count - 1] = .failure(API.Refusal(.badRequest, "invalid_request", "\(error)")) }
        }
        return (prepared, slots)
    }

    /// The valid inputs answered together; each refusal takes its input's place. The body
    /// (`{"answers": [...]}`) is written as bytes, the same text `API.json` writes of it.
    func answerBatch(_ t: ServedTask, _ batch: PreparedBatch) -> [UInt8] {
        let served = t.runner.serveBatch(batch.prepared)
        var out: [UInt8] = []
        out.reserveCapacity(64 + 110 * batch.slots.count)
        out += AnswerBytes.open
        // Requests counted once per (version, label, deciding rule) for the batch.
        var counts: [AnswerKind: Int] = [:]
        for (i, slot) in batch.slots.enumerated() {
            if i > 0 { out.append(0x2C) }
            let refusal: API.Refusal
            switch slot {
            case .success(let k):
                switch served[k].result {
                case .success(let a):
                    counts[AnswerKind(version: a.versionId, label: a.name, decidedBy: a.decidedBy), default: 0] += 1
                    Self.writeAnswer(id: batch.prepared[k].key.text, a, into: &out)
                    continue
                case .failure(let e): refusal = API.Refusal(.unprocessableContent, "invalid_input", e.message)
                }
            case .failure(let e): refusal = e
            }
            metrics.error(task: t.name, kind: refusal.code)
            JSONWriter.write(.object([("index", API.int(i)), ("error", .object([("code", JSON(refusal.code)), ("message", JSON(refusal.message))]))]), bytes: &out)
        }
        out += [0x5D, 0x7D, 0x0A]
        for (k, n) in counts { metrics.request(task: t.name, version: k.version, label: k.label, decidedBy: k.decidedBy, count: n) }
        return out
    }

    struct AnswerKind: Hashable { let version: Int64; let label: String; let decidedBy: String }

    /// `{"id", "label", "confidence", "decided_by", "version"}` as `answer` gives it, as bytes.
    static func writeAnswer(id: String, _ a: Answer, into out: inout [UInt8]) {
        out += AnswerBytes.id
        JSONWriter.string(id, bytes: &out)
        out += AnswerBytes.label
        JSONWriter.string(a.name, bytes: &out)
        out += AnswerBytes.confidence
        if a.confidence.isFinite { JSONWriter.number(a.confidence, bytes: &out) } else { out += AnswerBytes.null }
        out += AnswerBytes.decidedBy
        JSONWriter.string(a.decidedBy, bytes: &out)
        out += AnswerBytes.version
        JSONWriter.number(Double(a.versionId), bytes: &out)
        out.append(0x7D)
    }

    enum AnswerBytes {
        static let id = Array(#"{"id":"#.utf8), label = Array(#","label":"#.utf8), confidence = Array(#","confidence":"#.utf8)
        static let decidedBy = Array(#","decided_by":"#.utf8), version = Array(#","version":"#.utf8), null = Array("null".utf8)
        static let open = Array(#"{"answers":["#.utf8)
    }

    /// What the program sees of a request body: the task's fields, checked for presence and type
    /// where the task declares them (the program's decoder checks the rest).
    func programInput(_ t: ServedTask, _ body: JSON) throws -> JSON {
        guard case .object = body else {
            throw API.Refusal(.unprocessableContent, "invalid_input", "an input is a JSON object with the task's fields (\(t.spec.input.map(\.name).joined(separator: ", ")))")
        }
        for f in t.spec.input {
            switch (f.type, body[f.name]) {
            case (_, nil): throw API.Refusal(.unprocessableContent, "missing_field", "missing field `\(f.name)` (the task's input: \(t.spec.input.map(\.name).joined(separator: ", ")))")
            case (.text, .string?), (.number, .number?), (.bool, .bool?): break
            case (_, let v?): throw API.Refusal(.unprocessableContent, "invalid_input", "field `\(f.name)` is \(f.type.rawValue), not \(v.kindName)")
            }
        }
        return TaskInputProjection.project(body, t.spec)
    }

    /// A request id: a string, or a whole number below 10^15 (answered as its decimal string).
    func requestId(_ j: JSON) throws -> String {
        switch j {
        case .string(let b): return String(decoding: b, as: UTF8.self)
        case .number(let x) where x == x.rounded() && abs(x) < 1e15: return String(Int64(x))
        default: throw API.Refusal(.badRequest, "invalid_request", "`id` is a string or a whole number (below 10^15)")
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
        let name = context.parameters.get("task") ?? ""
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
            Self.storeReaders.async { c.resume(with: Result { try body() }) }
        }
    }

    /// Where store-reading handlers run.
    static let storeReaders = DispatchQueue(label: "loopai.store-readers", qos: .userInitiated, attributes: .concurrent)

    func guardedAsync(_ context: BasicRequestContext, _ body: () async throws -> Response) async throws -> Response {
        do { return try await body() }
        catch let r as API.Refusal { refused(context, r); return r.response }
        catch { log("internal error: \(error)"); return API.error(.internalServerError, "internal", "\(error)") }
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

