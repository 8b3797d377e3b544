import Foundation
import LoopLLM
import LoopTask

/// A provider made from a task file's endpoint, command-line overrides and the environment:
/// each field comes from the flags, else the task file, else the conventional environment
/// variables (OPENAI_BASE_URL / OPENAI_API_KEY, ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY and their
/// *_FILE variants).
public struct ResolvedLLM {
    public var provider: LLMProvider
    public var kind: ProviderKind
    public var model: String
    public var baseURL: String
    public var pricing: Pricing?
    public var temperature: Double
    /// Where the key came from, for messages (never the key).
    public var keySource: String
    public var allowInsecureHTTP: Bool

    public func client(keepsLedger: Bool = true) -> LLMClient { LLMClient(provider: provider, defaultPricing: pricing, keepsLedger: keepsLedger) }

    /// True for endpoints known to accept JSON-schema structured output (`response_format`):
    /// OpenAI's own API and Azure OpenAI. Other compatible servers differ, so they are not asked.
    public var supportsStructuredOutput: Bool {
        kind == .openai && (baseURL.hasPrefix("https://api.openai.com") || baseURL.contains(".openai.azure.com"))
    }
}

/// A provider is named (by the task or a flag) but has no key: callers that may fall back to
/// the inducer do so; the others report the message.
public struct ProviderUnconfigured: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

public enum ProviderFactory {
    public static let defaultModels: [ProviderKind: String] = [.openai: "gpt-4o-mini", .anthropic: "claude-3-5-haiku-latest"]

    /// Merges `overrides` (flags) over `task` (the task file). Returns nil when no provider is
    /// configured anywhere (the caller falls back to the inducer or reports it).
    public static func resolve(task: LLMEndpoint, overrides: LLMEndpoint, environment env: [String: String],
                               http: HTTPClient.Configuration = HTTPClient.Configuration()) throws -> ResolvedLLM? {
        func value(_ k: String) -> String? {
            guard let v = env[k]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
            return v
        }
        let kind: ProviderKind
        if let k = overrides.provider ?? task.provider { kind = k }
        else if value("OPENAI_API_KEY") != nil || value("OPENAI_API_KEY_FILE") != nil || value("OPENAI_BASE_URL") != nil { kind = .openai }
        else if value("ANTHROPIC_API_KEY") != nil || value("ANTHROPIC_API_KEY_FILE") != nil { kind = .anthropic }
        else if value("AZURE_OPENAI_ENDPOINT") != nil { kind = .openai }
        else { return nil }

        // Azure OpenAI: its own URL scheme and header, from AZURE_OPENAI_* when nothing names
        // another OpenAI-compatible server.
        if kind == .openai, overrides.baseURL == nil, task.baseURL == nil, value("OPENAI_BASE_URL") == nil, value("OPENAI_API_KEY") == nil,
           value("OPENAI_API_KEY_FILE") == nil, let endpoint = value("AZURE_OPENAI_ENDPOINT") {
            guard let deployment = value("AZURE_OPENAI_DEPLOYMENT") else {
                throw LLMError.configuration("AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_DEPLOYMENT is not")
            }
            var azureKey: String? = value("AZURE_OPENAI_API_KEY")
            if azureKey == nil, let file = value("AZURE_OPENAI_API_KEY_FILE") { azureKey = try LLMConfiguration.loadKey(fromFile: file) }
            guard let k = azureKey else { throw ProviderUnconfigured(message: "AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_API_KEY is not") }
            var config = http
            config.allowInsecureHTTP = overrides.allowInsecureHTTP || task.allowInsecureHTTP || http.allowInsecureHTTP
            config.secrets.append(k)
            let provider = OpenAICompatibleProvider(baseURL: endpoint, apiKey: k,
                                                    azure: (deployment: deployment, apiVersion: value("OPENAI_API_VERSION") ?? LLMConfiguration.defaultAzureAPIVersion),
                                                    client: HTTPClient(configuration: config))
            let prices = overrides.prices ?? task.prices
            return ResolvedLLM(provider: provider, kind: .openai, model: overrides.model ?? task.model ?? deployment, baseURL: endpoint,
                               pricing: prices.map { Pricing(inputPerMillion: $0.inputPerMillion, outputPerMillion: $0.outputPerMillion) },
                               temperature: task.temperature, keySource: "$AZURE_OPENAI_API_KEY", allowInsecureHTTP: config.allowInsecureHTTP)
        }

        let prefix = kind == .openai ? "OPENAI" : "ANTHROPIC"
        let baseURL = overrides.baseURL ?? task.baseURL ?? value("\(prefix)_BASE_URL")
            ?? (kind == .openai ? LLMConfiguration.defaultOpenAIBaseURL : LLMConfiguration.defaultAnthropicBaseURL)
        var key: String? = nil
        var keySource = "none"
        // Flags first (a file, then a variable), then the task file (a file, then a variable).
        let keyFile = overrides.apiKeyFile ?? (overrides.apiKeyEnv == nil ? task.apiKeyFile : nil)
        let keyEnv = overrides.apiKeyEnv ?? (overrides.apiKeyFile == nil ? task.apiKeyEnv : nil)
        if let file = keyFile {
            key = try LLMConfiguration.loadKey(fromFile: file); keySource = "file \(file)"
        } else if let name = keyEnv {
            guard let k = value(name) else { throw LLMError.configuration("the key variable \(name) is not set") }
            key = k; keySource = "$\(name)"
        } else if let k = value("\(prefix)_API_KEY") {
            key = k; keySource = "$\(prefix)_API_KEY"
        } else if let file = value("\(prefix)_API_KEY_FILE") {
            key = try LLMConfiguration.loadKey(fromFile: file); keySource = "file \(file) ($\(prefix)_API_KEY_FILE)"
        }
        if kind == .anthropic && key == nil {
            throw ProviderUnconfigured(message: "no Anthropic key: set ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY_FILE, or api_key_env/api_key_file in the task)")
        }
        if kind == .openai && key == nil && baseURL == LLMConfiguration.defaultOpenAIBaseURL {
            throw ProviderUnconfigured(message: "no OpenAI key: set OPENAI_API_KEY (or OPENAI_API_KEY_FILE), or OPENAI_BASE_URL for a local server")
        }
        var config = http
        config.allowInsecureHTTP = overrides.allowInsecureHTTP || task.allowInsecureHTTP || http.allowInsecureHTTP
        if let key { config.secrets.append(key) }
        let client = HTTPClient(configuration: config)
        let provider: LLMProvider = kind == .openai
            ? OpenAICompatibleProvider(baseURL: baseURL, apiKey: key ?? "", client: client)
            : AnthropicProvider(baseURL: baseURL, apiKey: key ?? "", client: client)
        let prices = overrides.prices ?? task.prices
        return ResolvedLLM(provider: provider, kind: kind,
                           model: overrides.model ?? task.model ?? value("LOOPAI_MODEL") ?? defaultModels[kind]!,
                           baseURL: baseURL,
                           pricing: prices.map { Pricing(inputPerMillion: $0.inputPerMillion, outputPerMillion: $0.outputPerMillion) },
                           temperature: task.temperature, keySource: keySource, allowInsecureHTTP: config.allowInsecureHTTP)
    }

    /// True when the server at an OpenAI-compatible base URL is a llama.cpp server (it answers
    /// `GET /props` with its generation settings), so a GBNF grammar can constrain the reply.
    public static func isLlamaCpp(baseURL: String, http: HTTPClient.Configuration = HTTPClient.Configuration()) -> Bool {
        var root = baseURL
        while root.hasSuffix("/") { root.removeLast() }
        if root.hasSuffix("/v1") { root.removeLast(3) }
        var c = http
        c.maxAttempts = 1; c.connectTimeout = 3; c.totalTimeout = 5
        guard let r = try? HTTPClient(configuration: c).send(HTTPRequest(url: root + "/props")), r.status == 200,
              let text = r.text, text.contains("default_generation_settings") else { return false }
        return true
    }
}
