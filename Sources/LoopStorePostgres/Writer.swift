import Foundation
import PostgresNIO
import LoopStore

/// The writes of one transaction, every row scoped to the task.
struct PGWriter {
    let r: PGReader
    var task: String { r.task }

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

    func insert(_ e: Execution) throws -> Execution {
        var e = e
        e.task = task
        e.id = try r.id("""
            INSERT INTO execution (task, runId, seq, input, inputHash, output, confidence, rule, versionId, time, inclusionProbability, stratum, tier, requestId)
            VALUES (\(task), \(e.runId), \(Int64(e.seq)), \(e.input), \(e.inputHash), \(e.output), \(e.confidence), \(e.rule), \(e.versionId), \(e.time),
                    \(e.inclusionProbability), \(e.stratum), \(Int32(e.tier)), \(e.requestId))
            RETURNING id
            """)
        return e
    }

    func insert(_ a: OracleAnswer) throws -> OracleAnswer {
        var a = a
        a.task = task
        a.id = try r.id("""
            INSERT INTO oracle_answer (task, executionId, inputHash, label, raw, source, cost, time, input)
            VALUES (\(task), \(a.executionId), \(a.inputHash), \(a.label), \(a.raw), \(a.source.rawValue), \(a.cost), \(a.time), \(a.input))
            RETURNING id
            """)
        return a
    }

    func insert(_ c: Comparison) throws -> Comparison {
        var c = c
        c.task = task
        c.id = try r.id("""
            INSERT INTO comparison (task, executionId, versionId, programLabel, oracleLabel, agree, weight)
            VALUES (\(task), \(c.executionId), \(c.versionId), \(c.programLabel), \(c.oracleLabel), \(c.agree), \(c.weight))
            RETURNING id
            """)
        return c
    }

    func insert(_ l: LedgerEntry) throws -> LedgerEntry {
        var l = l
        l.task = task
        l.id = try r.id("""
            INSERT INTO ledger (task, runId, provider, model, purpose, inputTokens, outputTokens, estimated, latency, cost, outcome, cached, time)
            VALUES (\(task), \(l.runId), \(l.provider), \(l.model), \(l.purpose), \(Int64(l.inputTokens)), \(Int64(l.outputTokens)), \(l.estimated),
                    \(l.latency), \(l.cost), \(l.outcome), \(l.cached), \(l.time))
            RETURNING id
            """)
        return l
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

    func insert(_ e: Escalation) throws -> Escalation {
        var e = e
        e.task = task
        e.id = try r.id("""
            INSERT INTO escalation (task, runId, status, reason, createdAt, resolvedAt, ticketMarkdown, ticketJSON, resolutionVersionId)
            VALUES (\(task), \(e.runId), \(e.status.rawValue), \(e.reason), \(e.createdAt), \(e.resolvedAt), \(e.ticketMarkdown), \(e.ticketJSON),
                    \(e.resolutionVersionId))
            RETURNING id
            """)
        return e
    }

    func insert(_ p: TimelinePoint) throws {
        try r.rows("""
            INSERT INTO timeline_point (task, runId, requests, agreement, lower, upper, samplingRate, cost, allLLMCost, versionId, time)
            VALUES (\(task), \(p.runId), \(Int64(p.requests)), \(p.agreement), \(p.lower), \(p.upper), \(p.samplingRate), \(p.cost), \(p.allLLMCost),
                    \(p.versionId), \(p.time))
            """)
    }

    func setStatus(_ id: Int64, _ status: VersionStatus, canaryShare: Double?, note: String?) throws {
        let rows = try r.rows("""
            UPDATE program_version SET status = \(status.rawValue), canaryShare = COALESCE(\(canaryShare)::DOUBLE PRECISION, canaryShare),
                   note = COALESCE(\(note)::TEXT, note)
            WHERE id = \(id) AND task = \(task) RETURNING id
            """)
        if rows.isEmpty { throw StoreError.notFound("version \(id) of task \(task)") }
    }

    func rejectInFlight(except id: Int64, note: String) throws {
        try r.rows("""
            UPDATE program_version SET status = 'rejected', canaryShare = 0, note = \(note)
            WHERE task = \(task) AND status IN ('candidate', 'shadow', 'canary') AND id != \(id)
            """)
    }

    /// Inserts the rollout step and moves the candidate's status with it (as the SQLite store).
    /// A promotion locks the task (a transaction-level advisory lock, so concurrent promotions
    /// by two replicas run one after the other), checks that the base is still the active
    /// version, and announces itself on `loopai_versions` when the transaction commits.
    func recordRollout(_ rollout: Rollout) throws -> Rollout {
        if rollout.stage == .promoted {
            try r.rows("SELECT pg_advisory_xact_lock(hashtext(\("loopai:" + task)))")
            let active = try r.rows("SELECT id FROM program_version WHERE task = \(task) AND status = 'active' ORDER BY id DESC LIMIT 1")
                .first.map { try $0.decode(Int64.self) }
            if let base = rollout.baseId, let active, active != base {
                throw StoreError.invalidTransition("v\(rollout.candidateId) was to replace v\(base), but v\(active) is the active version now; nothing was changed")
            }
            if rollout.baseId == nil, let active {
                // A first version (no base) only while the task has none: replicas starting together make one.
                throw StoreError.invalidTransition("v\(rollout.candidateId) was to be the first version, but v\(active) is the active version; nothing was changed")
            }
        }
        guard try !r.versions("WHERE id = \(rollout.candidateId) AND task = \(task)").isEmpty else {
            throw StoreError.notFound("version \(rollout.candidateId) of task \(task)")
        }
        let x = try insert(rollout)
        switch x.stage {
        case .shadow: try setStatus(x.candidateId, .shadow, canaryShare: 0, note: nil)
        case .canary: try setStatus(x.candidateId, .canary, canaryShare: x.share, note: nil)
        case .promoted:
            try r.rows("UPDATE program_version SET status = 'retired', canaryShare = 0 WHERE task = \(task) AND status = 'active' AND id != \(x.candidateId)")
            try setStatus(x.candidateId, .active, canaryShare: 1, note: nil)
        case .rolledBack: try setStatus(x.candidateId, .rolledBack, canaryShare: 0, note: nil)
        case .rejected: try setStatus(x.candidateId, .rejected, canaryShare: 0, note: nil)
        }
        // Delivered to the listening replicas when (and only if) the transaction commits.
        try r.rows("SELECT pg_notify(\(PostgresStore.versionsChannel), \(task))")
        return x
    }

    func resolveEscalation(_ id: Int64, versionId: Int64?, at time: Double) throws -> Escalation {
        guard var e = try r.escalations("WHERE id = \(id) AND task = \(task) FOR UPDATE").first else {
            throw StoreError.notFound("escalation \(id) of task \(task)")
        }
        guard e.status == .open else { throw StoreError.invalidTransition("escalation \(id) is already resolved") }
        e.status = .resolved
        e.resolvedAt = time
        e.resolutionVersionId = versionId
        try r.rows("UPDATE escalation SET status = 'resolved', resolvedAt = \(time), resolutionVersionId = \(versionId) WHERE id = \(id)")
        return e
    }

    func commit(_ c: StoreCommit) throws -> CommitResult {
        // The run's row is locked for the step: two writers of one run go one after the other.
        guard let stored = try r.rows("SELECT cursor FROM run WHERE id = \(c.runId) AND taskName = \(task) FOR UPDATE").first
            .map({ Int(try $0.decode(Int64.self)) }) else { throw StoreError.notFound("run \(c.runId) of task \(task)") }
        guard c.cursor >= stored else { throw StoreError.batchOutOfOrder(runId: c.runId, storedCursor: stored, newCursor: c.cursor, seq: nil) }
        if let me = c.leader {
            // Fencing: the lease row is locked for the rest of the transaction, so it cannot pass
            // to another replica between this check and the commit.
            let holds = try r.rows("""
                SELECT 1 FROM task_lease WHERE task = \(task) AND holder = \(me)
                AND expiresAt >= EXTRACT(EPOCH FROM clock_timestamp()) FOR UPDATE
                """)
            if holds.isEmpty { throw StoreError.notLeader(me) }
        }
        var result = CommitResult()
        for w in c.writes {
            switch w {
            case .rollout(let x): _ = try recordRollout(x)
            case .status(let id, let status, let share, let note): try setStatus(id, status, canaryShare: share, note: note)
            case .rejectInFlight(let except, let note): try rejectInFlight(except: except, note: note)
            case .answer(let a): _ = try insert(a)
            case .ledger(let entries): for e in entries { _ = try insert(e) }
            case .escalation(let n):
                let e = try insert(Escalation(runId: n.runId, status: .open, reason: n.reason, createdAt: n.createdAt))
                let (md, json) = n.ticket(e.id!)
                try r.rows("UPDATE escalation SET ticketMarkdown = \(md), ticketJSON = \(json) WHERE id = \(e.id!)")
                result.escalationIds.append(e.id!)
            }
        }
        for item in c.items {
            let e = item.execution
            guard e.runId == c.runId, e.seq >= stored, e.seq < c.cursor else {
                throw StoreError.batchOutOfOrder(runId: c.runId, storedCursor: stored, newCursor: c.cursor, seq: e.seq)
            }
            let id = try insert(e).id!
            result.executionIds.append(id)
            for var a in item.answers { a.executionId = id; _ = try insert(a) }
            for var x in item.comparisons { x.executionId = id; _ = try insert(x) }
        }
        for a in c.answers { _ = try insert(a) }
        for l in c.ledger { _ = try insert(l) }
        for p in c.points { try insert(p) }
        for (k, d) in c.counters.sorted(by: { $0.key < $1.key }) {
            try r.rows("""
                INSERT INTO counter (runId, key, value) VALUES (\(c.runId), \(k), \(d))
                ON CONFLICT (runId, key) DO UPDATE SET value = counter.value + excluded.value
                """)
        }
        try r.rows("UPDATE run SET cursor = \(Int64(c.cursor)), state = COALESCE(\(c.state)::TEXT, state) WHERE id = \(c.runId)")
        return result
    }
}
