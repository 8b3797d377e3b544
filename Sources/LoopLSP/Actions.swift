import Foundation
import LSPProtocol
import LoopData
import LoopDiagnostics
import LoopInterpreter
import LoopRuntime
import LoopSema
import LoopSyntax

/// Formatting, quick fixes, code lenses, commands, and the escalation's failing examples.
extension LanguageServer {
    func formatting(_ uri: String) throws -> [TextEdit] {
        let a = try analysis(uri)
        let errors = a.diagnostics.filter { $0.severity == .error && ($0.code.hasPrefix("E01") || $0.code.hasPrefix("E02")) }
        if let first = errors.first {
            let loc = a.file.location(of: first.range.start)
            throw ResponseError(.requestFailed, "not formatted: the program does not parse (\(first.code) at line \(loc.line): \(first.message))")
        }
        let formatted = Formatter.format(a.unit)
        if formatted.utf8.elementsEqual(a.file.bytes) { return [] }
        return [TextEdit(range: a.document.wholeRange, newText: formatted)]
    }

    func codeActions(_ uri: String, _ range: Range) throws -> [CodeAction] {
        let a = try analysis(uri)
        let lo = a.document.offset(of: range.start), hi = a.document.offset(of: range.end)
        var out: [CodeAction] = []
        let lsp = a.lspDiagnostics(uriOf: { _ in nil })
        for (i, d) in a.diagnostics.enumerated() where !d.fixes.isEmpty && (d.file == nil || d.file === a.file) {
            guard d.range.start <= hi && lo <= d.range.end else { continue }
            for fix in d.fixes {
                out.append(CodeAction(title: fix.message, diagnostics: [lsp[i]], isPreferred: d.fixes.count == 1,
                                      edit: WorkspaceEdit(changes: [uri: [TextEdit(range: a.document.range(fix.range), newText: fix.replacement)]])))
            }
        }
        return out
    }

    func codeLenses(_ uri: String) throws -> [CodeLens] {
        let a = try analysis(uri)
        let doc = a.document
        let ctx = context(for: doc)
        var out: [CodeLens] = []
        let uriArg = [JSONValue.string(uri)]
        func lens(_ r: SourceRange, _ title: String, _ command: String) {
            out.append(CodeLens(range: doc.range(r), command: Command(title: title, command: command, arguments: uriArg)))
        }
        let testDecls = a.unit.decls.filter { if case .test = $0.kind { return true }; return false }
        guard let p = a.program else {
            for d in testDecls { lens(SourceRange(d.range.start, d.range.start + 4), "not run: the program has errors", "loopai.runTests") }
            return out
        }
        let interp = Interpreter(p)
        var decidedTests: [Int: Int] = [:]
        for (d, t) in zip(testDecls, p.tests) {
            let got = interp.evaluate(t.input)
            if case .rule(let i) = got.decidedBy { decidedTests[i, default: 0] += 1 }
            let title = got.label == t.label ? "✓ passes (\(got.decidedByText(p)))"
                : "✗ fails: answered \(p.labels[got.label]) (\(got.decidedByText(p))), expected \(p.labels[t.label])"
            lens(SourceRange(d.range.start, d.range.start + 4), title, "loopai.runTests")
        }
        let run = ctx.store != nil ? ctx.evidence(p) : nil
        if let run, let header = a.unit.decls.first {
            lens(SourceRange(header.range.start, header.range.start), "compare with the \(run.total) stored validation\(run.total == 1 ? "" : "s") as `loopai escalations resolve` would", "loopai.compareWithValidations")
        }
        for (i, r) in p.rules.enumerated() {
            guard let range = a.symbols.definitions[.rule(r.name)] else { continue }
            let title = run.map { EvidenceRun.describe($0.byRule[i] ?? .init()) }
                ?? "decides \(decidedTests[i] ?? 0) of \(p.tests.count) test\(p.tests.count == 1 ? "" : "s")"
            lens(range, title, run != nil ? "loopai.compareWithValidations" : "loopai.runTests")
        }
        if let run {
            if let first = a.unit.decls.first(where: { if case .score = $0.kind { return true }; return false }) {
                lens(SourceRange(first.range.start, first.range.start + 5), "scores " + EvidenceRun.describe(run.byScore), "loopai.compareWithValidations")
            }
            if let o = a.unit.decls.first(where: { if case .otherwise = $0.kind { return true }; return false }) {
                lens(SourceRange(o.range.start, o.range.start + 9), EvidenceRun.describe(run.byOtherwise), "loopai.compareWithValidations")
            }
        }
        return out
    }

    func execute(_ command: String, _ args: [JSONValue]) throws -> JSONValue {
        guard let uri = args.first?.stringValue else { throw ResponseError(.invalidParams, "`\(command)` takes the document's URI as its argument") }
        let a = try analysis(uri)
        guard let p = a.program else {
            throw ResponseError(.requestFailed, "the program has errors; fix them first (\(a.diagnostics.filter { $0.severity == .error }.count) error(s))")
        }
        switch command {
        case "loopai.runTests":
            let (passed, failures) = EmbeddedTests.run(Interpreter(p))
            let message = failures.isEmpty ? "all \(passed) tests pass"
                : "\(failures.count) of \(passed + failures.count) tests fail: " + failures.prefix(5).map { f in
                    "line \(a.file.location(of: f.test.range.start).line) answered \(p.labels[f.got.label]), expected \(p.labels[f.test.label])"
                }.joined(separator: "; ")
            out.notify("window/showMessage", ShowMessageParams(type: failures.isEmpty ? 3 : 2, message: message))
            return .object(["passed": .number(Double(passed)), "failed": .number(Double(failures.count)), "message": .string(message)])
        case "loopai.compareWithValidations":
            let ctx = context(for: a.document)
            guard let store = ctx.store else {
                throw ResponseError(.requestFailed, ctx.storeProblem ?? "no store beside this program: start `loopai lsp --store PATH`, or keep the task file and its `.loopai/TASK.sqlite` beside it")
            }
            let (passed, failures) = EmbeddedTests.run(Interpreter(p))
            var result: [String: JSONValue] = ["testsPassed": .number(Double(passed)), "testsFailed": .number(Double(failures.count))]
            let message: String
            if !failures.isEmpty {
                message = "resolve would refuse it: \(failures.count) of the program's \(passed + failures.count) tests fail"
                result["accepted"] = .bool(false)
            } else {
                let c = try EscalationResolution.compare(try LoadedProgram(versionId: -1, source: a.document.text), store: store)
                func pct(_ n: Int) -> String { c.total == 0 ? "n/a" : String(format: "%.2f%%", Double(n) * 100 / Double(c.total)) }
                message = "stored validations: \(c.total); this program gets \(c.editedRight) right (\(pct(c.editedRight)))"
                    + (c.activeId.map { ", the active v\($0) \(c.activeRight) (\(pct(c.activeRight)))" } ?? "")
                    + (c.editedIsWorse ? ": resolve would refuse it (less accurate than the active one; --force accepts it)" : ": resolve would accept it")
                result["total"] = .number(Double(c.total))
                result["right"] = .number(Double(c.editedRight))
                result["activeRight"] = .number(Double(c.activeRight))
                result["activeVersion"] = c.activeId.map { .number(Double($0)) } ?? .null
                result["accepted"] = .bool(!c.editedIsWorse)
            }
            result["message"] = .string(message)
            out.notify("window/showMessage", ShowMessageParams(type: 3, message: message))
            return .object(result)
        default:
            throw ResponseError(.invalidParams, "unknown command `\(command)`; the server offers \(LanguageServer.commands.joined(separator: ", "))")
        }
    }

    /// The open escalations' failing examples that this text of the program still answers
    /// wrongly, as information diagnostics on what decides them. Fixed ones disappear as you type.
    func escalationDiagnostics(_ a: Analysis, _ ctx: ProgramContext) -> [LSPDiagnostic] {
        guard let p = a.program, !ctx.failures.isEmpty else { return [] }
        let interp = Interpreter(p)
        let decoder = RecordDecoder(program: p)
        var out: [LSPDiagnostic] = []
        for f in ctx.failures {
            guard case .success(let input) = decoder.decode(.json(f.input)) else { continue }
            let d = interp.evaluate(input)
            guard p.labels[d.label] != f.oracle, let range = a.decidingRange(d, program: p) else { continue }
            var shown = f.input.string ?? JSONWriter.string(f.input)
            if case .object(let kv) = f.input, kv.count == 1, let t = kv[0].1.string { shown = t }
            if shown.count > 120 { shown = String(shown.prefix(120)) + "…" }
            out.append(LSPDiagnostic(range: a.document.range(range), severity: 3, code: "escalation",
                                     message: "escalation #\(f.escalation): “\(shown)” → the program answers \(p.labels[d.label]) (\(d.decidedByText(p))), the oracle \(f.oracle)"))
        }
        return out
    }
}
