import Foundation
import LoopData
import LoopDiagnostics
import LoopInterpreter
import LoopRuntime
import LoopSema
import LoopStore
import TestSupport
import XCTest

/// The loop behind a live server: drift detected, a candidate promoted while requests flow, an
/// oracle that is slow or failing, a queue that overflows.
final class ServeLoopTests: XCTestCase {
    static let token = "loop-admin-token"
    var root: URL { ServeProcess.root }

    /// Sends `records` over `connections` concurrent clients (each record's id is its index).
    func send(_ server: ServeProcess, _ records: [JSON], task: String, connections: Int, from first: Int = 0) -> [(id: Int, status: Int, answer: JSON?)] {
        let results = Locked<[(id: Int, status: Int, answer: JSON?)]>([])
        let next = Locked(0)
        DispatchQueue.concurrentPerform(iterations: connections) { _ in
            while true {
                let i = next.withLock { n -> Int in defer { n += 1 }; return n }
                guard i < records.count else { return }
                var body = records[i]
                if case .object(var kv) = body { kv.append(("id", JSON("\(first + i)"))); body = .object(kv) }
                let r = try? server.post("/v1/tasks/\(task)/classify", body)
                results.withLock { $0.append((first + i, r?.status ?? -1, r?.json)) }
            }
        }
        return results.current.sorted { $0.id < $1.id }
    }

    /// The SMS drift stream (new kinds of spam after 1,500 messages) through a live server: the
    /// first program is induced from the seed, agreement drops, a candidate is generated, shadowed,
    /// canaried and promoted while two clients keep sending; no request fails, and every answer is
    /// the answer of the version it names.
    func testDriftOverHTTPPromotesACandidateWithoutFailingARequest() throws {
        let prepare = Process()
        prepare.executableURL = root.appendingPathComponent("Examples/drift/prepare")
        prepare.currentDirectoryURL = root
        prepare.standardOutput = FileHandle.nullDevice
        try prepare.run(); prepare.waitUntilExit()
        let dir = try serveTempDir("drift")
        defer { try? FileManager.default.removeItem(at: dir) }
        let drift = root.appendingPathComponent("Examples/drift/sms").path
        let server = try ServeProcess(["--task", drift + "/task.yaml", "--oracle", "labels:label", "--store", dir.path, "--generator", "induce",
                                       "--commit-interval", "0.05"], environment: ["LOOPAI_ADMIN_TOKEN": Self.token])
        let stream = try jsonLines(drift + "/stream.jsonl")
        // The stream, then its drifted part again until a candidate is promoted: a debug build on
        // a busy machine makes candidates slowly, and the rollout advances with the traffic it
        // sees, so the rounds go on (at most ten) until it has seen enough.
        var records = stream
        var results = send(server, stream, task: "sms_drift", connections: 2)
        for _ in 0..<10 where (try server.get("/v1/tasks/sms_drift").json?["report"]?["versions_promoted"]?.number ?? 0) < 1 {
            let more = Array(stream.suffix(2500))
            results += send(server, more, task: "sms_drift", connections: 2, from: records.count)
            records += more
        }
        XCTAssertEqual(results.count, records.count)
        XCTAssertTrue(results.allSatisfy { $0.status == 200 }, "every request is answered: \(results.filter { $0.status != 200 }.prefix(3))")
        let status = try server.get("/v1/tasks/sms_drift").json
        let versions = try server.get("/v1/tasks/sms_drift/versions", token: Self.token).json?["versions"]?.array ?? []
        XCTAssertGreaterThanOrEqual(status?["report"]?["versions_promoted"]?.number ?? 0, 1, server.stderr)
        let used = Set(results.compactMap { $0.answer?["version"]?.number.map { Int64($0) } })
        XCTAssertGreaterThan(used.count, 1, "answers came from more than one version")
        // Each answer is what the version it names answers (the interpreter, on that version's source).
        var programs: [Int64: (TypedProgram, Interpreter)] = [:]
        for v in versions {
            let id = Int64(v["version"]!.number!)
            let source = try server.get("/v1/tasks/sms_drift/versions/\(id)", token: Self.token).json?["source"]?.string ?? ""
            let (p, _) = Checker.checkSource(SourceFile(name: "v.loop", text: source), stdlib: .embedded)
            if let p { programs[id] = (p, Interpreter(p)) }
        }
        for r in results {
            guard let a = r.answer, let v = a["version"]?.number.map({ Int64($0) }), let (p, interp) = programs[v] else { return XCTFail("answer \(r.id) names no stored version") }
            let text = records[r.id]["text"]!.string!
            XCTAssertEqual(a["label"]?.string, p.labels[interp.classify([.text(Array(text.utf8))]).label], "request \(r.id) answered by v\(v)")
        }
        XCTAssertEqual(server.stop(), 0, server.stderr)
        // The store counts what the clients sent and what was sampled.
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("sms_drift.sqlite").path, task: "sms_drift")
        let run = try store.runs()[0]
        let state = try JSONDecoder().decode(DriverState.self, from: Data(run.state!.utf8))
        XCTAssertEqual(state.requests, records.count)
        XCTAssertEqual(state.sampled, state.validated + state.unvalidated)
        XCTAssertEqual(try store.executions(run: run.id!).filter { $0.stratum != "shadow" }.count, state.validated)
        XCTAssertEqual(Set(try store.executions(run: run.id!).map(\.seq)).count, try store.executionCount(run: run.id!), "no request stored twice")
    }

    /// An LLM oracle (a stub on 127.0.0.1) that answers in 2 s, then one that fails with 500s:
    /// requests are answered all the same, the failures are counted, nothing is validated twice.
    func testASlowOrFailingOracleNeverHoldsUpRequests() throws {
        let stub = try StubServer()
        defer { stub.stop() }
        let failing = Locked(false)
        let oracle = StubLLM.labellingOracle { $0.lowercased().contains("prize") ? "spam" : "ham" }
        stub.respond { r in failing.current ? .status(500, "{\"error\": \"down\"}") : .delay(2, oracle(r)) }
        let dir = try serveTempDir("oracle")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sms = root.appendingPathComponent("Examples/sms_spam").path
        let env = ["OPENAI_BASE_URL": stub.baseURL + "/v1", "OPENAI_API_KEY": "stub-key", "LOOPAI_ADMIN_TOKEN": Self.token,
                   "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"]
        let server = try ServeProcess(["--task", sms + "/task.yaml", "--program", sms + "/program.loop", "--oracle", "llm", "--store", dir.path,
                                       "--generator", "induce", "--no-cache"], environment: env)
        let records = Array(try jsonLines(sms + "/data.jsonl").prefix(800)).map { JSON.object([("text", $0["text"]!)]) }
        let slow = send(server, Array(records.prefix(400)), task: "sms_spam", connections: 4)
        XCTAssertTrue(slow.allSatisfy { $0.status == 200 })
        // An operator command waits for the control thread (busy with a 2 s oracle call); requests
        // sent meanwhile are answered before it returns: no event loop waits for the control side.
        let answeredWhilePausing = Locked(0), pauseDone = Locked(false)
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            _ = try? server.post("/v1/tasks/sms_spam/pause", .object([]), token: Self.token)
            pauseDone.withLock { $0 = true }
            group.leave()
        }
        Thread.sleep(forTimeInterval: 0.1)
        for i in 0..<40 {
            let r = try server.post("/v1/tasks/sms_spam/classify", .object([("text", JSON("hello \(i)"))]))
            XCTAssertEqual(r.status, 200)
            if !pauseDone.current { answeredWhilePausing.withLock { $0 += 1 } }
        }
        group.wait()
        XCTAssertGreaterThan(answeredWhilePausing.current, 0, "requests were answered while the pause waited for the control thread")
        XCTAssertEqual(try server.post("/v1/tasks/sms_spam/resume", .object([]), token: Self.token).status, 200)
        failing.withLock { $0 = true }
        let down = send(server, Array(records.dropFirst(400)), task: "sms_spam", connections: 4)
        XCTAssertTrue(down.allSatisfy { $0.status == 200 }, "the oracle being down fails no request")
        // The failing batches are retried with back-off: wait (at most 60 s) for their ledger.
        var metrics = ""
        for _ in 0..<300 {
            metrics = try server.get("/metrics").text
            if metrics.contains("loopai_oracle_errors_total{task=\"sms_spam\"}") { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTAssertTrue(metrics.contains("loopai_oracle_calls_total{task=\"sms_spam\"}"), metrics)
        XCTAssertTrue(metrics.contains("loopai_oracle_errors_total{task=\"sms_spam\"}"), "oracle failures are counted:\n\(metrics)")
        XCTAssertTrue(metrics.contains("loopai_oracle_seconds_total{task=\"sms_spam\"}"), metrics)
        XCTAssertTrue(metrics.contains("loopai_requests_total{task=\"sms_spam\",version=\"v1\""), metrics)
        XCTAssertEqual(server.stop(), 0, server.stderr)
        XCTAssertFalse(server.stderr.contains("stub-key"), "the API key is never logged")
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("sms_spam.sqlite").path, task: "sms_spam")
        let run = try store.runs()[0]
        let state = try JSONDecoder().decode(DriverState.self, from: Data(run.state!.utf8))
        XCTAssertEqual(state.requests, 840)
        XCTAssertGreaterThan(state.validated, 0, "the slow oracle's answers were used")
        XCTAssertGreaterThan(state.oracleErrors, 0)
        XCTAssertEqual(state.sampled, state.validated + state.unvalidated)
    }
}

/// kill -9 while clients are sending: the restart resumes the run, counts every validation once,
/// and accounts for the samples that died with the process.
final class ServeKillTests: XCTestCase {
    func testKill9UnderLoadLosesOnlyUncommittedSamples() throws {
        let dir = try serveTempDir("kill9")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sms = ServeProcess.root.appendingPathComponent("Examples/sms_spam").path
        let args = ["--task", sms + "/task.yaml", "--program", sms + "/program.loop", "--oracle", "labels:label", "--store", dir.path,
                    "--commit-interval", "0.05"]
        let records = try jsonLines(sms + "/data.jsonl")
        let first = try ServeProcess(args)
        let sent = Locked(0)
        let group = DispatchGroup()
        for c in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                var i = c
                while i < records.count {
                    let body = JSON.object([("id", JSON("k\(i)")), ("text", records[i]["text"]!), ("label", records[i]["label"]!)])
                    guard let r = try? first.post("/v1/tasks/sms_spam/classify", body), r.status == 200 else { break }
                    sent.withLock { $0 += 1 }
                    i += 4
                }
                group.leave()
            }
        }
        while sent.current < 1500 { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(first.stop(SIGKILL), SIGKILL)
        group.wait()
        let answered = sent.current
        let second = try ServeProcess(args)
        XCTAssertTrue(second.stderr.contains("resumed run 1"), second.stderr)
        let status = try XCTUnwrap(second.get("/v1/tasks/sms_spam").json)
        let requests = Int(status["requests"]?.number ?? -1)
        XCTAssertGreaterThan(requests, 0)
        XCTAssertLessThanOrEqual(requests, answered, "never more requests than were answered")
        XCTAssertEqual(second.stop(), 0, second.stderr)
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("sms_spam.sqlite").path, task: "sms_spam")
        let runs = try store.runs()
        XCTAssertEqual(runs.count, 1)
        let state = try JSONDecoder().decode(DriverState.self, from: Data(runs[0].state!.utf8))
        XCTAssertEqual(state.sampled, state.validated + state.unvalidated, "every sample validated or counted as not")
        let executions = try store.executions(run: runs[0].id!)
        XCTAssertEqual(executions.filter { $0.stratum != "shadow" }.count, state.validated, "each validation stored once")
        XCTAssertEqual(Set(executions.map(\.seq)).count, executions.count)
        XCTAssertEqual(Set(executions.compactMap(\.requestId)).count, executions.count, "no request stored twice")
    }
}
