import ArgumentParser
import LoopApp
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

    /// The same choices as a library value (LoopApp assembles providers from it).
    var settings: LLMSettings {
        var s = LLMSettings()
        s.provider = provider; s.model = model; s.baseURL = baseURL; s.apiKeyEnv = apiKeyEnv
        s.allowInsecureHTTP = allowInsecureHttp; s.offline = offline; s.noCache = noCache; s.cacheDir = cacheDir
        return s
    }

    func resolve(_ endpoint: LLMEndpoint, required: Bool = true, http: HTTPClient.Configuration = HTTPClient.Configuration()) throws -> ResolvedLLM? {
        try settings.resolve(endpoint, required: required, http: http)
    }

    func makeOracle(_ choice: String, _ spec: TaskSpec, batchSize: Int?) throws -> (Oracle, LLMClient?, Pricing?) {
        try settings.makeOracle(choice, spec, batchSize: batchSize)
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
