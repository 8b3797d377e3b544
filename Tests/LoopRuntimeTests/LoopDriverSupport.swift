import Foundation
import XCTest
import LoopData
import LoopGenerate
import LoopLLM
import LoopStore
import LoopTask
import TestSupport
@testable import LoopRuntime

/// Shared helpers of the loop-driver tests: the repository's example data, seeded splits into a
/// seed and a stream, temp directories, drivers over real SQLite stores, and stub LLM replies.
enum LoopDriverFixtures {
    /// The package root (three levels above this file).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func example(_ name: String, _ file: String) -> String { root.appendingPathComponent("Examples/\(name)/\(file)").path }

    /// A fresh temporary directory.
    static func tempDir(_ tag: String = "loop") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The records of a JSON Lines file, in order.
    static func records(_ path: String) throws -> [JSON] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n", omittingEmptySubsequences: true).map { try JSONParser.parse(String($0)) }
    }

    static func write(_ records: [JSON], to url: URL) throws {
        let text = records.map { JSONWriter.string($0) + "\n" }.joined()
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// A deterministic Fisher–Yates shuffle (SplitMix64).
    static func shuffled<T>(_ xs: [T], seed: UInt64) -> [T] { SplitMix64.shuffled(xs, seed: seed) }

    struct Split {
        var seed: [TaskExample]
        var stream: [JSON]
        var streamPath: String
    }

    /// The first `seedCount` records of a seeded shuffle are the seed; the rest, minus any record
    /// whose text is also a seed text (the data has exact duplicates), is the stream, written to `dir`.
    static func split(_ dataPath: String, seedCount: Int, shuffleSeed: UInt64, limit: Int? = nil, dir: URL) throws -> Split {
        let all = shuffled(try records(dataPath), seed: shuffleSeed)
        let seedRecords = Array(all.prefix(seedCount))
        let seedTexts = Set(seedRecords.compactMap { $0["text"]?.string })
        var stream = all.dropFirst(seedCount).filter { !seedTexts.contains($0["text"]?.string ?? "") }
        if let limit { stream = Array(stream.prefix(limit)) }
        let url = dir.appendingPathComponent("stream.jsonl")
        try write(stream, to: url)
        let seed = seedRecords.map { TaskExample(input: $0["text"]!, label: $0["label"]!.string!) }
        return Split(seed: seed, stream: stream, streamPath: url.path)
    }

    /// Runs scripts/split-stream (python3) into `dir`; returns the seed examples and the stream.
    static func splitStream(data: String, dir: URL, arguments: [String]) throws -> Split {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root.appendingPathComponent("scripts/split-stream").path, "--data", data, "--out", dir.path] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw NSError(domain: "split-stream", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: text]) }
        let seed = try records(dir.appendingPathComponent("seed.jsonl").path).map { TaskExample(input: $0["text"]!, label: $0["label"]!.string!) }
        let streamPath = dir.appendingPathComponent("stream.jsonl").path
        return Split(seed: seed, stream: try records(streamPath), streamPath: streamPath)
    }

    static func task(_ name: String) throws -> TaskSpec { try TaskLoader.load(path: example(name, "task.yaml")) }

    /// Settings with the labels oracle (ground truth from `label`), the inducer and gpt-4o-mini prices.
    static func settings(task: TaskSpec, split: Split, dir: URL, seed: UInt64 = 1) -> LoopSettings {
        var s = LoopSettings(task: task, streamPath: split.streamPath, oracle: LabelsOracle(column: "label", labels: task.labelNames),
                             oraclePricing: Pricing(inputPerMillion: 0.15, outputPerMillion: 0.60), oracleClient: nil,
                             generator: InducerGenerator(task: task, seed: split.seed), seedExamples: split.seed,
                             escalationDirectory: dir.appendingPathComponent("escalations").path)
        s.labelKey = "label"
        s.seed = seed
        return s
    }

    /// The HTTP configuration for a stub server: one attempt, no sleeping, no proxy for loopback.
    static func http(maxAttempts: Int = 1) -> HTTPClient.Configuration { StubLLM.http(maxAttempts: maxAttempts, totalTimeout: 20) }

    static func client(_ server: StubServer, http: HTTPClient.Configuration = http()) -> LLMClient {
        StubLLM.openAIClient(server, apiKey: "sk-test", http: http)
    }

    /// An OpenAI-format chat completion carrying `content`, with token usage.
    static func openAIReply(_ content: String, usage: (Int, Int) = (120, 40)) -> StubServer.Action {
        .ok(JSONWriter.string(.object([
            ("model", JSON("stub-model")),
            ("choices", .array([.object([("message", .object([("role", JSON("assistant")), ("content", JSON(content))]))])])),
            ("usage", .object([("prompt_tokens", .number(Double(usage.0))), ("completion_tokens", .number(Double(usage.1)))])),
        ])))
    }

    /// The messages of an OpenAI-format request.
    static func messages(_ r: StubServer.Request) -> [(role: String, content: String)] {
        let body = (try? JSONParser.parse(r.body)) ?? .null
        return (body["messages"]?.array ?? []).map { ($0["role"]?.string ?? "", $0["content"]?.string ?? "") }
    }

    /// True when the request is an oracle call (its system prompt is the oracle's).
    static func isOracle(_ r: StubServer.Request) -> Bool {
        messages(r).first?.content.contains("You label inputs") ?? false
    }

    /// An oracle reply for the numbered inputs (`ID: JSON`) of the request, labelled by `label`.
    static func oracleReply(_ r: StubServer.Request, label: (String) -> String) -> StubServer.Action {
        let user = messages(r).last?.content ?? ""
        var answers: [JSON] = []
        for line in user.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":"), let id = Int(line[..<colon]) else { continue }
            let rest = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            let input = (try? JSONParser.parse(rest)) ?? JSON(rest)
            let text = input.string ?? input["text"]?.string ?? rest
            answers.append(.object([("id", .number(Double(id))), ("label", JSON(label(text)))]))
        }
        return openAIReply(JSONWriter.string(.object([("answers", .array(answers))])), usage: (60 + 30 * answers.count, 12 * answers.count))
    }

    /// Accuracy of `source` against the `label` of `records`.
    static func accuracy(_ source: String, on records: [JSON]) throws -> Double {
        let p = try LoadedProgram(versionId: 0, source: source)
        var right = 0
        for r in records {
            if case .success(let a) = p.classify(r["text"]!), a.label == r["label"]?.string { right += 1 }
        }
        return records.isEmpty ? 1 : Double(right) / Double(records.count)
    }

    /// With LOOPDRIVER_TRACE set, prints the run's counters and events (to inspect margins).
    static func trace(_ name: String, _ s: DriverState) {
        guard ProcessInfo.processInfo.environment["LOOPDRIVER_TRACE"] != nil else { return }
        print("== \(name): requests \(s.requests) sampled \(s.sampled) validated \(s.validated) unvalidated \(s.unvalidated) "
              + "oracleCalls \(s.oracleCalls) genCalls \(s.generationCalls) promoted \(s.promoted) rolledBack \(s.rolledBack) "
              + "rejected \(s.rejected) escalations \(s.escalations) agreement \(s.agreement.estimate ?? -1) "
              + "accuracy \(Double(s.trueCorrect) / Double(max(1, s.trueTotal))) breakEven \(s.breakEvenAt ?? -1) "
              + "oracleCost \(s.oracleCost) allLLM \(s.allLLMCost) cpu \(s.programSeconds + s.buildSeconds)")
        for e in s.events { print("   [\(e.requests)] v\(e.versionId ?? 0) \(e.kind): \(e.detail)") }
    }

    /// Index of the first event of `kind` for `version` (nil when absent).
    static func eventIndex(_ s: DriverState, _ kind: String, version: Int64) -> Int? {
        s.events.firstIndex { $0.kind == kind && $0.versionId == version }
    }
}

/// A generator that writes given programs: `initial` first, then each `improve` call returns the
/// next of `improvements` (the last one repeats).
final class ScriptedGenerator: ProgramGenerator {
    let first: String
    let improvements: [String]
    private(set) var improveCalls = 0
    var name: String { "scripted" }
    init(initial: String, improvements: [String]) { first = initial; self.improvements = improvements }
    func initial(examples: [TaskExample]) throws -> GeneratedProgram {
        GeneratedProgram(source: first, provenance: "scripted: initial", calls: [])
    }
    func improve(current: String, failures: [Counterexample], validated: [TaskExample]) throws -> GeneratedProgram {
        let source = improvements[min(improveCalls, improvements.count - 1)]
        improveCalls += 1
        return GeneratedProgram(source: source, provenance: "scripted: improvement \(improveCalls)", calls: [])
    }
}
