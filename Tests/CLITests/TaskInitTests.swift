import Foundation
import LoopData
import XCTest

/// `loopai task init`: a first task file from labeled data, whatever the labels look like.
final class TaskInitTests: XCTestCase {
    /// The SMS collection with its labels written as an application might ("ham" → "not spam",
    /// "spam" → "spam!"): the task maps identifiers to those strings, the data stays as it is, the
    /// next commands it prints work, and the program answers with the application's strings.
    func testAFirstTaskFromDataWithApplicationLabels() throws {
        let lines = try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/sms_spam/data.jsonl"), encoding: .utf8)
            .split(separator: "\n").prefix(1500)
        let relabeled = try lines.map { line -> String in
            let j = try JSONParser.parse(String(line))
            let label = j["label"]?.string == "ham" ? "not spam" : "spam!"
            return JSONWriter.string(.object([("sms", j["text"]!), ("class", JSON(label))]))
        }
        let dir = try CLI.tempDir(["sms.jsonl": relabeled.joined(separator: "\n") + "\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["task", "init", "sms.jsonl", "--input-field", "sms", "--label-field", "class", "-o", "task.yaml"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("not_spam as \"not spam\""), r.stderr)
        XCTAssertTrue(r.stderr.contains("spam as \"spam!\""), r.stderr)
        XCTAssertTrue(r.stdout.contains("loopai generate --generator induce --task task.yaml"), r.stdout)
        XCTAssertTrue(r.stdout.contains("loopai test program.loop --data sms.jsonl --label class"), r.stdout)
        let task = try String(contentsOf: dir.appendingPathComponent("task.yaml"), encoding: .utf8)
        XCTAssertTrue(task.contains("input:\n  sms: {type: text}"), task)
        XCTAssertTrue(task.contains("  not_spam: {name: \"not spam\", description: "), task)
        XCTAssertTrue(task.contains("data: {path: \"sms.jsonl\", label: \"class\"}"), task)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("sms.task.jsonl").path), "no copy of JSON Lines data")
        XCTAssertEqual(try CLI.run(["check-task", "task.yaml"], cwd: dir).status, 0)
        // The printed next steps: a program from the task, tested on the data as it is.
        let g = try CLI.run(["generate", "--generator", "induce", "--task", "task.yaml", "--train-fraction", "0.8", "-o", "program.loop"], cwd: dir)
        XCTAssertEqual(g.status, 0, g.stderr)
        let source = try String(contentsOf: dir.appendingPathComponent("program.loop"), encoding: .utf8)
        XCTAssertTrue(source.contains("labels not_spam as \"not spam\", spam as \"spam!\""), source)
        let t = try CLI.run(["test", "program.loop", "--data", "sms.jsonl", "--label", "class", "--format", "json"], cwd: dir)
        let report = try JSONParser.parse(t.stdout)
        XCTAssertGreaterThan(report["accuracy"]?.number ?? 0, 0.9, t.stdout)
        XCTAssertEqual(report["evaluation"]?["unknown_expected_labels"], .object([]), t.stdout)
        // Answers carry the application's strings, from the JIT and from the interpreter alike.
        for engine in ["jit", "interp"] {
            let run = try CLI.run(["run", "program.loop", "--engine", engine], stdin: """
                {"sms": "WINNER!! Claim your free prize now, call 09061701461"}
                {"sms": "See you at lunch tomorrow"}

                """, cwd: dir)
            XCTAssertEqual(run.status, 0, run.stderr)
            let answers = run.stdout.split(separator: "\n").compactMap { (try? JSONParser.parse(String($0)))?["label"]?.string }
            XCTAssertEqual(answers, ["spam!", "not spam"], "\(engine): \(run.stdout)")
        }

        // An existing file is kept unless --force; fields that are not there are named.
        let again = try CLI.run(["task", "init", "sms.jsonl", "--input-field", "sms", "--label-field", "class", "-o", "task.yaml"], cwd: dir)
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
        let wrong = try CLI.run(["task", "init", "sms.jsonl", "-o", "other.yaml"], cwd: dir)
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("no record has a text `text` and a `label` (the fields are sms, class)"), wrong.stderr)
    }

    /// CSV data and a CSV of descriptions (a log's template list), and labels that collide once made identifiers.
    func testCSVDataDescriptionsAndCollidingLabels() throws {
        let data = "Content,EventId\n\"Served block 7 to /10.0.0.1\",a b\nServed block 9 to /10.0.0.2,a b\nDeleting block 3,a_b\nDeleting block 5,a_b\nVerified 3,rule\n"
        let descriptions = "EventId,EventTemplate\na b,Served block <*> to /<*>\na_b,Deleting block <*>\n"
        let dir = try CLI.tempDir(["log.csv": data, "templates.csv": descriptions])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["task", "init", "log.csv", "--input-field", "Content", "--label-field", "EventId", "--descriptions", "templates.csv", "-o", "t/task.yaml"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("a_b_2 as \"a b\""), r.stderr)
        XCTAssertTrue(r.stderr.contains("rule_ as \"rule\""), "a keyword: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("no description for 1 label(s): rule"), r.stderr)
        let task = try String(contentsOf: dir.appendingPathComponent("t/task.yaml"), encoding: .utf8)
        XCTAssertTrue(task.contains("  a_b_2: {name: \"a b\", description: \"Served block <*> to /<*>\"}"), task)
        XCTAssertTrue(task.contains("  a_b: \"Deleting block <*>\""), task)
        XCTAssertTrue(task.contains("data: \"log.task.jsonl\""), task)
        XCTAssertEqual(try CLI.run(["check-task", "t/task.yaml"], cwd: dir).status, 0)
    }

    /// Labels written as JSON numbers (`"label": 3`): the task maps `_3` to "3", and the data is
    /// copied with string labels, which every reader of the task takes.
    func testNumericLabelsAreCopiedAsStrings() throws {
        let lines = (0..<40).map { i in i % 2 == 0 ? #"{"text": "great film \#(i)", "label": 1}"# : #"{"text": "awful plot \#(i)", "label": 0}"# }
        let dir = try CLI.tempDir(["reviews.jsonl": lines.joined(separator: "\n") + "\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["task", "init", "reviews.jsonl", "-o", "task.yaml"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let task = try String(contentsOf: dir.appendingPathComponent("task.yaml"), encoding: .utf8)
        XCTAssertTrue(task.contains("  _1: {name: \"1\", description: "), task)
        XCTAssertTrue(task.contains("data: \"reviews.task.jsonl\""), task)
        let check = try CLI.run(["check-task", "task.yaml"], cwd: dir)
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        let g = try CLI.run(["generate", "--generator", "induce", "--task", "task.yaml", "-o", "p.loop"], cwd: dir)
        XCTAssertEqual(g.status, 0, g.stderr)
        let run = try CLI.run(["run", "p.loop"], stdin: "{\"text\": \"great film\"}\n", cwd: dir)
        XCTAssertEqual((try JSONParser.parse(run.stdout))["label"]?.string, "1", run.stdout)
    }
}
