import Foundation
import LoopData
import LoopLLM
import LoopTask

/// What an oracle said about one input.
public struct OracleVerdict: Equatable, Sendable {
    /// One of the task's labels, or nil when the answer was invalid.
    public var label: String?
    /// The reply (or the part of it for this input) as received, kept for invalid answers.
    public var raw: String
    /// `llm` or `labels`.
    public var source: String
    /// Why the answer is invalid (nil when valid).
    public var problem: String?
    public init(label: String?, raw: String, source: String, problem: String? = nil) {
        self.label = label; self.raw = raw; self.source = source; self.problem = problem
    }
}

/// The judge of sampled executions.
public protocol Oracle: AnyObject {
    var name: String { get }
    /// One verdict per input, in input order. Throws only when nothing could be asked at all
    /// (configuration, budget, transport after retries); per-input problems are invalid verdicts.
    /// The LLM calls made for it go into `log`, whether they succeeded or not.
    func judge(_ inputs: [JSON], log: CallLog?) throws -> [OracleVerdict]
}

extension Oracle {
    public func judge(_ inputs: [JSON]) throws -> [OracleVerdict] { try judge(inputs, log: nil) }
}

/// Ground truth from a labeled file (`--oracle labels:COLUMN`): the label is read from each
/// input record's COLUMN. For evaluation and for demos without an API key.
public final class LabelsOracle: Oracle {
    public let column: String
    public let labels: [String]
    let matcher: LabelMatcher
    public var name: String { "labels:\(column)" }
    /// `labels` are the identifiers; `names` the application's strings for them (the column may
    /// hold either; verdicts carry identifiers).
    public init(column: String, labels: [String], names: [String]? = nil) {
        self.column = column; self.labels = labels; self.matcher = LabelMatcher(labels, names: names)
    }

    public func judge(_ inputs: [JSON], log: CallLog?) throws -> [OracleVerdict] {
        inputs.map { input in
            guard let l = input[column]?.string else {
                return OracleVerdict(label: nil, raw: "", source: "labels", problem: "the record has no string `\(column)`")
            }
            guard let m = matcher.match(l) else {
                return OracleVerdict(label: nil, raw: l, source: "labels", problem: "`\(l)` is not one of the task's labels")
            }
            return OracleVerdict(label: m, raw: l, source: "labels")
        }
    }
}

/// Exact, then case-insensitive matching of an answer against the label set: the application's
/// strings first, then the identifiers. The match is the label's identifier.
public struct LabelMatcher {
    public let labels: [String]
    /// The application's string per label (the identifier when it has none).
    public let names: [String]
    public init(_ labels: [String], names: [String]? = nil) {
        self.labels = labels
        self.names = names.map { $0.count == labels.count ? $0 : labels } ?? labels
    }

    public func match(_ s: String) -> String? {
        if let i = names.firstIndex(of: s) ?? labels.firstIndex(of: s) { return labels[i] }
        let t = s.trimmingCharacters(in: CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "\"'`*")))
        if let i = names.firstIndex(of: t) ?? labels.firstIndex(of: t) { return labels[i] }
        // A trailing period is prose ("spam."), unless a label itself ends with one.
        let u = t.hasSuffix(".") ? String(t.dropLast()) : t
        if let i = names.firstIndex(of: u) ?? labels.firstIndex(of: u) { return labels[i] }
        // Case-insensitively only when that names one label (`Spam` is not read as `spam` when
        // another label is called `SPAM`).
        let lower = u.lowercased()
        let hits = Set(labels.indices.filter { names[$0].lowercased() == lower || labels[$0].lowercased() == lower })
        return hits.count == 1 ? labels[hits.first!] : nil
    }
}

/// The LLM as oracle: temperature 0 (or the task's), the label set enforced, several inputs per
/// request, answers aligned with inputs by id even when the reply is partly malformed, and one
/// retry with a stricter single-input prompt for every input left without a valid answer.
public final class LLMOracle: Oracle {
    public let task: TaskSpec
    public let client: LLMClient
    public let model: String
    public var batchSize: Int
    public var concurrency: Int
    public var temperature: Double
    /// Ask for JSON-schema structured output (OpenAI-compatible servers that support it).
    public var structuredOutput: Bool
    public var name: String { "llm:\(client.provider.name)/\(model)" }

    public init(task: TaskSpec, client: LLMClient, model: String, batchSize: Int = 10, concurrency: Int = 4,
                temperature: Double = 0, structuredOutput: Bool = false) {
        self.task = task; self.client = client; self.model = model
        self.batchSize = max(1, batchSize); self.concurrency = max(1, concurrency)
        self.temperature = temperature; self.structuredOutput = structuredOutput
    }

    // MARK: Prompts

    public static func system(_ task: TaskSpec, strict: Bool) -> String {
        var s = """
        You label inputs for this classification task.

        \(task.description.trimmingCharacters(in: .whitespacesAndNewlines))

        Labels:
        \(task.labels.map { "- \($0.answer): \($0.description)" }.joined(separator: "\n"))

        Each input is given as `ID: JSON`. Answer with JSON only, no prose: \
        {"answers": [{"id": ID, "label": "LABEL"}, ...]} with one answer per input, and LABEL exactly one of: \
        \(task.hasAnswerNames ? task.answerNames.map { JSONWriter.string(JSON($0)) }.joined(separator: ", ") : task.labelNames.joined(separator: ", ")).
        """
        if strict {
            s += "\nYour previous answer could not be used. Reply with the JSON object only, using exactly one of the labels listed."
        }
        return s
    }

    public static func user(_ inputs: [JSON]) -> String {
        inputs.enumerated().map { "\($0.offset + 1): \(JSONWriter.string($0.element))" }.joined(separator: "\n")
    }

    public func request(_ inputs: [JSON], strict: Bool = false) -> ChatRequest {
        ChatRequest(model: model, messages: [.system(Self.system(task, strict: strict)), .user(Self.user(inputs))],
                    temperature: temperature, maxTokens: 16 + 24 * inputs.count, purpose: .oracle,
                    jsonSchema: structuredOutput ? schema : nil)
    }

    var schema: JSON {
        let answer = JSON.object([
            ("type", JSON("object")),
            ("properties", .object([("id", .object([("type", JSON("integer"))])),
                                    ("label", .object([("type", JSON("string")), ("enum", .array(task.answerNames.map { JSON($0) }))]))])),
            ("required", .array([JSON("id"), JSON("label")])), ("additionalProperties", .bool(false)),
        ])
        return .object([("type", JSON("object")),
                        ("properties", .object([("answers", .object([("type", JSON("array")), ("items", answer)]))])),
                        ("required", .array([JSON("answers")])), ("additionalProperties", .bool(false))])
    }

    /// What asking about `inputs` one at a time would cost, with tokens estimated from the prompt
    /// and a one-label answer (how the labels oracle is priced in reports).
    public static func estimatedTokens(task: TaskSpec, input: JSON) -> (input: Int, output: Int) {
        OracleTokenModel(task: task).single(input)
    }

    // MARK: Judging

    public func judge(_ inputs: [JSON], log: CallLog?) throws -> [OracleVerdict] {
        guard !inputs.isEmpty else { return [] }
        let batches = stride(from: 0, to: inputs.count, by: batchSize).map { Array(inputs[$0..<min($0 + batchSize, inputs.count)]) }
        var results = [[OracleVerdict]?](repeating: nil, count: batches.count)
        var firstError: Error? = nil
        let lock = NSLock()
        let gate = DispatchSemaphore(value: concurrency)
        DispatchQueue.concurrentPerform(iterations: batches.count) { i in
            gate.wait(); defer { gate.signal() }
            do {
                let v = try self.judgeBatch(batches[i], log: log)
                lock.lock(); results[i] = v; lock.unlock()
            } catch {
                lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
            }
        }
        if let firstError, results.allSatisfy({ $0 == nil }) { throw firstError }
        // A batch whose call failed after the client's retries gives invalid verdicts; the others stand.
        return zip(batches, results).flatMap { batch, r in
            r ?? batch.map { _ in OracleVerdict(label: nil, raw: "", source: "llm", problem: firstError.map { "\($0)" } ?? "the call failed") }
        }
    }

    func judgeBatch(_ batch: [JSON], log: CallLog?) throws -> [OracleVerdict] {
        let reply = try client.complete(request(batch), log: log).text
        var verdicts = Self.parse(reply, count: batch.count, labels: task.labelNames, names: task.answerNames)
        for i in verdicts.indices where verdicts[i].label == nil {
            // One retry per input, alone and with the stricter prompt.
            if let again = try? client.complete(request([batch[i]], strict: true), log: log).text {
                let v = Self.parse(again, count: 1, labels: task.labelNames, names: task.answerNames)[0]
                verdicts[i] = v.label != nil ? v : OracleVerdict(label: nil, raw: again, source: "llm", problem: v.problem)
            }
        }
        return verdicts
    }

    /// Reads a reply for `count` inputs: the JSON object `{"answers": [...]}` (also inside a fenced
    /// block or surrounded by prose), a bare JSON array of answers, or, for a single input, a bare
    /// label. Answers are aligned by `id`; an input without a valid answer gets an invalid verdict
    /// that keeps the raw reply.
    public static func parse(_ reply: String, count: Int, labels: [String], names: [String]? = nil) -> [OracleVerdict] {
        let matcher = LabelMatcher(labels, names: names)
        var out = [OracleVerdict](repeating: OracleVerdict(label: nil, raw: reply, source: "llm", problem: "no answer for this input in the reply"),
                                  count: count)
        if let json = firstJSON(in: reply) {
            let items = json["answers"]?.array ?? json.array ?? (json["label"] != nil ? [json] : [])
            for (position, item) in items.enumerated() {
                let id = item["id"]?.number.map { Int($0) } ?? (items.count == count ? position + 1 : nil)
                guard let id, id >= 1, id <= count else { continue }
                guard let text = item["label"]?.string else {
                    out[id - 1] = OracleVerdict(label: nil, raw: JSONWriter.string(item), source: "llm", problem: "the answer has no string `label`")
                    continue
                }
                if let l = matcher.match(text) {
                    out[id - 1] = OracleVerdict(label: l, raw: JSONWriter.string(item), source: "llm")
                } else {
                    out[id - 1] = OracleVerdict(label: nil, raw: JSONWriter.string(item), source: "llm",
                                                problem: "`\(text)` is not one of the labels (\(matcher.names.joined(separator: ", ")))")
                }
            }
        } else if count == 1, let l = matcher.match(reply) {
            out[0] = OracleVerdict(label: l, raw: reply, source: "llm")
        }
        return out
    }

    /// The first parseable JSON object or array in the text.
    static func firstJSON(in s: String) -> JSON? {
        let bytes = Array(s.utf8)
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
            // Try the longest balanced candidate starting here.
            var depth = 0, inString = false, escaped = false
            for j in i..<bytes.count {
                let c = bytes[j]
                if inString {
                    if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                    continue
                }
                if c == UInt8(ascii: "\"") { inString = true } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 {
                        if let j = try? JSONParser.parse(Array(bytes[i...j])) { return j }
                        break
                    }
                }
            }
        }
        return nil
    }
}

/// Token estimates of the oracle's requests (`TokenEstimate`: 4 bytes a token over all message
/// contents), with the task's system prompt measured once: pricing every request of a stream
/// must not rebuild the prompt each time.
public struct OracleTokenModel: Sendable {
    let systemBytes: Int
    let singleAnswerTokens: Int

    public init(task: TaskSpec) {
        systemBytes = LLMOracle.system(task, strict: false).utf8.count
        let answer = #"{"answers": [{"id": 1, "label": ""# + (task.answerNames.max { $0.count < $1.count } ?? "") + #""}]}"#
        singleAnswerTokens = TokenEstimate.tokens(answer)
    }

    static func tokens(bytes: Int) -> Int { (bytes + TokenEstimate.bytesPerToken - 1) / TokenEstimate.bytesPerToken }

    /// One input alone: the all-LLM path's call for one request.
    public func single(_ input: JSON) -> (input: Int, output: Int) { single(inputLength: JSONWriter.length(input)) }

    /// The same, from the length of the input's JSON text.
    public func single(inputLength: Int) -> (input: Int, output: Int) {
        // `LLMOracle.user([input])` is "1: " and the input's JSON text.
        (Self.tokens(bytes: systemBytes + 3 + inputLength), singleAnswerTokens)
    }

    /// Several inputs in one request, and an answer of `{"id": 10, "label": "label"}` per input.
    public func batch(_ inputs: [JSON]) -> (input: Int, output: Int) {
        let answer = #"{"answers": ["# + String(repeating: #"{"id": 10, "label": "label"}, "#, count: inputs.count) + "]}"
        return (Self.tokens(bytes: systemBytes + LLMOracle.user(inputs).utf8.count), TokenEstimate.tokens(answer))
    }
}
