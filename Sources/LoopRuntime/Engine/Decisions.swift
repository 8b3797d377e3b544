import Foundation
import LoopData
import LoopGenerate
import LoopInterpreter
import LoopLLM
import LoopStore
import LoopTask

/// Triggers, improvement attempts, shadow, canary, promotion and rollback.
extension TaskEngine {
    var shadowLimit: Int { 4 * max(task.improvement.window, 50) }
    var canaryStepLength: Int { max(task.improvement.window, 50) }

    var rolloutPolicy: RolloutMachine.Policy {
        RolloutMachine.Policy(significance: task.improvement.significance, canarySteps: task.improvement.canarySteps,
                              shadowLimit: shadowLimit, canaryStepLength: canaryStepLength)
    }

    func decide() throws {
        let policy = task.improvement
        if let c = state.candidate {
            // With replicas, the canary's evidence is every replica's: the others' validations of
            // the candidate and of the base since the canary began join this replica's own.
            let pooled = pooledCanary(c)
            switch RolloutMachine.step(pooled, requests: evidenceThrough, policy: rolloutPolicy) {
            case .stay:
                break
            case .canary(var n, let why):
                // The state keeps this replica's own evidence (the others' is read afresh each step).
                n.canary = c.canary; n.base = c.base
                state.candidate = n
                setServing(candidate: candidateProgram, share: n.share)
                event(n.versionId, "canary", why)
                if c.stage == .shadow {
                    stage(n, .canary, evidence: ["wins": Double(c.paired.candidateWins), "losses": Double(c.paired.currentWins), "p": c.paired.pValue])
                } else {
                    stage(n, .canary, evidence: ["canary_agreement": pooled.canary.estimate, "base_agreement": pooled.base.estimate,
                                                 "canary_validations": Double(pooled.canary.count)])
                }
            case .promote(let c):
                try promote(c)
            case .reject(let why, let rolledBack):
                try rejectCandidate(c, why: why, stage: rolledBack ? .rolledBack : .rejected)
            }
            return
        }
        let recent = state.sampler.recent
        if recent.count >= settings.minValidations, let a = recent.estimate, a < policy.agreementFloor {
            escalateOnce("floor", reason: String(format: "agreement %.2f%% over the last %d validations is under the floor of %g%%", a * 100, recent.count, policy.agreementFloor * 100))
        }
        if state.contradictions >= 3 {
            escalateOnce("contradiction", reason: "the oracle contradicted itself on \(state.contradictions) input(s): the specification may be ambiguous")
        }
        // A novel failure cluster that an improvement attempt did not fix calls for a person.
        if state.attempts >= 1, let w = novelCluster() {
            escalateOnce("cluster:\(w.word)", reason: "a new kind of input fails: \(w.inFailures) recent failures mention “\(w.word)”, which no example of the task has, and \(state.attempts) improvement attempt(s) did not fix them")
        }
        guard state.requests >= state.nextAttemptAt, !state.escalated.contains("attempts") else { return }
        var reason: String? = nil
        if recent.count >= settings.minValidations, let a = recent.estimate, a < policy.agreementThreshold {
            reason = String(format: "agreement %.2f%% over the last %d validations is under %g%%", a * 100, recent.count, policy.agreementThreshold * 100)
        } else if let bad = state.sampler.precision.rules(below: policy.rulePrecisionFloor, minimumCount: max(10, policy.window / 10)).first {
            reason = String(format: "%@ is right only %.0f%% of the time (%d validations)", bad.rule, bad.precision * 100, bad.count)
        }
        if let reason { try attemptImprovement(reason) }
    }

    /// The strongest word over-represented among the active version's recent failures (in at
    /// least 5 of them, and in failures at least 4 times as often as in agreements) that no seed
    /// example contains.
    func novelCluster() -> FailureAnalysis.Word? {
        let analysis = FailureAnalysis.of(recentValidations())
        return analysis.words.first { $0.inFailures >= 5 && $0.inFailures >= 4 * $0.inAgreements && !seedWords.contains($0.word) }
    }

    func event(_ version: Int64?, _ kind: String, _ detail: String) {
        state.events.append(DriverState.Event(requests: state.requests, versionId: version, kind: kind, detail: detail))
        log?("[\(state.requests)] \(version.map { "v\($0) " } ?? "")\(kind): \(detail)")
    }

    /// Records a rollout stage in the next commit; evidence without a value (no validations yet) is left out.
    func stage(_ c: DriverState.Candidate, _ stage: RolloutStage, evidence: [String: Double?]) {
        let known = evidence.compactMap { k, v in v.flatMap { $0.isFinite ? (k, JSON.number($0)) : nil } }
        let ev = JSONWriter.string(.object(known.sorted { $0.0 < $1.0 }))
        let r = Rollout(candidateId: c.versionId, baseId: state.activeVersion, stage: stage, share: c.share, time: Store.now(), evidence: ev)
        pending.append(.rollout(r))
    }

    func rejectCandidate(_ c: DriverState.Candidate, why: String, stage s: RolloutStage) throws {
        stage(c, s, evidence: ["wins": Double(c.paired.candidateWins), "losses": Double(c.paired.currentWins)])
        if s == .rolledBack { state.rolledBack += 1 } else { state.rejected += 1 }
        event(c.versionId, s == .rolledBack ? "rolled back" : "rejected", why)
        state.candidate = nil
        setServing(candidate: nil, share: 0)
        failedAttempt()
    }

    func failedAttempt() {
        state.attempts += 1
        state.nextAttemptAt = state.requests + max(task.improvement.window, 50)
        if state.attempts >= task.improvement.maxAttempts {
            escalateOnce("attempts", reason: "\(state.attempts) improvement attempts in a row did not produce a better program")
        }
    }

    func promote(_ c: DriverState.Candidate) throws {
        guard let newProgram = candidateProgram else { return }
        let old = activeProgram
        // Inputs the new version fixes join the set every later version must keep right.
        for v in allValidated() {
            guard let input = try? JSONParser.parse(v.input) else { continue }
            if case .success(let a) = newProgram.classify(input), a.label == v.label,
               case .success(let b) = old.classify(input), b.label != v.label { state.fixed.insert(v.hash) }
        }
        stage(c, .promoted, evidence: ["canary_agreement": c.canary.estimate, "base_agreement": c.base.estimate])
        activeProgram = newProgram
        setServing(candidate: nil, share: 0)
        state.activeVersion = c.versionId
        state.candidate = nil
        state.attempts = 0
        state.failures = []
        state.promoted += 1
        live.withLock { $0.sampler.resetStatistics() }
        state.sampler.resetStatistics()
        state.nextAttemptAt = state.requests + max(task.improvement.window, 50)
        event(c.versionId, "promoted", "now answers all traffic (\(c.why))")
    }

    /// Validated inputs as labeled examples.
    func validatedExamples() -> [(hash: String, example: TaskExample)] {
        allValidated().compactMap { v in
            (try? JSONParser.parse(v.input)).map { (v.hash, TaskExample(input: $0, label: v.label)) }
        }
    }

    /// An improvement attempt's heavy half, done off the control thread by a server: generate,
    /// check, run the program's tests, compare on every validated input.
    public struct Improvement: @unchecked Sendable {
        var reason: String
        var baseVersion: Int64
        var generated: GeneratedProgram?
        var error: Error?
        var verdict: String?
        var gain = 0
        var program: LoadedProgram?
        var seconds = 0.0
    }

    func attemptImprovement(_ reason: String) throws {
        guard !improvementInFlight else { return }
        event(state.activeVersion, "improve", reason)
        let validated = validatedExamples()
        let (generator, current, failures, fixed, base) = (settings.generator, activeProgram, state.failures, state.fixed, activeProgram.versionId)
        let logger = UncheckedBox(log)
        let inputs = UncheckedBox((generator, current, failures, fixed, validated))
        let work: @Sendable () -> Improvement = {
            let (generator, current, failures, fixed, validated) = inputs.value
            let logger = logger.value
            var r = Improvement(reason: reason, baseVersion: base)
            let start = CPUClock.now()
            defer { r.seconds = CPUClock.now() - start }
            do { r.generated = try generator.improve(current: current.source, failures: failures, validated: validated.map(\.example)) }
            catch { r.error = error; return r }
            // Tier 1 and 2, then every validated input so far: better overall, and no fixed case lost.
            do { r.program = try LoadedProgram(versionId: -1, source: r.generated!.source) } catch { r.verdict = "\(error)"; return r }
            let cand = r.program!
            let (_, failing) = EmbeddedTests.run(cand.engine)
            if !failing.isEmpty { r.verdict = "\(failing.count) of its own tests fail"; return r }
            var candRight = 0, activeRight = 0, lostFixed = 0
            for (hash, e) in validated {
                let c = (try? cand.classify(e.input).get())?.label == e.label
                let a = (try? current.classify(e.input).get())?.label == e.label
                if c { candRight += 1 }
                if a { activeRight += 1 }
                if !c && fixed.contains(hash) { lostFixed += 1 }
            }
            if lostFixed > 0 { r.verdict = "it breaks \(lostFixed) input(s) an earlier version fixed" }
            else if candRight <= activeRight { r.verdict = "it is not better on the \(validated.count) validated inputs (\(candRight) vs \(activeRight) right)" }
            else { r.gain = candRight - activeRight; logger?("candidate: \(candRight) vs \(activeRight) of \(validated.count) validated inputs right") }
            return r
        }
        if let runAsync = improveAsync {
            improvementInFlight = true
            let me = UncheckedBox(self)
            runAsync(work) { r in
                let `self` = me.value
                self.improvementInFlight = false
                do { try self.applyImprovement(r); try self.commit(cursor: self.state.cursor, items: []) }
                catch { self.log?("the improvement could not be recorded: \(error)") }
            }
        } else {
            try applyImprovement(work())
        }
    }

    /// An improvement attempt's control half: record the candidate (or the failure) and put it in shadow.
    func applyImprovement(_ r: Improvement) throws {
        state.buildSeconds += r.seconds
        if let error = r.error {
            if let f = error as? GeneratorFailure { recordGenerationCalls(f.calls) }
            if case GeneratorError.unsupported(let m) = error {
                escalateOnce("no-generator", reason: "\(r.reason), and no generator can fix it: \(m)")
                state.nextAttemptAt = Int.max
                return
            }
            event(state.activeVersion, "attempt failed", "the generator failed: \(error)")
            failedAttempt()
            return
        }
        guard let generated = r.generated else { return }
        // A replica that lost the leadership while the candidate was being made records nothing.
        guard isLeader else { event(state.activeVersion, "attempt dropped", "this replica no longer leads the task"); return }
        recordGenerationCalls(generated.calls)
        var verdict = r.verdict
        // The active version changed while the candidate was being made (an operator, a promotion).
        if verdict == nil && (r.baseVersion != state.activeVersion || state.candidate != nil) {
            verdict = "superseded: v\(state.activeVersion) became active while it was being made"
        }
        let status: VersionStatus = verdict == nil ? .shadow : .rejected
        let version = try store.addVersion(ProgramVersion(source: generated.source, parentId: r.baseVersion,
                                                          provenance: generated.provenance + " — " + r.reason, status: status, note: verdict))
        guard verdict == nil, let id = version.id else {
            state.rejected += 1
            event(version.id, "rejected", verdict ?? "")
            failedAttempt()
            return
        }
        let loaded = try LoadedProgram(versionId: id, source: generated.source, name: "v\(id).loop")
        setServing(candidate: loaded, share: 0)
        // Shadow starts now: requests answered while the candidate was being made do not count.
        var c = DriverState.Candidate(versionId: id, stage: .shadow, since: requestCount, why: r.reason)
        c.validatedGain = r.gain
        state.candidate = c
        stage(c, .shadow, evidence: [:])
        event(id, "shadow", "candidate from \(settings.generator.name) runs beside v\(state.activeVersion)")
    }

    func recordGenerationCalls(_ calls: [CallRecord]) {
        guard !calls.isEmpty else { return }
        account(calls, purposeCost: \.generationCost)
        let entries = calls.map { Self.ledgerEntry($0, run: run.id) }
        pending.append(.ledger(entries))
    }
}
