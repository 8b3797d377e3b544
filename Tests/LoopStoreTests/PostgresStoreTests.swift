import Foundation
import XCTest
import TestSupport
@testable import LoopStore
@testable import LoopStorePostgres

/// The PostgreSQL backend against a real server (scripts/pg-test-server): the shared store
/// contract, and what only PostgreSQL has (URLs and passwords, migrations shared by replicas,
/// reconnection after a server restart). Tests share one database; each uses task names of its own.
final class PostgresStoreTests: XCTestCase {
    /// Opens the test server's database for a task; every test's tasks are its own.
    private func backend() throws -> StoreContract.Open {
        let url = try TestPostgres.server().url
        let suffix = "-" + UUID().uuidString.prefix(8).lowercased()
        return { task in try PostgresStore.open(url: url, task: task + suffix) }
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

    func testMigrationsAreRecordedAndANewerSchemaIsRefused() throws {
        let server = try TestPostgres.server()
        let store = try PostgresStore.open(url: server.url, task: TestPostgres.uniqueTask("m"))
        XCTAssertEqual(try store.appliedMigrations(), PostgresStore.knownMigrations)
        // Opening again (another replica) migrates nothing and works.
        XCTAssertNoThrow(try PostgresStore.open(url: server.url, task: "other"))
        // A newer build's migration: refused with the names.
        try store.pool.with { conn in try store.pool.run(conn, "INSERT INTO loopai_migration VALUES ('v99', 0)") }
        defer { try? store.pool.with { conn in try store.pool.run(conn, "DELETE FROM loopai_migration WHERE identifier = 'v99'") } }
        XCTAssertThrowsError(try PostgresStore.open(url: server.url, task: "t")) { e in
            XCTAssertTrue("\(e)".contains("newer version of loopai"), "\(e)")
            XCTAssertTrue("\(e)".contains("v99"), "\(e)")
        }
    }

    func testURLsPasswordsAndErrors() throws {
        let env = ["PGPASSWORD": "s3cret", "USER": "me"]
        let l = try PostgresLocation("postgres://loopai:inurl@db.example:6543/prod?sslmode=require", environment: env)
        XCTAssertEqual(l.host, "db.example"); XCTAssertEqual(l.port, 6543); XCTAssertEqual(l.database, "prod"); XCTAssertEqual(l.tls, .require)
        XCTAssertEqual(l.password, "s3cret", "PGPASSWORD wins over the URL")
        XCTAssertFalse(l.description.contains("s3cret")); XCTAssertFalse(l.description.contains("inurl"))
        let socket = try PostgresLocation("postgresql://u@/d?host=/run/pg", environment: [:])
        XCTAssertEqual(socket.socketPath, "/run/pg/.s.PGSQL.5432")
        XCTAssertThrowsError(try PostgresLocation("postgres://u@h/d?sslmode=maybe", environment: [:])) { XCTAssertTrue("\($0)".contains("sslmode")) }
        XCTAssertThrowsError(try PostgresLocation("postgres://u@h/d?bogus=1", environment: [:])) { XCTAssertTrue("\($0)".contains("bogus")) }
        XCTAssertThrowsError(try PostgresLocation("mysql://u:pw@h/d", environment: [:])) { e in
            XCTAssertFalse("\(e)".contains("pw@"), "the password is not echoed: \(e)")
        }
        // A password file must be owner-only.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pgpw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("pw").path
        try "from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        XCTAssertThrowsError(try PostgresLocation("postgres://u@h/d?password_file=\(file)", environment: [:])) { XCTAssertTrue("\($0)".contains("chmod 600"), "\($0)") }
        chmod(file, 0o600)
        XCTAssertEqual(try PostgresLocation("postgres://u@h/d?password_file=\(file)", environment: [:]).password, "from-file")
        // A wrong password: the server's message, no password in it.
        let server = try TestPostgres.server()
        let bad = server.url.replacingOccurrences(of: "postgres://loopai@", with: "postgres://loopai:wrongpw@")
        unsetenv("PGPASSWORD")
        defer { setenv("PGPASSWORD", server.password, 1) }
        XCTAssertThrowsError(try PostgresStore.open(url: bad, task: "t")) { e in
            XCTAssertTrue("\(e)".contains("password authentication failed"), "\(e)")
            XCTAssertFalse("\(e)".contains("wrongpw"), "\(e)")
        }
        // Nothing listening: a clear error, not a hang.
        XCTAssertThrowsError(try PostgresStore.open(url: "postgres://loopai@127.0.0.1:1/loopai", task: "t")) { e in
            XCTAssertTrue("\(e)".contains("127.0.0.1:1"), "\(e)")
        }
    }

    /// A replica watching the task hears of another one's rollout step as it commits (LISTEN/NOTIFY),
    /// of its own task only, and again after the server restarted.
    func testRolloutStepsAreAnnouncedToWatchers() throws {
        let server = try TestPostgres.server()
        let task = TestPostgres.uniqueTask("watch")
        let watcher = try PostgresStore.open(url: server.url, task: task)
        let writer = try PostgresStore.open(url: server.url, task: task)
        let other = writer.scoped(to: task + "-other")
        defer { watcher.shutdown(); writer.shutdown() }
        let heard = DispatchSemaphore(value: 0)
        let count = PGLocked(0)
        watcher.watchVersions { count.withLock { $0 += 1 }; heard.signal() }
        Thread.sleep(forTimeInterval: 0.5)   // the LISTEN connection is up
        let base = try writer.addVersion(ProgramVersion(source: "base", status: .active))
        let cand = try writer.addVersion(ProgramVersion(source: "cand", parentId: base.id))
        let t0 = Date()
        _ = try writer.recordRollout(Rollout(candidateId: cand.id!, baseId: base.id, stage: .shadow))
        XCTAssertEqual(heard.wait(timeout: .now() + 5), .success, "the shadow step was announced")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 1, "within a second")
        // Another task's steps are not this task's news.
        let ob = try other.addVersion(ProgramVersion(source: "o", status: .active))
        let oc = try other.addVersion(ProgramVersion(source: "oc", parentId: ob.id))
        _ = try other.recordRollout(Rollout(candidateId: oc.id!, baseId: ob.id, stage: .shadow))
        // A rolled-back transaction announces nothing.
        XCTAssertThrowsError(try writer.recordRollout(Rollout(candidateId: cand.id!, baseId: cand.id, stage: .promoted, share: 1)))
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(count.withLock { $0 }, 1)
        // After a restart of the server the watcher listens again.
        try TestPostgres.restart()
        Thread.sleep(forTimeInterval: 2.5)
        _ = try? writer.versions()   // the writer's pooled connection died with the server
        _ = try writer.recordRollout(Rollout(candidateId: cand.id!, baseId: base.id, stage: .promoted, share: 1))
        XCTAssertEqual(heard.wait(timeout: .now() + 5), .success, "the promotion after the restart was announced")
        XCTAssertEqual(count.withLock { $0 }, 2)
    }

    /// The server restarts: the store's next calls reconnect, and nothing committed is lost.
    func testReconnectsAfterTheServerRestarts() throws {
        let server = try TestPostgres.server()
        _ = try XCTUnwrap(server.directory, "the test server's directory (LOOPAI_TEST_POSTGRES_DIR) is needed to restart it")
        let store = try PostgresStore.open(url: server.url, task: TestPostgres.uniqueTask("restart"))
        let (run, active, shadow) = try Workload.setUp(store)
        try Workload.writeBatch(store, runId: run.id!, activeId: active.id!, shadowId: shadow.id!)
        try TestPostgres.restart()
        // The pooled connection died with the server: the first call may fail, a retry reconnects.
        _ = try? store.versions()
        try Workload.writeBatch(store, runId: run.id!, activeId: active.id!, shadowId: shadow.id!)
        try Workload.checkInvariants(store, runId: run.id!)
    }
}
