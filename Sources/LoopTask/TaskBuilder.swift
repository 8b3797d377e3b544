import Foundation
import LoopData
import LoopDiagnostics
import LoopSema
import Yams

/// Builds a `TaskSpec` from the YAML tree: the top level, the input, labels, examples and data.
/// The provider and policy sections are in TaskBuilder+Policies.swift.
struct TaskBuilder {
    let r: TaskReader

    func build(_ root: Node, path: String) -> TaskSpec? {
        guard case .mapping = root else {
            r.error(TaskCode.wrongType, "a task file must be a mapping of keys (`name`, `description`, `labels`, ...), found \(describe(root))",
                    at: root, label: "expected `key: value` lines")
            return nil
        }
        guard let m = r.mapping(Item(path: "", node: root, key: nil), allowed: TaskLoader.keys,
                                required: ["name", "description", "labels"]) else { return nil }
        let name = m["name"].flatMap { identifier($0, what: "the task name") }
        let description = m["description"].flatMap { r.string($0) }
        let input: [InputField]?
        if let it = m["input"] { input = self.input(it) } else { input = [InputField(name: "text", type: .text)] }
        var declared: [String] = []
        let labels = m["labels"].flatMap { self.labels($0, declared: &declared) }
        var known: [String: String] = Dictionary(declared.map { ($0, $0) }, uniquingKeysWith: { a, _ in a })
        for l in labels ?? [] { if let a = l.applicationName { known[a] = l.name } }
        let examples = m["examples"].map { self.examples($0, input: input, labels: declared, known: known) } ?? []
        let data = m["data"].flatMap(self.data)
        var program = r.resolve("program.loop")
        if let it = m["program"], let p = r.string(it) { program = r.resolve(p) }
        let generator = m["generator"].map(self.generator) ?? GeneratorSpec()
        let oracle = m["oracle"].map(self.oracle) ?? OracleSpec()
        let validation = m["validation"].map(self.validation) ?? ValidationPolicy()
        let improvement = m["improvement"].map(self.improvement) ?? ImprovementPolicy()
        guard let name, let description, let input, let labels, r.diagnostics.isEmpty else { return nil }
        return TaskSpec(name: name, description: description, input: input, labels: labels, examples: examples, data: data,
                        programPath: program, generator: generator, oracle: oracle, validation: validation,
                        improvement: improvement, path: path)
    }

    /// A name the program will use (task name, label, field): a Loop identifier, not a keyword.
    func identifier(_ it: Item, what: String) -> String? {
        guard let s = r.scalarText(it) else { return nil }   // untrimmed: " spam" is not a name
        guard let p = LoopNames.problem(s) else { return s }
        r.error(TaskCode.invalidValue, "\(what) `\(s)` \(p.reason)", at: it.node, label: "not usable as a Loop name",
                hints: p.suggestion.map { ["rename it, e.g. `\($0)`"] } ?? [],
                fixes: p.suggestion.map { [FixIt(range: r.range(it.node), replacement: $0, message: "rename it `\($0)`")] } ?? [])
        return nil
    }

    // MARK: - input

    /// `input: text`, or a mapping `field: type` / `field: {type, description}`.
    func input(_ it: Item) -> [InputField]? {
        if case .scalar = it.node, !r.isNull(it.node) {
            guard let s = r.string(it) else { return nil }
            if s == "text" { return [InputField(name: "text", type: .text)] }
            r.error(TaskCode.invalidValue, "`input: \(s)` is not a shorthand: only `input: text` is (one text field named `text`)",
                    at: it.node, label: "not `text`",
                    hints: ["declare the fields as a mapping, e.g. `input: {message: text}` or `input: {kind: text, value: text}`"])
            return nil
        }
        guard let m = r.mapping(it, allowed: nil, noun: "field") else { return nil }
        if m.entries.isEmpty {
            r.error(TaskCode.invalidValue, "`input` must declare at least one field", about: it, label: "no fields",
                    hints: ["e.g. `input: {message: text}`"])
            return nil
        }
        var fields: [InputField] = []
        var ok = true
        for (name, item) in m.entries {
            let nameItem = Item(path: item.path, node: item.key ?? item.node, key: nil)
            var valid = identifier(nameItem, what: "input field") != nil
            if valid, LoopNames.isBuiltin(name) {
                r.error(TaskCode.invalidValue, "input field `\(name)` has the name of a built-in function", at: nameItem.node,
                        label: "shadows a built-in", hints: ["rename the field, e.g. `\(name)_value`"])
                valid = false
            }
            let field = fieldType(item)
            if valid, let (type, description) = field { fields.append(InputField(name: name, type: type, description: description)) }
            else { ok = false }
        }
        return ok ? fields : nil
    }

    private func fieldType(_ it: Item) -> (InputField.FieldType, String?)? {
        if case .mapping = it.node {
            guard let m = r.mapping(it, allowed: ["type", "description"], required: ["type"]) else { return nil }
            let description = m["description"].flatMap { r.isNull($0.node) ? nil : r.string($0, allowEmpty: true) }
            guard let t = m["type"], let type = typeName(t) else { return nil }
            return (type, description?.isEmpty == false ? description : nil)
        }
        return typeName(it).map { ($0, nil) }
    }

    private func typeName(_ it: Item) -> InputField.FieldType? {
        let aliases: [String: String] = ["string": "text", "str": "text", "int": "number", "integer": "number", "float": "number",
                                         "double": "number", "boolean": "bool"]
        if case .scalar(let s) = it.node, let t = aliases[s.string.lowercased()] {
            r.error(TaskCode.invalidValue, "`\(it.path)` has type `\(s.string)`; Loop calls it `\(t)`", at: it.node, label: "unknown type",
                    hints: ["input fields are `text`, `number` or `bool`"],
                    fixes: [FixIt(range: r.range(it.node), replacement: t, message: "replace `\(s.string)` with `\(t)`")])
            return nil
        }
        return r.choice(it, InputField.FieldType.self)
    }

    // MARK: - labels

    /// `labels: {name: description, ...}`, `labels: {name: {name: "app string", description: ...}}`
    /// or `labels: [name, ...]`. `declared` receives every name written, valid or not, so examples
    /// are checked against them even when a label is wrong.
    func labels(_ it: Item, declared: inout [String]) -> [LabelSpec]? {
        var out: [LabelSpec] = []
        var first: [String: Node] = [:]
        var ok = true
        func add(_ nameNode: Node, _ description: String?, answer: (String, Node)? = nil) {
            let item = Item(path: "labels", node: nameNode, key: nil)
            guard let name = r.scalarText(item) else { ok = false; return }
            if let earlier = first[name] {
                r.error(TaskCode.duplicateLabel, "label `\(name)` is declared twice", at: nameNode, label: "duplicate label",
                        notes: [DiagnosticNote(file: r.file, range: r.range(earlier), message: "first declared here")])
                ok = false
                return
            }
            first[name] = nameNode
            declared.append(name)
            guard identifier(item, what: "label") != nil, let description else { ok = false; return }
            out.append(LabelSpec(name: name, description: description, applicationName: answer?.0))
        }
        var answerNodes: [String: Node] = [:]
        switch it.node {
        case .mapping(let m):
            for (k, v) in m {
                let path = "labels.\(k.scalar?.string ?? "?")"
                if case .mapping = v {
                    // `{name: "the application's string", description: ...}`
                    guard let lm = r.mapping(Item(path: path, node: v, key: k), allowed: ["name", "description"]) else { ok = false; continue }
                    let d = lm["description"].map { r.isNull($0.node) ? "" : r.string($0, allowEmpty: true) } ?? ""
                    var answer: (String, Node)?
                    if let n = lm["name"] {
                        guard let s = r.string(n) else { ok = false; continue }
                        answer = (s, n.node)
                        if let key = k.scalar?.string { answerNodes[key] = n.node }
                    }
                    add(k, d, answer: answer)
                } else {
                    let d = r.isNull(v) ? "" : r.string(Item(path: path, node: v, key: k), allowEmpty: true)
                    add(k, d)
                }
            }
        case .sequence(let s):
            for n in s { add(n, "") }
        default:
            r.error(TaskCode.wrongType, "`labels` must be a mapping of `label: description`, found \(describe(it.node))", about: it,
                    label: "expected a mapping", hints: ["e.g. `labels: {spam: unwanted messages, ham: everything else}`"])
            return nil
        }
        let written = it.node.mapping?.count ?? it.node.sequence?.count ?? 0
        if written < 2 {
            r.error(TaskCode.tooFewLabels, "a task needs at least two labels, found \(written)", about: it,
                    label: written == 0 ? "no labels" : "only one label",
                    hints: ["a classifier chooses between two or more answers; add one, e.g. `other: everything else`"])
            return nil
        }
        // Each application string names one label: not another label's string or identifier.
        var owner: [String: String] = [:]
        for l in out { owner[l.name] = l.name }
        for l in out {
            guard let a = l.applicationName, let node = answerNodes[l.name] else { continue }
            if let other = owner[a], other != l.name {
                r.error(TaskCode.duplicateLabel, "label `\(l.name)` is named \(JSONWriter.string(JSON(a))), which already names label `\(other)`",
                        at: node, label: "names two labels",
                        hints: ["every label's `name` must differ from every other label's name and identifier"])
                ok = false
            } else { owner[a] = l.name }
        }
        return ok ? out : nil
    }

    // MARK: - examples

    /// `known` maps every string an example's label may be (identifier or application string) to
    /// the identifier; examples are stored with identifiers.
    func examples(_ it: Item, input: [InputField]?, labels names: [String], known: [String: String]) -> [TaskExample] {
        guard let items = r.list(it) else { return [] }
        var out: [TaskExample] = []
        for e in items {
            guard let m = r.mapping(e, allowed: ["input", "label"], required: ["input", "label"]) else { continue }
            var label = m["label"].flatMap { r.string($0) }
            if let l = label, let id = known[l] { label = id } else if let l = label, let labelItem = m["label"], !names.isEmpty {
                let close = suggestions(for: l, among: names)
                r.error(TaskCode.badExample, "`\(labelItem.path)` is `\(l)`, which is not one of the labels", at: labelItem.node,
                        label: "unknown label",
                        hints: (close.first.map { ["did you mean `\($0)`?"] } ?? []) + ["the labels are \(quotedList(names))"],
                        fixes: close.first.map { [FixIt(range: r.range(labelItem.node), replacement: $0, message: "replace `\(l)` with `\($0)`")] } ?? [])
                label = nil
            }
            guard let inputItem = m["input"], let fields = input else { continue }
            if let value = exampleInput(inputItem, fields: fields), let label { out.append(TaskExample(input: value, label: label)) }
        }
        return out
    }

    /// A string for a single-field input, else a mapping with every field, as a JSON object.
    private func exampleInput(_ it: Item, fields: [InputField]) -> JSON? {
        if case .mapping = it.node {
            let names = fields.map(\.name)
            guard let m = r.mapping(it, allowed: names, required: names, unknownCode: TaskCode.badExample,
                                    missingCode: TaskCode.badExample, noun: "field") else { return nil }
            var kv: [(String, JSON)] = []
            for f in fields {
                guard let item = m[f.name], let v = fieldValue(item, f) else { return nil }
                kv.append((f.name, v))
            }
            return .object(kv)
        }
        if fields.count == 1, case .scalar = it.node, !r.isNull(it.node) {
            return fieldValue(it, fields[0]).map { .object([(fields[0].name, $0)]) }
        }
        let shape = fields.count == 1 ? "the input \(fields[0].type.rawValue)" : "a mapping of the fields \(quotedList(fields.map(\.name)))"
        r.error(TaskCode.badExample, "`\(it.path)` must be \(shape), found \(describe(it.node))", about: it, label: "not an input")
        return nil
    }

    private func fieldValue(_ it: Item, _ f: InputField) -> JSON? {
        switch f.type {
        case .text: return r.scalarText(it, code: TaskCode.badExample).map { .string(Array($0.utf8)) }
        case .number: return r.number(it, code: TaskCode.badExample).map { .number($0) }
        case .bool: return r.bool(it, code: TaskCode.badExample).map { .bool($0) }
        }
    }

    // MARK: - data

    /// `data: file.jsonl` or `data: {path: file.jsonl, label: key}`; the file must exist.
    func data(_ it: Item) -> DataSpec? {
        var pathItem = it
        var labelKey = "label"
        if case .mapping = it.node {
            guard let m = r.mapping(it, allowed: ["path", "label"], required: ["path"]), let p = m["path"] else { return nil }
            pathItem = p
            if let l = m["label"] { guard let key = r.string(l) else { return nil }; labelKey = key }
        }
        guard let path = r.string(pathItem) else { return nil }
        let absolute = r.resolve(path)
        var isDir: ObjCBool = false
        let problem: String?
        if !FileManager.default.fileExists(atPath: absolute, isDirectory: &isDir) { problem = "does not exist" }
        else if isDir.boolValue { problem = "is a directory" }
        else if !FileManager.default.isReadableFile(atPath: absolute) { problem = "cannot be read (permission denied)" }
        else { problem = nil }
        if let problem {
            r.error(TaskCode.dataFile, "data file `\(path)` \(problem)", at: pathItem.node, label: "looked for \(absolute)",
                    hints: ["relative paths are resolved against the task file's directory, not the working directory"])
            return nil
        }
        return DataSpec(path: absolute, labelKey: labelKey)
    }
}
