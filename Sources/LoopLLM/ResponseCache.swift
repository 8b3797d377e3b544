import Foundation
import LoopDiagnostics
import LoopData

/// Answers already paid for, on disk: one file per request, keyed by provider, model and the
/// whole request (messages, temperature, token limit, grammar, schema). A hit costs nothing; in
/// offline mode a miss is an error instead of a call. The full key is stored in each file and
/// compared on read, so a hash collision is a miss, never a wrong answer.
public final class ResponseCache: @unchecked Sendable {
    public let directory: String
    let lock = NSLock()

    public init(directory: String) throws {
        self.directory = directory
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        catch { throw LLMError.configuration("cannot create the response cache \(directory): \(error.localizedDescription)") }
    }

    /// The exact request as one canonical text.
    public static func key(provider: String, endpoint: String = "", _ r: ChatRequest) -> String {
        var kv: [(String, JSON)] = [
            ("provider", JSON(provider)), ("endpoint", JSON(endpoint)), ("model", JSON(r.model)), ("temperature", .number(r.temperature)),
            ("max_tokens", .number(Double(r.maxTokens))),
            ("messages", .array(r.messages.map { .object([("role", JSON($0.role.rawValue)), ("content", JSON($0.content))]) })),
        ]
        if let g = r.grammar { kv.append(("grammar", JSON(g))) }
        if let s = r.jsonSchema { kv.append(("schema", s)) }
        return JSONWriter.string(.object(kv))
    }

    static func fileName(_ key: String) -> String { StableHash.hex(key.utf8) + ".json" }

    public func lookup(provider: String, endpoint: String = "", _ r: ChatRequest) -> ChatResponse? {
        let key = Self.key(provider: provider, endpoint: endpoint, r)
        lock.lock(); defer { lock.unlock() }
        guard let data = FileManager.default.contents(atPath: directory + "/" + Self.fileName(key)),
              let j = try? JSONParser.parse(Array(data)), j["key"]?.string == key, let resp = j["response"],
              let text = resp["text"]?.string else { return nil }
        return ChatResponse(text: text, inputTokens: Int(resp["input_tokens"]?.number ?? 0), outputTokens: Int(resp["output_tokens"]?.number ?? 0),
                            tokensEstimated: resp["estimated"]?.bool ?? false, model: resp["model"]?.string ?? r.model,
                            latencySeconds: 0, raw: [], fromCache: true)
    }

    public func store(provider: String, endpoint: String = "", _ r: ChatRequest, _ response: ChatResponse) {
        let key = Self.key(provider: provider, endpoint: endpoint, r)
        let doc = JSON.object([
            ("key", JSON(key)),
            ("response", .object([("text", JSON(response.text)), ("input_tokens", .number(Double(response.inputTokens))),
                                  ("output_tokens", .number(Double(response.outputTokens))), ("estimated", .bool(response.tokensEstimated)),
                                  ("model", JSON(response.model))])),
        ])
        lock.lock(); defer { lock.unlock() }
        // Written to a temporary name and renamed, so a killed process never leaves half a file.
        let path = directory + "/" + Self.fileName(key)
        let tmp = path + ".tmp\(getpid())"
        if FileManager.default.createFile(atPath: tmp, contents: Data(JSONWriter.string(doc).utf8)) {
            _ = rename(tmp, path)
        }
    }
}

/// A provider that answers from the cache when it can, and otherwise asks the wrapped provider
/// (or, offline, fails with `notCached`). Counts hits and misses.
public final class CachingProvider: LLMProvider, @unchecked Sendable {
    public let inner: LLMProvider
    public let cache: ResponseCache
    public let offline: Bool
    public var name: String { inner.name }
    public private(set) var hits = 0
    public private(set) var misses = 0
    let lock = NSLock()

    public init(_ inner: LLMProvider, cache: ResponseCache, offline: Bool = false) {
        self.inner = inner; self.cache = cache; self.offline = offline
    }

    /// Where the provider sends requests: two servers with the same model name are different questions.
    var endpoint: String {
        (inner as? OpenAICompatibleProvider)?.endpoint ?? (inner as? AnthropicProvider)?.endpoint ?? ""
    }

    public func complete(_ r: ChatRequest) throws -> ChatResponse {
        if let hit = cache.lookup(provider: inner.name, endpoint: endpoint, r) {
            lock.lock(); hits += 1; lock.unlock()
            return hit
        }
        lock.lock(); misses += 1; lock.unlock()
        if offline { throw LLMError.notCached(provider: inner.name, model: r.model) }
        let response = try inner.complete(r)
        cache.store(provider: inner.name, endpoint: endpoint, r, response)
        return response
    }
}
