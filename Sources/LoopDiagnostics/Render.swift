import Foundation

/// Renders diagnostics the way rustc and Elm do: a header, the source line, a caret range with a
/// label, notes, hints and fixes. Line/column are computed here and nowhere earlier.
public struct TextRenderer {
    public var color: Bool
    public init(color: Bool = false) { self.color = color }

    private func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    public func render(_ d: Diagnostic) -> String {
        var out = ""
        let sev = d.severity.rawValue
        let head = paint("\(sev)[\(d.code)]", d.severity == .error ? "1;31" : d.severity == .warning ? "1;33" : "1;36")
        if let f = d.file {
            let (line, col) = f.location(of: d.range.start)
            out += "\(f.name):\(line):\(col): \(head): \(d.message)\n"
            out += snippet(f, d.range, d.label, mark: "^")
        } else {
            out += "\(head): \(d.message)\n"
        }
        for n in d.notes {
            if let f = n.file {
                let (line, col) = f.location(of: n.range.start)
                out += "  note: \(n.message) (\(f.name):\(line):\(col))\n"
                out += snippet(f, n.range, nil, mark: "-")
            } else {
                out += "  note: \(n.message)\n"
            }
        }
        for h in d.hints { out += "  " + paint("hint", "1;32") + ": \(h)\n" }
        for fix in d.fixes {
            if fix.replacement.isEmpty { out += "  fix: \(fix.message)\n"; continue }
            out += "  fix: \(fix.message) (`\(fix.replacement.replacingOccurrences(of: "\n", with: "\\n"))`)\n"
        }
        return out
    }

    private func snippet(_ f: SourceFile, _ range: SourceRange, _ label: String?, mark: Character) -> String {
        let (line, col) = f.location(of: range.start)
        let (endLine, endCol) = f.location(of: range.end)
        // Control characters never reach the terminal; long lines show a window around the caret.
        var scalars = Array(f.lineText(line).unicodeScalars).map { u -> Unicode.Scalar in
            u == "\t" ? " " : (u.value < 0x20 || u.value == 0x7F) ? "\u{FFFD}" : u
        }
        var caret = col - 1
        var width = endLine == line ? max(1, endCol - col) : max(1, scalars.count - col + 1)
        let window = 120
        if scalars.count > window {
            let from = max(0, min(caret - 40, scalars.count - window))
            let to = min(scalars.count, from + window)
            var cut = Array(scalars[from..<to])
            if from > 0 { cut.insert("…", at: 0); caret = caret - from + 1 } else { caret -= from }
            if to < scalars.count { cut.append("…") }
            scalars = cut
            width = min(width, max(1, scalars.count - caret))
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars)
        let gutter = String(line)
        let pad = String(repeating: " ", count: gutter.count)
        var s = "\(pad) |\n\(gutter) | \(text)\n\(pad) | "
        s += String(repeating: " ", count: max(0, caret)) + paint(String(repeating: mark, count: width), "1;31")
        if let label { s += " \(label)" }
        return s + "\n"
    }

    public func render(_ ds: [Diagnostic]) -> String { ds.map(render).joined(separator: "\n") }
}

/// The stable machine-readable form (documented in Docs/diagnostics.md). Field names never change.
public enum DiagnosticJSON {
    public static func object(_ d: Diagnostic) -> [String: Any] {
        var o: [String: Any] = ["severity": d.severity.rawValue, "code": d.code, "message": d.message]
        if let f = d.file {
            o["file"] = f.name
            o["range"] = rangeObject(f, d.range)
        } else {
            o["file"] = NSNull()
        }
        if let l = d.label { o["label"] = l }
        o["hints"] = d.hints
        o["notes"] = d.notes.map { n -> [String: Any] in
            var x: [String: Any] = ["message": n.message]
            if let f = n.file { x["file"] = f.name; x["range"] = rangeObject(f, n.range) }
            return x
        }
        o["fixes"] = d.fixes.map { fx -> [String: Any] in
            var x: [String: Any] = ["message": fx.message, "replacement": fx.replacement]
            if let f = d.file { x["range"] = rangeObject(f, fx.range) }
            return x
        }
        return o
    }

    static func rangeObject(_ f: SourceFile, _ r: SourceRange) -> [String: Any] {
        let (l1, c1) = f.location(of: r.start), (l2, c2) = f.location(of: r.end)
        return ["start": ["line": l1, "column": c1, "offset": r.start], "end": ["line": l2, "column": c2, "offset": r.end]]
    }

    /// `{"version":1,"diagnostics":[...],"errors":N,"warnings":N}`
    public static func document(_ ds: [Diagnostic]) -> String {
        let doc: [String: Any] = [
            "version": 1,
            "diagnostics": ds.map(object),
            "errors": ds.filter { $0.severity == .error }.count,
            "warnings": ds.filter { $0.severity == .warning }.count,
        ]
        return jsonString(doc)
    }
}

/// SARIF 2.1.0, for code-scanning in CI.
public enum DiagnosticSARIF {
    public static func document(_ ds: [Diagnostic], toolVersion: String, ruleHelp: [String: String]) -> String {
        let codes = Array(Set(ds.map(\.code))).sorted()
        let rules: [[String: Any]] = codes.map { c in
            ["id": c, "shortDescription": ["text": ruleHelp[c] ?? c],
             "helpUri": "Docs/diagnostics.md#\(c.lowercased())"]
        }
        let results: [[String: Any]] = ds.map { d in
            var r: [String: Any] = [
                "ruleId": d.code,
                "level": d.severity == .error ? "error" : d.severity == .warning ? "warning" : "note",
                "message": ["text": ([d.message] + d.hints.map { "hint: \($0)" }).joined(separator: "\n")],
            ]
            if let f = d.file {
                let (l1, c1) = f.location(of: d.range.start), (l2, c2) = f.location(of: d.range.end)
                r["locations"] = [["physicalLocation": [
                    "artifactLocation": ["uri": f.name],
                    "region": ["startLine": l1, "startColumn": c1, "endLine": l2, "endColumn": c2,
                               "byteOffset": d.range.start, "byteLength": d.range.end - d.range.start],
                ]]]
                if !d.fixes.isEmpty {
                    r["fixes"] = d.fixes.map { fx -> [String: Any] in
                        let (a1, b1) = f.location(of: fx.range.start), (a2, b2) = f.location(of: fx.range.end)
                        return ["description": ["text": fx.message],
                                "artifactChanges": [["artifactLocation": ["uri": f.name],
                                                     "replacements": [["deletedRegion": ["startLine": a1, "startColumn": b1, "endLine": a2, "endColumn": b2],
                                                                       "insertedContent": ["text": fx.replacement]]]]]]
                    }
                }
            }
            return r
        }
        let doc: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [["tool": ["driver": ["name": "loopai", "version": toolVersion,
                                          "informationUri": "https://github.com/loopai/loopai", "rules": rules]],
                      "results": results]],
        ]
        return jsonString(doc)
    }
}

/// Deterministic JSON text (sorted keys, no escaped slashes).
public func jsonString(_ value: Any, pretty: Bool = false) -> String {
    var opts: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
    if pretty { opts.insert(.prettyPrinted) }
    guard JSONSerialization.isValidJSONObject(value) || value is String || value is NSNumber,
          let data = try? JSONSerialization.data(withJSONObject: value, options: opts.union(.fragmentsAllowed)) else { return "null" }
    return String(decoding: data, as: UTF8.self)
}
