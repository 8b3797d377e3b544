import Foundation
import LoopLLM
import TestSupport
import XCTest

/// Records the delays the client asked for, without really waiting.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var delays: [Double] = []
    var recorded: [Double] {
        lock.lock(); defer { lock.unlock() }
        return delays
    }
    func record(_ s: Double) {
        lock.lock(); delays.append(s); lock.unlock()
    }
}

final class HTTPClientTests: XCTestCase {
    var server: StubServer!
    var sleeps: SleepRecorder!

    override func setUpWithError() throws {
        server = try StubServer()
        sleeps = SleepRecorder()
    }

    override func tearDown() {
        server?.stop()
        server = nil
    }

    func client(_ tweak: (inout HTTPClient.Configuration) -> Void = { _ in }) -> HTTPClient {
        var c = HTTPClient.Configuration()
        c.connectTimeout = 2
        c.totalTimeout = 5
        c.maxAttempts = 3
        c.baseBackoff = 0.01
        c.noProxy = "127.0.0.1,localhost,::1"
        c.random = HTTPClient.seededRandom(seed: 42)
        let rec = sleeps!
        c.sleep = { rec.record($0) }
        tweak(&c)
        return HTTPClient(configuration: c)
    }

    func url(_ path: String = "/v1/chat") -> String { server.baseURL + path }

    func expectError(_ request: HTTPRequest, _ client: HTTPClient,
                     file: StaticString = #filePath, line: UInt = #line) -> HTTPError? {
        switch client.sendResult(request) {
        case .success(let r):
            XCTFail("expected an error, got \(r)", file: file, line: line)
            return nil
        case .failure(let e):
            return e
        }
    }

    // MARK: Success

    func testPostJSONSuccess() throws {
        server.enqueue(.ok(#"{"answer":42}"#, headers: [("Content-Type", "application/json"), ("X-Trace", "abc")]))
        let req = HTTPRequest.postJSON(url(), json: #"{"q":"hi"}"#, headers: [("X-Custom", "v1")])
        let resp = try client().send(req)
        XCTAssertEqual(resp.status, 200)
        XCTAssertEqual(resp.text, #"{"answer":42}"#)
        XCTAssertEqual(resp.header("x-trace"), "abc")
        XCTAssertEqual(resp.attempts, 1)
        XCTAssertGreaterThanOrEqual(resp.seconds, 0)

        let seen = server.requests
        XCTAssertEqual(seen.count, 1)
        XCTAssertEqual(seen[0].method, "POST")
        XCTAssertEqual(seen[0].path, "/v1/chat")
        XCTAssertEqual(String(decoding: seen[0].body, as: UTF8.self), #"{"q":"hi"}"#)
        XCTAssertEqual(seen[0].header("content-type"), "application/json")
        XCTAssertEqual(seen[0].header("x-custom"), "v1")
        XCTAssertNil(seen[0].header("expect"), "Expect: 100-continue must be disabled")
        XCTAssertTrue(sleeps.recorded.isEmpty)
    }

    func testGetWithoutBody() throws {
        server.enqueue(.ok("pong"))
        let resp = try client().send(HTTPRequest(url: url("/ping?x=1")))
        XCTAssertEqual(resp.text, "pong")
        XCTAssertEqual(server.requests.first?.method, "GET")
        XCTAssertEqual(server.requests.first?.path, "/ping?x=1")
        XCTAssertEqual(server.requests.first?.body, [])
    }

    func testNonUTF8BodyReturnedIntact() throws {
        let bytes: [UInt8] = [0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0x41]
        server.enqueue(.respond(200, [], bytes))
        let resp = try client().send(HTTPRequest(url: url()))
        XCTAssertEqual(resp.body, bytes)
        XCTAssertNil(resp.text)
    }

    // MARK: Retries

    func testRetryAfterHonoured() throws {
        server.enqueue(.status(429, "slow down", headers: [("Retry-After", "1")]), .ok("done"))
        let resp = try client().send(.postJSON(url(), json: "{}"))
        XCTAssertEqual(resp.text, "done")
        XCTAssertEqual(resp.attempts, 2)
        XCTAssertEqual(server.requests.count, 2)
        XCTAssertEqual(sleeps.recorded.count, 1)
        XCTAssertEqual(sleeps.recorded[0], 1, accuracy: 0.01)
    }

    func testRetryAfterIsCapped() throws {
        server.enqueue(.status(503, headers: [("Retry-After", "3600")]), .ok("done"))
        let resp = try client { $0.maxRetryAfter = 5 }.send(HTTPRequest(url: url()))
        XCTAssertEqual(resp.attempts, 2)
        XCTAssertEqual(sleeps.recorded, [5])
    }

    func test5xxThenSuccess() throws {
        server.enqueue(.status(500, "boom"), .status(503, "busy"), .ok("finally"))
        let resp = try client().send(.postJSON(url(), json: "{}"))
        XCTAssertEqual(resp.text, "finally")
        XCTAssertEqual(resp.attempts, 3)
        XCTAssertEqual(server.requests.count, 3)
        // Exponential backoff with jitter: base 0.01 then 0.02, each jittered into [d/2, d].
        let d = sleeps.recorded
        XCTAssertEqual(d.count, 2)
        XCTAssertTrue((0.005...0.01).contains(d[0]), "\(d)")
        XCTAssertTrue((0.01...0.02).contains(d[1]), "\(d)")
    }

    func testPersistent5xxEndsWithStatusError() {
        server.enqueue(.status(502, "bad gateway"), times: 3)
        let e = expectError(HTTPRequest(url: url()), client())
        XCTAssertEqual(e, .status(502, "bad gateway"))
        XCTAssertEqual(server.requests.count, 3)
        XCTAssertEqual(sleeps.recorded.count, 2)
    }

    func test404NotRetried() {
        server.enqueue(.status(404, "no such model"), .ok("never"))
        let e = expectError(.postJSON(url(), json: "{}"), client())
        XCTAssertEqual(e, .status(404, "no such model"))
        XCTAssertEqual(e?.description, "HTTP status 404: no such model")
        XCTAssertEqual(server.requests.count, 1)
        XCTAssertTrue(sleeps.recorded.isEmpty)
    }

    func testBackoffIsSeededAndCapped() {
        let a = client { $0.baseBackoff = 1; $0.maxBackoff = 4; $0.random = HTTPClient.seededRandom(seed: 7) }
        let b = client { $0.baseBackoff = 1; $0.maxBackoff = 4; $0.random = HTTPClient.seededRandom(seed: 7) }
        let da = (1...6).map { a.backoff(attempt: $0, retryAfter: nil) }
        let db = (1...6).map { b.backoff(attempt: $0, retryAfter: nil) }
        XCTAssertEqual(da, db)
        for (i, d) in da.enumerated() {
            let full = min(4, pow(2, Double(i)))
            XCTAssertTrue(d >= full / 2 && d <= full, "attempt \(i + 1): \(d)")
        }
    }

    // MARK: Transport failures

    func testTimeoutAfterRetries() {
        server.enqueue(.delay(3, .ok("late")), times: 2)
        let e = expectError(HTTPRequest(url: url()), client { $0.totalTimeout = 0.3; $0.maxAttempts = 2 })
        guard case .timeout(let u, let after)? = e else { return XCTFail("expected timeout, got \(String(describing: e))") }
        XCTAssertEqual(u, url())
        XCTAssertEqual(after, 0.3)
        XCTAssertTrue(e!.description.contains("timed out"))
        XCTAssertEqual(server.requests.count, 2)
        XCTAssertEqual(sleeps.recorded.count, 1)
    }

    func testResetConnectionRetriedThenError() {
        server.enqueue(.reset, times: 3)
        let e = expectError(.postJSON(url(), json: "{}"), client())
        guard case .network(let code, let message)? = e else { return XCTFail("expected network error, got \(String(describing: e))") }
        XCTAssertTrue([52, 55, 56].contains(code), "curl \(code): \(message)")
        XCTAssertEqual(server.requests.count, 3)
        XCTAssertEqual(sleeps.recorded.count, 2)
    }

    func testResetThenSuccess() throws {
        server.enqueue(.reset, .ok("ok"))
        let resp = try client().send(HTTPRequest(url: url()))
        XCTAssertEqual(resp.text, "ok")
        XCTAssertEqual(resp.attempts, 2)
    }

    func testConnectionRefusedRetried() throws {
        let closed = try StubServer()
        let deadURL = closed.baseURL + "/x"
        closed.stop()
        let e = expectError(HTTPRequest(url: deadURL), client())
        guard case .network(let code, let message)? = e else { return XCTFail("expected network error, got \(String(describing: e))") }
        XCTAssertEqual(code, 7, message)
        XCTAssertEqual(sleeps.recorded.count, 2)
    }

    func testBodyOverCapWithContentLength() {
        server.enqueue(.huge(200_000, contentLength: true))
        let e = expectError(HTTPRequest(url: url()), client { $0.maxResponseBytes = 10_000 })
        XCTAssertEqual(e, .tooLarge(10_000))
        XCTAssertEqual(server.requests.count, 1, "too large is not retried")
        XCTAssertTrue(e!.description.contains("10000"))
    }

    func testBodyOverCapStreamed() {
        // No Content-Length: the write callback has to stop it.
        server.enqueue(.huge(2_000_000, contentLength: false))
        let e = expectError(HTTPRequest(url: url()), client { $0.maxResponseBytes = 10_000 })
        XCTAssertEqual(e, .tooLarge(10_000))
    }

    func testBodyAtCapAccepted() throws {
        server.enqueue(.huge(10_000, contentLength: false))
        let resp = try client { $0.maxResponseBytes = 10_000 }.send(HTTPRequest(url: url()))
        XCTAssertEqual(resp.body.count, 10_000)
    }

    func testTruncatedBodyIsAnError() {
        server.enqueue(.truncated(declared: 1000, sent: Array("partial".utf8)), times: 2)
        let e = expectError(HTTPRequest(url: url()), client { $0.maxAttempts = 2 })
        guard case .network(let code, _)? = e else { return XCTFail("expected network error, got \(String(describing: e))") }
        XCTAssertEqual(code, 18)
        XCTAssertEqual(server.requests.count, 2)
    }

    // MARK: Safety

    func testPlainHTTPToNonLoopbackRefused() {
        let c = client()
        let e = expectError(.postJSON("http://203.0.113.1:8080/v1/chat", json: "{}"), c)
        XCTAssertEqual(e, .insecureHTTP("http://203.0.113.1:8080/v1/chat"))
        XCTAssertTrue(sleeps.recorded.isEmpty, "refused before any attempt")
        XCTAssertEqual(expectError(HTTPRequest(url: "http://example.com/x"), c), .insecureHTTP("http://example.com/x"))
    }

    func testLoopbackForms() throws {
        server.enqueue(.ok("a"), .ok("b"))
        XCTAssertEqual(try client().send(HTTPRequest(url: "http://localhost:\(server.port)/")).text, "a")
        XCTAssertEqual(try client().send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/")).text, "b")
        // Lookalikes are not loopback.
        let c = client()
        for u in ["http://127.0.0.1.evil.example/", "http://localhost.evil.example/", "http://user@128.0.0.1/"] {
            XCTAssertEqual(expectError(HTTPRequest(url: u), c), .insecureHTTP(u), u)
        }
    }

    func testUnsupportedSchemeRefused() {
        let e = expectError(HTTPRequest(url: "file:///etc/passwd"), client())
        guard case .invalidRequest? = e else { return XCTFail("\(String(describing: e))") }
        let e2 = expectError(HTTPRequest(url: "not a url"), client())
        guard case .invalidRequest? = e2 else { return XCTFail("\(String(describing: e2))") }
    }

    func testHeaderInjectionRefused() {
        let e = expectError(HTTPRequest(url: url(), headers: [("X-A", "v\r\nX-Evil: 1")]), client())
        XCTAssertEqual(expectError(HTTPRequest(url: url(), headers: [("X-A", "v\nX-Evil: 1")]), client()), .invalidRequest("header 'X-A' has a line break in its value"))
        guard case .invalidRequest? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(server.requests.isEmpty)
    }

    func testRedact() {
        XCTAssertEqual(redact("key=abc123&x=abc123", secrets: ["abc123"]), "key=[redacted]&x=[redacted]")
        XCTAssertEqual(redact("nothing here", secrets: ["", "zzz"]), "nothing here")
        XCTAssertEqual(redact("k=a%2Fb", secrets: ["a/b"]), "k=[redacted]")
    }

    func testAPIKeyNeverInErrors() throws {
        let key = "sk-test-SECRET-0123456789"
        let headers = [("Authorization", "Bearer \(key)"), ("x-api-key", key), ("API-Key", key)]
        let keyURL = url("/v1/chat?key=\(key)")
        // The server echoes the key back in its error bodies.
        server.enqueue(.status(401, "invalid key \(key)"))
        server.enqueue(.status(500, "upstream said: Bearer \(key)"), times: 2)
        server.enqueue(.delay(3, .ok("late")))
        server.enqueue(.reset)

        var texts: [String] = []
        let c = client { $0.maxAttempts = 1; $0.totalTimeout = 0.3 }
        let retrying = client { $0.maxAttempts = 2 }
        let req = HTTPRequest(method: "POST", url: keyURL, headers: headers, body: Array("{}".utf8))
        for (cl, expected) in [(c, "401"), (retrying, "500"), (c, "timed out"), (c, "curl")] {
            let e = try XCTUnwrap(expectError(req, cl))
            let text = "\(e) | \(String(describing: e)) | \(String(reflecting: e)) | \(e.localizedDescription)"
            XCTAssertTrue(text.contains(expected), text)
            texts.append(text)
        }
        // Connection refused and refused plain HTTP mention the URL too.
        let closed = try StubServer()
        let dead = closed.baseURL + "/?key=\(key)"
        closed.stop()
        texts.append("\(try XCTUnwrap(expectError(HTTPRequest(url: dead, headers: headers), c)))")
        texts.append("\(try XCTUnwrap(expectError(HTTPRequest(url: "http://203.0.113.1/?key=\(key)", headers: headers), c)))")
        texts.append(String(describing: req))
        texts.append(String(reflecting: req))
        for t in texts {
            XCTAssertFalse(t.contains(key), t)
            XCTAssertFalse(t.contains("SECRET"), t)
        }
        XCTAssertTrue(texts.contains { $0.contains("[redacted]") })
        // The key did reach the server (it is a header, after all).
        XCTAssertEqual(server.requests.first?.header("authorization"), "Bearer \(key)")
    }

    // MARK: Concurrency

    func testSendAllBoundedAndAligned() {
        server.enqueue(.delay(0.2, .ok("r")), times: 8)
        let reqs = (0..<8).map { HTTPRequest.postJSON(url("/item/\($0)"), json: #"{"i":\#($0)}"#) }
        let results = client().sendAll(reqs, maxConcurrent: 3)
        XCTAssertEqual(results.count, 8)
        XCTAssertEqual(server.requests.count, 8)
        XCTAssertLessThanOrEqual(server.maxConcurrent, 3)
        XCTAssertGreaterThanOrEqual(server.maxConcurrent, 1)
        for r in results { XCTAssertEqual(try r.get().text, "r") }
        XCTAssertEqual(Set(server.requests.map(\.path)), Set((0..<8).map { "/item/\($0)" }))
    }

    func testSendAllAlignsMixedResults() {
        // Results depend on the path, not on arrival order: a scripted queue would not do,
        // so each request goes to a server of its own.
        var servers: [StubServer] = []
        var reqs: [HTTPRequest] = []
        for i in 0..<6 {
            let s = try! StubServer()
            s.enqueue(i % 2 == 0 ? .ok("item \(i)") : .status(404, "missing \(i)"))
            servers.append(s)
            reqs.append(HTTPRequest(url: s.baseURL + "/\(i)"))
        }
        defer { servers.forEach { $0.stop() } }
        let results = client().sendAll(reqs, maxConcurrent: 2)
        XCTAssertEqual(results.count, 6)
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let resp): XCTAssertEqual(resp.text, "item \(i)"); XCTAssertEqual(i % 2, 0)
            case .failure(let e): XCTAssertEqual(e, .status(404, "missing \(i)"))
            }
        }
        XCTAssertTrue(client().sendAll([], maxConcurrent: 3).isEmpty)
    }
}
