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
