import Foundation
import Hummingbird
import LoopData
import LoopRuntime

/// The request path: classify and classify/batch, from the request's bytes to the answer's.
extension LoopServer {
    // MARK: The request path

    /// `POST /v1/tasks/{task}/classify` and `.../classify/batch`, as Hummingbird's route: the
    /// way in for requests the event-loop path (`ClassifyChannelHandler`) passes on.
    func classifyEndpoint(_ name: String, _ request: Request, batch: Bool) async throws -> Response {
        try await guardedAsync(task: name) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try authorizeClient(request)
            let t = try task(named: name)
            let bytes = try await API.bodyBytes(request, limit: config.maxBodyBytes)
            let answer = try self.answer(t, bytes, batch: batch)
            t.recordLatency(since: t0, batch: batch)
            return API.bytes(answer, type: API.jsonType)
        }
    }

    /// The answer to a classify body (`batch`: a classify/batch body), as the JSON text sent
    /// back; refusals are thrown. Synchronous: the event-loop path calls it as the route does.
    func answer(_ t: ServedTask, _ bytes: [UInt8], batch: Bool) throws -> [UInt8] {
        if let spans = spanBatch(t, bytes, single: !batch), let served = t.runner.serveSpans(spans) {
            // The usual body (the task's text fields, string ids): read as spans; a single
            // input as a batch of one.
            return answerSpans(t, spans, served, single: !batch)
        }
        // Anything else: the full parser, which gives the exact answer or refusal.
        let body = try API.parse(bytes)
        guard batch else { return API.jsonBytes(try classify(t, body).answer) }
        guard case .array(let inputs)? = body["inputs"] else {
            throw API.Refusal(.badRequest, "invalid_request", "the body is {\"inputs\": [...]}: a list of inputs")
        }
        guard inputs.count <= config.maxBatch else {
            throw API.Refusal(.contentTooLarge, "batch_too_large", "\(inputs.count) inputs; a batch holds at most \(config.maxBatch)")
        }
        return answerBatch(t, prepareBatch(t, inputs))
    }

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
            let n = idCounter.add(1, ordering: .relaxed).newValue
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
    /// nil otherwise, and the full parser reads it (with the refusals in place). `single`: the
    /// body is one input (the classify endpoint's), read as a batch of one.
    func spanBatch(_ t: ServedTask, _ bytes: [UInt8], single: Bool = false) -> SpanBatch? {
        guard let keys = t.spanKeys else { return nil }
        let fields = t.fieldNames
        let nk = keys.count, idKey = nk - 1
        var batch = SpanBatch(body: bytes, fields: fields, labelField: t.labelField, singleText: t.spec.isSingleText, madeIdPrefix: idPrefix)
        var unnamed = 0
        let ok: Bool = bytes.withUnsafeBufferPointer { b in
            guard let ranges = single ? [0..<b.count] : BatchBody.inputRanges(b), ranges.count <= config.maxBatch else { return false }
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
        let base = unnamed == 0 ? 0 : idCounter.add(unnamed, ordering: .relaxed).oldValue
        batch.numberMadeIds(from: base + 1)
        return batch
    }

    /// The answers to a batch served from spans, as bytes: the same text `answerBatch` writes;
    /// `single`: the one answer alone, the same text `API.json` writes of `answer`'s.
    func answerSpans(_ t: ServedTask, _ b: SpanBatch, _ s: SpanServed, single: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + 110 * b.count)
        if !single { out += AnswerBytes.open }
        // Per version: its labels, deciding texts and number as JSON text, made once.
        let versions = [t.outputs.output(s.active)] + (s.candidate.map { [t.outputs.output($0)] } ?? [])
        // Requests counted once per (version, label, deciding rule) for the batch.
        var counts: [Int: Int] = [:]
        for i in 0..<b.count {
            if i > 0 { out.append(0x2C) }
            let v = !s.byCandidate.isEmpty && s.byCandidate[i] ? 1 : 0
            let a = s.answers[i]
            let p = versions[v]
            if b.count == 1 { p.count(label: Int(a.label), decidedBy: Int(a.decidedBy), 1, task: t.name, metrics: metrics) }
            else { counts[(v << 62) | (Int(a.label) << 31) | Int(a.decidedBy), default: 0] += 1 }
            out += AnswerBytes.id
            if let given = b.givenIds[i] { JSONWriter.string(given, bytes: &out) }
            else { out.append(0x22); out += idPrefixBytes; AnswerBytes.base36(b.madeNumbers[i], into: &out); out.append(0x22) }
            out += AnswerBytes.label
            out += p.labels[Int(a.label)]
            AnswerBytes.writeConfidence(a.confidence, into: &out)
            out += AnswerBytes.decidedBy
            out += p.decidedBy[Int(a.decidedBy)]
            out += AnswerBytes.version
            out += p.version
            out.append(0x7D)
        }
        out += single ? [0x0A] : [0x5D, 0x7D, 0x0A]
        for (k, n) in counts {
            versions[k >> 62].count(label: (k >> 31) & 0x7FFF_FFFF, decidedBy: k & 0x7FFF_FFFF, n, task: t.name, metrics: metrics)
        }
        return out
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
                    AnswerBytes.write(id: batch.prepared[k].key.text, a, into: &out)
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
}

/// The server's responder: the two classify endpoints straight from the request's path (no
/// route lookup, no path parameters: they are most of the traffic), everything else through the
/// router. A path it does not recognise exactly goes to the router, which answers as before.
struct Responder: HTTPResponder {
    let server: LoopServer
    let router: RouterResponder<BasicRequestContext>

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        if request.method == .post, let (name, batch) = Self.classifyPath(request.uri.path) {
            return try await server.classifyEndpoint(name, request, batch: batch)
        }
        return try await router.respond(to: request, context: context)
    }

    /// `/v1/tasks/NAME/classify` or `/v1/tasks/NAME/classify/batch`: the task's name and whether
    /// it is the batch endpoint; nil for any other path (a name with `/` or `%` included).
    static func classifyPath(_ path: String) -> (String, Bool)? {
        let u = path.utf8
        let prefix = "/v1/tasks/".utf8
        guard u.count > prefix.count + 9, u.starts(with: prefix) else { return nil }
        let rest = u.dropFirst(prefix.count)
        guard let slash = rest.firstIndex(of: 0x2F), slash != rest.startIndex else { return nil }
        let name = rest[rest.startIndex..<slash]
        guard !name.contains(0x25) else { return nil }
        let tail = rest[slash...]
        let batch: Bool
        if tail.elementsEqual("/classify".utf8) { batch = false }
        else if tail.elementsEqual("/classify/batch".utf8) { batch = true }
        else { return nil }
        return (String(Substring(name)), batch)
    }
}
