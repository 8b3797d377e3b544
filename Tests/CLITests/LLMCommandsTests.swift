import Foundation
import LoopData
import XCTest

/// `loopai oracle`, `generate --generator hybrid|llm` and `loop --program` on the real binary,
/// with no LLM configured (the environment is emptied of provider variables).
final class LLMCommandsTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ p: String) -> String { root.appendingPathComponent(p).path }
    /// No provider: the tests never reach beyond this machine.
    static var env: [String: String] {
        var e = ProcessInfo.processInfo.environment
        for k in e.keys where k.hasPrefix("OPENAI_") || k.hasPrefix("ANTHROPIC_") || k.hasPrefix("AZURE_OPENAI") { e[k] = nil }
        e["LOOPAI_CACHE_DIR"] = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-cache-\(UUID().uuidString)").path
        return e
    }

    func testTheLabelsOracleAnswersInInputOrderWithInvalidLinesKept() throws {
        let dir = try CLI.tempDir(["in.jsonl": """
            {"text": "WINNER! claim now", "label": "spam"}
            not json
            {"text": "see you", "label": "HAM"}
            {"text": "no label here"}
            {"text": "odd", "label": "eggs"}
            """])
        let r = try CLI.run(["oracle", "--task", Self.path("Examples/sms_spam/task.yaml"), "--input", dir.appendingPathComponent("in.jsonl").path,
                             "--oracle", "labels:label"], environment: Self.env)
        XCTAssertEqual(r.status, 1, "invalid answers make the status 1: \(r.stderr)")
        let lines = try r.stdout.split(separator: "\n").map { try JSONParser.parse(String($0)) }
        XCTAssertEqual(lines.map { $0["line"]?.number }, [1, 2, 3, 4, 5], "one line per input, in input order")
        XCTAssertEqual(lines.map { $0["label"]?.string }, ["spam", nil, "ham", nil, nil])
        XCTAssertEqual(lines.map { $0["valid"]?.bool }, [true, false, true, false, false])
        XCTAssertTrue(lines.allSatisfy { $0["source"] != nil })
        XCTAssertEqual(lines[4]["raw"]?.string, "eggs", "the raw answer is kept")
        XCTAssertTrue(r.stderr.contains("oracle: 2 labeled, 3 invalid"), r.stderr)
    }

    func testTheLLMOracleWithoutAProviderIsAClearUsageError() throws {
        let r = try CLI.run(["oracle", "--task", Self.path("Examples/sms_spam/task.yaml"), "--input", Self.path("Examples/sms_spam/data.jsonl")],
                            environment: Self.env)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("OPENAI_API_KEY"), r.stderr)
    }

    func testGenerateWithoutAProviderFallsBackToTheInducerAndPrintPromptSendsNothing() throws {
        let dir = try CLI.tempDir([:])
        let out = dir.appendingPathComponent("p.loop").path
        let r = try CLI.run(["generate", "--task", Self.path("Examples/sms_spam/task.yaml"), "-o", out], environment: Self.env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("using the offline inducer"), r.stderr)
        XCTAssertEqual(try CLI.run(["check", out]).status, 0)
        let llm = try CLI.run(["generate", "--task", Self.path("Examples/sms_spam/task.yaml"), "--generator", "llm", "-o", out], environment: Self.env)
        XCTAssertEqual(llm.status, 2)
        let prompt = try CLI.run(["generate", "--task", Self.path("Examples/sms_spam/task.yaml"), "--print-prompt"], environment: Self.env)
        XCTAssertEqual(prompt.status, 0, prompt.stderr)
        XCTAssertTrue(prompt.stdout.contains("===== system ====="))
        XCTAssertTrue(prompt.stdout.contains("program sms_spam\ninput text: text\nlabels spam, ham"))
        // The prompt's examples are distinct.
        let examples = prompt.stdout.split(separator: "\n").filter { $0.hasPrefix("{\"text\":") }
        XCTAssertEqual(examples.count, 40)
        XCTAssertEqual(Set(examples).count, examples.count)
    }

    func testHybridRefusesToWriteALessAccurateProgram() throws {
        let dir = try CLI.tempDir([:])
        let out = dir.appendingPathComponent("h.loop").path
        let worse = try CLI.run(["generate", "--generator", "hybrid", "--program", Self.path("Examples/sms_spam/program.loop"),
                                 "--data", Self.path("Examples/sms_spam/data.jsonl"), "--train-fraction", "0.5", "-o", out], environment: Self.env)
        XCTAssertEqual(worse.status, 1, worse.stderr)
        XCTAssertTrue(worse.stderr.contains("nothing was written"), worse.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let better = try CLI.run(["generate", "--generator", "hybrid", "--program", Self.path("Examples/sentiment/program.loop"),
                                  "--data", Self.path("Examples/sentiment/data.jsonl"), "--train-fraction", "0.5", "-o", out], environment: Self.env)
        XCTAssertEqual(better.status, 0, better.stderr)
        XCTAssertTrue(better.stderr.contains("held-out"), better.stderr)
        XCTAssertEqual(try CLI.run(["check", out]).status, 0)
    }

    func testTheLoopRefusesAProgramWithOtherLabelsThanTheTask() throws {
        let dir = try CLI.tempDir([:])
        let r = try CLI.run(["loop", "--task", Self.path("Examples/sms_spam/task.yaml"), "--stream", Self.path("Examples/sms_spam/data.jsonl"),
                             "--oracle", "labels:label", "--program", Self.path("Examples/sentiment/program.loop"),
                             "--store", dir.appendingPathComponent("s.sqlite").path], environment: Self.env)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("are not the task's"), r.stderr)
    }
}
