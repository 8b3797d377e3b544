import Foundation
import LoopData
import XCTest

/// `loopai generate --generator induce --task T`: the program reads the task's field, and the
/// task's examples and label descriptions are training evidence, so labels absent from the data
/// can be answered.
final class InduceTaskTests: XCTestCase {
    func testTheInducerHonoursTheTask() throws {
        let root = repositoryRoot
        let all = try String(contentsOf: root.appendingPathComponent("Examples/hdfs_logs/data.jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        // The first 300 lines to learn from, the rest to test on (as a log arrives).
        let train = all.prefix(300), rest = all.dropFirst(300)
        let labelsOf = { (lines: ArraySlice<String>) in Set(lines.compactMap { (try? JSONParser.parse($0))?["label"]?.string }) }
        let absent = labelsOf(rest).subtracting(labelsOf(train))
        XCTAssertFalse(absent.isEmpty, "some templates appear only after the first 300 lines")
        let dir = try CLI.tempDir(["train.jsonl": train.joined(separator: "\n") + "\n", "rest.jsonl": rest.joined(separator: "\n") + "\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let task = root.appendingPathComponent("Examples/hdfs_logs/task.yaml").path

        func induce(_ extra: [String], _ out: String) throws -> (CLI.Result, Double) {
            let g = try CLI.run(["generate", "--generator", "induce", "--task", task, "--data", "train.jsonl", "-o", out] + extra, cwd: dir)
            XCTAssertEqual(g.status, 0, g.stderr)
            let t = try CLI.run(["test", out, "--data", "rest.jsonl", "--format", "json"], cwd: dir)
            let j = try JSONParser.parse(t.stdout)
            return (g, try XCTUnwrap(j["data"]?["accuracy"]?.number ?? j["accuracy"]?.number, t.stdout))
        }
        let (with, accuracy) = try induce([], "with.loop")
        XCTAssertTrue(with.stderr.contains("from the task: its examples and each label's description twice"), with.stderr)
        let (_, without) = try induce(["--no-task-evidence"], "without.loop")
        XCTAssertGreaterThan(accuracy, without, "the templates' text teaches the labels the first lines lack")
        // The program reads the task's field: `loopai run` answers every line of the data as it is.
        let source = try String(contentsOf: dir.appendingPathComponent("with.loop"), encoding: .utf8)
        XCTAssertTrue(source.contains("input message: text"), source)
        XCTAssertTrue(source.contains("let msg = lower(message)"), source)
        let run = try CLI.run(["run", "with.loop", "--input", "rest.jsonl"], cwd: dir)
        XCTAssertEqual(run.status, 0, run.stderr)
        let answers = run.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
        XCTAssertEqual(answers.count, rest.count)
        XCTAssertTrue(answers.allSatisfy { $0["error"] == nil })
        // Every template of the task can be answered, and the absent ones are.
        for l in absent { XCTAssertTrue(source.contains("\(l)_words = "), "a word table for \(l)") }
        let got = Set(answers.compactMap { $0["label"]?.string })
        XCTAssertFalse(got.intersection(absent).isEmpty, "some line of a template absent from the training lines is answered with it")
    }

    /// With more than 20 labels there is no matrix; the largest confusions are listed instead.
    func testManyLabelsPrintTheLargestConfusions() {
        let labels = (1...25).map { "L\($0)" }
        var e = Evaluation(labels: labels)
        for _ in 0..<5 { e.add(expected: "L3", predicted: 7) }
        for _ in 0..<2 { e.add(expected: "L1", predicted: 0) }
        for _ in 0..<3 { e.add(expected: "L9", predicted: 1) }
        e.add(expected: "L9", predicted: 8)
        let text = e.text
        XCTAssertFalse(text.contains("confusion (rows"))
        XCTAssertTrue(text.contains("largest confusions (of 8 wrong answers)\nexpected   predicted  count\nL3         L8             5\nL9         L2             3\n"), text)
        XCTAssertEqual(e.largestConfusions(limit: 1).map(\.count), [5])
    }
}
