import Foundation
import GRDB
import XCTest
@testable import LoopStore

/// The SQLite backend: the shared store contract, and what only SQLite has (a file, WAL, PRAGMAs).
final class SQLiteStoreTests: XCTestCase {
    private func path() throws -> String { try makeTempDir(self).appendingPathComponent("sub/dir/store.sqlite").path }

    /// A fresh database for one test; each call opens it for a task.
    private func backend() throws -> StoreContract.Open {
        let p = try path()
        return { task in try SQLiteStore.open(path: p, task: task) }
    }

    func testCommitIsAtomic() throws { try StoreContract.commitIsAtomic(backend()) }
    func testValidatedInputsDeduplicateLatestAnswerWins() throws { try StoreContract.validatedInputsDeduplicateLatestAnswerWins(backend()) }
    func testEscalationLifecycle() throws { try StoreContract.escalationLifecycle(backend()) }
    func testResolvingWithAProgramIsOneStep() throws { try StoreContract.resolvingWithAProgramIsOneStep(backend()) }
    func testVersionChainAndLookup() throws { try StoreContract.versionChainAndLookup(backend()) }
    func testRolloutMovesStatusesAndPromotionIsCompareAndSwap() throws { try StoreContract.rolloutMovesStatusesAndPromotionIsCompareAndSwap(backend()) }
    func testLedgerTotals() throws { try StoreContract.ledgerTotals(backend()) }
    func testRunsStateAndTimeline() throws { try StoreContract.runsStateAndTimeline(backend()) }
    func testTasksAreIsolated() throws { try StoreContract.tasksAreIsolated(backend()) }
    func testAgreementSumsPoolRunsAndTimes() throws { try StoreContract.agreementSumsPoolRunsAndTimes(backend()) }


    func testMigrationsCreateTheSchema() throws {
        let store = try SQLiteStore.open(path: path(), task: Workload.task)
        XCTAssertEqual(Store.knownMigrations, ["v1", "v2", "v3", "v4"])
        XCTAssertEqual(try store.appliedMigrations(), ["v1", "v2", "v3", "v4"])
        let tables = try store.queue.read { db in
            try ["program_version", "run", "execution", "oracle_answer", "comparison", "ledger", "rollout", "escalation", "counter", "timeline_point"]
                .filter { try db.tableExists($0) }
        }
        XCTAssertEqual(tables.count, 10)
    }

    func testWALAndSynchronous() throws {
        let p = try path()
        let store = try SQLiteStore.open(path: p, task: Workload.task)
        XCTAssertEqual(try store.journalMode(), "wal")
        XCTAssertEqual(try store.synchronousLevel(), 2) // FULL
        try store.close()
        let normal = try SQLiteStore.open(path: p, task: Workload.task, durability: .normal)
        XCTAssertEqual(try normal.journalMode(), "wal")
        XCTAssertEqual(try normal.synchronousLevel(), 1)
    }

    func testReopeningKeepsData() throws {
        let p = try path()
        var store = try SQLiteStore.open(path: p, task: Workload.task)
        let (run, active, _) = try Workload.setUp(store)
        try Workload.writeBatch(store, runId: run.id!, activeId: active.id!, shadowId: active.id!)
        try store.close()
        store = try SQLiteStore.open(path: p, task: Workload.task)
        XCTAssertEqual(try store.appliedMigrations(), ["v1", "v2", "v3", "v4"])
        XCTAssertEqual(try store.versions().count, 2)
        XCTAssertEqual(try store.activeVersion(), active)
        XCTAssertEqual(try store.latestRun()?.cursor, Workload.batchSize(0))
        XCTAssertEqual(try store.executionCount(run: run.id!), 2) // seqs 0 and 3 of 0..<5
    }

    func testSchemaTooNewIsAnError() throws {
        let p = try path()
        try SQLiteStore.open(path: p, task: Workload.task).close()
        // A newer build added a migration this one does not know.
        let q = try DatabaseQueue(path: p)
        try q.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9')") }
        try q.close()
        XCTAssertThrowsError(try SQLiteStore.open(path: p, task: Workload.task)) { error in
            XCTAssertEqual(error as? StoreError, .schemaTooNew(path: p, unknown: ["v9"], known: ["v1", "v2", "v3", "v4"]))
            XCTAssertTrue("\(error)".contains("newer version of loopai"), "\(error)")
        }
    }

    func testGarbageFileIsAnError() throws {
        let p = try path()
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: p))
        XCTAssertThrowsError(try SQLiteStore.open(path: p, task: Workload.task))
    }


    /// A store written before tasks scoped every table (v3) is migrated: its rows get their task
    /// from their run, execution or version, and the task's handle sees all of them.
    func testV3StoreIsMigratedWithItsTask() throws {
        let p = try path()
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let q = try DatabaseQueue(path: p)
        try Schema.migrator.migrate(q, upTo: "v3")
        try q.write { db in
            try db.execute(sql: """
                INSERT INTO program_version (id, hash, source, provenance, status, createdAt) VALUES (1, 'h', 'src', '', 'active', 0);
                INSERT INTO run (id, taskName, streamPath, startedAt, config, cursor) VALUES (1, 'sms', 's', 0, '{}', 2);
                INSERT INTO execution (id, runId, seq, input, inputHash, output, versionId, time, inclusionProbability, stratum, tier)
                    VALUES (1, 1, 0, '{"text":"hi"}', 'ih', 'ham', 1, 0, 1, '', 3);
                INSERT INTO oracle_answer (executionId, inputHash, label, raw, source, cost, time) VALUES (1, 'ih', 'ham', 'ham', 'llm', 0, 0);
                INSERT INTO comparison (executionId, versionId, programLabel, oracleLabel, agree, weight) VALUES (1, 1, 'ham', 'ham', 1, 1);
                INSERT INTO rollout (candidateId, stage, share, time, evidence) VALUES (1, 'promoted', 1, 0, '{}');
                INSERT INTO escalation (runId, status, reason, createdAt, ticketMarkdown, ticketJSON) VALUES (1, 'open', 'x', 0, '', '{}');
                INSERT INTO ledger (runId, provider, model, purpose, inputTokens, outputTokens, estimated, latency, outcome, cached, time)
                    VALUES (NULL, 'p', 'm', 'generate', 1, 1, 0, 0, 'success', 0, 0);
                """)
        }
        try q.close()
        XCTAssertEqual(try SQLiteStore.tasks(path: p), ["sms"])
        let store = try SQLiteStore.open(path: p, task: "sms")
        XCTAssertEqual(try store.appliedMigrations(), ["v1", "v2", "v3", "v4"])
        XCTAssertEqual(try store.activeVersion()?.id, 1)
        XCTAssertEqual(try store.validatedInputs().map(\.label), ["ham"])
        XCTAssertEqual(try store.comparisons().count, 1)
        XCTAssertEqual(try store.rollouts().count, 1)
        XCTAssertEqual(try store.escalations().count, 1)
        XCTAssertEqual(try store.ledgerTotals()["generate"]?.calls, 1)
        XCTAssertEqual(try store.executions(run: 1).count, 1)
        XCTAssertEqual(try SQLiteStore.open(path: p, task: "other").versions(), [])
    }
}
