import Foundation
import LoopData
import XCTest

/// Examples/spark/classify_logs.py in Spark's local[2] mode on the HDFS log lines: the compiled
/// program's wheel inside mapInPandas answers as `loopai run` does, and the same program written
/// as Spark SQL (`--emit spark-sql`) answers the same on every row.
final class SparkTests: XCTestCase {
    let root = repositoryRoot

    func testTheWheelInSparkAndTheDerivedSQLAnswerAsLoopaiRun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-spark-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let program = "Examples/hdfs_logs/program.loop"
        // PySpark (from PyPI; Java 17 is on the machine) in a virtual environment kept under .build.
        let venv = root.appendingPathComponent(".build/venv-spark").path
        var (status, stdout, stderr) = (Int32(0), "", "")
        if !FileManager.default.fileExists(atPath: "\(venv)/bin/python") {
            (status, stdout, stderr) = try shell(["python3", "-m", "venv", venv])
            XCTAssertEqual(status, 0, stderr)
        }
        (status, stdout, stderr) = try shell(["\(venv)/bin/pip", "install", "-q", "--disable-pip-version-check", "pyspark", "pandas<3", "pyarrow", "numpy"])
        XCTAssertEqual(status, 0, "pyspark from PyPI: " + stdout + stderr)

        try installWheel(program, into: venv, dir: dir)
        let sql = dir.appendingPathComponent("hdfs_logs.sql").path
        let r = try CLI.run(["compile", program, "--emit", "spark-sql", "-o", sql], cwd: root)
        XCTAssertEqual(r.status, 0, r.stderr)
        let (linesURL, expectedURL) = try hdfsLinesAndLabels(in: dir)

        (status, stdout, stderr) = try shell(["\(venv)/bin/python", root.appendingPathComponent("Examples/spark/classify_logs.py").path,
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
