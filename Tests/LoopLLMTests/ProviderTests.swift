import Foundation
import LoopData
import LoopLLM
import TestSupport
import XCTest

final class ProviderTests: XCTestCase {
    var server: StubServer!
    var sleeps: SleepRecorder!
    let key = "sk-test-SECRET-0123456789abcdef"

    override func setUpWithError() throws {
        server = try StubServer()
        sleeps = SleepRecorder()
    }

    override func tearDown() {
        server?.stop()
        server = nil
    }

    func client(maxAttempts: Int = 3) -> HTTPClient {
        var c = HTTPClient.Configuration()
        c.connectTimeout = 2
        c.totalTimeout = 5
        c.maxAttempts = maxAttempts
        c.baseBackoff = 0.01
        c.noProxy = "127.0.0.1,localhost,::1"
        c.random = HTTPClient.seededRandom(seed: 1)
        let rec = sleeps!
        c.sleep = { rec.record($0) }
        return HTTPClient(configuration: c)
    }

    func openAI(maxAttempts: Int = 3) -> OpenAICompatibleProvider {
        OpenAICompatibleProvider(baseURL: server.baseURL + "/v1/", apiKey: key, client: client(maxAttempts: maxAttempts))
    }

    func anthropic() -> AnthropicProvider {
        AnthropicProvider(baseURL: server.baseURL, apiKey: key, client: client())
    }

    let messages: [ChatMessage] = [.system("Be terse."), .user("Say \"hi\"\n"), .assistant("hi"), .user("again")]

    func request(grammar: String? = nil, schema: JSON? = nil) -> ChatRequest {
        ChatRequest(model: "gpt-4o-mini", messages: messages, temperature: 0.2, maxTokens: 64,
                    purpose: .generate, grammar: grammar, jsonSchema: schema)
    }

    static let openAIReply = #"{"id":"c1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":17,"completion_tokens":3,"total_tokens":20}}"#

    func body(_ i: Int = 0) -> String { String(decoding: server.requests[i].body, as: UTF8.self) }

    func llmError(_ f: () throws -> ChatResponse, file: StaticString = #filePath, line: UInt = #line) -> LLMError? {
        do {
            let r = try f()
            XCTFail("expected an LLMError, got \(r.text)", file: file, line: line)
        } catch let e as LLMError {
            return e
        } catch {
            XCTFail("expected an LLMError, got \(error)", file: file, line: line)
        }
        return nil
    }

    // MARK: OpenAI format

    func testOpenAIRequestAndReply() throws {
        server.enqueue(.ok(Self.openAIReply))
        let resp = try openAI().complete(request())
        XCTAssertEqual(resp.text, "Hello there")
        XCTAssertEqual(resp.inputTokens, 17)
        XCTAssertEqual(resp.outputTokens, 3)
        XCTAssertFalse(resp.tokensEstimated)
        XCTAssertEqual(resp.model, "gpt-4o-mini-2024-07-18")
        XCTAssertEqual(resp.raw, Array(Self.openAIReply.utf8))
        XCTAssertGreaterThanOrEqual(resp.latencySeconds, 0)

        let seen = server.requests
        XCTAssertEqual(seen.count, 1)
        XCTAssertEqual(seen[0].method, "POST")
        XCTAssertEqual(seen[0].path, "/v1/chat/completions")
        XCTAssertEqual(seen[0].header("authorization"), "Bearer \(key)")
        XCTAssertEqual(seen[0].header("content-type"), "application/json")
        XCTAssertNil(seen[0].header("api-key"))
        XCTAssertEqual(body(), #"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Say \"hi\"\n"},{"role":"assistant","content":"hi"},{"role":"user","content":"again"}],"temperature":0.2,"max_tokens":64}"#)
    }

    func testOpenAIGrammarAndSchema() throws {
        server.enqueue(.ok(Self.openAIReply))
        let schema = try JSONParser.parse(#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#)
        _ = try openAI().complete(request(grammar: "root ::= \"yes\" | \"no\"", schema: schema))
        XCTAssertEqual(body(), #"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Say \"hi\"\n"},{"role":"assistant","content":"hi"},{"role":"user","content":"again"}],"temperature":0.2,"max_tokens":64,"grammar":"root ::= \"yes\" | \"no\"","response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}}}"#)
    }

    func testOpenAIMissingUsageIsEstimated() throws {
        server.enqueue(.ok(#"{"choices":[{"message":{"role":"assistant","content":"abcdefghi"}}]}"#))
        let r = ChatRequest(model: "local", messages: [.user("12345678")])
        let resp = try openAI().complete(r)
        XCTAssertEqual(resp.text, "abcdefghi")
        XCTAssertTrue(resp.tokensEstimated)
        XCTAssertEqual(resp.inputTokens, 2)   // 8 bytes / 4
        XCTAssertEqual(resp.outputTokens, 3)  // 9 bytes, rounded up
        XCTAssertEqual(resp.model, "local")
        XCTAssertEqual(body(), #"{"model":"local","messages":[{"role":"user","content":"12345678"}],"temperature":0,"max_tokens":1024}"#)
    }

    func testOpenAIWithoutKeySendsNoAuthorization() throws {
        server.enqueue(.ok(Self.openAIReply))
        let p = OpenAICompatibleProvider(baseURL: server.baseURL + "/v1", apiKey: "", client: client())
        _ = try p.complete(request())
        XCTAssertNil(server.requests[0].header("authorization"))
    }

    func testAzureURLAndHeader() throws {
        server.enqueue(.ok(Self.openAIReply))
        let p = OpenAICompatibleProvider(baseURL: server.baseURL, apiKey: key,
                                         azure: (deployment: "my-gpt4o", apiVersion: "2024-06-01"), client: client())
        XCTAssertEqual(p.name, "azure-openai")
        let resp = try p.complete(request())
        XCTAssertEqual(resp.text, "Hello there")
        let seen = server.requests[0]
        XCTAssertEqual(seen.path, "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-06-01")
        XCTAssertEqual(seen.header("api-key"), key)
        XCTAssertNil(seen.header("authorization"))
    }

    // MARK: Anthropic format

    func testAnthropicRequestAndReply() throws {
        let reply = #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"Hello"},{"type":"tool_use","id":"t","name":"x","input":{}},{"type":"text","text":", world"}],"stop_reason":"end_turn","usage":{"input_tokens":21,"output_tokens":5}}"#
        server.enqueue(.ok(reply))
        let r = ChatRequest(model: "claude-3-5-haiku-latest",
                            messages: [.system("Be terse."), .user("hi"), .system("No emoji."), .assistant("yo"), .user("again")],
                            temperature: 0.5, maxTokens: 100, purpose: .oracle)
        let resp = try anthropic().complete(r)
        XCTAssertEqual(resp.text, "Hello, world")
        XCTAssertEqual(resp.inputTokens, 21)
        XCTAssertEqual(resp.outputTokens, 5)
        XCTAssertFalse(resp.tokensEstimated)
        XCTAssertEqual(resp.model, "claude-3-5-haiku-20241022")

        let seen = server.requests[0]
        XCTAssertEqual(seen.method, "POST")
        XCTAssertEqual(seen.path, "/v1/messages")
        XCTAssertEqual(seen.header("x-api-key"), key)
        XCTAssertEqual(seen.header("anthropic-version"), "2023-06-01")
        XCTAssertEqual(seen.header("content-type"), "application/json")
        XCTAssertNil(seen.header("authorization"))
        XCTAssertEqual(body(), #"{"model":"claude-3-5-haiku-latest","max_tokens":100,"system":"Be terse.\n\nNo emoji.","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","content":"again"}],"temperature":0.5}"#)
    }

    func testAnthropicWithoutSystemOmitsIt() throws {
        server.enqueue(.ok(#"{"content":[{"type":"text","text":"ok"}]}"#))
        let resp = try anthropic().complete(ChatRequest(model: "m", messages: [.user("hi")], maxTokens: 8))
        XCTAssertEqual(resp.text, "ok")
        XCTAssertTrue(resp.tokensEstimated)
        XCTAssertEqual(resp.outputTokens, 1)
        XCTAssertEqual(body(), #"{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"temperature":0}"#)
    }

    func testAnthropicMissingContentAndNoText() {
        server.enqueue(.ok(#"{"id":"x","usage":{"input_tokens":1,"output_tokens":1}}"#),
                       .ok(#"{"content":[{"type":"tool_use","id":"t","name":"x","input":{}}]}"#),
                       .ok(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#))
        let p = anthropic()
        let r = ChatRequest(model: "m", messages: [.user("hi")])
        XCTAssertEqual(llmError { try p.complete(r) }, .missingField(provider: "anthropic", "content"))
        XCTAssertEqual(llmError { try p.complete(r) }, .emptyCompletion(provider: "anthropic"))
        let e = llmError { try p.complete(r) }
        XCTAssertEqual(e, .apiError(provider: "anthropic", "Overloaded"))
        XCTAssertEqual(e?.description, "anthropic: API error: Overloaded")
    }

    // MARK: Bad responses

    func testMalformedJSON() {
        server.enqueue(.ok(#"{"choices": [ {"message": }"#))
        let e = llmError { try openAI().complete(request()) }
        guard case .malformedJSON(let p, _)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(p, "openai")
        XCTAssertTrue(e!.description.hasPrefix("openai: response is not valid JSON: "), e!.description)
    }

    func testTruncatedJSONBody() {
        // A complete HTTP exchange whose JSON stops half-way.
        let cut = String(Self.openAIReply.prefix(60))
        server.enqueue(.ok(cut))
        let e = llmError { try openAI().complete(request()) }
        guard case .malformedJSON? = e else { return XCTFail("\(String(describing: e))") }
    }

    func testTruncatedTransferIsHTTPError() {
        // Content-Length promises more than is sent: curl reports a partial transfer.
        server.enqueue(.truncated(declared: 500, sent: Array(Self.openAIReply.prefix(40).utf8)))
        let e = llmError { try openAI(maxAttempts: 1).complete(request()) }
        guard case .http(let p, .network(let code, _))? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(p, "openai")
        XCTAssertEqual(code, 18)
    }

    func testEmptyBody() {
        server.enqueue(.ok(""))
        let e = llmError { try openAI().complete(request()) }
        XCTAssertEqual(e, .malformedJSON(provider: "openai", "empty body"))
    }

    func testMissingChoicesAndContent() {
        server.enqueue(.ok(#"{"id":"x"}"#),
                       .ok(#"{"choices":[]}"#),
                       .ok(#"{"choices":[{"message":{"role":"assistant"}}]}"#),
                       .ok(#"{"choices":[{"message":{"role":"assistant","content":null,"refusal":"no"}}]}"#),
                       .ok(#"{"choices":[{"message":{"role":"assistant","content":""}}]}"#),
                       .ok(#"[1,2]"#),
                       .ok(#"{"choices":{"a":1}}"#),
                       .ok(#"{"error":{"message":"model not found","type":"invalid_request_error"}}"#))
        let p = openAI()
        XCTAssertEqual(llmError { try p.complete(request()) }, .missingField(provider: "openai", "choices"))
        XCTAssertEqual(llmError { try p.complete(request()) }, .missingField(provider: "openai", "choices[0]"))
        XCTAssertEqual(llmError { try p.complete(request()) },
                       .missingField(provider: "openai", "choices[0].message.content"))
        XCTAssertEqual(llmError { try p.complete(request()) }, .emptyCompletion(provider: "openai"))
        XCTAssertEqual(llmError { try p.complete(request()) }, .emptyCompletion(provider: "openai"))
        XCTAssertEqual(llmError { try p.complete(request()) },
                       .malformedJSON(provider: "openai", "expected an object, got an array"))
        XCTAssertEqual(llmError { try p.complete(request()) }, .missingField(provider: "openai", "choices array"))
        XCTAssertEqual(llmError { try p.complete(request()) }, .apiError(provider: "openai", "model not found"))
        XCTAssertEqual(LLMError.missingField(provider: "openai", "choices").description, "openai: response has no choices")
        XCTAssertEqual(LLMError.emptyCompletion(provider: "openai").description, "openai: the completion is empty")
    }

    func testNonUTF8Body() {
        server.enqueue(.respond(200, [], [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]))
        let e = llmError { try openAI().complete(request()) }
        XCTAssertEqual(e, .nonUTF8(provider: "openai", bytes: 6))
        XCTAssertEqual(e?.description, "openai: response body (6 bytes) is not valid UTF-8")
    }

    func testHTTPErrorStatus() {
        server.enqueue(.status(400, #"{"error":{"message":"bad max_tokens"}}"#))
        let e = llmError { try openAI().complete(request()) }
        XCTAssertEqual(e, .http(provider: "openai", .status(400, #"{"error":{"message":"bad max_tokens"}}"#)))
        XCTAssertEqual(server.requests.count, 1)
    }

    // MARK: Retry

    func test429WithRetryAfterThenSuccess() throws {
        server.enqueue(.status(429, "rate limited", headers: [("Retry-After", "2")]), .ok(Self.openAIReply))
        let resp = try openAI().complete(request())
        XCTAssertEqual(resp.text, "Hello there")
        XCTAssertEqual(server.requests.count, 2)
        XCTAssertEqual(body(0), body(1))
        XCTAssertEqual(sleeps.recorded, [2])
    }

    func testPersistent429IsHTTPError() {
        server.enqueue(.status(429, "rate limited", headers: [("Retry-After", "1")]), times: 3)
        let e = llmError { try anthropic().complete(request()) }
        XCTAssertEqual(e, .http(provider: "anthropic", .status(429, "rate limited")))
        XCTAssertEqual(sleeps.recorded, [1, 1])
    }

    // MARK: Secrets

    func testKeyNeverInErrors() {
        let echo = "invalid key \(key)"
        server.enqueue(.status(401, echo),
                       .ok("{\"oops\": \(key)"),
                       .ok(#"{"error":{"message":"Incorrect API key provided: \#(key)"}}"#),
                       .status(401, echo),
                       .ok(#"{"error":{"message":"bad key \#(key)"}}"#))
        var texts: [String] = []
        let o = openAI()
        for _ in 0..<3 {
            if let e = llmError({ try o.complete(request()) }) {
                texts.append(e.description)
                texts.append(e.localizedDescription)
                texts.append(String(reflecting: e))
            }
        }
        let a = anthropic()
        for _ in 0..<2 {
            if let e = llmError({ try a.complete(request()) }) {
                texts.append(e.description)
                texts.append(String(reflecting: e))
            }
        }
        XCTAssertEqual(texts.count, 3 * 3 + 2 * 2)
        for t in texts {
            XCTAssertFalse(t.contains(key), t)
            XCTAssertFalse(t.contains("SECRET"), t)
        }
        XCTAssertTrue(texts[0].contains("[redacted]"), texts[0])
        XCTAssertTrue(texts[6].contains("Incorrect API key provided: [redacted]"), texts[6])
    }

    // MARK: Ledger

    func testLedgerRecordsSuccessesAndFailures() {
        server.enqueue(.ok(Self.openAIReply),
                       .ok(#"{"choices":[{"message":{"content":"12345678"}}]}"#),
                       .status(404, "no such model"))
        let llm = LLMClient(provider: openAI(),
                            pricing: ["gpt-4o-mini": Pricing(inputPerMillion: 0.15, outputPerMillion: 0.60)])
        XCTAssertNoThrow(try llm.complete(request()))
        var r2 = ChatRequest(model: "gpt-4o-mini", messages: [.user("1234")], purpose: .repair)
        XCTAssertNoThrow(try llm.complete(r2))
        r2.model = "unpriced"
        r2.purpose = .oracle
        XCTAssertThrowsError(try llm.complete(r2))

        let l = llm.ledger
        XCTAssertEqual(l.count, 3)
        XCTAssertEqual(l[0].provider, "openai")
        XCTAssertEqual(l[0].model, "gpt-4o-mini")
        XCTAssertEqual(l[0].purpose, .generate)
        XCTAssertEqual(l[0].inputTokens, 17)
        XCTAssertEqual(l[0].outputTokens, 3)
        XCTAssertFalse(l[0].tokensEstimated)
        XCTAssertEqual(l[0].outcome, .success)
        XCTAssertEqual(l[0].cost!, (17 * 0.15 + 3 * 0.60) / 1e6, accuracy: 1e-15)

        XCTAssertEqual(l[1].purpose, .repair)
        XCTAssertTrue(l[1].tokensEstimated)
        XCTAssertEqual(l[1].inputTokens, 1)
        XCTAssertEqual(l[1].outputTokens, 2)
        XCTAssertEqual(l[1].cost!, (1 * 0.15 + 2 * 0.60) / 1e6, accuracy: 1e-15)

        XCTAssertEqual(l[2].model, "unpriced")
        XCTAssertEqual(l[2].purpose, .oracle)
        XCTAssertFalse(l[2].succeeded)
        XCTAssertEqual(l[2].outcome, .failure("openai: HTTP status 404: no such model"))
        XCTAssertNil(l[2].cost)
        XCTAssertEqual(l[2].inputTokens, 0)
        XCTAssertEqual(llm.totalCost, l[0].cost! + l[1].cost!, accuracy: 1e-15)
    }

    func testLedgerFailureWithPricingCostsZero() {
        server.enqueue(.ok("not json"))
        let llm = LLMClient(provider: anthropic(), defaultPricing: Pricing(inputPerMillion: 3, outputPerMillion: 15))
        XCTAssertThrowsError(try llm.complete(request()))
        XCTAssertEqual(llm.ledger.count, 1)
        XCTAssertEqual(llm.ledger[0].provider, "anthropic")
        XCTAssertEqual(llm.ledger[0].cost, 0)
        guard case .failure(let m) = llm.ledger[0].outcome else { return XCTFail() }
        XCTAssertTrue(m.hasPrefix("anthropic: response is not valid JSON"), m)
    }

    func testPricing() {
        let p = Pricing(inputPerMillion: 2.5, outputPerMillion: 10)
        XCTAssertEqual(p.cost(inputTokens: 1_000_000, outputTokens: 0), 2.5, accuracy: 1e-12)
        XCTAssertEqual(p.cost(inputTokens: 2000, outputTokens: 500), 0.01, accuracy: 1e-12)
        XCTAssertEqual(p.cost(inputTokens: 0, outputTokens: 0), 0)
    }

    // MARK: Environment, end to end

    func testProvidersFromEnvironmentTalkToStub() throws {
        server.enqueue(.ok(Self.openAIReply), .ok(#"{"content":[{"type":"text","text":"A"}],"usage":{"input_tokens":2,"output_tokens":1}}"#))
        let ps = try LLMConfiguration.fromEnvironment([
            "OPENAI_BASE_URL": server.baseURL + "/v1", "OPENAI_API_KEY": key,
            "ANTHROPIC_BASE_URL": server.baseURL, "ANTHROPIC_API_KEY": "ant-key",
        ], client: client())
        XCTAssertEqual(ps.map(\.name), ["openai", "anthropic"])
        XCTAssertEqual(try ps[0].complete(request()).text, "Hello there")
        XCTAssertEqual(try ps[1].complete(request()).text, "A")
        XCTAssertEqual(server.requests.map(\.path), ["/v1/chat/completions", "/v1/messages"])
        XCTAssertEqual(server.requests[0].header("authorization"), "Bearer \(key)")
        XCTAssertEqual(server.requests[1].header("x-api-key"), "ant-key")
    }
}
