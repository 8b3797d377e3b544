import Foundation
import XCTest
import LoopData
import LoopGenerate
import LoopLLM
import LoopStore
import LoopTask
import TestSupport
@testable import LoopRuntime

/// Recovery and people: a kill right after a rollout decision, an escalation resolved by hand and
/// the run resumed, and an oracle that contradicts itself.
extension LoopDriverTests {
    /// Copies the store's files as they are on disk now: exactly what `kill -9` at this moment
    /// would leave (the driver is between two commits; nothing is being written).
    static func snapshot(_ path: String, to copy: String) throws {
        let fm = FileManager.default
        for suffix in ["", "-wal"] {
            try? fm.removeItem(atPath: copy + suffix)
            if fm.fileExists(atPath: path + suffix) { try fm.copyItem(atPath: path + suffix, toPath: copy + suffix) }
        }
    }

    // MARK: kill -9 right after a decision

    /// `progress` runs after each batch's commit and its decisions (`processBatch` → `commit` →
    /// `decide`). Snapshots of the store taken there are what a kill -9 before the next commit
    /// leaves. Each is resumed and must end exactly like the uninterrupted run.
    func testAKillRightAfterADecisionResumesLikeAnUninterruptedRun() throws {
        let dir = try F.tempDir("kill-window")
        defer { try? FileManager.default.removeItem(at: dir) }
        var task = try F.task("sms_spam")
        task.validation.rate = 0.1
        let split = try F.splitStream(data: F.example("sms_spam", "data.jsonl"), dir: dir,
                                      arguments: ["--seed-fraction", "0.05", "--novel", Self.novel, "--novel-label", "spam",
                                                  "--drift-after", "300", "--limit", "2500"])
        func settings() -> LoopSettings {
            var s = F.settings(task: task, split: split, dir: dir, seed: 7)
            s.batchSize = 100
            return s
        }
        let path = dir.appendingPathComponent("whole.sqlite").path
        let whole = try SQLiteStore.open(path: path, task: task.name)
        let a = try LoopDriver(settings: settings(), store: whole, resume: false)
        var snapshots: [(requests: Int, decision: String?, path: String)] = []
        var eventsSeen = a.state.events.count
        a.progress = { state, _ in
            // Snapshot after every batch that made a decision, and after one plain batch as a control.
            let decided = state.events.count > eventsSeen ? state.events.last!.kind : nil
            eventsSeen = state.events.count
            guard decided != nil || state.requests == 500 else { return }
            let copy = dir.appendingPathComponent("snap-\(state.requests).sqlite").path
            try? Self.snapshot(path, to: copy)
            snapshots.append((state.requests, decided, copy))
        }
        let sa = try a.runToEnd()
        F.trace(name + " (whole)", sa)
        XCTAssertTrue(snapshots.contains { $0.decision == "shadow" }, "a candidate was started: \(snapshots.map(\.requests))")
        XCTAssertTrue(snapshots.contains { $0.decision == "canary" }, "a canary step was taken")
        XCTAssertTrue(snapshots.contains { $0.decision == nil }, "the control snapshot")
        let wholeEvents = sa.events.map { "\($0.kind)@\($0.requests)" }
        let wholeExecutions = try whole.executionCount(run: a.run.id!)

        var divergent: [String] = []
        for snap in snapshots {
            let store = try SQLiteStore.open(path: snap.path, task: task.name)
            let b = try LoopDriver(settings: settings(), store: store, resume: true)
            XCTAssertEqual(b.state.cursor, snap.requests, "the snapshot holds the commit of batch \(snap.requests)")
            let sb = try b.runToEnd()
            let events = sb.events.map { "\($0.kind)@\($0.requests)" }
            let executions = try store.executionCount(run: b.run.id!)
            F.trace(name + " (resumed after \(snap.decision ?? "-")@\(snap.requests))", sb)
            // What is the same whatever happened: every request once, the same samples.
            XCTAssertEqual(sb.requests, sa.requests)
            XCTAssertEqual(sb.sampled, sa.sampled)
            XCTAssertEqual(sb.validated, sa.validated)
            let seqs = try store.executions(run: b.run.id!).map(\.seq)
            XCTAssertEqual(Set(seqs).count, seqs.count, "nothing stored twice")
            if snap.decision == nil {
                XCTAssertEqual(events, wholeEvents, "control snapshot at \(snap.requests)")
                XCTAssertEqual(executions, wholeExecutions)
                XCTAssertEqual(sb.trueCorrect, sa.trueCorrect)
                XCTAssertEqual(sb.oracleCalls, sa.oracleCalls)
                continue
            }
            if events != wholeEvents || executions != wholeExecutions || sb.trueCorrect != sa.trueCorrect || sb.oracleCalls != sa.oracleCalls {
                divergent.append("killed after the `\(snap.decision!)` decision at \(snap.requests): events \(events) vs \(wholeEvents); "
                                 + "executions \(executions) vs \(wholeExecutions); correct \(sb.trueCorrect) vs \(sa.trueCorrect); "
                                 + "oracle calls \(sb.oracleCalls) vs \(sa.oracleCalls)")
            }
            try store.close()
        }
        if !divergent.isEmpty {
            XCTFail("""
                driver bug (Sources/LoopRuntime/Loop/Driver.swift processBatch: `try commit(...)` then `try decide()`): \
                the decisions made after a batch's commit (shadow start, canary step, promotion, rollback, the attempt counters, \
                the candidate version row written at once by Decisions.swift attemptImprovement via store.addVersion) are saved \
                only with the NEXT batch's commit. A kill -9 in between resumes from the pre-decision state: the decision is \
                re-made one batch later (or the candidate is abandoned and regenerated), so the resumed run diverges from the \
                uninterrupted one, and LLM generation calls made for the decision are lost from the ledger. \
                \(divergent.joined(separator: "\n"))
                """)
        }
    }

    // MARK: An escalation resolved by a person, then --resume

    static let alwaysPositive = """
    program sentiment
    input text: text
    labels positive, negative

    otherwise => positive

    test "Great food." => positive
    """

    /// A person resolves the open escalation with a new version (as `loopai escalations resolve
    /// --force` does) that is still under the agreement floor on new traffic. The resumed run must
    /// be able to call people again: the escalation for that cause was resolved.
    func testAfterAResolvedEscalationTheResumedRunCanEscalateAgain() throws {
        let dir = try F.tempDir("resolved")
        defer { try? FileManager.default.removeItem(at: dir) }
        var task = try F.task("sentiment")
        task.validation.rate = 0.1
        let split = try F.splitStream(data: F.example("sentiment", "data.jsonl"), dir: dir, arguments: ["--seed-fraction", "0.2"])
        var settings = F.settings(task: task, split: split, dir: dir)
        settings.maxRequests = 1500
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("loop.sqlite").path, task: task.name)
        let first = try LoopDriver(settings: settings, store: store, resume: false)
        let s1 = try first.runToEnd()
        F.trace(name + " (before)", s1)
        XCTAssertEqual(s1.requests, 1500)
        let open = try store.escalations(status: .open)
        let esc = try XCTUnwrap(open.first, "the first part escalates")
        XCTAssertTrue(esc.reason.contains("floor"), "the first escalation is the agreement floor: \(esc.reason)")

        // The person's fix, made active and the escalation resolved, like `loopai escalations resolve`.
        XCTAssertNoThrow(try LoadedProgram(versionId: 0, source: Self.alwaysPositive))
        let active = try XCTUnwrap(store.activeVersion())
        let fix = try store.addVersion(ProgramVersion(source: Self.alwaysPositive, parentId: active.id, provenance: "by hand, resolving escalation #\(esc.id!)", status: .candidate))
        _ = try store.recordRollout(Rollout(candidateId: fix.id!, baseId: active.id, stage: .promoted, share: 1, evidence: "{}"))
        _ = try store.resolveEscalation(id: esc.id!, versionId: fix.id)
        XCTAssertEqual(try store.escalations(status: .open).count, 0)

        // Resume with a generator that cannot help (it proposes the same program).
        var again = settings
        again.maxRequests = nil
        again.generator = ScriptedGenerator(initial: Self.alwaysPositive, improvements: [Self.alwaysPositive])
        let resumed = try LoopDriver(settings: again, store: store, resume: true)
        XCTAssertEqual(resumed.state.activeVersion, fix.id, "the person's version is active")
        XCTAssertEqual(resumed.state.events.last?.kind, "resumed")
        let stale = (recent: resumed.state.sampler.recent.count, failures: resumed.state.failures.count,
                     escalated: resumed.state.escalated.sorted())
        let s2 = try resumed.runToEnd()
        F.trace(name + " (after)", s2)
        XCTAssertEqual(s2.requests, split.stream.count)
        let tail = Array(split.stream[1500...])
        XCTAssertLessThan(try F.accuracy(Self.alwaysPositive, on: tail), 0.6, "the fix is under the floor on the new traffic")

        let reopened = try store.escalations(status: .open)
        XCTAssertGreaterThanOrEqual(reopened.count, 1, "people are called again")
        if !reopened.contains(where: { $0.reason.contains("floor") }) {
            XCTFail("""
                driver bug (Sources/LoopRuntime/Loop/Driver.swift init(resume:), the branch "A person may have resolved an escalation \
                with a new version"): it switches the active version but keeps `state.escalated` (\(stale.escalated)), the old \
                version's sliding agreement window (\(stale.recent) validations), per-rule precision and failures \
                (\(stale.failures)), unlike promote(). DriverState documents `escalated` as "each is opened once until resolved", \
                but a resolved cause is never reopened: the person's version runs at \
                \(String(format: "%.0f%%", (s2.sampler.recent.estimate ?? 0) * 100)) agreement, under the 80% floor, and no \
                floor escalation opens. Open after resume: \(reopened.map(\.reason))
                """)
        }
    }

    // MARK: An oracle that contradicts itself

    /// The same message twice in one batch with opposite labels (a labels oracle reading an
    /// inconsistent column): ten contradictions. The driver's `contradictions` counter and the
    /// "contradiction" escalation ("the specification may be ambiguous") must see them.
    func testContradictoryOracleAnswersAreCountedAndEscalated() throws {
        let dir = try F.tempDir("contradictions")
        defer { try? FileManager.default.removeItem(at: dir) }
        var task = try F.task("sms_spam")
        task.validation.rate = 1
        let split = try F.split(F.example("sms_spam", "data.jsonl"), seedCount: 300, shuffleSeed: 9, limit: 400, dir: dir)
        var stream: [JSON] = []
        var pairs = 0
        for (i, r) in split.stream.enumerated() {
            stream.append(r)
            if i % 20 == 5 && stream.count < 400 {
                pairs += 1
                let flipped = r["label"]?.string == "spam" ? "ham" : "spam"
                stream.append(.object([("text", r["text"]!), ("label", JSON(flipped))]))
            }
        }
        let url = dir.appendingPathComponent("contradicting.jsonl")
        try F.write(stream, to: url)
        var settings = F.settings(task: task, split: F.Split(seed: split.seed, stream: stream, streamPath: url.path), dir: dir)
        settings.batchSize = 100
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("loop.sqlite").path, task: task.name)
        let driver = try LoopDriver(settings: settings, store: store, resume: false)
        let s = try driver.runToEnd()
        F.trace(name, s)
        XCTAssertEqual(s.sampled, stream.count)
        XCTAssertEqual(s.validated, stream.count)

        // The store holds both answers for each duplicated message: the oracle did contradict itself.
        var contradicted = 0
        for e in try store.executions(run: driver.run.id!) where Set(try store.answers(inputHash: e.inputHash).compactMap(\.label)).count > 1 {
            contradicted += 1
        }
        XCTAssertGreaterThanOrEqual(contradicted / 2, 10, "the store holds \(contradicted / 2) contradicted inputs (\(pairs) pairs built)")
        let escalated = try store.escalations().contains { $0.reason.contains("contradicted") }
        if s.contradictions < 3 || !escalated {
            XCTFail("""
                driver bug (Sources/LoopRuntime/Loop/Driver.swift validate(): `if tiers[i] == 3, let previous = try? \
                store.latestLabel(inputHash:), previous != label { state.contradictions += 1 }`): a tier-3 input is by \
                definition one with no stored label (else it is answered from the store at tier 2), and nothing is written \
                before the batch commits, so `previous` is always nil. The counter stays \(s.contradictions) although the \
                oracle gave opposite labels for \(contradicted / 2) inputs, and the "contradiction" escalation in \
                Decisions.swift decide() can never open. Compare answers within the batch (and with stored answers) instead.
                """)
        }
    }
}

extension LoopDriverTests {
    /// Two connections (like `loopai loop` starting on a new store while `loopai status` polls it)
    /// open a store file that does not exist yet, at the same moment. Both must get a working store.
    func testTwoConnectionsOpeningANewStoreAtOnceBothSucceed() throws {
        let dir = try F.tempDir("store-race")
        defer { try? FileManager.default.removeItem(at: dir) }
        final class Failures: @unchecked Sendable {
            let lock = NSLock()
            var list: [String] = []
            func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
        }
        let box = Failures()
        for round in 0..<40 {
            let path = dir.appendingPathComponent("race-\(round).sqlite").path
            let group = DispatchGroup()
            let start = DispatchSemaphore(value: 0)
            for side in 0..<2 {
                group.enter()
                Thread {
                    start.wait()
                    do {
                        let s = try SQLiteStore.open(path: path, task: "race")
                        _ = try s.versions()
                        try s.close()
                    } catch {
                        box.add("round \(round), connection \(side): \(error)")
                    }
                    group.leave()
                }.start()
            }
            start.signal(); start.signal()
            group.wait()
        }
        let failures = box.list
        if !failures.isEmpty {
            XCTFail("""
                store bug (Sources/LoopStore/Store.swift Store.open: `appliedIdentifiers` is read, then `migrator.migrate(queue)` \
                runs each migration in its own transaction; two connections opening a NEW file at once both see no migration \
                applied and both run v1, so one fails with "table ... already exists"). Store's doc says a second loopai process \
                may use the store concurrently. \(failures.count) of 80 opens failed, e.g. \(failures.prefix(3))
                """)
        }
    }
}
