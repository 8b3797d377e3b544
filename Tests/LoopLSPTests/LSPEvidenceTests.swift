import Foundation
import LoopData
import LoopStore
import XCTest

/// The loop's evidence in the editor: a real SQLite store beside the program (where `loopai loop`
/// keeps it, found through the task file) with validated inputs and an open escalation, and a
/// ticket file; the server run as a real process reads them.
final class LSPEvidenceTests: XCTestCase {
    static let validated: [(String, String)] = [
        ("refund please", "refund"),                                   // wants_refund, right
        ("money back or else", "refund"),                              // wants_refund, right
        ("I want my money back at http://shop.example", "refund"),     // has_link says spam: wrong
        ("cheap pills at www.deals.example", "spam"),                  // has_link, right
        ("hello", "other"),                                            // score, right
    ]

    func workspace() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-lsp-evidence-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try LSPServerTests.task.write(to: dir.appendingPathComponent("task.yaml"), atomically: true, encoding: .utf8)
        try LSPServerTests.program.write(to: dir.appendingPathComponent("tickets.loop"), atomically: true, encoding: .utf8)
        let store = try SQLiteStore.open(path: dir.appendingPathComponent(".loopai/tickets.sqlite").path, task: "tickets")
        let active = try store.addVersion(ProgramVersion(source: LSPServerTests.program, provenance: "{}", status: .active))
        let run = try store.startRun(streamPath: "stream.jsonl")
        let items = Self.validated.enumerated().map { (i, v) -> BatchItem in
            let e = Execution(runId: run.id!, seq: i, input: JSONWriter.string(.object([("text", JSON(v.0))])), output: "?", versionId: active.id!)
            return BatchItem(execution: e, answers: [OracleAnswer(inputHash: e.inputHash, label: v.1, raw: v.1)])
        }
        try store.commit(StoreCommit(runId: run.id!, cursor: items.count, items: items))
        let ticket = #"{"id": 1, "failures": [{"input": {"text": "I want my money back at http://shop.example"}, "program": "spam", "oracle": "refund", "decided_by": "rule:has_link"}]}"#
        _ = try store.openEscalation(Escalation(runId: run.id, reason: "rule has_link is right 50% of the time", ticketJSON: ticket))
        try store.close()
        // A ticket file beside the program, as `loopai loop` writes them (escalations/ESC-N.json).
        try #"{"id": 7, "failures": [{"input": {"text": "refund to www.bank.example please"}, "program": "spam", "oracle": "refund"}, {"input": {"text": "hello"}, "program": "other", "oracle": "other"}]}"#
            .write(to: dir.appendingPathComponent("ESC-7.json"), atomically: true, encoding: .utf8)
        return dir
    }

    func testRulesShowTheirValidatedPrecisionAndEscalationFailuresSitOnWhatDecidedThem() throws {
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let uri = "file://" + dir.appendingPathComponent("tickets.loop").path
        let c = try LSPClient(cwd: dir)
        _ = c.initialize(rootUri: "file://" + dir.path)
        var text = LSPServerTests.program
        c.open(uri, text)

        // The open escalation's failing input and the ticket's, on the rule that decides them now.
        let d = c.diagnostics(uri, version: 1).filter { ($0["code"] as? String) == "escalation" }
        XCTAssertEqual(d.count, 2, "\(d)")
        for x in d {
            XCTAssertEqual(x["severity"] as? Int, 3, "information")
            XCTAssertEqual((x["range"] as? [String: Any])?["start"] as? NSDictionary, position(of: "has_link", in: text) as NSDictionary)
        }
        let messages = d.compactMap { $0["message"] as? String }.sorted()
        XCTAssertEqual(messages, ["escalation #1: “I want my money back at http://shop.example” → the program answers spam (rule:has_link), the oracle refund",
                                  "escalation #7: “refund to www.bank.example please” → the program answers spam (rule:has_link), the oracle refund"])

        // Lenses: each rule's precision on the validated inputs, computed with this text.
        let lenses = try XCTUnwrap(c.request("textDocument/codeLens", ["textDocument": ["uri": uri]])["result"] as? [[String: Any]])
        func title(at needle: String) -> [String] {
            lenses.filter { (($0["range"] as? [String: Any])?["start"] as? NSDictionary) == position(of: needle, in: text) as NSDictionary }
                .compactMap { ($0["command"] as? [String: Any])?["title"] as? String }
        }
        XCTAssertEqual(title(at: "has_link"), ["right 50% of 2 validated inputs"])
        XCTAssertEqual(title(at: "wants_refund"), ["right 100% of 2 validated inputs"])
        XCTAssertEqual(title(at: "score other"), ["scores right 100% of 1 validated input"])
        XCTAssertTrue(title(at: "program").contains("compare with the 5 stored validations as `loopai escalations resolve` would"), "\(lenses)")
        let hover = c.request("textDocument/hover", ["textDocument": ["uri": uri], "position": position(of: "has_link", in: text, offset: 2)])
        XCTAssertTrue("\(hover)".contains("right 50% of 2 validated inputs"), "\(hover)")

        // The same text as the active version: resolve would accept it (not worse).
        func compare() throws -> [String: Any] {
            try XCTUnwrap(c.request("workspace/executeCommand", ["command": "loopai.compareWithValidations", "arguments": [uri]])["result"] as? [String: Any])
        }
        var r = try compare()
        XCTAssertEqual(r["total"] as? Int, 5); XCTAssertEqual(r["right"] as? Int, 4); XCTAssertEqual(r["activeRight"] as? Int, 4)
        XCTAssertEqual(r["accepted"] as? Bool, true)
        XCTAssertTrue("\(c.notification("window/showMessage"))".contains("resolve would accept it"))

        // The fix: asking for a refund comes before links. Both failures disappear as it is typed.
        let swapped = text.replacingOccurrences(of: "rule has_link when has_url(text) => spam confidence 0.9\nrule wants_refund when contains_any(msg, refund_words) => refund",
                                                with: "rule wants_refund when contains_any(msg, refund_words) => refund\nrule has_link when has_url(text) => spam confidence 0.9")
        XCTAssertNotEqual(swapped, text)
        text = swapped
        c.change(uri, version: 2, [["text": text]])
        XCTAssertEqual(c.diagnostics(uri, version: 2).count, 0)
        r = try compare()
        XCTAssertEqual(r["right"] as? Int, 5); XCTAssertEqual(r["activeRight"] as? Int, 4); XCTAssertEqual(r["activeVersion"] as? Int, 1)
        XCTAssertEqual(r["accepted"] as? Bool, true)

        // A worse edit: resolve would refuse it, and the command says so.
        let worse = LSPServerTests.program.replacingOccurrences(of: "\nscore other", with: "\nrule greet when msg == \"hello\" => spam\n\nscore other")
        c.change(uri, version: 3, [["text": worse]])
        _ = c.diagnostics(uri, version: 3)
        r = try compare()
        XCTAssertEqual(r["right"] as? Int, 3); XCTAssertEqual(r["accepted"] as? Bool, false)
        XCTAssertTrue((r["message"] as? String ?? "").contains("resolve would refuse it"), "\(r)")
        XCTAssertEqual(c.shutdownAndExit(), 0)

        // The CLI's dry run decides the same on the same store.
        try worse.write(to: dir.appendingPathComponent("worse.loop"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = LSPClient.binary
        p.arguments = ["escalations", "resolve", "1", "--program", dir.appendingPathComponent("worse.loop").path, "--store", dir.appendingPathComponent(".loopai/tickets.sqlite").path, "--dry-run"]
        let out = Pipe(); p.standardOutput = out
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 1)
        XCTAssertTrue(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("resolve would refuse it"))
    }

    func testANamedStoreThatIsMissingIsReportedOnceAndTheServerCarriesOn() throws {
        let c = try LSPClient(arguments: ["--store", "/nonexistent/loop.sqlite"])
        _ = c.initialize()
        let uri = "file:///tmp/loopai-lsp-missing/tickets.loop"
        c.open(uri, LSPServerTests.program)
        let m = c.notification("window/showMessage")
        XCTAssertTrue("\(m)".contains("no store at /nonexistent/loop.sqlite"), "\(m)")
        XCTAssertEqual(c.diagnostics(uri, version: 1).count, 0)
        let r = c.request("workspace/executeCommand", ["command": "loopai.compareWithValidations", "arguments": [uri]])
        XCTAssertEqual((r["error"] as? [String: Any])?["code"] as? Int, -32803)
        XCTAssertEqual(c.shutdownAndExit(), 0)
    }
}
