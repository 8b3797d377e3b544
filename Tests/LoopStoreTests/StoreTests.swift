import Foundation
import GRDB
import XCTest
@testable import LoopStore

final class StoreTests: XCTestCase {
    private func path() throws -> String { try makeTempDir(self).appendingPathComponent("sub/dir/store.sqlite").path }

    func testMigrationsCreateTheSchema() throws {
        let store = try Store.open(path: path())
        XCTAssertEqual(Store.knownMigrations, ["v1", "v2", "v3"])
        XCTAssertEqual(try store.appliedMigrations(), ["v1", "v2", "v3"])
        let tables = try store.queue.read { db in
            try ["program_version", "run", "execution", "oracle_answer", "comparison", "ledger", "rollout", "escalation", "counter"]
                .filter { try db.tableExists($0) }
        }
        XCTAssertEqual(tables.count, 9)
    }

    func testWALAndSynchronous() throws {
        let p = try path()
        let store = try Store.open(path: p)
        XCTAssertEqual(try store.journalMode(), "wal")
        XCTAssertEqual(try store.synchronousLevel(), 2) // FULL
        try store.close()
        let normal = try Store.open(path: p, durability: .normal)
        XCTAssertEqual(try normal.journalMode(), "wal")
        XCTAssertEqual(try normal.synchronousLevel(), 1)
    }

    func testReopeningKeepsData() throws {
        let p = try path()
        var store = try Store.open(path: p)
        let (run, active, _) = try Workload.setUp(store)
        try Workload.writeBatch(store, runId: run.id!, activeId: active.id!, shadowId: active.id!)
        try store.close()
        store = try Store.open(path: p)
        XCTAssertEqual(try store.appliedMigrations(), ["v1", "v2", "v3"])
        XCTAssertEqual(try store.versions().count, 2)
        XCTAssertEqual(try store.activeVersion(), active)
        XCTAssertEqual(try store.latestRun(task: Workload.task)?.cursor, Workload.batchSize(0))
        XCTAssertEqual(try store.executionCount(run: run.id!), 2) // seqs 0 and 3 of 0..<5
    }

    func testSchemaTooNewIsAnError() throws {
        let p = try path()
        try Store.open(path: p).close()
        // A newer build added a migration this one does not know.
        let q = try DatabaseQueue(path: p)
        try q.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9')") }
        try q.close()
        XCTAssertThrowsError(try Store.open(path: p)) { error in
            XCTAssertEqual(error as? StoreError, .schemaTooNew(path: p, unknown: ["v9"], known: ["v1", "v2", "v3"]))
            XCTAssertTrue("\(error)".contains("newer version of loopai"), "\(error)")
        }
    }

    func testGarbageFileIsAnError() throws {
        let p = try path()
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try Store.open(path: p))
    }

    func testCommitBatchIsAtomic() throws {
        let store = try Store.open(path: path())
        let (run, active, shadow) = try Workload.setUp(store)
        let runId = run.id!
        try Workload.writeBatch(store, runId: runId, activeId: active.id!, shadowId: shadow.id!)
        let before = try store.run(id: runId)!.cursor

        // A comparison naming a missing version fails on its foreign key, after the batch's first
        // execution and answer were inserted: the whole batch goes.
        let e = Execution(runId: runId, seq: before, input: "{}", output: "spam", versionId: active.id!)
        let bad = BatchItem(execution: e, answers: [OracleAnswer(inputHash: e.inputHash, label: "spam")],
                            comparisons: [Comparison(versionId: 999, programLabel: "spam", oracleLabel: "spam")])
        XCTAssertThrowsError(try store.commitBatch(runId: runId, cursor: before + 10, items: [bad], counters: ["requests": 10]))

        // An error thrown by the caller after the batch, inside the same transaction: the same.
        struct Boom: Error {}
        XCTAssertThrowsError(try store.write { tx in
            _ = try tx.commitBatch(runId: runId, cursor: before + 1,
                                   items: [BatchItem(execution: Execution(runId: runId, seq: before, input: "{}", output: "ham", versionId: active.id!))],
                                   counters: ["requests": 1])
            try tx.add(run: runId, key: "oracleCalls", delta: 1)
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }

        // A batch replaying inputs below the stored cursor is refused (they were counted already).
        let replay = Execution(runId: runId, seq: 0, input: "{}", output: "ham", versionId: active.id!)
        XCTAssertThrowsError(try store.commitBatch(runId: runId, cursor: before + 5, items: [BatchItem(execution: replay)])) {
            XCTAssertEqual($0 as? StoreError, .batchOutOfOrder(runId: runId, storedCursor: before, newCursor: before + 5, seq: 0))
        }
        XCTAssertThrowsError(try store.commitBatch(runId: runId, cursor: before - 1, counters: ["requests": 1]))

        XCTAssertEqual(try store.run(id: runId)!.cursor, before)
        try Workload.checkInvariants(store, runId: runId)
        XCTAssertEqual(try store.answers(inputHash: e.inputHash), [])

        // And the run continues normally.
        try Workload.writeBatch(store, runId: runId, activeId: active.id!, shadowId: shadow.id!)
        try Workload.checkInvariants(store, runId: runId)
    }

    func testValidatedInputsAreDeduplicatedLatestAnswerWins() throws {
        let store = try Store.open(path: path())
        let (run, active, _) = try Workload.setUp(store)
        let runId = run.id!, v = active.id!
        func item(_ seq: Int, _ input: String, _ label: String?) -> BatchItem {
            let e = Execution(runId: runId, seq: seq, input: input, output: "ham", versionId: v)
            return BatchItem(execution: e, answers: [OracleAnswer(inputHash: e.inputHash, label: label, raw: label ?? "???")])
        }
        try store.commitBatch(runId: runId, cursor: 3, items: [item(0, "{\"t\":\"a\"}", "spam"), item(1, "{\"t\":\"b\"}", "ham"),
                                                               item(2, "{\"t\":\"c\"}", nil)])
        // "a" seen again and relabeled; "b" answered invalidly this time (the valid answer stays);
        // "c" finally gets a valid answer.
        try store.commitBatch(runId: runId, cursor: 6, items: [item(3, "{\"t\":\"a\"}", "ham"), item(4, "{\"t\":\"b\"}", nil),
                                                               item(5, "{\"t\":\"c\"}", "spam")])
        // A label from a labeled file for a known input, with no execution of its own.
        try store.commitBatch(runId: runId, cursor: 6, answers: [OracleAnswer(inputHash: Store.hash("{\"t\":\"b\"}"), label: "spam", source: .labels)])
        // An answer for an input never stored is left out (no input text).
        try store.commitBatch(runId: runId, cursor: 6, answers: [OracleAnswer(inputHash: "unknown", label: "spam", source: .cache)])

        let validated = try store.validatedInputs()
        XCTAssertEqual(validated.map(\.input), ["{\"t\":\"a\"}", "{\"t\":\"b\"}", "{\"t\":\"c\"}"])
        XCTAssertEqual(validated.map(\.label), ["ham", "spam", "spam"])
        XCTAssertEqual(try store.latestLabel(inputHash: Store.hash("{\"t\":\"a\"}")), "ham")
        XCTAssertEqual(try store.answers(inputHash: Store.hash("{\"t\":\"b\"}")).map(\.source), [.llm, .llm, .labels])
    }

    func testEscalationLifecycle() throws {
        let store = try Store.open(path: path())
        let (run, active, _) = try Workload.setUp(store)
        let e = try store.openEscalation(Escalation(runId: run.id, reason: "accuracy below floor", ticketMarkdown: "# Ticket",
                                                    ticketJSON: "{\"accuracy\":0.6}"))
        _ = try store.openEscalation(Escalation(reason: "budget exhausted"))
        XCTAssertEqual(try store.escalations(status: .open).count, 2)
        let resolved = try store.resolveEscalation(id: e.id!, versionId: active.id, at: 123)
        XCTAssertEqual(resolved.status, .resolved)
        XCTAssertEqual(resolved.resolvedAt, 123)
        XCTAssertEqual(try store.escalation(id: e.id!), resolved)
        XCTAssertEqual(try store.escalations(status: .open).map(\.reason), ["budget exhausted"])
        XCTAssertEqual(try store.escalations().count, 2)
        XCTAssertThrowsError(try store.resolveEscalation(id: e.id!)) { XCTAssertTrue("\($0)".contains("already resolved")) }
        XCTAssertThrowsError(try store.resolveEscalation(id: 999)) { XCTAssertEqual($0 as? StoreError, .notFound("escalation 999")) }
    }

    func testVersionParentChainAndLookup() throws {
        let store = try Store.open(path: path())
        let root = try store.addVersion(ProgramVersion(source: "v root", provenance: "{\"generator\":\"induce\"}"))
        let child = try store.addVersion(ProgramVersion(source: "v child", parentId: root.id, provenance: "{\"reason\":\"repair\"}"))
        let grandchild = try store.addVersion(ProgramVersion(source: "v grandchild", parentId: child.id))
        XCTAssertEqual(try store.lineage(of: grandchild.id!).map(\.id), [grandchild.id, child.id, root.id])
        XCTAssertEqual(try store.lineage(of: 999), [])
        XCTAssertEqual(root.hash, Store.hash("v root"))
        XCTAssertEqual(root.hash.count, 16)
        // The same program may be added again; lookup by hash finds the latest.
        let again = try store.addVersion(ProgramVersion(source: "v root", parentId: grandchild.id))
        XCTAssertEqual(try store.version(hash: root.hash)?.id, again.id)
        XCTAssertEqual(try store.version(id: child.id!), child)
        XCTAssertEqual(try store.versions().count, 4)
        XCTAssertThrowsError(try store.addVersion(ProgramVersion(source: "orphan", parentId: 999)))
        // FNV-1a 64 known answers.
        XCTAssertEqual(Store.hash(""), "cbf29ce484222325")
        XCTAssertEqual(Store.hash("a"), "af63dc4c8601ec8c")
    }

    func testRolloutMovesStatuses() throws {
        let store = try Store.open(path: path())
        let base = try store.addVersion(ProgramVersion(source: "base", status: .active))
        let cand = try store.addVersion(ProgramVersion(source: "cand", parentId: base.id))
        _ = try store.recordRollout(Rollout(candidateId: cand.id!, baseId: base.id, stage: .shadow))
        XCTAssertEqual(try store.version(id: cand.id!)?.status, .shadow)
        _ = try store.recordRollout(Rollout(candidateId: cand.id!, baseId: base.id, stage: .canary, share: 0.1, evidence: "{\"n\":200}"))
        XCTAssertEqual(try store.version(id: cand.id!)?.canaryShare, 0.1)
        XCTAssertEqual(try store.versions(status: .canary).map(\.id), [cand.id])
        _ = try store.recordRollout(Rollout(candidateId: cand.id!, baseId: base.id, stage: .promoted, share: 1))
        XCTAssertEqual(try store.activeVersion()?.id, cand.id)
        XCTAssertEqual(try store.version(id: base.id!)?.status, .retired)
        XCTAssertEqual(try store.versions(status: .active).count, 1)
        XCTAssertEqual(try store.rollouts(candidate: cand.id!).map(\.stage), [.shadow, .canary, .promoted])
        let bad = try store.addVersion(ProgramVersion(source: "bad", parentId: cand.id))
        _ = try store.recordRollout(Rollout(candidateId: bad.id!, baseId: cand.id, stage: .rolledBack))
        XCTAssertEqual(try store.version(id: bad.id!)?.status, .rolledBack)
        XCTAssertEqual(try store.activeVersion()?.id, cand.id)
        XCTAssertEqual(try store.rollouts().count, 4)
        XCTAssertThrowsError(try store.recordRollout(Rollout(candidateId: 999, stage: .shadow)))
        XCTAssertEqual(try store.rollouts().count, 4)
    }

    func testLedgerTotals() throws {
        let store = try Store.open(path: path())
        let run = try store.startRun(taskName: "t", streamPath: "s")
        try store.recordLedger([
            LedgerEntry(runId: run.id, provider: "anthropic", model: "m1", purpose: "generate", inputTokens: 1000, outputTokens: 500, cost: 0.02),
            LedgerEntry(runId: run.id, provider: "anthropic", model: "m1", purpose: "repair", inputTokens: 300, outputTokens: 100, cost: 0.005),
            LedgerEntry(runId: run.id, provider: "anthropic", model: "m1", purpose: "generate", outcome: "HTTP 529 overloaded"),
            LedgerEntry(runId: run.id, provider: "local", model: "m2", purpose: "oracle", inputTokens: 50, outputTokens: 1, estimated: true),
            LedgerEntry(runId: run.id, provider: "anthropic", model: "m1", purpose: "oracle", inputTokens: 50, outputTokens: 1, cost: 0, cached: true),
        ], run: run.id, counters: ["generationCalls": 3, "oracleCalls": 2])
        try store.recordLedger([LedgerEntry(provider: "p", model: "m", purpose: "generate", inputTokens: 1, cost: 1)])

        let totals = try store.ledgerTotals(run: run.id)
        XCTAssertEqual(totals["generate"]?.calls, 2)
        XCTAssertEqual(totals["generate"]?.failures, 1)
        XCTAssertEqual(totals["generate"]?.inputTokens, 1000)
        XCTAssertEqual(totals["generate"]?.cost ?? 0, 0.02, accuracy: 1e-12)
        XCTAssertEqual(totals["generate"]?.unpricedCalls, 1)
        XCTAssertEqual(totals["repair"]?.outputTokens, 100)
        XCTAssertEqual(totals["oracle"]?.calls, 2)
        XCTAssertEqual(totals["oracle"]?.cachedCalls, 1)
        XCTAssertEqual(totals["oracle"]?.unpricedCalls, 1)
        XCTAssertEqual(totals["oracle"]?.cost, 0)
        XCTAssertEqual(try store.ledgerTotals()["generate"]?.calls, 3)
        XCTAssertEqual(try store.ledgerTotals()["generate"]?.cost ?? 0, 1.02, accuracy: 1e-12)
        XCTAssertEqual(try store.ledger(run: run.id).count, 5)
        XCTAssertEqual(try store.counters(run: run.id!), ["generationCalls": 3, "oracleCalls": 2])
        try store.add(run: run.id!, key: "oracleCalls", delta: 1.5)
        XCTAssertEqual(try store.counter(run: run.id!, key: "oracleCalls"), 3.5)
        XCTAssertEqual(try store.counter(run: run.id!, key: "missing"), 0)
    }

    func testRunsAndResume() throws {
        let store = try Store.open(path: path())
        let a = try store.startRun(taskName: "spam", streamPath: "s1", config: "{\"rate\":0.05}", at: 1)
        _ = try store.startRun(taskName: "other", streamPath: "s2")
        let b = try store.startRun(taskName: "spam", streamPath: "s1", at: 2)
        XCTAssertEqual(try store.latestRun(task: "spam")?.id, b.id)
        XCTAssertNil(try store.latestRun(task: "none"))
        try store.finishRun(runId: a.id!, at: 5)
        XCTAssertEqual(try store.run(id: a.id!)?.finishedAt, 5)
        XCTAssertEqual(try store.run(id: a.id!)?.config, "{\"rate\":0.05}")
        XCTAssertEqual(try store.runs().count, 3)
        // A batch with no samples still advances the cursor and counts.
        try store.commitBatch(runId: b.id!, cursor: 100, counters: ["requests": 100])
        XCTAssertEqual(try store.latestRun(task: "spam")?.cursor, 100)
        XCTAssertEqual(try store.counters(run: b.id!), ["requests": 100])
    }
}

final class StoreStateTests: XCTestCase {
    func testTheDriverStateCommitsWithItsBatch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopstore-state-\(UUID().uuidString)").path
        let store = try Store.open(path: dir + "/store.sqlite")
        let run = try store.startRun(taskName: "t", streamPath: "s")
        XCTAssertNil(try store.run(id: run.id!)?.state)
        try store.commitBatch(runId: run.id!, cursor: 10, state: #"{"seen":10}"#)
        XCTAssertEqual(try store.run(id: run.id!)?.state, #"{"seen":10}"#)
        // A failing batch leaves the previous state.
        XCTAssertThrowsError(try store.commitBatch(runId: run.id!, cursor: 5, state: #"{"seen":5}"#))
        XCTAssertEqual(try store.run(id: run.id!)?.state, #"{"seen":10}"#)
        try store.commitBatch(runId: run.id!, cursor: 20)
        XCTAssertEqual(try store.run(id: run.id!)?.state, #"{"seen":10}"#, "no state given: unchanged")
    }
}
