import Foundation
import LoopDiagnostics
import Yams

/// A value of the YAML tree, with the name it is reported under (`generator.temperature`,
/// `examples[2].label`) and the key it sits under, if any.
struct Item {
    let path: String
    let node: Node
    let key: Node?
}

/// A mapping whose keys were checked: unique, known, with every required key present.
struct Mapping {
    let item: Item
    let entries: [(name: String, item: Item)]
    subscript(_ name: String) -> Item? { entries.first { $0.name == name }?.item }
}

/// Collects the diagnostics of one task file and turns YAML marks into source ranges.
/// Every check reports and goes on, so one run shows all independent mistakes.
final class TaskReader {
    let file: SourceFile
    /// The task file's directory (absolute): relative paths are resolved against it.
    let directory: String
    private(set) var diagnostics: [Diagnostic] = []

    init(file: SourceFile, directory: String) { self.file = file; self.directory = directory }

    func append(_ d: Diagnostic) { diagnostics.append(d) }

    func error(_ code: String, _ message: String, range: SourceRange, label: String? = nil,
               notes: [DiagnosticNote] = [], hints: [String] = [], fixes: [FixIt] = []) {
        diagnostics.append(Diagnostic(.error, code, message, file: file, range: range, label: label,
                                      notes: notes, hints: hints, fixes: fixes))
    }

    func error(_ code: String, _ message: String, at node: Node, label: String? = nil,
               notes: [DiagnosticNote] = [], hints: [String] = [], fixes: [FixIt] = []) {
        error(code, message, range: range(node), label: label, notes: notes, hints: hints, fixes: fixes)
    }

    /// An error about a whole value: points at the value, or at its key when the value is a block
    /// collection or was left empty (the key is what the reader sees).
    func error(_ code: String, _ message: String, about it: Item, label: String? = nil,
               notes: [DiagnosticNote] = [], hints: [String] = [], fixes: [FixIt] = []) {
        error(code, message, at: anchor(it), label: label, notes: notes, hints: hints, fixes: fixes)
    }

    func anchor(_ it: Item) -> Node {
        guard let key = it.key else { return it.node }
        switch it.node {
        case .scalar(let s): return s.string.isEmpty && (s.style == .plain || s.style == .any) ? key : it.node
        case .mapping, .sequence: return isFlow(it.node) ? it.node : key
        }
    }

    // MARK: - Locations

    /// The byte offset of a YAML mark (1-based line, column in Unicode scalars).
    func offset(_ mark: Mark?) -> Int {
        guard let m = mark, m.line >= 1 else { return 0 }
        let b = file.bytes
        var i = file.lineStarts[min(m.line, file.lineStarts.count) - 1]
        var col = 1
        while col < m.column, i < b.count, b[i] != 0x0A {
            i += 1
            while i < b.count, b[i] & 0xC0 == 0x80 { i += 1 }
            col += 1
        }
        return i
    }

    func isFlow(_ node: Node) -> Bool {
        let s = offset(node.mark)
        return s < file.bytes.count && (file.bytes[s] == UInt8(ascii: "{") || file.bytes[s] == UInt8(ascii: "["))
    }

    /// The source range a node covers on its first line (a scalar's text, a flow collection's
    /// brackets; one character for a block collection or block scalar).
    func range(_ node: Node) -> SourceRange {
        let b = file.bytes, start = offset(node.mark)
        guard start < b.count else { return SourceRange(start, start) }
        let lineEnd = { () -> Int in
            var e = start
            while e < b.count, b[e] != 0x0A, b[e] != 0x0D { e += 1 }
            return e
        }()
        switch node {
        case .scalar(let s):
            switch s.style {
            case .plain, .any:
                let v = Array(s.string.utf8)
                if !v.isEmpty, start + v.count <= b.count, b[start..<start + v.count].elementsEqual(v) {
                    return SourceRange(start, start + v.count)
                }
                return SourceRange(start, trimmed(start, lineEnd))
            case .singleQuoted, .doubleQuoted:
                return SourceRange(start, closing(from: start, to: lineEnd) ?? lineEnd)
            case .literal, .folded:
                return SourceRange(start, start + 1)
            }
        case .mapping, .sequence:
            guard isFlow(node) else { return SourceRange(start, start + 1) }
            return SourceRange(start, closing(from: start, to: lineEnd) ?? trimmed(start, lineEnd))
        }
    }

    /// The end of a line's content before a ` #` comment and trailing blanks.
    private func trimmed(_ start: Int, _ lineEnd: Int) -> Int {
        let b = file.bytes
        var e = start
        while e < lineEnd, !(b[e] == UInt8(ascii: "#") && e > start && (b[e - 1] == 0x20 || b[e - 1] == 0x09)) { e += 1 }
        while e > start, b[e - 1] == 0x20 || b[e - 1] == 0x09 { e -= 1 }
        return max(e, start + 1)
    }

    /// Just past the quote or bracket that closes the one at `start`, on the same line.
    private func closing(from start: Int, to lineEnd: Int) -> Int? {
        let b = file.bytes
        var depth = 0
        var quote: UInt8? = nil
        var i = start
        while i < lineEnd {
            let c = b[i]
            if let q = quote {
                if q == UInt8(ascii: "\"") && c == UInt8(ascii: "\\") { i += 2; continue }
                if c == q {
                    if q == UInt8(ascii: "'") && i + 1 < lineEnd && b[i + 1] == q { i += 2; continue }
                    quote = nil
                    if depth == 0 { return i + 1 }
                }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { return i + 1 }
            }
            i += 1
        }
        return nil
    }

    // MARK: - Paths

    /// An absolute path: `~` expanded, a relative path resolved against the task's directory.
    func resolve(_ path: String) -> String {
        var p = path
        if p == "~" || p.hasPrefix("~/") { p = NSString(string: p).expandingTildeInPath }
        let url = p.hasPrefix("/") ? URL(fileURLWithPath: p) : URL(fileURLWithPath: directory).appendingPathComponent(p)
        return url.standardizedFileURL.path
    }
}

/// How a YAML value reads in a message: "a string", "the number 3", "a list".
func describe(_ node: Node) -> String {
    switch node {
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .scalar(let s):
        switch node.tag.description {
        case Tag.Name.null.rawValue: return s.string.isEmpty ? "nothing" : "`\(s.string)` (null)"
        case Tag.Name.bool.rawValue: return "the boolean `\(s.string)`"
        case Tag.Name.int.rawValue, Tag.Name.float.rawValue: return "the number \(s.string)"
        default: return "a string"
        }
    }
}
