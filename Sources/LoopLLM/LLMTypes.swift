import Foundation
import LoopData

/// One chat message.
public struct ChatMessage: Equatable, Sendable {
    public enum Role: String, Sendable {
        case system, user, assistant
    }

    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ s: String) -> ChatMessage { ChatMessage(role: .system, content: s) }
    public static func user(_ s: String) -> ChatMessage { ChatMessage(role: .user, content: s) }
    public static func assistant(_ s: String) -> ChatMessage { ChatMessage(role: .assistant, content: s) }
}

/// Why a call is made (recorded in the ledger).
public enum CallPurpose: String, Sendable {
    case generate, repair, oracle
}

/// A provider-neutral chat completion request.
public struct ChatRequest: Sendable {
    public var model: String
    public var messages: [ChatMessage]
    public var temperature: Double
    public var maxTokens: Int
    public var purpose: CallPurpose
    /// A GBNF grammar constraining the output (llama.cpp server's `grammar` field).
    public var grammar: String?
    /// A JSON Schema for structured output (OpenAI `response_format` json_schema).
    public var jsonSchema: JSON?

    public init(model: String, messages: [ChatMessage], temperature: Double = 0, maxTokens: Int = 1024,
                purpose: CallPurpose = .generate, grammar: String? = nil, jsonSchema: JSON? = nil) {
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.purpose = purpose
        self.grammar = grammar
        self.jsonSchema = jsonSchema
    }
}

/// A parsed completion.
public struct ChatResponse: Sendable {
    public var text: String
    public var inputTokens: Int
    public var outputTokens: Int
    /// True when the provider reported no usage and the counts were estimated (see `TokenEstimate`).
    public var tokensEstimated: Bool
    /// The model that answered (as reported by the provider, else the requested one).
    public var model: String
    /// Wall-clock seconds of the HTTP exchange, retries and backoff included.
    public var latencySeconds: Double
    /// The raw response body.
    public var raw: [UInt8]
    /// True when the answer came from the response cache (nothing was paid for it).
    public var fromCache: Bool

    public init(text: String, inputTokens: Int, outputTokens: Int, tokensEstimated: Bool, model: String,
                latencySeconds: Double, raw: [UInt8], fromCache: Bool = false) {
        self.fromCache = fromCache
        self.text = text
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.tokensEstimated = tokensEstimated
        self.model = model
        self.latencySeconds = latencySeconds
        self.raw = raw
    }
}

/// A chat-completion backend.
public protocol LLMProvider {
    var name: String { get }
    func complete(_ r: ChatRequest) throws -> ChatResponse
}

/// Token estimation when a provider reports no usage: about 4 UTF-8 bytes per token, rounded
/// up (a non-empty text is at least 1 token). Input counts the contents of all messages.
public enum TokenEstimate {
    public static let bytesPerToken = 4

    public static func tokens(_ s: String) -> Int {
        let n = s.utf8.count
        return (n + bytesPerToken - 1) / bytesPerToken
    }

    public static func input(_ messages: [ChatMessage]) -> Int {
        tokens(messages.map(\.content).joined())
    }
}

/// Errors of the providers. Messages never contain API keys: HTTP errors come redacted from
/// `HTTPClient`, and every other message is built without response or key text, then passed
/// through `redact` with the provider's key once more.
public enum LLMError: Error, Equatable, CustomStringConvertible {
    /// The provider answered, but not with a usable completion (malformed or truncated JSON, a
    /// missing field, non-UTF-8, an empty completion): asking again may work.
    public var isMalformedReply: Bool {
        switch self {
        case .nonUTF8, .malformedJSON, .missingField, .emptyCompletion: return true
        default: return false
        }
    }

    /// The HTTP exchange failed (transport, timeout, non-2xx after retries).
    case http(provider: String, HTTPError)
    /// The body is not valid UTF-8.
    case nonUTF8(provider: String, bytes: Int)
    /// The body is not valid JSON (malformed or truncated).
    case malformedJSON(provider: String, String)
    /// A required field is missing or has the wrong type (path like `choices[0].message.content`).
    case missingField(provider: String, String)
    /// The completion text is empty.
    case emptyCompletion(provider: String)
    /// The provider answered with an `error` object.
    case apiError(provider: String, String)
    /// Bad configuration (environment, URL, key file).
    case configuration(String)
    /// Offline mode: the response cache has no answer for this exact request.
    case notCached(provider: String, model: String)

    public var description: String {
        switch self {
        case .http(let p, let e): return "\(p): \(e.description)"
        case .nonUTF8(let p, let n): return "\(p): response body (\(n) bytes) is not valid UTF-8"
        case .malformedJSON(let p, let m): return "\(p): response is not valid JSON: \(m)"
        case .missingField(let p, let f): return "\(p): response has no \(f)"
        case .emptyCompletion(let p): return "\(p): the completion is empty"
        case .apiError(let p, let m): return "\(p): API error: \(m)"
        case .configuration(let m): return "LLM configuration: \(m)"
        case .notCached(let p, let m): return "\(p): offline, and no cached answer for this request to \(m)"
        }
    }

    /// The same error with every occurrence of `secrets` removed from its text payloads.
    func redacted(_ secrets: [String]) -> LLMError {
        let s = secrets.filter { !$0.isEmpty }
        if s.isEmpty { return self }
        func r(_ x: String) -> String { redact(x, secrets: s) }
        switch self {
        case .http(let p, let e):
            switch e {
            case .invalidRequest(let m): return .http(provider: p, .invalidRequest(r(m)))
            case .insecureHTTP(let m): return .http(provider: p, .insecureHTTP(r(m)))
            case .timeout(let m, let after): return .http(provider: p, .timeout(r(m), after: after))
            case .network(let c, let m): return .http(provider: p, .network(c, r(m)))
            case .status(let c, let m): return .http(provider: p, .status(c, r(m)))
            case .tooLarge: return self
            }
        case .malformedJSON(let p, let m): return .malformedJSON(provider: p, r(m))
        case .missingField(let p, let m): return .missingField(provider: p, r(m))
        case .apiError(let p, let m): return .apiError(provider: p, r(m))
        case .configuration(let m): return .configuration(r(m))
        case .nonUTF8, .emptyCompletion, .notCached: return self
        }
    }
}

extension LLMError: LocalizedError {
    public var errorDescription: String? { description }
}

// MARK: Shared helpers

enum ProviderSupport {
    /// `base` without trailing slashes.
    static func trimBase(_ base: String) -> String {
        var b = base
        while b.hasSuffix("/") { b.removeLast() }
        return b
    }

    /// Sends and decodes the body as JSON, mapping failures to `LLMError`.
    static func exchange(_ request: HTTPRequest, client: HTTPClient, provider: String) throws -> (HTTPResponse, JSON) {
        let response: HTTPResponse
        switch client.sendResult(request) {
        case .success(let r): response = r
        case .failure(let e): throw LLMError.http(provider: provider, e)
        }
        guard response.text != nil else {
            throw LLMError.nonUTF8(provider: provider, bytes: response.body.count)
        }
        let json: JSON
        do {
            json = try JSONParser.parse(response.body)
        } catch let e as JSONError {
            let what = response.body.isEmpty ? "empty body" : "\(e.description) (body of \(response.body.count) bytes)"
            throw LLMError.malformedJSON(provider: provider, what)
        }
        if case .object = json {} else {
            throw LLMError.malformedJSON(provider: provider, "expected an object, got \(json.kindName)")
        }
        return (response, json)
    }

    /// An `error` object's message, if the body carries one.
    /// Runs a provider call and strips its secrets from any error it throws.
    static func redacting<T>(_ secrets: [String], _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as LLMError { throw e.redacted(secrets) }
    }

    /// A top-level field of a reply; a missing one is the API's own error message when the reply
    /// carries one, else `missingField`.
    static func required(_ json: JSON, _ key: String, provider: String) throws -> JSON {
        guard let v = json[key] else {
            if let m = apiErrorMessage(json) { throw LLMError.apiError(provider: provider, m) }
            throw LLMError.missingField(provider: provider, key)
        }
        return v
    }

    static func apiErrorMessage(_ json: JSON) -> String? {
        guard let err = json["error"] else { return nil }
        if let m = err["message"]?.string { return String(m.prefix(300)) }
        if let m = err.string { return String(m.prefix(300)) }
        return "unspecified error"
    }

    static func int(_ v: JSON?) -> Int? {
        guard let x = v?.number, x.isFinite, x >= 0, x < 1e15 else { return nil }
        return Int(x)
    }
}
