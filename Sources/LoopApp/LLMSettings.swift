import Foundation
import LoopGenerate
import LoopLLM
import LoopTask

/// Where the LLM comes from, as flags or a server configuration give it (they win over the task
/// file, which wins over the environment), and the response cache around it.
public struct LLMSettings: Sendable {
    public var provider: ProviderKind?
    public var model: String?
    public var baseURL: String?
    public var apiKeyEnv: String?
    public var allowInsecureHTTP = false
    public var offline = false
    public var noCache = false
    public var cacheDir: String?

    public init() {}

    public var overrides: LLMEndpoint {
        LLMEndpoint(provider: provider, model: model, baseURL: baseURL, apiKeyEnv: apiKeyEnv, allowInsecureHTTP: allowInsecureHTTP)
    }

    public var resolvedCacheDir: String {
        if let cacheDir { return cacheDir }
        let env = ProcessInfo.processInfo.environment
        if let d = env["LOOPAI_CACHE_DIR"], !d.isEmpty { return d }
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/loopai/responses"
    }

    /// The configured LLM for an endpoint of the task, wrapped in the response cache; nil when
    /// no provider is configured anywhere.
    /// With `required` false, a provider named without a key counts as not configured.
    public func resolve(_ endpoint: LLMEndpoint, required: Bool = true, http: HTTPClient.Configuration = HTTPClient.Configuration()) throws -> ResolvedLLM? {
        var resolved: ResolvedLLM?
        do { resolved = try ProviderFactory.resolve(task: endpoint, overrides: overrides, environment: ProcessInfo.processInfo.environment, http: http) }
        catch let e as ProviderUnconfigured where !required { _ = e; return nil }
        catch { throw AppError("\(error)", code: 2) }
        guard var r = resolved else { return nil }
        if !noCache {
            do { r.provider = CachingProvider(r.provider, cache: try ResponseCache(directory: resolvedCacheDir), offline: offline) }
            catch { throw AppError("\(error)", code: 2) }
        }
        return r
    }

    /// The oracle named by `choice` (`llm` or `labels:FIELD`), its client (LLM only) and the
    /// prices of the LLM it is or stands in for.
    /// `keepsLedger`: false for the loop and the server, which charge calls through call logs.
    public func makeOracle(_ choice: String, _ spec: TaskSpec, batchSize: Int?, keepsLedger: Bool = true) throws -> (Oracle, LLMClient?, Pricing?) {
        var pricing = spec.oracle.endpoint.prices.map { Pricing(inputPerMillion: $0.inputPerMillion, outputPerMillion: $0.outputPerMillion) }
        if choice.hasPrefix("labels:") {
            return (LabelsOracle(column: String(choice.dropFirst(7)), labels: spec.labelNames, names: spec.answerNames), nil, pricing)
        }
        guard choice == "llm" else { throw AppError("the oracle is llm or labels:FIELD, not \(choice)", code: 2) }
        guard let r = try resolve(spec.oracle.endpoint) else {
            throw AppError("no LLM provider is configured for the oracle: set OPENAI_API_KEY (or OPENAI_BASE_URL) or ANTHROPIC_API_KEY, or use --oracle labels:COLUMN", code: 2)
        }
        let client = r.client(keepsLedger: keepsLedger)
        pricing = r.pricing ?? pricing
        let oracle = LLMOracle(task: spec, client: client, model: r.model, batchSize: batchSize ?? spec.oracle.batchSize,
                               concurrency: spec.oracle.concurrency, temperature: spec.oracle.endpoint.temperature,
                               structuredOutput: r.supportsStructuredOutput)
        return (oracle, client, pricing)
    }
}
