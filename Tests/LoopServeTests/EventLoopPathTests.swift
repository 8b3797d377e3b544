import Foundation
import LoopData
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 connection on a plain socket: requests written as the test spells them (in
/// pieces, pipelined, chunked), answers read one by one.
final class RawConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    struct Answer {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSON? { try? JSONParser.parse(body) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { close(fd); throw NSError(domain: "connect", code: Int(errno)) }
        // A read waits at most 20 s: a missing answer fails the test instead of hanging it.
        var tv = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }
    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            sent += n
        }
    }

    /// Sends until the peer stops taking bytes for `seconds`; returns how many it took.
    func sendUntilStalled(_ bytes: [UInt8], seconds: Int) -> Int {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < bytes.count {
            let end = min(bytes.count, sent + 65536)
            let n = bytes[sent..<end].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            sent += n
        }
        var none = timeval(tv_sec: 0, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
        return sent
    }

    /// A request's bytes, with `Content-Length` unless `headers` name another framing.
    static func request(_ method: String, _ path: String, body: String = "", headers: [String] = ["Content-Type: application/json"]) -> String {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for h in headers { head += h + "\r\n" }
        if !headers.contains(where: { $0.lowercased().hasPrefix("transfer-encoding") }) { head += "Content-Length: \(body.utf8.count)\r\n" }
        return head + "\r\n" + body
    }

    /// Whether the server has closed the connection (a read sees its end) within `seconds`.
    func closedByServer(within seconds: Int) -> Bool {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var chunk = [UInt8](repeating: 0, count: 4096)
        return recv(fd, &chunk, chunk.count, 0) == 0
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { throw NSError(domain: "recv", code: Int(n == 0 ? 0 : errno), userInfo: [NSLocalizedDescriptionKey: n == 0 ? "closed by the server" : "no answer"]) }
        buffer += chunk[0..<n]
    }

    /// The next answer (`Content-Length` framing, as the server writes every answer).
    func answer() throws -> Answer {
        let end: Int = try {
            while true {
                if buffer.count >= 4, let i = (0...(buffer.count - 4)).first(where: { buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10 }) { return i }
                try fill()
            }
        }()
        let lines = String(decoding: buffer[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1])!
        let headers = lines.dropFirst().map { l -> (String, String) in
            let c = l.firstIndex(of: ":")!
            return (String(l[..<c]), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces))
        }
        let length = Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0")!
        while buffer.count < end + 4 + length { try fill() }
        let body = Array(buffer[(end + 4)..<(end + 4 + length)])
        buffer.removeFirst(end + 4 + length)
        return Answer(status: status, headers: headers, body: body)
    }
}

/// The classify endpoints answered on the event loop (`ClassifyChannelHandler`) against
/// Hummingbird's route (`LOOPAI_CLASSIFY_PATH=route`), and the HTTP the handler must keep:
/// pipelining, bodies in pieces, chunked bodies, idle timeouts, graceful shutdown.
final class EventLoopPathTests: XCTestCase {
    var sms: String { ServeProcess.root.appendingPathComponent("Examples/sms_spam").path }
    let classify = "/v1/tasks/sms_spam/classify"

    func start(_ dir: URL, extra: [String] = [], env: [String: String] = [:]) throws -> ServeProcess {
        try ServeProcess(["--task", sms + "/task.yaml", "--program", sms + "/program.loop", "--oracle", "labels:label",
                          "--store", dir.path, "--generator", "induce", "--max-body", "3000", "--max-batch", "5"] + extra,
                         environment: ["LOOPAI_ADMIN_TOKEN": "t"].merging(env) { $1 })
    }

    /// Every kind of classify request, answered by the two paths: the same status, headers
    /// (but the date's value) and bytes; afterwards the same request and refusal counts.
    func testTheEventLoopAnswersAsHummingbirdsRouteDoes() throws {
        let records = Array(try jsonLines(sms + "/data.jsonl").prefix(120))
        var requests: [String] = []
        for (i, r) in records.enumerated() {
            let body = JSON.object([("id", i % 3 == 0 ? JSON.number(Double(i)) : JSON("q\(i)")), ("text", r["text"]!), ("label", r["label"]!)])
            requests.append(RawConnection.request("POST", classify, body: JSONWriter.string(body)))
        }
        let batch = JSON.object([("inputs", .array(records.prefix(5).enumerated().map { i, r in .object([("id", JSON("b\(i)")), ("text", r["text"]!), ("label", r["label"]!)]) }))])
        requests += [
            RawConnection.request("POST", classify + "/batch", body: JSONWriter.string(batch)),
            RawConnection.request("POST", classify, body: #"{"id":"e1","text":"caf\u00e9 \"quoted\"\n\ttab","label":"ham"}"#),
            RawConnection.request("POST", classify, body: #"{"id":"e2","text":"x","label":"hm"}"#),
            RawConnection.request("POST", classify, body: #"{"id":"e3","label":"ham"}"#),
            RawConnection.request("POST", classify, body: #"{"id":"e4","text":3,"label":"ham"}"#),
            RawConnection.request("POST", classify, body: #"{"text": "#),
            RawConnection.request("POST", classify, body: ""),
            RawConnection.request("POST", classify, body: #"[1,2]"#),
            RawConnection.request("POST", classify, body: #"{"id":true,"text":"x","label":"ham"}"#),
            RawConnection.request("POST", classify, body: "{\"id\":\"big\",\"text\":\"\(String(repeating: "a", count: 4000))\",\"label\":\"ham\"}"),
            RawConnection.request("POST", classify, body: "{}", headers: ["Content-Type: text/plain"]),
            RawConnection.request("POST", classify + "/batch", body: #"{"inputs":[{"id":"m1","text":"hi","label":"ham"},{"id":"m2","text":1,"label":"ham"}]}"#),
            RawConnection.request("POST", classify + "/batch", body: #"{"inputs":[{},{},{},{},{},{}]}"#),
            RawConnection.request("POST", classify + "/batch", body: #"{"input":[]}"#),
            RawConnection.request("POST", "/v1/tasks/nope/classify", body: #"{"text":"x"}"#),
        ]
        var answers: [[RawConnection.Answer]] = []
        var counts: [[String]] = []
        var taken: [String] = []
        for env in [[:], ["LOOPAI_CLASSIFY_PATH": "route"]] {
            let dir = try serveTempDir("loop-path")
            defer { try? FileManager.default.removeItem(at: dir) }
            let server = try start(dir, env: env)
            // Validation paused: no sample, no candidate, so both servers answer with v1 throughout.
            XCTAssertEqual(try server.post("/v1/tasks/sms_spam/pause", .object([]), token: "t").status, 200)
            let c = try RawConnection(port: server.port)
            var got: [RawConnection.Answer] = []
            for r in requests { c.send(r); got.append(try c.answer()) }
            answers.append(got)
            let metrics = try server.get("/metrics").text.split(separator: "\n").map(String.init)
            taken += metrics.filter { $0.hasPrefix("loopai_classify_on_event_loop_total") }
            counts.append(metrics
                .filter { l in ["loopai_requests_total", "loopai_request_errors_total", "loopai_request_duration_seconds_count", "loopai_batch_request_duration_seconds_count"].contains { l.hasPrefix($0) } }.sorted())
            XCTAssertEqual(server.stop(), 0, server.stderr)
        }
        for (i, (a, b)) in zip(answers[0], answers[1]).enumerated() {
            XCTAssertEqual(a.status, b.status, "request \(i): \(a.text)")
            XCTAssertEqual(a.text, b.text, "request \(i)")
            XCTAssertEqual(a.headers.map { $0.0.lowercased() }, b.headers.map { $0.0.lowercased() }, "request \(i)")
            XCTAssertEqual(a.headers.filter { $0.0.lowercased() != "date" }.map { "\($0.0): \($0.1)" },
                           b.headers.filter { $0.0.lowercased() != "date" }.map { "\($0.0): \($0.1)" }, "request \(i)")
            XCTAssertNotNil(a.header("date").flatMap { Self.httpDate.date(from: $0) }, "request \(i): \(a.headers)")
        }
        XCTAssertEqual(answers[0].prefix(120).filter { $0.status == 200 }.count, 120)
        XCTAssertEqual(Set(answers[0].map(\.status)), [200, 400, 404, 413, 415, 422])
        XCTAssertFalse(counts[0].isEmpty)
        XCTAssertEqual(counts[0], counts[1])
        // Taken on the event loop: every request but those passed on (the body over the limit,
        // the other content type, the unknown task); none with the route.
        XCTAssertEqual(taken, ["loopai_classify_on_event_loop_total \(requests.count - 3)", "loopai_classify_on_event_loop_total 0"])
    }

    /// `loopai_classify_on_event_loop_total` of a running server.
    func takenOnEventLoop(_ server: ServeProcess) throws -> Int? {
        let metrics = try server.get("/metrics").text
        return metrics.split(separator: "\n").first { $0.hasPrefix("loopai_classify_on_event_loop_total ") }.flatMap { Int($0.split(separator: " ")[1]) }
    }

    static let httpDate: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f
    }()

    /// Requests sent together, some answered on the event loop and some by Hummingbird (status,
    /// feedback through the control thread, health): the answers come back in request order.
    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let dir = try serveTempDir("pipeline")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try start(dir)
        let c = try RawConnection(port: server.port)
        func single(_ id: String) -> String { RawConnection.request("POST", classify, body: #"{"id":"\#(id)","text":"see you at lunch","label":"ham"}"#) }
        for round in 0..<3 {
            c.send([single("p\(round)a"),
                    RawConnection.request("GET", "/v1/tasks/sms_spam", headers: []),
                    single("p\(round)b"),
                    RawConnection.request("POST", "/v1/tasks/sms_spam/feedback", body: #"{"id":"p\#(round)a","label":"ham"}"#),
                    single("p\(round)c"),
                    RawConnection.request("POST", classify + "/batch", body: #"{"inputs":[{"id":"p\#(round)d","text":"WIN cash now","label":"spam"}]}"#),
                    RawConnection.request("GET", "/healthz", headers: []),
                    single("p\(round)e")].joined())
            XCTAssertEqual(try c.answer().json?["id"]?.string, "p\(round)a")
            XCTAssertEqual(try c.answer().json?["task"]?.string, "sms_spam")
            XCTAssertEqual(try c.answer().json?["id"]?.string, "p\(round)b")
            XCTAssertEqual(try c.answer().json?["stored"]?.bool, true)
            XCTAssertEqual(try c.answer().json?["id"]?.string, "p\(round)c")
            XCTAssertEqual(try c.answer().json?["answers"]?.array?.first?["id"]?.string, "p\(round)d")
            XCTAssertEqual(try c.answer().json?["status"]?.string, "ok")
            XCTAssertEqual(try c.answer().json?["id"]?.string, "p\(round)e")
        }
        // Each round's first request found nothing unanswered before it, and was taken on the event
        // loop; the ones after the status request were taken only once Hummingbird had answered it.
        XCTAssertGreaterThanOrEqual(try takenOnEventLoop(server) ?? 0, 3)
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    /// A body that arrives in pieces, and a chunked one, is answered as the same body in one piece.
    func testABodyInPiecesOrChunkedIsAnsweredWhole() throws {
        let dir = try serveTempDir("pieces")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try start(dir)
        let body = #"{"id":"w","text":"URGENT! You have won a 1 week FREE membership","label":"spam"}"#
        let c = try RawConnection(port: server.port)
        c.send(RawConnection.request("POST", classify, body: body))
        let whole = try c.answer()
        XCTAssertEqual(whole.status, 200, whole.text)
        let pieces = Array(RawConnection.request("POST", classify, body: body).utf8)
        let cuts = [0, 30, pieces.count - body.utf8.count + 7, pieces.count - 3, pieces.count]
        for k in 0..<(cuts.count - 1) {
            c.send(Array(pieces[cuts[k]..<cuts[k + 1]]))
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(try c.answer().text, whole.text)
        let b = Array(body.utf8)
        var chunked = Array(RawConnection.request("POST", classify, headers: ["Content-Type: application/json", "Transfer-Encoding: chunked"]).utf8)
        for part in [b[0..<20], b[20...]] { chunked += Array(String(part.count, radix: 16).utf8) + [13, 10] + part + [13, 10] }
        chunked += Array("0\r\n\r\n".utf8)
        c.send(chunked)
        XCTAssertEqual(try c.answer().text, whole.text)
        // Over the limit in pieces: refused as the route refuses it, and the connection goes on.
        let big = "{\"text\":\"\(String(repeating: "a", count: 5000))\",\"label\":\"ham\"}"
        var bigChunked = Array(RawConnection.request("POST", classify, headers: ["Content-Type: application/json", "Transfer-Encoding: chunked"]).utf8)
        for part in stride(from: 0, to: big.utf8.count, by: 1000).map({ Array(big.utf8).dropFirst($0).prefix(1000) }) {
            bigChunked += Array(String(part.count, radix: 16).utf8) + [13, 10] + part + [13, 10]
        }
        bigChunked += Array("0\r\n\r\n".utf8)
        // Sent together with the next request: that one waits for the refusal, then is answered.
        c.send(bigChunked + Array(RawConnection.request("POST", classify, body: body).utf8))
        let refused = try c.answer()
        XCTAssertEqual(refused.status, 413, refused.text)
        XCTAssertEqual(refused.json?["error"]?["code"]?.string, "body_too_large")
        XCTAssertEqual(try c.answer().text, whole.text)
        c.send(RawConnection.request("POST", classify, body: body))
        XCTAssertEqual(try c.answer().text, whole.text)
        // Taken on the event loop: the whole, pieces and chunked ones and the last; the one
        // after the refusal too when the refusal was written before it arrived (so 4 or 5).
        let taken = try takenOnEventLoop(server) ?? 0
        XCTAssertTrue((4...5).contains(taken), "\(taken)")
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    /// Answers written on the event loop keep a connection alive past the idle timeout; an idle
    /// connection is closed; `Connection: close` (passed on to Hummingbird's route) is answered,
    /// then the connection closed.
    func testIdleTimeoutAndConnectionCloseHoldForEventLoopAnswers() throws {
        let dir = try serveTempDir("idle")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try start(dir, extra: ["--idle-timeout", "2"])
        let c = try RawConnection(port: server.port)
        for i in 0..<12 {
            c.send(RawConnection.request("POST", classify, body: #"{"id":"i\#(i)","text":"ok","label":"ham"}"#))
            XCTAssertEqual(try c.answer().json?["id"]?.string, "i\(i)", "answer \(i) on the same connection")
            Thread.sleep(forTimeInterval: 0.3)
        }
        XCTAssertEqual(try takenOnEventLoop(server), 12)
        XCTAssertTrue(c.closedByServer(within: 15), "an idle connection is closed after the idle timeout")
        let d = try RawConnection(port: server.port)
        d.send(RawConnection.request("POST", classify, body: #"{"id":"last","text":"ok","label":"ham"}"#, headers: ["Content-Type: application/json", "Connection: close"]))
        XCTAssertEqual(try d.answer().json?["id"]?.string, "last")
        XCTAssertTrue(d.closedByServer(within: 15))
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    /// SIGTERM while a request is half sent: the server answers it when the rest arrives, then stops.
    func testSIGTERMAnswersARequestHalfSentThenStops() throws {
        let dir = try serveTempDir("drain")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try start(dir)
        let c = try RawConnection(port: server.port)
        let request = Array(RawConnection.request("POST", classify, body: #"{"id":"half","text":"see you","label":"ham"}"#).utf8)
        c.send(Array(request[0..<(request.count - 10)]))
        Thread.sleep(forTimeInterval: 1)
        kill(server.process.processIdentifier, SIGTERM)
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertTrue(server.process.isRunning, "the server waits for the request in flight")
        c.send(Array(request[(request.count - 10)...]))
        let a = try c.answer()
        XCTAssertEqual(a.status, 200, a.text)
        XCTAssertEqual(a.json?["id"]?.string, "half")
        XCTAssertTrue(c.closedByServer(within: 15))
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    /// With a client token: the right token is answered on the event loop, a wrong or missing one is refused.
    func testTheClientTokenIsCheckedOnBothPaths() throws {
        let dir = try serveTempDir("client-token")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try start(dir, env: ["LOOPAI_CLIENT_TOKEN": "client-secret"])
        let c = try RawConnection(port: server.port)
        let body = #"{"id":"k","text":"ok","label":"ham"}"#
        func request(_ header: String?) -> String {
            RawConnection.request("POST", classify, body: body, headers: ["Content-Type: application/json"] + (header.map { [$0] } ?? []))
        }
        for (header, status) in [("Authorization: Bearer client-secret", 200), ("Authorization: Bearer client-secreT", 401), (nil, 401), ("Authorization: Bearer client-secret", 200)] {
            c.send(request(header))
            let a = try c.answer()
            XCTAssertEqual(a.status, status, "\(header ?? "no token"): \(a.text)")
        }
        XCTAssertEqual(try takenOnEventLoop(server), 2, "the right token's requests are taken on the event loop")
        // A refusal and a request sent together: answered in their order.
        c.send(request("Authorization: Bearer nope") + request("Authorization: Bearer client-secret"))
        XCTAssertEqual(try c.answer().status, 401)
        XCTAssertEqual(try c.answer().json?["id"]?.string, "k")
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    /// `pin_event_loops: true` (a configuration file): each event loop runs on one CPU of its own
    /// (as /proc shows its threads), the log says which, and requests are answered.
    func testPinnedEventLoopsRunEachOnOneCPU() throws {
        let dir = try serveTempDir("pinned")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("serve.yaml")
        try """
        store: \(dir.path)
        pin_event_loops: true
        tasks:
          - task: \(sms)/task.yaml
            program: \(sms)/program.loop
            oracle: labels:label
        """.write(to: config, atomically: true, encoding: .utf8)
        let server = try ServeProcess(["--config", config.path], environment: ["LOOPAI_CONTROL_NICE": ""])   // the default
        let logged = try XCTUnwrap(server.stderr.components(separatedBy: "\n").first { $0.contains("event loops pinned to CPUs") }, server.stderr)
        let cpus = logged.components(separatedBy: "CPUs ").last!.components(separatedBy: ", ").map { Int($0)! }
        let tasks = "/proc/\(server.process.processIdentifier)/task"
        var loops: [String] = []
        for tid in try FileManager.default.contentsOfDirectory(atPath: tasks) {
            let comm = (try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8)) ?? ""
            guard comm.hasPrefix("NIO-SGLTN") else { continue }
            let status = try String(contentsOfFile: "\(tasks)/\(tid)/status", encoding: .utf8)
            loops.append(status.components(separatedBy: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }!.components(separatedBy: "\t").last!)
        }
        XCTAssertEqual(loops.count, cpus.count, "one CPU logged per event loop")
        // The event loops answer at the process's priority; the task's control thread runs at
        // nice 10, the default.
        var nice: [String: [Int]] = [:]
        for tid in try FileManager.default.contentsOfDirectory(atPath: tasks) {
            let stat = try String(contentsOfFile: "\(tasks)/\(tid)/stat", encoding: .utf8)
            let name = String(stat[stat.index(after: stat.firstIndex(of: "(")!)..<stat.lastIndex(of: ")")!])
            let fields = stat[stat.index(stat.lastIndex(of: ")")!, offsetBy: 2)...].split(separator: " ")
            nice[name, default: []].append(Int(fields[16])!)   // field 19 of stat: nice
        }
        XCTAssertEqual(nice.filter { $0.key.hasPrefix("NIO-SGLTN") }.values.flatMap { $0 }, Array(repeating: 0, count: loops.count), "\(nice)")
        XCTAssertEqual(nice.values.flatMap { $0 }.filter { $0 == 10 }.count, 1, "one task, one control thread at nice 10: \(nice)")
        XCTAssertEqual(nice["ctl sms_spam"], [10], "the control thread, named for its task: \(nice)")
        XCTAssertEqual(loops.sorted(), cpus.map(String.init).sorted(), "each loop may run on its one CPU only")
        XCTAssertEqual(Set(cpus).count, min(cpus.count, ProcessInfo.processInfo.activeProcessorCount), "loops on different CPUs while there are CPUs")
        let a = try server.post(classify, .object([("id", JSON("pin")), ("text", JSON("see you")), ("label", JSON("ham"))]))
        XCTAssertEqual(a.json?["id"]?.string, "pin", a.text)
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    /// A client that sends batches without reading the answers: the server stops reading it
    /// once its answers wait unsent (it does not queue them without bound), and when the client
    /// reads, every answer arrives, in order.
    func testAClientThatDoesNotReadIsNotReadWithoutBound() throws {
        let dir = try serveTempDir("backpressure")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try ServeProcess(["--task", sms + "/task.yaml", "--program", sms + "/program.loop", "--oracle", "labels:label",
                                       "--store", dir.path, "--generator", "induce"])
        let c = try RawConnection(port: server.port)
        // About 2.6 KB a request, about 10 KB an answer.
        let inputs = (0..<100).map { _ in #"{"text":"ok","label":"ham"}"# }.joined(separator: ",")
        let request = Array(RawConnection.request("POST", classify + "/batch", body: #"{"inputs":[\#(inputs)]}"#).utf8)
        var all: [UInt8] = []
        for _ in 0..<8000 { all += request }   // 21 MB of requests, 80 MB of answers
        let sent = c.sendUntilStalled(all, seconds: 3)
        XCTAssertLessThan(sent, all.count / 2, "the server stopped reading a client that does not read (\(sent) of \(all.count) bytes taken)")
        // Reading now (the rest of a request cut short is sent meanwhile): every request sent is
        // answered, in order, and the connection serves on.
        let count = (sent + request.count - 1) / request.count
        let rest = Array(all[sent..<(count * request.count)])
        let sender = Thread { c.send(rest) }
        sender.start()
        for i in 0..<count {
            let a = try c.answer()
            XCTAssertEqual(a.status, 200, "answer \(i)")
            XCTAssertEqual(a.json?["answers"]?.array?.count, 100, "answer \(i)")
        }
        c.send(RawConnection.request("POST", classify, body: #"{"id":"after","text":"ok","label":"ham"}"#))
        XCTAssertEqual(try c.answer().json?["id"]?.string, "after")
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }
}
