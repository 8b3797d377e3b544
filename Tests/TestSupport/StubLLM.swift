import LoopLLM

/// Clients for talking to a `StubServer`: loopback without a proxy, no real sleeping between
/// retries, and the tasks' gpt-4o-mini prices.
public enum StubLLM {
    public static func http(maxAttempts: Int = 3, totalTimeout: Double = 5) -> HTTPClient.Configuration {
        var c = HTTPClient.Configuration()
        c.maxAttempts = maxAttempts
        c.baseBackoff = 0.01
        c.maxBackoff = 0.05
        c.totalTimeout = totalTimeout
        c.noProxy = "127.0.0.1,localhost,::1"
        c.sleep = { _ in }
        return c
    }

    /// An OpenAI-compatible client for the stub at `server.baseURL + "/v1"`.
    public static func openAIClient(_ server: StubServer, apiKey: String, http: HTTPClient.Configuration) -> LLMClient {
        LLMClient(provider: OpenAICompatibleProvider(baseURL: server.baseURL + "/v1", apiKey: apiKey, client: HTTPClient(configuration: http)),
                  defaultPricing: Pricing(inputPerMillion: 0.15, outputPerMillion: 0.60))
    }
}

import LoopData

extension StubLLM {
    /// An OpenAI Chat Completions reply carrying `content`.
    public static func openAIReply(_ content: String, usage: (Int, Int) = (120, 40)) -> StubServer.Action {
        .ok(JSONWriter.string(.object([
            ("model", JSON("stub-model")),
            ("choices", .array([.object([("message", .object([("role", JSON("assistant")), ("content", JSON(content))]))])])),
            ("usage", .object([("prompt_tokens", .number(Double(usage.0))), ("completion_tokens", .number(Double(usage.1)))])),
        ])), headers: [("Content-Type", "application/json")])
    }

    /// The messages of an OpenAI-format request.
    public static func messages(_ r: StubServer.Request) -> [(role: String, content: String)] {
        let body = (try? JSONParser.parse(r.body)) ?? .null
        return (body["messages"]?.array ?? []).map { ($0["role"]?.string ?? "", $0["content"]?.string ?? "") }
    }

    /// An oracle that answers every numbered input of a batch (`N: input` lines of the last
    /// message) with `label(inputLine)`, as `{"answers": [...]}`.
    public static func labellingOracle(_ label: @escaping @Sendable (String) -> String) -> @Sendable (StubServer.Request) -> StubServer.Action {
        { r in
            let user = messages(r).last?.content ?? ""
            var answers: [JSON] = []
            for line in user.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":"), let id = Int(line[..<colon]) else { continue }
                answers.append(.object([("id", .number(Double(id))), ("label", JSON(label(String(line))))]))
            }
            return openAIReply(JSONWriter.string(.object([("answers", .array(answers))])), usage: (50, 10))
        }
    }
}
