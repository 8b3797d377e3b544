import Foundation
import LoopDiagnostics
import LoopSyntax

extension Checker {
    /// `as "..."` strings: not empty, and each names one label only (an answer read back from data
    /// or an oracle must map to one label, whether it is written as a string or an identifier).
    func checkLabelNames(_ file: SourceFile) {
        var owner: [String: Int] = [:]
        for (i, l) in labels.enumerated() { owner[l] = i }
        for (i, n) in labelNameDecls.enumerated() {
            guard let n else { continue }
            if n.text.isEmpty || n.text.allSatisfy({ $0.isWhitespace }) {
                error("E0613", "label `\(labels[i])` has an empty string", file, n.range, label: "empty string",
                      hints: ["an answer must be a non-empty string; drop `as \"\"` to answer with the identifier"])
                continue
            }
            if n.text.first!.isWhitespace || n.text.last!.isWhitespace {
                error("E0613", "the string of label `\(labels[i])` begins or ends with white space", file, n.range, label: "white space at an end",
                      hints: ["labels read back from data and oracles are compared exactly; write \(Formatter.quote(n.text.trimmingCharacters(in: .whitespaces)))"],
                      fixes: [FixIt(range: n.range, replacement: Formatter.quote(n.text.trimmingCharacters(in: .whitespacesAndNewlines)), message: "trim it")])
                continue
            }
            if let j = owner[n.text], j != i {
                let what = labels[j] == n.text ? "the identifier of label `\(labels[j])`" : "the string of label `\(labels[j])`"
                let at = labelNameDecls[j].flatMap { $0.text == n.text ? $0.range : nil } ?? labelRanges[j]
                error("E0613", "\(Formatter.quote(n.text)) is already \(what)", file, n.range, label: "names two labels",
                      notes: [DiagnosticNote(file: file, range: at, message: "first used here")],
                      hints: ["every label's string must differ from every other label's string and identifier"])
            } else { owner[n.text] = i }
        }
    }

    func labelIndex(_ l: Ident, _ file: SourceFile, context: String) -> Int? {
        if let i = labels.firstIndex(of: l.name) { return i }
        if labels.isEmpty { return nil }
        let s = suggestions(for: l.name, among: labels)
        error("E0302", "unknown label `\(l.name)`", file, l.range, label: "not one of the declared labels",
              hints: s.map { "did you mean `\($0)`?" } + ["the labels are " + labels.map { "`\($0)`" }.joined(separator: ", ") + " (\(context))"],
              fixes: s.prefix(1).map { FixIt(range: l.range, replacement: $0, message: "replace `\(l.name)` with `\($0)`") }
                  + (s.isEmpty ? [FixIt(range: labelRanges.last.map { SourceRange($0.end, $0.end) } ?? l.range, replacement: ", \(l.name)", message: "declare `\(l.name)` as a label")] : []))
        return nil
    }

    func confidenceValue(_ e: Expr?, _ file: SourceFile) -> (ok: Bool, value: Double?) {
        guard let e else { return (true, nil) }
        guard let t = expr(e, Ctx(file: file, mode: .const)) else { return (false, nil) }
        guard case .literal(.number(let v)) = t.kind else {
            error("E0605", "a confidence must be a number", file, e.range, label: "this is \(t.type)")
            return (false, nil)
        }
        guard v >= 0 && v <= 1 else {
            let fix: String? = v < 0 ? "0" : (v > 1 && v <= 100 && v == v.rounded()) ? Formatter.formatNumber(v / 100) : nil
            error("E0605", "a confidence must lie between 0 and 1", file, e.range, label: "\(Formatter.formatNumber(v)) is out of range",
                  hints: ["a confidence is a probability, e.g. 0.9"],
                  fixes: fix.map { [FixIt(range: e.range, replacement: $0, message: "use \($0)")] } ?? [])
            return (false, nil)
        }
        return (true, v)
    }

    func checkRules(_ file: SourceFile) -> [TypedProgram.Rule] {
        var rules: [TypedProgram.Rule] = []
        var names: [String: SourceRange] = [:]
        for d in unit.decls {
            guard case .rule(let n, let cond, let label, let conf) = d.kind else { continue }
            if let r = names[n.name] {
                error("E0307", "rule `\(n.name)` is defined twice", file, n.range, label: "duplicate rule name",
                      notes: [DiagnosticNote(file: file, range: r, message: "first defined here")],
                      hints: ["rule names appear in results and traces, so each must be unique"])
            }
            names[n.name] = n.range
            let c = expr(cond, Ctx(file: file, mode: .program))
            if let c, c.type != .bool { mismatch(expected: .bool, found: c, why: "the condition of rule `\(n.name)`", file) }
            let li = labelIndex(label, file, context: "rule `\(n.name)`")
            let (ok, cv) = confidenceValue(conf, file)
            if let c, c.type == .bool, let li, ok {
                rules.append(.init(name: n.name, condition: c, label: li, confidence: cv ?? 1.0, range: d.range))
            }
        }
        return rules
    }

    func checkScores(_ file: SourceFile) -> ([[TypedProgram.Term]], [Bool]) {
        var scores = [[TypedProgram.Term]](repeating: [], count: labels.count)
        var has = [Bool](repeating: false, count: labels.count)
        var seen: [Int: SourceRange] = [:]
        for d in unit.decls {
            guard case .score(let label, let terms) = d.kind else { continue }
            let li = labelIndex(label, file, context: "score block")
            if let li, let prev = seen[li] {
                error("E0606", "label `\(label.name)` has two score blocks", file, label.range, label: "second block",
                      notes: [DiagnosticNote(file: file, range: prev, message: "first block here")],
                      hints: ["merge the terms into one block"])
            }
            if let li { seen[li] = label.range; has[li] = true }
            if terms.isEmpty {
                warning("W0003", "score block for `\(label.name)` is empty", file, d.range, label: "adds nothing",
                        hints: ["add terms such as `1.5 when contains(text, \"...\")`, or remove the block"])
            }
            for t in terms {
                let ctx = Ctx(file: file, mode: .program)
                let v = expr(t.value, ctx)
                if let v, v.type != .number {
                    mismatch(expected: .number, found: v, why: "a score term's weight", file,
                             hints: v.type == .bool ? ["write `1 when CONDITION` to score a condition"] : [])
                }
                var c: TExpr? = nil
                if let ce = t.condition {
                    c = expr(ce, ctx)
                    if let cc = c, cc.type != .bool { mismatch(expected: .bool, found: cc, why: "the condition after `when`", file) }
                }
                if let li, let v, v.type == .number, t.condition == nil || c?.type == .bool {
                    var text = Formatter.exprInline(t.value)
                    if let ce = t.condition { text += " when " + Formatter.exprInline(ce) }
                    scores[li].append(.init(value: v, condition: c, range: t.range, text: text))
                }
            }
        }
        return (scores, has)
    }

    func checkOtherwise(_ file: SourceFile) -> TypedProgram.Fallback? {
        var found: TypedProgram.Fallback? = nil
        var firstRange: SourceRange? = nil
        var sawAny = false
        for d in unit.decls {
            guard case .otherwise(let label, let conf) = d.kind else { continue }
            if let r = firstRange {
                error("E0607", "a program has one `otherwise`", file, d.range, label: "second fallback",
                      notes: [DiagnosticNote(file: file, range: r, message: "first `otherwise` here")],
                      fixes: [FixIt(range: d.range, replacement: "", message: "remove it")])
                continue
            }
            firstRange = d.range
            sawAny = true
            let li = labelIndex(label, file, context: "otherwise")
            let (ok, cv) = confidenceValue(conf, file)
            if let li, ok { found = .init(label: li, confidence: cv, range: d.range) }
        }
        if !sawAny && !partial {
            let first = labels.first ?? "LABEL"
            let end = unit.file.bytes.count
            let needsNewline = end > 0 && unit.file.bytes[end - 1] != UInt8(ascii: "\n")
            error("E0608", "missing `otherwise`: an input that matches no rule and no score term would get no label", file,
                  SourceRange(end, end), label: "add a fallback",
                  hints: ["every input must get a label; `otherwise => LABEL` answers when nothing else decides"],
                  fixes: [FixIt(range: SourceRange(end, end), replacement: (needsNewline ? "\n" : "") + "otherwise => \(first)\n", message: "answer `\(first)` by default")])
        }
        return found
    }

    func checkTests(_ file: SourceFile) -> [TypedProgram.TestCase] {
        var tests: [TypedProgram.TestCase] = []
        for d in unit.decls {
            guard case .test(let input, let label) = d.kind else { continue }
            let li = labelIndex(label, file, context: "test")
            var values: [Value?] = Array(repeating: nil, count: fields.count)
            var ok = !fields.isEmpty
            func literal(_ e: Expr, for i: Int) {
                guard let t = expr(e, Ctx(file: file, mode: .const)) else { ok = false; return }
                guard case .literal(let v) = t.kind else { ok = false; return }
                if v.type != fields[i].type {
                    mismatch(expected: fields[i].type, found: t, why: "the test value for `\(fields[i].name)`", file); ok = false; return
                }
                values[i] = v
            }
            switch input {
            case .value(let e):
                if fields.count == 1 { literal(e, for: 0) }
                else if !fields.isEmpty {
                    error("E0611", "this program's input is a record; give the test one", file, e.range, label: "expected a record",
                          hints: ["write: test { " + fields.map { "\($0.name): ..." }.joined(separator: ", ") + " } => LABEL"])
                    ok = false
                }
            case .record(let fs):
                for f in fs {
                    guard let i = fields.firstIndex(where: { $0.name == f.name.name }) else {
                        let s = suggestions(for: f.name.name, among: fields.map(\.name))
                        error("E0301", "the input has no field `\(f.name.name)`", file, f.name.range, label: "unknown field",
                              hints: s.map { "did you mean `\($0)`?" }, fixes: s.prefix(1).map { FixIt(range: f.name.range, replacement: $0, message: "use `\($0)`") })
                        ok = false; continue
                    }
                    literal(f.value, for: i)
                }
                let missing = fields.indices.filter { i in !fs.contains { $0.name.name == fields[i].name } }
                if !missing.isEmpty && ok {
                    error("E0611", "the test gives no value for " + missing.map { "`\(fields[$0].name)`" }.joined(separator: ", "), file, d.range,
                          label: "incomplete input", hints: ["every field of the input must be given"])
                    ok = false
                }
            }
            if ok, let li, values.allSatisfy({ $0 != nil }) {
                tests.append(.init(input: values.map { $0! }, label: li, range: d.range))
            }
        }
        return tests
    }
}
