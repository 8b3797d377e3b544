import LoopData

/// A task file, parsed and validated (Docs/task-spec.md). Everything the generator, the oracle
/// and the improvement loop need to know about one classifier. Paths are resolved against the
/// task file's directory.
public struct TaskSpec: Sendable {
    /// An identifier (letters, digits, `_`): the program's name.
    public var name: String
    /// What the classifier decides, for people and for the LLM (free text, may span lines).
    public var description: String
    /// The input's fields. One `text` field named `text` is the default ("input: text").
    public var input: [InputField]
    /// The labels, in order, each with a one-line description.
    public var labels: [LabelSpec]
    /// Examples written in the task file itself.
    public var examples: [TaskExample]
    /// Labeled data beside the task (JSON Lines): examples for generation, data for evaluation.
    public var data: DataSpec?
    /// Where the program lives (default `program.loop` beside the task file).
    public var programPath: String
    public var generator: GeneratorSpec
    public var oracle: OracleSpec
    public var validation: ValidationPolicy
    public var improvement: ImprovementPolicy
    /// The absolute path of the task file itself (for provenance and relative paths).
    public var path: String

    public init(name: String, description: String, input: [InputField], labels: [LabelSpec], examples: [TaskExample] = [],
                data: DataSpec? = nil, programPath: String, generator: GeneratorSpec = GeneratorSpec(), oracle: OracleSpec = OracleSpec(),
                validation: ValidationPolicy = ValidationPolicy(), improvement: ImprovementPolicy = ImprovementPolicy(), path: String) {
        self.name = name; self.description = description; self.input = input; self.labels = labels
        self.examples = examples; self.data = data; self.programPath = programPath; self.generator = generator
        self.oracle = oracle; self.validation = validation; self.improvement = improvement; self.path = path
    }

    /// The labels' identifiers, as the program names them.
    public var labelNames: [String] { labels.map(\.name) }
    /// The labels as the application names them (`labels: {id: {name: "..."}}`), in order; the
    /// identifier where the task gives no name.
    public var answerNames: [String] { labels.map(\.answer) }
    /// True when some label's application string differs from its identifier.
    public var hasAnswerNames: Bool { labels.contains { $0.answer != $0.name } }

    /// The identifier of the label that `s` names: its application string, or its identifier.
    public func labelIdentifier(_ s: String) -> String? {
        if let l = labels.first(where: { $0.answer == s }) { return l.name }
        return labels.first { $0.name == s }?.name
    }
    /// Identifier → application string.
    public func answerName(_ identifier: String) -> String { labels.first { $0.name == identifier }?.answer ?? identifier }
    /// True when the input is a single text field (the program declares `input text`).
    public var isSingleText: Bool { input.count == 1 && input[0].type == .text }
}

public struct InputField: Equatable, Sendable {
    public enum FieldType: String, Sendable, CaseIterable { case text, number, bool }
    public var name: String
    public var type: FieldType
    public var description: String?
    public init(name: String, type: FieldType, description: String? = nil) {
        self.name = name; self.type = type; self.description = description
    }
}

public struct LabelSpec: Equatable, Sendable {
    /// The identifier the program uses (`reverted_card_payment`).
    public var name: String
    public var description: String
    /// The application's string for the label (`reverted_card_payment?`), when it differs from
    /// the identifier: answers carry it, and data and oracles may use it.
    public var applicationName: String?
    public init(name: String, description: String, applicationName: String? = nil) {
        self.name = name; self.description = description
        self.applicationName = applicationName == name ? nil : applicationName
    }
    /// What answers carry: the application's string, else the identifier.
    public var answer: String { applicationName ?? name }
}

/// One example: the input as a JSON object (field → value) and its label.
public struct TaskExample: Equatable, Sendable {
    public var input: JSON
    public var label: String
    public init(input: JSON, label: String) { self.input = input; self.label = label }
}

public struct DataSpec: Equatable, Sendable {
    /// Absolute path of a JSON Lines file.
    public var path: String
    /// The key holding the expected label (default `label`).
    public var labelKey: String
    public init(path: String, labelKey: String = "label") { self.path = path; self.labelKey = labelKey }
}

/// Prices in currency units per million tokens.
public struct Prices: Equatable, Sendable {
    public var inputPerMillion: Double
    public var outputPerMillion: Double
    public init(inputPerMillion: Double, outputPerMillion: Double) {
        self.inputPerMillion = inputPerMillion; self.outputPerMillion = outputPerMillion
    }
}

public enum ProviderKind: String, Equatable, Sendable, CaseIterable {
    /// OpenAI-compatible Chat Completions (OpenAI, Azure, Ollama, vLLM, llama.cpp, LM Studio...).
    case openai
    case anthropic
}

/// How to reach an LLM. Unset fields fall back to flags, then to the environment.
public struct LLMEndpoint: Equatable, Sendable {
    public var provider: ProviderKind?
    public var model: String?
    public var baseURL: String?
    /// Name of the environment variable holding the key (never the key itself).
    public var apiKeyEnv: String?
    /// A file holding the key, readable only by its owner.
    public var apiKeyFile: String?
    public var temperature: Double
    public var prices: Prices?
    /// Allow plain http:// to a non-loopback host.
    public var allowInsecureHTTP: Bool
    public init(provider: ProviderKind? = nil, model: String? = nil, baseURL: String? = nil, apiKeyEnv: String? = nil,
                apiKeyFile: String? = nil, temperature: Double = 0, prices: Prices? = nil, allowInsecureHTTP: Bool = false) {
        self.provider = provider; self.model = model; self.baseURL = baseURL; self.apiKeyEnv = apiKeyEnv
        self.apiKeyFile = apiKeyFile; self.temperature = temperature; self.prices = prices; self.allowInsecureHTTP = allowInsecureHTTP
    }
}

public struct GeneratorSpec: Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// An LLM when one is configured, else the inducer.
        case auto
        case llm
        case induce
    }
    public var kind: Kind
    public var endpoint: LLMEndpoint
    /// Tier-1 (check) and tier-2 (tests, examples) repair rounds after the first reply.
    public var maxRepairRounds: Int
    /// At most this many examples go into the prompt (balanced across labels).
    public var maxExamples: Int
    /// Completion token limit for one program.
    public var maxTokens: Int
    /// Every label gets at least this many examples in the prompt (its hardest), even past
    /// `maxExamples`, as long as `exampleTokenBudget` allows.
    public var minExamplesPerLabel: Int
    /// The examples of a prompt stay within this many tokens (estimated at 4 bytes a token).
    public var exampleTokenBudget: Int
    public init(kind: Kind = .auto, endpoint: LLMEndpoint = LLMEndpoint(temperature: 0.2), maxRepairRounds: Int = 3,
                maxExamples: Int = 40, maxTokens: Int = 4096, minExamplesPerLabel: Int = 2, exampleTokenBudget: Int = 8000) {
        self.kind = kind; self.endpoint = endpoint; self.maxRepairRounds = maxRepairRounds
        self.maxExamples = maxExamples; self.maxTokens = maxTokens
        self.minExamplesPerLabel = minExamplesPerLabel; self.exampleTokenBudget = exampleTokenBudget
    }
}

public struct OracleSpec: Equatable, Sendable {
    public var endpoint: LLMEndpoint
    /// Inputs per request (1 = one request per input).
    public var batchSize: Int
    /// Parallel requests.
    public var concurrency: Int
    public init(endpoint: LLMEndpoint = LLMEndpoint(temperature: 0), batchSize: Int = 10, concurrency: Int = 4) {
        self.endpoint = endpoint; self.batchSize = batchSize; self.concurrency = concurrency
    }
}

public enum SamplingStrategyKind: String, Equatable, Sendable, CaseIterable {
    case random, stratified, uncertainty, adaptive
}

/// How live executions are validated (used by `loopai loop`).
public struct ValidationPolicy: Equatable, Sendable {
    public var strategy: SamplingStrategyKind
    /// Base sampling rate in (0, 1].
    public var rate: Double
    /// Stratified: the minimum validated samples per stratum (label, rule).
    public var minPerStratum: Int
    /// Oracle budget: calls per hour (nil = unlimited).
    public var maxOracleCallsPerHour: Int?
    /// Oracle budget: money per day (nil = unlimited).
    public var maxCostPerDay: Double?
    /// Target agreement the adaptive strategy holds the confidence interval above.
    public var targetAgreement: Double
    /// Confidence level of intervals (e.g. 0.95).
    public var confidence: Double
    /// Price of the program path per CPU-hour (for honest cost comparisons).
    public var cpuPricePerHour: Double
    /// Spread the oracle budget evenly over its window (scaling every probability down) instead
    /// of spending it as inputs come until the hard cap refuses.
    public var pacing = true
    public init(strategy: SamplingStrategyKind = .random, rate: Double = 0.05, minPerStratum: Int = 5,
                maxOracleCallsPerHour: Int? = nil, maxCostPerDay: Double? = nil, targetAgreement: Double = 0.95,
                confidence: Double = 0.95, cpuPricePerHour: Double = 0.05) {
        self.strategy = strategy; self.rate = rate; self.minPerStratum = minPerStratum
        self.maxOracleCallsPerHour = maxOracleCallsPerHour; self.maxCostPerDay = maxCostPerDay
        self.targetAgreement = targetAgreement; self.confidence = confidence; self.cpuPricePerHour = cpuPricePerHour
    }
}

/// When and how the program is improved, rolled out and escalated (used by `loopai loop`).
public struct ImprovementPolicy: Equatable, Sendable {
    /// Improve when the estimated agreement over the window falls below this.
    public var agreementThreshold: Double
    /// Validated samples in the sliding window.
    public var window: Int
    /// Improve when a rule's validated precision falls below this (with at least `window/10` samples).
    public var rulePrecisionFloor: Double
    /// Escalate after this many failed improvement attempts in a row.
    public var maxAttempts: Int
    /// Escalate at once when agreement falls below this.
    public var agreementFloor: Double
    /// Canary shares after a candidate wins in shadow, e.g. [0.1, 0.5, 1.0].
    public var canarySteps: [Double]
    /// Significance level for promotion and rollback tests.
    public var significance: Double
    /// Where escalations are announced (Slack-compatible JSON POST); nil = none.
    public var webhook: String?
    public init(agreementThreshold: Double = 0.95, window: Int = 200, rulePrecisionFloor: Double = 0.8, maxAttempts: Int = 3,
                agreementFloor: Double = 0.8, canarySteps: [Double] = [0.1, 0.5, 1.0], significance: Double = 0.05, webhook: String? = nil) {
        self.agreementThreshold = agreementThreshold; self.window = window; self.rulePrecisionFloor = rulePrecisionFloor
        self.maxAttempts = maxAttempts; self.agreementFloor = agreementFloor; self.canarySteps = canarySteps
        self.significance = significance; self.webhook = webhook
    }
}
