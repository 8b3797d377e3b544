import Foundation
import XCTest
@testable import LoopStore

/// A fresh temporary directory, removed at the end of the test.
func makeTempDir(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopstore-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// A deterministic workload shared by the unit tests, the child writer and the kill test.
/// A batch starting at stream index `c` covers `batchSize(c)` inputs; inputs whose index is a
/// multiple of 3 are "sampled": stored with one oracle answer, two comparisons (the active
/// version and a shadow candidate) and one ledger entry.
enum Workload {
    static let task = "durability"
    static let padding = String(repeating: "x", count: 600)

    static func batchSize(_ c: Int) -> Int { 5 + c % 7 }
    static func sampled(_ seq: Int) -> Bool { seq % 3 == 0 }
    static func label(_ seq: Int) -> String { seq % 2 == 0 ? "spam" : "ham" }
    static func input(_ seq: Int) -> String { "{\"text\":\"message \(seq % 50) \(padding)\"}" }

    /// Sets up a store with an active version, a shadow candidate and a run.
    static func setUp(_ store: any TaskStore) throws -> (run: Run, active: ProgramVersion, shadow: ProgramVersion) {
        let active = try store.addVersion(ProgramVersion(source: "program active", provenance: "{\"generator\":\"test\"}", status: .active))
        let shadow = try store.addVersion(ProgramVersion(source: "program shadow", parentId: active.id, status: .shadow))
        let run = try store.startRun(streamPath: "stream.jsonl")
        return (run, active, shadow)
    }

    /// Commits the batch that starts at the run's cursor; returns the new cursor.
    @discardableResult
    static func writeBatch(_ store: any TaskStore, runId: Int64, activeId: Int64, shadowId: Int64) throws -> Int {
        let start = try store.run(id: runId)!.cursor
        let end = start + batchSize(start)
        var items: [BatchItem] = []
        var ledger: [LedgerEntry] = []
        for seq in start..<end where sampled(seq) {
            let e = Execution(runId: runId, seq: seq, input: input(seq), output: label(seq), confidence: 0.9, rule: "r\(seq % 4)",
                              versionId: activeId, inclusionProbability: 1.0 / 3, stratum: "s\(seq % 2)", tier: 2)
            let oracle = seq % 5 == 0 ? "ham" : label(seq)
            items.append(BatchItem(execution: e,
                                   answers: [OracleAnswer(inputHash: e.inputHash, label: oracle, raw: oracle, cost: 0.001)],
                                   comparisons: [Comparison(versionId: activeId, programLabel: label(seq), oracleLabel: oracle, weight: 3),
                                                 Comparison(versionId: shadowId, programLabel: oracle, oracleLabel: oracle, weight: 3)]))
            ledger.append(LedgerEntry(runId: runId, provider: "stub", model: "m", purpose: "oracle", inputTokens: 100,
                                      outputTokens: 2, latency: 0.01, cost: 0.001))
        }
        try store.commit(StoreCommit(runId: runId, cursor: end, items: items, ledger: ledger,
                              counters: ["requests": Double(end - start), "programAnswers": Double(end - start),
                                         "samples": Double(items.count), "oracleCalls": Double(items.count), "batches": 1]))
        return end
    }

    /// Checks that the store holds exactly the whole batches up to the run's cursor, each once.
    static func checkInvariants(_ store: any TaskStore, runId: Int64, file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try XCTUnwrap(store.run(id: runId), file: file, line: line)
        let cursor = run.cursor
        // The cursor sits on a batch boundary: no half batch was committed.
        var c = 0, batches = 0
        while c < cursor { c += batchSize(c); batches += 1 }
        XCTAssertEqual(c, cursor, "cursor \(cursor) is not a batch boundary", file: file, line: line)

        let executions = try store.executions(run: runId)
        let expectedSeqs = (0..<cursor).filter(sampled)
        XCTAssertEqual(executions.map(\.seq), expectedSeqs, file: file, line: line)

        let counters = try store.counters(run: runId)
        XCTAssertEqual(counters["requests"] ?? 0, Double(cursor), file: file, line: line)
        XCTAssertEqual(counters["programAnswers"] ?? 0, Double(cursor), file: file, line: line)
        XCTAssertEqual(counters["samples"] ?? 0, Double(executions.count), file: file, line: line)
        XCTAssertEqual(counters["oracleCalls"] ?? 0, Double(executions.count), file: file, line: line)
        XCTAssertEqual(counters["batches"] ?? 0, Double(batches), file: file, line: line)

        let totals = try store.ledgerTotals(run: runId)
        XCTAssertEqual(totals["oracle"]?.calls ?? 0, executions.count, file: file, line: line)
        XCTAssertEqual(try store.comparisons().count, 2 * executions.count, file: file, line: line)
        if let sqlite = store as? SQLiteStore { XCTAssertEqual(try sqlite.integrityCheck(), "ok", file: file, line: line) }
    }
}
