import Foundation
import LoopData
import XCTest
import Yams

/// What editors and CI read from the repository: the pre-commit hooks run as pre-commit runs
/// them, and the VS Code extension's manifest agrees with the server and the grammar.
final class EditorIntegrationTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs a hook's `entry` (its first word resolved to the built binary) with the file names
    /// appended, as pre-commit does for `language: system`; the exit status and output.
    func runHook(_ entry: String, _ files: [String]) throws -> (Int32, String) {
        var words = entry.split(separator: " ").map(String.init)
        XCTAssertEqual(words.first, "loopai")
        words.removeFirst()
        let p = Process()
        p.executableURL = LSPClient.binary
        p.arguments = words + files
        let out = Pipe()
        p.standardOutput = out; p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    func testPreCommitHooksPassAGoodProgramAndFailABrokenOne() throws {
        let yaml = try String(contentsOf: Self.root.appendingPathComponent(".pre-commit-hooks.yaml"), encoding: .utf8)
        let hooks = try XCTUnwrap(try Yams.load(yaml: yaml) as? [[String: Any]])
        XCTAssertEqual(hooks.compactMap { $0["id"] as? String }, ["loopai-check", "loopai-fmt"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-hooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.loop").path
        let broken = dir.appendingPathComponent("broken.loop").path
        let messy = dir.appendingPathComponent("messy.loop").path
        try LSPServerTests.program.write(toFile: good, atomically: true, encoding: .utf8)
        try LSPServerTests.program.replacingOccurrences(of: "=> spam confidence", with: "=> spma confidence").write(toFile: broken, atomically: true, encoding: .utf8)
        try LSPServerTests.program.replacingOccurrences(of: "labels refund, spam, other", with: "labels   refund,spam , other").write(toFile: messy, atomically: true, encoding: .utf8)
        for hook in hooks {
            let id = try XCTUnwrap(hook["id"] as? String), entry = try XCTUnwrap(hook["entry"] as? String)
            XCTAssertEqual(hook["language"] as? String, "system")
            let pattern = try NSRegularExpression(pattern: try XCTUnwrap(hook["files"] as? String))
            for f in [good, broken, messy, dir.appendingPathComponent("task.yaml").path] {
                let matched = pattern.firstMatch(in: f, range: NSRange(f.startIndex..., in: f)) != nil
                XCTAssertEqual(matched, f.hasSuffix(".loop"), "\(id) selects \(f)")
            }
            let (okStatus, okOut) = try runHook(entry, [good])
            XCTAssertEqual(okStatus, 0, "\(id) on a good program: \(okOut)")
            switch id {
            case "loopai-check":
                let (s, out) = try runHook(entry, [good, broken])
                XCTAssertEqual(s, 1, out)
                XCTAssertTrue(out.contains("E0302"), out)
                XCTAssertTrue(out.contains("broken.loop"), out)
                XCTAssertEqual(try runHook(entry, [messy]).0, 0, "layout is fmt's business")
            default:
                let (s, out) = try runHook(entry, [messy, good])
                XCTAssertEqual(s, 1, out)
                XCTAssertTrue(out.contains("messy.loop: not formatted"), out)
                XCTAssertFalse(out.contains("good.loop"), out)
                XCTAssertEqual(try runHook(entry, [broken]).0, 0, "a broken label still parses: check's business")
                XCTAssertEqual(try String(contentsOfFile: messy, encoding: .utf8), LSPServerTests.program.replacingOccurrences(of: "labels refund, spam, other", with: "labels   refund,spam , other"), "--check writes nothing")
            }
        }
    }

    func testTheVSCodeExtensionDeclaresTheGrammarAndTheServersCommands() throws {
        let dir = Self.root.appendingPathComponent("Grammar/vscode")
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("package.json"))) as? [String: Any])
        let contributes = try XCTUnwrap(manifest["contributes"] as? [String: Any])
        let grammar = try XCTUnwrap((contributes["grammars"] as? [[String: Any]])?.first)
        XCTAssertEqual(grammar["scopeName"] as? String, "source.loop")
        // The grammar the extension ships is the repository's one (a link, not a copy).
        let shipped = try Data(contentsOf: dir.appendingPathComponent(try XCTUnwrap(grammar["path"] as? String)))
        XCTAssertEqual(shipped, try Data(contentsOf: Self.root.appendingPathComponent("Grammar/loop.tmLanguage.json")))
        let language = try XCTUnwrap((contributes["languages"] as? [[String: Any]])?.first)
        XCTAssertEqual(language["extensions"] as? [String], [".loop"])
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(try XCTUnwrap(language["configuration"] as? String)))) as? [String: Any])
        XCTAssertEqual((config["comments"] as? [String: Any])?["lineComment"] as? String, "//")
        // The palette's commands are the server's commands, applied to the active document.
        let c = try LSPClient()
        let caps = (c.initialize()["result"] as? [String: Any])?["capabilities"] as? [String: Any]
        let serverCommands = try XCTUnwrap((caps?["executeCommandProvider"] as? [String: Any])?["commands"] as? [String])
        XCTAssertEqual(c.shutdownAndExit(), 0)
        let palette = try XCTUnwrap(contributes["commands"] as? [[String: Any]]).compactMap { $0["command"] as? String }
        XCTAssertEqual(palette.sorted(), serverCommands.map { $0 + ".active" }.sorted())
        let js = try String(contentsOf: dir.appendingPathComponent(try XCTUnwrap(manifest["main"] as? String)), encoding: .utf8)
        XCTAssertTrue(js.contains("['lsp']"), "the client starts `loopai lsp`")
        for command in serverCommands { XCTAssertTrue(js.contains("'\(command)'"), command) }
    }
}
