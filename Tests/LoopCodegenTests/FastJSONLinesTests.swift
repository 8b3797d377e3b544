import Foundation
import LoopCodegen
import LoopData
import LoopDiagnostics
import LoopInterpreter
import LoopSema
import XCTest

/// Reading text fields straight from the bytes gives what the full parser and decoder give:
/// the same line numbers, answers and errors, on every example's data and on mangled lines.
final class FastJSONLinesTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func engine(_ example: String) throws -> JITEngine {
        let path = Self.root.appendingPathComponent("Examples/\(example)/program.loop").path
        let (p, d) = Checker.checkSource(SourceFile(name: path, text: try String(contentsOfFile: path, encoding: .utf8)), stdlib: .embedded)
        guard let p, !d.contains(where: { $0.severity == .error }) else { throw NSError(domain: "check", code: 1) }
        return try JITEngine(p)
    }

    func assertSame(_ e: JITEngine, _ bytes: [UInt8], column: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let fast = e.classifyJSONLines(bytes, column: column)
        let slow = Driver.classify(e, try RecordReader.parse(bytes, format: .jsonl, name: "t"), column: column)
        XCTAssertEqual(fast.count, slow.count, file: file, line: line)
        // What `loopai run` writes from the compact answers is what `decisionJSON` says of the
        // full path's decisions, byte for byte (scores and number formatting included).
        let writer = DecisionLineWriter(program: e.program)
        var written: [UInt8] = []
        e.classifyJSONLinesCompact(bytes, column: column).forEach(answer: { l, label, confidence, by, scores in
            writer.write(line: l, label: label, confidence: confidence, decidedBy: by, scores: scores, into: &written)
        }, error: { l, err in
            JSONWriter.write(.object([("line", .number(Double(l))), ("error", JSON(err.message))]), bytes: &written); written.append(0x0A)
        })
        var expected: [UInt8] = []
        for o in slow {
            switch o.result {
            case .success(let d): JSONWriter.write(decisionJSON(d, program: e.program, line: o.line), bytes: &expected)
            case .failure(let err): JSONWriter.write(.object([("line", .number(Double(o.line))), ("error", JSON(err.message))]), bytes: &expected)
            }
            expected.append(0x0A)
        }
        XCTAssertEqual(String(decoding: written, as: UTF8.self), String(decoding: expected, as: UTF8.self), file: file, line: line)
        for (a, b) in zip(fast, slow) {
            XCTAssertEqual(a.line, b.line, file: file, line: line)
            switch (a.result, b.result) {
            case (.success(let x), .success(let y)):
                XCTAssertEqual(x.label, y.label, "line \(a.line)", file: file, line: line)
                XCTAssertEqual(x.confidence.bitPattern, y.confidence.bitPattern, "line \(a.line)", file: file, line: line)
                XCTAssertEqual(x.decidedBy, y.decidedBy, "line \(a.line)", file: file, line: line)
            case (.failure(let x), .failure(let y)):
                XCTAssertEqual(x.message, y.message, "line \(a.line)", file: file, line: line)
            default:
                XCTFail("line \(a.line): \(a.result) against \(b.result)", file: file, line: line)
            }
        }
    }

    func testTheExamplesDataReadsTheSameBothWays() throws {
        for ex in ["sms_spam", "sentiment", "hdfs_logs", "validation"] {
            let e = try engine(ex)
            XCTAssertTrue(e.readsTextFieldsDirectly)
            let bytes = [UInt8](try Data(contentsOf: Self.root.appendingPathComponent("Examples/\(ex)/data.jsonl")))
            try assertSame(e, bytes)
        }
        // And the fast path really is the one taken for plain records.
        let sms = [UInt8](try Data(contentsOf: Self.root.appendingPathComponent("Examples/sms_spam/data.jsonl")))
        let lines = sms.split(separator: 0x0A).map(Array.init)
        let fast = lines.filter { l in l.withUnsafeBufferPointer { FastJSONLines.textSpans($0, 0, l.count, keys: [Array("text".utf8)]) != nil } }.count
        XCTAssertGreaterThan(Double(fast) / Double(lines.count), 0.9, "\(fast) of \(lines.count) SMS records read directly")
    }

    func testMangledLinesReadTheSameBothWays() throws {
        let e = try engine("sms_spam")
        let lines = try String(contentsOfFile: Self.root.appendingPathComponent("Examples/sms_spam/data.jsonl").path, encoding: .utf8)
            .split(separator: "\n").prefix(400).map(String.init)
        var rng = SplitMix64(seed: 77)
        let pieces = ["\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00", "\"", "\\", "{", "}", "[1,2]", ",", ":", " ", "\t", "\r", "\u{01}", "é", "\u{FFFD}",
                      "\"text\": \"again\", ", "\"n\": 12.5e3, ", "\"n\": -0, ", "\"b\": true, ", "\"z\": null, ", "\"n\": 01, ", "\"n\": 1.2.3, ", "\"x\": tru, "]
        var mangled: [String] = []
        for line in lines {
            var s = Array(line)
            let edits = Int(rng.next() % 3)
            for _ in 0..<edits {
                let at = Int(rng.next() % UInt64(s.count + 1))
                switch rng.next() % 3 {
                case 0: s.insert(contentsOf: pieces[Int(rng.next() % UInt64(pieces.count))], at: at)
                case 1: if at < s.count { s.remove(at: at) }
                default: if at < s.count { s = Array(s[..<at]) }
                }
            }
            mangled.append(String(s))
        }
        mangled += ["", "   ", "\"just a string\"", "42", "{}", "{\"text\": 3}", "{\"label\": \"ham\"}", "{\"text\": \"a\", \"text\": \"b\"}",
                    "{\"text\": \"a\\tb\"}", "{\"a\": {\"b\": 1}, \"text\": \"x\"}", "{\"text\": \"x\"} trailing", "{\"text\": \"x\",}"]
        try assertSame(e, Array(mangled.joined(separator: "\n").utf8))
        try assertSame(e, Array((mangled.joined(separator: "\r\n") + "\r\n").utf8))
    }

    /// A single-text program reading another key (`--column`).
    func testAColumnOtherThanTheFieldName() throws {
        let e = try engine("sms_spam")
        try assertSame(e, Array("{\"body\": \"WINNER!! call 09061701461\"}\n{\"text\": \"hi\"}\n".utf8), column: "body")
    }
}
