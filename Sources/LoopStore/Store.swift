import Foundation
import LoopDiagnostics
import GRDB

/// Errors the store reports (SQLite errors come through as GRDB's `DatabaseError`).
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The file was migrated by a newer Loopai: it has migrations this build does not know.
    case schemaTooNew(path: String, unknown: [String], known: [String])
    /// A batch does not continue the run where it stands: its cursor goes backwards, or it holds
    /// an input before the stored cursor (already counted) or at/after the new one.
    case batchOutOfOrder(runId: Int64, storedCursor: Int, newCursor: Int, seq: Int?)
    case notFound(String)
    case invalidTransition(String)

    public var description: String {
        switch self {
        case .schemaTooNew(let path, let unknown, let known):
            return "the store \(path) was written by a newer version of loopai (schema migrations \(unknown.joined(separator: ", ")) "
                + "are unknown to this build, which knows \(known.joined(separator: ", "))); upgrade loopai or use another store"
        case .batchOutOfOrder(let runId, let stored, let new, let seq):
            let what = seq.map { "input \($0)" } ?? "cursor \(new)"
            return "run \(runId): batch with \(what) does not continue from the stored cursor \(stored) to \(new); nothing was written"
        case .notFound(let what): return "\(what) not found in the store"
        case .invalidTransition(let what): return what
        }
    }
}

/// How hard a commit is pushed to disk (`PRAGMA synchronous`, in WAL mode).
public enum Durability: String, Sendable {
    /// Every commit is fsynced to the WAL before it returns: a commit survives kill -9, OS crashes
    /// and power loss. The default: commits are per batch, so the fsync is cheap next to the
    /// oracle calls a batch pays for, and the ledger must not forget money that was spent.
    case full
    /// Commits survive kill -9 (the WAL is in the OS page cache) and the file is never corrupted,
    /// but an OS crash or power loss may roll back the latest commits.
    case normal
}

/// The validation store: one SQLite file in WAL mode, migrated on open.
///
/// Every unit of work that must not be counted twice is one transaction: `commitBatch` writes a
/// batch's executions, oracle answers, comparisons, ledger entries and counters and advances the
/// run's cursor together, so after kill -9 a resumed run restarts at the cursor with nothing
/// half-written. `write` groups any other writes (and `add(run:key:delta:)`) the same way.
public final class Store: Sendable {
    public let path: String
    let queue: DatabaseQueue

    /// The schema migrations this build knows, oldest first.
    public static var knownMigrations: [String] { Schema.migrator.migrations }

    private init(path: String, queue: DatabaseQueue) {
        self.path = path
        self.queue = queue
    }

    /// Opens the store at `path`, creating the file (and its directory) or migrating it to the
    /// current schema. Throws `StoreError.schemaTooNew` for a store from a newer build.
    public static func open(path: String, durability: Durability = .full) throws -> Store {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

        var config = Configuration()
        config.journalMode = .wal
        // Another process (a second `loopai` reading status) may hold the lock briefly: wait, don't fail.
        config.busyMode = .timeout(10)
        config.label = "LoopStore"
        // Opening switches a new file to WAL, which needs a moment of exclusive access: another
        // process opening the same new store at that moment makes it fail with SQLITE_BUSY.
        var queue: DatabaseQueue! = nil
        for attempt in 1...20 {
            do { queue = try DatabaseQueue(path: path, configuration: config); break }
            catch let e as DatabaseError where e.resultCode == .SQLITE_BUSY && attempt < 20 { usleep(useconds_t(20_000 * attempt)) }
        }
        // GRDB's WAL setup sets synchronous = NORMAL; one connection, so this sticks.
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        }

        // Two processes opening a new store at once both see it unmigrated; the second one's
        // migration then fails on what the first just made (or reads its half-made schema).
        // Checking and migrating again reads the applied migrations afresh, so a retry (after the
        // first has committed) finds nothing to do.
        let migrator = Schema.migrator
        var attempt = 0
        while true {
            do {
                let applied = try queue.read { try migrator.appliedIdentifiers($0) }
                let unknown = applied.subtracting(migrator.migrations)
                if !unknown.isEmpty {
                    throw StoreError.schemaTooNew(path: path, unknown: unknown.sorted(), known: migrator.migrations)
                }
                try migrator.migrate(queue)
                break
            } catch let e as StoreError {
                throw e
            } catch {
                attempt += 1
                if attempt >= 8 { throw error }
                usleep(useconds_t(30_000 * attempt))
            }
        }
        return Store(path: path, queue: queue)
    }

    /// Closes the connection (also done on deinit); the store is unusable afterwards.
    public func close() throws { try queue.close() }

    /// Seconds since 1970.
    public static func now() -> Double { Date().timeIntervalSince1970 }

    /// FNV-1a 64 of the UTF-8 bytes, 16 hex digits (the same as `TypedProgram.sourceHash`).
    public static func hash(_ text: String) -> String { StableHash.hex(text.utf8) }

    /// The migrations applied to this file, in order.
    public func appliedMigrations() throws -> [String] {
        try queue.read { try Schema.migrator.appliedMigrations($0) }
    }

    /// `PRAGMA journal_mode` ("wal").
    public func journalMode() throws -> String {
        try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// `PRAGMA synchronous` (1 = NORMAL, 2 = FULL).
    public func synchronousLevel() throws -> Int {
        try queue.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// `PRAGMA integrity_check` ("ok" when healthy).
    public func integrityCheck() throws -> String {
        try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }

    // MARK: - Writing

    /// Runs `body` in one transaction: everything it writes commits together, or (when it throws)
    /// nothing does. Inside `body`, use only the transaction: calling the store again (to read or
    /// write) from within is a reentrant access that GRDB stops with a fatal error.
    @discardableResult
    public func write<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try queue.write { db in try body(StoreTransaction(db: db)) }
    }

    /// Commits the work for the stream inputs `[run.cursor, cursor)` in ONE transaction: the
    /// sampled executions with their oracle answers and comparisons (their `executionId` is filled
    /// in), answers not tied to an execution, ledger entries, counter deltas, and the new cursor.
    /// Every execution's `seq` must lie in `[stored cursor, cursor)`. Returns the executions' ids.
    @discardableResult
    public func commitBatch(runId: Int64, cursor: Int, items: [BatchItem] = [], answers: [OracleAnswer] = [],
                            ledger: [LedgerEntry] = [], counters: [String: Double] = [:], state: String? = nil) throws -> [Int64] {
        try write { tx in
            try tx.commitBatch(runId: runId, cursor: cursor, items: items, answers: answers, ledger: ledger, counters: counters, state: state)
        }
    }

    public func addVersion(_ version: ProgramVersion) throws -> ProgramVersion {
        try write { try $0.addVersion(version) }
    }

    public func setStatus(versionId: Int64, _ status: VersionStatus, canaryShare: Double? = nil, note: String? = nil) throws {
        try write { try $0.setStatus(versionId: versionId, status, canaryShare: canaryShare, note: note) }
    }

    public func startRun(taskName: String, streamPath: String, config: String = "{}", at time: Double = Store.now()) throws -> Run {
        try write { try $0.startRun(taskName: taskName, streamPath: streamPath, config: config, at: time) }
    }

    public func finishRun(runId: Int64, at time: Double = Store.now()) throws {
        try write { try $0.finishRun(runId: runId, at: time) }
    }

    /// Records LLM calls made outside a batch (e.g. generation), with their counter deltas.
    public func recordLedger(_ entries: [LedgerEntry], run runId: Int64? = nil, counters: [String: Double] = [:]) throws {
        try write { tx in
            for e in entries { _ = try tx.insert(e) }
            if let runId { for (k, d) in counters { try tx.add(run: runId, key: k, delta: d) } }
        }
    }

    /// Adds `delta` to a run's counter, alone in its transaction (prefer `write` to count with the work).
    public func add(run runId: Int64, key: String, delta: Double) throws {
        try write { try $0.add(run: runId, key: key, delta: delta) }
    }

    public func recordRollout(_ rollout: Rollout) throws -> Rollout {
        try write { try $0.recordRollout(rollout) }
    }

    public func openEscalation(_ escalation: Escalation) throws -> Escalation {
        try write { try $0.insert(escalation) }
    }

    public func resolveEscalation(id: Int64, versionId: Int64? = nil, at time: Double = Store.now()) throws -> Escalation {
        try write { try $0.resolveEscalation(id: id, versionId: versionId, at: time) }
    }
}

/// The writes available inside `Store.write`; all of them join the enclosing transaction.
public struct StoreTransaction {
    let db: Database

    /// Inserts any store record and returns it with its id.
    public func insert<R: MutablePersistableRecord>(_ record: R) throws -> R {
        var r = record
        try r.insert(db)
        return r
    }

    /// Adds `delta` to the run's counter `key` (created at 0).
    /// Updates a stored record.
    public func update<R: MutablePersistableRecord>(_ record: R) throws { try record.update(db) }

    public func add(run runId: Int64, key: String, delta: Double) throws {
        try db.execute(sql: """
            INSERT INTO counter (runId, key, value) VALUES (?, ?, ?)
            ON CONFLICT (runId, key) DO UPDATE SET value = value + excluded.value
            """, arguments: [runId, key, delta])
    }

    public func addVersion(_ version: ProgramVersion) throws -> ProgramVersion { try insert(version) }

    /// Marks every version still in flight (candidate, shadow, canary), but `except`, rejected
    /// with `note`.
    public func rejectInFlight(except id: Int64, note: String) throws {
        try db.execute(sql: "UPDATE program_version SET status = ?, canaryShare = 0, note = ? WHERE status IN (?, ?, ?) AND id != ?",
                       arguments: [VersionStatus.rejected, note, VersionStatus.candidate, VersionStatus.shadow, VersionStatus.canary, id])
    }

    public func setStatus(versionId: Int64, _ status: VersionStatus, canaryShare: Double? = nil, note: String? = nil) throws {
        guard var v = try ProgramVersion.fetchOne(db, key: versionId) else { throw StoreError.notFound("version \(versionId)") }
        v.status = status
        if let canaryShare { v.canaryShare = canaryShare }
        if let note { v.note = note }
        try v.update(db)
    }

    public func startRun(taskName: String, streamPath: String, config: String = "{}", at time: Double = Store.now()) throws -> Run {
        try insert(Run(taskName: taskName, streamPath: streamPath, startedAt: time, config: config))
    }

    public func finishRun(runId: Int64, at time: Double = Store.now()) throws {
        guard var r = try Run.fetchOne(db, key: runId) else { throw StoreError.notFound("run \(runId)") }
        r.finishedAt = time
        try r.update(db)
    }

    public func commitBatch(runId: Int64, cursor: Int, items: [BatchItem], answers: [OracleAnswer] = [],
                            ledger: [LedgerEntry] = [], counters: [String: Double] = [:], state: String? = nil) throws -> [Int64] {
        guard var run = try Run.fetchOne(db, key: runId) else { throw StoreError.notFound("run \(runId)") }
        let stored = run.cursor
        guard cursor >= stored else { throw StoreError.batchOutOfOrder(runId: runId, storedCursor: stored, newCursor: cursor, seq: nil) }
        var ids: [Int64] = []
        for item in items {
            var e = item.execution
            guard e.runId == runId, e.seq >= stored, e.seq < cursor else {
                throw StoreError.batchOutOfOrder(runId: runId, storedCursor: stored, newCursor: cursor, seq: e.seq)
            }
            try e.insert(db)
            let id = e.id!
            ids.append(id)
            for var a in item.answers { a.executionId = id; try a.insert(db) }
            for var c in item.comparisons { c.executionId = id; try c.insert(db) }
        }
        for a in answers { _ = try insert(a) }
        for l in ledger { _ = try insert(l) }
        for (k, d) in counters { try add(run: runId, key: k, delta: d) }
        run.cursor = cursor
        if let state { run.state = state }
        try run.update(db)
        return ids
    }

    /// Inserts the rollout step and moves the candidate's status with it: shadow → shadow,
    /// canary → canary (at `share`), promoted → active (share 1; every other active version is
    /// retired), rolled_back → rolled_back, rejected → rejected.
    public func recordRollout(_ rollout: Rollout) throws -> Rollout {
        let r = try insert(rollout)
        switch r.stage {
        case .shadow: try setStatus(versionId: r.candidateId, .shadow, canaryShare: 0)
        case .canary: try setStatus(versionId: r.candidateId, .canary, canaryShare: r.share)
        case .promoted:
            // Promotion is a compare-and-swap on the active version: it must still be the base
            // the decision was made against (another writer may have promoted meanwhile).
            if let base = r.baseId {
                let active = try Int64.fetchOne(db, sql: "SELECT id FROM program_version WHERE status = ? ORDER BY id DESC LIMIT 1", arguments: [VersionStatus.active])
                if let active, active != base {
                    throw StoreError.invalidTransition("v\(r.candidateId) was to replace v\(base), but v\(active) is the active version now; nothing was changed")
                }
            }
            try db.execute(sql: "UPDATE program_version SET status = ?, canaryShare = 0 WHERE status = ? AND id != ?",
                           arguments: [VersionStatus.retired, VersionStatus.active, r.candidateId])
            try setStatus(versionId: r.candidateId, .active, canaryShare: 1)
        case .rolledBack: try setStatus(versionId: r.candidateId, .rolledBack, canaryShare: 0)
        case .rejected: try setStatus(versionId: r.candidateId, .rejected, canaryShare: 0)
        }
        return r
    }

    public func resolveEscalation(id: Int64, versionId: Int64? = nil, at time: Double = Store.now()) throws -> Escalation {
        guard var e = try Escalation.fetchOne(db, key: id) else { throw StoreError.notFound("escalation \(id)") }
        guard e.status == .open else { throw StoreError.invalidTransition("escalation \(id) is already resolved") }
        e.status = .resolved
        e.resolvedAt = time
        e.resolutionVersionId = versionId
        try e.update(db)
        return e
    }
}
