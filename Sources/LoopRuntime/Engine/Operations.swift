import Foundation
import LoopData
import LoopInterpreter
import LoopStore

/// What an operator (or the application) can do to a running task. Each runs on the control
/// side and commits at once, with its event.
extension TaskEngine {
    /// Promotes the candidate now, whatever stage it is in.
    public func forcePromote() throws -> Int64 {
        guard var c = state.candidate else { throw LoopError.conflict("task \(task.name) has no candidate to promote (active: v\(state.activeVersion))") }
        c.why = "promoted by an operator during its \(c.stage.rawValue)"
        try promote(c)
        try commit(cursor: state.cursor, items: [])
        return c.versionId
    }

    /// Rolls the candidate back; without a candidate, makes the active version's parent active
    /// again. Returns the version that answers afterwards.
    public func rollback() throws -> Int64 {
        if let c = state.candidate {
            try rejectCandidate(c, why: "rolled back by an operator", stage: .rolledBack)
            try commit(cursor: state.cursor, items: [])
            return state.activeVersion
        }
        guard let current = try store.version(id: state.activeVersion), let parentId = current.parentId,
              let parent = try store.version(id: parentId) else {
            throw LoopError.conflict("v\(state.activeVersion) has no earlier version to roll back to")
        }
        let loaded = try LoadedProgram(versionId: parentId, source: parent.source, name: "v\(parentId).loop")
        let from = state.activeVersion
        pending.append(.rollout(Rollout(candidateId: parentId, baseId: from, stage: .promoted, share: 1,
                                        evidence: #"{"reason":"rolled back by an operator"}"#)))
        try adoptActive(loaded, kind: "rolled back", detail: "an operator rolled v\(from) back to v\(parentId)")
        state.rolledBack += 1
        try commit(cursor: state.cursor, items: [])
        return parentId
    }

    /// Pauses (or resumes) sampling, validation and improvement; requests are still answered.
    public func setPaused(_ paused: Bool) throws {
        guard state.paused != paused else { return }
        // What was sampled before the pause is validated and committed first.
        try step()
        state.paused = paused
        live.withLock { $0.paused = paused }
        event(state.activeVersion, paused ? "paused" : "resumed", paused ? "validation and improvement paused by an operator" : "validation and improvement resumed")
        try commit(cursor: state.cursor, items: [])
    }

    /// Resolves an open escalation with an edited program: checked, tested and compared on every
    /// stored validation exactly as `loopai escalations resolve`; with `dryRun`, nothing changes.
    public func resolveEscalation(_ id: Int64, source: String, force: Bool, dryRun: Bool) throws -> (comparison: EscalationResolution.Comparison, versionId: Int64?) {
        guard let e = try store.escalation(id: id) else { throw LoopError.conflict("escalation #\(id) is not in the store") }
        guard e.status == .open else { throw LoopError.conflict("escalation #\(id) is already \(e.status.rawValue)") }
        let edited = try LoadedProgram(versionId: -1, source: source, name: "ESC-\(id).loop")
        if let problem = Self.contractProblem(edited.program, task) { throw LoopError.conflict(problem) }
        let (_, failures) = EmbeddedTests.run(edited.engine)
        if !failures.isEmpty { throw LoopError.conflict("\(failures.count) of the program's own tests fail") }
        let c = try EscalationResolution.compare(edited, store: store)
        if dryRun { return (c, nil) }
        if c.editedIsWorse && !force {
            throw LoopError.conflict("the edited program is right on \(c.editedRight) of \(c.total) stored validations, the active one on \(c.activeRight); resolve with force to make it active anyway")
        }
        // Rows written before this commit (pending) go first, so the resolution sees them.
        try commit(cursor: state.cursor, items: [])
        let v = try EscalationResolution.apply(escalation: id, source: source, comparison: c, store: store)
        let loaded = try LoadedProgram(versionId: v, source: source, name: "v\(v).loop")
        try adoptActive(loaded, kind: "resolved", detail: "escalation #\(id) resolved with v\(v) (right on \(c.editedRight) of \(c.total) stored validations)")
        try commit(cursor: state.cursor, items: [])
        return (c, v)
    }

    /// Ground truth for one input from the application or a reviewer: stored as an answer of its
    /// own source (it joins the validated inputs candidates are tested on, but not the sampled
    /// estimates, which only random samples may enter).
    /// `label` is the label's application string or identifier; `programLabel` an identifier.
    public func recordFeedback(input: JSON, label given: String, programLabel: String?) throws {
        guard let label = task.labelIdentifier(given) else {
            throw LoopError.conflict("\(JSONWriter.string(JSON(given))) is not a label of task \(task.name) (its labels: \(task.answerNames.map { JSONWriter.string(JSON($0)) }.joined(separator: ", ")))")
        }
        let text = JSONWriter.string(input)
        let answer = OracleAnswer(inputHash: Store.hash(text), label: label, raw: given, source: .feedback, cost: 0, input: text)
        pending.append(.answer(answer))
        state.feedback += 1
        if let programLabel, programLabel == label { state.feedbackAgreed += 1 }
        try commit(cursor: state.cursor, items: [])
    }

    /// Makes `program` the active version (already recorded in the store by the caller).
    func adoptActive(_ program: LoadedProgram, kind: String, detail: String) throws {
        if let c = state.candidate {
            let note = "superseded: v\(program.versionId) became active"
            pending.append(.status(versionId: c.versionId, .rejected, canaryShare: 0, note: note))
        }
        activeProgram = program
        setServing(candidate: nil, share: 0)
        Self.adopt(&state, active: program.versionId)
        live.withLock { $0.sampler.resetStatistics() }
        event(program.versionId, kind, detail)
    }
}
