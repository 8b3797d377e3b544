import Foundation
import XCTest

/// `loopai lsp` driven as a real process over stdio, feature by feature: every exchange is
/// JSON-RPC frames on the wire, as an editor sends them.
final class LSPServerTests: XCTestCase {
    static let program = """
    program tickets
      "Routes support messages."

    input text: text
    labels refund, spam, other

    use std.text

    // Words of people who want their money back.
    // Lower case; matched as substrings.
    const refund_words = ["refund", "money back", "chargeback"]
    let msg = lower(text)

    rule has_link when has_url(text) => spam confidence 0.9
    rule wants_refund when contains_any(msg, refund_words) => refund

    score other {
      1
    }

    otherwise => other

    test "I want a refund now" => refund
    test "visit http://x.example now" => spam
    test "hello there" => other

    """

    let uri = "file:///tmp/loopai-lsp-test/tickets.loop"

    func started() throws -> LSPClient {
        let c = try LSPClient()
        let r = c.initialize()
        let caps = try XCTUnwrap((r["result"] as? [String: Any])?["capabilities"] as? [String: Any], "\(r)")
        XCTAssertEqual((caps["textDocumentSync"] as? [String: Any])?["change"] as? Int, 2, "incremental sync")
        return c
    }

    func result(_ r: [String: Any], file: StaticString = #filePath, line: UInt = #line) -> Any? {
        XCTAssertNil(r["error"], "\(r)", file: file, line: line)
        return r["result"]
    }

    func errorCode(_ r: [String: Any]) -> Int? { (r["error"] as? [String: Any])?["code"] as? Int }

    // MARK: lifecycle and bad input

    func testLifecycleAndEveryKindOfBadMessageGetTheProtocolsError() throws {
        let c = try LSPClient(arguments: ["--max-message-bytes", "4096"])
        // Before initialize: ServerNotInitialized.
        XCTAssertEqual(errorCode(c.request("textDocument/hover", ["textDocument": ["uri": uri], "position": pos(0, 0)])), -32002)
        _ = c.initialize()
        XCTAssertEqual(errorCode(c.request("initialize", ["processId": NSNull(), "rootUri": NSNull(), "capabilities": [:]])), -32600, "initialize twice")
        // Unknown request: MethodNotFound; unknown notification: ignored (the next request is answered).
        XCTAssertEqual(errorCode(c.request("textDocument/teleport", [:])), -32601)
        c.notify("$/unknownNotification", ["x": 1])
        c.notify("custom/whatever", [:])
        // Params of the wrong shape: InvalidParams, naming the field.
        let bad = c.request("textDocument/hover", ["textDocument": ["uri": uri]])
        XCTAssertEqual(errorCode(bad), -32602)
        XCTAssertTrue("\(bad)".contains("position"), "\(bad)")
        // A document that is not open.
        XCTAssertEqual(errorCode(c.request("textDocument/documentSymbol", ["textDocument": ["uri": "file:///nowhere.loop"]])), -32602)

        // Malformed frames: each answered with a parse error (id null), and the session goes on.
        c.sendRaw(Array("Content-Type: text/plain\r\n\r\n{}".utf8))
        XCTAssertEqual(errorCode(c.response(id: nil)), -32700, "no Content-Length")
        c.sendFrame(body: Array("{\"jsonrpc\": \"2.0\", \"id\": 5, \"method\": ".utf8))
        XCTAssertEqual(errorCode(c.response(id: nil)), -32700, "truncated JSON")
        c.sendFrame(body: Array("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"textDocument/hover\",\"params\":{\"s\":\"".utf8) + [0xFF, 0xFE] + Array("\"}}".utf8))
        XCTAssertEqual(errorCode(c.response(id: nil)), -32700, "invalid UTF-8")
        c.sendFrame(body: Array("[1, 2, 3]".utf8))
        XCTAssertEqual(errorCode(c.response(id: nil)), -32600, "JSON but not a message")
        c.sendFrame(body: Array("{\"jsonrpc\": \"2.0\", \"id\": 9}".utf8))
        XCTAssertEqual(errorCode(c.response(id: 9)), -32600, "no method")
        // A message over the limit is skipped whole; the next frame is read where it starts.
        c.sendFrame(body: Array(("{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"" + String(repeating: "a", count: 10_000) + "\"}").utf8))
        let big = c.response(id: nil)
        XCTAssertEqual(errorCode(big), -32700)
        XCTAssertTrue("\(big)".contains("over the limit"), "\(big)")
        // An open document with invalid UTF-8 in its text never reaches the server as a document.
        c.sendFrame(body: Array("{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":{\"uri\":\"file:///x.loop\",\"version\":1,\"text\":\"program \u{0}".utf8) + [0xC3, 0x28] + Array("\"}}}".utf8))
        XCTAssertEqual(errorCode(c.response(id: nil)), -32700)
        // Still alive and well.
        c.open(uri, Self.program)
        XCTAssertEqual(c.diagnostics(uri, version: 1).count, 0)

        // Shutdown, then every request is refused until exit; exit after shutdown is status 0.
        XCTAssertTrue(c.request("shutdown", NSNull()).keys.contains("result"))
        XCTAssertEqual(errorCode(c.request("textDocument/documentSymbol", ["textDocument": ["uri": uri]])), -32600)
        c.notify("exit", [:])
        c.process.waitUntilExit()
        XCTAssertEqual(c.process.terminationStatus, 0)

        // Exit without shutdown (or the input ending) is status 1, as the protocol says.
        let d = try LSPClient()
        _ = d.initialize()
        d.notify("exit", [:])
        d.process.waitUntilExit()
        XCTAssertEqual(d.process.terminationStatus, 1)
        let e = try LSPClient()
        XCTAssertEqual(e.finish(), 1)
    }

    func testAHugeDocumentIsCheckedAndAnswered() throws {
        let c = try started()
        var text = "program big\n\ninput text: text\nlabels a, b\n\n"
        for i in 0..<30_000 { text += "rule r\(i) when contains(text, \"w\(i)x\") => \(i % 2 == 0 ? "a" : "b")\n" }
        text += "otherwise => b\nrule broken when => a\n"
        XCTAssertGreaterThan(text.utf8.count, 1_000_000)
        c.open(uri, text)
        let d = c.diagnostics(uri, version: 1)
        XCTAssertEqual(d.map { $0["code"] as? String }, ["E0201"], "\(d.prefix(3))")
        XCTAssertEqual(((d.first?["range"] as? [String: Any])?["start"] as? [String: Any])?["line"] as? Int, 30_006)
        let symbols = try XCTUnwrap(result(c.request("textDocument/documentSymbol", ["textDocument": ["uri": uri]])) as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(symbols.count, 30_000)
        XCTAssertEqual(c.shutdownAndExit(), 0)
    }

    // MARK: diagnostics and quick fixes

    func testDiagnosticsFollowFullAndIncrementalChangesAndQuickFixesRepairThem() throws {
        let c = try started()
        let broken = Self.program.replacingOccurrences(of: "=> refund\n\nscore", with: "=> refnud\n\nscore")
        c.open(uri, broken)
        let d1 = c.diagnostics(uri, version: 1)
        XCTAssertEqual(d1.count, 1, "\(d1)")
        let diag = try XCTUnwrap(d1.first)
        XCTAssertEqual(diag["code"] as? String, "E0302")
        XCTAssertEqual(diag["severity"] as? Int, 1)
        XCTAssertEqual(diag["source"] as? String, "loopai")
        XCTAssertEqual(diag["range"] as? NSDictionary, ["start": position(of: "refnud", in: broken), "end": position(of: "refnud", in: broken, offset: 6)] as NSDictionary)
        XCTAssertTrue((diag["message"] as? String ?? "").contains("did you mean `refund`?"), "\(diag)")

        // The quick fix is the checker's machine-applicable fix.
        let actions = try XCTUnwrap(result(c.request("textDocument/codeAction", ["textDocument": ["uri": uri], "range": diag["range"]!,
                                                                                 "context": ["diagnostics": [diag]]])) as? [[String: Any]])
        XCTAssertEqual(actions.count, 1)
        XCTAssertEqual(actions[0]["kind"] as? String, "quickfix")
        let edits = try XCTUnwrap(((actions[0]["edit"] as? [String: Any])?["changes"] as? [String: Any])?[uri] as? [[String: Any]])
        XCTAssertEqual(edits.count, 1)
        XCTAssertEqual(edits[0]["newText"] as? String, "refund")
        // Applied as an incremental change, the error goes away.
        c.change(uri, version: 2, [["range": edits[0]["range"]!, "text": "refund"]])
        XCTAssertEqual(c.diagnostics(uri, version: 2).count, 0)

        // Incremental edits in the middle of a line with non-ASCII text before them (UTF-16 columns).
        c.change(uri, version: 3, [["range": range(1, 2, 1, 2), "text": "\"😀 é\" "]])
        let d3 = c.diagnostics(uri, version: 3)
        XCTAssertEqual(d3.count, 1, "two descriptions: a parse error (\(d3))")
        let doc = try XCTUnwrap(result(c.request("loopai/document", ["textDocument": ["uri": uri]])) as? [String: Any])
        XCTAssertTrue((doc["text"] as? String ?? "").hasPrefix("program tickets\n  \"😀 é\" \"Routes"), "\(doc)")
        c.change(uri, version: 4, [["range": range(1, 2, 1, 9), "text": ""]])   // 😀 is 2 UTF-16 units: 7 units in all
        XCTAssertEqual(c.diagnostics(uri, version: 4).count, 0)
        let doc4 = try XCTUnwrap(result(c.request("loopai/document", ["textDocument": ["uri": uri]])) as? [String: Any])
        XCTAssertEqual(doc4["text"] as? String, Self.program)
        XCTAssertEqual(doc4["version"] as? Int, 4)

        // A full-text change; warnings and related information (the first declaration).
        let twice = Self.program.replacingOccurrences(of: "let msg = lower(text)", with: "let msg = lower(text)\nlet msg = upper(text)")
        c.change(uri, version: 5, [["text": twice]])
        let d5 = c.diagnostics(uri, version: 5)
        let dup = try XCTUnwrap(d5.first { ($0["severity"] as? Int) == 1 }, "\(d5)")
        let related = try XCTUnwrap(dup["relatedInformation"] as? [[String: Any]], "\(dup)")
        XCTAssertEqual((related[0]["location"] as? [String: Any])?["uri"] as? String, uri)
        XCTAssertEqual(((related[0]["location"] as? [String: Any])?["range"] as? [String: Any])?["start"] as? NSDictionary, position(of: "msg = lower", in: twice) as NSDictionary)
        // Closing clears the diagnostics.
        c.notify("textDocument/didClose", ["textDocument": ["uri": uri]])
        let closed = c.notification("textDocument/publishDiagnostics", where: { (($0["params"] as? [String: Any])?["diagnostics"] as? [Any])?.isEmpty == true })
        XCTAssertFalse(closed.isEmpty)
        XCTAssertEqual(c.shutdownAndExit(), 0)
    }

    // MARK: formatting

    func testFormattingGivesTheFmtLayoutAndRefusesAProgramThatDoesNotParse() throws {
        let c = try started()
        let messy = Self.program.replacingOccurrences(of: "rule has_link when has_url(text) => spam confidence 0.9", with: "rule   has_link when has_url( text )=>spam confidence 0.90")
        c.open(uri, messy)
        _ = c.diagnostics(uri, version: 1)
        let edits = try XCTUnwrap(result(c.request("textDocument/formatting", ["textDocument": ["uri": uri], "options": ["tabSize": 2, "insertSpaces": true]])) as? [[String: Any]])
        XCTAssertEqual(edits.count, 1)
        XCTAssertEqual(edits[0]["newText"] as? String, Self.program, "the `loopai fmt` layout")
        c.change(uri, version: 2, [["text": Self.program]])
        _ = c.diagnostics(uri, version: 2)
        XCTAssertEqual((result(c.request("textDocument/formatting", ["textDocument": ["uri": uri], "options": [:]])) as? [Any])?.count, 0, "already formatted")
        c.change(uri, version: 3, [["text": "program x\ninput text: text\nlabels a\nrule r when => a\n"]])
        _ = c.diagnostics(uri, version: 3)
        let refused = c.request("textDocument/formatting", ["textDocument": ["uri": uri], "options": [:]])
        XCTAssertEqual(errorCode(refused), -32803)
        XCTAssertTrue("\(refused)".contains("does not parse"), "\(refused)")
        XCTAssertEqual(c.shutdownAndExit(), 0)
    }

    // MARK: hover, navigation, rename

    func testHoverExplainsBuiltinsStdlibConstantsLabelsAndFieldsFromTheTaskFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-lsp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.task.write(to: dir.appendingPathComponent("task.yaml"), atomically: true, encoding: .utf8)
        let path = dir.appendingPathComponent("tickets.loop").path
        try Self.program.write(toFile: path, atomically: true, encoding: .utf8)
        let uri = "file://" + path
        let c = try started()
        c.open(uri, Self.program)
        _ = c.diagnostics(uri, version: 1)
        func hover(_ needle: String, occurrence: Int = 1, offset: Int = 1) -> String {
            let r = c.request("textDocument/hover", ["textDocument": ["uri": uri], "position": position(of: needle, in: Self.program, offset: offset, occurrence: occurrence)])
            return ((result(r) as? [String: Any])?["contents"] as? [String: Any])?["value"] as? String ?? "(none: \(r))"
        }
        let lower = hover("lower(")
        XCTAssertTrue(lower.contains("lower(t: text) -> text"), lower)
        XCTAssertTrue(lower.contains("case table"), "the description of Docs/language.md: \(lower)")
        let url = hover("has_url(")
        XCTAssertTrue(url.contains("fn has_url(t: text) -> bool"), url)
        XCTAssertTrue(url.contains("A web address"), "the Stdlib's own comment: \(url)")
        let words = hover("refund_words)")
        XCTAssertTrue(words.contains("const refund_words = [\"refund\", \"money back\", \"chargeback\"]"), words)
        XCTAssertTrue(words.contains("3 keywords"), words)
        let label = hover("=> refund", occurrence: 1, offset: 4)
        XCTAssertTrue(label.contains("label refund"), label)
        XCTAssertTrue(label.contains("The customer asks for their money back."), "from task.yaml: \(label)")
        XCTAssertTrue(label.contains("`wants_refund`"), label)
        let field = hover("text)", occurrence: 1)
        XCTAssertTrue(field.contains("input text: text"), field)
        XCTAssertTrue(field.contains("one support message"), field)
        let module = hover("std.text")
        XCTAssertTrue(module.contains("has_currency"), module)
        let msg = hover("msg,")
        XCTAssertTrue(msg.contains("let msg: text = lower(text)"), msg)
        // On a test's input: how the program decides it, as `loopai explain` shows it.
        let test = hover("I want a refund now")
        XCTAssertTrue(test.contains("**test passes**"), test)
        XCTAssertTrue(test.contains("✔ wants_refund => refund   fired"), test)
        XCTAssertTrue(test.contains("answer: refund (confidence 1.0000, decided by rule:wants_refund)"), test)
        // Nothing to say on a keyword or in a comment: null.
        let none = c.request("textDocument/hover", ["textDocument": ["uri": uri], "position": position(of: "Words of", in: Self.program)])
        XCTAssertTrue(none["result"] is NSNull, "\(none)")
        XCTAssertEqual(c.shutdownAndExit(), 0)
    }

    func testDefinitionReferencesAndRenameAcrossEveryKindOfName() throws {
        let c = try started()
        c.open(uri, Self.program)
        _ = c.diagnostics(uri, version: 1)
        func definition(_ needle: String, occurrence: Int = 1, offset: Int = 1) -> [String: Any]? {
            result(c.request("textDocument/definition", ["textDocument": ["uri": uri], "position": position(of: needle, in: Self.program, offset: offset, occurrence: occurrence)])) as? [String: Any]
        }
        // A constant: from its use to its name.
        XCTAssertEqual(definition("refund_words)")?["range"] as? NSDictionary, ["start": position(of: "refund_words =", in: Self.program), "end": position(of: "refund_words =", in: Self.program, offset: 12)] as NSDictionary)
        XCTAssertEqual(definition("msg,")?["uri"] as? String, uri)
        // A label used after `=>` goes to the `labels` line.
        XCTAssertEqual((definition("=> spam", offset: 4)?["range"] as? [String: Any])?["start"] as? NSDictionary, position(of: "spam, other", in: Self.program) as NSDictionary)
        // A Stdlib function goes into the Stdlib's source.
        let std = try XCTUnwrap(definition("has_url("))
        let stdPath = try XCTUnwrap((std["uri"] as? String).flatMap { URL(string: $0)?.path })
        let stdText = try String(contentsOfFile: stdPath, encoding: .utf8)
        let line = try XCTUnwrap(((std["range"] as? [String: Any])?["start"] as? [String: Any])?["line"] as? Int)
        XCTAssertTrue(stdText.split(separator: "\n", omittingEmptySubsequences: false)[line].hasPrefix("fn has_url("), stdText)
        // A built-in has no source: null.
        XCTAssertTrue(c.request("textDocument/definition", ["textDocument": ["uri": uri], "position": position(of: "lower(", in: Self.program)])["result"] is NSNull)

        // References of a label: the declaration, both `=>` uses... and the test lines.
        let refs = try XCTUnwrap(result(c.request("textDocument/references", ["textDocument": ["uri": uri], "position": position(of: "other", in: Self.program),
                                                                              "context": ["includeDeclaration": true]])) as? [[String: Any]])
        XCTAssertEqual(refs.count, 4, "labels line, score other, otherwise, a test: \(refs)")
        let noDecl = try XCTUnwrap(result(c.request("textDocument/references", ["textDocument": ["uri": uri], "position": position(of: "other", in: Self.program),
                                                                                "context": ["includeDeclaration": false]])) as? [[String: Any]])
        XCTAssertEqual(noDecl.count, 3)

        // Rename a label: every use changes, and the renamed program checks.
        let edit = try XCTUnwrap(result(c.request("textDocument/rename", ["textDocument": ["uri": uri], "position": position(of: "=> refund", in: Self.program, offset: 4), "newName": "money_back"])) as? [String: Any])
        let edits = try XCTUnwrap((edit["changes"] as? [String: Any])?[uri] as? [[String: Any]])
        XCTAssertEqual(edits.count, 3)
        var renamed = Self.program.replacingOccurrences(of: "refund, spam", with: "money_back, spam").replacingOccurrences(of: "=> refund", with: "=> money_back")
        c.change(uri, version: 2, edits.sorted { (($0["range"] as! [String: Any])["start"] as! [String: Int])["line"]! > (($1["range"] as! [String: Any])["start"] as! [String: Int])["line"]! }
            .map { ["range": $0["range"]!, "text": $0["newText"]!] })
        XCTAssertEqual(c.diagnostics(uri, version: 2).count, 0)
        XCTAssertEqual((result(c.request("loopai/document", ["textDocument": ["uri": uri]])) as? [String: Any])?["text"] as? String, renamed)
        // Rename a constant.
        let e2 = try XCTUnwrap(result(c.request("textDocument/rename", ["textDocument": ["uri": uri], "position": position(of: "refund_words", in: renamed), "newName": "asks"])) as? [String: Any])
        XCTAssertEqual(((e2["changes"] as? [String: Any])?[uri] as? [Any])?.count, 2)
        renamed = renamed.replacingOccurrences(of: "refund_words", with: "asks")
        // Refusals: a built-in, a keyword, a name in use, not a name.
        for (needle, name, why) in [("lower(", "lo", "built-in"), ("msg =", "rule", "keyword"), ("msg =", "text", "already"), ("msg =", "9x", "not a Loop name")] {
            let r = c.request("textDocument/rename", ["textDocument": ["uri": uri], "position": position(of: needle, in: renamed), "newName": name])
            XCTAssertEqual(errorCode(r), -32803, "\(needle) → \(name)")
            XCTAssertTrue("\(r)".contains(why), "\(r)")
        }
        let prepared = result(c.request("textDocument/prepareRename", ["textDocument": ["uri": uri], "position": position(of: "msg =", in: renamed)])) as? [String: Any]
        XCTAssertEqual(prepared?["start"] as? NSDictionary, position(of: "msg =", in: renamed) as NSDictionary)
        XCTAssertEqual(c.shutdownAndExit(), 0)
    }

    // MARK: completion, outline, folding, lenses

    func testCompletionByContext() throws {
        let c = try started()
        let text = Self.program.replacingOccurrences(of: "use std.text", with: "use std.")
            .replacingOccurrences(of: "otherwise => other", with: "otherwise => ")
            .replacingOccurrences(of: "rule has_link when has_url(text) => spam confidence 0.9", with: "rule has_link when matches(text, /https?:/) => spam confidence 0.9")
        c.open(uri, text)
        _ = c.diagnostics(uri, version: 1)
        func labels(at p: [String: Any]) -> [String] {
            let r = result(c.request("textDocument/completion", ["textDocument": ["uri": uri], "position": p])) as? [String: Any]
            return ((r?["items"] as? [[String: Any]]) ?? []).compactMap { $0["label"] as? String }
        }
        XCTAssertEqual(Set(labels(at: position(of: "use std.", in: text, offset: 8))), ["std.text", "std.validate"])
        XCTAssertEqual(labels(at: position(of: "otherwise => ", in: text, offset: 13)), ["refund", "spam", "other"])
        XCTAssertEqual(labels(at: position(of: "/https?:/", in: text, offset: 9)), ["i"])
        let expr = labels(at: position(of: "contains_any(", in: text))
        for name in ["contains_any", "sum_words", "lower", "refund_words", "msg", "text"] { XCTAssertTrue(expr.contains(name), "\(name) in \(expr)") }
        XCTAssertFalse(expr.contains("t"), "a parameter only inside its function")
        // Inside a function's body, its parameters too.
        let withFn = text + "fn loud(t: text, n: number) -> bool = upper_ratio(t) > n\n"
        c.change(uri, version: 2, [["text": withFn]])
        _ = c.diagnostics(uri, version: 2)
        let inBody = labels(at: position(of: "upper_ratio(t)", in: withFn, offset: 12))
        XCTAssertTrue(inBody.contains("t") && inBody.contains("n"), "\(inBody)")
        XCTAssertEqual(c.shutdownAndExit(), 0)
    }

    func testOutlineFoldingAndTestLenses() throws {
        let c = try started()
        let failing = Self.program.replacingOccurrences(of: "test \"hello there\" => other", with: "test \"hello there\" => spam")
        c.open(uri, failing)
        _ = c.diagnostics(uri, version: 1)
        let symbols = try XCTUnwrap(result(c.request("textDocument/documentSymbol", ["textDocument": ["uri": uri]])) as? [[String: Any]])
        let names = symbols.compactMap { $0["name"] as? String }
        for n in ["tickets", "refund_words", "msg", "rule has_link", "rule wants_refund", "score other", "otherwise"] { XCTAssertTrue(names.contains(n), "\(n) in \(names)") }
        XCTAssertEqual(names.filter { $0.hasPrefix("test ") }.count, 3)
        let labels = try XCTUnwrap(symbols.first { ($0["name"] as? String) == "labels" }?["children"] as? [[String: Any]])
        XCTAssertEqual(labels.compactMap { $0["name"] as? String }, ["refund", "spam", "other"])

        let folds = try XCTUnwrap(result(c.request("textDocument/foldingRange", ["textDocument": ["uri": uri]])) as? [[String: Any]])
        XCTAssertTrue(folds.contains { ($0["startLine"] as? Int) == 16 && ($0["endLine"] as? Int) == 18 }, "the score block: \(folds)")
        XCTAssertTrue(folds.contains { ($0["startLine"] as? Int) == 8 && ($0["endLine"] as? Int) == 9 && ($0["kind"] as? String) == "comment" }, "\(folds)")
        XCTAssertTrue(folds.contains { ($0["startLine"] as? Int) == 0 && ($0["endLine"] as? Int) == 1 }, "\(folds)")

        let lenses = try XCTUnwrap(result(c.request("textDocument/codeLens", ["textDocument": ["uri": uri]])) as? [[String: Any]])
        let titles = lenses.compactMap { ($0["command"] as? [String: Any])?["title"] as? String }
        XCTAssertEqual(titles.filter { $0.hasPrefix("✓ passes") }.count, 2, "\(titles)")
        XCTAssertEqual(titles.filter { $0.hasPrefix("✗ fails: answered other (score), expected spam") }.count, 1, "\(titles)")
        XCTAssertTrue(titles.contains("decides 1 of 3 tests"), "a rule's lens without a store: \(titles)")
        // The lens's command runs the tests.
        let run = try XCTUnwrap(result(c.request("workspace/executeCommand", ["command": "loopai.runTests", "arguments": [uri]])) as? [String: Any])
        XCTAssertEqual(run["passed"] as? Int, 2)
        XCTAssertEqual(run["failed"] as? Int, 1)
        let shown = c.notification("window/showMessage")
        XCTAssertTrue("\(shown)".contains("1 of 3 tests fail"), "\(shown)")
        XCTAssertEqual(errorCode(c.request("workspace/executeCommand", ["command": "loopai.nothing", "arguments": [uri]])), -32602)
        XCTAssertEqual(c.shutdownAndExit(), 0)
    }

    static let task = """
    name: tickets
    description: Route support messages.
    input:
      text: {type: text, description: "one support message, as the customer wrote it"}
    labels:
      refund: "The customer asks for their money back."
      spam: "Unsolicited advertising or links."
      other: "Anything else."

    """
}
