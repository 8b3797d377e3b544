import Foundation
import LoopData
import XCTest

/// Examples/spark/classify_logs.py in Spark's local[2] mode on the HDFS log lines: the compiled
/// program's wheel inside mapInPandas answers as `loopai run` does, and the same program written
/// as Spark SQL (`--emit spark-sql`) answers the same on every row.
final class SparkTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func sh(_ args: [String]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let (o, e) = readBoth(out, err)
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func testTheWheelInSparkAndTheDerivedSQLAnswerAsLoopaiRun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-spark-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let program = "Examples/hdfs_logs/program.loop"
        // PySpark (from PyPI; Java 17 is on the machine) in a virtual environment kept under .build.
        let venv = root.appendingPathComponent(".build/venv-spark").path
        var (status, stdout, stderr) = (Int32(0), "", "")
        if !FileManager.default.fileExists(atPath: "\(venv)/bin/python") {
            (status, stdout, stderr) = try sh(["python3", "-m", "venv", venv])
            XCTAssertEqual(status, 0, stderr)
        }
        (status, stdout, stderr) = try sh(["\(venv)/bin/pip", "install", "-q", "--disable-pip-version-check", "pyspark", "pandas<3", "pyarrow", "numpy"])
        XCTAssertEqual(status, 0, "pyspark from PyPI: " + stdout + stderr)

        let wheelDir = dir.appendingPathComponent("dist")
        var r = try CLI.run(["compile", program, "--emit", "wheel", "-o", wheelDir.path], cwd: root)
        XCTAssertEqual(r.status, 0, r.stderr)
        let wheel = wheelDir.appendingPathComponent(try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: wheelDir.path).first)).path
        (status, stdout, stderr) = try sh(["\(venv)/bin/pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--force-reinstall", wheel])
        XCTAssertEqual(status, 0, stdout + stderr)
        let sql = dir.appendingPathComponent("hdfs_logs.sql").path
        r = try CLI.run(["compile", program, "--emit", "spark-sql", "-o", sql], cwd: root)
        XCTAssertEqual(r.status, 0, r.stderr)

        // The 2,000 HDFS messages one per line, and the interpreter's label for each.
        let records = try RecordReader.read(root.appendingPathComponent("Examples/hdfs_logs/data.jsonl").path, format: .jsonl)
        let lines = records.compactMap { r -> String? in if case .json(let j) = r.raw { return j["message"]?.string }; return nil }
        XCTAssertEqual(lines.count, 2000)
        let linesURL = dir.appendingPathComponent("lines.txt")
        try (lines.joined(separator: "\n") + "\n").write(to: linesURL, atomically: true, encoding: .utf8)
        let ref = try CLI.run(["run", "--engine", "interp", program, "--input", linesURL.path, "--input-format", "lines"], cwd: root)
        XCTAssertEqual(ref.status, 0, ref.stderr)
        let expected = try ref.stdout.split(separator: "\n").map { try JSONParser.parse(String($0))["label"]!.string! }
        let expectedURL = dir.appendingPathComponent("expected.txt")
        try (expected.joined(separator: "\n") + "\n").write(to: expectedURL, atomically: true, encoding: .utf8)

        (status, stdout, stderr) = try sh(["\(venv)/bin/python", root.appendingPathComponent("Examples/spark/classify_logs.py").path,
                                           "--module", "hdfs_logs", "--sql", sql, "--field", "message", "--input", linesURL.path,
                                           "--output", dir.appendingPathComponent("out").path, "--master", "local[2]", "--expected", expectedURL.path])
        XCTAssertEqual(status, 0, stdout + stderr)
        let figures = try JSONParser.parse(String(stdout.split(separator: "\n").last ?? ""))
        XCTAssertEqual(figures["rows"]?.number, 2000, stdout)
        XCTAssertEqual(figures["compared"]?.number, 2000, stdout)
        XCTAssertEqual(figures["differ"]?.number, 0, "the SQL and the wheel answer differently: \(stdout)")
        XCTAssertEqual(figures["agree_with_expected"]?.number, 2000, "the wheel in Spark against loopai run: \(stdout)")
    }

    func testAProgramSQLCannotSayIsRefusedWithTheReason() throws {
        let r = try CLI.run(["compile", "Examples/sms_spam/program.loop", "--emit", "spark-sql", "-o", "/tmp/loopai-never-written.sql"], cwd: root)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("`contains_any_word` has no Spark SQL form"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/loopai-never-written.sql"))
    }
}
