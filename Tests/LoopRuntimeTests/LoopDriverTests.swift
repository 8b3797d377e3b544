import Foundation
import XCTest
import LoopData
import LoopGenerate
import LoopLLM
import LoopStore
import LoopTask
import TestSupport
@testable import LoopRuntime

/// The loop driver end to end, in process: real example data, real SQLite stores in temp
/// directories, programs compiled by the LLVM JIT, and stub HTTP servers on 127.0.0.1 for the LLM.
final class LoopDriverTests: XCTestCase {
    typealias F = LoopDriverFixtures

    // MARK: End to end with the labels oracle

    func testEndToEndOnSMSSpamWithTheLabelsOracle() throws {
        let dir = try F.tempDir("e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let task = try F.task("sms_spam")
        let split = try F.split(F.example("sms_spam", "data.jsonl"), seedCount: 300, shuffleSeed: 11, dir: dir)
        let seedTexts = Set(split.seed.compactMap { $0.input.string })
        XCTAssertEqual(split.seed.count, 300)
        XCTAssertFalse(split.stream.contains { seedTexts.contains($0["text"]?.string ?? "") }, "the stream holds no seed record")
        XCTAssertGreaterThan(split.stream.count, 5000)

        let store = try SQLiteStore.open(path: dir.appendingPathComponent("loop.sqlite").path, task: task.name)
        let driver = try LoopDriver(settings: F.settings(task: task, split: split, dir: dir), store: store, resume: false)
        let s = try driver.runToEnd()
        F.trace(name, s)
        let rate = task.validation.rate
        let n = split.stream.count

        // Every request answered by the program.
        XCTAssertEqual(s.requests, n)
        XCTAssertEqual(s.inputErrors, 0)
        XCTAssertEqual(s.cursor, n)
        XCTAssertNotNil(try store.run(id: driver.run.id!)?.finishedAt, "the run is finished")

        // Sampling: about rate × requests (within 4 standard errors of the binomial count).
        let expected = rate * Double(n), se = (Double(n) * rate * (1 - rate)).squareRoot()
        XCTAssertLessThan(abs(Double(s.sampled) - expected), 4 * se, "sampled \(s.sampled), expected \(expected) ± \(se)")
        XCTAssertEqual(s.validated + s.unvalidated, s.sampled)
        XCTAssertEqual(s.unvalidated, 0, "the labels oracle always answers")

        // Agreement with the oracle, its interval, true accuracy.
        let est = try XCTUnwrap(s.agreement.estimate)
        let ci = try XCTUnwrap(s.agreement.interval(level: task.validation.confidence))
        XCTAssertLessThanOrEqual(ci.lower, est)
        XCTAssertGreaterThanOrEqual(ci.upper, est)
        XCTAssertGreaterThanOrEqual(est, 0.9)
        XCTAssertEqual(s.trueTotal, n)
        XCTAssertGreaterThanOrEqual(Double(s.trueCorrect) / Double(s.trueTotal), 0.9)

        // Cost: a small fraction of asking the LLM every time, and break-even early.
        XCTAssertGreaterThan(s.allLLMCost, 0)
        XCTAssertLessThan(driver.totalCost, s.allLLMCost * (rate + 0.02), "cost \(driver.totalCost) vs all-LLM \(s.allLLMCost)")
        let breakEven = try XCTUnwrap(s.breakEvenAt)
        XCTAssertLessThanOrEqual(breakEven, 1000)

        // The store: exactly `validated` comparisons of sampled executions (the served version's).
        let runId = driver.run.id!
        let executions = try store.executions(run: runId)
        XCTAssertEqual(Set(executions.map(\.seq)).count, executions.count, "one execution per stream input")
        let sampled = Dictionary(uniqueKeysWithValues: executions.filter { $0.stratum != "shadow" }.map { ($0.id!, $0) })
        XCTAssertEqual(sampled.count, s.validated, "every validated sample is stored, nothing else sampled")
        let served = try store.comparisons().filter { c in sampled[c.executionId].map { $0.versionId == c.versionId } ?? false }
        XCTAssertEqual(served.count, s.validated)
        XCTAssertTrue(served.allSatisfy { abs($0.weight - 1 / rate) < 1e-9 }, "weights are 1 / inclusion probability")
        XCTAssertEqual(served.filter(\.agree).count, s.agreement.agreements)

        // The ledger: one stand-in entry per (batched) oracle call, priced.
        let oracleEntries = try store.ledger(run: runId).filter { $0.purpose == "oracle" }
        XCTAssertEqual(oracleEntries.count, s.oracleCalls)
        XCTAssertGreaterThan(s.oracleCalls, 0)
        XCTAssertLessThanOrEqual(s.oracleCalls, s.tier3, "at most one call per sample (batched)")
        XCTAssertTrue(oracleEntries.allSatisfy { ($0.cost ?? 0) > 0 && $0.inputTokens > 0 && $0.outputTokens > 0 })
        XCTAssertEqual(oracleEntries.compactMap(\.cost).reduce(0, +), s.oracleCost, accuracy: 1e-12)

        // The report says the same.
        let report = LoopReport(task: task.name, state: s, totalCost: driver.totalCost, confidence: task.validation.confidence,
                                cpuPricePerHour: task.validation.cpuPricePerHour, oracle: "labels:label", generator: "inducer",
                                strategy: task.validation.strategy.rawValue, rate: rate).json
        XCTAssertEqual(report["program_answers"]?.number, Double(n))
        XCTAssertEqual(report["validated"]?.number, Double(s.validated))
        XCTAssertLessThan(report["cost_fraction"]?.number ?? 1, rate + 0.02)
    }

    // MARK: Drift: improvement, shadow, canary, promotion

    static let novel = #"\b(tone|tones|ringtone|ringtones|polyphonic|chat|dating|singles|sexy|xxx|flirt|date|urgent|account|statement|points)\b"#

    /// A task whose labels the application names `spam!` and `not spam`, replayed from a stream
    /// whose label column holds those strings: the labels oracle and the true-label count read
    /// them as the labels they name, and the induced program declares them.
    func testAReplayWithTheApplicationsLabelStrings() throws {
        let dir = try F.tempDir("names")
        defer { try? FileManager.default.removeItem(at: dir) }
        var task = try F.task("sms_spam")
        let named = ["spam": "spam!", "ham": "not spam"]
        task.labels = task.labels.map { LabelSpec(name: $0.name, description: $0.description, applicationName: named[$0.name]) }
        let split = try F.split(F.example("sms_spam", "data.jsonl"), seedCount: 300, shuffleSeed: 5, limit: 1200, dir: dir)
        let renamed = split.stream.map { r -> JSON in
            guard case .object(let kv) = r else { return r }
            return .object(kv.map { $0.0 == "label" ? ("label", JSON(named[$0.1.string!]!)) : $0 })
        }
        try F.write(renamed, to: URL(fileURLWithPath: split.streamPath))
        var settings = F.settings(task: task, split: split, dir: dir)
        settings.oracle = LabelsOracle(column: "label", labels: task.labelNames, names: task.answerNames)
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("loop.sqlite").path, task: task.name)
        let driver = try LoopDriver(settings: settings, store: store, resume: false)
        let s = try driver.runToEnd()
        XCTAssertEqual(s.requests, 1200)
        XCTAssertEqual(s.trueTotal, 1200)
        XCTAssertGreaterThan(Double(s.trueCorrect) / Double(s.trueTotal), 0.9, "the true labels are read through the task's names")
        XCTAssertGreaterThan(s.validated, 0)
        XCTAssertEqual(s.invalidOracleAnswers, 0, "every oracle answer named a label")
        let source = try XCTUnwrap(try store.version(id: s.activeVersion)?.source)
        XCTAssertTrue(source.contains(#"labels spam as "spam!", ham as "not spam""#) || source.contains(#"ham as "not spam", spam as "spam!""#), source)
    }

    func testDriftTriggersAnImprovementThatIsPromoted() throws {
        let dir = try F.tempDir("drift")
        defer { try? FileManager.default.removeItem(at: dir) }
        var task = try F.task("sms_spam")
        task.validation.rate = 0.1
        let split = try F.splitStream(data: F.example("sms_spam", "data.jsonl"), dir: dir,
                                      arguments: ["--seed-fraction", "0.05", "--novel", Self.novel, "--novel-label", "spam", "--drift-after", "1500"])
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("loop.sqlite").path, task: task.name)
        let driver = try LoopDriver(settings: F.settings(task: task, split: split, dir: dir), store: store, resume: false)
        var lines: [String] = []
        driver.log = { lines.append($0) }
        let s = try driver.runToEnd()
        F.trace(name, s)
        let trace = lines.joined(separator: "\n")
        XCTAssertEqual(s.requests, split.stream.count)

        XCTAssertTrue(s.events.contains { $0.kind == "improve" }, "an improvement was triggered\n\(trace)")
        XCTAssertGreaterThanOrEqual(s.promoted, 1, trace)
        let first = try XCTUnwrap(store.versions().first)
        XCTAssertNotEqual(s.activeVersion, first.id, trace)
        let active = try XCTUnwrap(store.activeVersion())
        XCTAssertEqual(active.id, s.activeVersion)
        XCTAssertEqual(try store.versions(status: .active).count, 1, "one active version")

        // The promoted rollout, and the active version's parent chain down to the first program.
        let promoted = try store.rollouts().filter { $0.stage == .promoted && $0.baseId != nil }
        XCTAssertEqual(promoted.count, s.promoted)
        XCTAssertEqual(promoted.last?.candidateId, s.activeVersion)
        let lineage = try store.lineage(of: s.activeVersion)
        XCTAssertGreaterThanOrEqual(lineage.count, 2)
        XCTAssertEqual(lineage.last?.id, first.id)
        XCTAssertNil(lineage.last?.parentId)
        for (child, parent) in zip(lineage, lineage.dropFirst()) { XCTAssertEqual(child.parentId, parent.id) }
        XCTAssertEqual(try store.rollouts(candidate: s.activeVersion).map(\.stage).first, .shadow)

        // shadow → canary → promoted, in order, for the promoted version.
        let v = s.activeVersion
        let sh = try XCTUnwrap(F.eventIndex(s, "shadow", version: v), trace)
        let ca = try XCTUnwrap(F.eventIndex(s, "canary", version: v), trace)
        let pr = try XCTUnwrap(F.eventIndex(s, "promoted", version: v), trace)
        XCTAssertLessThan(sh, ca)
        XCTAssertLessThan(ca, pr)
        let improve = s.events[..<sh].lastIndex { $0.kind == "improve" }
        XCTAssertNotNil(improve, "the shadow candidate follows an improvement trigger")

        // On the tail after the (last) promotion, the promoted version is not worse than the first.
        let at = s.events[pr].requests
        let tail = Array(split.stream[at...])
        XCTAssertGreaterThan(tail.count, 100)
        let before = try F.accuracy(first.source, on: tail)
        let after = try F.accuracy(active.source, on: tail)
        XCTAssertGreaterThanOrEqual(after, before, "tail accuracy: first v\(first.id!) \(before), promoted v\(v) \(after)")
        // And the drift is the reason: the promoted version gets more of the new kind right.
        let novel = try NSRegularExpression(pattern: Self.novel, options: [.caseInsensitive])
        let novelTail = tail.filter { r in
            let t = r["text"]?.string ?? ""
            return r["label"]?.string == "spam" && novel.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) != nil
        }
        XCTAssertGreaterThan(try F.accuracy(active.source, on: novelTail), try F.accuracy(first.source, on: novelTail))
    }

    // MARK: Escalation

    func testSentimentEscalatesWithTicketFilesAndWebhook() throws {
        let dir = try F.tempDir("esc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try StubServer()
        defer { server.stop() }
        server.respond { _ in .ok("ok") }
        var task = try F.task("sentiment")
        task.validation.rate = 0.1
        let split = try F.splitStream(data: F.example("sentiment", "data.jsonl"), dir: dir, arguments: ["--seed-fraction", "0.2"])
        var settings = F.settings(task: task, split: split, dir: dir)
        settings.webhook = server.baseURL + "/hooks/loopai"
        settings.webhookHTTP = F.http()
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("loop.sqlite").path, task: task.name)
        let driver = try LoopDriver(settings: settings, store: store, resume: false)
        let s = try driver.runToEnd()
        F.trace(name, s)
        XCTAssertEqual(s.requests, split.stream.count)
        XCTAssertGreaterThanOrEqual(s.escalations, 1)

        let open = try store.escalations(status: .open)
        XCTAssertEqual(open.count, s.escalations)
        let e = try XCTUnwrap(open.first)
        let id = try XCTUnwrap(e.id)
        XCTAssertEqual(e.runId, driver.run.id)
        XCTAssertTrue(e.ticketMarkdown.contains("## Failing examples"), e.ticketMarkdown)
        XCTAssertTrue(e.ticketMarkdown.contains("## Reproduce and resolve"), e.ticketMarkdown)
        XCTAssertTrue(e.ticketMarkdown.contains("loopai escalations resolve \(id)"))

        // The ticket files.
        let base = dir.appendingPathComponent("escalations/ESC-\(id)").path
        for ext in [".md", ".json", ".program.loop", ".failures.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: base + ext), "missing ESC-\(id)\(ext)")
        }
        XCTAssertEqual(try String(contentsOfFile: base + ".md", encoding: .utf8), e.ticketMarkdown)
        let ticket = try JSONParser.parse(try String(contentsOfFile: base + ".json", encoding: .utf8))
        XCTAssertEqual(ticket["id"]?.number, Double(id))
        XCTAssertEqual(ticket["task"]?.string, "sentiment")
        let failures = try XCTUnwrap(ticket["failures"]?.array)
        XCTAssertFalse(failures.isEmpty)
        for f in failures {
            XCTAssertNotNil(f["program"]?.string)
            XCTAssertNotEqual(f["program"]?.string, f["oracle"]?.string, "a failing example: program ≠ oracle")
        }
        // The program file is the active program and checks; the failures file has the oracle's labels.
        XCTAssertNoThrow(try LoadedProgram(versionId: 0, source: try String(contentsOfFile: base + ".program.loop", encoding: .utf8)))
        let failureLines = try F.records(base + ".failures.jsonl")
        XCTAssertEqual(failureLines.count, failures.count)
        XCTAssertEqual(failureLines.map { $0["label"]?.string }, failures.map { $0["oracle"]?.string })
        // Each line also says what the program answered, what decided and what pushed it there.
        XCTAssertEqual(failureLines.map { $0["program"]?["label"]?.string }, failures.map { $0["program"]?.string })
        XCTAssertEqual(failureLines.map { $0["program"]?["decided_by"]?.string }, failures.map { $0["decided_by"]?.string })
        for l in failureLines where l["program"]?["decided_by"]?.string == "score" {
            XCTAssertFalse(l["program"]?["pushed_by"]?.array?.isEmpty ?? true, "a score decision names its words: \(l)")
        }
        // The ticket says whether its list is cut, and what pushed the wrong labels.
        let total = try XCTUnwrap(ticket["failures_total"]?.number)
        XCTAssertGreaterThanOrEqual(Int(total), failures.count)
        XCTAssertTrue(e.ticketMarkdown.contains(Int(total) > failures.count ? "(the \(failures.count) most recent of \(Int(total));" : "## Failing examples (\(failures.count))"), e.ticketMarkdown)
        XCTAssertTrue(e.ticketMarkdown.contains("## What pushed the wrong label"), e.ticketMarkdown)
        XCTAssertFalse(try XCTUnwrap(ticket["pushes"]?.array).isEmpty)

        // The webhook got a Slack-style POST naming the task.
        let posts = server.requests.filter { $0.method == "POST" && $0.path == "/hooks/loopai" }
        XCTAssertEqual(posts.count, s.escalations, "one webhook call per escalation")
        let body = try JSONParser.parse(try XCTUnwrap(posts.first).text)
        let text = try XCTUnwrap(body["text"]?.string)
        XCTAssertTrue(text.contains("sentiment"), text)
        XCTAssertEqual(body["task"]?.string, "sentiment")
    }

    // MARK: The oracle failing

    func testAFailingOracleLeavesRequestsAnsweredAndValidationResumesLater() throws {
        let dir = try F.tempDir("oracle-down")
        defer { try? FileManager.default.removeItem(at: dir) }
        var task = try F.task("sms_spam")
        task.validation.rate = 0.1
        let split = try F.split(F.example("sms_spam", "data.jsonl"), seedCount: 300, shuffleSeed: 5, limit: 2000, dir: dir)
        var truth: [String: String] = [:]
        for r in try F.records(F.example("sms_spam", "data.jsonl")) { truth[r["text"]!.string!] = r["label"]!.string! }
        let answers = truth

        // Phase 1: the oracle answers 500 to everything.
        let down = try StubServer()
        defer { down.stop() }
        down.respond { _ in .status(500, "upstream down") }
        let client = F.client(down)
        var settings = F.settings(task: task, split: split, dir: dir)
        settings.oracle = LLMOracle(task: task, client: client, model: "stub-oracle", batchSize: 10, concurrency: 1)
        settings.oracleClient = client
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("down.sqlite").path, task: task.name)
        let driver = try LoopDriver(settings: settings, store: store, resume: false)
        let s = try driver.runToEnd()
        F.trace(name, s)
        XCTAssertEqual(s.requests, split.stream.count)
        XCTAssertEqual(s.inputErrors, 0, "every request answered")
        XCTAssertEqual(s.validated, 0)
        XCTAssertGreaterThan(s.unvalidated, 0)
        XCTAssertEqual(s.validated + s.unvalidated, s.sampled)
        XCTAssertGreaterThan(s.oracleBackoffUntil, 0, "validation backs off")
        XCTAssertLessThan(down.requests.count, s.sampled, "backed off: far fewer calls than samples")
        let report = LoopReport(task: task.name, state: s, totalCost: driver.totalCost, confidence: 0.95, cpuPricePerHour: 0.05,
                                oracle: settings.oracle.name, generator: "inducer", strategy: "random", rate: 0.1).json
        XCTAssertGreaterThan(report["unvalidated"]?.number ?? 0, 0)
        XCTAssertEqual(report["program_answers"]?.number, Double(split.stream.count))
        let failed = try store.ledger(run: driver.run.id).filter { $0.purpose == "oracle" }
        XCTAssertFalse(failed.isEmpty, "failed calls are in the ledger")
        XCTAssertTrue(failed.allSatisfy { $0.outcome != "success" })

        // Phase 2: the oracle fails its first calls, then answers with the true labels.
        let flaky = try StubServer()
        defer { flaky.stop() }
        final class Counter: @unchecked Sendable { let lock = NSLock(); var n = 0; func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n } }
        let calls = Counter()
        flaky.respond { r in
            calls.next() <= 3 ? .status(500, "warming up") : F.oracleReply(r) { answers[$0] ?? "ham" }
        }
        let client2 = F.client(flaky)
        var settings2 = F.settings(task: task, split: split, dir: dir)
        settings2.oracle = LLMOracle(task: task, client: client2, model: "stub-oracle", batchSize: 10, concurrency: 1)
        settings2.oracleClient = client2
        let store2 = try SQLiteStore.open(path: dir.appendingPathComponent("flaky.sqlite").path, task: task.name)
        let driver2 = try LoopDriver(settings: settings2, store: store2, resume: false)
        let s2 = try driver2.runToEnd()
        F.trace(name + " (flaky)", s2)
        XCTAssertEqual(s2.requests, split.stream.count)
        XCTAssertGreaterThan(s2.unvalidated, 0, "samples while the oracle was down")
        XCTAssertGreaterThan(s2.validated, 0, "validation resumed")
        XCTAssertEqual(s2.validated + s2.unvalidated, s2.sampled)
        XCTAssertGreaterThanOrEqual(s2.agreement.estimate ?? 0, 0.85, "the oracle's labels are the truth")
        let ledger = try store2.ledger(run: driver2.run.id).filter { $0.purpose == "oracle" }
        XCTAssertEqual(ledger.count, s2.oracleCalls, "failed and successful calls are all in the ledger")
        XCTAssertGreaterThan(ledger.filter { $0.outcome == "success" }.count, 0)
        XCTAssertEqual(ledger.filter { $0.outcome != "success" }.count, 3)
    }

    // MARK: A stub LLM as generator and oracle

    static let stubProgram = """
    program sms_spam
      "Flags unsolicited SMS: offers, prizes, premium-rate numbers."

    input text: text
    labels spam, ham

    const spam_words = ["free", "win", "winner", "prize", "claim", "ringtone", "txt", "urgent", "cash", "subscription", "awarded"]

    let msg = lower(text)

    rule premium_number when matches(text, /\\b0[89]\\d{9}\\b/) => spam confidence 0.99
    rule offer when contains_any_word(msg, spam_words) => spam
    otherwise => ham

    test "WINNER!! Claim your prize, call 09061701461" => spam
    test "Are we still on for lunch?" => ham
    """

    static func keywordLabel(_ text: String) -> String {
        let t = text.lowercased()
        return ["free", "win", "prize", "claim", "txt", "urgent", "cash", "mobile", "call 0"].contains { t.contains($0) } ? "spam" : "ham"
    }

    func testStubLLMGeneratesAndJudgesWithEveryCallInTheLedger() throws {
        let dir = try F.tempDir("stub-llm")
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertNoThrow(try LoadedProgram(versionId: 0, source: Self.stubProgram), "the stub's program checks")
        let server = try StubServer()
        defer { server.stop() }
        let program = Self.stubProgram
        server.respond { r in
            F.isOracle(r) ? F.oracleReply(r, label: Self.keywordLabel)
                          : F.openAIReply("Here is the program:\n\n```loop\n\(program)\n```\n", usage: (900, 300))
        }
        let task = try F.task("sms_spam")
        let split = try F.split(F.example("sms_spam", "data.jsonl"), seedCount: 100, shuffleSeed: 3, limit: 1500, dir: dir)
        let genClient = F.client(server), oracleClient = F.client(server)
        var settings = F.settings(task: task, split: split, dir: dir)
        settings.generator = LLMProgramGenerator(LLMGenerator(task: task, client: genClient, model: "stub-gen"))
        settings.seedExamples = task.examples
        settings.oracle = LLMOracle(task: task, client: oracleClient, model: "stub-oracle", batchSize: 10, concurrency: 2)
        settings.oracleClient = oracleClient
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("loop.sqlite").path, task: task.name)
        let driver = try LoopDriver(settings: settings, store: store, resume: false)
        let s = try driver.runToEnd()
        F.trace(name, s)
        XCTAssertEqual(s.requests, split.stream.count)
        XCTAssertGreaterThan(s.validated, 0)
        XCTAssertEqual(s.validated + s.unvalidated, s.sampled)

        // The stored oracle answers are the stub's keyword labels for the stored inputs.
        var checked = 0
        for e in try store.executions(run: driver.run.id!) {
            let text = try XCTUnwrap(JSONParser.parse(e.input).string)
            for a in try store.answers(inputHash: e.inputHash) where a.executionId == e.id {
                XCTAssertEqual(a.label, Self.keywordLabel(text), text)
                XCTAssertEqual(a.source, .llm)
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0)

        // The first version is the stub's program (with the generator's provenance header).
        let first = try XCTUnwrap(store.versions().first)
        XCTAssertTrue(first.source.contains("rule premium_number"), first.source)
        XCTAssertTrue(first.provenance.hasPrefix("llm:"), first.provenance)

        // The ledger holds generation and oracle calls with tokens and costs, as the state counts them.
        let ledger = try store.ledger(run: driver.run.id)
        let gen = ledger.filter { $0.purpose == "generate" || $0.purpose == "repair" }
        let orc = ledger.filter { $0.purpose == "oracle" }
        XCTAssertGreaterThanOrEqual(gen.count, 1)
        XCTAssertGreaterThanOrEqual(orc.count, 1)
        XCTAssertTrue(ledger.contains { $0.purpose == "generate" })
        for e in gen + orc {
            XCTAssertGreaterThan(e.inputTokens, 0); XCTAssertGreaterThan(e.outputTokens, 0)
            XCTAssertGreaterThan(e.cost ?? 0, 0); XCTAssertEqual(e.outcome, "success")
        }
        XCTAssertEqual(gen.count, s.generationCalls)
        XCTAssertEqual(orc.count, s.oracleCalls)
        XCTAssertEqual(gen.compactMap(\.cost).reduce(0, +), s.generationCost, accuracy: 1e-12)
        XCTAssertEqual(orc.compactMap(\.cost).reduce(0, +), s.oracleCost, accuracy: 1e-12)
        XCTAssertEqual(ledger.map(\.inputTokens).reduce(0, +), s.inputTokens)
        let genRequests = server.requests.filter { !F.isOracle($0) }.count
        XCTAssertEqual(genRequests, s.generationCalls, "one ledger entry per generation request")
        XCTAssertEqual(server.requests.count - genRequests, s.oracleCalls, "one ledger entry per oracle request")

        let report = LoopReport(task: task.name, state: s, totalCost: driver.totalCost, confidence: 0.95, cpuPricePerHour: 0.05,
                                oracle: settings.oracle.name, generator: settings.generator.name, strategy: "random", rate: task.validation.rate).json
        XCTAssertGreaterThanOrEqual(report["generation_calls"]?.number ?? 0, 1)
        XCTAssertGreaterThan(report["generation_cost"]?.number ?? 0, 0)
        XCTAssertGreaterThan(report["oracle_cost"]?.number ?? 0, 0)
        XCTAssertEqual(report["oracle"]?.string, "llm:openai/stub-oracle")
    }

    // MARK: Resume in process

    func testResumeInProcessMatchesAnUninterruptedRun() throws {
        let dir = try F.tempDir("resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        var task = try F.task("sms_spam")
        task.validation.rate = 0.1
        let split = try F.splitStream(data: F.example("sms_spam", "data.jsonl"), dir: dir,
                                      arguments: ["--seed-fraction", "0.05", "--novel", Self.novel, "--novel-label", "spam",
                                                  "--drift-after", "300", "--limit", "2500"])
        func settings() -> LoopSettings {
            var s = F.settings(task: task, split: split, dir: dir, seed: 7)
            s.batchSize = 100
            return s
        }
        // Uninterrupted.
        let whole = try SQLiteStore.open(path: dir.appendingPathComponent("whole.sqlite").path, task: task.name)
        let a = try LoopDriver(settings: settings(), store: whole, resume: false)
        let sa = try a.runToEnd()

        // Stopped after 700 requests, then resumed by a new driver over a reopened store.
        let path = dir.appendingPathComponent("parts.sqlite").path
        var partial = settings()
        partial.maxRequests = 700
        var store: SQLiteStore? = try SQLiteStore.open(path: path, task: task.name)
        let b1 = try LoopDriver(settings: partial, store: store!, resume: false)
        let s1 = try b1.runToEnd()
        XCTAssertEqual(s1.requests, 700)
        XCTAssertEqual(try store!.latestRun()?.cursor, 700)
        XCTAssertNil(try store!.latestRun()?.finishedAt)
        try store!.close()
        store = nil
        let reopened = try SQLiteStore.open(path: path, task: task.name)
        let b2 = try LoopDriver(settings: settings(), store: reopened, resume: true)
        XCTAssertEqual(b2.run.id, b1.run.id, "the same run continues")
        let sb = try b2.runToEnd()
        F.trace(name + " (whole)", sa)
        F.trace(name + " (resumed)", sb)

        XCTAssertEqual(sb.requests, sa.requests)
        XCTAssertEqual(sb.sampled, sa.sampled)
        XCTAssertEqual(sb.validated, sa.validated)
        XCTAssertEqual(sb.oracleCalls, sa.oracleCalls)
        XCTAssertEqual(sb.unvalidated, sa.unvalidated)
        XCTAssertEqual(sb.trueCorrect, sa.trueCorrect)
        XCTAssertEqual(sb.agreement, sa.agreement)
        XCTAssertEqual(sb.promoted, sa.promoted)
        XCTAssertEqual(sb.rejected, sa.rejected)
        XCTAssertEqual(sb.events.map(\.kind), sa.events.map(\.kind))
        XCTAssertEqual(try reopened.executionCount(run: b2.run.id!), try whole.executionCount(run: a.run.id!))
        let seqs = try reopened.executions(run: b2.run.id!).map(\.seq)
        XCTAssertEqual(seqs, try whole.executions(run: a.run.id!).map(\.seq))
        XCTAssertEqual(Set(seqs).count, seqs.count)
        XCTAssertEqual(try reopened.ledger(run: b2.run.id).count, try whole.ledger(run: a.run.id).count)
        XCTAssertNotNil(try reopened.run(id: b2.run.id!)?.finishedAt)

        // A finished run cannot be resumed.
        XCTAssertThrowsError(try LoopDriver(settings: settings(), store: reopened, resume: true)) { e in
            XCTAssertTrue("\(e)".contains("already finished"), "\(e)")
        }
    }

    // MARK: Rollback

    static let baseProgram = """
    program sms_spam
    input text: text
    labels spam, ham

    let msg = lower(text)

    rule prize when contains_word(msg, "prize") => spam
    otherwise => ham

    test "you won a prize" => spam
    test "see you at lunch" => ham
    """

    /// Right on spam that says "call", wrong on every ham that does.
    static let callProgram = """
    program sms_spam
    input text: text
    labels spam, ham

    let msg = lower(text)

    rule prize when contains_word(msg, "prize") => spam
    rule call when contains_word(msg, "call") => spam
    otherwise => ham

    test "you won a prize" => spam
    test "call 0800 now to claim" => spam
    test "see you at lunch" => ham
    """

    struct RollbackRun {
        var state: DriverState
        var store: SQLiteStore
        var runId: Int64
        var v1: Int64
        var v2: Int64?
        var trace: String
        var significance: Double
    }

    /// A candidate that fixes the first failures (spam saying "call") wins in shadow; then, from
    /// request 200 on, ham saying "call" arrives at the seqs where `callHamAt` is true: the
    /// candidate gets those wrong, the active version gets them right. Real SMS messages only.
    func rollbackRun(_ dir: URL, callHamAt: (Int) -> Bool) throws -> RollbackRun {
        var task = try F.task("sms_spam")
        task.validation.rate = 1
        task.improvement.window = 100
        task.improvement.agreementFloor = 0.5
        let base = try LoadedProgram(versionId: 0, source: Self.baseProgram)
        let call = try LoadedProgram(versionId: 0, source: Self.callProgram)
        func label(_ p: LoadedProgram, _ r: JSON) -> String? { try? p.classify(r["text"]!).get().label }
        let data = try F.records(F.example("sms_spam", "data.jsonl"))
        let plainHam = data.filter { $0["label"]?.string == "ham" && label(base, $0) == "ham" && label(call, $0) == "ham" }
        let callSpam = data.filter { $0["label"]?.string == "spam" && label(base, $0) == "ham" && label(call, $0) == "spam" }
        let callHam = data.filter { $0["label"]?.string == "ham" && label(base, $0) == "ham" && label(call, $0) == "spam" }
        XCTAssertGreaterThan(callSpam.count, 30)
        XCTAssertGreaterThan(callHam.count, 100)
        // 200 requests with 10% spam that says "call", then 600 where `callHamAt` places ham that says "call".
        var stream: [JSON] = []
        var h = 0, cs = 0, ch = 0
        for i in 0..<200 { if i % 10 == 9 { stream.append(callSpam[cs]); cs += 1 } else { stream.append(plainHam[h]); h += 1 } }
        for seq in 200..<800 {
            if callHamAt(seq) { stream.append(callHam[ch % callHam.count]); ch += 1 } else { stream.append(plainHam[h]); h += 1 }
        }
        let streamURL = dir.appendingPathComponent("stream.jsonl")
        try F.write(stream, to: streamURL)

        let generator = ScriptedGenerator(initial: Self.baseProgram, improvements: [Self.callProgram])
        var settings = LoopSettings(task: task, streamPath: streamURL.path, oracle: LabelsOracle(column: "label", labels: task.labelNames),
                                    oraclePricing: Pricing(inputPerMillion: 0.15, outputPerMillion: 0.60), oracleClient: nil,
                                    generator: generator, seedExamples: task.examples,
                                    escalationDirectory: dir.appendingPathComponent("escalations").path)
        settings.labelKey = "label"
        settings.batchSize = 100
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("loop.sqlite").path, task: task.name)
        let driver = try LoopDriver(settings: settings, store: store, resume: false)
        var lines: [String] = []
        driver.log = { lines.append($0) }
        let s = try driver.runToEnd()
        F.trace(name, s)
        XCTAssertGreaterThanOrEqual(generator.improveCalls, 1)
        let versions = try store.versions()
        return RollbackRun(state: s, store: store, runId: driver.run.id!, v1: versions.first!.id!,
                           v2: versions.first { $0.source == Self.callProgram }?.id, trace: lines.joined(separator: "\n"),
                           significance: task.improvement.significance)
    }

    /// Shadow → canary → rolled back, in the events and in the store; the active version stays.
    func assertRolledBack(_ r: RollbackRun, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let s = r.state
        XCTAssertEqual(s.activeVersion, r.v1, r.trace, file: file, line: line)
        XCTAssertEqual(s.promoted, 0, r.trace, file: file, line: line)
        XCTAssertGreaterThanOrEqual(s.rolledBack, 1, r.trace, file: file, line: line)
        let v2 = try XCTUnwrap(r.v2, r.trace, file: file, line: line)
        let sh = try XCTUnwrap(F.eventIndex(s, "shadow", version: v2), r.trace, file: file, line: line)
        let ca = try XCTUnwrap(F.eventIndex(s, "canary", version: v2), r.trace, file: file, line: line)
        let rb = try XCTUnwrap(F.eventIndex(s, "rolled back", version: v2), r.trace, file: file, line: line)
        XCTAssertLessThan(sh, ca, file: file, line: line); XCTAssertLessThan(ca, rb, file: file, line: line)
        XCTAssertGreaterThanOrEqual(s.events[rb].requests, 200, "the regression is in the second part of the stream", file: file, line: line)
        XCTAssertEqual(try r.store.rollouts(candidate: v2).map(\.stage), [.shadow, .canary, .rolledBack], file: file, line: line)
        XCTAssertEqual(try r.store.version(id: v2)?.status, .rolledBack, file: file, line: line)
        XCTAssertEqual(try r.store.activeVersion()?.id, r.v1, file: file, line: line)
        XCTAssertNil(s.candidate, file: file, line: line)
        return rb
    }

    func testACandidateThatRegressesInCanaryIsRolledBack() throws {
        let dir = try F.tempDir("rollback")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try rollbackRun(dir) { $0 % 4 == 3 }
        let rb = try assertRolledBack(r)
        // The candidate really answered canary traffic, and got it wrong.
        let v2 = r.v2!
        let canaryServed = try r.store.executions(run: r.runId).filter { $0.versionId == v2 && $0.stratum != "shadow" }
        XCTAssertFalse(canaryServed.isEmpty)
        let wrong = try r.store.comparisons(version: v2).filter { !$0.agree }
        XCTAssertFalse(wrong.isEmpty)
        XCTAssertTrue(wrong.allSatisfy { $0.programLabel == "spam" && $0.oracleLabel == "ham" })
        XCTAssertTrue(r.state.events[rb].detail.hasPrefix("regressed at 10% canary"), r.state.events[rb].detail)
    }

    /// The same regression, but the ham that says "call" only arrives on requests the active
    /// version serves: the canary's own agreement is perfect and only the paired comparisons (the
    /// candidate runs beside the active version on every request) show the regression.
    func testARollbackOnPairedEvidenceReportsTheRegressionPValue() throws {
        let dir = try F.tempDir("rollback-paired")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Which seqs the candidate would answer at the first canary step (the snapshot's own routing).
        let router = ServingSnapshot(active: try LoadedProgram(versionId: 1, source: Self.baseProgram),
                                     candidate: try LoadedProgram(versionId: 2, source: Self.callProgram), canaryShare: 0.1)
        let r = try rollbackRun(dir) { $0 % 4 == 3 && !router.servedByCandidate(.seq($0)) }
        let rb = try assertRolledBack(r)
        let v2 = r.v2!
        XCTAssertTrue(try r.store.comparisons(version: v2).filter { $0.weight > 0 }.allSatisfy(\.agree),
                      "the canary's served answers all agree with the oracle")
        // The event states the evidence: a p-value under the significance level.
        let detail = r.state.events[rb].detail
        guard let range = detail.range(of: #"p = [0-9.]+"#, options: .regularExpression), let p = Double(detail[range].dropFirst(4)) else {
            return XCTFail("the rollback event states no p-value: \(detail)")
        }
        if p >= r.significance {
            XCTFail("driver bug (Sources/LoopRuntime/Rollout/RolloutMachine.swift, step(), case .canary): the rollback reports p = \(p) — `min(pBelow, c.paired.pValue)` uses `PairedComparison.pValue`, the p-value that the candidate is BETTER; the rollback evidence is `c.paired.regressionPValue`. Event: \(detail)")
        }
    }
}
