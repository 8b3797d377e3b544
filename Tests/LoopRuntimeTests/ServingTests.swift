import Foundation
import LoopData
import LoopGenerate
import LoopStore
import LoopTask
import XCTest
@testable import LoopRuntime

/// The request path on its own: the serving snapshot, the bounded queue, and a hot swap while
/// many threads serve.
final class ServingTests: XCTestCase {
    typealias F = LoopDriverFixtures
    static let ham = "program always_ham\ninput text: text\nlabels spam, ham\notherwise => ham\ntest \"x\" => ham\n"
    static let spam = "program always_spam\ninput text: text\nlabels spam, ham\notherwise => spam\ntest \"x\" => spam\n"

    func engine(_ dir: URL, queueCapacity: Int = 10_000, rate: Double? = nil) throws -> TaskEngine {
        var task = try F.task("sms_spam")
        if let rate { task.validation.rate = rate }
        var s = LoopSettings(task: task, streamPath: "serve", oracle: LabelsOracle(column: "label", labels: task.labelNames),
                             oraclePricing: nil, oracleClient: nil, generator: InducerGenerator(task: task, seed: []), seedExamples: [],
                             escalationDirectory: dir.appendingPathComponent("esc").path)
        s.initialProgram = Self.ham
        s.queueCapacity = queueCapacity
        s.batchSize = 1
        return try TaskEngine(settings: s, store: try SQLiteStore.open(path: dir.appendingPathComponent("s.sqlite").path, task: task.name), resume: false)
    }

    func testTheBoundedBufferCountsWhatItRefuses() {
        var b = BoundedBuffer<Int>(capacity: 3, window: 100)
        XCTAssertEqual((0..<5).map { b.offer($0) }, [true, true, true, false, false])
        XCTAssertEqual(b.dropped, 2)
        XCTAssertEqual(b.accepted, 3)
        XCTAssertEqual(b.keptFraction, 0.6, accuracy: 1e-12)
        XCTAssertEqual(b.drain(), [0, 1, 2])
        XCTAssertTrue(b.isEmpty)
        XCTAssertTrue(b.offer(9))
    }

    func testShadowAnswersComeFromTheCandidateAndCanaryRoutingIsByRequestId() throws {
        let dir = try F.tempDir("shadow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let e = try engine(dir, rate: 1)
        let cand = try LoadedProgram(versionId: 99, source: Self.spam)
        e.setServing(candidate: cand, share: 0)
        let s = e.serve(.id("r1"), input: JSON("hello"), record: .object([("text", JSON("hello")), ("label", JSON("ham"))]))
        XCTAssertEqual(try s.result.get().label, "ham", "in shadow the active version answers")
        let queued = e.live.withLock { $0.queue.drain() }
        XCTAssertEqual(queued.count, 1)
        XCTAssertEqual(queued.first?.other?.versionId, 99, "the shadow answer is the candidate's")
        XCTAssertEqual(queued.first?.other?.label, "spam")
        // At a 50% canary, the same id is always routed the same way, and about half go to the candidate.
        e.setServing(candidate: cand, share: 0.5)
        var byCandidate = 0
        for i in 0..<2000 {
            let a = try e.serve(.id("req-\(i)"), input: JSON("hello"), record: .object([("text", JSON("hello")), ("label", JSON("ham"))])).result.get()
            let again = try e.serve(.id("req-\(i)"), input: JSON("hello"), record: .object([("text", JSON("hello")), ("label", JSON("ham"))])).result.get()
            XCTAssertEqual(a.versionId, again.versionId)
            if a.versionId == 99 { byCandidate += 1 }
        }
        XCTAssertEqual(Double(byCandidate) / 2000, 0.5, accuracy: 0.05)
    }

    /// A full queue drops samples and counts them; the samples it keeps carry the share kept.
    func testAFullQueueDropsAndCountsSamples() throws {
        let dir = try F.tempDir("drops")
        defer { try? FileManager.default.removeItem(at: dir) }
        let e = try engine(dir, queueCapacity: 10, rate: 1)
        for i in 0..<50 { _ = e.serve(.seq(i), input: JSON("m\(i)"), record: .object([("text", JSON("m\(i)")), ("label", JSON("ham"))])) }
        XCTAssertEqual(e.queued, 10)
        XCTAssertEqual(e.droppedSamples, 40)
        try e.step()
        XCTAssertEqual(e.state.sampled, 50)
        XCTAssertEqual(e.state.validated, 10)
        XCTAssertEqual(e.state.unvalidated, 40, "a dropped sample is an unvalidated one")
        XCTAssertEqual(e.state.dropped, 40)
        XCTAssertEqual(e.state.sampled, e.state.validated + e.state.unvalidated)
    }

    /// Eight threads serve while the control side swaps the active version 200 times: no request
    /// fails and every answer is the answer of the version it names.
    func testAHotSwapUnderLoadAttributesEveryAnswer() throws {
        let dir = try F.tempDir("swap")
        defer { try? FileManager.default.removeItem(at: dir) }
        let e = try engine(dir, rate: 0.01)
        let programs = [try LoadedProgram(versionId: 1, source: Self.ham), try LoadedProgram(versionId: 2, source: Self.spam)]
        let stop = Locked(false)
        let wrong = Locked(0), answered = Locked(0)
        let group = DispatchGroup()
        for t in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                var i = 0
                while !stop.current {
                    i += 1
                    let r = e.serve(.id("t\(t)-\(i)"), input: JSON("x"), record: .object([("text", JSON("x")), ("label", JSON("ham"))]))
                    switch r.result {
                    case .success(let a): if (a.versionId == 1) != (a.label == "ham") { wrong.withLock { $0 += 1 } }
                    case .failure: wrong.withLock { $0 += 1 }
                    }
                    answered.withLock { $0 += 1 }
                }
                group.leave()
            }
        }
        for k in 0..<200 {
            e.activeProgram = programs[k % 2]
            e.setServing(candidate: nil, share: 0)
            usleep(500)
        }
        stop.withLock { $0 = true }
        group.wait()
        XCTAssertGreaterThan(answered.current, 1000)
        XCTAssertEqual(wrong.current, 0)
        XCTAssertEqual(e.requestCount, answered.current, "every request counted once")
    }
}
