import LoopDiagnostics
import LoopSyntax

/// Tier-1 validation: resolves names, checks types and program structure, folds constants,
/// compiles regexes and runs the lints. Produces a `TypedProgram` only when there is no error.
public final class Checker {
    /// What a global name refers to.
    enum GlobalKind { case const, `let`, fn, field }
    struct Global {
        let name: String
        let kind: GlobalKind
        let file: SourceFile
        let nameRange: SourceRange
        let module: String?
        let index: Int
    }
    struct FnDecl {
        let name: Ident; let params: [Param]; let result: TypeRef; let body: Expr; let file: SourceFile; let module: String?
    }
    struct ValueDecl { let name: Ident; let value: Expr; let file: SourceFile; let module: String?; var declStart: Int = 0 }

    let unit: SourceUnit
    let stdlib: Stdlib
    var diags: [Diagnostic] = []
    var globals: [String: Global] = [:]
    var fields: [TypedProgram.Field] = []
    var fieldRanges: [SourceRange] = []
    var singleInput = true
    var labels: [String] = []
    /// Each declared label's `as "..."` string, parallel to `labels`.
    var labelNameDecls: [LabelName?] = []
    var labelRanges: [SourceRange] = []

    var constDecls: [ValueDecl] = []
    var constValues: [TExpr?] = []
    var constState: [Int] = []   // 0 unvisited, 1 visiting, 2 done
    var letDecls: [ValueDecl] = []
    var letTyped: [TExpr?] = []
    var letState: [Int] = []
    var fnDecls: [FnDecl] = []
    var fnSigs: [(params: [LoopType], result: LoopType)?] = []
    var fnBodies: [TExpr?] = []
    var callEdges: [Int: [(callee: Int, range: SourceRange)]] = [:]
    var used: Set<String> = []
    var loadedModules: [String] = []
    /// Modules that could not be loaded: calls to unknown functions are then not reported again.
    var failedModules: [String] = []

    var lists: [[[UInt8]]] = []
    var listIndex: [[[UInt8]]: Int] = [:]
    var tables: [[(key: [UInt8], weight: Double)]] = []
    var regexes: [LoopRegex] = []
    var regexIndex: [LoopRegex: Int] = [:]

    init(unit: SourceUnit, stdlib: Stdlib) { self.unit = unit; self.stdlib = stdlib }

    /// Checks a parsed program. Diagnostics include the lints; the program is nil when any error was found.
    public static func check(_ unit: SourceUnit, stdlib: Stdlib = .default) -> (program: TypedProgram?, diagnostics: [Diagnostic]) {
        let c = Checker(unit: unit, stdlib: stdlib)
        let p = c.run()
        return (p, c.diags)
    }

    /// Parse and check in one go (what `loopai check` does for each file).
    public static func checkSource(_ file: SourceFile, stdlib: Stdlib = .default) -> (program: TypedProgram?, diagnostics: [Diagnostic]) {
        let (unit, parseDiags) = Parser.parse(file)
        return checkParsed(unit, parseDiagnostics: parseDiags, stdlib: stdlib)
    }

    /// Checks a unit already parsed (the language server keeps the tree for its own queries).
    public static func checkParsed(_ unit: SourceUnit, parseDiagnostics parseDiags: [Diagnostic], stdlib: Stdlib = .default) -> (program: TypedProgram?, diagnostics: [Diagnostic]) {
        if parseDiags.contains(where: { $0.severity == .error }) {
            // Still resolve what parsed, to report independent errors, but never produce a program.
            let c = Checker(unit: unit, stdlib: stdlib)
            c.partial = true
            _ = c.run()
            return (nil, parseDiags + c.diags.filter { $0.code != "E0608" && $0.severity == .error })
        }
        let (p, d) = check(unit, stdlib: stdlib)
        return (p, parseDiags + d)
    }

    /// Set when the parse failed: structural errors about missing pieces are then left out,
    /// since the piece may simply have failed to parse.
    var partial = false

    func error(_ code: String, _ msg: String, _ file: SourceFile?, _ range: SourceRange, label: String? = nil,
               notes: [DiagnosticNote] = [], hints: [String] = [], fixes: [FixIt] = []) {
        diags.append(Diagnostic(.error, code, msg, file: file, range: range, label: label, notes: notes, hints: hints, fixes: fixes))
    }
    func warning(_ code: String, _ msg: String, _ file: SourceFile?, _ range: SourceRange, label: String? = nil,
                 notes: [DiagnosticNote] = [], hints: [String] = [], fixes: [FixIt] = []) {
        diags.append(Diagnostic(.warning, code, msg, file: file, range: range, label: label, notes: notes, hints: hints, fixes: fixes))
    }

    // MARK: driver

    func run() -> TypedProgram? {
        let file = unit.file
        var programName: Ident? = nil
        var description: String? = nil
        var inputDecl: Decl? = nil
        var labelsDecl: Decl? = nil

        for (i, d) in unit.decls.enumerated() {
            switch d.kind {
            case .program(let n, let desc):
                if programName != nil {
                    error("E0601", "a file holds one program; this is a second `program` header", file, d.range, label: "second header")
                } else {
                    if i != 0 { error("E0601", "the `program` header must come first", file, d.range, label: "move this to the top of the file") }
                    programName = n; description = desc
                }
            case .module:
                error("E0610", "this is a Stdlib module, not a program", file, d.range, label: "module header",
                      hints: ["modules are imported with `use`; a program starts with `program NAME`"])
                return nil
            case .input:
                if let prev = inputDecl {
                    error("E0602", "the input is declared twice", file, d.range, label: "second input",
                          notes: [DiagnosticNote(file: file, range: prev.range, message: "first declared here")],
                          hints: ["a record input declares several fields at once: input { a: text, b: number }"])
                } else { inputDecl = d }
            case .labels:
                if let prev = labelsDecl {
                    error("E0603", "labels are declared twice", file, d.range, label: "second `labels`",
                          notes: [DiagnosticNote(file: file, range: prev.range, message: "first declared here")],
                          hints: ["list every label in one declaration: labels a, b, c"])
                } else { labelsDecl = d }
            default: break
            }
        }
        if programName == nil && !partial {
            error("E0601", "missing `program` header", file, SourceRange(0, 0), label: "expected `program NAME` here",
                  fixes: [FixIt(range: SourceRange(0, 0), replacement: "program my_classifier\n\n", message: "add a header")])
        }
        // Input.
        if let d = inputDecl, case .input(let shape) = d.kind {
            switch shape {
            case .single(let n, let t):
                addField(n, t, file)
                singleInput = true
            case .record(let fs):
                singleInput = false
                if fs.isEmpty { error("E0602", "the input record has no fields", file, d.range, label: "empty record") }
                for f in fs { addField(f.name, f.type, file) }
            }
        } else if !partial {
            error("E0602", "missing input declaration", file, SourceRange(0, 0), label: "the program never says what it classifies",
                  hints: ["declare one text input (`input text: text`) or a record (`input { subject: text, body: text }`)"],
                  fixes: [FixIt(range: insertionPointAfterHeader(), replacement: (insertionPointAfterHeader().start == unit.file.bytes.count && unit.file.bytes.last != UInt8(ascii: "\n") ? "\n" : "") + "input text: text\n", message: "declare a text input")])
        }
        // Labels.
        if let d = labelsDecl, case .labels(let ls, let names) = d.kind {
            for (l, n) in zip(ls, names) {
                if let j = labels.firstIndex(of: l.name) {
                    error("E0604", "label `\(l.name)` is declared twice", file, l.range, label: "duplicate label",
                          notes: [DiagnosticNote(file: file, range: labelRanges[j], message: "first declared here")],
                          fixes: [FixIt(range: removalRange(l.range, in: file), replacement: "", message: "remove the duplicate")])
                } else { labels.append(l.name); labelRanges.append(l.range); labelNameDecls.append(n) }
            }
            checkLabelNames(file)
            if labels.count < 2 {
                error("E0603", "a classifier needs at least two labels", file, d.range, label: "only \(labels.count) label")
            }
        } else if !partial {
            error("E0603", "missing `labels` declaration", file, SourceRange(0, 0), label: "the program never lists its labels",
                  hints: ["list the closed set of answers: labels spam, ham"])
        }

        // Globals from used modules, then from the program.
        for d in unit.decls { if case .use(let path) = d.kind { loadModule(path, from: file) } }
        for d in unit.decls { collectGlobal(d, file: file, module: nil) }

        checkAllValues()
        let rules = checkRules(file)
        let (scores, hasScore) = checkScores(file)
        let fallback = checkOtherwise(file)
        let tests = checkTests(file)
        checkRecursion()
        runLints(rules: rules, hasScore: hasScore, fallback: fallback)

        guard !diags.contains(where: { $0.severity == .error }), let name = programName, let fb = fallback else { return nil }
        let lets = letDecls.enumerated().map { TypedProgram.Binding(name: $0.element.name.name, value: letTyped[$0.offset]!, range: $0.element.name.range) }
        let fns = fnDecls.enumerated().map { i, f in
            TypedProgram.Function(name: f.name.name, params: zip(f.params, fnSigs[i]!.params).map { ($0.name.name, $1) },
                                  result: fnSigs[i]!.result, body: fnBodies[i]!, module: f.module)
        }
        return TypedProgram(name: name.name, description: description, file: file, fields: fields, singleInput: singleInput,
                            labels: labels, labelNames: zip(labels, labelNameDecls).map { $1?.text ?? $0 }, lets: lets, functions: fns, rules: rules, scores: scores, hasScore: hasScore,
                            otherwise: fb, tests: tests, lists: lists, tables: tables, regexes: regexes, modules: loadedModules)
    }

    func insertionPointAfterHeader() -> SourceRange {
        guard let first = unit.decls.first, case .program = first.kind else { return SourceRange(0, 0) }
        var i = first.range.end
        let b = unit.file.bytes
        while i < b.count, b[i] != UInt8(ascii: "\n") { i += 1 }
        if i < b.count { return SourceRange(i + 1, i + 1) }
        return SourceRange(b.count, b.count)
    }

    func addField(_ n: Ident, _ t: TypeRef, _ file: SourceFile) {
        var ty = LoopType(typeName: t.name) ?? .text
        if LoopType(typeName: t.name) == nil {
            // Reported once; the field still exists (as text) so its uses raise nothing more.
            unknownType(t, file)
            let guess = ["int": LoopType.number, "float": .number, "double": .number, "Int": .number, "boolean": .bool, "Bool": .bool]
            ty = guess[t.name] ?? .text
        }
        if ty != .text && ty != .number && ty != .bool {
            error("E0612", "an input field cannot have type `\(ty)`", file, t.range, label: "not an input type",
                  hints: ["input fields are text, number or bool"])
            return
        }
        if let j = fields.firstIndex(where: { $0.name == n.name }) {
            error("E0307", "field `\(n.name)` is declared twice", file, n.range, label: "duplicate field",
                  notes: [DiagnosticNote(file: file, range: fieldRanges[j], message: "first declared here")])
            return
        }
        if Builtin(rawValue: n.name) != nil {
            error("E0308", "field `\(n.name)` has the name of a built-in function", file, n.range, label: "shadows a built-in",
                  hints: ["rename the field, e.g. `\(n.name)_value`"])
        }
        globals[n.name] = Global(name: n.name, kind: .field, file: file, nameRange: n.range, module: nil, index: fields.count)
        fields.append(.init(name: n.name, type: ty))
        fieldRanges.append(n.range)
    }

    func unknownType(_ t: TypeRef, _ file: SourceFile) {
        let cands = ["text", "number", "bool", "regex", "table", "[text]"]
        let alias: [String: String] = ["string": "text", "str": "text", "String": "text", "int": "number", "float": "number",
                                       "double": "number", "Int": "number", "boolean": "bool", "Bool": "bool", "list": "[text]"]
        let s = alias[t.name].map { [$0] } ?? suggestions(for: t.name, among: cands, limit: 1)
        error("E0403", "unknown type `\(t.name)`", file, t.range, label: "not a type",
              hints: ["the types are text, number, bool, regex, table and [text]"] + s.map { "did you mean `\($0)`?" },
              fixes: s.map { FixIt(range: t.range, replacement: $0, message: "use `\($0)`") })
    }

    // MARK: modules and globals

    func loadModule(_ path: [Ident], from file: SourceFile) {
        let name = path.map(\.name).joined(separator: ".")
        let range = path.first!.range.union(path.last!.range)
        if loadedModules.contains(name) { return }
        guard let mfile = stdlib.file(for: name) else {
            failedModules.append(name)
            let s = suggestions(for: name, among: stdlib.modules.keys.sorted())
            error("E0304", "unknown module `\(name)`", file, range, label: "no such module",
                  hints: ["the Stdlib modules are " + stdlib.modules.keys.sorted().map { "`\($0)`" }.joined(separator: ", ")] + s.map { "did you mean `\($0)`?" },
                  fixes: s.prefix(1).map { FixIt(range: range, replacement: $0, message: "use `\($0)`") })
            return
        }
        loadedModules.append(name)
        let (munit, mdiags) = Parser.parse(mfile)
        diags += mdiags
        for d in munit.decls {
            switch d.kind {
            case .module: continue
            case .use(let p): loadModule(p, from: mfile)
            case .const, .fn: collectGlobal(d, file: mfile, module: name)
            default:
                error("E0609", "a module holds only `const`, `fn` and `use` declarations", mfile, d.range, label: "not allowed in a module")
            }
        }
    }

    func collectGlobal(_ d: Decl, file: SourceFile, module: String?) {
        let name: Ident
        let kind: GlobalKind
        let index: Int
        switch d.kind {
        case .const(let n, let e):
            name = n; kind = .const; index = constDecls.count
            constDecls.append(ValueDecl(name: n, value: e, file: file, module: module, declStart: d.range.start)); constValues.append(nil); constState.append(0)
        case .let(let n, let e):
            name = n; kind = .let; index = letDecls.count
            letDecls.append(ValueDecl(name: n, value: e, file: file, module: module)); letTyped.append(nil); letState.append(0)
        case .fn(let n, let ps, let r, let body):
            name = n; kind = .fn; index = fnDecls.count
            fnDecls.append(FnDecl(name: n, params: ps, result: r, body: body, file: file, module: module))
            fnSigs.append(nil); fnBodies.append(nil)
        default: return
        }
        if Builtin(rawValue: name.name) != nil {
            error("E0308", "`\(name.name)` is a built-in function and cannot be redefined", file, name.range, label: "shadows a built-in",
                  hints: ["choose another name, e.g. `my_\(name.name)`"])
            return
        }
        if let prev = globals[name.name] {
            let whereText = prev.module.map { "defined in module \($0)" } ?? "first defined here"
            error("E0307", "`\(name.name)` is defined twice", file, name.range, label: "second definition",
                  notes: [DiagnosticNote(file: prev.file, range: prev.nameRange, message: whereText)],
                  hints: prev.module != nil ? ["the module you `use` already defines it; rename yours"] : [])
            return
        }
        globals[name.name] = Global(name: name.name, kind: kind, file: file, nameRange: name.range, module: module, index: index)
    }

    func checkAllValues() {
        // Function signatures first, so bodies and calls can be checked in any order.
        for (i, f) in fnDecls.enumerated() {
            var ps: [LoopType] = []
            var ok = true
            for p in f.params {
                if let t = LoopType(typeName: p.type.name) { ps.append(t) } else { unknownType(p.type, f.file); ok = false }
            }
            var seen: [String: SourceRange] = [:]
            for p in f.params {
                if let r = seen[p.name.name] {
                    error("E0307", "parameter `\(p.name.name)` is declared twice", f.file, p.name.range, label: "duplicate parameter",
                          notes: [DiagnosticNote(file: f.file, range: r, message: "first declared here")])
                    ok = false
                }
                seen[p.name.name] = p.name.range
            }
            guard let r = LoopType(typeName: f.result.name) else { unknownType(f.result, f.file); continue }
            if ok { fnSigs[i] = (ps, r) }
        }
        for i in constDecls.indices { _ = constValue(i) }
        for i in letDecls.indices { _ = letValue(i) }
        for (i, f) in fnDecls.enumerated() {
            guard let sig = fnSigs[i] else { continue }
            let ctx = Ctx(file: f.file, mode: .function(i, f.params.map(\.name.name), sig.params))
            guard let body = expr(f.body, ctx) else { continue }
            if body.type != sig.result {
                mismatch(expected: sig.result, found: body, why: "the body of `\(f.name.name)`, which is declared to return \(sig.result)", ctx.file)
                continue
            }
            fnBodies[i] = body
        }
    }

    func constValue(_ i: Int) -> TExpr? {
        if constState[i] == 2 { return constValues[i] }
        let d = constDecls[i]
        if constState[i] == 1 {
            error("E0305", "constant `\(d.name.name)` is defined in terms of itself", d.file, d.name.range, label: "cyclic definition")
            constState[i] = 2
            return nil
        }
        constState[i] = 1
        let v = expr(d.value, Ctx(file: d.file, mode: .const))
        if let v, case .literal = v.kind {} else if v != nil {
            error("E0309", "the value of constant `\(d.name.name)` is not known before the input arrives", d.file, d.value.range,
                  label: "not a constant", hints: ["use `let` for values computed from the input"],
                  fixes: d.module == nil ? [FixIt(range: SourceRange(d.declStart, d.declStart + 5), replacement: "let", message: "make it a `let`")] : [])
            constState[i] = 2
            return nil
        }
        constValues[i] = v
        constState[i] = 2
        return v
    }

    func letValue(_ i: Int) -> TExpr? {
        if letState[i] == 2 { return letTyped[i] }
        let d = letDecls[i]
        if letState[i] == 1 {
            error("E0305", "`\(d.name.name)` is defined in terms of itself", d.file, d.name.range, label: "cyclic definition",
                  hints: ["a `let` may use other lets, but not in a cycle"])
            letState[i] = 2
            return nil
        }
        letState[i] = 1
        let v = expr(d.value, Ctx(file: d.file, mode: .program))
        if letState[i] == 1 { letTyped[i] = v }
        letState[i] = 2
        return letTyped[i]
    }

    func checkRecursion() {
        // Any cycle in the call graph is recursion; report each function on a cycle once.
        var color = [Int](repeating: 0, count: fnDecls.count)
        var stack: [Int] = []
        var reported = Set<Int>()
        func visit(_ f: Int) {
            color[f] = 1
            stack.append(f)
            for e in callEdges[f] ?? [] {
                if color[e.callee] == 1 {
                    let cycle = stack[stack.firstIndex(of: e.callee)!...]
                    if reported.insert(e.callee).inserted {
                        let names = cycle.map { "`\(fnDecls[$0].name.name)`" } + ["`\(fnDecls[e.callee].name.name)`"]
                        error("E0306", "recursion is not allowed: " + names.joined(separator: " calls "), fnDecls[f].file, e.range,
                              label: "this call closes the cycle",
                              hints: ["Loop programs always terminate in time linear in their input, so functions cannot call themselves, directly or indirectly"])
                    }
                } else if color[e.callee] == 0 { visit(e.callee) }
            }
            stack.removeLast()
            color[f] = 2
        }
        for f in fnDecls.indices where color[f] == 0 { visit(f) }
    }
}
