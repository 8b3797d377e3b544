import Foundation

/// The primitive writes of one backend transaction. The domain operations built on them — a
/// step's commit, a promotion's compare-and-swap, a resolution by hand — are written once, in the
/// extension below, so SQLite and PostgreSQL cannot drift apart in what they mean. Every method
/// joins the transaction the backend opened; rows are scoped to `task`.
public protocol StoreTransaction {
    var task: String { get }
    /// The run's cursor, the run's row locked for the rest of the transaction; nil when the task
    /// has no such run.
    func lockedCursor(run: Int64) throws -> Int?
    /// Throws `StoreError.notLeader` unless `holder` holds the task's lease (locked until commit).
    func requireLease(_ holder: String) throws
    /// Serialises promotions of the task until the commit (a backend of one process: nothing).
    func lockPromotions() throws
    func version(_ id: Int64) throws -> ProgramVersion?
    /// The task's active version (the latest, should there be several).
    func activeVersionId() throws -> Int64?
    func insert(_ v: ProgramVersion) throws -> ProgramVersion
    func insert(_ e: Execution) throws -> Int64
    func insert(_ a: OracleAnswer) throws
    func insert(_ c: Comparison) throws
    func insert(_ l: LedgerEntry) throws
    func insert(_ p: TimelinePoint) throws
    func insert(_ r: Rollout) throws -> Rollout
    func insert(_ e: Escalation) throws -> Int64
    func setTicket(escalation: Int64, markdown: String, json: String) throws
    func updateStatus(_ id: Int64, _ status: VersionStatus, canaryShare: Double?, note: String?) throws -> Bool
    /// Every active version of the task but `except` is retired.
    func retireActive(except: Int64) throws
    func rejectInFlight(except: Int64, note: String) throws
    func escalation(_ id: Int64) throws -> Escalation?
    func markResolved(_ id: Int64, versionId: Int64?, at time: Double) throws
    func addCounter(run: Int64, key: String, delta: Double) throws
    func advance(run: Int64, cursor: Int, state: String?) throws
    /// Tells the other processes of the task that a rollout step was recorded (on commit).
    func announceRollout() throws
}

extension StoreTransaction {
    public func setStatus(_ id: Int64, _ status: VersionStatus, canaryShare: Double?, note: String?) throws {
        guard try updateStatus(id, status, canaryShare: canaryShare, note: note) else {
            throw StoreError.notFound("version \(id) of task \(task)")
        }
    }

    /// Inserts the rollout step and moves the candidate's status with it: shadow → shadow,
    /// canary → canary (at `share`), promoted → active (share 1; every other active version of the
    /// task is retired), rolled_back → rolled_back, rejected → rejected. A promotion is a
    /// compare-and-swap: its base must still be the active version, and a first version (no
    /// base) is made only while the task has none.
    public func recordRollout(_ rollout: Rollout) throws -> Rollout {
        if rollout.stage == .promoted {
            try lockPromotions()
            let active = try activeVersionId()
            if let base = rollout.baseId, let active, active != base {
                throw StoreError.invalidTransition("v\(rollout.candidateId) was to replace v\(base), but v\(active) is the active version now; nothing was changed")
            }
            if rollout.baseId == nil, let active {
                throw StoreError.invalidTransition("v\(rollout.candidateId) was to be the first version, but v\(active) is the active version; nothing was changed")
            }
        }
        guard try version(rollout.candidateId) != nil else { throw StoreError.notFound("version \(rollout.candidateId) of task \(task)") }
        let r = try insert(rollout)
        switch r.stage {
        case .shadow: try setStatus(r.candidateId, .shadow, canaryShare: 0, note: nil)
        case .canary: try setStatus(r.candidateId, .canary, canaryShare: r.share, note: nil)
        case .promoted:
            try retireActive(except: r.candidateId)
            try setStatus(r.candidateId, .active, canaryShare: 1, note: nil)
        case .rolledBack: try setStatus(r.candidateId, .rolledBack, canaryShare: 0, note: nil)
        case .rejected: try setStatus(r.candidateId, .rejected, canaryShare: 0, note: nil)
        }
        try announceRollout()
        return r
    }

    public func resolveEscalation(_ id: Int64, versionId: Int64?, at time: Double) throws -> Escalation {
        guard var e = try escalation(id) else { throw StoreError.notFound("escalation \(id) of task \(task)") }
        guard e.status == .open else { throw StoreError.invalidTransition("escalation \(id) is already resolved") }
        try markResolved(id, versionId: versionId, at: time)
        e.status = .resolved
        e.resolvedAt = time
        e.resolutionVersionId = versionId
        return e
    }

    /// See `TaskStore.resolveEscalation(id:source:base:provenance:evidence:)`.
    public func resolveWithProgram(_ id: Int64, source: String, base: Int64?, provenance: String, evidence: String) throws -> ProgramVersion {
        var v = try insert(ProgramVersion(source: source, parentId: base, provenance: provenance, status: .candidate))
        _ = try recordRollout(Rollout(candidateId: v.id!, baseId: base, stage: .promoted, share: 1, evidence: evidence))
        _ = try resolveEscalation(id, versionId: v.id, at: Store.now())
        try rejectInFlight(except: v.id!, note: "superseded: escalation #\(id) was resolved with v\(v.id!)")
        v.status = .active
        v.canaryShare = 1
        return v
    }

    /// See `StoreCommit`.
    public func commit(_ c: StoreCommit) throws -> CommitResult {
        guard let stored = try lockedCursor(run: c.runId) else { throw StoreError.notFound("run \(c.runId) of task \(task)") }
        guard c.cursor >= stored else { throw StoreError.batchOutOfOrder(runId: c.runId, storedCursor: stored, newCursor: c.cursor, seq: nil) }
        if let me = c.leader { try requireLease(me) }
        var result = CommitResult()
        for w in c.writes {
            switch w {
            case .rollout(let r): _ = try recordRollout(r)
            case .status(let id, let status, let share, let note): try setStatus(id, status, canaryShare: share, note: note)
            case .rejectInFlight(let except, let note): try rejectInFlight(except: except, note: note)
            case .answer(let a): try insert(a)
            case .ledger(let entries): for e in entries { try insert(e) }
            case .escalation(let n):
                let id = try insert(Escalation(runId: n.runId, status: .open, reason: n.reason, createdAt: n.createdAt))
                let (md, json) = n.ticket(id)
                try setTicket(escalation: id, markdown: md, json: json)
                result.escalationIds.append(id)
            }
        }
        for item in c.items {
            let e = item.execution
            guard e.runId == c.runId, e.seq >= stored, e.seq < c.cursor else {
                throw StoreError.batchOutOfOrder(runId: c.runId, storedCursor: stored, newCursor: c.cursor, seq: e.seq)
            }
            let id = try insert(e)
            result.executionIds.append(id)
            for var a in item.answers { a.executionId = id; try insert(a) }
            for var x in item.comparisons { x.executionId = id; try insert(x) }
        }
        for a in c.answers { try insert(a) }
        for l in c.ledger { try insert(l) }
        for p in c.points { try insert(p) }
        for (k, d) in c.counters.sorted(by: { $0.key < $1.key }) { try addCounter(run: c.runId, key: k, delta: d) }
        try advance(run: c.runId, cursor: c.cursor, state: c.state)
        return result
    }
}
