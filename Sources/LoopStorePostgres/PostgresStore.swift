import Foundation
import NIOCore
import PostgresNIO
import LoopStore

/// The shared store: PostgreSQL, for several `loopai serve` replicas (and several tasks) at once.
/// Every row is scoped by task as in SQLite; a promotion is a compare-and-swap under a
/// transaction-level advisory lock on the task, so two replicas can never both promote against
/// the same base. Commits of promotions notify `loopai_versions` with the task's name.
public final class PostgresStore: TaskStore {
    public let task: String
    public var location: String { pool.location.description }
    let pool: PGPool

    /// The migrations this build knows for PostgreSQL, oldest first.
    public static var knownMigrations: [String] { PGSchema.migrations.map(\.name) }
    /// The channel promotions are announced on (the payload is the task).
    public static let versionsChannel = "loopai_versions"

    init(pool: PGPool, task: String) {
        self.pool = pool
        self.task = task
    }

    /// Opens the store at `url` for `task`: connects, and migrates the database to the current
    /// schema (one replica at a time, under an advisory lock). Throws `StoreError.schemaTooNew`
    /// for a database migrated by a newer build.
    public static func open(url: String, task: String) throws -> PostgresStore {
        let pool = try PGPool(try PostgresLocation(url))
        try migrate(pool)
        return PostgresStore(pool: pool, task: task)
    }

    /// The same database, scoped to another task (sharing the connections).
    public func scoped(to other: String) -> PostgresStore { PostgresStore(pool: pool, task: other) }

    public func close() { pool.close() }

    public func shutdown() {
        watchers.withLock { for w in $0 { w.stop() }; $0 = [] }
        pool.close()
    }

    private let watchers = PGLocked<[VersionWatcher]>([])

    /// LISTENs on `loopai_versions` on a connection of its own (reconnecting after a second when
    /// it drops) and calls `onChange` for notifications naming this task.
    public func watchVersions(_ onChange: @escaping @Sendable () -> Void) {
        let w = VersionWatcher(pool: pool, task: task, onChange: onChange)
        watchers.withLock { $0.append(w) }
        w.start()
    }

    static func migrate(_ pool: PGPool) throws {
        try pool.with { conn in
            try pool.run(conn, "SELECT pg_advisory_lock(7264810231)")
            defer { _ = try? pool.run(conn, "SELECT pg_advisory_unlock(7264810231)") }
            try pool.run(conn, "CREATE TABLE IF NOT EXISTS loopai_migration (identifier TEXT PRIMARY KEY, appliedAt DOUBLE PRECISION NOT NULL)")
            let applied = Set(try pool.run(conn, "SELECT identifier FROM loopai_migration").map { try $0.decode(String.self) })
            let known = PGSchema.migrations.map(\.name)
            let unknown = applied.subtracting(known)
            if !unknown.isEmpty { throw StoreError.schemaTooNew(path: pool.location.description, unknown: unknown.sorted(), known: known) }
            for m in PGSchema.migrations where !applied.contains(m.name) {
                try pool.run(conn, "BEGIN")
                do {
                    for statement in m.sql.components(separatedBy: ";\n") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                        try pool.run(conn, PostgresQuery(unsafeSQL: statement))
                    }
                    try pool.run(conn, "INSERT INTO loopai_migration (identifier, appliedAt) VALUES (\(m.name), \(Store.now()))")
                    try pool.run(conn, "COMMIT")
                } catch {
                    _ = try? pool.run(conn, "ROLLBACK")
                    throw error
                }
            }
        }
    }

    /// The migrations applied to this database, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.with { conn in try pool.run(conn, "SELECT identifier FROM loopai_migration ORDER BY identifier").map { try $0.decode(String.self) } }
    }

    // MARK: - Reading

    func read<T>(_ body: (PGReader) throws -> T) throws -> T {
        try pool.with { conn in try body(PGReader(pool: pool, conn: conn, task: task)) }
    }

    public func versions() throws -> [ProgramVersion] {
        try read { try $0.versions("WHERE task = \($0.task) ORDER BY id") }
    }

    public func version(id: Int64) throws -> ProgramVersion? {
        try read { try $0.versions("WHERE task = \($0.task) AND id = \(id)").first }
    }

    public func activeVersion() throws -> ProgramVersion? {
        try read { try $0.versions("WHERE task = \($0.task) AND status = 'active' ORDER BY id DESC LIMIT 1").first }
    }

    public func versionsInPlay() throws -> [ProgramVersion] {
        try read { try $0.versions("WHERE task = \($0.task) AND status IN ('active', 'shadow', 'canary') ORDER BY id") }
    }

    public func agreementSums(version: Int64, since: Double?, excludingRun: Int64?) throws -> AgreementSums {
        try read { r in
            guard let row = try r.rows("""
                SELECT COALESCE(SUM(c.weight) FILTER (WHERE c.agree), 0)::DOUBLE PRECISION, COALESCE(SUM(c.weight), 0)::DOUBLE PRECISION,
                       COALESCE(SUM(c.weight * c.weight), 0)::DOUBLE PRECISION,
                       COALESCE(SUM(c.weight * c.weight) FILTER (WHERE c.agree), 0)::DOUBLE PRECISION,
                       COUNT(*), COUNT(*) FILTER (WHERE c.agree)
                FROM comparison c JOIN execution e ON e.id = c.executionId
                WHERE c.task = \(r.task) AND c.versionId = \(version) AND c.weight > 0
                  AND (\(since)::DOUBLE PRECISION IS NULL OR e.time >= \(since))
                  AND (\(excludingRun)::BIGINT IS NULL OR e.runId != \(excludingRun))
                """).first else { return AgreementSums() }
            let (a, w, w2, a2, n, k) = try row.decode((Double, Double, Double, Double, Int64, Int64).self)
            return AgreementSums(agreeWeight: a, weight: w, weightSquared: w2, agreeWeightSquared: a2, count: Int(n), agreements: Int(k))
        }
    }

    /// No answer from the server (connection refused or lost), or its connection, shutdown and
    /// resource classes of SQLSTATE (08, 57P, 53).
    public func isOutage(_ error: Error) -> Bool {
        guard let e = error as? PostgresStoreError else { return false }
        guard let s = e.sqlState else { return true }
        return s.hasPrefix("08") || s.hasPrefix("57P") || s.hasPrefix("53")
    }

    public func oracleCallsElsewhere(afterId: Int64, since: Double, excludingRun: Int64, limit: Int) throws -> [OracleCall] {
        try read { r in
            try r.rows("""
                SELECT a.id, a.time, a.cost FROM oracle_answer a JOIN execution e ON e.id = a.executionId
                WHERE a.task = \(r.task) AND a.id > \(afterId) AND a.time >= \(since) AND e.runId != \(excludingRun)
                  AND a.source IN ('llm', 'labels')
                ORDER BY a.id LIMIT \(Int64(limit))
                """).map { row in
                let (id, t, c) = try row.decode((Int64, Double, Double).self)
                return OracleCall(id: id, time: t, cost: c)
            }
        }
    }

    // MARK: Leadership: a lease row per task, on the database's clock

    public func claimLeadership(holder: String, seconds: Double) throws -> Bool {
        try write { w in
            !(try w.r.rows("""
                INSERT INTO task_lease (task, holder, expiresAt, term)
                VALUES (\(task), \(holder), EXTRACT(EPOCH FROM clock_timestamp()) + \(seconds), 1)
                ON CONFLICT (task) DO UPDATE SET holder = excluded.holder, expiresAt = excluded.expiresAt,
                    term = task_lease.term + CASE WHEN task_lease.holder = excluded.holder THEN 0 ELSE 1 END
                WHERE task_lease.holder = excluded.holder OR task_lease.expiresAt < EXTRACT(EPOCH FROM clock_timestamp())
                RETURNING term
                """).isEmpty)
        }
    }

    public func releaseLeadership(holder: String) throws {
        try write { w in try w.r.rows("DELETE FROM task_lease WHERE task = \(task) AND holder = \(holder)") }
    }

    public func leader() throws -> String? {
        try read { r in
            try r.rows("SELECT holder FROM task_lease WHERE task = \(r.task) AND expiresAt >= EXTRACT(EPOCH FROM clock_timestamp())")
                .first.map { try $0.decode(String.self) }
        }
    }

    public func rollouts(candidate: Int64?) throws -> [Rollout] {
        try read { r in
            try r.rows("SELECT id, task, candidateId, baseId, stage, share, time, evidence FROM rollout WHERE task = \(r.task) AND (\(candidate)::BIGINT IS NULL OR candidateId = \(candidate)) ORDER BY id").map { row in
                var c = Cells(row)
                var x = Rollout(id: try c.next(), candidateId: 0, stage: .shadow)
                x.task = try c.next(); x.candidateId = try c.next(); x.baseId = try c.next()
                x.stage = try c.enumValue(); x.share = try c.next(); x.time = try c.next(); x.evidence = try c.next()
                return x
            }
        }
    }

    public func run(id: Int64) throws -> Run? {
        try read { try $0.runs("WHERE taskName = \($0.task) AND id = \(id)").first }
    }

    public func latestRun() throws -> Run? {
        try read { try $0.runs("WHERE taskName = \($0.task) ORDER BY id DESC LIMIT 1").first }
    }

    public func runs() throws -> [Run] {
        try read { try $0.runs("WHERE taskName = \($0.task) ORDER BY id") }
    }

    public func counters(run: Int64) throws -> [String: Double] {
        try read { r in
            var out: [String: Double] = [:]
            for row in try r.rows("SELECT c.key, c.value FROM counter c JOIN run ON run.id = c.runId WHERE c.runId = \(run) AND run.taskName = \(r.task)") {
                let (k, v) = try row.decode((String, Double).self)
                out[k] = v
            }
            return out
        }
    }

    public func timeline(run: Int64) throws -> [TimelinePoint] {
        try read { r in
            try r.rows("""
                SELECT id, task, runId, requests, agreement, lower, upper, samplingRate, cost, allLLMCost, versionId, time
                FROM timeline_point WHERE task = \(r.task) AND runId = \(run) ORDER BY id
                """).map { row in
                var c = Cells(row)
                let id: Int64 = try c.next(), task: String = try c.next()
                var p = TimelinePoint(id: id, runId: try c.next(), requests: Int(try c.next() as Int64), agreement: try c.next(), lower: try c.next(),
                                      upper: try c.next(), samplingRate: try c.next(), cost: try c.next(), allLLMCost: try c.next(),
                                      versionId: try c.next(), time: try c.next())
                p.task = task
                return p
            }
        }
    }

    public func executions(run: Int64) throws -> [Execution] {
        try read { r in
            try r.rows("""
                SELECT id, task, runId, seq, input, inputHash, output, confidence, rule, versionId, time, inclusionProbability, stratum, tier, requestId
                FROM execution WHERE task = \(r.task) AND runId = \(run) ORDER BY seq
                """).map { row in
                var c = Cells(row)
                let id: Int64 = try c.next(), task: String = try c.next()
                var e = Execution(id: id, runId: try c.next(), seq: Int(try c.next() as Int64), input: try c.next(), inputHash: try c.next(),
                                  output: try c.next(), confidence: try c.next(), rule: try c.next(), versionId: try c.next(), time: try c.next(),
                                  inclusionProbability: try c.next(), stratum: try c.next(), tier: Int(try c.next() as Int32))
                e.task = task
                e.requestId = try c.next()
                return e
            }
        }
    }

    public func answers(inputHash: String) throws -> [OracleAnswer] {
        try read { try $0.answers("WHERE task = \($0.task) AND inputHash = \(inputHash) ORDER BY id") }
    }

    public func latestLabels(inputHashes: [String]) throws -> [String: String] {
        guard !inputHashes.isEmpty else { return [:] }
        return try read { r in
            var out: [String: String] = [:]
            let unique = Array(Set(inputHashes))
            for row in try r.rows("""
                SELECT DISTINCT ON (inputHash) inputHash, label FROM oracle_answer
                WHERE task = \(r.task) AND label IS NOT NULL AND inputHash = ANY(\(unique))
                ORDER BY inputHash, id DESC
                """) {
                let (h, l) = try row.decode((String, String).self)
                out[h] = l
            }
            return out
        }
    }

    public func comparisons(version: Int64?) throws -> [Comparison] {
        try read { r in
            try r.rows("""
                SELECT id, task, executionId, versionId, programLabel, oracleLabel, agree, weight FROM comparison
                WHERE task = \(r.task) AND (\(version)::BIGINT IS NULL OR versionId = \(version)) ORDER BY id
                """).map { row in
                var c = Cells(row)
                let id: Int64 = try c.next(), task: String = try c.next()
                var x = Comparison(id: id, executionId: try c.next(), versionId: try c.next(), programLabel: try c.next(),
                                   oracleLabel: try c.next(), agree: try c.next() as Bool, weight: try c.next())
                x.task = task
                return x
            }
        }
    }

    public func validatedInputs() throws -> [ValidatedInput] {
        try read { r in
            try r.rows("""
                WITH latest AS (
                    SELECT inputHash, MAX(id) AS answerId, MIN(id) AS firstId
                    FROM oracle_answer WHERE task = \(r.task) AND label IS NOT NULL GROUP BY inputHash)
                SELECT a.inputHash, a.label,
                       COALESCE(a.input, (SELECT input FROM execution WHERE id = a.executionId),
                                (SELECT input FROM execution WHERE task = \(r.task) AND inputHash = a.inputHash ORDER BY id DESC LIMIT 1)) AS input
                FROM latest JOIN oracle_answer a ON a.id = latest.answerId
                ORDER BY latest.firstId
                """).compactMap { row in
                let (h, l, input) = try row.decode((String, String, String?).self)
                return input.map { ValidatedInput(inputHash: h, input: $0, label: l) }
            }
        }
    }

    public func ledgerTotals(run: Int64?) throws -> [String: LedgerTotals] {
        try read { r in
            var out: [String: LedgerTotals] = [:]
            for row in try r.rows("""
                SELECT purpose, COUNT(*), COUNT(*) FILTER (WHERE outcome != 'success'), COUNT(*) FILTER (WHERE cached),
                       COALESCE(SUM(inputTokens), 0)::BIGINT, COALESCE(SUM(outputTokens), 0)::BIGINT,
                       COALESCE(SUM(cost), 0)::DOUBLE PRECISION, COUNT(*) FILTER (WHERE cost IS NULL)
                FROM ledger WHERE task = \(r.task) AND (\(run)::BIGINT IS NULL OR runId = \(run)) GROUP BY purpose
                """) {
                var c = Cells(row)
                let purpose: String = try c.next()
                var t = LedgerTotals()
                t.calls = Int(try c.next() as Int64); t.failures = Int(try c.next() as Int64); t.cachedCalls = Int(try c.next() as Int64)
                t.inputTokens = Int(try c.next() as Int64); t.outputTokens = Int(try c.next() as Int64)
                t.cost = try c.next(); t.unpricedCalls = Int(try c.next() as Int64)
                out[purpose] = t
            }
            return out
        }
    }

    public func ledger(run: Int64?) throws -> [LedgerEntry] {
        try read { r in
            try r.rows("""
                SELECT id, task, runId, provider, model, purpose, inputTokens, outputTokens, estimated, latency, cost, outcome, cached, time
                FROM ledger WHERE task = \(r.task) AND (\(run)::BIGINT IS NULL OR runId = \(run)) ORDER BY id
                """).map { row in
                var c = Cells(row)
                let id: Int64 = try c.next(), task: String = try c.next()
                var l = LedgerEntry(id: id, runId: try c.next(), provider: try c.next(), model: try c.next(), purpose: try c.next(),
                                    inputTokens: Int(try c.next() as Int64), outputTokens: Int(try c.next() as Int64), estimated: try c.next(),
                                    latency: try c.next(), cost: try c.next(), outcome: try c.next(), cached: try c.next(), time: try c.next())
                l.task = task
                return l
            }
        }
    }

    public func escalations(status: EscalationStatus?) throws -> [Escalation] {
        try read { try $0.escalations("WHERE task = \($0.task) AND (\(status?.rawValue)::TEXT IS NULL OR status = \(status?.rawValue)) ORDER BY id") }
    }

    public func escalation(id: Int64) throws -> Escalation? {
        try read { try $0.escalations("WHERE task = \($0.task) AND id = \(id)").first }
    }

    // MARK: - Writing (each call one transaction)

    func write<T>(_ body: (PGWriter) throws -> T) throws -> T {
        try pool.transaction { conn in try body(PGWriter(r: PGReader(pool: pool, conn: conn, task: task))) }
    }

    public func addVersion(_ version: ProgramVersion) throws -> ProgramVersion { try write { try $0.insert(version) } }

    public func setStatus(of versionId: Int64, to status: VersionStatus, canaryShare: Double?, note: String?) throws {
        try write { try $0.setStatus(versionId, status, canaryShare: canaryShare, note: note) }
    }

    public func recordRollout(_ rollout: Rollout) throws -> Rollout { try write { try $0.recordRollout(rollout) } }

    public func startRun(streamPath: String, config: String, at time: Double) throws -> Run {
        try write { w in
            let id = try w.r.id("INSERT INTO run (taskName, streamPath, startedAt, config) VALUES (\(task), \(streamPath), \(time), \(config)) RETURNING id")
            return Run(id: id, taskName: task, streamPath: streamPath, startedAt: time, config: config)
        }
    }

    public func finishRun(runId: Int64, at time: Double) throws {
        try write { w in
            let rows = try w.r.rows("UPDATE run SET finishedAt = \(time) WHERE id = \(runId) AND taskName = \(task) RETURNING id")
            if rows.isEmpty { throw StoreError.notFound("run \(runId)") }
        }
    }

    public func commit(_ commit: StoreCommit) throws -> CommitResult { try write { try $0.commit(commit) } }

    public func recordLedger(_ entries: [LedgerEntry]) throws { try write { w in for e in entries { try w.insert(e) } } }

    public func openEscalation(_ escalation: Escalation) throws -> Escalation {
        try write { w in var e = escalation; e.task = task; e.id = try w.insert(e); return e }
    }

    public func resolveEscalation(id: Int64, versionId: Int64?, at time: Double) throws -> Escalation {
        try write { try $0.resolveEscalation(id, versionId: versionId, at: time) }
    }

    public func resolveEscalation(id: Int64, source: String, base: Int64?, provenance: String, evidence: String) throws -> ProgramVersion {
        try write { try $0.resolveWithProgram(id, source: source, base: base, provenance: provenance, evidence: evidence) }
    }
}

/// Reads on one connection (inside or outside a transaction), scoped to the task.
struct PGReader {
    let pool: PGPool
    let conn: PostgresConnection
    let task: String

    func rows(_ q: PostgresQuery) throws -> [PostgresRow] { try pool.run(conn, q) }

    /// The id an `INSERT ... RETURNING id` gave.
    func id(_ q: PostgresQuery) throws -> Int64 {
        guard let row = try rows(q).first else { throw StoreError.notFound("the inserted row") }
        return try row.decode(Int64.self)
    }

    func versions(_ filter: PostgresQuery) throws -> [ProgramVersion] {
        try rows(PostgresQuery(unsafeSQL: "SELECT id, task, hash, source, parentId, provenance, status, createdAt, canaryShare, note FROM program_version " + filter.sql,
                               binds: filter.binds)).map { row in
            var c = Cells(row)
            let id: Int64 = try c.next(), task: String = try c.next()
            var v = ProgramVersion(id: id, hash: try c.next(), source: try c.next(), parentId: try c.next(), provenance: try c.next(),
                                   status: try c.enumValue(), createdAt: try c.next(), canaryShare: try c.next(), note: try c.next())
            v.task = task
            return v
        }
    }

    func runs(_ filter: PostgresQuery) throws -> [Run] {
        try rows(PostgresQuery(unsafeSQL: "SELECT id, taskName, streamPath, startedAt, config, cursor, finishedAt, state FROM run " + filter.sql,
                               binds: filter.binds)).map { row in
            var c = Cells(row)
            return Run(id: try c.next(), taskName: try c.next(), streamPath: try c.next(), startedAt: try c.next(), config: try c.next(),
                       cursor: Int(try c.next() as Int64), finishedAt: try c.next(), state: try c.next())
        }
    }

    func answers(_ filter: PostgresQuery) throws -> [OracleAnswer] {
        try rows(PostgresQuery(unsafeSQL: "SELECT id, task, executionId, inputHash, label, raw, source, cost, time, input FROM oracle_answer " + filter.sql,
                               binds: filter.binds)).map { row in
            var c = Cells(row)
            let id: Int64 = try c.next(), task: String = try c.next()
            var a = OracleAnswer(id: id, executionId: try c.next(), inputHash: try c.next(), label: try c.next(), raw: try c.next(),
                                 source: try c.enumValue(), cost: try c.next(), time: try c.next(), input: try c.next())
            a.task = task
            return a
        }
    }

    func escalations(_ filter: PostgresQuery) throws -> [Escalation] {
        try rows(PostgresQuery(unsafeSQL: """
            SELECT id, task, runId, status, reason, createdAt, resolvedAt, ticketMarkdown, ticketJSON, resolutionVersionId FROM escalation
            """ + " " + filter.sql, binds: filter.binds)).map { row in
            var c = Cells(row)
            let id: Int64 = try c.next(), task: String = try c.next()
            var e = Escalation(id: id, runId: try c.next(), status: try c.enumValue(), reason: try c.next(), createdAt: try c.next(),
                               resolvedAt: try c.next(), ticketMarkdown: try c.next(), ticketJSON: try c.next(), resolutionVersionId: try c.next())
            e.task = task
            return e
        }
    }
}

/// The cells of a row, decoded left to right.
struct Cells {
    let row: PostgresRandomAccessRow
    var i = 0
    init(_ r: PostgresRow) { row = r.makeRandomAccess() }

    mutating func next<T: PostgresDecodable>() throws -> T {
        defer { i += 1 }
        return try row[i].decode(T.self)
    }

    mutating func enumValue<E: RawRepresentable>() throws -> E where E.RawValue == String {
        let s: String = try next()
        guard let e = E(rawValue: s) else { throw StoreError.invalidTransition("unknown value \(s) in column \(i) of the store") }
        return e
    }
}
