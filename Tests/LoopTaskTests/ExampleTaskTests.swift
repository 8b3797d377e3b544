import Foundation
import XCTest
import LoopData
import LoopSema
@testable import LoopTask

/// The task files of Examples/ load, agree with their programs and quote their data.
final class ExampleTaskTests: XCTestCase {
    static let examples = ["sms_spam", "sentiment", "hdfs_logs", "validation"]

    func testEveryExampleTaskLoads() throws {
        for name in Self.examples {
            let dir = repoRoot.appendingPathComponent("Examples/\(name)")
            let task = try TaskLoader.load(path: dir.appendingPathComponent("task.yaml").path)
            XCTAssertEqual(task.name, name)
            XCTAssertFalse(task.description.isEmpty)
            XCTAssertEqual(task.data?.path, dir.appendingPathComponent("data.jsonl").standardizedFileURL.path)
            XCTAssertEqual(task.data?.labelKey, "label")
            XCTAssertEqual(task.programPath, dir.appendingPathComponent("program.loop").standardizedFileURL.path)
            XCTAssertTrue((4...8).contains(task.examples.count), "\(name): \(task.examples.count) examples")
            XCTAssertTrue(task.labels.allSatisfy { !$0.description.isEmpty }, name)
            for e in [task.generator.endpoint, task.oracle.endpoint] {
                XCTAssertEqual(e.provider, .openai)
                XCTAssertEqual(e.model, "gpt-4o-mini")
                XCTAssertEqual(e.prices, Prices(inputPerMillion: 0.15, outputPerMillion: 0.60))
            }
            XCTAssertEqual(task.validation.rate, 0.05)
            XCTAssertEqual(task.improvement, ImprovementPolicy())
        }
    }

    /// The task's labels and input are exactly the program's `labels` and `input` declarations.
    func testExampleTasksAgreeWithTheirPrograms() throws {
        for name in Self.examples {
            let task = try TaskLoader.load(path: repoRoot.appendingPathComponent("Examples/\(name)/task.yaml").path)
            let (program, diags) = try Driver.check(task.programPath)
            let p = try XCTUnwrap(program, diags.map(\.message).joined(separator: "\n"))
            XCTAssertEqual(task.labelNames, p.labels, name)
            XCTAssertEqual(task.input.map(\.name), p.fields.map(\.name), name)
            XCTAssertEqual(task.input.map(\.type.rawValue), p.fields.map { "\($0.type)" }, name)
            XCTAssertEqual(task.isSingleText, p.singleInput, name)
            XCTAssertEqual(task.name, p.name, name)
        }
    }

    /// Every example of a task file is a line of its data, with the same label, and each task
    /// shows at least two labels.
    func testExampleTasksQuoteTheirData() throws {
        for name in Self.examples {
            let task = try TaskLoader.load(path: repoRoot.appendingPathComponent("Examples/\(name)/task.yaml").path)
            let data = try task.examplesFromData(limit: nil)
            XCTAssertGreaterThan(data.count, 1000, name)
            for e in task.examples {
                XCTAssertTrue(data.contains(e), "\(name): \(JSONWriter.string(e.input)) => \(e.label) is not in data.jsonl")
            }
            XCTAssertGreaterThanOrEqual(Set(task.examples.map(\.label)).count, 2, name)
        }
    }
}
