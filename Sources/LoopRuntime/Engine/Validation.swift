import Foundation
import LoopData
import LoopGenerate
import LoopLLM
import LoopStore

/// The validation pipeline's control half: stored answers (tier 2), then the oracle (tier 3),
/// then comparisons, estimates and counterexamples.
extension TaskEngine {
    /// Returns the rows to commit and how many samples went unvalidated (already added to the
    /// request side's count, with the sampler's observations).
    func validate(_ queue: [Sample]) -> (items: [BatchItem], answers: [OracleAnswer], ledger: [LedgerEntry], unvalidated: Int) {
        guard !queue.isEmpty else { return ([], [], [], 0) }
        var verdicts: [OracleVerdict?] = Array(repeating: nil, count: queue.count)
        var tiers = Array(repeating: 3, count: queue.count)
        let hashes = queue.map { Store.hash(JSONWriter.string($0.input)) }
        // Tier 2: an answer the oracle already gave for this exact input costs nothing (one
        // lookup for the whole step).
        let stored = (try? store.latestLabels(inputHashes: hashes)) ?? [:]
        for (i, h) in hashes.enumerated() {
            // Answers of steps not yet committed count as stored, before older stored ones (a
            // server commits every so often).
            if let label = batchValidated[h]?.label ?? stored[h] {
                // Every 50th stored answer is asked again: a changed answer shows an oracle that
                // contradicts itself (an ambiguous specification).
                state.storedAnswerLookups += 1
                if state.storedAnswerLookups % 50 != 0 {
                    verdicts[i] = OracleVerdict(label: label, raw: label, source: "cache")
                    tiers[i] = 2
                }
            }
        }
        var ask = queue.indices.filter { verdicts[$0] == nil }
        // Samples are charged to the budget when they are taken; another replica's calls come to
        // light later (this step's `coordinate`). The sampled ones that no longer fit are not
        // asked (they count as unvalidated), so the task as a whole keeps within its budget.
        let over = live.withLock { $0.sampler.callsOverBudget(at: Date().timeIntervalSince1970) }
        if over > 0 {
            let skipped = Set(ask.filter { queue[$0].sampled }.suffix(over))
            ask.removeAll { skipped.contains($0) }
            if !skipped.isEmpty { log?("\(skipped.count) sample(s) not sent to the oracle: the task's oracle budget is spent (calls of other replicas)") }
        }
        var ledger: [LedgerEntry] = []
        var costPerAnswer = [Double](repeating: 0, count: queue.count)
        var unvalidated = 0
        if !ask.isEmpty {
            // This step's calls, and no one else's (the improver may share the client).
            let calls = CallLog()
            do {
                let seesRecord = settings.oracle is LabelsOracle
                let got = try settings.oracle.judge(ask.map { seesRecord ? queue[$0].record : queue[$0].input }, log: calls)
                // Every call of the oracle failed (its batches came back without answers): the
                // oracle is down, and validation backs off as if it had thrown.
                if settings.oracleClient != nil {
                    let made = calls.records
                    if !made.isEmpty && made.allSatisfy({ !$0.succeeded }) { throw OracleDown(calls: made.count) }
                }
                for (k, i) in ask.enumerated() { verdicts[i] = got[k] }
                state.oracleFailuresInARow = 0
                if settings.oracleClient != nil {
                    let made = calls.records
                    account(made, purposeCost: \.oracleCost)
                    ledger += made.map { Self.ledgerEntry($0, run: run.id) }
                    let cost = made.compactMap(\.cost).reduce(0, +) / Double(ask.count)
                    for i in ask { costPerAnswer[i] = cost }
                } else {
                    // A stand-in oracle is priced as the LLM calls it stands for: the same batched prompts.
                    let batch = max(1, task.oracle.batchSize)
                    for chunk in stride(from: 0, to: ask.count, by: batch) {
                        let part = Array(ask[chunk..<min(chunk + batch, ask.count)])
                        let (tin, tout) = tokenModel.batch(part.map { queue[$0].input })
                        let cost = settings.oraclePricing?.cost(inputTokens: tin, outputTokens: tout) ?? 0
                        state.oracleCalls += 1
                        state.inputTokens += tin; state.outputTokens += tout
                        state.oracleCost += cost
                        for i in part { costPerAnswer[i] = cost / Double(part.count) }
                        ledger.append(LedgerEntry(runId: run.id, provider: settings.oracle.name, model: "stand-in", purpose: "oracle",
                                                  inputTokens: tin, outputTokens: tout, estimated: true, latency: 0, cost: cost,
                                                  outcome: "success", cached: false, time: Store.now()))
                    }
                }
            } catch {
                // The oracle is down: requests are still answered; validation backs off and retries later.
                state.oracleFailuresInARow += 1
                if settings.oracleClient == nil { state.oracleErrors += 1 }
                let wait = min(settings.batchSize * (1 << min(state.oracleFailuresInARow, 6)), 20_000)
                let until = (queue.last?.seq ?? 0) + wait
                state.oracleBackoffUntil = until
                live.withLock { $0.oracleBackoffUntil = until }
                log?("oracle failed (\(error)); validation pauses for \(wait) requests")
                if settings.oracleClient != nil {
                    let made = calls.records
                    account(made, purposeCost: \.oracleCost)
                    ledger += made.map { Self.ledgerEntry($0, run: run.id) }
                }
            }
        }
        var items: [BatchItem] = []
        var batchLabels: [String: String] = [:]
        var observations: [(agree: Bool, probability: Double, context: SampleContext)] = []
        for (i, p) in queue.enumerated() {
            guard let v = verdicts[i] else { if p.sampled { unvalidated += 1 }; continue }
            var exec = Execution(runId: run.id!, seq: p.seq, input: JSONWriter.string(p.input), inputHash: hashes[i], output: p.answer.label,
                                 confidence: p.answer.confidence, rule: p.answer.decidedBy, versionId: p.answer.versionId, time: Store.now(),
                                 inclusionProbability: p.sampled ? p.probability : 1, stratum: p.sampled ? p.context.stratum : "shadow", tier: tiers[i])
            exec.inputHash = hashes[i]
            exec.requestId = p.requestId
            var item = BatchItem(execution: exec)
            if tiers[i] == 3 {
                item.answers.append(OracleAnswer(inputHash: hashes[i], label: v.label, raw: v.raw,
                                                 source: v.source == "labels" ? .labels : .llm, cost: costPerAnswer[i], time: Store.now()))
            }
            guard let label = v.label else {
                state.invalidOracleAnswers += 1
                if p.sampled { unvalidated += 1 }
                items.append(item)
                continue
            }
            let uncommitted = batchValidated[hashes[i]]?.label
            batchValidated[hashes[i]] = (JSONWriter.string(p.input), label)
            if tiers[i] == 3 {
                let previous = batchLabels[hashes[i]] ?? uncommitted ?? stored[hashes[i]]
                if let previous, previous != label { state.contradictions += 1 }
                batchLabels[hashes[i]] = label
            }
            if p.sampled { state.validated += 1; if tiers[i] == 3 { state.tier3 += 1 } else { state.tier2 += 1 } }
            let agree = p.answer.label == label
            if !agree && p.answer.versionId == state.activeVersion {
                state.failures.append(Counterexample(input: p.input, programLabel: p.answer.label, expected: label, decidedBy: p.answer.decidedBy))
                if state.failures.count > 200 { state.failures.removeFirst(state.failures.count - 200) }
            }
            item.comparisons.append(Comparison(executionId: 0, versionId: p.answer.versionId, programLabel: p.answer.label, oracleLabel: label,
                                               agree: agree, weight: p.sampled ? 1 / p.probability : 0))
            if let o = p.other {
                item.comparisons.append(Comparison(executionId: 0, versionId: o.versionId, programLabel: o.label, oracleLabel: label,
                                                   agree: o.label == label, weight: 0))
            }
            if p.sampled {
                state.recentValidations.append(Validation(seq: p.seq, input: JSONWriter.string(p.input), programLabel: p.answer.label, oracleLabel: label,
                                                          decidedBy: p.answer.decidedBy, versionId: p.answer.versionId, weight: 1 / p.probability))
                if state.recentValidations.count > 400 { state.recentValidations.removeFirst(state.recentValidations.count - 400) }
                observations.append((agree, p.probability, p.context))
                state.agreement.add(agree: agree, probability: p.probability)
            }
            if var c = state.candidate {
                let candidateAnswer = p.servedByCandidate ? p.answer : p.other
                let activeAnswer = p.servedByCandidate ? p.other : p.answer
                if let ca = candidateAnswer, let aa = activeAnswer, ca.label != aa.label {
                    c.paired.record(candidateCorrect: ca.label == label, currentCorrect: aa.label == label)
                }
                if c.stage == .canary && p.sampled {
                    if p.servedByCandidate { c.canary.add(agree: agree, probability: p.probability) }
                    else { c.base.add(agree: agree, probability: p.probability) }
                }
                state.candidate = c
            }
            items.append(item)
        }
        // The sampler lives on the request side: its observations go in under its lock.
        if !observations.isEmpty || unvalidated > 0 {
            live.withLock { l in
                l.unvalidated += unvalidated
                for o in observations { l.sampler.observe(agree: o.agree, probability: o.probability, context: o.context) }
            }
        }
        return (items, [], ledger, unvalidated)
    }
}

/// Every oracle call of a validation step failed.
struct OracleDown: Error, CustomStringConvertible {
    var calls: Int
    var description: String { "all \(calls) oracle call(s) failed" }
}
