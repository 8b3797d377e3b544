import Foundation
import LoopData
import XCTest

/// `loopai compile` output loaded from C, Python (ctypes), Go (cgo) and Java (JNA) gives the
/// interpreter's answers.
final class AOTTests: XCTestCase {
    let root = repositoryRoot

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

    /// A program whose labels carry the application's strings: the library answers with them
    /// (`loop_label_name`), and the header names each identifier's string.
    func testTheLibraryAnswersWithTheApplicationsLabelStrings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-aot-names-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let program = dir.appendingPathComponent("p.loop")
        try """
        program intents
        input text: text
        labels fee as "card_payment_fee_charged?", other as "not banking */ x"
        rule f when contains(lower(text), "fee") => fee
        otherwise => other

        """.write(to: program, atomically: true, encoding: .utf8)
        for (emit, name) in [("shared", "libp.so"), ("header", "p.h")] {
            let r = try CLI.run(["compile", program.path, "--emit", emit, "-o", dir.appendingPathComponent(name).path], cwd: root)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let header = try String(contentsOf: dir.appendingPathComponent("p.h"), encoding: .utf8)
        XCTAssertTrue(header.contains("#define LOOP_LABEL_FEE 0 /* answers \"card_payment_fee_charged?\" */"), header)
        XCTAssertTrue(header.contains("/* answers \"not banking * / x\" */"), header)
        let c = dir.appendingPathComponent("main.c")
        try """
        #include <stdio.h>
        #include <string.h>
        #include "p.h"
        int main(void) {
            const char *t = "Why was I charged a FEE?";
            loop_value v = { (const uint8_t *)t, (int64_t)strlen(t), 0 };
            loop_result r;
            loop_classify(&v, &r, NULL);
            printf("%s|%s|%s\\n", loop_label_name(r.label), loop_label_name(1), loop_label_name(2) == NULL ? "null" : "?");
            return 0;
        }

        """.write(to: c, atomically: true, encoding: .utf8)
        let exe = dir.appendingPathComponent("main").path
        let (cc, _, ccErr) = try shell(["cc", "-I", dir.path, c.path, "-L", dir.path, "-lp", "-Wl,-rpath," + dir.path, "-o", exe])
        XCTAssertEqual(cc, 0, ccErr)
        let (status, out, err) = try shell([exe])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "card_payment_fee_charged?|not banking */ x|null\n")
    }

    func testSharedLibraryFromCPythonGoAndJava() throws {
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
        for (name, got) in [("C", parse(cOut)), ("Python", parse(pyOut))] { assertSame(name, got, expected, texts) }

        // Go through cgo, and Java through JNA (Debian's golang-go and libjna-java, installed by
        // scripts/setup), each classifying in batches of 1,024 with one call per batch.
        let goExe = dir.appendingPathComponent("classify-go").path
        let (goBuild, _, goBuildErr) = try shell(["sh", "-c", "cd \"$1\" && go build -o \"$2\" .", "go-build",
                                                  root.appendingPathComponent("Examples/go_cgo").path, goExe],
                                                 environment: ["CGO_CFLAGS": "-I\(dir.path)", "CGO_LDFLAGS": "-L\(dir.path) -lprogram -Wl,-rpath,\(dir.path)",
                                                               "GOCACHE": dir.appendingPathComponent("gocache").path,
                                                               "GOPATH": dir.appendingPathComponent("gopath").path])
        XCTAssertEqual(goBuild, 0, goBuildErr)
        let (goStatus, goOut, goErr) = try shell([goExe], stdin: textsURL)
        XCTAssertEqual(goStatus, 0, goErr)
        assertSame("Go", parse(goOut), expected, texts)

        let jna = "/usr/share/java/jna.jar"
        let (javac, _, javacErr) = try shell(["javac", "-cp", jna, "-d", dir.path, root.appendingPathComponent("Examples/java_jna/Classify.java").path])
        XCTAssertEqual(javac, 0, javacErr)
        let (javaStatus, javaOut, javaErr) = try shell(["java", "-cp", "\(jna):\(dir.path)", "Classify", lib], stdin: textsURL)
        XCTAssertEqual(javaStatus, 0, javaErr)
        assertSame("Java", parse(javaOut), expected, texts)
    }

    func assertSame(_ name: String, _ got: [(String, Double, String)], _ expected: [(String, Double, String)], _ texts: [String],
                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, expected.count, name, file: file, line: line)
        let bad = zip(got, expected).enumerated().filter { $0.element.0.0 != $0.element.1.0 || $0.element.0.1 != $0.element.1.1 || $0.element.0.2 != $0.element.1.2 }
        XCTAssertTrue(bad.isEmpty, "\(name) differs from the interpreter on \(bad.count) texts, first: \(bad.first.map { "\(texts[$0.offset]) → \($0.element.0) vs \($0.element.1)" } ?? "")",
                      file: file, line: line)
    }
}

extension RawRecord {
    var jsonText: String? { if case .json(let j) = self { return j["text"]?.string }; return nil }
}
