import Foundation
import XCTest
import LoopDiagnostics
@testable import LoopTask

/// The smallest valid task, to which tests add or change lines.
let minimalTask = """
name: t
description: a test task
labels: {a: the first, b: the second}

"""

/// The repository root, from this file's path.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The diagnostics of a task that must fail to load.
func diagnostics(_ yaml: String, path: String = "/tmp/loopai-task-tests/task.yaml",
                 file: StaticString = #filePath, line: UInt = #line) -> [Diagnostic] {
    do {
        _ = try TaskLoader.parse(text: yaml, path: path)
        XCTFail("the task loaded", file: file, line: line)
        return []
    } catch let e as TaskError {
        return e.diagnostics
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
        return []
    }
}

/// The only diagnostic of a task that must fail with exactly one.
func single(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> Diagnostic? {
    let ds = diagnostics(yaml, file: file, line: line)
    XCTAssertEqual(ds.count, 1, ds.map { TextRenderer().render($0) }.joined(), file: file, line: line)
    return ds.first
}

/// Asserts code, 1-based line and column, and that the message contains each fragment.
func assertDiagnostic(_ d: Diagnostic?, _ code: String, line: Int, column: Int, _ fragments: String...,
                      file: StaticString = #filePath, testLine: UInt = #line) {
    guard let d else { XCTFail("no diagnostic", file: file, line: testLine); return }
    let rendered = TextRenderer().render(d)
    XCTAssertEqual(d.code, code, rendered, file: file, line: testLine)
    XCTAssertEqual(d.severity, .error, file: file, line: testLine)
    if let f = d.file {
        let (l, c) = f.location(of: d.range.start)
        XCTAssertEqual(l, line, "line: " + rendered, file: file, line: testLine)
        XCTAssertEqual(c, column, "column: " + rendered, file: file, line: testLine)
    } else {
        XCTFail("no file: " + rendered, file: file, line: testLine)
    }
    for frag in fragments {
        XCTAssertTrue(rendered.contains(frag), "missing `\(frag)` in:\n" + rendered, file: file, line: testLine)
    }
}

/// A fresh temporary directory, removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-task-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

func write(_ text: String, to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
}
