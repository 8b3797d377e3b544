import Foundation
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
