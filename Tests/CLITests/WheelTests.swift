import Foundation
import LoopData
import XCTest

/// `loopai compile --emit wheel`: the wheel installs with pip into a fresh virtual environment,
/// imports with nothing but the standard library, and answers as the interpreter does (batch,
/// one by one, from 8 threads, pandas and NumPy variants); bad inputs are Python exceptions.
final class WheelTests: XCTestCase {
    let root = repositoryRoot

    func testTheWheelInstallsAndAnswersAsTheInterpreter() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-wheel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let program = "Examples/sms_spam/program.loop"
        let out = dir.appendingPathComponent("dist")
        let r = try CLI.run(["compile", program, "--emit", "wheel", "-o", out.path], cwd: root)
        XCTAssertEqual(r.status, 0, r.stderr)
        let wheels = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".whl") }
        XCTAssertEqual(wheels.count, 1, "\(wheels)")
        let wheel = out.appendingPathComponent(try XCTUnwrap(wheels.first)).path
        XCTAssertTrue(wheels[0].hasPrefix("sms_spam-0.0.0+") && wheels[0].hasSuffix("-py3-none-linux_x86_64.whl"), wheels[0])

        // The SMS texts one per line, and the interpreter's answers.
        let records = try RecordReader.read(root.appendingPathComponent("Examples/sms_spam/data.jsonl").path, format: .jsonl)
        let texts = records.compactMap { $0.raw.jsonText }.filter { !$0.contains("\n") && !$0.contains("\r") }
        let textsURL = dir.appendingPathComponent("texts.txt")
        try (texts.joined(separator: "\n") + "\n").write(to: textsURL, atomically: true, encoding: .utf8)
        let ref = try CLI.run(["run", "--engine", "interp", program, "--input", textsURL.path, "--input-format", "lines"], cwd: root)
        XCTAssertEqual(ref.status, 0, ref.stderr)
        let expectedURL = dir.appendingPathComponent("expected.jsonl")
        try ref.stdout.write(to: expectedURL, atomically: true, encoding: .utf8)
        let check = root.appendingPathComponent("Tests/wheel/check_wheel.py").path

        // A fresh virtual environment: pip installs the wheel alone (it needs nothing else).
        let venv = dir.appendingPathComponent("venv").path
        var (status, stdout, stderr) = try shell(["python3", "-m", "venv", venv])
        XCTAssertEqual(status, 0, stderr)
        (status, stdout, stderr) = try shell(["\(venv)/bin/pip", "install", "--no-index", "--disable-pip-version-check", wheel])
        XCTAssertEqual(status, 0, stdout + stderr)
        (status, stdout, stderr) = try shell(["\(venv)/bin/python", check, "sms_spam", expectedURL.path, textsURL.path])
        XCTAssertEqual(status, 0, stdout + stderr)
        XCTAssertTrue(stdout.contains("OK 8 threads agree"), stdout)

        // With pandas, NumPy and DuckDB (a virtual environment kept under .build, filled from PyPI once).
        let framesVenv = root.appendingPathComponent(".build/venv-wheel").path
        if !FileManager.default.fileExists(atPath: "\(framesVenv)/bin/python") {
            (status, stdout, stderr) = try shell(["python3", "-m", "venv", framesVenv])
            XCTAssertEqual(status, 0, stderr)
        }
        (status, stdout, stderr) = try shell(["\(framesVenv)/bin/pip", "install", "-q", "--disable-pip-version-check", "numpy", "pandas", "duckdb", "pyarrow"])
        XCTAssertEqual(status, 0, "pandas, numpy, duckdb and pyarrow from PyPI: " + stdout + stderr)
        (status, stdout, stderr) = try shell(["\(framesVenv)/bin/pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--force-reinstall", wheel])
        XCTAssertEqual(status, 0, stdout + stderr)
        (status, stdout, stderr) = try shell(["\(framesVenv)/bin/python", check, "sms_spam", expectedURL.path, textsURL.path, "--frames"])
        XCTAssertEqual(status, 0, stdout + stderr)
        XCTAssertTrue(stdout.contains("OK classify_series"), stdout)
        XCTAssertTrue(stdout.contains("OK DuckDB"), stdout)

        // The HDFS program in DuckDB as its wheel and as the SQL derived from it (--emit duckdb-sql).
        let hdfs = "Examples/hdfs_logs/program.loop"
        try installWheel(hdfs, into: framesVenv, dir: dir)
        let query = dir.appendingPathComponent("hdfs.sql").path
        let c = try CLI.run(["compile", hdfs, "--emit", "duckdb-sql", "-o", query], cwd: root)
        XCTAssertEqual(c.status, 0, c.stderr)
        let (linesURL, labelsURL) = try hdfsLinesAndLabels(in: dir)
        (status, stdout, stderr) = try shell(["\(framesVenv)/bin/python", root.appendingPathComponent("Tests/wheel/check_duckdb_sql.py").path,
                                           "hdfs_logs", query, linesURL.path, labelsURL.path])
        XCTAssertEqual(status, 0, stdout + stderr)
        XCTAssertTrue(stdout.contains("agree with the interpreter on 2000 rows"), stdout)
    }

    func testAWheelNeedsANameAndAVersionPipAccepts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-wheel-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = try CLI.run(["compile", "Examples/sms_spam/program.loop", "--emit", "wheel", "-o", dir.path, "--wheel-version", "one point two"], cwd: root)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("is not a version pip accepts"), bad.stderr)
        let badName = try CLI.run(["compile", "Examples/sms_spam/program.loop", "--emit", "wheel", "-o", dir.path, "--wheel-name", "sms-spam"], cwd: root)
        XCTAssertEqual(badName.status, 2)
        XCTAssertTrue(badName.stderr.contains("cannot name a Python module"), badName.stderr)
        let named = try CLI.run(["compile", "Examples/sms_spam/program.loop", "--emit", "wheel", "-o", dir.path, "--wheel-name", "spam_filter", "--wheel-version", "1.2.0"], cwd: root)
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("spam_filter-1.2.0-py3-none-linux_x86_64.whl").path))
        let wrongFlag = try CLI.run(["compile", "Examples/sms_spam/program.loop", "--emit", "shared", "-o", dir.appendingPathComponent("x.so").path, "--wheel-name", "x"], cwd: root)
        XCTAssertEqual(wrongFlag.status, 2)
    }
}
