import Foundation
import PostgresNIO
import LoopStore

/// The writes of one PostgreSQL transaction, every row scoped to the task. The domain operations
/// on top (commit, rollout, resolution) are `StoreTransaction`'s, shared with SQLite.
struct PGWriter: StoreTransaction {
    let r: PGReader
    var task: String { r.task }

    func lockedCursor(run id: Int64) throws -> Int? {
        // The run's row is locked for the step: two writers of one run go one after the other.
        try r.rows("SELECT cursor FROM run WHERE id = \(id) AND taskName = \(task) FOR UPDATE").first.map { Int(try $0.decode(Int64.self)) }
    }

    func requireLease(_ holder: String) throws {
        // Fencing: the lease row is locked for the rest of the transaction, so it cannot pass to
        // another replica between this check and the commit.
        let holds = try r.rows("""
            SELECT 1 FROM task_lease WHERE task = \(task) AND holder = \(holder)
            AND expiresAt >= EXTRACT(EPOCH FROM clock_timestamp()) FOR UPDATE
            """)
        if holds.isEmpty { throw StoreError.notLeader(holder) }
    }

    func lockPromotions() throws {
        // Two replicas promoting at once run one after the other: the second sees the first's result.
        try r.rows("SELECT pg_advisory_xact_lock(hashtext(\("loopai:" + task)))")
    }

    func version(_ id: Int64) throws -> ProgramVersion? { try r.versions("WHERE id = \(id) AND task = \(task)").first }

    func activeVersionId() throws -> Int64? {
        try r.rows("SELECT id FROM program_version WHERE task = \(task) AND status = 'active' ORDER BY id DESC LIMIT 1")
            .first.map { try $0.decode(Int64.self) }
    }

    func insert(_ v: ProgramVersion) throws -> ProgramVersion {
        var v = v
        v.task = task
        v.id = try r.id("""
            INSERT INTO program_version (task, hash, source, parentId, provenance, status, createdAt, canaryShare, note)
            VALUES (\(task), \(v.hash), \(v.source), \(v.parentId), \(v.provenance), \(v.status.rawValue), \(v.createdAt), \(v.canaryShare), \(v.note))
            RETURNING id
            """)
        return v
    }

    func insert(_ e: Execution) throws -> Int64 {
        try r.id("""
            INSERT INTO execution (task, runId, seq, input, inputHash, output, confidence, rule, versionId, time, inclusionProbability, stratum, tier, requestId)
            VALUES (\(task), \(e.runId), \(Int64(e.seq)), \(e.input), \(e.inputHash), \(e.output), \(e.confidence), \(e.rule), \(e.versionId), \(e.time),
                    \(e.inclusionProbability), \(e.stratum), \(Int32(e.tier)), \(e.requestId))
            RETURNING id
            """)
    }

    func insert(_ a: OracleAnswer) throws {
        try r.rows("""
            INSERT INTO oracle_answer (task, executionId, inputHash, label, raw, source, cost, time, input)
            VALUES (\(task), \(a.executionId), \(a.inputHash), \(a.label), \(a.raw), \(a.source.rawValue), \(a.cost), \(a.time), \(a.input))
            """)
    }

    func insert(_ c: Comparison) throws {
        try r.rows("""
            INSERT INTO comparison (task, executionId, versionId, programLabel, oracleLabel, agree, weight)
            VALUES (\(task), \(c.executionId), \(c.versionId), \(c.programLabel), \(c.oracleLabel), \(c.agree), \(c.weight))
            """)
    }

    func insert(_ l: LedgerEntry) throws {
        try r.rows("""
            INSERT INTO ledger (task, runId, provider, model, purpose, inputTokens, outputTokens, estimated, latency, cost, outcome, cached, time)
            VALUES (\(task), \(l.runId), \(l.provider), \(l.model), \(l.purpose), \(Int64(l.inputTokens)), \(Int64(l.outputTokens)), \(l.estimated),
                    \(l.latency), \(l.cost), \(l.outcome), \(l.cached), \(l.time))
            """)
    }

    func insert(_ p: TimelinePoint) throws {
        try r.rows("""
            INSERT INTO timeline_point (task, runId, requests, agreement, lower, upper, samplingRate, cost, allLLMCost, versionId, time)
            VALUES (\(task), \(p.runId), \(Int64(p.requests)), \(p.agreement), \(p.lower), \(p.upper), \(p.samplingRate), \(p.cost), \(p.allLLMCost),
                    \(p.versionId), \(p.time))
            """)
    }

    func insert(_ x: Rollout) throws -> Rollout {
        var x = x
        x.task = task
        x.id = try r.id("""
            INSERT INTO rollout (task, candidateId, baseId, stage, share, time, evidence)
            VALUES (\(task), \(x.candidateId), \(x.baseId), \(x.stage.rawValue), \(x.share), \(x.time), \(x.evidence))
            RETURNING id
            """)
        return x
    }

    func insert(_ e: Escalation) throws -> Int64 {
        try r.id("""
            INSERT INTO escalation (task, runId, status, reason, createdAt, resolvedAt, ticketMarkdown, ticketJSON, resolutionVersionId)
            VALUES (\(task), \(e.runId), \(e.status.rawValue), \(e.reason), \(e.createdAt), \(e.resolvedAt), \(e.ticketMarkdown), \(e.ticketJSON),
                    \(e.resolutionVersionId))
            RETURNING id
            """)
    }

    func setTicket(escalation id: Int64, markdown: String, json: String) throws {
        try r.rows("UPDATE escalation SET ticketMarkdown = \(markdown), ticketJSON = \(json) WHERE id = \(id)")
    }

    func updateStatus(_ id: Int64, _ status: VersionStatus, canaryShare: Double?, note: String?) throws -> Bool {
        !(try r.rows("""
            UPDATE program_version SET status = \(status.rawValue), canaryShare = COALESCE(\(canaryShare)::DOUBLE PRECISION, canaryShare),
                   note = COALESCE(\(note)::TEXT, note)
            WHERE id = \(id) AND task = \(task) RETURNING id
            """).isEmpty)
    }

    func retireActive(except id: Int64) throws {
        try r.rows("UPDATE program_version SET status = 'retired', canaryShare = 0 WHERE task = \(task) AND status = 'active' AND id != \(id)")
    }

    func rejectInFlight(except id: Int64, note: String) throws {
        try r.rows("""
            UPDATE program_version SET status = 'rejected', canaryShare = 0, note = \(note)
            WHERE task = \(task) AND status IN ('candidate', 'shadow', 'canary') AND id != \(id)
            """)
    }

    func escalation(_ id: Int64) throws -> Escalation? { try r.escalations("WHERE id = \(id) AND task = \(task) FOR UPDATE").first }

    func markResolved(_ id: Int64, versionId: Int64?, at time: Double) throws {
        try r.rows("UPDATE escalation SET status = 'resolved', resolvedAt = \(time), resolutionVersionId = \(versionId) WHERE id = \(id)")
    }

    func addCounter(run: Int64, key: String, delta: Double) throws {
        try r.rows("""
            INSERT INTO counter (runId, key, value) VALUES (\(run), \(key), \(delta))
            ON CONFLICT (runId, key) DO UPDATE SET value = counter.value + excluded.value
            """)
    }

    func advance(run: Int64, cursor: Int, state: String?) throws {
        try r.rows("UPDATE run SET cursor = \(Int64(cursor)), state = COALESCE(\(state)::TEXT, state) WHERE id = \(run)")
    }

    func announceRollout() throws {
        // Delivered to the listening replicas when (and only if) the transaction commits.
        try r.rows("SELECT pg_notify(\(PostgresStore.versionsChannel), \(task))")
    }
}
