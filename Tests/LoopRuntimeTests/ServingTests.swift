import Foundation
import LoopData
import LoopDiagnostics
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

    func engine(_ dir: URL, queueCapacity: Int = 10_000, rate: Double? = nil, program: String = ham,
                configure: (inout TaskSpec, inout LoopSettings) -> Void = { _, _ in }) throws -> TaskEngine {
        var task = try F.task("sms_spam")
        if let rate { task.validation.rate = rate }
        var s = LoopSettings(task: task, streamPath: "serve", oracle: LabelsOracle(column: "label", labels: task.labelNames),
                             oraclePricing: nil, oracleClient: nil, generator: InducerGenerator(task: task, seed: []), seedExamples: [],
                             escalationDirectory: dir.appendingPathComponent("esc").path)
        s.initialProgram = program
        s.queueCapacity = queueCapacity
        s.batchSize = 1
        configure(&task, &s)
        s.task = task
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

    /// A batch served from the spans of one body (`serveSpans`) gets the answers, shadow answers,
    /// canary routing, samples and counts that the same inputs get as JSON values (`serveBatch`),
    /// with texts in the body as they are and texts placed apart (unescaped), given and made ids.
    func testABatchServedFromSpansIsServedAsFromJSONValues() throws {
        let dir = try F.tempDir("spans")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sms = try String(contentsOfFile: F.example("sms_spam", "program.loop"), encoding: .utf8)
        let records = Array(try F.records(F.example("sms_spam", "data.jsonl")).prefix(600))
        for sub in ["a", "b"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true) }
        let viaJSON = try engine(dir.appendingPathComponent("a"), queueCapacity: 100, rate: 0.3, program: sms)
        let viaSpans = try engine(dir.appendingPathComponent("b"), queueCapacity: 100, rate: 0.3, program: sms)
        let cand = try LoadedProgram(versionId: 99, source: Self.spam)
        for (share, range) in [(0.0, 0..<200), (0.5, 200..<600)] {
            for e in [viaJSON, viaSpans] { e.setServing(candidate: cand, share: share) }
            // The body: each text followed by its label; every fifth input's text placed apart, every third with an id.
            var body: [UInt8] = []
            var places: [(text: [Int], label: [Int])] = []
            for r in records[range] {
                let t = body.count
                body += Array(r["text"]!.string!.utf8)
                let l = body.count
                body += Array(r["label"]!.string!.utf8)
                places.append(([t, l], [l, body.count]))
            }
            var batch = SpanBatch(body: body, fields: ["text"], labelField: "label", singleText: true, madeIdPrefix: "test")
            var requests: [(key: RequestKey, input: JSON, record: JSON)] = []
            var made = 0
            for (k, i) in range.enumerated() {
                let r = records[i]
                let id: String? = i % 3 == 0 ? "given-\(i)" : nil
                if i % 5 == 0 {
                    batch.append(texts: [Array(r["text"]!.string!.utf8), Array(r["label"]!.string!.utf8)], givenId: id, madeNumber: id == nil ? made : -1)
                } else {
                    batch.append(spans: places[k].text + places[k].label, givenId: id, madeNumber: id == nil ? made : -1)
                }
                if id == nil { made += 1 }
                requests.append((.id(id ?? ""), r["text"]!, .object([("text", r["text"]!), ("label", r["label"]!)])))
            }
            batch.numberMadeIds(from: 10)
            for k in requests.indices where batch.givenIds[k] == nil { requests[k].key = .id(SpanBatch.madeId("test", batch.madeNumbers[k])) }
            if range.lowerBound == 0 { XCTAssertEqual(batch.idText(1), "test-a", "made ids count on from the base, in base 36") }
            let a = viaJSON.serveBatch(requests)
            let b = try XCTUnwrap(viaSpans.serveSpans(batch))
            for k in requests.indices {
                XCTAssertEqual(try a[k].result.get(), b.answer(k), "input \(range.lowerBound + k)")
                XCTAssertEqual(a[k].seq, b.firstSeq + k)
                XCTAssertEqual(batch.input(k), requests[k].input)
                XCTAssertEqual(batch.record(k), requests[k].record)
            }
            if share > 0 { XCTAssertTrue(b.byCandidate.contains(true) && b.byCandidate.contains(false), "the canary routes some of each") }
            XCTAssertEqual(b.anySampled, a.contains(where: \.sampled))
        }
        let (qa, qb) = (viaJSON.live.withLock { $0.queue.drain() }, viaSpans.live.withLock { $0.queue.drain() })
        XCTAssertGreaterThan(qa.count, 50)
        XCTAssertEqual(qa.map(\.seq), qb.map(\.seq))
        XCTAssertEqual(qa.map(\.requestId), qb.map(\.requestId))
        XCTAssertEqual(qa.map(\.input), qb.map(\.input))
        XCTAssertEqual(qa.map(\.record), qb.map(\.record))
        XCTAssertEqual(qa.map(\.answer), qb.map(\.answer))
        XCTAssertEqual(qa.map(\.other), qb.map(\.other))
        XCTAssertEqual(qa.map(\.probability), qb.map(\.probability))
        XCTAssertEqual(qa.map(\.servedByCandidate), qb.map(\.servedByCandidate))
        XCTAssertEqual(viaJSON.liveCounts.requests, viaSpans.liveCounts.requests)
        XCTAssertEqual(viaJSON.liveCounts.sampled, viaSpans.liveCounts.sampled)
        XCTAssertEqual(viaJSON.liveCounts.dropped, viaSpans.liveCounts.dropped)
        XCTAssertGreaterThan(viaSpans.liveCounts.dropped, 0, "the queue overflowed, and both counted it")
    }

    /// A server's early steps leave their rows for the next commit; feedback (an operator-side
    /// commit) meanwhile commits them too, with a cursor past them, and stepping on from there
    /// stores every sample exactly once.
    func testDeferredRowsAreCommittedByTheNextCommitWhateverMakesIt() throws {
        let dir = try F.tempDir("defer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.sqlite").path
        var task = try F.task("sms_spam")
        task.validation.rate = 1
        var s = LoopSettings(task: task, streamPath: "serve", oracle: LabelsOracle(column: "label", labels: task.labelNames),
                             oraclePricing: nil, oracleClient: nil, generator: InducerGenerator(task: task, seed: []), seedExamples: [],
                             escalationDirectory: dir.appendingPathComponent("esc").path)
        s.initialProgram = Self.ham
        s.batchSize = 1
        s.minCommitSeconds = 3600
        let e = try TaskEngine(settings: s, store: try SQLiteStore.open(path: path, task: task.name), resume: false)
        func serve(_ range: Range<Int>) {
            for i in range { _ = e.serve(.id("r\(i)"), input: JSON("m\(i)"), record: .object([("text", JSON("m\(i)")), ("label", JSON("ham"))])) }
        }
        serve(0..<5)
        try e.step(mayDefer: true)    // the run was committed when the engine started: deferred
        serve(5..<12)
        try e.step(mayDefer: true)
        XCTAssertEqual(try SQLiteStore.open(path: path, task: task.name).executions(run: e.run.id!).count, 0, "both steps' rows wait")
        XCTAssertEqual(e.state.validated, 12)
        try e.recordFeedback(input: .object([("text", JSON("fed back"))]), label: "spam", programLabel: "ham")
        XCTAssertEqual(try SQLiteStore.open(path: path, task: task.name).executions(run: e.run.id!).count, 12, "the feedback's commit took them")
        serve(12..<15)
        try e.step()
        let stored = try SQLiteStore.open(path: path, task: task.name).executions(run: e.run.id!).filter { $0.requestId?.hasPrefix("r") ?? false }
        XCTAssertEqual(stored.map(\.seq), Array(0..<15), "every sample stored once, in order")
        XCTAssertEqual(e.state.validated, 15)
    }

    /// The recent requests keep the last N by id, single ones and batch inputs alike; an id sent
    /// again is answered with its latest answer; older ones are forgotten.
    func testRecentRequestsKeepTheLastNByIdAcrossBatches() throws {
        var recent = RecentRequests(capacity: 100)
        let p = try LoadedProgram(versionId: 1, source: Self.ham)
        let answer = p.classify(JSON("x")).get
        for i in 0..<70 { recent.add("one-\(i)", input: JSON("text \(i)"), answer: try answer()) }
        var batch = SpanBatch(body: Array("abcdefghij".utf8), fields: ["text"], labelField: nil, singleText: true, madeIdPrefix: "b")
        for i in 0..<60 { batch.append(spans: [i % 10, 10], givenId: i % 2 == 0 ? "even-\(i)" : nil, madeNumber: i) }
        let served = SpanServed(active: p, candidate: nil, answers: Array(repeating: NativeAnswer(label: 1, decidedBy: 1, confidence: 1), count: 60),
                                byCandidate: [], firstSeq: 0, anySampled: false)
        recent.add(batch, served)
        XCTAssertNil(recent.get("one-29"), "the oldest 30 are forgotten")
        XCTAssertEqual(recent.get("one-30")?.input, JSON("text 30"))
        XCTAssertEqual(recent.get("even-4")?.input, JSON("efghij"))
        XCTAssertEqual(recent.get("b-1")?.input, JSON("bcdefghij"))
        XCTAssertEqual(recent.get("b-1")?.answer.label, "ham")
        XCTAssertNil(recent.get("b-60"))
        // Sent again: the latest answer replaces the earlier one, in place.
        recent.add("even-4", input: JSON("again"), answer: try answer())
        XCTAssertEqual(recent.get("even-4")?.input, JSON("again"))
        XCTAssertEqual(recent.get("one-30")?.input, JSON("text 30"))
        // Many more: every one of the last 100 is found, none before them.
        for i in 0..<5000 { recent.add("many-\(i)", input: JSON("\(i)"), answer: try answer()) }
        for i in 4900..<5000 { XCTAssertEqual(recent.get("many-\(i)")?.input, JSON("\(i)")) }
        XCTAssertEqual((0..<4900).filter { recent.get("many-\($0)") != nil }.count, 0)
        XCTAssertNil(recent.get("b-1"))
        // A body far larger than its inputs' texts is kept compacted: the same inputs, answers and ids.
        var padded = SpanBatch(body: Array("hello world".utf8) + Array(repeating: 0x20, count: 100_000), fields: ["text"],
                               labelField: "label", singleText: true, madeIdPrefix: "p")
        padded.append(spans: [0, 5, 6, 11], givenId: "first", madeNumber: -1)
        padded.append(texts: [Array("placed \"apart\"".utf8), Array("ham".utf8)], givenId: nil, madeNumber: 7)
        padded.append(spans: [6, 11, 0, 0], givenId: nil, madeNumber: 8)
        let compact = padded.compacted()
        XCTAssertTrue(compact.body.isEmpty)
        for i in 0..<3 {
            XCTAssertEqual(compact.input(i), padded.input(i))
            XCTAssertEqual(compact.record(i), padded.record(i))
            XCTAssertEqual(compact.idText(i), padded.idText(i))
        }
        recent.add(padded, SpanServed(active: p, candidate: nil, answers: Array(repeating: NativeAnswer(label: 1, decidedBy: 1, confidence: 1), count: 3),
                                      byCandidate: [], firstSeq: 0, anySampled: false))
        XCTAssertEqual(recent.get("first")?.input, JSON("hello"))
        XCTAssertEqual(recent.get("p-7")?.input, JSON("placed \"apart\""))
        XCTAssertEqual(recent.get("p-8")?.input, JSON("world"))
    }

    /// The recent-request cache keys a made id by a hash computed without its text: the same
    /// hash as the text's.
    func testAMadeIdsHashIsTheHashOfItsText() {
        var rng = SplitMix64(seed: 21)
        var batch = SpanBatch(body: Array("x".utf8), fields: ["text"], labelField: nil, singleText: true, madeIdPrefix: "k3x9a0pq")
        let numbers = [0, 1, 35, 36, 37, 1295, 1296, 46_655, 46_656, -5] + (0..<500).map { _ in Int.random(in: 0...(1 << Int.random(in: 1...50, using: &rng)), using: &rng) }
        for (k, n) in numbers.enumerated() { batch.append(spans: [0, 1], givenId: k % 5 == 0 ? "given-\(n)" : nil, madeNumber: k % 5 == 0 ? -1 : n) }
        for i in 0..<batch.count {
            XCTAssertEqual(batch.idHash(i), StableHash.fnv1a64(batch.idText(i).utf8), batch.idText(i))
        }
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

    /// Shadow's window counts the requests whose samples have been validated, not the requests
    /// answered: a control side behind the traffic (samples still queued, as on a busy server
    /// with a slow oracle) does not close the window on evidence that has not arrived.
    func testTheShadowWindowCountsRequestsWhoseEvidenceIsIn() throws {
        let dir = try F.tempDir("evidence")
        defer { try? FileManager.default.removeItem(at: dir) }
        let e = try engine(dir, rate: 1) { task, s in
            task.improvement.window = 50          // shadow lasts 4 × 50 requests
            s.maxSamplesPerStep = 5               // the control side validates 5 samples a step
        }
        XCTAssertEqual(e.shadowLimit, 200)
        try e.applyImprovement(TaskEngine.Improvement(reason: "test", baseVersion: e.state.activeVersion,
                                                      generated: GeneratedProgram(source: Self.spam, provenance: "test", calls: [])))
        XCTAssertEqual(e.state.candidate?.stage, .shadow)
        // Every request is a disagreement (ham against spam); the oracle sides with each in turn.
        for i in 0..<260 {
            let label = i % 2 == 0 ? "spam" : "ham"
            _ = e.serve(.id("r\(i)"), input: JSON("m\(i)"), record: .object([("text", JSON("m\(i)")), ("label", JSON(label))]))
        }
        try e.step()
        XCTAssertEqual(e.evidenceThrough, 5)
        XCTAssertEqual(e.state.candidate?.stage, .shadow, "260 requests answered, but only 5 of them validated: the window is open")
        var steps = 1
        while e.state.candidate != nil && e.queued > 0 { try e.step(); steps += 1 }
        XCTAssertNil(e.state.candidate)
        XCTAssertEqual(steps, 40, "decided once 200 requests' samples were in")
        let rejected = try XCTUnwrap(e.state.events.last { $0.kind == "rejected" })
        XCTAssertEqual(rejected.detail, "no significant win in shadow after 200 requests (100–100)")
    }

    /// Two replicas share one budget of 10 oracle calls an hour. The second took its 8 samples
    /// before it learned of the first's 8 calls: when it validates, it asks the oracle only for
    /// the 2 that still fit, and the other 6 count as unvalidated.
    func testSamplesThatNoLongerFitTheTasksBudgetAreNotAsked() throws {
        let dir = try F.tempDir("budget")
        defer { try? FileManager.default.removeItem(at: dir) }
        func replica(_ name: String) throws -> TaskEngine {
            try engine(dir, rate: 1) { task, s in
                task.validation.maxOracleCallsPerHour = 10
                task.validation.pacing = false
                s.replica = name
            }
        }
        let a = try replica("a"), b = try replica("b")
        func serve(_ e: TaskEngine, _ range: Range<Int>) {
            for i in range { _ = e.serve(.id("r\(i)"), input: JSON("m\(i)"), record: .object([("text", JSON("m\(i)")), ("label", JSON("ham"))])) }
        }
        serve(a, 0..<8)
        serve(b, 8..<16)
        try a.step()
        try b.step()
        XCTAssertEqual(b.oracleCallsElsewhere, 8)
        XCTAssertEqual(a.state.validated, 8)
        XCTAssertEqual(b.state.sampled, 8)
        XCTAssertEqual(b.state.validated, 2, "only 2 of b's samples fit once a's 8 calls are known")
        XCTAssertEqual(b.state.unvalidated, 6)
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("s.sqlite").path, task: a.settings.task.name)
        XCTAssertEqual(try store.executions(run: a.run.id!).count + store.executions(run: b.run.id!).count, 10, "10 oracle answers in all")
    }
}
