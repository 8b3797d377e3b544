import Foundation
import XCTest
@testable import LoopStore

/// What every `TaskStore` backend must do, written once: each backend's test class (SQLite here,
/// PostgreSQL beside it) runs every check against a fresh database. `open(task)` opens the test's
/// database scoped to `task`; two calls with different tasks share the database.
enum StoreContract {
    typealias Open = (String) throws -> any TaskStore

    static func commitIsAtomic(_ open: Open) throws {
        let store = try open(Workload.task)
        let (run, active, shadow) = try Workload.setUp(store)
        let runId = run.id!
        try Workload.writeBatch(store, runId: runId, activeId: active.id!, shadowId: shadow.id!)
        let before = try store.run(id: runId)!.cursor

        // A comparison naming a missing version fails on its foreign key, after the step's writes,
        // its first execution and answer were inserted: the whole step goes.
        let e = Execution(runId: runId, seq: before, input: "{}", output: "spam", versionId: active.id!)
        let bad = BatchItem(execution: e, answers: [OracleAnswer(inputHash: e.inputHash, label: "spam")],
                            comparisons: [Comparison(versionId: 999_999, programLabel: "spam", oracleLabel: "spam")])
        XCTAssertThrowsError(try store.commit(StoreCommit(runId: runId, cursor: before + 10,
                                                          writes: [.answer(OracleAnswer(inputHash: "h-feedback", label: "ham", source: .feedback, input: "{}"))],
                                                          items: [bad], counters: ["requests": 10])))

        // A promotion whose compare-and-swap fails (the base is not the active version) takes the
        // step's rows with it.
        let other = try store.addVersion(ProgramVersion(source: "other", parentId: active.id))
        XCTAssertThrowsError(try store.commit(StoreCommit(
            runId: runId, cursor: before + 1,
            writes: [.rollout(Rollout(candidateId: other.id!, baseId: shadow.id!, stage: .promoted, share: 1))],
            items: [BatchItem(execution: Execution(runId: runId, seq: before, input: "{}", output: "ham", versionId: active.id!))],
            counters: ["requests": 1]))) { XCTAssertTrue("\($0)".contains("is the active version now"), "\($0)") }
        XCTAssertEqual(try store.version(id: other.id!)?.status, .candidate)

        // A step replaying inputs below the stored cursor is refused (they were counted already).
        let replay = Execution(runId: runId, seq: 0, input: "{}", output: "ham", versionId: active.id!)
        XCTAssertThrowsError(try store.commit(StoreCommit(runId: runId, cursor: before + 5, items: [BatchItem(execution: replay)]))) {
            XCTAssertEqual($0 as? StoreError, .batchOutOfOrder(runId: runId, storedCursor: before, newCursor: before + 5, seq: 0))
        }
        XCTAssertThrowsError(try store.commit(StoreCommit(runId: runId, cursor: before - 1, counters: ["requests": 1])))

        XCTAssertEqual(try store.run(id: runId)!.cursor, before)
        try Workload.checkInvariants(store, runId: runId)
        XCTAssertEqual(try store.answers(inputHash: e.inputHash), [])
        XCTAssertEqual(try store.answers(inputHash: "h-feedback"), [])

        // And the run continues normally.
        try Workload.writeBatch(store, runId: runId, activeId: active.id!, shadowId: shadow.id!)
        try Workload.checkInvariants(store, runId: runId)
    }

    static func validatedInputsDeduplicateLatestAnswerWins(_ open: Open) throws {
        let store = try open(Workload.task)
        let (run, active, _) = try Workload.setUp(store)
        let runId = run.id!, v = active.id!
        func item(_ seq: Int, _ input: String, _ label: String?) -> BatchItem {
            let e = Execution(runId: runId, seq: seq, input: input, output: "ham", versionId: v)
            return BatchItem(execution: e, answers: [OracleAnswer(inputHash: e.inputHash, label: label, raw: label ?? "???")])
        }
        try store.commit(StoreCommit(runId: runId, cursor: 3, items: [item(0, "{\"t\":\"a\"}", "spam"), item(1, "{\"t\":\"b\"}", "ham"),
                                                                     item(2, "{\"t\":\"c\"}", nil)]))
        // "a" seen again and relabeled; "b" answered invalidly this time (the valid answer stays);
        // "c" finally gets a valid answer.
        try store.commit(StoreCommit(runId: runId, cursor: 6, items: [item(3, "{\"t\":\"a\"}", "ham"), item(4, "{\"t\":\"b\"}", nil),
                                                                     item(5, "{\"t\":\"c\"}", "spam")]))
        // A label from a labeled file for a known input, with no execution of its own.
        try store.commit(StoreCommit(runId: runId, cursor: 6, answers: [OracleAnswer(inputHash: Store.hash("{\"t\":\"b\"}"), label: "spam", source: .labels)]))
        // An answer for an input never stored is left out (no input text); feedback carries its input.
        try store.commit(StoreCommit(runId: runId, cursor: 6, answers: [OracleAnswer(inputHash: "unknown", label: "spam", source: .cache)]))
        try store.commit(StoreCommit(runId: runId, cursor: 6, writes: [.answer(OracleAnswer(inputHash: Store.hash("{\"t\":\"d\"}"), label: "ham",
                                                                                           source: .feedback, input: "{\"t\":\"d\"}"))]))

        let validated = try store.validatedInputs()
        XCTAssertEqual(validated.map(\.input), ["{\"t\":\"a\"}", "{\"t\":\"b\"}", "{\"t\":\"c\"}", "{\"t\":\"d\"}"])
        XCTAssertEqual(validated.map(\.label), ["ham", "spam", "spam", "ham"])
        XCTAssertEqual(try store.latestLabel(inputHash: Store.hash("{\"t\":\"a\"}")), "ham")
        XCTAssertEqual(try store.answers(inputHash: Store.hash("{\"t\":\"b\"}")).map(\.source), [.llm, .llm, .labels])
        // The batched lookup: every hash at once, those without a valid answer absent.
        let hashes = ["a", "b", "c", "d", "e"].map { Store.hash("{\"t\":\"\($0)\"}") } + ["unknown"]
        XCTAssertEqual(try store.latestLabels(inputHashes: hashes + hashes),
                       [hashes[0]: "ham", hashes[1]: "spam", hashes[2]: "spam", hashes[3]: "ham", "unknown": "spam"])
        XCTAssertEqual(try store.latestLabels(inputHashes: []), [:])
        // Many hashes in one lookup (more than a statement's parameters in one chunk).
        let many = (0..<1_200).map { "x\($0)" } + [hashes[0]]
        XCTAssertEqual(try store.latestLabels(inputHashes: many), [hashes[0]: "ham"])
    }

    static func escalationLifecycle(_ open: Open) throws {
        let store = try open(Workload.task)
        let (run, active, _) = try Workload.setUp(store)
        let e = try store.openEscalation(Escalation(runId: run.id, reason: "accuracy below floor", ticketMarkdown: "# Ticket",
                                                    ticketJSON: "{\"accuracy\":0.6}"))
        _ = try store.openEscalation(Escalation(reason: "budget exhausted"))
        XCTAssertEqual(try store.escalations(status: .open).count, 2)
        let resolved = try store.resolveEscalation(id: e.id!, versionId: active.id, at: 123)
        XCTAssertEqual(resolved.status, .resolved)
        XCTAssertEqual(resolved.resolvedAt, 123)
        XCTAssertEqual(try store.escalation(id: e.id!), resolved)
        XCTAssertEqual(try store.escalations(status: .open).map(\.reason), ["budget exhausted"])
        XCTAssertEqual(try store.escalations().count, 2)
        XCTAssertThrowsError(try store.resolveEscalation(id: e.id!)) { XCTAssertTrue("\($0)".contains("already resolved")) }
        XCTAssertThrowsError(try store.resolveEscalation(id: 999_999)) {
            XCTAssertEqual($0 as? StoreError, .notFound("escalation 999999 of task \(store.task)"))
        }
        // Opened with a step: the ticket is written once the id is known, and the id comes back.
        let r = try store.commit(StoreCommit(runId: run.id!, cursor: 0, writes: [
            .escalation(NewEscalation(runId: run.id, reason: "r1") { id in ("# ESC-\(id)", "{\"id\":\(id)}") }),
            .escalation(NewEscalation(runId: run.id, reason: "r2") { id in ("# ESC-\(id)", "{\"id\":\(id)}") }),
        ]))
        XCTAssertEqual(r.escalationIds.count, 2)
        let second = try XCTUnwrap(store.escalation(id: r.escalationIds[1]))
        XCTAssertEqual(second.reason, "r2")
        XCTAssertEqual(second.ticketMarkdown, "# ESC-\(r.escalationIds[1])")
        XCTAssertEqual(second.ticketJSON, "{\"id\":\(r.escalationIds[1])}")
    }

    static func resolvingWithAProgramIsOneStep(_ open: Open) throws {
        let store = try open(Workload.task)
        let (_, active, shadow) = try Workload.setUp(store)
        let e = try store.openEscalation(Escalation(reason: "stuck"))
        let v = try store.resolveEscalation(id: e.id!, source: "fixed by hand", base: active.id, provenance: "by hand", evidence: "{}")
        XCTAssertEqual(v.status, .active)
        XCTAssertEqual(v.parentId, active.id)
        XCTAssertEqual(try store.activeVersion()?.id, v.id)
        XCTAssertEqual(try store.version(id: active.id!)?.status, .retired)
        XCTAssertEqual(try store.version(id: shadow.id!)?.status, .rejected)
        XCTAssertEqual(try store.escalation(id: e.id!)?.resolutionVersionId, v.id)
        // A second resolution against the old base fails whole: no version is added.
        let e2 = try store.openEscalation(Escalation(reason: "again"))
        let count = try store.versions().count
        XCTAssertThrowsError(try store.resolveEscalation(id: e2.id!, source: "late", base: active.id, provenance: "by hand", evidence: "{}"))
        XCTAssertEqual(try store.versions().count, count)
        XCTAssertEqual(try store.escalation(id: e2.id!)?.status, .open)
    }

    static func versionChainAndLookup(_ open: Open) throws {
        let store = try open(Workload.task)
        let root = try store.addVersion(ProgramVersion(source: "v root", provenance: "{\"generator\":\"induce\"}"))
        let child = try store.addVersion(ProgramVersion(source: "v child", parentId: root.id, provenance: "{\"reason\":\"repair\"}"))
        let grandchild = try store.addVersion(ProgramVersion(source: "v grandchild", parentId: child.id))
        XCTAssertEqual(try store.lineage(of: grandchild.id!).map(\.id), [grandchild.id, child.id, root.id])
        XCTAssertEqual(try store.lineage(of: 999_999), [])
        XCTAssertEqual(root.hash, Store.hash("v root"))
        XCTAssertEqual(root.hash.count, 16)
        XCTAssertEqual(root.task, store.task)
        // The same program may be added again; lookup by hash finds the latest.
        let again = try store.addVersion(ProgramVersion(source: "v root", parentId: grandchild.id))
        XCTAssertEqual(try store.version(hash: root.hash)?.id, again.id)
        XCTAssertEqual(try store.version(id: child.id!), child)
        XCTAssertEqual(try store.versions().count, 4)
        XCTAssertThrowsError(try store.addVersion(ProgramVersion(source: "orphan", parentId: 999_999)))
        // FNV-1a 64 known answers.
        XCTAssertEqual(Store.hash(""), "cbf29ce484222325")
        XCTAssertEqual(Store.hash("a"), "af63dc4c8601ec8c")
    }

    static func rolloutMovesStatusesAndPromotionIsCompareAndSwap(_ open: Open) throws {
        let store = try open(Workload.task)
        let base = try store.addVersion(ProgramVersion(source: "base", status: .active))
        let cand = try store.addVersion(ProgramVersion(source: "cand", parentId: base.id))
        _ = try store.recordRollout(Rollout(candidateId: cand.id!, baseId: base.id, stage: .shadow))
        XCTAssertEqual(try store.version(id: cand.id!)?.status, .shadow)
        _ = try store.recordRollout(Rollout(candidateId: cand.id!, baseId: base.id, stage: .canary, share: 0.1, evidence: "{\"n\":200}"))
        XCTAssertEqual(try store.version(id: cand.id!)?.canaryShare, 0.1)
        XCTAssertEqual(try store.versions(status: .canary).map(\.id), [cand.id])
        // A rival candidate made against the same base.
        let rival = try store.addVersion(ProgramVersion(source: "rival", parentId: base.id))
        _ = try store.recordRollout(Rollout(candidateId: cand.id!, baseId: base.id, stage: .promoted, share: 1))
        XCTAssertEqual(try store.activeVersion()?.id, cand.id)
        XCTAssertEqual(try store.version(id: base.id!)?.status, .retired)
        XCTAssertEqual(try store.versions(status: .active).count, 1)
        XCTAssertEqual(try store.rollouts(candidate: cand.id!).map(\.stage), [.shadow, .canary, .promoted])
        // The rival's promotion was decided against v(base), no longer active: refused, nothing written.
        XCTAssertThrowsError(try store.recordRollout(Rollout(candidateId: rival.id!, baseId: base.id, stage: .promoted, share: 1))) {
            XCTAssertEqual($0 as? StoreError, .invalidTransition("v\(rival.id!) was to replace v\(base.id!), but v\(cand.id!) is the active version now; nothing was changed"))
        }
        XCTAssertEqual(try store.activeVersion()?.id, cand.id)
        XCTAssertEqual(try store.rollouts().count, 3)
        let bad = try store.addVersion(ProgramVersion(source: "bad", parentId: cand.id))
        _ = try store.recordRollout(Rollout(candidateId: bad.id!, baseId: cand.id, stage: .rolledBack))
        XCTAssertEqual(try store.version(id: bad.id!)?.status, .rolledBack)
        XCTAssertEqual(try store.activeVersion()?.id, cand.id)
        XCTAssertEqual(try store.rollouts().count, 4)
        XCTAssertThrowsError(try store.recordRollout(Rollout(candidateId: 999_999, stage: .shadow)))
        XCTAssertEqual(try store.rollouts().count, 4)
    }

    static func ledgerTotals(_ open: Open) throws {
        let store = try open(Workload.task)
        let run = try store.startRun(streamPath: "s")
        try store.commit(StoreCommit(runId: run.id!, cursor: 0, ledger: [
            LedgerEntry(runId: run.id, provider: "anthropic", model: "m1", purpose: "generate", inputTokens: 1000, outputTokens: 500, cost: 0.02),
            LedgerEntry(runId: run.id, provider: "anthropic", model: "m1", purpose: "repair", inputTokens: 300, outputTokens: 100, cost: 0.005),
            LedgerEntry(runId: run.id, provider: "anthropic", model: "m1", purpose: "generate", outcome: "HTTP 529 overloaded"),
            LedgerEntry(runId: run.id, provider: "local", model: "m2", purpose: "oracle", inputTokens: 50, outputTokens: 1, estimated: true),
            LedgerEntry(runId: run.id, provider: "anthropic", model: "m1", purpose: "oracle", inputTokens: 50, outputTokens: 1, cost: 0, cached: true),
        ], counters: ["generationCalls": 3, "oracleCalls": 2]))
        try store.recordLedger([LedgerEntry(provider: "p", model: "m", purpose: "generate", inputTokens: 1, cost: 1)])

        let totals = try store.ledgerTotals(run: run.id)
        XCTAssertEqual(totals["generate"]?.calls, 2)
        XCTAssertEqual(totals["generate"]?.failures, 1)
        XCTAssertEqual(totals["generate"]?.inputTokens, 1000)
        XCTAssertEqual(totals["generate"]?.cost ?? 0, 0.02, accuracy: 1e-12)
        XCTAssertEqual(totals["generate"]?.unpricedCalls, 1)
        XCTAssertEqual(totals["repair"]?.outputTokens, 100)
        XCTAssertEqual(totals["oracle"]?.calls, 2)
        XCTAssertEqual(totals["oracle"]?.cachedCalls, 1)
        XCTAssertEqual(totals["oracle"]?.unpricedCalls, 1)
        XCTAssertEqual(totals["oracle"]?.cost, 0)
        XCTAssertEqual(try store.ledgerTotals()["generate"]?.calls, 3)
        XCTAssertEqual(try store.ledgerTotals()["generate"]?.cost ?? 0, 1.02, accuracy: 1e-12)
        XCTAssertEqual(try store.ledger(run: run.id).count, 5)
        XCTAssertEqual(try store.counters(run: run.id!), ["generationCalls": 3, "oracleCalls": 2])
        try store.commit(StoreCommit(runId: run.id!, cursor: 0, counters: ["oracleCalls": 1.5]))
        XCTAssertEqual(try store.counter(run: run.id!, key: "oracleCalls"), 3.5)
        XCTAssertEqual(try store.counter(run: run.id!, key: "missing"), 0)
    }

    static func runsStateAndTimeline(_ open: Open) throws {
        let store = try open("spam")
        let a = try store.startRun(streamPath: "s1", config: "{\"rate\":0.05}", at: 1)
        let b = try store.startRun(streamPath: "s1", config: "{}", at: 2)
        XCTAssertEqual(try store.latestRun()?.id, b.id)
        XCTAssertEqual(try store.latestRun()?.taskName, store.task)
        try store.finishRun(runId: a.id!, at: 5)
        XCTAssertEqual(try store.run(id: a.id!)?.finishedAt, 5)
        XCTAssertEqual(try store.run(id: a.id!)?.config, "{\"rate\":0.05}")
        XCTAssertEqual(try store.runs().count, 2)
        // A step with no samples still advances the cursor and counts.
        try store.commit(StoreCommit(runId: b.id!, cursor: 100, counters: ["requests": 100], state: #"{"seen":100}"#))
        XCTAssertEqual(try store.latestRun()?.cursor, 100)
        XCTAssertEqual(try store.counters(run: b.id!), ["requests": 100])
        XCTAssertEqual(try store.run(id: b.id!)?.state, #"{"seen":100}"#)
        // A failing step leaves the previous state; no state given leaves it unchanged.
        XCTAssertThrowsError(try store.commit(StoreCommit(runId: b.id!, cursor: 5, state: #"{"seen":5}"#)))
        try store.commit(StoreCommit(runId: b.id!, cursor: 120))
        XCTAssertEqual(try store.run(id: b.id!)?.state, #"{"seen":100}"#)
        // Timeline points are rows, in order, per run.
        func point(_ n: Int) -> TimelinePoint {
            TimelinePoint(runId: b.id!, requests: n, agreement: n == 0 ? nil : 0.9, lower: nil, upper: nil, samplingRate: 0.05,
                          cost: Double(n) / 1000, allLLMCost: Double(n) / 100, versionId: 1, time: Double(n))
        }
        try store.commit(StoreCommit(runId: b.id!, cursor: 130, points: [point(0), point(130)]))
        try store.commit(StoreCommit(runId: b.id!, cursor: 140, points: [point(140)]))
        XCTAssertEqual(try store.timeline(run: b.id!).map(\.requests), [0, 130, 140])
        XCTAssertEqual(try store.timeline(run: b.id!).first?.agreement, nil)
        XCTAssertEqual(try store.timeline(run: b.id!).last?.allLLMCost, 1.4)
        XCTAssertEqual(try store.timeline(run: a.id!), [])
    }

    /// Two tasks in one database see only their own rows, and one's promotion is not the other's.
    static func tasksAreIsolated(_ open: Open) throws {
        let spam = try open("spam"), intent = try open("intent")
        let s = try Workload.setUp(spam)
        let i = try Workload.setUp(intent)
        try Workload.writeBatch(spam, runId: s.run.id!, activeId: s.active.id!, shadowId: s.shadow.id!)
        XCTAssertEqual(try intent.versions().map(\.id), [i.active.id, i.shadow.id])
        XCTAssertEqual(try spam.activeVersion()?.id, s.active.id)
        XCTAssertEqual(try intent.activeVersion()?.id, i.active.id)
        XCTAssertNil(try intent.version(id: s.active.id!))
        XCTAssertNil(try intent.run(id: s.run.id!))
        XCTAssertEqual(try intent.latestRun()?.id, i.run.id)
        XCTAssertEqual(try intent.validatedInputs(), [])
        XCTAssertEqual(try intent.comparisons(), [])
        XCTAssertEqual(try intent.ledgerTotals(), [:])
        XCTAssertFalse(try spam.validatedInputs().isEmpty)
        // The same input validated for one task is not a stored answer for the other.
        let h = Store.hash(Workload.input(0))
        XCTAssertNotNil(try spam.latestLabel(inputHash: h))
        XCTAssertNil(try intent.latestLabel(inputHash: h))
        // Writing to the other task's run or version is refused.
        XCTAssertThrowsError(try intent.commit(StoreCommit(runId: s.run.id!, cursor: 1_000)))
        XCTAssertThrowsError(try intent.setStatus(versionId: s.active.id!, .rejected))
        // Promotion in one task retires nothing in the other.
        let next = try spam.addVersion(ProgramVersion(source: "next", parentId: s.active.id))
        _ = try spam.recordRollout(Rollout(candidateId: next.id!, baseId: s.active.id, stage: .promoted, share: 1))
        XCTAssertEqual(try spam.activeVersion()?.id, next.id)
        XCTAssertEqual(try intent.activeVersion()?.id, i.active.id)
        _ = try intent.openEscalation(Escalation(reason: "only intent"))
        XCTAssertEqual(try spam.escalations(), [])
    }

    /// The weighted sums behind pooled agreement: one version's sampled comparisons (weight > 0),
    /// optionally from a time on and without one run's.
    static func agreementSumsPoolRunsAndTimes(_ open: Open) throws {
        let store = try open(Workload.task)
        let v = try store.addVersion(ProgramVersion(source: "p", status: .active))
        let mine = try store.startRun(streamPath: "serve:a"), theirs = try store.startRun(streamPath: "serve:b")
        func item(_ run: Run, _ seq: Int, time: Double, agree: Bool, weight: Double) -> BatchItem {
            let e = Execution(runId: run.id!, seq: seq, input: "{\"n\":\(seq)}", output: "spam", versionId: v.id!, time: time)
            return BatchItem(execution: e, comparisons: [Comparison(versionId: v.id!, programLabel: "spam", oracleLabel: agree ? "spam" : "ham", weight: weight)])
        }
        try store.commit(StoreCommit(runId: mine.id!, cursor: 3, items: [item(mine, 0, time: 10, agree: true, weight: 2),
                                                                        item(mine, 1, time: 20, agree: false, weight: 4),
                                                                        item(mine, 2, time: 20, agree: true, weight: 0)]))
        try store.commit(StoreCommit(runId: theirs.id!, cursor: 2, items: [item(theirs, 0, time: 15, agree: true, weight: 10),
                                                                          item(theirs, 1, time: 30, agree: true, weight: 20)]))
        let all = try store.agreementSums(version: v.id!)
        XCTAssertEqual(all.count, 4, "weight 0 (shadow) is left out")
        XCTAssertEqual(all.agreements, 3)
        XCTAssertEqual(all.weight, 36); XCTAssertEqual(all.agreeWeight, 32)
        XCTAssertEqual(all.weightSquared, 4 + 16 + 100 + 400); XCTAssertEqual(all.agreeWeightSquared, 4 + 100 + 400)
        XCTAssertEqual(all.estimate!, 32.0 / 36, accuracy: 1e-12)
        let others = try store.agreementSums(version: v.id!, since: 15, excludingRun: mine.id!)
        XCTAssertEqual(others, AgreementSums(agreeWeight: 30, weight: 30, weightSquared: 500, agreeWeightSquared: 500, count: 2, agreements: 2))
        let later = try store.agreementSums(version: v.id!, since: 16, excludingRun: nil)
        XCTAssertEqual(later.count, 2); XCTAssertEqual(later.weight, 24)
    }
}
