import Foundation
import LoopDiagnostics
import Yams

/// The `generator`, `oracle`, `validation` and `improvement` sections. A key left out keeps the
/// default of the corresponding initializer in TaskSpec.swift.
extension TaskBuilder {
    static let endpointKeys = ["provider", "model", "base_url", "api_key_env", "api_key_file", "temperature", "prices",
                               "allow_insecure_http"]

    func generator(_ it: Item) -> GeneratorSpec {
        var g = GeneratorSpec()
        guard let m = r.mapping(it, allowed: ["kind"] + Self.endpointKeys + ["max_repair_rounds", "max_examples", "max_tokens", "min_examples_per_label", "example_token_budget"])
        else { return g }
        if let x = m["kind"], let v = r.choice(x, GeneratorSpec.Kind.self) { g.kind = v }
        g.endpoint = endpoint(m, temperature: g.endpoint.temperature)
        if let x = m["max_repair_rounds"], let v = r.integer(x, atLeast: 0) { g.maxRepairRounds = v }
        if let x = m["max_examples"], let v = r.integer(x, atLeast: 0) { g.maxExamples = v }
        if let x = m["max_tokens"], let v = r.integer(x, atLeast: 1) { g.maxTokens = v }
        if let x = m["min_examples_per_label"], let v = r.integer(x, atLeast: 0) { g.minExamplesPerLabel = v }
        if let x = m["example_token_budget"], let v = r.integer(x, atLeast: 0) { g.exampleTokenBudget = v }
        return g
    }

    func oracle(_ it: Item) -> OracleSpec {
        var o = OracleSpec()
        guard let m = r.mapping(it, allowed: Self.endpointKeys + ["batch_size", "concurrency"]) else { return o }
        o.endpoint = endpoint(m, temperature: o.endpoint.temperature)
        if let x = m["batch_size"], let v = r.integer(x, atLeast: 1) { o.batchSize = v }
        if let x = m["concurrency"], let v = r.integer(x, atLeast: 1) { o.concurrency = v }
        return o
    }

    /// The endpoint keys shared by `generator` and `oracle`.
    private func endpoint(_ m: Mapping, temperature: Double) -> LLMEndpoint {
        var e = LLMEndpoint(temperature: temperature)
        if let x = m["provider"] { e.provider = r.choice(x, ProviderKind.self) }
        if let x = m["model"] { e.model = r.string(x) }
        if let x = m["base_url"] { e.baseURL = url(x) }
        if let x = m["api_key_env"] { e.apiKeyEnv = variableName(x) }
        if let x = m["api_key_file"] { e.apiKeyFile = r.string(x).map(r.resolve) }
        if let x = m["temperature"], let v = r.number(x, .temperature) { e.temperature = v }
        if let x = m["prices"] { e.prices = prices(x) }
        if let x = m["allow_insecure_http"], let v = r.bool(x) { e.allowInsecureHTTP = v }
        return e
    }

    private func prices(_ it: Item) -> Prices? {
        guard let m = r.mapping(it, allowed: ["input_per_million", "output_per_million"],
                                required: ["input_per_million", "output_per_million"]),
              let i = m["input_per_million"], let o = m["output_per_million"] else { return nil }
        let input = r.number(i, .nonNegative), output = r.number(o, .nonNegative)
        guard let input, let output else { return nil }
        return Prices(inputPerMillion: input, outputPerMillion: output)
    }

    /// An absolute http:// or https:// URL with a host.
    func url(_ it: Item) -> String? {
        guard let s = r.string(it) else { return nil }
        if let c = URLComponents(string: s), let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
           let host = c.host, !host.isEmpty {
            return s
        }
        r.error(TaskCode.invalidValue, "`\(it.path)` must be an http:// or https:// URL, found `\(s)`", at: it.node,
                label: "not a URL", hints: ["e.g. `https://api.openai.com/v1`"])
        return nil
    }

    /// The name of an environment variable. A value that looks like a key itself is refused
    /// without echoing the value or its line (the diagnostic has no snippet).
    private func variableName(_ it: Item) -> String? {
        guard let s = r.string(it) else { return nil }
        let ok = s.unicodeScalars.enumerated().allSatisfy { i, u in
            u == "_" || ("A"..."Z").contains(u) || ("a"..."z").contains(u) || (i > 0 && ("0"..."9").contains(u))
        }
        if ok && s.count < 40 { return s }
        if s.count < 20 && !s.hasPrefix("sk-") {
            r.error(TaskCode.invalidValue, "`\(it.path)` must be the name of an environment variable (letters, digits and `_`), found `\(s)`",
                    at: it.node, label: "not a variable name", hints: ["e.g. `api_key_env: OPENAI_API_KEY`"])
            return nil
        }
        let (line, col) = r.file.location(of: r.offset(it.node.mark))
        r.append(Diagnostic(.error, TaskCode.invalidValue,
            "\(r.file.name):\(line):\(col): `\(it.path)` must be the name of an environment variable (such as `OPENAI_API_KEY`), not the key itself",
            file: nil, range: .none,
            hints: ["put the key in the environment or in a file only you can read (`api_key_file`), never in the task file",
                    "if this is a real key, revoke it: the task file may have been shared"]))
        return nil
    }

    func validation(_ it: Item) -> ValidationPolicy {
        var v = ValidationPolicy()
        guard let m = r.mapping(it, allowed: ["strategy", "rate", "min_per_stratum", "max_oracle_calls_per_hour", "max_cost_per_day",
                                              "target_agreement", "confidence", "cpu_price_per_hour", "pacing"]) else { return v }
        if let x = m["pacing"], let b = r.bool(x) { v.pacing = b }
        if let x = m["strategy"], let s = r.choice(x, SamplingStrategyKind.self) { v.strategy = s }
        if let x = m["rate"], let n = r.number(x, .unit) { v.rate = n }
        if let x = m["min_per_stratum"], let n = r.integer(x, atLeast: 0) { v.minPerStratum = n }
        if let x = m["max_oracle_calls_per_hour"], !r.isNull(x.node) { v.maxOracleCallsPerHour = r.integer(x, atLeast: 0) }
        if let x = m["max_cost_per_day"], !r.isNull(x.node) { v.maxCostPerDay = r.number(x, .nonNegative) }
        if let x = m["target_agreement"], let n = r.number(x, .unit) { v.targetAgreement = n }
        if let x = m["confidence"], let n = r.number(x, .openUnit) { v.confidence = n }
        if let x = m["cpu_price_per_hour"], let n = r.number(x, .nonNegative) { v.cpuPricePerHour = n }
        return v
    }

    func improvement(_ it: Item) -> ImprovementPolicy {
        var p = ImprovementPolicy()
        guard let m = r.mapping(it, allowed: ["agreement_threshold", "window", "rule_precision_floor", "max_attempts",
                                              "agreement_floor", "canary_steps", "significance", "webhook"]) else { return p }
        if let x = m["agreement_threshold"], let n = r.number(x, .unit) { p.agreementThreshold = n }
        if let x = m["window"], let n = r.integer(x, atLeast: 1) { p.window = n }
        if let x = m["rule_precision_floor"], let n = r.number(x, .closedUnit) { p.rulePrecisionFloor = n }
        if let x = m["max_attempts"], let n = r.integer(x, atLeast: 1) { p.maxAttempts = n }
        if let x = m["agreement_floor"], let n = r.number(x, .closedUnit) {
            p.agreementFloor = n
            if n > p.agreementThreshold {
                r.error(TaskCode.invalidValue, "`improvement.agreement_floor` (\(show(n))) is above `improvement.agreement_threshold` (\(show(p.agreementThreshold)))",
                        at: x.node, label: "above the threshold",
                        hints: ["the floor escalates at once and must not be above the threshold that starts an improvement"])
            }
        }
        if let x = m["canary_steps"], let steps = canarySteps(x) { p.canarySteps = steps }
        if let x = m["significance"], let n = r.number(x, .openUnit) { p.significance = n }
        if let x = m["webhook"], !r.isNull(x.node) { p.webhook = url(x) }
        return p
    }

    /// Increasing shares in (0, 1], the last one 1 (everyone).
    private func canarySteps(_ it: Item) -> [Double]? {
        guard let items = r.list(it) else { return nil }
        guard !items.isEmpty else {
            r.error(TaskCode.invalidValue, "`\(it.path)` must list at least one step", about: it, label: "empty",
                    hints: ["e.g. `canary_steps: [0.1, 0.5, 1.0]`, or `[1.0]` to switch at once"])
            return nil
        }
        var steps: [Double] = []
        for x in items {
            guard let v = r.number(x, .unit) else { return nil }
            if let last = steps.last, v <= last {
                r.error(TaskCode.invalidValue, "`\(it.path)` must increase, but \(show(v)) follows \(show(last))", at: x.node,
                        label: "not larger than the step before")
                return nil
            }
            steps.append(v)
        }
        if let last = steps.last, last != 1, let node = items.last?.node {
            r.error(TaskCode.invalidValue, "the last of `\(it.path)` must be 1 (everyone), found \(show(last))", at: node,
                    label: "must be 1", hints: ["append `1.0`: a rollout ends with the candidate answering every request"])
            return nil
        }
        return steps
    }
}
