import Foundation
import LoopData
import XCTest

/// `loopai compile` output loaded from C and from Python (ctypes) gives the interpreter's answers.
final class AOTTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func shell(_ args: [String], stdin: URL? = nil) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        if let stdin { p.standardInput = try FileHandle(forReadingFrom: stdin) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let (o, e) = readBoth(out, err)
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// label and confidence per line from the reference interpreter.
    func reference(_ program: String, _ texts: URL) throws -> [(String, Double, String)] {
        let r = try CLI.run(["run", "--engine", "interp", program, "--input", texts.path, "--input-format", "lines"], cwd: root)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try r.stdout.split(separator: "\n").map { line in
            let j = try JSONParser.parse(String(line))
            let by = j["decided_by"]!.string!
            return (j["label"]!.string!, j["confidence"]!.number!, by.hasPrefix("rule:") ? "rule" : by)
        }
    }

    func parse(_ out: String) -> [(String, Double, String)] {
        out.split(separator: "\n").map { l in
            let f = l.split(separator: "\t").map(String.init)
            return (f[0], Double(f[1]) ?? .nan, f[2])
        }
    }

    func testSharedLibraryFromCAndPython() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-aot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let program = "Examples/sms_spam/program.loop"
        let lib = dir.appendingPathComponent("libprogram.so").path
        for (emit, path) in [("shared", lib), ("header", dir.appendingPathComponent("program.h").path),
                             ("obj", dir.appendingPathComponent("program.o").path), ("llvm", dir.appendingPathComponent("program.ll").path),
                             ("asm", dir.appendingPathComponent("program.s").path), ("runtime", dir.appendingPathComponent("loop_runtime.c").path)] {
            let r = try CLI.run(["compile", program, "--emit", emit, "-o", path], cwd: root)
            XCTAssertEqual(r.status, 0, "\(emit): \(r.stderr)")
            XCTAssertGreaterThan((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0, 0, emit)
        }
        // The object links against the shipped runtime into a working library too.
        let (objStatus, _, objErr) = try shell(["cc", "-shared", "-fPIC", "-o", dir.appendingPathComponent("libobj.so").path,
                                                dir.appendingPathComponent("program.o").path, dir.appendingPathComponent("loop_runtime.c").path, "-lm"])
        XCTAssertEqual(objStatus, 0, objErr)

        // The real texts of the SMS collection, one per line.
        let records = try RecordReader.read(root.appendingPathComponent("Examples/sms_spam/data.jsonl").path, format: .jsonl)
        let texts = records.compactMap { $0.raw.jsonText }.filter { !$0.contains("\n") && !$0.contains("\r") }
        XCTAssertGreaterThan(texts.count, 5000)
        let textsURL = dir.appendingPathComponent("texts.txt")
        try (texts.joined(separator: "\n") + "\n").write(to: textsURL, atomically: true, encoding: .utf8)
        let expected = try reference(program, textsURL)
        XCTAssertEqual(expected.count, texts.count)

        let exe = dir.appendingPathComponent("classify").path
        let (ccStatus, _, ccErr) = try shell(["cc", "-O2", "-I", dir.path, root.appendingPathComponent("Examples/c_api/classify.c").path,
                                              "-L", dir.path, "-lprogram", "-Wl,-rpath," + dir.path, "-o", exe])
        XCTAssertEqual(ccStatus, 0, ccErr)
        let (cStatus, cOut, cErr) = try shell([exe], stdin: textsURL)
        XCTAssertEqual(cStatus, 0, cErr)
        let (pyStatus, pyOut, pyErr) = try shell(["python3", root.appendingPathComponent("Examples/python_ctypes/classify.py").path, lib], stdin: textsURL)
        XCTAssertEqual(pyStatus, 0, pyErr)
        for (name, got) in [("C", parse(cOut)), ("Python", parse(pyOut))] {
            XCTAssertEqual(got.count, expected.count, name)
            let bad = zip(got, expected).enumerated().filter { $0.element.0.0 != $0.element.1.0 || $0.element.0.1 != $0.element.1.1 || $0.element.0.2 != $0.element.1.2 }
            XCTAssertTrue(bad.isEmpty, "\(name) differs from the interpreter on \(bad.count) texts, first: \(bad.first.map { "\(texts[$0.offset]) → \($0.element.0) vs \($0.element.1)" } ?? "")")
        }
    }
}

extension RawRecord {
    var jsonText: String? { if case .json(let j) = self { return j["text"]?.string }; return nil }
}
