import Foundation
import GRDB

/// The embedded store: one SQLite file in WAL mode, migrated on open, scoped to one task (several
/// tasks may share the file; each opens its own handle).
public final class SQLiteStore: TaskStore {
    public let task: String
    public let path: String
    public var location: String { path }
    let queue: DatabaseQueue

    private init(path: String, task: String, queue: DatabaseQueue) {
        self.path = path
        self.task = task
        self.queue = queue
    }

    /// Opens the store at `path` for `task`, creating the file (and its directory) or migrating it
    /// to the current schema. Throws `StoreError.schemaTooNew` for a store from a newer build.
    public static func open(path: String, task: String, durability: Durability = .full) throws -> SQLiteStore {
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
        return SQLiteStore(path: path, task: task, queue: queue)
    }

    /// The tasks that have runs or versions in the file at `path` (for commands that read a store
    /// without being told the task).
    public static func tasks(path: String) throws -> [String] {
        let s = try open(path: path, task: "")
        defer { try? s.close() }
        return try s.queue.read { db in
            try String.fetchAll(db, sql: "SELECT taskName FROM run UNION SELECT task FROM program_version WHERE task != '' ORDER BY 1")
        }
    }

    /// Closes the connection (also done on deinit); the store is unusable afterwards.
    public func close() throws { try queue.close() }

    public func shutdown() { try? close() }

    /// One process per SQLite store: nobody else records rollouts.
    public func watchVersions(_ onChange: @escaping @Sendable () -> Void) {}

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

    // MARK: - Writing (each call one transaction)

    func write<T>(_ body: (Writer) throws -> T) throws -> T {
        try queue.write { db in try body(Writer(db: db, task: task)) }
    }

    public func addVersion(_ version: ProgramVersion) throws -> ProgramVersion { try write { try $0.insert(version) } }

    public func setStatus(of versionId: Int64, to status: VersionStatus, canaryShare: Double?, note: String?) throws {
        try write { try $0.setStatus(versionId, status, canaryShare: canaryShare, note: note) }
    }

    public func recordRollout(_ rollout: Rollout) throws -> Rollout { try write { try $0.recordRollout(rollout) } }

    public func startRun(streamPath: String, config: String, at time: Double) throws -> Run {
        try write { try $0.insertRecord(Run(taskName: task, streamPath: streamPath, startedAt: time, config: config)) }
    }

    public func finishRun(runId: Int64, at time: Double) throws {
        try write { w in
            guard var r = try w.run(runId) else { throw StoreError.notFound("run \(runId)") }
            r.finishedAt = time
            try r.update(w.db)
        }
    }

    public func commit(_ commit: StoreCommit) throws -> CommitResult { try write { try $0.commit(commit) } }

    public func recordLedger(_ entries: [LedgerEntry]) throws { try write { w in for e in entries { try w.insert(e) } } }

    public func openEscalation(_ escalation: Escalation) throws -> Escalation { try write { try $0.insertRecord(escalation) } }

    public func resolveEscalation(id: Int64, versionId: Int64?, at time: Double) throws -> Escalation {
        try write { try $0.resolveEscalation(id, versionId: versionId, at: time) }
    }

    public func isOutage(_ error: Error) -> Bool {
        guard let e = error as? DatabaseError else { return false }
        return [.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_CANTOPEN].contains(e.resultCode.primaryResultCode)
    }

    // One process per SQLite store: it always leads.
    public func claimLeadership(holder: String, seconds: Double) throws -> Bool { true }
    public func releaseLeadership(holder: String) throws {}
    public func leader() throws -> String? { nil }

    public func resolveEscalation(id: Int64, source: String, base: Int64?, provenance: String, evidence: String) throws -> ProgramVersion {
        try write { try $0.resolveWithProgram(id, source: source, base: base, provenance: provenance, evidence: evidence) }
    }
}

/// The writes of one SQLite transaction, every row scoped to the task.
struct Writer: StoreTransaction {
    let db: Database
    let task: String

    /// Inserts a record of the task and returns it with its id.
    func insertRecord<R: MutablePersistableRecord & TaskScoped>(_ record: R) throws -> R {
        var r = record
        r.scope(to: task)
        try r.insert(db)
        return r
    }

    func run(_ id: Int64) throws -> Run? {
        try Run.filter(Column("id") == id && Column("taskName") == task).fetchOne(db)
    }

    func lockedCursor(run id: Int64) throws -> Int? { try run(id)?.cursor }   // a write transaction locks the file
    func requireLease(_ holder: String) throws {}   // one process: it leads
    func lockPromotions() throws {}

    func version(_ id: Int64) throws -> ProgramVersion? {
        try ProgramVersion.filter(Column("id") == id && Column("task") == task).fetchOne(db)
    }

    func activeVersionId() throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM program_version WHERE task = ? AND status = ? ORDER BY id DESC LIMIT 1",
                           arguments: [task, VersionStatus.active])
    }

    func insert(_ v: ProgramVersion) throws -> ProgramVersion { try insertRecord(v) }
    func insert(_ e: Execution) throws -> Int64 { try insertRecord(e).id! }
    func insert(_ a: OracleAnswer) throws { _ = try insertRecord(a) }
    func insert(_ c: Comparison) throws { _ = try insertRecord(c) }
    func insert(_ l: LedgerEntry) throws { _ = try insertRecord(l) }
    func insert(_ p: TimelinePoint) throws { _ = try insertRecord(p) }
    func insert(_ r: Rollout) throws -> Rollout { try insertRecord(r) }
    func insert(_ e: Escalation) throws -> Int64 { try insertRecord(e).id! }

    func setTicket(escalation id: Int64, markdown: String, json: String) throws {
        try db.execute(sql: "UPDATE escalation SET ticketMarkdown = ?, ticketJSON = ? WHERE id = ?", arguments: [markdown, json, id])
    }

    func updateStatus(_ id: Int64, _ status: VersionStatus, canaryShare: Double?, note: String?) throws -> Bool {
        guard var v = try version(id) else { return false }
        v.status = status
        if let canaryShare { v.canaryShare = canaryShare }
        if let note { v.note = note }
        try v.update(db)
        return true
    }

    func retireActive(except id: Int64) throws {
        try db.execute(sql: "UPDATE program_version SET status = ?, canaryShare = 0 WHERE task = ? AND status = ? AND id != ?",
                       arguments: [VersionStatus.retired, task, VersionStatus.active, id])
    }

    func rejectInFlight(except id: Int64, note: String) throws {
        try db.execute(sql: "UPDATE program_version SET status = ?, canaryShare = 0, note = ? WHERE task = ? AND status IN (?, ?, ?) AND id != ?",
                       arguments: [VersionStatus.rejected, note, task, VersionStatus.candidate, VersionStatus.shadow, VersionStatus.canary, id])
    }

    func escalation(_ id: Int64) throws -> Escalation? {
        try Escalation.filter(Column("id") == id && Column("task") == task).fetchOne(db)
    }

    func markResolved(_ id: Int64, versionId: Int64?, at time: Double) throws {
        try db.execute(sql: "UPDATE escalation SET status = ?, resolvedAt = ?, resolutionVersionId = ? WHERE id = ?",
                       arguments: [EscalationStatus.resolved, time, versionId, id])
    }

    func addCounter(run runId: Int64, key: String, delta: Double) throws {
        try db.execute(sql: """
            INSERT INTO counter (runId, key, value) VALUES (?, ?, ?)
            ON CONFLICT (runId, key) DO UPDATE SET value = value + excluded.value
            """, arguments: [runId, key, delta])
    }

    func advance(run runId: Int64, cursor: Int, state: String?) throws {
        try db.execute(sql: "UPDATE run SET cursor = ?, state = COALESCE(?, state) WHERE id = ?", arguments: [cursor, state, runId])
    }

    func announceRollout() throws {}   // nobody else reads this file
}

/// A record that belongs to a task.
protocol TaskScoped {
    mutating func scope(to task: String)
}

extension ProgramVersion: TaskScoped { mutating func scope(to task: String) { self.task = task } }
extension Execution: TaskScoped { mutating func scope(to task: String) { self.task = task } }
extension OracleAnswer: TaskScoped { mutating func scope(to task: String) { self.task = task } }
extension Comparison: TaskScoped { mutating func scope(to task: String) { self.task = task } }
extension LedgerEntry: TaskScoped { mutating func scope(to task: String) { self.task = task } }
extension Rollout: TaskScoped { mutating func scope(to task: String) { self.task = task } }
extension Escalation: TaskScoped { mutating func scope(to task: String) { self.task = task } }
extension TimelinePoint: TaskScoped { mutating func scope(to task: String) { self.task = task } }
extension Run: TaskScoped { mutating func scope(to task: String) { taskName = task } }
