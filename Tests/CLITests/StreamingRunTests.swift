import Foundation
import LoopData
import XCTest

/// `loopai run` behind a pipe, and exporting a stored version.
final class StreamingRunTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `tail -f app.log | loopai run p.loop`: each answer comes out while standard input is still open.
    func testRunAnswersEachLineBeforeStandardInputEnds() throws {
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["run", Self.root.appendingPathComponent("Examples/sms_spam/program.loop").path]
        let inp = Pipe(), out = Pipe()
        p.standardInput = inp
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let lines = Locked<[String]>([])
        out.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            if !d.isEmpty { lines.withLock { $0 += String(decoding: d, as: UTF8.self).split(separator: "\n").map(String.init) } }
        }
        func waitFor(_ n: Int) -> Bool {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline { if lines.withLock({ $0.count }) >= n { return true }; Thread.sleep(forTimeInterval: 0.01) }
            return false
        }
        inp.fileHandleForWriting.write(Data("WINNER!! Claim your prize, call 09061701461\n".utf8))
        XCTAssertTrue(waitFor(1), "the first answer comes before the input ends")
        inp.fileHandleForWriting.write(Data("Are we still on for lunch?\nno newline at the end".utf8))
        XCTAssertTrue(waitFor(2))
        try inp.fileHandleForWriting.close()
        p.waitUntilExit()
        XCTAssertTrue(waitFor(3))
        out.fileHandleForReading.readabilityHandler = nil
        XCTAssertEqual(p.terminationStatus, 0)
        let answers = lines.withLock { $0 }.map { try? JSONParser.parse($0) }
        XCTAssertEqual(answers.map { $0?["label"]?.string }, ["spam", "ham", "ham"])
        XCTAssertEqual(answers.map { $0?["line"]?.number }, [1, 2, 3])
        // The same answers as reading a file.
        let dir = try CLI.tempDir(["in.txt": "WINNER!! Claim your prize, call 09061701461\nAre we still on for lunch?\nno newline at the end"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = try CLI.run(["run", Self.root.appendingPathComponent("Examples/sms_spam/program.loop").path, "--input", dir.appendingPathComponent("in.txt").path])
        XCTAssertEqual(whole.stdout.split(separator: "\n").map { try? JSONParser.parse(String($0)) }, answers)
    }

    /// JSON Lines from a pipe: a bad line is an error in its place, the others are answered.
    func testRunStreamsJSONLinesWithErrorsInPlace() throws {
        let r = try CLI.run(["run", Self.root.appendingPathComponent("Examples/sms_spam/program.loop").path, "--input-format", "jsonl"],
                            stdin: "{\"text\": \"hello\"}\n{\"text\": \n\"WINNER call 09061701461 now\"\n")
        XCTAssertEqual(r.status, 1)
        let out = r.stdout.split(separator: "\n").map { try? JSONParser.parse(String($0)) }
        XCTAssertEqual(out.count, 3)
        XCTAssertEqual(out[0]?["label"]?.string, "ham")
        XCTAssertTrue(out[1]?["error"]?.string?.contains("invalid JSON") ?? false, r.stdout)
        XCTAssertEqual(out[2]?["line"]?.number, 3)
        XCTAssertTrue(r.stderr.contains("1 of 3 records could not be classified"), r.stderr)
    }
}

/// A value behind a lock (for the pipe reader).
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func withLock<R>(_ body: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
}
