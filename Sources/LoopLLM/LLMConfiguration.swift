#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Provider configuration from the environment.
///
/// - OpenAI-compatible: `OPENAI_BASE_URL` (default `https://api.openai.com/v1`) with
///   `OPENAI_API_KEY` or `OPENAI_API_KEY_FILE`. When `OPENAI_BASE_URL` is set explicitly but no
///   key is given, the provider is still configured without `Authorization` (a local llama.cpp).
/// - Anthropic: `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`) with
///   `ANTHROPIC_API_KEY` or `ANTHROPIC_API_KEY_FILE`.
/// - Azure OpenAI: `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY` (or `_FILE`),
///   `AZURE_OPENAI_DEPLOYMENT`, `OPENAI_API_VERSION` (default `2024-06-01`).
///
/// Empty values count as unset. A key file must be readable by its owner only (see `loadKey`).
public enum LLMConfiguration {
    public static let defaultOpenAIBaseURL = "https://api.openai.com/v1"
    public static let defaultAnthropicBaseURL = "https://api.anthropic.com"
    public static let defaultAzureAPIVersion = "2024-06-01"

    /// The providers the environment configures, in the order OpenAI, Anthropic, Azure.
    public static func fromEnvironment(_ env: [String: String], client: HTTPClient = HTTPClient()) throws -> [LLMProvider] {
        func value(_ k: String) -> String? {
            guard let v = env[k]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
            return v
        }
        func key(_ name: String) throws -> String? {
            if let k = value(name) { return k }
            if let path = value(name + "_FILE") { return try loadKey(fromFile: path) }
            return nil
        }
        var out: [LLMProvider] = []
        let openAIKey = try key("OPENAI_API_KEY")
        if openAIKey != nil || value("OPENAI_BASE_URL") != nil {
            out.append(OpenAICompatibleProvider(baseURL: value("OPENAI_BASE_URL") ?? defaultOpenAIBaseURL,
                                                apiKey: openAIKey ?? "", client: client))
        }
        if let k = try key("ANTHROPIC_API_KEY") {
            out.append(AnthropicProvider(baseURL: value("ANTHROPIC_BASE_URL") ?? defaultAnthropicBaseURL,
                                         apiKey: k, client: client))
        }
        if let endpoint = value("AZURE_OPENAI_ENDPOINT") {
            guard let k = try key("AZURE_OPENAI_API_KEY") else {
                throw LLMError.configuration("AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_API_KEY is not")
            }
            guard let dep = value("AZURE_OPENAI_DEPLOYMENT") else {
                throw LLMError.configuration("AZURE_OPENAI_ENDPOINT is set but AZURE_OPENAI_DEPLOYMENT is not")
            }
            out.append(OpenAICompatibleProvider(
                baseURL: endpoint, apiKey: k,
                azure: (deployment: dep, apiVersion: value("OPENAI_API_VERSION") ?? defaultAzureAPIVersion),
                client: client))
        }
        return out
    }

    /// Reads an API key from a file: the first line, trimmed. Refuses a file that is not a
    /// regular file or that grants any permission to group or others (mode & 0o077 != 0);
    /// the error names the path and mode, never the content.
    public static func loadKey(fromFile path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw LLMError.configuration("cannot read key file \(path): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw LLMError.configuration("key file \(path) is not a regular file")
        }
        let perms = Int(st.st_mode) & 0o777
        if perms & 0o077 != 0 {
            throw LLMError.configuration(
                "key file \(path) has mode 0\(String(perms, radix: 8)) and is accessible by group/others; "
                    + "run `chmod 600 \(path)`")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LLMError.configuration("cannot read key file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw LLMError.configuration("key file \(path) is not UTF-8 text")
        }
        let first = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).first.map(String.init) ?? ""
        let k = first.trimmingCharacters(in: .whitespaces)
        if k.isEmpty { throw LLMError.configuration("key file \(path) is empty") }
        return k
    }
}
