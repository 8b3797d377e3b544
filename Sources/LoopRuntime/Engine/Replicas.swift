import Foundation
import LoopStore

/// Several processes serving one task from a shared store. Each replica serves, samples,
/// validates and commits its own run; the one holding the task's lease also decides (improvement,
/// shadow, canary, promotion, escalation). The others follow: at every step they read the
/// versions in play from the store and switch to them once compiled, the old snapshot answering
/// meanwhile. Canary routing hashes the request id, so a request gets the same version on every
/// replica at the same canary share.
extension TaskEngine {
    /// Renews or claims the lease, and follows the store's versions unless this replica leads.
    func coordinate() throws {
        guard let me = settings.replica else { return }
        let leads: Bool
        do { leads = try store.claimLeadership(holder: me, seconds: settings.leaseSeconds) }
        catch {
            // The store is out of reach: without a lease, decide nothing (serving goes on).
            if isLeader { log?("cannot renew the leadership (\(error)); deciding nothing until the store answers") }
            isLeader = false
            throw error
        }
        if leads != isLeader {
            event(state.activeVersion, leads ? "leading" : "following", leads ? "\(me) leads the task" : "\(me) follows the leader")
        }
        // A new leader starts from what the store holds; a follower keeps up with it.
        if !leads || !isLeader { try follow() }
        isLeader = leads
        try countOracleCallsElsewhere()
    }

    /// Puts the other replicas' oracle calls into this replica's budget windows, so that the
    /// calls-per-hour and money-per-day limits hold for the task as a whole (each replica learns
    /// of the others' calls within a step of their commit).
    func countOracleCallsElsewhere() throws {
        guard let runId = run.id else { return }
        let now = Store.now()
        while true {
            let calls = try store.oracleCallsElsewhere(afterId: oracleCallsSeen, since: now - OracleBudget.day, excludingRun: runId, limit: 5_000)
            guard let last = calls.last else { return }
            oracleCallsSeen = last.id
            // Recorded now (they are at most a step old), keeping the budget's clock monotonic.
            live.withLock { l in for c in calls { l.sampler.recordCallElsewhere(cost: c.cost, at: now) } }
            oracleCallsElsewhere += calls.count
            if calls.count < 5_000 { return }
        }
    }

    /// Adopts the store's active version and the candidate in shadow or canary (with its share),
    /// when another replica decided them.
    func follow() throws {
        let inPlay = try store.versionsInPlay()
        guard let active = inPlay.last(where: { $0.status == .active }), let activeId = active.id else { return }
        if activeId != state.activeVersion {
            // Compiled before the swap: requests keep the old snapshot until the new one is ready.
            let loaded = try LoadedProgram(versionId: activeId, source: active.source, name: "v\(activeId).loop")
            activeProgram = loaded
            state.candidate = nil
            setServing(candidate: nil, share: 0)
            Self.adopt(&state, active: activeId)
            live.withLock { $0.sampler.resetStatistics() }
            event(activeId, "followed", "v\(activeId) became active (decided by the leader)")
        }
        let flight = inPlay.last { $0.status == .shadow || $0.status == .canary }
        guard let v = flight, let id = v.id else {
            if let c = state.candidate {
                event(c.versionId, "followed", "v\(c.versionId) is no longer in play")
                state.candidate = nil
                setServing(candidate: nil, share: 0)
            }
            return
        }
        let stage: DriverState.Candidate.Stage = v.status == .canary ? .canary : .shadow
        let share = stage == .canary ? v.canaryShare : 0
        if state.candidate?.versionId != id {
            let loaded = try LoadedProgram(versionId: id, source: v.source, name: "v\(id).loop")
            var c = DriverState.Candidate(versionId: id, stage: stage, share: share, since: evidenceThrough, why: "followed from the store")
            c.step = canaryStep(share)
            state.candidate = c
            setServing(candidate: loaded, share: share)
            event(id, "followed", "v\(id) in \(stage.rawValue)" + (stage == .canary ? String(format: " at %.0f%%", share * 100) : ""))
        } else if var c = state.candidate, c.stage != stage || c.share != share {
            c.stage = stage
            c.share = share
            c.step = canaryStep(share)
            c.since = evidenceThrough
            state.candidate = c
            setServing(candidate: candidateProgram, share: share)
            event(id, "followed", "v\(id) in \(stage.rawValue)" + (stage == .canary ? String(format: " at %.0f%%", share * 100) : ""))
        }
    }

    /// The candidate with every replica's canary evidence: the other replicas' validations of the
    /// candidate and of the active version since the canary began (its first canary step in the
    /// store) added to this replica's own. Disjoint samples (other runs), each weighted by its own
    /// inclusion probability, so the pooled estimates stay unbiased. Without replicas: `c` itself.
    func pooledCanary(_ c: DriverState.Candidate) -> DriverState.Candidate {
        guard settings.replica != nil, c.stage == .canary, let runId = run.id,
              let start = (try? store.rollouts(candidate: c.versionId))?.first(where: { $0.stage == .canary })?.time else { return c }
        var p = c
        if let s = try? store.agreementSums(version: c.versionId, since: start, excludingRun: runId), s.count > 0 {
            p.canary.merge(AgreementEstimator(sums: s))
        }
        if let s = try? store.agreementSums(version: state.activeVersion, since: start, excludingRun: runId), s.count > 0 {
            p.base.merge(AgreementEstimator(sums: s))
        }
        return p
    }

    /// The canary step whose share is nearest `share` (a new leader continues from there).
    func canaryStep(_ share: Double) -> Int {
        let steps = task.improvement.canarySteps
        return steps.indices.min { abs(steps[$0] - share) < abs(steps[$1] - share) } ?? 0
    }

    /// Gives the lease up (a clean shutdown), so another replica leads at its next step.
    public func releaseLeadership() {
        guard let me = settings.replica, isLeader else { return }
        try? store.releaseLeadership(holder: me)
        isLeader = false
    }
}

/// The rows of steps that could not be committed (the store was out of reach).
struct Unflushed {
    var items: [BatchItem] = []
    var answers: [OracleAnswer] = []
    var ledger: [LedgerEntry] = []
}

extension TaskEngine {
    /// Keeps a failed step's rows for the next commit, at most `queueCapacity` executions: the
    /// oldest beyond it are dropped, and their samples counted as unvalidated (not validated).
    func keepUnflushed(_ items: [BatchItem], _ answers: [OracleAnswer], _ ledger: [LedgerEntry]) {
        var kept = items
        let limit = max(settings.queueCapacity, settings.batchSize)
        if kept.count > limit {
            let gone = kept.prefix(kept.count - limit)
            let sampled = gone.filter { $0.execution.stratum != "shadow" && !$0.comparisons.isEmpty }.count
            state.validated -= sampled
            state.unvalidated += sampled
            state.dropped += gone.count
            // Their answers will never be stored: they no longer stand in for stored ones.
            for g in gone { batchValidated[g.execution.inputHash] = nil }
            kept.removeFirst(kept.count - limit)
            log?("the store is out of reach: \(gone.count) validated sample(s) dropped, \(kept.count) kept for the next commit")
        }
        unflushed = Unflushed(items: kept, answers: answers, ledger: Array(ledger.suffix(10_000)))
    }
}
