import Foundation
import XCTest
import LoopDiagnostics
@testable import LoopTask

/// One test per error code: the code, where it points, and what it says.
final class TaskErrorTests: XCTestCase {
    func testT0001YAMLSyntax() {
        assertDiagnostic(single("name: t\ndescription: note: here\nlabels: {a: x, b: y}\n"), "T0001", line: 2, column: 18,
                         "invalid YAML: mapping values are not allowed", "must be quoted")
        // An unclosed quote points where it opened, with libyaml's words.
        assertDiagnostic(single("name: t\ndescription: \"unterminated\nlabels: {a: x, b: y}\n"), "T0001", line: 2, column: 14,
                         "found unexpected end of stream while scanning a quoted scalar")
        assertDiagnostic(single("name: t\ndescription: d\n\tlabels: {a: x}\n"), "T0001", line: 3, column: 1,
                         "tab", "YAML indents with spaces")
        assertDiagnostic(single("---\nname: t\n---\nname: u\n"), "T0001", line: 3, column: 1,
                         "expected a single document in the stream but found another document")
    }

    func testT0002MissingKey() {
        let d = single("name: t\nlabels: {a: x, b: y}\n")
        assertDiagnostic(d, "T0002", line: 1, column: 1, "missing key `description` in the task", "this task has no `description`")
        assertDiagnostic(single(minimalTask + "data: {label: y}\n"), "T0002", line: 4, column: 7, "missing key `path` in `data`")
        assertDiagnostic(single(minimalTask + "examples:\n  - {input: hi}\n"), "T0002", line: 5, column: 5,
                         "missing key `label` in `examples[0]`")
    }

    func testT0003UnknownKey() {
        let d = single("name: t\ndescription: d\nlables: {a: x, b: y}\n")   // no T0002 for the misspelt `labels`
        assertDiagnostic(d, "T0003", line: 3, column: 1, "unknown key `lables` in the task", "did you mean `labels`?")
        XCTAssertEqual(d?.fixes.first?.replacement, "labels")
        assertDiagnostic(single(minimalTask + "generator:\n  temprature: 0.5\n"), "T0003", line: 5, column: 3,
                         "unknown key `temprature` in `generator`", "did you mean `temperature`?")
    }

    func testT0004WrongType() {
        assertDiagnostic(single("name: t\ndescription: [1]\nlabels: {a: x, b: y}\n"), "T0004", line: 2, column: 14,
                         "`description` must be a string, found a list")
        assertDiagnostic(single(minimalTask + "validation:\n  confidence: \"0.9\"\n"), "T0004", line: 5, column: 15,
                         "`validation.confidence` must be a number, found a string", "remove the quotes")
        assertDiagnostic(single(minimalTask + "oracle:\n  batch_size: 2.5\n"), "T0004", line: 5, column: 15,
                         "`oracle.batch_size` must be a whole number, found 2.5")
        assertDiagnostic(single(minimalTask + "generator:\n  allow_insecure_http: maybe\n"), "T0004", line: 5, column: 24,
                         "`generator.allow_insecure_http` must be true or false")
        // An empty value or a block mapping is reported at its key.
        assertDiagnostic(single("name: t\ndescription:\nlabels: {a: x, b: y}\n"), "T0004", line: 2, column: 1,
                         "`description` must be a string, found nothing")
        assertDiagnostic(single(minimalTask + "oracle:\n  - openai\n"), "T0004", line: 4, column: 1,
                         "`oracle` must be a mapping, found a list")
        assertDiagnostic(single("- a\n- b\n"), "T0004", line: 1, column: 1, "a task file must be a mapping")
    }

    func testT0005InvalidValue() {
        assertDiagnostic(single(minimalTask + "validation: {rate: 1.5}\n"), "T0005", line: 4, column: 20,
                         "`validation.rate` must be in (0, 1], found 1.5")
        assertDiagnostic(single("name: 2fast\ndescription: d\nlabels: {a: x, b: y}\n"), "T0005", line: 1, column: 7,
                         "the task name `2fast` is not a Loop identifier", "`_2fast`")
        assertDiagnostic(single("name: t\ndescription: d\nlabels: {rule: x, b: y}\n"), "T0005", line: 3, column: 10,
                         "label `rule` is a reserved word of Loop")
        assertDiagnostic(single(minimalTask + "oracle:\n  prices: {input_per_million: -1, output_per_million: 1}\n"), "T0005",
                         line: 5, column: 31, "`oracle.prices.input_per_million` must be at least 0, found -1")
        let provider = single(minimalTask + "generator: {provider: OpenAI}\n")
        assertDiagnostic(provider, "T0005", line: 4, column: 23, "must be one of `openai`, `anthropic`, found `OpenAI`",
                         "did you mean `openai`?")
        assertDiagnostic(single(minimalTask + "validation: {strategy: stratifed}\n"), "T0005", line: 4, column: 24,
                         "`random`, `stratified`, `uncertainty`, `adaptive`", "did you mean `stratified`?")
        assertDiagnostic(single(minimalTask + "improvement: {canary_steps: [0.5, 0.2, 1]}\n"), "T0005", line: 4, column: 35,
                         "must increase, but 0.2 follows 0.5")
        assertDiagnostic(single(minimalTask + "improvement: {canary_steps: [0.5, 0.7]}\n"), "T0005", line: 4, column: 35,
                         "the last of `improvement.canary_steps` must be 1")
        assertDiagnostic(single(minimalTask + "input: {len: text}\n"), "T0005", line: 4, column: 9,
                         "input field `len` has the name of a built-in function")
        assertDiagnostic(single(minimalTask + "input: {x: string}\n"), "T0005", line: 4, column: 12,
                         "has type `string`; Loop calls it `text`")
        assertDiagnostic(single(minimalTask + "input: number\n"), "T0005", line: 4, column: 8, "only `input: text` is")
        assertDiagnostic(single(minimalTask + "oracle: {base_url: ftp://x}\n"), "T0005", line: 4, column: 20,
                         "must be an http:// or https:// URL")
    }

    /// A key pasted where the variable's name belongs is refused without showing it.
    func testApiKeyIsNeverEchoed() throws {
        let secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
        let d = try XCTUnwrap(single(minimalTask + "generator:\n  api_key_env: \(secret)\n"))
        XCTAssertEqual(d.code, "T0005")
        XCTAssertNil(d.file)
        let text = TextRenderer().render(d)
        XCTAssertFalse(text.contains(secret), text)
        XCTAssertTrue(text.contains("task.yaml:5:16: `generator.api_key_env` must be the name of an environment variable"), text)
        assertDiagnostic(single(minimalTask + "generator:\n  api_key_env: MY-KEY\n"), "T0005", line: 5, column: 16,
                         "found `MY-KEY`")
    }

    func testT0006DuplicateLabel() {
        let d = single("name: t\ndescription: d\nlabels:\n  spam: x\n  ham: y\n  spam: z\n")
        assertDiagnostic(d, "T0006", line: 6, column: 3, "label `spam` is declared twice", "first declared here")
        assertDiagnostic(single("name: t\ndescription: d\nlabels: [a, b, a]\n"), "T0006", line: 3, column: 16, "label `a` is declared twice")
    }

    func testT0007BadExample() {
        let d = single(minimalTask + "examples:\n  - {input: hi, label: c}\n")
        assertDiagnostic(d, "T0007", line: 5, column: 24, "`examples[0].label` is `c`, which is not one of the labels",
                         "the labels are `a`, `b`")
        let record = minimalTask + "input: {kind: text, n: number}\nexamples:\n"
        assertDiagnostic(single(record + "  - {input: {kind: x}, label: a}\n"), "T0007", line: 6, column: 13,
                         "missing field `n` in `examples[0].input`")
        assertDiagnostic(single(record + "  - {input: {kind: x, n: \"3\"}, label: a}\n"), "T0007", line: 6, column: 26,
                         "`examples[0].input.n` must be a number, found a string")
        assertDiagnostic(single(record + "  - {input: {kind: x, n: 3, m: 1}, label: a}\n"), "T0007", line: 6, column: 29,
                         "unknown field `m` in `examples[0].input`")
        assertDiagnostic(single(record + "  - {input: just text, label: a}\n"), "T0007", line: 6, column: 13,
                         "must be a mapping of the fields `kind`, `n`")
    }

    func testT0008DataFile() {
        assertDiagnostic(single(minimalTask + "data: nope.jsonl\n"), "T0008", line: 4, column: 7,
                         "data file `nope.jsonl` does not exist", "looked for /tmp/loopai-task-tests/nope.jsonl",
                         "resolved against the task file's directory")
        assertDiagnostic(single(minimalTask + "data: {path: /tmp}\n"), "T0008", line: 4, column: 14, "data file `/tmp` is a directory")
    }

    func testT0009TooFewLabels() {
        assertDiagnostic(single("name: t\ndescription: d\nlabels: {a: x}\n"), "T0009", line: 3, column: 9,
                         "a task needs at least two labels, found 1")
        assertDiagnostic(single("name: t\ndescription: d\nlabels: {}\n"), "T0009", line: 3, column: 9, "found 0")
    }

    func testT0010DuplicateKey() {
        assertDiagnostic(single(minimalTask + "name: u\n"), "T0010", line: 4, column: 1, "`name` is given twice", "first given here")
    }

    func testT0011EmptyOrNotUTF8() throws {
        let dir = try temporaryDirectory(self)
        let empty = dir.appendingPathComponent("empty.yaml")
        try Data().write(to: empty)
        XCTAssertThrowsError(try TaskLoader.load(path: empty.path)) { e in
            let d = (e as? TaskError)?.diagnostics.first
            XCTAssertEqual(d?.code, "T0011")
            XCTAssertTrue(d?.message.contains("is empty") ?? false)
            XCTAssertFalse((e as? TaskError)?.isUnreadable ?? true)
        }
        let latin1 = dir.appendingPathComponent("latin1.yaml")
        try Data("name: t\ndescription: caf".utf8 + [0xE9] + Data("\n".utf8)).write(to: latin1)
        XCTAssertThrowsError(try TaskLoader.load(path: latin1.path)) { e in
            assertDiagnostic((e as? TaskError)?.diagnostics.first, "T0011", line: 2, column: 17, "is not UTF-8 text", "invalid byte 0xE9")
        }
        assertDiagnostic(single("# nothing but a comment\n"), "T0011", line: 1, column: 1, "has no content")
    }

    func testT0012Unreadable() {
        XCTAssertThrowsError(try TaskLoader.load(path: "/nonexistent/loopai/task.yaml")) { e in
            guard let t = e as? TaskError else { return XCTFail("\(e)") }
            XCTAssertTrue(t.isUnreadable)
            XCTAssertEqual(t.diagnostics.first?.code, "T0012")
            XCTAssertTrue(t.description.contains("cannot read the task file `/nonexistent/loopai/task.yaml`: no such file"), t.description)
        }
        XCTAssertThrowsError(try TaskLoader.load(path: "/tmp")) { e in
            XCTAssertTrue((e as? TaskError)?.description.contains("it is a directory") ?? false)
        }
    }

    func testT0013BadDataLine() throws {
        let dir = try temporaryDirectory(self)
        try write("""
        {"text": "hello", "label": "a"}
        [1, 2]
        {"text": "x", "label": "c"}
        {"text": 3, "label": "b"}
        {"label": "b"}
        {"text": "broken

        {"text": "no label"}
        """, to: dir.appendingPathComponent("data.jsonl"))
        try write(minimalTask + "data: data.jsonl\n", to: dir.appendingPathComponent("task.yaml"))
        let task = try TaskLoader.load(path: dir.appendingPathComponent("task.yaml").path)
        let (examples, problems) = try task.readData()
        XCTAssertEqual(examples.count, 1)
        XCTAssertEqual(problems.map(\.code), Array(repeating: "T0013", count: 6))
        let lines = problems.map { $0.file?.location(of: $0.range.start).line ?? 0 }
        XCTAssertEqual(lines, [2, 3, 4, 5, 6, 8])
        let messages = problems.map(\.message)
        XCTAssertEqual(messages[0], "line 2 is an array, not a JSON object")
        XCTAssertTrue(messages[1].contains("the label \"c\", which is not one of the task's labels"), messages[1])
        XCTAssertEqual(messages[2], "field `text` of line 4 must be a string, found a number")
        XCTAssertEqual(messages[3], "line 5 has no `text` key (an input field)")
        XCTAssertTrue(messages[4].hasPrefix("line 6 is not valid JSON"), messages[4])
        XCTAssertEqual(messages[5], "line 8 has no `label` key (the label)")
        XCTAssertThrowsError(try task.examplesFromData(limit: nil)) { e in
            let text = (e as? TaskError)?.description ?? ""
            XCTAssertTrue(text.contains("data.jsonl:2:1: error[T0013]: line 2 is an array, not a JSON object"), text)
        }
        // Only the lines read count: the first line alone is fine.
        XCTAssertEqual(try task.examplesFromData(limit: 1).count, 1)
    }
}
