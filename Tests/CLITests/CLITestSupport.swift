import Foundation
import LoopData
import TestSupport
import XCTest

/// Runs the real `loopai` binary built next to the test bundle.
enum CLI {
    static var binary: URL { LoopaiBinary.url }

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    @discardableResult
    static func run(_ args: [String], stdin: String? = nil, cwd: URL? = nil, environment: [String: String]? = nil) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        if let environment { p.environment = environment }
        if let cwd { p.currentDirectoryURL = cwd }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inp.fileHandleForWriting.close()
        // Read both pipes before waiting so a large output cannot block the child.
        let (o, e) = readBoth(out, err)
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// A fresh temporary directory holding the given files.
    static func tempDir(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, content) in files { try content.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    static let spam = """
    program sms_spam
      "Flags spam."

    input text: text
    labels spam, ham

    const prize_words = ["winner", "prize", "claim"]
    let msg = lower(text)

    rule premium_number when matches(text, /\\b09\\d{9}\\b/) => spam confidence 0.99

    score spam {
      2 when contains_any(msg, prize_words)
      0.3 * count(text, "!")
    }
    score ham { 1 }

    otherwise => ham

    test "WINNER!! Claim your prize, call 09061701461" => spam
    test "Are we still on for lunch?" => ham

    """
}

/// Reads a child's standard output and error to their ends at the same time, so neither pipe
/// can fill up and block the child.
func readBoth(_ out: Pipe, _ err: Pipe) -> (Data, Data) {
    final class Box: @unchecked Sendable { var data = Data() }
    let o = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { o.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let e = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    return (o.data, e)
}

/// The repository's root, for tests that run its examples and scripts.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs a command (found on PATH) to its end: status, standard output and standard error.
func shell(_ args: [String], stdin: URL? = nil, environment: [String: String] = [:]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    if let stdin { p.standardInput = try FileHandle(forReadingFrom: stdin) }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let (o, e) = readBoth(out, err)
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Compiles `program` to a wheel in `dir` and installs it into the virtual environment `venv`.
func installWheel(_ program: String, into venv: String, dir: URL, file: StaticString = #filePath, line: UInt = #line) throws {
    let dist = dir.appendingPathComponent("dist-\(UUID().uuidString)")
    let r = try CLI.run(["compile", program, "--emit", "wheel", "-o", dist.path], cwd: repositoryRoot)
    XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
    let wheel = dist.appendingPathComponent(try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: dist.path).first, file: file, line: line)).path
    let (status, out, err) = try shell(["\(venv)/bin/pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--force-reinstall", wheel])
    XCTAssertEqual(status, 0, out + err, file: file, line: line)
}

/// The 2,000 HDFS messages of Examples/hdfs_logs one per line, and the interpreter's label for
/// each, one per line, as files in `dir`.
func hdfsLinesAndLabels(in dir: URL, file: StaticString = #filePath, line: UInt = #line) throws -> (lines: URL, labels: URL) {
    let records = try RecordReader.read(repositoryRoot.appendingPathComponent("Examples/hdfs_logs/data.jsonl").path, format: .jsonl)
    let messages = records.compactMap { r -> String? in if case .json(let j) = r.raw { return j["message"]?.string }; return nil }
    XCTAssertEqual(messages.count, 2000, file: file, line: line)
    let linesURL = dir.appendingPathComponent("hdfs-lines.txt")
    try (messages.joined(separator: "\n") + "\n").write(to: linesURL, atomically: true, encoding: .utf8)
    let ref = try CLI.run(["run", "--engine", "interp", "Examples/hdfs_logs/program.loop", "--input", linesURL.path, "--input-format", "lines"], cwd: repositoryRoot)
    XCTAssertEqual(ref.status, 0, ref.stderr, file: file, line: line)
    let labels = try ref.stdout.split(separator: "\n").map { try JSONParser.parse(String($0))["label"]!.string! }
    let labelsURL = dir.appendingPathComponent("hdfs-labels.txt")
    try (labels.joined(separator: "\n") + "\n").write(to: labelsURL, atomically: true, encoding: .utf8)
    return (linesURL, labelsURL)
}
