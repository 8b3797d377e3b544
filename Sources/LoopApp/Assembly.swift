import Foundation
import LoopData
import LoopGenerate
import LoopLLM
import LoopRuntime
import LoopStore
import LoopStorePostgres
import LoopTask

/// Which generator writes programs: the task's choice, an LLM, the offline inducer, or hybrid
/// (improvements re-fit the current program's weights first).
public enum GeneratorChoice: String, CaseIterable, Sendable {
    case auto, llm, induce, hybrid
}

/// Builds what a task needs to run (oracle, generator, seed examples, store, engine settings)
/// from a task file and the choices of a command line or a server configuration. The CLI and
/// the server both assemble tasks here, and nowhere else.
public struct TaskAssembly {
    public var spec: TaskSpec
    /// `llm` or `labels:FIELD`.
    public var oracle = "llm"
    public var generator: GeneratorChoice?
    public var llm = LLMSettings()
    /// Labeled examples for the first program (default: the task's data).
    public var examplesPath: String?
    public var initialProgramPath: String?
    public var labelKey: String?

    public init(spec: TaskSpec) { self.spec = spec }

    /// The engine's settings for requests from `source` (a stream's path, or `serve`).
    public func settings(source: String, escalationDirectory: String) throws -> LoopSettings {
        let (judge, oracleClient, oraclePricing) = try llm.makeOracle(oracle, spec, batchSize: nil, keepsLedger: false)
        let seed = try seedExamples()
        var s = LoopSettings(task: spec, streamPath: source, oracle: judge, oraclePricing: oraclePricing, oracleClient: oracleClient,
                             generator: try makeGenerator(seed: seed), seedExamples: seed, escalationDirectory: escalationDirectory)
        if let initialProgramPath {
            do { s.initialProgram = try String(contentsOfFile: initialProgramPath, encoding: .utf8) }
            catch { throw AppError("cannot read \(initialProgramPath): \(error.localizedDescription)", code: 2) }
        }
        s.labelKey = labelKey ?? (oracle.hasPrefix("labels:") ? String(oracle.dropFirst(7)) : nil)
        return s
    }

    public func seedExamples() throws -> [TaskExample] {
        do { return spec.examples + (try spec.examplesFromData(path: examplesPath, labelKey: nil)) }
        catch { throw AppError("\(error)", code: 2) }
    }

    public var generatorKind: GeneratorChoice { generator ?? GeneratorChoice(rawValue: spec.generator.kind.rawValue) ?? .auto }

    /// The generator for first programs and improvements.
    public func makeGenerator(seed: [TaskExample]) throws -> ProgramGenerator {
        let kind = generatorKind
        var gen: ProgramGenerator = InducerGenerator(task: spec, seed: seed)
        // Hybrid improves by re-fitting; its first program (and its fallback) is the task's generator.
        let base = kind == .hybrid ? (GeneratorChoice(rawValue: spec.generator.kind.rawValue) ?? .auto) : kind
        if base != .induce {
            if let r = try llm.resolve(spec.generator.endpoint, required: kind == .llm) {
                var o = Self.generationOptions(spec)
                // A llama.cpp server gets the GBNF grammar, so every reply parses.
                if r.kind == .openai && !llm.offline && ProviderFactory.isLlamaCpp(baseURL: r.baseURL) { o.grammar = PromptReference.gbnf }
                gen = LLMProgramGenerator(LLMGenerator(task: spec, client: r.client(keepsLedger: false), model: r.model, options: o))
            } else if kind == .llm {
                throw AppError("--generator llm: no LLM provider is configured", code: 2)
            }
        }
        if kind == .hybrid { gen = HybridGenerator(base: gen, seed: seed) }
        return gen
    }

    /// The task's generation settings (repair rounds, examples, tokens, temperature).
    public static func generationOptions(_ spec: TaskSpec) -> GenerationOptions {
        var o = GenerationOptions()
        o.maxRepairRounds = spec.generator.maxRepairRounds
        o.maxExamples = spec.generator.maxExamples
        o.minExamplesPerLabel = spec.generator.minExamplesPerLabel
        o.exampleTokenBudget = spec.generator.exampleTokenBudget
        o.maxTokens = spec.generator.maxTokens
        o.temperature = spec.generator.endpoint.temperature
        return o
    }

    /// A store several processes share (PostgreSQL), as opposed to a SQLite file.
    public static func isSharedStore(_ location: String) -> Bool { PostgresLocation.isPostgres(location) }

    /// Opens (or creates) the store of `task`: a SQLite path, or a PostgreSQL URL
    /// (`postgres://USER@HOST:PORT/DB`, the password from PGPASSWORD or a password file).
    public static func openStore(_ location: String, task: String) throws -> any TaskStore {
        do {
            if PostgresLocation.isPostgres(location) { return try PostgresStore.open(url: location, task: task) }
            return try SQLiteStore.open(path: location, task: task)
        } catch {
            let shown = PostgresLocation.isPostgres(location) ? ((try? PostgresLocation(location, environment: [:]))?.description ?? "the PostgreSQL store") : location
            throw AppError("cannot open the store \(shown): \(error)", code: 2)
        }
    }

    /// Escalation tickets go beside the store unless told otherwise.
    public static func escalationDirectory(store path: String, override: String?) -> String {
        if let override { return override }
        let dir = (path as NSString).deletingLastPathComponent
        return (dir.isEmpty ? "." : dir) + "/escalations"
    }

    /// Loads a task file; diagnostics are in the error's message (status 1), I/O errors are status 2.
    public static func loadTask(_ path: String) throws -> TaskSpec {
        do { return try TaskLoader.load(path: path) }
        catch let e as TaskError {
            throw AppError(e.description + "\n\(path): " + (e.isUnreadable ? "cannot read the task file" : "the task file is invalid"), code: e.isUnreadable ? 2 : 1)
        } catch { throw AppError("\(error)", code: 2) }
    }
}
