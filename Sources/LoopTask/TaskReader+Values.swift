import Foundation
import LoopDiagnostics
import Yams

/// A range of allowed numbers, printed the way the docs write it: `(0, 1]`, `at least 0`.
struct Interval: CustomStringConvertible {
    var lo: Double?, loOpen = false, hi: Double?, hiOpen = false

    /// (0, 1]: rates and shares.
    static let unit = Interval(lo: 0, loOpen: true, hi: 1)
    /// [0, 1]: floors.
    static let closedUnit = Interval(lo: 0, hi: 1)
    /// (0, 1): confidence and significance levels.
    static let openUnit = Interval(lo: 0, loOpen: true, hi: 1, hiOpen: true)
    static let nonNegative = Interval(lo: 0)
    static let temperature = Interval(lo: 0, hi: 2)

    func contains(_ v: Double) -> Bool {
        if let lo, loOpen ? !(v > lo) : !(v >= lo) { return false }
        if let hi, hiOpen ? !(v < hi) : !(v <= hi) { return false }
        return true
    }

    var description: String {
        guard let hi else { return loOpen ? "greater than \(show(lo ?? 0))" : "at least \(show(lo ?? 0))" }
        return "in \(loOpen ? "(" : "[")\(show(lo ?? -.infinity)), \(show(hi))\(hiOpen ? ")" : "]")"
    }
}

/// A number as people write it: `1` rather than `1.0`.
func show(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
}

/// `a`, `b` and `c` in backquotes.
func quotedList(_ names: [String]) -> String { names.map { "`\($0)`" }.joined(separator: ", ") }

extension TaskReader {
    private func tag(_ node: Node) -> String { node.tag.description }

    func isNull(_ node: Node) -> Bool {
        if case .scalar = node { return tag(node) == Tag.Name.null.rawValue }
        return false
    }

    /// Any scalar but null, exactly as written (numbers and booleans included).
    func scalarText(_ it: Item, code: String = TaskCode.wrongType) -> String? {
        if case .scalar(let s) = it.node, !isNull(it.node) { return s.string }
        error(code, "`\(it.path)` must be a string, found \(describe(it.node))", about: it, label: "expected a string")
        return nil
    }

    /// A string with surrounding white space removed; empty is an error unless allowed.
    func string(_ it: Item, allowEmpty: Bool = false) -> String? {
        guard let s = scalarText(it) else { return nil }
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.isEmpty && !allowEmpty {
            error(TaskCode.invalidValue, "`\(it.path)` must not be empty", about: it, label: "empty")
            return nil
        }
        return t
    }

    /// The value of a number scalar (`int` or `float` tag), or nil when the node is not one.
    func numericValue(_ node: Node) -> Double? {
        guard case .scalar(let s) = node else { return nil }
        switch tag(node) {
        case Tag.Name.int.rawValue: return Int.construct(from: s).map(Double.init) ?? Double.construct(from: s)
        case Tag.Name.float.rawValue: return Double.construct(from: s)
        default: return nil
        }
    }

    private func notANumber(_ it: Item, _ what: String, code: String) {
        var hints: [String] = []
        if case .scalar(let s) = it.node, s.style == .singleQuoted || s.style == .doubleQuoted,
           Double(s.string.trimmingCharacters(in: .whitespaces)) != nil {
            hints.append("remove the quotes: a quoted value is a string")
        }
        error(code, "`\(it.path)` must be \(what), found \(describe(it.node))", about: it, label: "expected \(what)", hints: hints)
    }

    func number(_ it: Item, _ interval: Interval? = nil, code: String = TaskCode.wrongType) -> Double? {
        guard let v = numericValue(it.node) else { notANumber(it, "a number", code: code); return nil }
        guard v.isFinite else {
            error(TaskCode.invalidValue, "`\(it.path)` must be a finite number", at: it.node, label: "not finite")
            return nil
        }
        if let interval, !interval.contains(v) {
            error(TaskCode.invalidValue, "`\(it.path)` must be \(interval), found \(show(v))", at: it.node, label: "out of range")
            return nil
        }
        return v
    }

    func integer(_ it: Item, atLeast lo: Int) -> Int? {
        guard let v = numericValue(it.node), v.isFinite else { notANumber(it, "a whole number", code: TaskCode.wrongType); return nil }
        guard v == v.rounded(), abs(v) < 1e15 else {
            error(TaskCode.wrongType, "`\(it.path)` must be a whole number, found \(show(v))", at: it.node, label: "not a whole number")
            return nil
        }
        guard Int(v) >= lo else {
            error(TaskCode.invalidValue, "`\(it.path)` must be at least \(lo), found \(show(v))", at: it.node, label: "too small")
            return nil
        }
        return Int(v)
    }

    func bool(_ it: Item, code: String = TaskCode.wrongType) -> Bool? {
        if case .scalar(let s) = it.node, tag(it.node) == Tag.Name.bool.rawValue, let b = Bool.construct(from: s) { return b }
        error(code, "`\(it.path)` must be true or false, found \(describe(it.node))", about: it, label: "expected a boolean")
        return nil
    }

    func list(_ it: Item) -> [Item]? {
        guard case .sequence(let seq) = it.node else {
            error(TaskCode.wrongType, "`\(it.path)` must be a list, found \(describe(it.node))", about: it, label: "expected a list")
            return nil
        }
        return seq.enumerated().map { Item(path: "\(it.path)[\($0.offset)]", node: $0.element, key: nil) }
    }

    /// One of a closed set of words (`openai`, `anthropic`), with a suggestion when misspelt.
    func choice<E: RawRepresentable & CaseIterable>(_ it: Item, _: E.Type) -> E? where E.RawValue == String {
        guard let s = string(it) else { return nil }
        if let v = E(rawValue: s) { return v }
        let all = E.allCases.map(\.rawValue)
        let close = suggestions(for: s, among: all)
        error(TaskCode.invalidValue, "`\(it.path)` must be one of \(quotedList(all)), found `\(s)`", at: it.node,
              label: "not one of the choices", hints: close.first.map { ["did you mean `\($0)`?"] } ?? [],
              fixes: close.first.map { [FixIt(range: range(it.node), replacement: $0, message: "replace `\(s)` with `\($0)`")] } ?? [])
        return nil
    }

    /// A mapping with unique keys among `allowed`; reports unknown, duplicate and missing keys.
    /// A missing key that an unknown key misspells is not reported twice.
    func mapping(_ it: Item, allowed: [String]?, required: [String] = [],
                 unknownCode: String = TaskCode.unknownKey, missingCode: String = TaskCode.missingKey,
                 noun: String = "key") -> Mapping? {
        guard case .mapping(let m) = it.node else {
            error(TaskCode.wrongType, "`\(it.path)` must be a mapping, found \(describe(it.node))", about: it, label: "expected a mapping")
            return nil
        }
        var entries: [(name: String, item: Item)] = []
        var seen: [String: Node] = [:]
        var misspelt: Set<String> = []
        let owner = it.path.isEmpty ? "the task" : "`\(it.path)`"
        for (k, v) in m {
            guard case .scalar(let ks) = k, !isNull(k) else {
                error(TaskCode.wrongType, "the keys of \(owner) must be names, found \(describe(k))", at: k, label: "not a name")
                continue
            }
            let name = ks.string
            let path = it.path.isEmpty ? name : "\(it.path).\(name)"
            if let first = seen[name] {
                error(TaskCode.duplicateKey, "`\(path)` is given twice", at: k, label: "duplicate \(noun)",
                      notes: [DiagnosticNote(file: file, range: range(first), message: "first given here")],
                      hints: ["a key may appear only once in a mapping; remove or merge one of them"])
                continue
            }
            seen[name] = k
            guard let allowed, !allowed.contains(name) else {
                entries.append((name, Item(path: path, node: v, key: k)))
                continue
            }
            let close = suggestions(for: name, among: allowed)
            if let c = close.first { misspelt.insert(c) }
            var hints = close.first.map { ["did you mean `\($0)`?"] } ?? []
            hints.append("the \(noun)s of \(owner) are \(quotedList(allowed))")
            error(unknownCode, "unknown \(noun) `\(name)` in \(owner)", at: k, label: "unknown \(noun)", hints: hints,
                  fixes: close.first.map { [FixIt(range: range(k), replacement: $0, message: "replace `\(name)` with `\($0)`")] } ?? [])
        }
        for r in required where seen[r] == nil && !misspelt.contains(r) {
            error(missingCode, "missing \(noun) `\(r)` in \(owner)", about: it,
                  label: it.path.isEmpty ? "this task has no `\(r)`" : "`\(r)` is required here",
                  hints: TaskReader.missingHints[r].map { [$0] } ?? [])
        }
        return Mapping(item: it, entries: entries)
    }

    static let missingHints: [String: String] = [
        "name": "add `name: my_classifier` (a Loop identifier: the program's name)",
        "description": "add `description: ...`: what the classifier decides, for people and for the LLM",
        "labels": "add the answers with a one-line description each, e.g. `labels: {spam: unwanted, ham: everything else}`",
        "path": "give the JSON Lines file, e.g. `path: data.jsonl`",
        "input": "give the example's input, e.g. `input: \"some text\"`",
        "label": "give the example's expected label, e.g. `label: spam`",
        "type": "give the field's type: `text`, `number` or `bool`",
        "input_per_million": "give the price per million prompt tokens, e.g. `input_per_million: 0.15`",
        "output_per_million": "give the price per million completion tokens, e.g. `output_per_million: 0.60`",
    ]
}
