import Foundation
import LoopData
import LoopGenerate
import LoopLLM
import LoopTask
import TestSupport
import XCTest

final class PromptTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func testTheEmbeddedReferenceIsTheRepositorysDocsAndGrammar() throws {
        // scripts/gen-reference embeds these; regenerate when this fails.
        let system = PromptBuilder.system()
        let doc = try String(contentsOfFile: Self.root + "/Docs/language.md", encoding: .utf8)
        for heading in ["## Declarations", "### score", "## Built-in functions", "## Style for generated programs"] {
            let section = try XCTUnwrap(doc.range(of: heading + "\n"))
            let paragraph = String(doc[section.lowerBound...].prefix(600))
            XCTAssertTrue(system.contains(paragraph), "the prompt lacks the current text of \(heading): run scripts/gen-reference")
        }
        XCTAssertFalse(system.contains("## Implementation notes"))
        XCTAssertEqual(PromptReference.gbnf, try String(contentsOfFile: Self.root + "/Grammar/loop.gbnf", encoding: .utf8) + "",
                       "run scripts/gen-reference")
        let ebnf = try String(contentsOfFile: Self.root + "/Grammar/loop.ebnf", encoding: .utf8)
        for line in ebnf.split(separator: "\n") where line.hasPrefix("program_file") || line.hasPrefix("rule_decl") {
            XCTAssertTrue(system.contains(line), "run scripts/gen-reference: \(line)")
        }
        XCTAssertFalse(PromptReference.grammar.contains("(*"))
        XCTAssertTrue(system.contains("fn is_email("), "the Stdlib sources are in the prompt")
    }

    func testTheTaskMessageNamesTheContract() {
        let m = PromptBuilder.task(Fixtures.task, examples: Fixtures.task.examples)
        XCTAssertTrue(m.contains("program spam_task\ninput text: text\nlabels spam, ham"))
        XCTAssertTrue(m.contains("- `spam`: unsolicited offers and prizes"))
        XCTAssertTrue(m.contains(#""are we still on for lunch?" => ham"#))
        var record = Fixtures.task
        record.input = [InputField(name: "kind", type: .text), InputField(name: "amount", type: .number)]
        XCTAssertEqual(PromptBuilder.inputDeclaration(record), "input { kind: text, amount: number }")
    }

    func testExamplesAreBalancedAndCapped() {
        let many = (0..<50).map { TaskExample(input: JSON("h\($0)"), label: "ham") } + (0..<3).map { TaskExample(input: JSON("s\($0)"), label: "spam") }
        let picked = PromptBuilder.balanced(many, labels: ["spam", "ham"], cap: 10)
        XCTAssertEqual(picked.count, 10)
        XCTAssertEqual(picked.filter { $0.label == "spam" }.count, 3, "every example of the rare label")
        XCTAssertEqual(PromptBuilder.balanced(many, labels: ["spam", "ham"], cap: 0).count, 0)
        XCTAssertEqual(PromptBuilder.balanced(Array(many.prefix(4)), labels: ["spam", "ham"], cap: 10).count, 4)
    }

    /// A many-label task (the 14 HDFS templates) with room for only 10 examples: every label still
    /// gets two (its hardest: those whose words lean towards other labels), a label the data has
    /// once gets one and is named in the prompt as short, and a tight token budget is honoured.
    func testAManyLabelPromptGivesEveryLabelTwoExamplesWithinTheBudget() throws {
        let spec = try TaskLoader.load(path: Self.root + "/Examples/hdfs_logs/task.yaml")
        let data = try spec.examplesFromData(path: nil, labelKey: nil)
        let counts = Dictionary(grouping: data, by: \.label).mapValues(\.count)
        XCTAssertEqual(spec.labelNames.count, 14)
        let s = PromptBuilder.select(data, labels: spec.labelNames, cap: 10, minPerLabel: 2, tokenBudget: 8000)
        let picked = Dictionary(grouping: s.examples, by: \.label).mapValues(\.count)
        for l in spec.labelNames {
            XCTAssertEqual(picked[l] ?? 0, min(2, counts[l] ?? 0), "label \(l)")
        }
        XCTAssertEqual(s.short.map(\.label).sorted(), spec.labelNames.filter { (counts[$0] ?? 0) < 2 }.sorted())
        XCTAssertFalse(s.short.isEmpty, "HDFS has templates seen once")
        let message = PromptBuilder.task(spec, selection: s)
        XCTAssertTrue(message.contains("## Examples (\(s.examples.count);"), message)
        XCTAssertTrue(message.contains("Labels with fewer than 2 examples here (rely on their descriptions): "), message)
        for e in s.examples { XCTAssertTrue(message.contains(PromptBuilder.exampleLine(e)), PromptBuilder.exampleLine(e)) }
        // A budget of 200 tokens (800 bytes) holds only the first few.
        let tight = PromptBuilder.select(data, labels: spec.labelNames, cap: 10, minPerLabel: 2, tokenBudget: 200)
        XCTAssertLessThanOrEqual(tight.examples.map { PromptBuilder.exampleLine($0).utf8.count + 1 }.reduce(0, +), 800)
        XCTAssertGreaterThan(tight.short.count, s.short.count)
        // Two-label tasks keep what they had: balanced up to the cap.
        let sms = try TaskLoader.load(path: Self.root + "/Examples/sms_spam/task.yaml")
        let smsData = try sms.examplesFromData(path: nil, labelKey: nil)
        let smsPick = PromptBuilder.select(smsData, labels: sms.labelNames, cap: 40, minPerLabel: 2, tokenBudget: 8000)
        XCTAssertEqual(smsPick.examples.count, 40)
        XCTAssertEqual(smsPick.examples.filter { $0.label == "spam" }.count, 20)
        XCTAssertTrue(smsPick.short.isEmpty)
    }

    func testProgramExtraction() {
        let p = "program x\ninput text: text\nlabels a, b\notherwise => a"
        XCTAssertEqual(ProgramExtractor.extract("Sure!\n```loop\n\(p)\n```\nDone."), p + "\n")
        XCTAssertEqual(ProgramExtractor.extract("```\n\(p)\n```"), p + "\n")
        XCTAssertEqual(ProgramExtractor.extract(p), p + "\n")
        XCTAssertEqual(ProgramExtractor.extract("```loop\r\n\(p.replacingOccurrences(of: "\n", with: "\r\n"))\r\n```"), p + "\n")
        XCTAssertEqual(ProgramExtractor.extract("```json\n{}\n```\n```loop\n\(p)\n```"), p + "\n", "the block with a program wins")
        XCTAssertEqual(ProgramExtractor.extract("```loop\n\(p)"), p + "\n", "an unclosed fence (truncated reply)")
        XCTAssertNil(ProgramExtractor.extract("I cannot do that."))
        XCTAssertNil(ProgramExtractor.extract("```\nprint('hi')\n```"))
        XCTAssertNil(ProgramExtractor.extract(""))
    }

    func testPrintPromptRequestIsExactlyWhatIsSent() throws {
        let server = try StubServer()
        defer { server.stop() }
        server.enqueue(Fixtures.openAIReply(Fixtures.good))
        let g = LLMGenerator(task: Fixtures.task, client: Fixtures.openAIClient(server), model: "gpt-test")
        let planned = g.initialRequest(examples: Fixtures.task.examples)
        _ = try g.generate(examples: Fixtures.task.examples)
        XCTAssertEqual(Fixtures.body(server.requests[0]), try JSONParser.parse(OpenAICompatibleProvider.body(planned)))
    }

    func testLlamaCppIsDetectedAndGetsTheGrammar() throws {
        let server = try StubServer()
        defer { server.stop() }
        server.respond { r in
            r.path == "/props" ? .ok(#"{"default_generation_settings": {"n_ctx": 4096}, "total_slots": 1}"#) : .status(404)
        }
        XCTAssertTrue(ProviderFactory.isLlamaCpp(baseURL: server.baseURL + "/v1", http: Fixtures.http()))
        let other = try StubServer()
        defer { other.stop() }
        other.respond { _ in .status(404, "not found") }
        XCTAssertFalse(ProviderFactory.isLlamaCpp(baseURL: other.baseURL + "/v1", http: Fixtures.http()))

        var o = GenerationOptions()
        o.grammar = PromptReference.gbnf
        let g = LLMGenerator(task: Fixtures.task, client: Fixtures.openAIClient(other), model: "m", options: o)
        XCTAssertEqual(try JSONParser.parse(OpenAICompatibleProvider.body(g.initialRequest(examples: [])))["grammar"]?.string, PromptReference.gbnf)
    }

    func testProviderResolutionPrefersFlagsThenTaskThenEnvironment() throws {
        let env = ["OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"]
        let fromEnv = try XCTUnwrap(try ProviderFactory.resolve(task: LLMEndpoint(), overrides: LLMEndpoint(), environment: env))
        XCTAssertEqual(fromEnv.kind, .openai)
        XCTAssertEqual(fromEnv.baseURL, "http://127.0.0.1:9/v1")
        XCTAssertEqual(fromEnv.model, "gpt-4o-mini")
        XCTAssertEqual(fromEnv.keySource, "$OPENAI_API_KEY")
        let task = LLMEndpoint(provider: .openai, model: "task-model", baseURL: "http://127.0.0.1:8/v1",
                               prices: Prices(inputPerMillion: 1, outputPerMillion: 2))
        let merged = try XCTUnwrap(try ProviderFactory.resolve(task: task, overrides: LLMEndpoint(model: "flag-model"), environment: env))
        XCTAssertEqual(merged.model, "flag-model")
        XCTAssertEqual(merged.baseURL, "http://127.0.0.1:8/v1")
        XCTAssertEqual(merged.pricing, Pricing(inputPerMillion: 1, outputPerMillion: 2))
        XCTAssertNil(try ProviderFactory.resolve(task: LLMEndpoint(), overrides: LLMEndpoint(), environment: [:]), "nothing configured")
        XCTAssertThrowsError(try ProviderFactory.resolve(task: LLMEndpoint(provider: .anthropic), overrides: LLMEndpoint(), environment: [:]))
        XCTAssertThrowsError(try ProviderFactory.resolve(task: LLMEndpoint(apiKeyEnv: "MY_KEY"), overrides: LLMEndpoint(), environment: env)) { e in
            XCTAssertTrue("\(e)".contains("MY_KEY is not set"))
        }
    }
}
