import Foundation
import LoopData

/// The OpenAI chat-completions wire format, also spoken by Azure OpenAI, llama.cpp's server,
/// vLLM, Ollama and others.
///
/// - URL: `{baseURL}/chat/completions`; `baseURL` includes `/v1`, as `OPENAI_BASE_URL` does for
///   the OpenAI SDKs. Azure: `{baseURL}/openai/deployments/{deployment}/chat/completions?api-version=V`.
/// - Auth: `Authorization: Bearer KEY` (none when the key is empty, e.g. a local llama.cpp);
///   Azure: `api-key: KEY`.
/// - Body: `{"model","messages":[{"role","content"}],"temperature","max_tokens"}`, then
///   `"grammar"` (GBNF, llama.cpp) and `"response_format"` (json_schema) when requested.
public struct OpenAICompatibleProvider: LLMProvider {
    public struct Azure: Sendable {
        public var deployment: String
        public var apiVersion: String
        public init(deployment: String, apiVersion: String) {
            self.deployment = deployment
            self.apiVersion = apiVersion
        }
    }

    public let baseURL: String
    let apiKey: String
    public let azure: Azure?
    public let client: HTTPClient
    public let name: String

    public init(baseURL: String, apiKey: String, azure: (deployment: String, apiVersion: String)? = nil,
                client: HTTPClient = HTTPClient(), name: String? = nil) {
        self.baseURL = ProviderSupport.trimBase(baseURL)
        self.apiKey = apiKey
        self.azure = azure.map { Azure(deployment: $0.deployment, apiVersion: $0.apiVersion) }
        self.client = client
        self.name = name ?? (azure == nil ? "openai" : "azure-openai")
    }

    /// The endpoint URL.
    public var endpoint: String {
        if let az = azure {
            let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
            let dep = az.deployment.addingPercentEncoding(withAllowedCharacters: unreserved) ?? az.deployment
            let ver = az.apiVersion.addingPercentEncoding(withAllowedCharacters: unreserved) ?? az.apiVersion
            return "\(baseURL)/openai/deployments/\(dep)/chat/completions?api-version=\(ver)"
        }
        return "\(baseURL)/chat/completions"
    }

    /// The request body, byte-exact.
    public static func body(_ r: ChatRequest) -> String {
        var fields: [(String, JSON)] = [
            ("model", JSON(r.model)),
            ("messages", .array(r.messages.map { .object([("role", JSON($0.role.rawValue)), ("content", JSON($0.content))]) })),
            ("temperature", .number(r.temperature)),
            ("max_tokens", .number(Double(r.maxTokens))),
        ]
        if let g = r.grammar { fields.append(("grammar", JSON(g))) }
        if let schema = r.jsonSchema {
            fields.append(("response_format", .object([
                ("type", JSON("json_schema")),
                ("json_schema", .object([("name", JSON("answer")), ("schema", schema)])),
            ])))
        }
        return JSONWriter.string(.object(fields))
    }

    public func httpRequest(_ r: ChatRequest) -> HTTPRequest {
        var headers: [(String, String)] = []
        if azure != nil {
            headers.append(("api-key", apiKey))
        } else if !apiKey.isEmpty {
            headers.append(("Authorization", "Bearer \(apiKey)"))
        }
        return .postJSON(endpoint, json: Self.body(r), headers: headers)
    }

    public func complete(_ r: ChatRequest) throws -> ChatResponse {
        try ProviderSupport.redacting([apiKey]) { try completeUnredacted(r) }
    }

    private func completeUnredacted(_ r: ChatRequest) throws -> ChatResponse {
        let (response, json) = try ProviderSupport.exchange(httpRequest(r), client: client, provider: name)
        let choices = try ProviderSupport.required(json, "choices", provider: name)
        guard let list = choices.array else { throw LLMError.missingField(provider: name, "choices array") }
        guard let first = list.first else { throw LLMError.missingField(provider: name, "choices[0]") }
        guard let message = first["message"], case .object = message else {
            throw LLMError.missingField(provider: name, "choices[0].message")
        }
        let content = message["content"]
        if content == nil { throw LLMError.missingField(provider: name, "choices[0].message.content") }
        if content == .null { throw LLMError.emptyCompletion(provider: name) }
        guard let text = content?.string else {
            throw LLMError.missingField(provider: name, "string choices[0].message.content")
        }
        if text.isEmpty { throw LLMError.emptyCompletion(provider: name) }

        var input = TokenEstimate.input(r.messages)
        var output = TokenEstimate.tokens(text)
        var estimated = true
        if let usage = json["usage"], let pt = ProviderSupport.int(usage["prompt_tokens"]),
           let ct = ProviderSupport.int(usage["completion_tokens"]) {
            input = pt
            output = ct
            estimated = false
        }
        return ChatResponse(text: text, inputTokens: input, outputTokens: output, tokensEstimated: estimated,
                            model: json["model"]?.string ?? r.model, latencySeconds: response.seconds,
                            raw: response.body)
    }
}
