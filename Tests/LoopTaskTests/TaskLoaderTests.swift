import Foundation
import XCTest
import LoopData
import LoopDiagnostics
@testable import LoopTask

final class TaskLoaderTests: XCTestCase {
    func testMinimalTaskGetsEveryDefault() throws {
        let t = try TaskLoader.parse(text: minimalTask, path: "/tmp/loopai-task-tests/task.yaml")
        XCTAssertEqual(t.name, "t")
        XCTAssertEqual(t.description, "a test task")
        XCTAssertEqual(t.input, [InputField(name: "text", type: .text)])
        XCTAssertTrue(t.isSingleText)
        XCTAssertEqual(t.labels, [LabelSpec(name: "a", description: "the first"), LabelSpec(name: "b", description: "the second")])
        XCTAssertEqual(t.examples, [])
        XCTAssertNil(t.data)
        XCTAssertEqual(t.programPath, "/tmp/loopai-task-tests/program.loop")
        XCTAssertEqual(t.path, "/tmp/loopai-task-tests/task.yaml")
        XCTAssertEqual(t.generator, GeneratorSpec())
        XCTAssertEqual(t.generator.endpoint.temperature, 0.2)
        XCTAssertEqual(t.oracle, OracleSpec())
        XCTAssertEqual(t.oracle.endpoint.temperature, 0)
        XCTAssertEqual(t.validation, ValidationPolicy())
        XCTAssertEqual(t.improvement, ImprovementPolicy())
    }

    func testEveryKey() throws {
        let dir = try temporaryDirectory(self)
        try write("{\"text\": \"hi\", \"y\": \"spam\"}\n", to: dir.appendingPathComponent("sets/data.jsonl"))
        let yaml = """
        name: sms_spam
        description: |
          Classify a single SMS message.
          Second line.
        input: text
        labels:
          spam: unsolicited commercial or fraudulent messages
          ham: everything else
        examples:
          - {input: "WINNER!! call 09061701461 to claim", label: spam}
          - input: 'see you at 7: ok?'
            label: ham
        data: {path: sets/data.jsonl, label: y}
        program: progs/spam.loop
        generator:
          kind: llm
          provider: anthropic
          model: claude-3-5-haiku-latest
          base_url: https://api.anthropic.com
          api_key_env: ANTHROPIC_API_KEY
          api_key_file: ~/.config/loopai/key
          temperature: 0.5
          max_repair_rounds: 5
          max_examples: 20
          max_tokens: 2048
          allow_insecure_http: true
          prices: {input_per_million: 0.8, output_per_million: 4}
        oracle:
          provider: openai
          model: gpt-4o-mini
          base_url: http://127.0.0.1:8080/v1
          api_key_file: keys/oracle
          prices: {input_per_million: 0.15, output_per_million: 0.60}
          batch_size: 1
          concurrency: 8
        validation:
          strategy: adaptive
          rate: 0.1
          min_per_stratum: 3
          max_oracle_calls_per_hour: 500
          max_cost_per_day: 2.5
          target_agreement: 0.9
          confidence: 0.99
          cpu_price_per_hour: 0.1
        improvement:
          agreement_threshold: 0.9
          window: 100
          rule_precision_floor: 0.7
          max_attempts: 2
          agreement_floor: 0.75
          canary_steps: [0.05, 1]
          significance: 0.01
          webhook: https://hooks.example.com/loopai
        """
        let path = dir.appendingPathComponent("task.yaml").path
        let t = try TaskLoader.parse(text: yaml, path: path)
        XCTAssertEqual(t.description, "Classify a single SMS message.\nSecond line.")
        XCTAssertEqual(t.labelNames, ["spam", "ham"])
        XCTAssertEqual(t.examples, [
            TaskExample(input: .object([("text", JSON("WINNER!! call 09061701461 to claim"))]), label: "spam"),
            TaskExample(input: .object([("text", JSON("see you at 7: ok?"))]), label: "ham"),
        ])
        XCTAssertEqual(t.data, DataSpec(path: dir.appendingPathComponent("sets/data.jsonl").standardizedFileURL.path, labelKey: "y"))
        XCTAssertEqual(t.programPath, dir.appendingPathComponent("progs/spam.loop").standardizedFileURL.path)
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        XCTAssertEqual(t.generator, GeneratorSpec(
            kind: .llm,
            endpoint: LLMEndpoint(provider: .anthropic, model: "claude-3-5-haiku-latest", baseURL: "https://api.anthropic.com",
                                  apiKeyEnv: "ANTHROPIC_API_KEY", apiKeyFile: URL(fileURLWithPath: home).appendingPathComponent(".config/loopai/key").path,
                                  temperature: 0.5, prices: Prices(inputPerMillion: 0.8, outputPerMillion: 4), allowInsecureHTTP: true),
            maxRepairRounds: 5, maxExamples: 20, maxTokens: 2048))
        XCTAssertEqual(t.oracle, OracleSpec(
            endpoint: LLMEndpoint(provider: .openai, model: "gpt-4o-mini", baseURL: "http://127.0.0.1:8080/v1",
                                  apiKeyFile: dir.appendingPathComponent("keys/oracle").standardizedFileURL.path, temperature: 0,
                                  prices: Prices(inputPerMillion: 0.15, outputPerMillion: 0.6)),
            batchSize: 1, concurrency: 8))
        XCTAssertEqual(t.validation, ValidationPolicy(strategy: .adaptive, rate: 0.1, minPerStratum: 3, maxOracleCallsPerHour: 500,
                                                      maxCostPerDay: 2.5, targetAgreement: 0.9, confidence: 0.99, cpuPricePerHour: 0.1))
        XCTAssertEqual(t.improvement, ImprovementPolicy(agreementThreshold: 0.9, window: 100, rulePrecisionFloor: 0.7, maxAttempts: 2,
                                                        agreementFloor: 0.75, canarySteps: [0.05, 1], significance: 0.01,
                                                        webhook: "https://hooks.example.com/loopai"))
        XCTAssertEqual(try t.examplesFromData(limit: nil), [TaskExample(input: .object([("text", JSON("hi"))]), label: "spam")])
    }

    func testRecordInputAndLabelList() throws {
        let yaml = """
        name: validation
        description: Is the value well-formed for its kind?
        input:
          kind: text
          value: {type: text, description: the text as entered}
          weight: number
          vip: {type: bool}
        labels: [valid, invalid]
        examples:
          - input: {kind: ipv4, value: 10.0.0.1, weight: 2.5, vip: yes}
            label: valid
        """
        let t = try TaskLoader.parse(text: yaml, path: "task.yaml")
        XCTAssertEqual(t.input, [InputField(name: "kind", type: .text), InputField(name: "value", type: .text, description: "the text as entered"),
                                 InputField(name: "weight", type: .number), InputField(name: "vip", type: .bool)])
        XCTAssertFalse(t.isSingleText)
        XCTAssertEqual(t.labels, [LabelSpec(name: "valid", description: ""), LabelSpec(name: "invalid", description: "")])
        XCTAssertEqual(t.examples.first?.input,
                       .object([("kind", JSON("ipv4")), ("value", JSON("10.0.0.1")), ("weight", .number(2.5)), ("vip", .bool(true))]))
        // A relative task path becomes absolute.
        XCTAssertEqual(t.path, FileManager.default.currentDirectoryPath + "/task.yaml")
    }

    /// Independent mistakes are all reported, in source order.
    func testAllErrorsAtOnce() {
        let yaml = """
        name: 2fast
        description: [1]
        labels: {a: x, rule: y, a: z}
        examples:
          - {input: hi, label: c}
          - {input: [1], lable: a}
        data: nope.jsonl
        generator: {temperature: 3, max_tokens: 0}
        validation: {rate: 0}
        """
        let ds = diagnostics(yaml)
        XCTAssertEqual(ds.map(\.code), ["T0005", "T0004", "T0005", "T0006", "T0007", "T0007", "T0003", "T0008", "T0005", "T0005", "T0005"],
                       ds.map { TextRenderer().render($0) }.joined())
        let lines = ds.map { d in d.file.map { f in f.location(of: d.range.start).line } ?? 0 }
        XCTAssertEqual(lines, [1, 2, 3, 3, 5, 6, 6, 7, 8, 8, 9])
        XCTAssertEqual(TaskError(ds).description, TextRenderer().render(ds))
    }

    func testRelativePathsFollowTheTaskFile() throws {
        let dir = try temporaryDirectory(self)
        try write("{\"text\": \"hi\", \"label\": \"a\"}\n", to: dir.appendingPathComponent("sub/data.jsonl"))
        try write(minimalTask + "data: data.jsonl\nprogram: ../shared/p.loop\n", to: dir.appendingPathComponent("sub/task.yaml"))
        // Loaded from another working directory, through a relative path with `..`.
        let cwd = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(dir.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(cwd) }
        let t = try TaskLoader.load(path: "sub/../sub/task.yaml")
        let base = dir.standardizedFileURL.path
        XCTAssertEqual(t.path, base + "/sub/task.yaml")
        XCTAssertEqual(t.data?.path, base + "/sub/data.jsonl")
        XCTAssertEqual(t.programPath, base + "/shared/p.loop")
        // The same data file named relative to the working directory is not found.
        XCTAssertThrowsError(try TaskLoader.parse(text: minimalTask + "data: sub/data.jsonl\n", path: "sub/task.yaml")) { e in
            XCTAssertEqual((e as? TaskError)?.diagnostics.map(\.code), ["T0008"])
        }
    }

    /// Labels the application names with strings that are not identifiers: `{name: ...}` maps
    /// them; examples and data may use either, and are stored under the identifiers.
    func testLabelsWithTheApplicationsStrings() throws {
        let dir = try temporaryDirectory(self)
        try write("""
        {"text": "where is my card", "label": "card_arrival"}
        {"text": "my payment was reverted", "label": "reverted_card_payment?"}
        {"text": "what", "label": "reverted_card_payment"}
        """, to: dir.appendingPathComponent("data.jsonl"))
        try write("""
        name: b
        description: d
        labels:
          card_arrival: when the card arrives
          reverted_card_payment: {name: "reverted_card_payment?", description: a payment was reverted}
          other: {name: not banking}
        examples:
          - {input: "not about a bank", label: not banking}
        data: data.jsonl
        """, to: dir.appendingPathComponent("task.yaml"))
        let t = try TaskLoader.load(path: dir.appendingPathComponent("task.yaml").path)
        XCTAssertEqual(t.labelNames, ["card_arrival", "reverted_card_payment", "other"])
        XCTAssertEqual(t.answerNames, ["card_arrival", "reverted_card_payment?", "not banking"])
        XCTAssertEqual(t.labels[1].description, "a payment was reverted")
        XCTAssertEqual(t.labels[2].description, "")
        XCTAssertTrue(t.hasAnswerNames)
        XCTAssertEqual(t.examples.map(\.label), ["other"])
        XCTAssertEqual(try t.examplesFromData(limit: nil).map(\.label), ["card_arrival", "reverted_card_payment", "reverted_card_payment"])
        XCTAssertEqual(t.labelIdentifier("not banking"), "other")
        XCTAssertEqual(t.answerName("reverted_card_payment"), "reverted_card_payment?")
        // A name may not be another label's name or identifier.
        let clash = diagnostics("""
        name: t
        description: d
        labels: {a: {name: "x"}, b: {name: "x"}, c: {name: a}}
        """)
        XCTAssertEqual(clash.map(\.code), ["T0006", "T0006"])
        XCTAssertTrue(clash[0].message.contains("label `b` is named \"x\", which already names label `a`"), clash[0].message)
        XCTAssertEqual(diagnostics("name: t\ndescription: d\nlabels: {a: {name: x, colour: red}, b: y}\n").map(\.code), ["T0003"])
    }

    func testExamplesFromData() throws {
        let dir = try temporaryDirectory(self)
        try write("""
        {"kind": "ipv4", "value": "10.0.0.1", "label": "valid", "origin": "test"}

        {"value": "x", "kind": "date", "label": "invalid"}
        {"kind": "url", "value": "http://a.b", "label": "valid"}
        """, to: dir.appendingPathComponent("data.jsonl"))
        try write("""
        name: v
        description: d
        input: {kind: text, value: text}
        labels: {valid: ok, invalid: not ok}
        data: data.jsonl
        """, to: dir.appendingPathComponent("task.yaml"))
        let t = try TaskLoader.load(path: dir.appendingPathComponent("task.yaml").path)
        let all = try t.examplesFromData(limit: nil)
        // Only the input fields, in declaration order; the label key and extra keys are dropped.
        XCTAssertEqual(all, [
            TaskExample(input: .object([("kind", JSON("ipv4")), ("value", JSON("10.0.0.1"))]), label: "valid"),
            TaskExample(input: .object([("kind", JSON("date")), ("value", JSON("x"))]), label: "invalid"),
            TaskExample(input: .object([("kind", JSON("url")), ("value", JSON("http://a.b"))]), label: "valid"),
        ])
        XCTAssertEqual(try t.examplesFromData(limit: 2), Array(all.prefix(2)))
        XCTAssertEqual(try t.examplesFromData(limit: 0), [])
        // No data: no examples.
        var none = t
        none.data = nil
        XCTAssertEqual(try none.examplesFromData(limit: nil), [])
        // A data file that disappeared after loading.
        var gone = t
        gone.data = DataSpec(path: dir.appendingPathComponent("gone.jsonl").path)
        XCTAssertThrowsError(try gone.examplesFromData(limit: nil)) { e in
            XCTAssertEqual((e as? TaskError)?.diagnostics.first?.code, "T0008")
        }
    }

    /// Bytes that are not a task never crash the loader (deep nesting included: the YAML
    /// composer recurses once per level, so absurd nesting is refused before parsing).
    func testGarbageNeverCrashes() {
        let inputs = ["name", ":", "[", "{", "&a [*a]", "*missing", "!!binary x", "? [a]: b", "name: !!int x", "labels: {[a]: b}",
                      "name: t\ndescription: d\nlabels: {a: x, b: y}\nexamples: {a: b}", "\u{0}", "a: b\u{1}",
                      "name: t\ndescription: d\nlabels: {a: x, b: y}\nexamples: [~, 3, [1]]",
                      "name: t\ndescription: d\nlabels: {a: x, b: y}\nvalidation: {rate: .nan, max_cost_per_day: .inf}",
                      "name: t\ndescription: d\nlabels: {a: x, b: y}\nimprovement: {window: 99999999999999999999}",
                      String(repeating: "[", count: 5000), String(repeating: "- ", count: 100_000) + "x",
                      (0..<300).map { String(repeating: " ", count: $0) + "k:" }.joined(separator: "\n")]
        for s in inputs {
            XCTAssertThrowsError(try TaskLoader.parse(text: s, path: "g.yaml"), s) { e in
                XCTAssertFalse((e as? TaskError)?.diagnostics.isEmpty ?? true, s)
            }
        }
    }

    func testNestingLimits() {
        assertDiagnostic(single(String(repeating: "[", count: 65)), "T0001", line: 1, column: 65, "brackets nested more than 64 levels deep")
        assertDiagnostic(single(minimalTask + String(repeating: "- ", count: 101) + "x\n"), "T0001", line: 4, column: 201,
                         "a line indented or nested more than 200 columns deep")
    }
}
