import Foundation
import LoopCodegen
import LoopData
import LoopInterpreter
import LoopSema
import XCTest

/// Every example program over its full real data set: the JIT gives the interpreter's answer
/// for every record.
final class ExamplesDifferentialTests: XCTestCase {
    func testEveryExampleOnItsWholeDataSet() throws {
        let dirs = try FileManager.default.contentsOfDirectory(atPath: repoRoot.appendingPathComponent("Examples").path).sorted()
        var checked = 0
        for d in dirs {
            let prog = "Examples/\(d)/program.loop", data = repoRoot.appendingPathComponent("Examples/\(d)/data.jsonl").path
            guard FileManager.default.fileExists(atPath: repoRoot.appendingPathComponent(prog).path), FileManager.default.fileExists(atPath: data) else { continue }
            let p = try loadProgram(prog)
            let records = try RecordReader.read(data, format: .jsonl)
            let decoder = RecordDecoder(program: p)
            let inputs: [[Value]] = records.compactMap { if case .success(let v) = decoder.decode($0.raw) { return v }; return nil }
            XCTAssertEqual(inputs.count, records.count, "\(d): some records do not decode")
            assertSameDecisions(Interpreter(p).classifyBatch(inputs), try JITEngine(p).classifyBatch(inputs), d, inputs: inputs)
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 4, "expected the four example tasks")
    }
}
