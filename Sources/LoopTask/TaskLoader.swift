import Foundation
import LoopData
import LoopDiagnostics
import Yams

/// Reads task files (Docs/task-spec.md). Every mistake is reported at once as a `TaskError`
/// whose diagnostics point to file:line:column, like the program checker's.
public enum TaskLoader {
    /// The keys a task file may have, in documentation order.
    public static let keys = ["name", "description", "input", "labels", "examples", "data", "program",
                              "generator", "oracle", "validation", "improvement"]

    /// Reads and validates the task file at `path` (relative to the working directory).
    public static func load(path: String) throws -> TaskSpec {
        let bytes = try readTaskFile(path)
        let file = SourceFile(name: path, bytes: bytes)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            throw TaskError([Diagnostic(.error, TaskCode.notText, "the task file `\(path)` is empty", file: file, range: .none,
                                        hints: ["a task file is YAML with at least `name`, `description` and `labels` (Docs/task-spec.md)"])])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let at = firstInvalidUTF8(bytes)
            throw TaskError([Diagnostic(.error, TaskCode.notText, "the task file `\(path)` is not UTF-8 text", file: file,
                                        range: SourceRange(at, at + 1), label: "invalid byte 0x\(String(bytes[min(at, bytes.count - 1)], radix: 16, uppercase: true))",
                                        hints: ["save the file as UTF-8"])])
        }
        return try parse(text: text, path: path)
    }

    /// Validates task-file text; `path` names it in diagnostics and anchors relative paths.
    public static func parse(text: String, path: String) throws -> TaskSpec {
        var text = text
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }   // a byte-order mark is not content
        let file = SourceFile(name: path, text: text)
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let reader = TaskReader(file: file, directory: URL(fileURLWithPath: absolute).deletingLastPathComponent().path)
        if let (at, why) = tooDeep(file.bytes) {
            reader.error(TaskCode.yamlSyntax, "invalid YAML: \(why)", range: SourceRange(at, at + 1), label: "too deep")
            throw TaskError(reader.diagnostics)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, .default, .default, .utf8)
        } catch {
            reader.reportYAML(error, text: text)
            throw TaskError(reader.diagnostics)
        }
        guard let root else {
            reader.error(TaskCode.notText, "the task file `\(path)` has no content (only comments or blank lines)", range: .none,
                         hints: ["a task file is YAML with at least `name`, `description` and `labels` (Docs/task-spec.md)"])
            throw TaskError(reader.diagnostics)
        }
        let spec = TaskBuilder(r: reader).build(root, path: absolute)
        guard let spec, reader.diagnostics.isEmpty else { throw TaskError(DiagnosticBagSort.sorted(reader.diagnostics)) }
        return spec
    }

    /// Limits on nesting, checked before parsing because the YAML composer recurses once per
    /// level: brackets of flow collections, and the columns of a line's leading blanks and block
    /// indicators (`-`, `?`, `:`), which bound how deep block collections can nest.
    static let maxBrackets = 64, maxIndent = 200

    /// Where the text nests deeper than the limits, and how. Brackets are counted everywhere, in
    /// strings and comments too: only absurd nesting reaches the limit, and no quoting hides it.
    static func tooDeep(_ b: [UInt8]) -> (offset: Int, why: String)? {
        var depth = 0
        var lineStart = true, indent = 0
        for (i, c) in b.enumerated() {
            if c == 0x0A || c == 0x0D { lineStart = true; indent = 0; continue }
            if lineStart {
                if c == 0x20 || c == 0x09 || c == UInt8(ascii: "-") || c == UInt8(ascii: "?") || c == UInt8(ascii: ":") {
                    indent += 1
                    if indent > maxIndent { return (i, "a line indented or nested more than \(maxIndent) columns deep") }
                } else {
                    lineStart = false
                }
            }
            if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") {
                depth += 1
                if depth > maxBrackets { return (i, "brackets nested more than \(maxBrackets) levels deep") }
            } else if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") {
                depth = max(0, depth - 1)
            }
        }
        return nil
    }

    /// The bytes of the task file; a missing, directory or unreadable path is T0012.
    static func readTaskFile(_ path: String) throws -> [UInt8] {
        func fail(_ why: String) -> TaskError {
            TaskError([Diagnostic(.error, TaskCode.unreadable, "cannot read the task file `\(path)`: \(why)", file: nil, range: .none)])
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw fail("no such file") }
        if isDir.boolValue { throw fail("it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("permission denied or I/O error") }
        return Array(data)
    }

    /// The offset of the first byte that does not belong to a well-formed UTF-8 sequence.
    static func firstInvalidUTF8(_ b: [UInt8]) -> Int {
        var i = 0
        while i < b.count {
            let c = b[i]
            let n = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c < 0xF5 ? 4 : 0
            if n == 0 || i + n > b.count { return i }
            if n > 1 {
                if String(validating: b[i..<i + n], as: UTF8.self) == nil { return i }
            }
            i += n
        }
        return max(0, b.count - 1)
    }
}

extension TaskReader {
    /// Turns a Yams error into T0001 at the line and column libyaml reports.
    func reportYAML(_ e: Error, text: String) {
        guard let y = e as? YamlError else {
            error(TaskCode.yamlSyntax, "invalid YAML: \(e)", range: .none)
            return
        }
        switch y {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var at = offset(mark)
            var message = problem
            var notes: [DiagnosticNote] = []
            if let c = context {
                if problem.hasPrefix("but ") { message = "\(c.text) \(problem)" }
                else if problem.contains("end of stream") {
                    // An unclosed quote or bracket: point at where it opened, not at the end of the file.
                    message = "\(problem) \(c.text)"
                    at = offset(c.mark)
                } else {
                    let o = offset(c.mark)
                    notes.append(DiagnosticNote(file: file, range: SourceRange(o, o + 1), message: c.text))
                }
            }
            error(TaskCode.yamlSyntax, "invalid YAML: \(message)", range: SourceRange(at, at + 1), notes: notes,
                  hints: yamlHints(problem, line: mark.line))
        case .reader(let problem, let offset, _, _):
            var at = 0
            if let offset, let idx = text.index(text.startIndex, offsetBy: offset, limitedBy: text.endIndex) {
                at = text.utf8.distance(from: text.utf8.startIndex, to: idx)
            }
            error(TaskCode.yamlSyntax, "invalid YAML: \(problem)", range: SourceRange(at, at + 1),
                  hints: problem.contains("control") ? ["remove the control character (tabs and newlines are the only ones allowed)"] : [])
        default:
            error(TaskCode.yamlSyntax, "invalid YAML: \(y)", range: .none)
        }
    }

    private func yamlHints(_ problem: String, line: Int) -> [String] {
        var hints: [String] = []
        if file.lineText(line).contains("\t") { hints.append("YAML indents with spaces; this line contains a tab") }
        if problem.contains("mapping values are not allowed") {
            hints.append("a value that contains `: ` must be quoted, e.g. `description: \"note: ...\"`, or written as a block (`description: |`)")
        }
        if problem.contains("did not find expected key") || problem.contains("could not find expected ':'") {
            hints.append("check the indentation: keys of one mapping start in the same column")
        }
        return hints
    }
}
