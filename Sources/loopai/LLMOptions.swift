import ArgumentParser
import Foundation
import LoopGenerate
import LoopLLM
import LoopTask

extension ProviderKind: ExpressibleByArgument {}

/// Provider flags shared by `generate`, `oracle` and `loop`. Each overrides the task file,
/// which overrides the environment.
struct LLMOptions: ParsableArguments {
    @Option(help: "Provider: openai (any OpenAI-compatible server) or anthropic.")
    var provider: ProviderKind?

    @Option(help: "Model name.")
    var model: String?

    @Option(help: "Base URL (OpenAI-compatible servers include /v1).")
    var baseURL: String?

    @Option(help: "Name of the environment variable that holds the API key.")
    var apiKeyEnv: String?

    @Flag(help: "Allow plain http:// to a host that is not loopback.")
    var allowInsecureHttp = false

    @Flag(help: "Answer only from the response cache; a question not in it is an error.")
    var offline = false

    @Flag(help: "Neither read nor write the response cache.")
    var noCache = false

    @Option(help: "The response cache directory (default: $LOOPAI_CACHE_DIR, else ~/.cache/loopai/responses).")
    var cacheDir: String?

    var overrides: LLMEndpoint {
        LLMEndpoint(provider: provider, model: model, baseURL: baseURL, apiKeyEnv: apiKeyEnv, allowInsecureHTTP: allowInsecureHttp)
    }

    func validate() throws {
        if offline && noCache { throw ValidationError("--offline answers from the cache; it cannot be combined with --no-cache") }
    }

    var resolvedCacheDir: String {
        if let cacheDir { return cacheDir }
        let env = ProcessInfo.processInfo.environment
        if let d = env["LOOPAI_CACHE_DIR"], !d.isEmpty { return d }
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/loopai/responses"
    }

    /// The configured LLM for an endpoint of the task, wrapped in the response cache; nil when
    /// no provider is configured anywhere.
    /// With `required` false, a provider named without a key counts as not configured.
    func resolve(_ endpoint: LLMEndpoint, required: Bool = true, http: HTTPClient.Configuration = HTTPClient.Configuration()) throws -> ResolvedLLM? {
        var resolved: ResolvedLLM?
        do { resolved = try ProviderFactory.resolve(task: endpoint, overrides: overrides, environment: ProcessInfo.processInfo.environment, http: http) }
        catch let e as ProviderUnconfigured where !required { _ = e; return nil }
        catch { throw CLIError("\(error)", code: 2) }
        guard var r = resolved else { return nil }
        if !noCache {
            do { r.provider = CachingProvider(r.provider, cache: try ResponseCache(directory: resolvedCacheDir), offline: offline) }
            catch { throw CLIError("\(error)", code: 2) }
        }
        return r
    }
}

extension LLMOptions {
    /// The oracle named by `--oracle` (`llm` or `labels:COLUMN`), its client (LLM only) and the
    /// prices of the LLM it is or stands in for.
    func makeOracle(_ choice: String, _ spec: TaskSpec, batchSize: Int?) throws -> (Oracle, LLMClient?, Pricing?) {
        var pricing = spec.oracle.endpoint.prices.map { Pricing(inputPerMillion: $0.inputPerMillion, outputPerMillion: $0.outputPerMillion) }
        if choice.hasPrefix("labels:") {
            return (LabelsOracle(column: String(choice.dropFirst(7)), labels: spec.labelNames), nil, pricing)
        }
        guard let r = try resolve(spec.oracle.endpoint) else {
            throw CLIError("no LLM provider is configured for the oracle: set OPENAI_API_KEY (or OPENAI_BASE_URL) or ANTHROPIC_API_KEY, or use --oracle labels:COLUMN", code: 2)
        }
        let client = r.client()
        pricing = r.pricing ?? pricing
        let oracle = LLMOracle(task: spec, client: client, model: r.model, batchSize: batchSize ?? spec.oracle.batchSize,
                               concurrency: spec.oracle.concurrency, temperature: spec.oracle.endpoint.temperature,
                               structuredOutput: r.supportsStructuredOutput)
        return (oracle, client, pricing)
    }
}

/// Loads a task file; its diagnostics go to standard error (status 1), I/O errors are status 2.
func loadTask(_ path: String) throws -> TaskSpec {
    do { return try TaskLoader.load(path: path) }
    catch let e as TaskError {
        printErr(e.description)
        if e.isUnreadable { throw CLIError("\(path): cannot read the task file", code: 2) }
        throw CLIError("\(path): the task file is invalid", code: 1)
    } catch { throw CLIError("\(error)", code: 2) }
}

/// A summary of the calls in a ledger: `N calls (C cached), I+O tokens (estimated), $cost`.
func ledgerSummary(_ client: LLMClient) -> String {
    let l = client.ledger
    let input = l.reduce(0) { $0 + $1.inputTokens }, output = l.reduce(0) { $0 + $1.outputTokens }
    let cached = l.filter(\.cached).count, failed = l.filter { !$0.succeeded }.count
    var s = "\(l.count) call(s)"
    if cached > 0 { s += " (\(cached) from the cache)" }
    if failed > 0 { s += ", \(failed) failed" }
    s += ", \(input)+\(output) tokens"
    if l.contains(where: \.tokensEstimated) { s += " (some estimated)" }
    let costs = l.compactMap(\.cost)
    s += costs.count == l.count ? String(format: ", cost $%.6f", client.totalCost) : ", cost unknown (no prices configured)"
    return s
}
