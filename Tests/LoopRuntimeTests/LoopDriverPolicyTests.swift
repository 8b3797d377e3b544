import Foundation
import XCTest
import LoopData
import LoopGenerate
import LoopLLM
import LoopStore
import LoopTask
import TestSupport
@testable import LoopRuntime

/// The task's improvement policy as Docs/task-spec.md documents it.
extension LoopDriverTests {
    /// `improvement.window` is "Validated samples in the sliding window" and the agreement
    /// threshold applies "over the window" (Docs/task-spec.md). With window 50, the trigger must
    /// look at the last 50 validations.
    func testTheAgreementTriggerUsesTheTasksWindow() throws {
        let dir = try F.tempDir("window")
        defer { try? FileManager.default.removeItem(at: dir) }
        var task = try F.task("sms_spam")
        task.validation.rate = 1
        task.improvement.window = 50
        task.improvement.agreementFloor = 0.5
        let base = try LoadedProgram(versionId: 0, source: Self.baseProgram)
        let data = try F.records(F.example("sms_spam", "data.jsonl"))
        func label(_ r: JSON) -> String? { try? base.classify(r["text"]!).get().label }
        let right = data.filter { $0["label"]?.string == "ham" && label($0) == "ham" }
        let wrong = data.filter { $0["label"]?.string == "spam" && label($0) == "ham" }
        // 200 requests the program gets right, then 20% it gets wrong.
        var stream: [JSON] = Array(right.prefix(200))
        var r = 200, w = 0
        for i in 0..<200 { if i % 5 == 4 { stream.append(wrong[w]); w += 1 } else { stream.append(right[r]); r += 1 } }
        let url = dir.appendingPathComponent("stream.jsonl")
        try F.write(stream, to: url)
        var settings = LoopSettings(task: task, streamPath: url.path, oracle: LabelsOracle(column: "label", labels: task.labelNames),
                                    oraclePricing: Pricing(inputPerMillion: 0.15, outputPerMillion: 0.60), oracleClient: nil,
                                    generator: ScriptedGenerator(initial: Self.baseProgram, improvements: [Self.baseProgram]),
                                    seedExamples: task.examples, escalationDirectory: dir.appendingPathComponent("escalations").path)
        settings.labelKey = "label"
        settings.batchSize = 100
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("loop.sqlite").path, task: task.name)
        let driver = try LoopDriver(settings: settings, store: store, resume: false)
        let s = try driver.runToEnd()
        F.trace(name, s)
        let improve = try XCTUnwrap(s.events.first { $0.kind == "improve" }, "the drop triggers an improvement")
        XCTAssertEqual(improve.requests, 300)
        let n = improve.detail.range(of: #"over the last [0-9]+ validations"#, options: .regularExpression)
            .flatMap { Int(improve.detail[$0].split(separator: " ")[3]) }
        let window = s.sampler.recent.capacity
        if n.map({ $0 > task.improvement.window }) ?? true || window != task.improvement.window {
            XCTFail("""
                driver bug (Sources/LoopRuntime/Loop/Decisions.swift decide() reads `state.sampler.recent`, a \
                WindowedAgreement of SamplerConfiguration.adaptiveWindow = 200 validations, built by \
                Sampler(policy: task.validation, ...) in Driver.swift init; `task.improvement.window` only sets the \
                shadow limit, canary step length and cool-down): the task says window \(task.improvement.window), the \
                trigger looked at \(n.map(String.init) ?? "?") validations (window capacity \(window)). Event: \(improve.detail)
                """)
        }
    }
}
