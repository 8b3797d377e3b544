import ArgumentParser
import Foundation
import LoopLLM

/// `loopai doctor`: which LLM providers the environment configures, and whether each answers.
/// Keys are never printed: only where each came from.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the configured LLM providers and check that each answers (keys are never printed).",
        discussion: """
        Providers come from OPENAI_BASE_URL/OPENAI_API_KEY, ANTHROPIC_BASE_URL/ANTHROPIC_API_KEY, \
        AZURE_OPENAI_ENDPOINT/AZURE_OPENAI_API_KEY/AZURE_OPENAI_DEPLOYMENT, and the *_API_KEY_FILE variants \
        (owner-only files). Each configured provider gets one tiny request (one attempt, 10-second timeouts). \
        Exit status 1 when a configured provider does not answer or the configuration is invalid.
        """)

    @Flag(help: "Only list the providers; send nothing.")
    var noCheck = false

    @Option(help: "Model for the check request (default: gpt-4o-mini for OpenAI-compatible, claude-3-5-haiku-latest for Anthropic).")
    var model: String?

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        var http = HTTPClient.Configuration()
        http.maxAttempts = 1
        http.connectTimeout = 10
        http.totalTimeout = 10
        let providers: [LLMProvider]
        do { providers = try LLMConfiguration.fromEnvironment(env, client: HTTPClient(configuration: http)) }
        catch { throw CLIError("the LLM configuration is invalid: \(error)", code: 1) }
        if providers.isEmpty {
            print("no LLM provider is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server such as Ollama or llama.cpp) or ANTHROPIC_API_KEY.")
            print("Without a provider, `loopai generate --generator induce` learns programs from labeled data offline.")
            return
        }
        var failed = 0
        for p in providers {
            let (endpoint, keySource, defaultModel) = describe(p, env)
            print("\(p.name): \(endpoint)  key: \(keySource)")
            guard !noCheck else { continue }
            let request = ChatRequest(model: model ?? defaultModel, messages: [.user("Reply with the single word OK.")], maxTokens: 5)
            let start = Date()
            do {
                let r = try p.complete(request)
                print(String(format: "  answers: model %@, %d+%d tokens%@, %.0f ms", r.model, r.inputTokens, r.outputTokens,
                             r.tokensEstimated ? " (estimated)" : "", Date().timeIntervalSince(start) * 1000))
            } catch {
                failed += 1
                print("  does not answer: \(error)")
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }

    func describe(_ p: LLMProvider, _ env: [String: String]) -> (String, String, String) {
        func source(_ name: String) -> String {
            if let v = env[name], !v.trimmingCharacters(in: .whitespaces).isEmpty { return "set (\(name))" }
            if let f = env[name + "_FILE"], !f.isEmpty { return "from file \(f) (\(name)_FILE)" }
            return "not set"
        }
        if let a = p as? AnthropicProvider { return (a.endpoint, source("ANTHROPIC_API_KEY"), "claude-3-5-haiku-latest") }
        if let o = p as? OpenAICompatibleProvider {
            let azure = o.azure != nil
            return (o.endpoint, source(azure ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY"), "gpt-4o-mini")
        }
        return (p.name, "unknown", "gpt-4o-mini")
    }
}
