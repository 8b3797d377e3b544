import GRDB

// Readers. Each is one read transaction, so it sees a committed state only; each is scoped to
// the store's task.
extension SQLiteStore {
    private var mine: SQLExpression { Column("task") == task }

    // MARK: Versions

    public func versions() throws -> [ProgramVersion] {
        try queue.read { try ProgramVersion.filter(mine).order(Column("id")).fetchAll($0) }
    }

    public func version(id: Int64) throws -> ProgramVersion? {
        try queue.read { try ProgramVersion.filter(mine && Column("id") == id).fetchOne($0) }
    }

    public func activeVersion() throws -> ProgramVersion? {
        try queue.read { try ProgramVersion.filter(mine && Column("status") == VersionStatus.active).order(Column("id").desc).fetchOne($0) }
    }

    public func versionsInPlay() throws -> [ProgramVersion] {
        try queue.read {
            try ProgramVersion.filter(mine && [VersionStatus.active, .shadow, .canary].contains(Column("status"))).order(Column("id")).fetchAll($0)
        }
    }

    public func agreementSums(version: Int64, since: Double?, excludingRun: Int64?) throws -> AgreementSums {
        try queue.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT TOTAL(c.weight * c.agree), TOTAL(c.weight), TOTAL(c.weight * c.weight), TOTAL(c.weight * c.weight * c.agree),
                       COUNT(*), TOTAL(c.agree)
                FROM comparison c JOIN execution e ON e.id = c.executionId
                WHERE c.task = ?1 AND c.versionId = ?2 AND c.weight > 0 AND (?3 IS NULL OR e.time >= ?3) AND (?4 IS NULL OR e.runId != ?4)
                """, arguments: [task, version, since, excludingRun]) else { return AgreementSums() }
            return AgreementSums(agreeWeight: row[0], weight: row[1], weightSquared: row[2], agreeWeightSquared: row[3],
                                 count: row[4], agreements: Int(row[5] as Double))
        }
    }

    public func oracleCallsElsewhere(afterId: Int64, since: Double, excludingRun: Int64, limit: Int) throws -> [OracleCall] {
        try queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.id, a.time, a.cost FROM oracle_answer a JOIN execution e ON e.id = a.executionId
                WHERE a.task = ? AND a.id > ? AND a.time >= ? AND e.runId != ? AND a.source IN ('llm', 'labels')
                ORDER BY a.id LIMIT ?
                """, arguments: [task, afterId, since, excludingRun, limit]).map { OracleCall(id: $0[0], time: $0[1], cost: $0[2]) }
        }
    }

    public func rollouts(candidate candidateId: Int64?) throws -> [Rollout] {
        try queue.read { db in
            var q = Rollout.filter(mine).order(Column("id"))
            if let candidateId { q = q.filter(Column("candidateId") == candidateId) }
            return try q.fetchAll(db)
        }
    }

    // MARK: Runs

    public func run(id: Int64) throws -> Run? {
        try queue.read { try Run.filter(Column("id") == id && Column("taskName") == task).fetchOne($0) }
    }

    public func latestRun() throws -> Run? {
        try queue.read { try Run.filter(Column("taskName") == task).order(Column("id").desc).fetchOne($0) }
    }

    public func runs() throws -> [Run] {
        try queue.read { try Run.filter(Column("taskName") == task).order(Column("id")).fetchAll($0) }
    }

    public func counters(run runId: Int64) throws -> [String: Double] {
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT key, value FROM counter WHERE runId = ? AND runId IN (SELECT id FROM run WHERE taskName = ?)
                """, arguments: [runId, task])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["key"] as String, $0["value"] as Double) })
        }
    }

    public func timeline(run runId: Int64) throws -> [TimelinePoint] {
        try queue.read { try TimelinePoint.filter(mine && Column("runId") == runId).order(Column("id")).fetchAll($0) }
    }

    // MARK: Executions, answers, comparisons

    public func executions(run runId: Int64) throws -> [Execution] {
        try queue.read { try Execution.filter(mine && Column("runId") == runId).order(Column("seq")).fetchAll($0) }
    }

    public func answers(inputHash: String) throws -> [OracleAnswer] {
        try queue.read { try OracleAnswer.filter(mine && Column("inputHash") == inputHash).order(Column("id")).fetchAll($0) }
    }

    public func latestLabels(inputHashes: [String]) throws -> [String: String] {
        guard !inputHashes.isEmpty else { return [:] }
        return try queue.read { db in
            var out: [String: String] = [:]
            // SQLite allows 32,766 parameters; a step's lookups stay well below in chunks of 500.
            for start in stride(from: 0, to: inputHashes.count, by: 500) {
                let chunk = Array(Set(inputHashes[start..<min(start + 500, inputHashes.count)]))
                let marks = chunk.map { _ in "?" }.joined(separator: ",")
                let rows = try Row.fetchAll(db, sql: """
                    SELECT a.inputHash, a.label FROM oracle_answer a
                    JOIN (SELECT inputHash, MAX(id) AS id FROM oracle_answer
                          WHERE task = ? AND label IS NOT NULL AND inputHash IN (\(marks)) GROUP BY inputHash) latest
                      ON a.id = latest.id
                    """, arguments: StatementArguments([task] + chunk))
                for r in rows { out[r["inputHash"]] = r["label"] }
            }
            return out
        }
    }

    public func comparisons(version versionId: Int64?) throws -> [Comparison] {
        try queue.read { db in
            var q = Comparison.filter(mine).order(Column("id"))
            if let versionId { q = q.filter(Column("versionId") == versionId) }
            return try q.fetchAll(db)
        }
    }

    public func validatedInputs() throws -> [ValidatedInput] {
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: """
                WITH latest AS (
                    SELECT inputHash, MAX(id) AS answerId, MIN(id) AS firstId
                    FROM oracle_answer WHERE task = ?1 AND label IS NOT NULL GROUP BY inputHash)
                SELECT a.inputHash, a.label,
                       COALESCE(a.input, (SELECT input FROM execution WHERE id = a.executionId),
                                (SELECT input FROM execution WHERE task = ?1 AND inputHash = a.inputHash ORDER BY id DESC LIMIT 1)) AS input
                FROM latest JOIN oracle_answer a ON a.id = latest.answerId
                ORDER BY latest.firstId
                """, arguments: [task])
            return rows.compactMap { row in
                guard let input: String = row["input"] else { return nil }
                return ValidatedInput(inputHash: row["inputHash"], input: input, label: row["label"])
            }
        }
    }

    // MARK: Ledger

    public func ledgerTotals(run runId: Int64?) throws -> [String: LedgerTotals] {
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT purpose, COUNT(*) AS calls,
                       SUM(outcome != 'success') AS failures, SUM(cached) AS cachedCalls,
                       SUM(inputTokens) AS inputTokens, SUM(outputTokens) AS outputTokens,
                       TOTAL(cost) AS cost, SUM(cost IS NULL) AS unpriced
                FROM ledger WHERE task = ?2 AND (?1 IS NULL OR runId = ?1) GROUP BY purpose
                """, arguments: [runId, task])
            var out: [String: LedgerTotals] = [:]
            for row in rows {
                var t = LedgerTotals()
                t.calls = row["calls"]; t.failures = row["failures"]; t.cachedCalls = row["cachedCalls"]
                t.inputTokens = row["inputTokens"]; t.outputTokens = row["outputTokens"]
                t.cost = row["cost"]; t.unpricedCalls = row["unpriced"]
                out[row["purpose"]] = t
            }
            return out
        }
    }

    public func ledger(run runId: Int64?) throws -> [LedgerEntry] {
        try queue.read { db in
            var q = LedgerEntry.filter(mine).order(Column("id"))
            if let runId { q = q.filter(Column("runId") == runId) }
            return try q.fetchAll(db)
        }
    }

    // MARK: Escalations

    public func escalations(status: EscalationStatus?) throws -> [Escalation] {
        try queue.read { db in
            var q = Escalation.filter(mine).order(Column("id"))
            if let status { q = q.filter(Column("status") == status) }
            return try q.fetchAll(db)
        }
    }

    public func escalation(id: Int64) throws -> Escalation? {
        try queue.read { try Escalation.filter(mine && Column("id") == id).fetchOne($0) }
    }
}
