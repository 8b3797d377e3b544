import Foundation
import LoopData
import XCTest

/// Random edit sequences sent to the real server: after every batch its copy of the document must
/// equal the text the edits give, and it must keep answering (no crash on any intermediate text).
final class LSPFuzzTests: XCTestCase {
    /// Pieces of text an edit inserts: Loop tokens, broken ones, multi-byte and astral characters, line breaks.
    static let pieces = ["rule ", "x", " when ", "=> ", "spam", "\n", "\r\n", "\"", "/", "/a+/i", "(", ")", "[", "]", "{", "}", "é", "😀", "日本",
                         "\u{301}", "// note\n", "score ham { 1 }\n", "test \"hi\" => ham\n", "const k = [\"a\", \"b\"]\n", "\t", "  ", "0.5", "-", ""]

    /// The protocol position (line, UTF-16 column) of the character boundary `k` of `chars`.
    static func position(_ chars: [Character], _ k: Int) -> [String: Any] {
        var line = 0, column = 0
        for ch in chars[0..<k] {
            for s in ch.unicodeScalars {
                if s == "\n" { line += 1; column = 0 } else { column += s.utf16.count }
            }
        }
        return pos(line, column)
    }

    func testRandomEditSequencesKeepTheServersCopyEqualToTheEditedText() throws {
        let c = try LSPClient()
        _ = c.initialize()
        let uri = "file:///tmp/loopai-lsp-fuzz/p.loop"
        var model = LSPServerTests.program
        c.open(uri, model)
        var rng = SplitMix64(seed: 20261206)
        var version = 1
        for round in 0..<400 {
            version += 1
            var changes: [[String: Any]] = []
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                if Int.random(in: 0..<50, using: &rng) == 0 {
                    // Now and then the client sends the whole text.
                    model = String(model.shuffled(using: &rng).prefix(Int.random(in: 0...200, using: &rng)))
                        .replacingOccurrences(of: "\r", with: "")
                    changes.append(["text": model])
                    continue
                }
                let chars = Array(model)
                var a = Int.random(in: 0...chars.count, using: &rng)
                var b = min(chars.count, a + Int.random(in: 0...(Int.random(in: 0..<4, using: &rng) == 0 ? 40 : 3), using: &rng))
                if Bool.random(using: &rng) { swap(&a, &b) }   // ranges given end first are accepted too
                let lo = min(a, b), hi = max(a, b)
                var insert = ""
                for _ in 0..<Int.random(in: 0...3, using: &rng) { insert += Self.pieces.randomElement(using: &rng)! }
                changes.append(["range": ["start": Self.position(chars, a), "end": Self.position(chars, b)], "text": insert])
                model = String(chars[0..<lo]) + insert + String(chars[hi...])
            }
            c.change(uri, version: version, changes)
            if round % 10 == 9 || round == 399 {
                let doc = c.request("loopai/document", ["textDocument": ["uri": uri]])
                let text = (doc["result"] as? [String: Any])?["text"] as? String
                guard text == model else {
                    XCTFail("round \(round): the server's copy differs\nserver: \(String(describing: text).debugDescription)\nexpected: \(model.debugDescription)")
                    break
                }
                XCTAssertEqual((doc["result"] as? [String: Any])?["version"] as? Int, version)
                // Every query still answers on whatever the text has become.
                for method in ["textDocument/documentSymbol", "textDocument/foldingRange", "textDocument/codeLens", "textDocument/formatting"] {
                    let r = c.request(method, ["textDocument": ["uri": uri], "options": [:]])
                    XCTAssertTrue(r["result"] != nil || ((r["error"] as? [String: Any])?["code"] as? Int) == -32803, "\(method): \(r)")
                }
                let p = Self.position(Array(model), Int.random(in: 0...model.count, using: &rng))
                for method in ["textDocument/hover", "textDocument/completion", "textDocument/definition"] {
                    let r = c.request(method, ["textDocument": ["uri": uri], "position": p])
                    XCTAssertNotNil(r["result"], "\(method) at \(p): \(r)")
                }
            }
        }
        XCTAssertTrue(c.process.isRunning)
        XCTAssertEqual(c.shutdownAndExit(), 0)
    }
}
