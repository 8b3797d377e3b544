import Foundation
import XCTest
import LoopData
import LoopStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `loopai loop` as a user runs it: the real binary, real SQLite stores, real example data, and
/// a real `kill -9` in the middle of a run followed by `--resume`.
final class LoopCLITests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// No API keys or proxies: the generator falls back to the offline inducer, nothing leaves the machine.
    static let environment: [String: String] = {
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "LANG": "C.UTF-8"]
        env["HOME"] = FileManager.default.temporaryDirectory.path
        return env
    }()

    /// A temp dir with task.yaml (the sms_spam task, its data replaced by seed.jsonl), seed.jsonl
    /// (300 records of a seeded shuffle of Examples/sms_spam/data.jsonl) and stream.jsonl (the others,
    /// at most `streamLimit`).
    /// With `quiet`, the improvement policy never fires (no candidates, no escalations).
    func workspace(streamLimit: Int? = nil, quiet: Bool = false) throws -> (dir: URL, streamCount: Int) {
        let data = try String(contentsOf: Self.root.appendingPathComponent("Examples/sms_spam/data.jsonl"), encoding: .utf8)
        var lines = data.split(separator: "\n").map(String.init)
        var rng = SeededRandom(seed: 2024)
        lines.shuffle(using: &rng)
        let seed = Array(lines.prefix(300))
        let seedTexts = Set(seed.compactMap { (try? JSONParser.parse($0))?["text"]?.string })
        var stream = lines.dropFirst(300).filter { !seedTexts.contains((try? JSONParser.parse($0))?["text"]?.string ?? "") }
        if let streamLimit { stream = Array(stream.prefix(streamLimit)) }
        var yaml = try String(contentsOf: Self.root.appendingPathComponent("Examples/sms_spam/task.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "data: data.jsonl", with: "data: seed.jsonl")
        XCTAssertTrue(yaml.contains("data: seed.jsonl"))
        if quiet {
            for (from, to) in [("agreement_threshold: 0.95", "agreement_threshold: 0.5"), ("rule_precision_floor: 0.8", "rule_precision_floor: 0.05"),
                               ("agreement_floor: 0.8", "agreement_floor: 0.3")] {
                XCTAssertTrue(yaml.contains(from), from)
                yaml = yaml.replacingOccurrences(of: from, with: to)
            }
        }
        let dir = try CLI.tempDir(["task.yaml": yaml, "seed.jsonl": seed.joined(separator: "\n") + "\n",
                                   "stream.jsonl": stream.joined(separator: "\n") + "\n"])
        return (dir, stream.count)
    }

    func loopArgs(_ dir: URL, store: String, _ extra: [String] = []) -> [String] {
        ["loop", "--task", dir.appendingPathComponent("task.yaml").path, "--stream", dir.appendingPathComponent("stream.jsonl").path,
         "--oracle", "labels:label", "--store", dir.appendingPathComponent(store).path] + extra
    }

    // MARK: The JSON report

    func testLoopPrintsTheDocumentedJSONReport() throws {
        let (dir, n) = try workspace(streamLimit: 1500)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(loopArgs(dir, store: "loop.sqlite", ["--format", "json"]), environment: Self.environment)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try JSONParser.parse(r.stdout)
        for key in ["task", "oracle", "generator", "strategy", "sampling_rate", "realized_sampling_rate", "requests", "program_answers",
                    "input_errors", "sampled", "validated", "tier2_validations", "tier3_validations", "shadow_queries", "unvalidated",
                    "invalid_oracle_answers", "oracle_calls", "generation_calls", "input_tokens", "output_tokens", "oracle_cost",
                    "generation_cost", "cpu_seconds", "cpu_cost", "cost", "all_llm_cost", "cost_fraction", "cost_reduction", "break_even_at",
                    "agreement", "agreement_lower", "agreement_upper", "confidence_level", "accuracy", "labeled_requests",
                    "versions_promoted", "versions_rolled_back", "candidates_rejected", "escalations", "active_version",
                    "latency_p50_ns", "latency_p99_ns"] {
            XCTAssertNotNil(j[key], "missing field \(key) in \(r.stdout)")
        }
        XCTAssertEqual(j["task"]?.string, "sms_spam")
        XCTAssertEqual(j["oracle"]?.string, "labels:label")
        XCTAssertEqual(j["generator"]?.string, "inducer", "no API key: the offline inducer")
        XCTAssertEqual(j["requests"]?.number, Double(n))
        XCTAssertEqual(j["program_answers"]?.number, Double(n))
        XCTAssertEqual(j["labeled_requests"]?.number, Double(n))
        XCTAssertEqual(j["sampling_rate"]?.number, 0.05)
        let sampled = try XCTUnwrap(j["sampled"]?.number), validated = try XCTUnwrap(j["validated"]?.number)
        XCTAssertEqual(validated + (j["unvalidated"]?.number ?? -1), sampled)
        let a = try XCTUnwrap(j["agreement"]?.number), lo = try XCTUnwrap(j["agreement_lower"]?.number), hi = try XCTUnwrap(j["agreement_upper"]?.number)
        XCTAssertLessThanOrEqual(lo, a); XCTAssertLessThanOrEqual(a, hi); XCTAssertGreaterThan(a, 0.85)
        let accuracy = try XCTUnwrap(j["accuracy"]?.number)
        XCTAssertGreaterThan(accuracy, 0.85); XCTAssertLessThanOrEqual(accuracy, 1)
        let fraction = try XCTUnwrap(j["cost_fraction"]?.number)
        XCTAssertGreaterThan(fraction, 0); XCTAssertLessThan(fraction, 0.2)
        XCTAssertEqual(j["cost_reduction"]?.number ?? 0, 1 - fraction, accuracy: 1e-9)
        XCTAssertEqual(j["cost"]?.number ?? 0, fraction * (j["all_llm_cost"]?.number ?? 0), accuracy: 1e-9)
        let p50 = try XCTUnwrap(j["latency_p50_ns"]?.number), p99 = try XCTUnwrap(j["latency_p99_ns"]?.number)
        XCTAssertGreaterThan(p50, 0); XCTAssertLessThanOrEqual(p50, p99)
        XCTAssertGreaterThanOrEqual(j["active_version"]?.number ?? 0, 1)
        XCTAssertNotNil(j["versions_promoted"]?.number)
        XCTAssertNotNil(j["escalations"]?.number)

        // The text report of the same store's next run starts from the stored active version.
        let text = try CLI.run(loopArgs(dir, store: "loop.sqlite"), environment: Self.environment)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("loop report: sms_spam"), text.stdout)
        XCTAssertTrue(text.stdout.contains("requests"))
        XCTAssertFalse(text.stderr.contains("writing the first program"), "the second run reuses the active version")
    }

    // MARK: kill -9 and --resume

    struct Counts: Equatable { var requests: Double; var sampled: Double; var validated: Double; var oracleCalls: Double; var executions: Int }

    func counts(_ report: String, store path: String) throws -> Counts {
        let j = try JSONParser.parse(report)
        let store = try SQLiteStore.open(path: path, task: "sms_spam")
        defer { try? store.close() }
        let runs = try store.runs()
        XCTAssertEqual(runs.count, 1, "one run, continued by --resume")
        let run = try XCTUnwrap(runs.last)
        XCTAssertNotNil(run.finishedAt)
        let executions = try store.executions(run: run.id!)
        XCTAssertEqual(Set(executions.map(\.seq)).count, executions.count, "no (run, seq) stored twice")
        XCTAssertEqual(executions.map(\.seq), executions.map(\.seq).sorted())
        return Counts(requests: j["requests"]?.number ?? -1, sampled: j["sampled"]?.number ?? -1, validated: j["validated"]?.number ?? -1,
                      oracleCalls: j["oracle_calls"]?.number ?? -1, executions: executions.count)
    }

    /// Starts `loopai` with `args`; output goes to files in `dir`.
    func start(_ args: [String], dir: URL, tag: String) throws -> Process {
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = args
        p.environment = Self.environment
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("\(tag).out").path, contents: nil)
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("\(tag).err").path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: dir.appendingPathComponent("\(tag).out"))
        p.standardError = try FileHandle(forWritingTo: dir.appendingPathComponent("\(tag).err"))
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Polls the store (its own connection) until the run's committed cursor reaches `cursor`, or
    /// the process ends. Returns the cursor seen when it stopped waiting.
    /// A new store is opened only once `ready` says the child has created and migrated it (two
    /// connections migrating a new file at once collide: see
    /// LoopDriverTests.testTwoConnectionsOpeningANewStoreAtOnceBothSucceed).
    func waitForProgress(_ p: Process, storePath: String, task: String, cursor: Int, ready: () -> Bool) throws -> Int {
        var store: SQLiteStore? = nil
        defer { try? store?.close() }
        var seen = 0
        while p.isRunning {
            if store == nil, FileManager.default.fileExists(atPath: storePath), ready() { store = try? SQLiteStore.open(path: storePath, task: task) }
            if let store, let c = try? store.latestRun()?.cursor {
                seen = c
                if c >= cursor { return c }
            }
            usleep(2_000)
        }
        return seen
    }

    /// The policy is made quiet (no improvement, no escalation) so that every kill point is a
    /// plain batch boundary: a kill right after a batch that made a rollout decision loses that
    /// decision (see LoopDriverTests.testAKillRightAfterADecisionResumesLikeAnUninterruptedRun), which would make this comparison depend on timing.
    func testKill9AndResumeCountNothingTwice() throws {
        let (dir, n) = try workspace(quiet: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let common = ["--batch", "20", "--seed", "5", "--sampling", "0.1"]

        // The uninterrupted run.
        let whole = try CLI.run(loopArgs(dir, store: "whole.sqlite", common + ["--format", "json"]), environment: Self.environment)
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let expected = try counts(whole.stdout, store: dir.appendingPathComponent("whole.sqlite").path)
        XCTAssertEqual(expected.requests, Double(n))

        // The same run, killed with SIGKILL at three moments, resumed each time.
        let storePath = dir.appendingPathComponent("killed.sqlite").path
        var kills: [Int] = []
        var resume = false
        for (i, target) in [1, n / 3, 2 * n / 3].enumerated() {
            let p = try start(loopArgs(dir, store: "killed.sqlite", common + (resume ? ["--resume"] : [])), dir: dir, tag: "run\(i)")
            let errPath = dir.appendingPathComponent("run\(i).err").path
            // `loopai loop` opens (and migrates) the store before it writes the first program.
            let fresh = !resume
            let at = try waitForProgress(p, storePath: storePath, task: "sms_spam", cursor: target) {
                !fresh || ((try? String(contentsOfFile: errPath, encoding: .utf8))?.contains("writing the first program") ?? false)
            }
            if p.isRunning {
                XCTAssertEqual(kill(p.processIdentifier, SIGKILL), 0)
                p.waitUntilExit()
                XCTAssertEqual(p.terminationReason, .uncaughtSignal, "run \(i) died by the signal")
                XCTAssertEqual(p.terminationStatus, SIGKILL)
                kills.append(at)
            } else {
                p.waitUntilExit()
                XCTAssertEqual(p.terminationStatus, 0, (try? String(contentsOf: dir.appendingPathComponent("run\(i).err"), encoding: .utf8)) ?? "")
            }
            resume = true
            // What the killed process left is consistent: the cursor is a batch boundary, and no
            // execution lies at or beyond it.
            let store = try SQLiteStore.open(path: storePath, task: "sms_spam")
            let run = try XCTUnwrap(store.latestRun())
            XCTAssertEqual(run.cursor % 20 == 0 || run.cursor == n, true, "cursor \(run.cursor)")
            XCTAssertTrue(try store.executions(run: run.id!).allSatisfy { $0.seq < run.cursor })
            XCTAssertEqual(try store.integrityCheck(), "ok")
            try store.close()
            if run.finishedAt != nil { break }
        }
        XCTAssertGreaterThanOrEqual(kills.count, 2, "the run was killed mid-stream at least twice (cursors \(kills))")
        XCTAssertEqual(Set(kills).count, kills.count, "each kill at a different moment: \(kills)")

        let last = try CLI.run(loopArgs(dir, store: "killed.sqlite", common + ["--resume", "--format", "json"]), environment: Self.environment)
        XCTAssertEqual(last.status, 0, last.stderr)
        let got = try counts(last.stdout, store: storePath)
        XCTAssertEqual(got, expected, "killed at \(kills) and resumed")
        let report = try JSONParser.parse(last.stdout)
        XCTAssertEqual(report["versions_promoted"]?.number, 0)
        XCTAssertEqual(report["candidates_rejected"]?.number, 0)
        XCTAssertEqual(report["escalations"]?.number, 0)
        XCTAssertEqual(report["accuracy"]?.number, try JSONParser.parse(whole.stdout)["accuracy"]?.number)
        if ProcessInfo.processInfo.environment["LOOPDRIVER_TRACE"] != nil { print("kills at cursors \(kills) of \(n); counts \(got)") }

        // Once finished, the run cannot be resumed again.
        let again = try CLI.run(loopArgs(dir, store: "killed.sqlite", common + ["--resume"]), environment: Self.environment)
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("already finished"), again.stderr)
    }

    // MARK: Bad input

    func testBadInputsGiveClearErrors() throws {
        let (dir, _) = try workspace(streamLimit: 200)
        defer { try? FileManager.default.removeItem(at: dir) }
        let task = dir.appendingPathComponent("task.yaml").path
        let stream = dir.appendingPathComponent("stream.jsonl").path
        let store = dir.appendingPathComponent("loop.sqlite").path

        let bogus = try CLI.run(["loop", "--task", task, "--stream", stream, "--oracle", "bogus", "--store", store], environment: Self.environment)
        XCTAssertEqual(bogus.status, 2, bogus.stderr)
        XCTAssertTrue(bogus.stderr.contains("--oracle is llm or labels:COLUMN"), bogus.stderr)

        let sampling = try CLI.run(["loop", "--task", task, "--stream", stream, "--oracle", "labels:label", "--sampling", "2", "--store", store],
                                   environment: Self.environment)
        XCTAssertEqual(sampling.status, 2, sampling.stderr)
        XCTAssertTrue(sampling.stderr.contains("--sampling is a rate in (0, 1]"), sampling.stderr)

        let fresh = dir.appendingPathComponent("fresh.sqlite").path
        let resume = try CLI.run(["loop", "--task", task, "--stream", stream, "--oracle", "labels:label", "--store", fresh, "--resume"],
                                 environment: Self.environment)
        XCTAssertEqual(resume.status, 1, resume.stderr)
        XCTAssertTrue(resume.stderr.contains("cannot resume"), resume.stderr)
        XCTAssertTrue(resume.stderr.contains("no run of task sms_spam"), resume.stderr)

        let missingTask = try CLI.run(["loop", "--task", dir.appendingPathComponent("nope.yaml").path, "--stream", stream,
                                       "--oracle", "labels:label", "--store", store], environment: Self.environment)
        XCTAssertTrue(missingTask.stderr.contains("nope.yaml"), missingTask.stderr)
        if missingTask.status != 2 {
            XCTFail("CLI bug (Sources/loopai/LLMOptions.swift loadTask: every TaskError, including T0012 \"cannot read the task file\", becomes CLIError code 1): a missing --task file exits \(missingTask.status), but Docs/cli.md says a missing file is status 2. stderr: \(missingTask.stderr)")
        }

        let missing = dir.appendingPathComponent("no-such-stream.jsonl").path
        let noStream = try CLI.run(["loop", "--task", task, "--stream", missing, "--oracle", "labels:label", "--store", store],
                                   environment: Self.environment)
        XCTAssertTrue(noStream.stderr.contains("no-such-stream.jsonl"), noStream.stderr)
        XCTAssertNotEqual(noStream.status, 0)
        if noStream.status != 2 {
            XCTFail("driver bug (LoopCommand.swift run(): `LoopDriver(...)` errors are all mapped to CLIError code 1, including LoopError.stream for a missing stream file): a missing --stream file exits \(noStream.status), but Docs/cli.md says a missing file is status 2. stderr: \(noStream.stderr)")
        }
        // Nothing was recorded for the failed start (the store holds no run).
        let s = try SQLiteStore.open(path: store, task: "sms_spam")
        XCTAssertEqual(try s.runs().count, 0)
        try s.close()
    }
}

/// A small seeded generator (SplitMix64) for reproducible shuffles.
typealias SeededRandom = SplitMix64

