import Foundation
import LoopData
import LoopGenerate
import LoopLLM
import LoopTask
import TestSupport
import XCTest

final class OracleTests: XCTestCase {
    /// A stub LLM that labels by keyword and answers each batch as `{"answers": [...]}`,
    /// optionally shuffled, from the numbered inputs in the user message.
    static func labelling(shuffle: Bool = false) -> @Sendable (StubServer.Request) -> StubServer.Action {
        { r in
            let user = Fixtures.messages(r).last?.content ?? ""
            var answers: [JSON] = []
            for line in user.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":"), let id = Int(line[..<colon]) else { continue }
                let label = line.lowercased().contains("win") ? "SPAM" : "ham"   // case differs on purpose
                answers.append(.object([("id", .number(Double(id))), ("label", JSON(label))]))
            }
            if shuffle { answers.reverse() }
            return Fixtures.openAIReply("```json\n" + JSONWriter.string(.object([("answers", .array(answers))])) + "\n```", usage: (50, 10))
        }
    }

    func inputs(_ n: Int) -> [JSON] { (0..<n).map { JSON($0 % 3 == 0 ? "you win \($0)" : "hello \($0)") } }

    func testBatchesAreAlignedByIdEvenWhenShuffled() throws {
        let server = try StubServer()
        defer { server.stop() }
        server.respond(with: Self.labelling(shuffle: true))
        let oracle = LLMOracle(task: Fixtures.task, client: Fixtures.openAIClient(server), model: "m", batchSize: 10, concurrency: 2)
        let verdicts = try oracle.judge(inputs(25))
        XCTAssertEqual(server.requests.count, 3, "25 inputs in batches of 10")
        XCTAssertEqual(verdicts.map(\.label), (0..<25).map { $0 % 3 == 0 ? "spam" : "ham" })
        XCTAssertTrue(verdicts.allSatisfy { $0.source == "llm" && $0.problem == nil })
        let body = Fixtures.body(server.requests[0])
        XCTAssertEqual(body["temperature"]?.number, 0)
        XCTAssertEqual(oracle.client.ledger.map(\.purpose), [.oracle, .oracle, .oracle])
        XCTAssertLessThanOrEqual(server.maxConcurrent, 2)
    }

    func testMalformedAnswersAreRetriedAloneWithAStricterPrompt() throws {
        let server = try StubServer()
        defer { server.stop() }
        // Batch reply: id 1 fine, id 2 an unknown label, id 3 missing.
        server.enqueue(Fixtures.openAIReply(#"{"answers": [{"id": 1, "label": "ham"}, {"id": 2, "label": "maybe"}]}"#),
                       Fixtures.openAIReply("spam"),                        // retry of input 2: a bare label
                       Fixtures.openAIReply("I think it's probably fine")) // retry of input 3: still unusable
        let oracle = LLMOracle(task: Fixtures.task, client: Fixtures.openAIClient(server), model: "m", batchSize: 3, concurrency: 1)
        let v = try oracle.judge([JSON("a"), JSON("b"), JSON("c")])
        XCTAssertEqual(v.map(\.label), ["ham", "spam", nil])
        XCTAssertEqual(v[2].raw, "I think it's probably fine", "the raw reply is kept for invalid answers")
        XCTAssertNotNil(v[2].problem)
        XCTAssertEqual(server.requests.count, 3)
        let retry = Fixtures.messages(server.requests[1])
        XCTAssertTrue(retry[0].content.contains("previous answer could not be used"))
        XCTAssertEqual(retry[1].content, #"1: "b""#)
    }

    func testParsingAcceptsTheUsualShapes() {
        let labels = ["spam", "ham"]
        XCTAssertEqual(LLMOracle.parse(#"[{"id":2,"label":"Ham"},{"id":1,"label":"spam"}]"#, count: 2, labels: labels).map(\.label), ["spam", "ham"])
        XCTAssertEqual(LLMOracle.parse(#"The answer: {"label": "spam"}."#, count: 1, labels: labels).map(\.label), ["spam"])
        XCTAssertEqual(LLMOracle.parse("**HAM**", count: 1, labels: labels).map(\.label), ["ham"])
        XCTAssertEqual(LLMOracle.parse(#"{"answers": [{"label":"spam"},{"label":"ham"}]}"#, count: 2, labels: labels).map(\.label), ["spam", "ham"],
                       "no ids but one answer per input: by position")
        XCTAssertEqual(LLMOracle.parse(#"{"answers": [{"id": 9, "label":"spam"}]}"#, count: 2, labels: labels).map(\.label), [nil, nil])
        XCTAssertEqual(LLMOracle.parse("spam or ham", count: 1, labels: labels).map(\.label), [nil])
        XCTAssertEqual(LLMOracle.parse(#"{"answers": [{"id": 1, "label": 3}]}"#, count: 1, labels: labels)[0].problem, "the answer has no string `label`")
    }

    func testAFailedBatchGivesInvalidVerdictsAndTheOthersStand() throws {
        let server = try StubServer()
        defer { server.stop() }
        var http = Fixtures.http()
        http.maxAttempts = 1
        server.enqueue(.status(500, "boom"))
        server.respond(with: Self.labelling())
        let oracle = LLMOracle(task: Fixtures.task, client: Fixtures.openAIClient(server, http: http), model: "m", batchSize: 2, concurrency: 1)
        let v = try oracle.judge(inputs(4))
        XCTAssertEqual(v.map { $0.label == nil }, [true, true, false, false])
        XCTAssertTrue(v[0].problem?.contains("500") ?? false, v[0].problem ?? "")
    }

    func testEveryBatchFailingIsAnError() throws {
        let server = try StubServer()
        defer { server.stop() }
        server.enqueue(.delay(2, .status(200, "{}")))
        var http = Fixtures.http()
        http.maxAttempts = 1
        http.totalTimeout = 0.3
        let oracle = LLMOracle(task: Fixtures.task, client: Fixtures.openAIClient(server, http: http), model: "m")
        XCTAssertThrowsError(try oracle.judge([JSON("x")])) { e in
            XCTAssertTrue("\(e)".lowercased().contains("time"), "\(e)")
        }
    }

    func testStructuredOutputAsksForTheLabelEnum() throws {
        let oracle = LLMOracle(task: Fixtures.task, client: LLMClient(provider: OpenAICompatibleProvider(baseURL: "http://127.0.0.1:1/v1", apiKey: "")),
                               model: "m", structuredOutput: true)
        let body = try JSONParser.parse(OpenAICompatibleProvider.body(oracle.request([JSON("x")])))
        let schema = body["response_format"]?["json_schema"]?["schema"]
        XCTAssertEqual(schema?["properties"]?["answers"]?["items"]?["properties"]?["label"]?["enum"], .array([JSON("spam"), JSON("ham")]))
    }

    func testTheLabelsOracleReadsGroundTruth() throws {
        let o = LabelsOracle(column: "label", labels: ["spam", "ham"])
        let v = try o.judge([.object([("text", JSON("x")), ("label", JSON("Spam"))]), .object([("text", JSON("y"))]),
                             .object([("label", JSON("eggs"))])])
        XCTAssertEqual(v.map(\.label), ["spam", nil, nil])
        XCTAssertEqual(v[1].problem, "the record has no string `label`")
        let est = LLMOracle.estimatedTokens(task: Fixtures.task, input: JSON("hello there"))
        XCTAssertGreaterThan(est.input, 20)
        XCTAssertGreaterThan(est.output, 5)
    }

    /// A task whose labels the application names with strings: the LLM is shown and asked for the
    /// strings, and its answers (strings or identifiers) become identifiers; the labels oracle
    /// reads either from the column; the generator's header declares the mapping.
    func testTheApplicationsLabelStrings() throws {
        var task = Fixtures.task
        task.labels = [LabelSpec(name: "spam", description: "unsolicited offers", applicationName: "spam!"),
                       LabelSpec(name: "ham", description: "everything else", applicationName: "not spam")]
        let system = LLMOracle.system(task, strict: false)
        XCTAssertTrue(system.contains("- not spam: everything else"), system)
        XCTAssertTrue(system.contains("exactly one of: \"spam!\", \"not spam\""), system)
        let oracle = LLMOracle(task: task, client: LLMClient(provider: OpenAICompatibleProvider(baseURL: "http://127.0.0.1:1/v1", apiKey: "")),
                               model: "m", structuredOutput: true)
        let body = try JSONParser.parse(OpenAICompatibleProvider.body(oracle.request([JSON("x")])))
        XCTAssertEqual(body["response_format"]?["json_schema"]?["schema"]?["properties"]?["answers"]?["items"]?["properties"]?["label"]?["enum"],
                       .array([JSON("spam!"), JSON("not spam")]))
        let reply = #"{"answers": [{"id": 1, "label": "not spam"}, {"id": 2, "label": "Spam!"}, {"id": 3, "label": "ham"}, {"id": 4, "label": "eggs"}]}"#
        let v = LLMOracle.parse(reply, count: 4, labels: task.labelNames, names: task.answerNames)
        XCTAssertEqual(v.map(\.label), ["ham", "spam", "ham", nil])
        XCTAssertTrue(v[3].problem?.contains("spam!, not spam") ?? false, v[3].problem ?? "")
        let o = LabelsOracle(column: "label", labels: task.labelNames, names: task.answerNames)
        XCTAssertEqual(try o.judge([.object([("label", JSON("not spam"))]), .object([("label", JSON("spam"))])]).map(\.label), ["ham", "spam"])
        // Case-insensitively only when one label is meant.
        let m = LabelMatcher(["spam", "ham"], names: ["spam", "SPAM!"])
        XCTAssertEqual(m.match("Spam"), "spam")
        XCTAssertEqual(m.match("spam!"), "ham")
        let clash = LabelMatcher(["spam", "ham"], names: ["spam", "SPAM"])
        XCTAssertEqual(clash.match("SPAM"), "ham", "exact first")
        XCTAssertNil(clash.match("Spam"), "spam or SPAM: not guessed")
        XCTAssertTrue(PromptBuilder.header(task).hasSuffix("labels spam as \"spam!\", ham as \"not spam\""), PromptBuilder.header(task))
    }
}
