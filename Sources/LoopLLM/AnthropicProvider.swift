import Foundation
import LoopData

/// The Anthropic Messages API.
///
/// - URL: `{baseURL}/v1/messages` (`ANTHROPIC_BASE_URL` has no `/v1`).
/// - Headers: `x-api-key: KEY`, `anthropic-version: 2023-06-01`.
/// - Body: `{"model","max_tokens","system","messages":[{"role","content"}],"temperature"}`; the
///   system messages are joined with a blank line into `system` (omitted when there are none).
///   `grammar` and `jsonSchema` are not supported by this API and are not sent.
/// - Reply: the `text` of every `content[]` block with `type == "text"`, concatenated;
///   `usage.input_tokens` / `usage.output_tokens`.
public struct AnthropicProvider: LLMProvider {
    public static let apiVersion = "2023-06-01"

    public let baseURL: String
    let apiKey: String
    public let client: HTTPClient
    public let name: String

    public init(baseURL: String, apiKey: String, client: HTTPClient = HTTPClient(), name: String = "anthropic") {
        self.baseURL = ProviderSupport.trimBase(baseURL)
        self.apiKey = apiKey
        self.client = client
        self.name = name
    }

    public var endpoint: String { "\(baseURL)/v1/messages" }

    /// The request body, byte-exact.
    public static func body(_ r: ChatRequest) -> String {
        let system = r.messages.filter { $0.role == .system }.map(\.content)
        var fields: [(String, JSON)] = [
            ("model", JSON(r.model)),
            ("max_tokens", .number(Double(r.maxTokens))),
        ]
        if !system.isEmpty { fields.append(("system", JSON(system.joined(separator: "\n\n")))) }
        let turns = r.messages.filter { $0.role != .system }
        fields.append(("messages", .array(turns.map {
            .object([("role", JSON($0.role.rawValue)), ("content", JSON($0.content))])
        })))
        fields.append(("temperature", .number(r.temperature)))
        return JSONWriter.string(.object(fields))
    }

    public func httpRequest(_ r: ChatRequest) -> HTTPRequest {
        .postJSON(endpoint, json: Self.body(r),
                  headers: [("x-api-key", apiKey), ("anthropic-version", Self.apiVersion)])
    }

    public func complete(_ r: ChatRequest) throws -> ChatResponse {
        try ProviderSupport.redacting([apiKey]) { try completeUnredacted(r) }
    }

    private func completeUnredacted(_ r: ChatRequest) throws -> ChatResponse {
        let (response, json) = try ProviderSupport.exchange(httpRequest(r), client: client, provider: name)
        let content = try ProviderSupport.required(json, "content", provider: name)
        guard let blocks = content.array else { throw LLMError.missingField(provider: name, "content array") }
        var text = ""
        for block in blocks where block["type"]?.string == "text" {
            guard let t = block["text"]?.string else {
                throw LLMError.missingField(provider: name, "text in a content block of type text")
            }
            text += t
        }
        if text.isEmpty { throw LLMError.emptyCompletion(provider: name) }

        var input = TokenEstimate.input(r.messages)
        var output = TokenEstimate.tokens(text)
        var estimated = true
        if let usage = json["usage"], let it = ProviderSupport.int(usage["input_tokens"]),
           let ot = ProviderSupport.int(usage["output_tokens"]) {
            input = it
            output = ot
            estimated = false
        }
        return ChatResponse(text: text, inputTokens: input, outputTokens: output, tokensEstimated: estimated,
                            model: json["model"]?.string ?? r.model, latencySeconds: response.seconds,
                            raw: response.body)
    }
}
