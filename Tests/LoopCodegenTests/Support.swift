import Foundation
import LoopCodegen
import LoopData
import LoopInterpreter
import LoopSema
import XCTest

/// The repository root, from this file's path.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func loadProgram(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> TypedProgram {
    let src = SourceFile(name: path, bytes: Array(try Data(contentsOf: repoRoot.appendingPathComponent(path))))
    let (p, d) = Checker.checkSource(src, stdlib: .embedded)
    guard let p else {
        XCTFail("\(path) does not check:\n" + TextRenderer().render(d), file: file, line: line)
        throw NSError(domain: "test", code: 1)
    }
    return p
}

func checkSource(_ text: String) -> TypedProgram? { Checker.checkSource(SourceFile(name: "gen.loop", text: text), stdlib: .embedded).program }

/// Asserts two engines gave the same decisions, bit for bit.
func assertSameDecisions(_ a: [Decision], _ b: [Decision], _ what: String, inputs: [[Value]], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    var shown = 0
    for i in 0..<min(a.count, b.count) where a[i] != b[i] || a[i].confidence.bitPattern != b[i].confidence.bitPattern {
        if shown < 5 { XCTFail("\(what): input \(i) differs: \(a[i]) vs \(b[i]); input \(inputs[i])", file: file, line: line) }
        shown += 1
    }
    if shown > 5 { XCTFail("\(what): \(shown) inputs differ in all", file: file, line: line) }
}

extension Data {
    init?(hex: String) {
        var bytes: [UInt8] = []
        var s = Substring(hex)
        while s.count >= 2 { guard let b = UInt8(s.prefix(2), radix: 16) else { return nil }; bytes.append(b); s = s.dropFirst(2) }
        self.init(bytes)
    }
}
