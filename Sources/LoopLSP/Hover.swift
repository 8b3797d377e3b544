import Foundation
import LSPProtocol
import LoopDiagnostics
import LoopData
import LoopGenerate
import LoopInterpreter
import LoopSema
import LoopSyntax

/// Hover: what a name is, with its documentation, its value or its evidence.
extension LanguageServer {
    func hover(_ uri: String, _ position: Position) throws -> Hover? {
        guard let (a, occ) = try occurrence(uri, position) else { return try testHover(uri, position) }
        guard let text = hoverText(occ.key, a) else { return nil }
        return Hover(contents: MarkupContent(markdown: text), range: a.document.range(occ.range))
    }

    func hoverText(_ key: SymbolKey, _ a: Analysis) -> String? {
        let ctx = context(for: a.document)
        func code(_ s: String) -> String { "```loop\n\(s)\n```" }
        func shown(_ e: Expr) -> String {
            let s = Formatter.exprInline(e)
            return s.count > 600 ? String(s.prefix(600)) + " …" : s
        }
        switch key {
        case .builtin(let n):
            if let doc = PromptReference.builtinDocumentation(n) { return code(doc.signature) + "\n\n" + doc.text + "\n\n*built-in function*" }
            guard let b = Builtin(rawValue: n) else { return nil }
            return code(b.usage) + "\n\n" + b.summary + "\n\n*built-in function*"
        case .stdlibFn(let m, let n):
            guard let f = stdlib.function(module: m, name: n) else { return nil }
            return code(f.signature) + "\n\n" + f.doc + "\n\n*from `\(m)`*"
        case .module(let m):
            guard let mod = stdlib.modules[m] else { return "unknown module `\(m)`" }
            return code("module \(m)") + "\n\n" + mod.description + "\n\n" + mod.functions.map { "- `\($0.signature.dropFirst(3))`" }.joined(separator: "\n")
        case .const(let n):
            guard case .const(_, let e)? = a.symbols.declarations[key]?.kind else { return nil }
            var s = code("const \(n) = \(shown(e))")
            switch e.kind {
            case .list(let xs): s += "\n\n\(xs.count) keyword\(xs.count == 1 ? "" : "s")"
            case .table(let kv): s += "\n\n\(kv.count) word\(kv.count == 1 ? "" : "s") with weights"
            default: break
            }
            return s
        case .let(let n):
            guard case .let(_, let e)? = a.symbols.declarations[key]?.kind else { return nil }
            let type = a.program?.lets.first { $0.name == n }.map { ": \($0.value.type)" } ?? ""
            return code("let \(n)\(type) = \(shown(e))") + "\n\ncomputed once per input"
        case .fn(let n):
            guard case .fn(_, let ps, let r, let body)? = a.symbols.declarations[key]?.kind else { return nil }
            let sig = "fn \(n)(" + ps.map { "\($0.name.name): \(LanguageServer.typeName($0.type))" }.joined(separator: ", ") + ") -> \(LanguageServer.typeName(r))"
            return code(sig + " = " + shown(body))
        case .param(let f, let n):
            guard case .fn(_, let ps, _, _)? = a.symbols.declarations[key]?.kind, let p = ps.first(where: { $0.name.name == n }) else { return nil }
            return code("\(n): \(LanguageServer.typeName(p.type))") + "\n\nparameter of `\(f)`"
        case .field(let n):
            var type = ""
            if case .input(let shape)? = a.symbols.declarations[key]?.kind {
                switch shape {
                case .single(_, let t): type = LanguageServer.typeName(t)
                case .record(let fs): type = fs.first { $0.name.name == n }.map { LanguageServer.typeName($0.type) } ?? ""
                }
            }
            var s = code("input \(n): \(type)")
            if let d = ctx.fieldDescription(n), !d.isEmpty { s += "\n\n" + d }
            return s
        case .label(let n):
            var s = code("label \(n)")
            if let d = ctx.labelDescription(n), !d.isEmpty { s += "\n\n" + d + (ctx.taskPath.map { "\n\n*from \(($0 as NSString).lastPathComponent)*" } ?? "") }
            else if ctx.task == nil { s += "\n\n*no task file beside the program describes this label*" }
            let rules = a.unit.decls.compactMap { d -> String? in
                if case .rule(let id, _, let l, _) = d.kind, l.name == n { return id.name }
                return nil
            }
            if !rules.isEmpty { s += "\n\nrules answering it: " + rules.map { "`\($0)`" }.joined(separator: ", ") }
            return s
        case .rule(let n):
            guard case .rule(_, let cond, let l, let conf)? = a.symbols.declarations[key]?.kind else { return nil }
            var s = code("rule \(n) when \(shown(cond)) => \(l.name)" + (conf.map { " confidence \(Formatter.exprInline($0))" } ?? ""))
            if let p = a.program, ctx.store != nil, let i = p.rules.firstIndex(where: { $0.name == n }) {
                let run = ctx.evidence(p)
                s += "\n\n" + EvidenceRun.describe(run.byRule[i] ?? .init()) + " (this text of the program, on the store's validations)"
            }
            return s
        }
    }

    /// On a `test` line's input: how the program decides it, as `loopai explain` shows it (each
    /// rule tried, each score term, and the table words behind each `sum_words` total).
    func testHover(_ uri: String, _ position: Position) throws -> Hover? {
        let a = try analysis(uri)
        guard let p = a.program else { return nil }
        let offset = a.document.offset(of: position)
        let tests = a.unit.decls.filter { if case .test = $0.kind { return true }; return false }
        guard let i = tests.firstIndex(where: { $0.range.start <= offset && offset < $0.range.end }), i < p.tests.count else { return nil }
        let (d, trace) = Interpreter(p).explain(p.tests[i].input)
        let verdict = d.label == p.tests[i].label ? "passes" : "fails: expected \(p.labels[p.tests[i].label])"
        return Hover(contents: MarkupContent(markdown: "**test \(verdict)**\n\n```\n" + ExplainReport.text(p, d, trace) + "```"),
                     range: a.document.range(tests[i].range))
    }

    static func typeName(_ t: TypeRef) -> String { t.name == "list" ? "[text]" : t.name }
}
