import GRDB

// Readers. Each is one read transaction, so it sees a committed state only.
extension Store {
    // MARK: Versions

    /// All versions, oldest first.
    public func versions() throws -> [ProgramVersion] {
        try queue.read { try ProgramVersion.order(Column("id")).fetchAll($0) }
    }

    public func versions(status: VersionStatus) throws -> [ProgramVersion] {
        try queue.read { try ProgramVersion.filter(Column("status") == status).order(Column("id")).fetchAll($0) }
    }

    public func version(id: Int64) throws -> ProgramVersion? {
        try queue.read { try ProgramVersion.fetchOne($0, key: id) }
    }

    /// The latest version with this source hash.
    public func version(hash: String) throws -> ProgramVersion? {
        try queue.read { try ProgramVersion.filter(Column("hash") == hash).order(Column("id").desc).fetchOne($0) }
    }

    /// The active version (the latest, should there be several).
    public func activeVersion() throws -> ProgramVersion? {
        try queue.read { try ProgramVersion.filter(Column("status") == VersionStatus.active).order(Column("id").desc).fetchOne($0) }
    }

    /// The version and its ancestors through `parentId`: the version first, the root last.
    public func lineage(of id: Int64) throws -> [ProgramVersion] {
        try queue.read { db in
            var chain: [ProgramVersion] = []
            var seen: Set<Int64> = []
            var next: Int64? = id
            while let cur = next, seen.insert(cur).inserted, let v = try ProgramVersion.fetchOne(db, key: cur) {
                chain.append(v)
                next = v.parentId
            }
            return chain
        }
    }

    // MARK: Runs

    public func run(id: Int64) throws -> Run? {
        try queue.read { try Run.fetchOne($0, key: id) }
    }

    /// The latest run of a task (what `--resume` continues).
    public func latestRun(task: String) throws -> Run? {
        try queue.read { try Run.filter(Column("taskName") == task).order(Column("id").desc).fetchOne($0) }
    }

    public func runs() throws -> [Run] {
        try queue.read { try Run.order(Column("id")).fetchAll($0) }
    }

    /// The run's counters (absent keys are 0).
    public func counters(run runId: Int64) throws -> [String: Double] {
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM counter WHERE runId = ?", arguments: [runId])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["key"] as String, $0["value"] as Double) })
        }
    }

    public func counter(run runId: Int64, key: String) throws -> Double {
        try queue.read {
            try Double.fetchOne($0, sql: "SELECT value FROM counter WHERE runId = ? AND key = ?", arguments: [runId, key]) ?? 0
        }
    }

    // MARK: Executions, answers, comparisons

    /// The run's stored executions in stream order.
    public func executions(run runId: Int64) throws -> [Execution] {
        try queue.read { try Execution.filter(Column("runId") == runId).order(Column("seq")).fetchAll($0) }
    }

    public func executionCount(run runId: Int64) throws -> Int {
        try queue.read { try Execution.filter(Column("runId") == runId).fetchCount($0) }
    }

    /// Oracle answers for an input, oldest first.
    public func answers(inputHash: String) throws -> [OracleAnswer] {
        try queue.read { try OracleAnswer.filter(Column("inputHash") == inputHash).order(Column("id")).fetchAll($0) }
    }

    /// The latest valid oracle label for an input, if any (to answer from the store, not the LLM).
    public func latestLabel(inputHash: String) throws -> String? {
        try queue.read {
            try String.fetchOne($0, sql: """
                SELECT label FROM oracle_answer WHERE inputHash = ? AND label IS NOT NULL ORDER BY id DESC LIMIT 1
                """, arguments: [inputHash])
        }
    }

    /// Comparisons, oldest first; all of them, or one version's.
    public func comparisons(version versionId: Int64? = nil) throws -> [Comparison] {
        try queue.read { db in
            var q = Comparison.order(Column("id"))
            if let versionId { q = q.filter(Column("versionId") == versionId) }
            return try q.fetchAll(db)
        }
    }

    /// Every input the oracle labeled validly, once per input hash, with the latest valid label;
    /// the input text comes from the answer's execution, else the latest execution with that hash
    /// (answers with no input text stored anywhere are left out). Ordered by first validation.
    public func validatedInputs() throws -> [ValidatedInput] {
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: """
                WITH latest AS (
                    SELECT inputHash, MAX(id) AS answerId, MIN(id) AS firstId
                    FROM oracle_answer WHERE label IS NOT NULL GROUP BY inputHash)
                SELECT a.inputHash, a.label,
                       COALESCE(a.input, (SELECT input FROM execution WHERE id = a.executionId),
                                (SELECT input FROM execution WHERE inputHash = a.inputHash ORDER BY id DESC LIMIT 1)) AS input
                FROM latest JOIN oracle_answer a ON a.id = latest.answerId
                ORDER BY latest.firstId
                """)
            return rows.compactMap { row in
                guard let input: String = row["input"] else { return nil }
                return ValidatedInput(inputHash: row["inputHash"], input: input, label: row["label"])
            }
        }
    }

    // MARK: Ledger

    /// Ledger sums by purpose, over one run or (nil) the whole store.
    public func ledgerTotals(run runId: Int64? = nil) throws -> [String: LedgerTotals] {
        try queue.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT purpose, COUNT(*) AS calls,
                       SUM(outcome != 'success') AS failures, SUM(cached) AS cachedCalls,
                       SUM(inputTokens) AS inputTokens, SUM(outputTokens) AS outputTokens,
                       TOTAL(cost) AS cost, SUM(cost IS NULL) AS unpriced
                FROM ledger WHERE (?1 IS NULL OR runId = ?1) GROUP BY purpose
                """, arguments: [runId])
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

    /// The run's (or the store's) ledger, oldest first.
    public func ledger(run runId: Int64? = nil) throws -> [LedgerEntry] {
        try queue.read { db in
            var q = LedgerEntry.order(Column("id"))
            if let runId { q = q.filter(Column("runId") == runId) }
            return try q.fetchAll(db)
        }
    }

    // MARK: Rollouts and escalations

    /// Rollout steps, oldest first; all of them, or one candidate's.
    public func rollouts(candidate candidateId: Int64? = nil) throws -> [Rollout] {
        try queue.read { db in
            var q = Rollout.order(Column("id"))
            if let candidateId { q = q.filter(Column("candidateId") == candidateId) }
            return try q.fetchAll(db)
        }
    }

    /// Escalations, oldest first; all of them or those with a status.
    public func escalations(status: EscalationStatus? = nil) throws -> [Escalation] {
        try queue.read { db in
            var q = Escalation.order(Column("id"))
            if let status { q = q.filter(Column("status") == status) }
            return try q.fetchAll(db)
        }
    }

    public func escalation(id: Int64) throws -> Escalation? {
        try queue.read { try Escalation.fetchOne($0, key: id) }
    }
}
