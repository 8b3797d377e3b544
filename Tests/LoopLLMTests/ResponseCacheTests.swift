import Foundation
import LoopData
import LoopLLM
import TestSupport
import XCTest

/// The same question is never paid for twice, and offline mode answers only from the cache.
final class ResponseCacheTests: XCTestCase {
    static let reply = #"{"choices":[{"message":{"role":"assistant","content":"spam"}}],"usage":{"prompt_tokens":9,"completion_tokens":1},"model":"m1"}"#

    func provider(_ server: StubServer) -> OpenAICompatibleProvider {
        var c = HTTPClient.Configuration()
        c.maxAttempts = 1
        c.noProxy = "127.0.0.1,localhost,::1"
        return OpenAICompatibleProvider(baseURL: server.baseURL + "/v1", apiKey: "sk-cache", client: HTTPClient(configuration: c))
    }

    func tempDir() -> String { FileManager.default.temporaryDirectory.appendingPathComponent("loopai-cache-\(UUID().uuidString)").path }

    func testSecondIdenticalRequestIsAnsweredFromTheCache() throws {
        let server = try StubServer()
        defer { server.stop() }
        server.enqueue(.ok(Self.reply))
        let dir = tempDir()
        let cached = CachingProvider(provider(server), cache: try ResponseCache(directory: dir))
        let r = ChatRequest(model: "m1", messages: [.user("WINNER!! call now")], maxTokens: 5, purpose: .oracle)
        let first = try cached.complete(r)
        let second = try cached.complete(r)
        XCTAssertEqual(first.text, "spam")
        XCTAssertEqual(second.text, "spam")
        XCTAssertEqual(second.inputTokens, 9)
        XCTAssertEqual(server.requests.count, 1, "the second answer must come from the cache")
        XCTAssertEqual(cached.hits, 1)
        XCTAssertEqual(cached.misses, 1)

        // A new process (a new cache object on the same directory) still has the answer, offline.
        let offline = CachingProvider(provider(server), cache: try ResponseCache(directory: dir), offline: true)
        XCTAssertEqual(try offline.complete(r).text, "spam")
        XCTAssertEqual(server.requests.count, 1)

        // Any change to the request is a different question.
        var other = r
        other.temperature = 0.5
        XCTAssertThrowsError(try offline.complete(other)) { e in
            XCTAssertEqual(e as? LLMError, .notCached(provider: "openai", model: "m1"))
        }
        XCTAssertEqual(server.requests.count, 1, "offline never calls the provider")
    }

    func testCachedAnswersAreFreeInTheLedger() throws {
        let server = try StubServer()
        defer { server.stop() }
        server.enqueue(.ok(Self.reply))
        let cached = CachingProvider(provider(server), cache: try ResponseCache(directory: tempDir()))
        let client = LLMClient(provider: cached, defaultPricing: Pricing(inputPerMillion: 1_000_000, outputPerMillion: 1_000_000))
        let r = ChatRequest(model: "m1", messages: [.user("free?")], purpose: .oracle)
        _ = try client.complete(r)
        _ = try client.complete(r)
        XCTAssertEqual(client.ledger.map(\.cached), [false, true])
        XCTAssertEqual(client.ledger.map(\.cost), [10, 0], "9 + 1 tokens at 1 per token, then nothing")
    }

    func testKeysDistinguishProviderModelAndMessages() {
        let a = ChatRequest(model: "m1", messages: [.user("x")])
        var b = a; b.model = "m2"
        var c = a; c.messages = [.system("x")]
        let keys = Set([ResponseCache.key(provider: "p", a), ResponseCache.key(provider: "q", a),
                        ResponseCache.key(provider: "p", b), ResponseCache.key(provider: "p", c)])
        XCTAssertEqual(keys.count, 4)
    }
}
