import Foundation
import LoopData
import LoopDiagnostics
import LoopInterpreter
import LoopRuntime
import LoopSema
import LoopStore
import XCTest

/// `loopai serve` as an application meets it: a real process on 127.0.0.1, real HTTP, real SQLite.
final class ServeAPITests: XCTestCase {
    static let token = "test-admin-token-3141"
    var sms: String { ServeProcess.root.appendingPathComponent("Examples/sms_spam").path }

    func startSMS(_ dir: URL, extra: [String] = [], env: [String: String] = [:]) throws -> ServeProcess {
        try ServeProcess(["--task", sms + "/task.yaml", "--program", sms + "/program.loop", "--oracle", "labels:label",
                          "--store", dir.path, "--generator", "induce"] + extra,
                         environment: ["LOOPAI_ADMIN_TOKEN": Self.token].merging(env) { $1 })
    }

    /// The reference: the interpreter's label for each text.
    func interpreterLabels(_ programPath: String, _ texts: [String]) throws -> [String] {
        let (p, d) = Checker.checkSource(SourceFile(name: "p.loop", text: try String(contentsOfFile: programPath, encoding: .utf8)), stdlib: .embedded)
        guard let p, !d.contains(where: { $0.severity == .error }) else { throw NSError(domain: "check", code: 1) }
        let interp = Interpreter(p)
        return texts.map { p.labels[interp.classify([.text(Array($0.utf8))]).label] }
    }

    func testClassifyAndBatchAnswerAsTheInterpreterDoes() throws {
        let dir = try serveTempDir("classify")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try startSMS(dir)
        let records = Array(try jsonLines(sms + "/data.jsonl").prefix(400))
        let texts = records.map { $0["text"]!.string! }
        let reference = try interpreterLabels(sms + "/program.loop", texts)
        var single: [String] = []
        for (i, r) in records.enumerated() {
            let reply = try server.post("/v1/tasks/sms_spam/classify", .object([("id", JSON("m\(i)")), ("text", r["text"]!), ("label", r["label"]!)]))
            XCTAssertEqual(reply.status, 200, reply.text)
            XCTAssertEqual(reply.json?["id"]?.string, "m\(i)")
            XCTAssertEqual(reply.json?["version"]?.number, 1)
            XCTAssertNotNil(reply.json?["decided_by"]?.string)
            single.append(reply.json?["label"]?.string ?? "?")
        }
        XCTAssertEqual(single, reference, "the server's answers are the interpreter's")
        // The batch endpoint: the same answers, in order.
        let batch = try server.post("/v1/tasks/sms_spam/classify/batch", .object([("inputs", .array(records.map { .object([("text", $0["text"]!), ("label", $0["label"]!)]) }))]))
        XCTAssertEqual(batch.status, 200, batch.text)
        XCTAssertEqual(batch.json?["answers"]?.array?.map { $0["label"]?.string ?? "?" }, reference)
        // The plain body (read without a JSON tree) and one the full parser reads (a nested value
        // in its first input) give the same answers.
        // Some inputs escape their text, one has a nested value and one is refused (both read by
        // the parser one by one); the other body has another top-level key, so all of it goes
        // through the full parser.
        func batchBody(full: Bool) -> JSON {
            var inputs: [JSON] = records.prefix(50).enumerated().map { i, r in
                var kv: [(String, JSON)] = [("id", JSON("b\(i)")), ("text", i % 7 == 0 ? JSON("say \"hi\" \(i)\n") : r["text"]!), ("label", r["label"]!)]
                if i == 3 { kv.append(("meta", .object([("source", .array([JSON("x")]))]))) }
                if i == 5 { kv[1] = ("text", .number(5)) }
                return .object(kv)
            }
            inputs.append(.object([("id", .number(77)), ("text", JSON("numeric id")), ("label", JSON("ham"))]))
            var top: [(String, JSON)] = [("inputs", .array(inputs))]
            if full { top.append(("note", JSON("anything"))) }
            return .object(top)
        }
        let plain = try server.post("/v1/tasks/sms_spam/classify/batch", batchBody(full: false))
        let parsed = try server.post("/v1/tasks/sms_spam/classify/batch", batchBody(full: true))
        XCTAssertEqual(plain.status, 200)
        XCTAssertEqual(plain.text, parsed.text)
        XCTAssertEqual(plain.json?["answers"]?.array?[5]["error"]?["code"]?.string, "invalid_input")
        XCTAssertEqual(plain.json?["answers"]?.array?[50]["id"]?.string, "77")
        let plainOnly = try server.post("/v1/tasks/sms_spam/classify/batch", .object([("inputs", .array(records.prefix(50).enumerated().map { i, r in
            .object([("id", JSON("b\(i)")), ("text", r["text"]!), ("label", r["label"]!)]) }))]))
        XCTAssertEqual(plainOnly.json?["answers"]?.array?.map { $0["label"]?.string ?? "?" }, Array(reference.prefix(50)))
        // A body every input of which is read as spans (escapes, a control character the parser
        // reads alone, given and missing ids) answers as the full parser's path does.
        func spanBody(full: Bool) -> JSON {
            let inputs: [JSON] = records.prefix(60).enumerated().map { i, r in
                let text = i % 7 == 0 ? JSON("say \"hi\" \(i)\n\u{1}é") : r["text"]!
                return .object([("id", JSON("s\(i)")), ("text", text), ("label", r["label"]!)])
            }
            return .object([("inputs", .array(inputs))] + (full ? [("note", JSON("anything"))] : []))
        }
        let spans = try server.post("/v1/tasks/sms_spam/classify/batch", spanBody(full: false))
        XCTAssertEqual(spans.status, 200)
        XCTAssertEqual(spans.text, try server.post("/v1/tasks/sms_spam/classify/batch", spanBody(full: true)).text)
        // Feedback finds an input of a batch by its id, given or made.
        let fb = try server.post("/v1/tasks/sms_spam/feedback", .object([("id", JSON("s14")), ("label", JSON("spam"))]))
        XCTAssertEqual(fb.status, 200, fb.text)
        XCTAssertEqual(fb.json?["program"]?.string, spans.json?["answers"]?.array?[14]["label"]?.string)
        let madeId = try XCTUnwrap(batch.json?["answers"]?.array?[3]["id"]?.string)
        XCTAssertEqual(try server.post("/v1/tasks/sms_spam/feedback", .object([("id", JSON(madeId)), ("label", JSON("ham"))])).json?["program"]?.string, reference[3])
        // Numeric ids come back as strings; an id is optional.
        XCTAssertEqual(try server.post("/v1/tasks/sms_spam/classify", .object([("id", .number(7)), ("text", JSON("hi")), ("label", JSON("ham"))])).json?["id"]?.string, "7")
        XCTAssertNotNil(try server.post("/v1/tasks/sms_spam/classify", .object([("text", JSON("hi")), ("label", JSON("ham"))])).json?["id"]?.string)
        // A single request with a string id is read as spans; with a numeric id, by the full
        // parser: the same text, byte for byte (escapes, a control character, é included).
        for (i, r) in records.prefix(60).enumerated() {
            let text = i % 7 == 0 ? JSON("say \"hi\" \(i)\n\u{1}é\t/") : r["text"]!
            let viaSpans = try server.post("/v1/tasks/sms_spam/classify", .object([("text", text), ("label", r["label"]!), ("id", JSON("\(900 + i)"))]))
            let viaParser = try server.post("/v1/tasks/sms_spam/classify", .object([("id", .number(Double(900 + i))), ("text", text), ("label", r["label"]!)]))
            XCTAssertEqual(viaSpans.status, 200, viaSpans.text)
            XCTAssertEqual(viaSpans.text, viaParser.text)
        }
        // Ids the server makes for single requests: feedback finds each (the recent requests are
        // keyed by the made id's hash, computed without its text).
        for k in 0..<40 {
            let r = records[100 + k]
            let reply = try server.post("/v1/tasks/sms_spam/classify", .object([("text", r["text"]!), ("label", r["label"]!)]))
            let id = try XCTUnwrap(reply.json?["id"]?.string)
            let fb = try server.post("/v1/tasks/sms_spam/feedback", .object([("id", JSON(id)), ("label", JSON("ham"))]))
            XCTAssertEqual(fb.status, 200, fb.text)
            XCTAssertEqual(fb.json?["program"]?.string, reply.json?["label"]?.string)
        }
        // A query string is not part of the path (the request path takes it); paths it does not
        // take exactly go through the router.
        XCTAssertEqual(try server.request("POST", "/v1/tasks/sms_spam/classify?x=1", body: JSONWriter.string(.object([("text", JSON("hi")), ("label", JSON("ham"))]))).status, 200)
        XCTAssertEqual(try server.request("POST", "/v1/tasks/sms_spam/classifyx", body: "{}").json?["error"]?["code"]?.string, "not_found")
        XCTAssertEqual(try server.request("GET", "/v1/tasks/sms_spam/classify").status, 404)
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    /// Every answered request is counted once in /metrics, by version, label and deciding rule,
    /// whichever way it was read: a single body as spans, a single body through the full parser
    /// (a numeric id), a batch as spans, a batch through the full parser.
    func testEveryAnswerIsCountedOnceByLabelAndRule() throws {
        let dir = try serveTempDir("counts")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try startSMS(dir)
        let records = Array(try jsonLines(sms + "/data.jsonl").prefix(120))
        func input(_ r: JSON, id: JSON? = nil) -> JSON {
            .object((id.map { [("id", $0)] } ?? []) + [("text", r["text"]!), ("label", r["label"]!)])
        }
        var answers: [JSON] = []
        for (i, r) in records.prefix(30).enumerated() { answers.append(try XCTUnwrap(try server.post("/v1/tasks/sms_spam/classify", input(r, id: JSON("s\(i)"))).json)) }
        for (i, r) in records[30..<50].enumerated() { answers.append(try XCTUnwrap(try server.post("/v1/tasks/sms_spam/classify", input(r, id: .number(Double(i)))).json)) }
        let spans = try server.post("/v1/tasks/sms_spam/classify/batch", .object([("inputs", .array(records[50..<90].map { input($0) }))]))
        let parsed = try server.post("/v1/tasks/sms_spam/classify/batch", .object([("inputs", .array(records[90..<120].map { input($0) })), ("note", JSON("x"))]))
        answers += try XCTUnwrap(spans.json?["answers"]?.array) + XCTUnwrap(parsed.json?["answers"]?.array)
        XCTAssertEqual(answers.count, 120)
        var expected: [String: Double] = [:]
        for a in answers {
            expected["v\(Int(a["version"]?.number ?? 0)) \(a["label"]?.string ?? "?") \(a["decided_by"]?.string ?? "?")", default: 0] += 1
        }
        let metrics = try server.get("/metrics").text
        var counted: [String: Double] = [:]
        for line in metrics.split(separator: "\n") where line.hasPrefix("loopai_requests_total{") {
            let labels = line.dropFirst("loopai_requests_total{".count).prefix { $0 != "}" }
            var kv: [String: String] = [:]
            for part in labels.split(separator: ",") {
                let pair = part.split(separator: "=", maxSplits: 1)
                kv[String(pair[0])] = String(pair[1].dropFirst().dropLast())
            }
            guard kv["task"] == "sms_spam", let v = kv["version"], let l = kv["label"], let d = kv["decided_by"] else { continue }
            counted["\(v) \(l) \(d)", default: 0] += Double(line.split(separator: " ").last ?? "") ?? .nan
        }
        XCTAssertEqual(counted, expected)
        XCTAssertGreaterThan(expected.count, 2, "several labels and rules")
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    func testEveryBadRequestIsA4xxWithAJSONErrorAndTheServerKeepsServing() throws {
        let dir = try serveTempDir("errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try startSMS(dir, extra: ["--max-body", "2000", "--max-batch", "5"])
        func expect(_ reply: ServeProcess.Reply, _ status: Int, _ code: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(reply.status, status, reply.text, file: file, line: line)
            XCTAssertEqual(reply.json?["error"]?["code"]?.string, code, reply.text, file: file, line: line)
            XCTAssertFalse((reply.json?["error"]?["message"]?.string ?? "").isEmpty, file: file, line: line)
        }
        let classify = "/v1/tasks/sms_spam/classify"
        expect(try server.post("/v1/tasks/nope/classify", .object([("text", JSON("x"))])), 404, "unknown_task")
        expect(try server.request("POST", classify, body: "{\"text\": ", token: nil), 400, "invalid_json")
        expect(try server.request("POST", classify, body: "", token: nil), 400, "empty_body")
        expect(try server.request("POST", classify, body: "text=hello", contentType: "application/x-www-form-urlencoded"), 415, "unsupported_media_type")
        expect(try server.request("POST", classify, body: "{\"text\":\"x\"}", contentType: nil), 415, "unsupported_media_type")
        expect(try server.request("POST", classify, body: "{\"text\":\"x\"}", contentType: "text/json"), 415, "unsupported_media_type")
        expect(try server.request("POST", classify, body: "{\"text\":\"x\"}", contentType: "Application/JSON; charset=utf-8"), 422, "missing_field")
        expect(try server.request("POST", classify, body: "{\"text\":\"x\"}", contentType: "application/problem+JSON"), 422, "missing_field")
        expect(try server.post(classify, .array([JSON("x")])), 400, "invalid_request")
        expect(try server.post(classify, .object([("label", JSON("ham"))])), 422, "missing_field")
        expect(try server.post(classify, .object([("text", .number(3)), ("label", JSON("ham"))])), 422, "invalid_input")
        expect(try server.post(classify, .object([("text", JSON("x"))])), 422, "missing_field")  // the labels oracle's field
        expect(try server.post(classify, .object([("id", .bool(true)), ("text", JSON("x")), ("label", JSON("ham"))])), 400, "invalid_request")
        expect(try server.post(classify, .object([("text", JSON(String(repeating: "a", count: 5000))), ("label", JSON("ham"))])), 413, "body_too_large")
        expect(try server.post(classify + "/batch", .object([("inputs", .array(Array(repeating: .object([("text", JSON("x")), ("label", JSON("ham"))]), count: 6)))])), 413, "batch_too_large")
        expect(try server.post(classify + "/batch", .object([("input", .array([]))])), 400, "invalid_request")
        // A bad input inside a batch is answered in its place; the others are answered.
        let mixed = try server.post(classify + "/batch", .object([("inputs", .array([.object([("text", JSON("hi")), ("label", JSON("ham"))]), .object([("text", .number(1)), ("label", JSON("ham"))])]))]))
        XCTAssertEqual(mixed.status, 200)
        XCTAssertEqual(mixed.json?["answers"]?.array?.first?["label"]?.string, "ham")
        XCTAssertEqual(mixed.json?["answers"]?.array?.last?["error"]?["code"]?.string, "invalid_input")
        XCTAssertEqual(mixed.json?["answers"]?.array?.last?["index"]?.number, 1)
        // Admin endpoints: no token, a wrong token, then the right one.
        expect(try server.post("/v1/tasks/sms_spam/pause", .object([])), 401, "unauthorized")
        expect(try server.post("/v1/tasks/sms_spam/pause", .object([]), token: "wrong"), 401, "unauthorized")
        expect(try server.get("/v1/tasks/sms_spam/versions", token: Self.token + "x"), 401, "unauthorized")
        expect(try server.post("/v1/tasks/sms_spam/promote", .object([]), token: Self.token), 409, "conflict")
        expect(try server.post("/v1/tasks/sms_spam/rollback", .object([]), token: Self.token), 409, "conflict")
        expect(try server.get("/v1/tasks/sms_spam/versions/99", token: Self.token), 404, "not_found")
        expect(try server.get("/v1/tasks/sms_spam/escalations/3", token: Self.token), 404, "not_found")
        // Feedback: an unknown request, a label the task does not have.
        expect(try server.post("/v1/tasks/sms_spam/feedback", .object([("id", JSON("never-sent")), ("label", JSON("spam"))])), 404, "unknown_request")
        expect(try server.post("/v1/tasks/sms_spam/feedback", .object([("input", .object([("text", JSON("x"))])), ("label", JSON("maybe"))])), 422, "invalid_label")
        // An id too large to be exact, a label the task does not have, a route that does not exist.
        expect(try server.post("/v1/tasks/sms_spam/feedback", .object([("id", .number(1e20)), ("label", JSON("ham"))])), 400, "invalid_request")
        expect(try server.post(classify, .object([("text", JSON("x")), ("label", JSON("bogus"))])), 422, "invalid_label")
        expect(try server.get("/v1/nothing/here"), 404, "not_found")
        expect(try server.request("DELETE", "/healthz"), 404, "not_found")
        // Every refusal is counted.
        let metrics = try server.get("/metrics").text
        XCTAssertTrue(metrics.contains("loopai_request_errors_total{task=\"sms_spam\",kind=\"invalid_json\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("loopai_request_errors_total{task=\"\",kind=\"unknown_task\"} 1"), metrics)
        // Still serving.
        let ok = try server.post(classify, .object([("id", JSON("after")), ("text", JSON("Are we still on for lunch?")), ("label", JSON("ham"))]))
        XCTAssertEqual(ok.status, 200)
        XCTAssertEqual(ok.json?["label"]?.string, "ham")
        XCTAssertEqual(try server.get("/healthz").status, 200)
        XCTAssertEqual(try server.get("/readyz").json?["status"]?.string, "ready")
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    /// A task whose labels the application names `spam!` and `not spam`: answers (single and
    /// batch) and /metrics carry those strings, the labels oracle and feedback accept them, and
    /// the answers are still the interpreter's.
    func testAnswersCarryTheApplicationsLabelStrings() throws {
        let dir = try serveTempDir("names")
        defer { try? FileManager.default.removeItem(at: dir) }
        var task = try String(contentsOfFile: sms + "/task.yaml", encoding: .utf8)
        task = task.replacingOccurrences(of: "\n  spam: \"", with: "\n  spam: {name: \"spam!\", description: \"")
            .replacingOccurrences(of: "\n  ham: \"", with: "\n  ham: {name: \"not spam\", description: \"")
            .replacingOccurrences(of: "marketing, phishing-style alerts\"\n", with: "marketing, phishing-style alerts\"}\n")
            .replacingOccurrences(of: "service messages the user asked for\"\n", with: "service messages the user asked for\"}\n")
            .replacingOccurrences(of: "data: data.jsonl\nprogram: program.loop\n", with: "")
        let program = try String(contentsOfFile: sms + "/program.loop", encoding: .utf8)
            .replacingOccurrences(of: "\nlabels spam, ham\n", with: "\nlabels spam as \"spam!\", ham as \"not spam\"\n")
        try task.write(to: dir.appendingPathComponent("task.yaml"), atomically: true, encoding: .utf8)
        try program.write(to: dir.appendingPathComponent("program.loop"), atomically: true, encoding: .utf8)
        let server = try ServeProcess(["--task", dir.path + "/task.yaml", "--program", dir.path + "/program.loop", "--oracle", "labels:label",
                                       "--store", dir.appendingPathComponent("store").path, "--generator", "induce"],
                                      environment: ["LOOPAI_ADMIN_TOKEN": Self.token])
        let records = Array(try jsonLines(sms + "/data.jsonl").prefix(200))
        let texts = records.map { $0["text"]!.string! }
        let named = ["spam": "spam!", "ham": "not spam"]
        let reference = try interpreterLabels(sms + "/program.loop", texts).map { named[$0]! }
        var single: [String] = []
        for (i, r) in records.enumerated() {
            // The labels oracle's field holds the application's string.
            let truth = named[r["label"]!.string!]!
            let reply = try server.post("/v1/tasks/sms_spam/classify", .object([("id", JSON("n\(i)")), ("text", r["text"]!), ("label", JSON(truth))]))
            XCTAssertEqual(reply.status, 200, reply.text)
            single.append(reply.json?["label"]?.string ?? "?")
        }
        XCTAssertEqual(single, reference)
        let batch = try server.post("/v1/tasks/sms_spam/classify/batch", .object([("inputs", .array(records.map {
            .object([("text", $0["text"]!), ("label", JSON(named[$0["label"]!.string!]!))]) }))]))
        XCTAssertEqual(batch.json?["answers"]?.array?.map { $0["label"]?.string ?? "?" }, reference)
        // A label the task does not have is refused, naming the strings.
        let wrong = try server.post("/v1/tasks/sms_spam/classify", .object([("text", JSON("x")), ("label", JSON("eggs"))]))
        XCTAssertEqual(wrong.status, 422)
        XCTAssertTrue(wrong.text.contains("not spam"), wrong.text)
        // Feedback by the application's string, and by the identifier.
        let fb = try server.post("/v1/tasks/sms_spam/feedback", .object([("id", JSON("n1")), ("label", JSON("not spam"))]))
        XCTAssertEqual(fb.status, 200, fb.text)
        XCTAssertEqual(fb.json?["label"]?.string, "not spam")
        XCTAssertEqual(fb.json?["program"]?.string, reference[1])
        XCTAssertEqual(try server.post("/v1/tasks/sms_spam/feedback", .object([("id", JSON("n2")), ("label", JSON("spam"))])).json?["label"]?.string, "spam!")
        let metrics = try server.get("/metrics").text
        XCTAssertTrue(metrics.contains("label=\"not spam\""), String(metrics.prefix(3000)))
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    func testAdminTokenMissingDisablesAdminEndpoints() throws {
        let dir = try serveTempDir("noadmin")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try ServeProcess(["--task", sms + "/task.yaml", "--program", sms + "/program.loop", "--oracle", "labels:label", "--store", dir.path],
                                      environment: ["LOOPAI_ADMIN_TOKEN": "", "LOOPAI_CLIENT_TOKEN": "client-secret"])
        let denied = try server.post("/v1/tasks/sms_spam/pause", .object([]), token: "anything")
        XCTAssertEqual(denied.status, 403)
        XCTAssertEqual(denied.json?["error"]?["code"]?.string, "admin_disabled")
        // With a client token configured, classify needs it.
        XCTAssertEqual(try server.post("/v1/tasks/sms_spam/classify", .object([("text", JSON("x")), ("label", JSON("ham"))])).status, 401)
        XCTAssertEqual(try server.post("/v1/tasks/sms_spam/classify", .object([("text", JSON("x")), ("label", JSON("ham"))]), token: "client-secret").status, 200)
        XCTAssertFalse(server.stderr.contains("client-secret"), "tokens are never logged")
        XCTAssertEqual(server.stop(), 0)
    }

    /// Feedback by request id and by input is stored as ground truth; pause is an operator action
    /// that survives kill -9; SIGTERM commits every queued sample.
    func testFeedbackPauseAndWhatSurvivesSignals() throws {
        let dir = try serveTempDir("signals")
        defer { try? FileManager.default.removeItem(at: dir) }
        var server = try startSMS(dir)
        let records = Array(try jsonLines(sms + "/data.jsonl").prefix(600))
        for (i, r) in records.prefix(300).enumerated() {
            XCTAssertEqual(try server.post("/v1/tasks/sms_spam/classify", .object([("id", JSON("a\(i)")), ("text", r["text"]!), ("label", r["label"]!)])).status, 200)
        }
        let fb = try server.post("/v1/tasks/sms_spam/feedback", .object([("id", JSON("a3")), ("label", JSON("spam"))]))
        XCTAssertEqual(fb.status, 200, fb.text)
        XCTAssertEqual(fb.json?["program"]?.string, "ham", "feedback by id finds the request and the program's answer")
        XCTAssertEqual(try server.post("/v1/tasks/sms_spam/feedback", .object([("input", .object([("text", JSON("brand new text"))])), ("label", JSON("ham"))])).status, 200)
        XCTAssertEqual(try server.post("/v1/tasks/sms_spam/pause", .object([]), token: Self.token).json?["paused"]?.bool, true)
        // Requests after the pause are answered but never sampled.
        let before = try server.get("/v1/tasks/sms_spam").json?["sampled"]?.number ?? -1
        for (i, r) in records.dropFirst(300).prefix(100).enumerated() {
            XCTAssertEqual(try server.post("/v1/tasks/sms_spam/classify", .object([("id", JSON("b\(i)")), ("text", r["text"]!), ("label", r["label"]!)])).status, 200)
        }
        XCTAssertEqual(server.stop(SIGKILL), SIGKILL)
        // Restarted on the same store: the same run, still paused, feedback kept.
        server = try startSMS(dir)
        let status = try server.get("/v1/tasks/sms_spam").json
        XCTAssertEqual(status?["paused"]?.bool, true, "a committed operator action survives kill -9")
        XCTAssertEqual(status?["feedback"]?.number, 2)
        XCTAssertEqual(status?["sampled"]?.number, before, "nothing was sampled while paused")
        XCTAssertGreaterThanOrEqual(status?["requests"]?.number ?? 0, 300)
        XCTAssertEqual(try server.post("/v1/tasks/sms_spam/resume", .object([]), token: Self.token).json?["paused"]?.bool, false)
        for (i, r) in records.dropFirst(400).enumerated() {
            XCTAssertEqual(try server.post("/v1/tasks/sms_spam/classify", .object([("id", JSON("c\(i)")), ("text", r["text"]!), ("label", r["label"]!)])).status, 200)
        }
        let served = try server.get("/v1/tasks/sms_spam").json?["requests"]?.number ?? 0
        XCTAssertEqual(server.stop(SIGTERM), 0, server.stderr)
        // After SIGTERM the store holds every request's count and every sample validated.
        let store = try SQLiteStore.open(path: dir.appendingPathComponent("sms_spam.sqlite").path, task: "sms_spam")
        let runs = try store.runs()
        XCTAssertEqual(runs.count, 1, "a restart resumes the run; it does not start another")
        let state = try JSONDecoder().decode(DriverState.self, from: Data(runs[0].state!.utf8))
        XCTAssertEqual(Double(state.requests), served)
        XCTAssertEqual(state.sampled, state.validated + state.unvalidated)
        XCTAssertEqual(try store.executions(run: runs[0].id!).filter { $0.stratum != "shadow" }.count, state.validated)
        XCTAssertEqual(try store.validatedInputs().filter { $0.input.contains("brand new text") }.count, 1, "feedback joins the validated inputs")
        XCTAssertTrue(try store.executions(run: runs[0].id!).allSatisfy { $0.requestId != nil })
    }
}
