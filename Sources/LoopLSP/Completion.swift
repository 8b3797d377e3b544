import Foundation
import LSPProtocol
import LoopGenerate
import LoopSema
import LoopSyntax

/// Completion by context: modules after `use`, labels after `=>` and `score`, regex flags after a
/// regex literal, and otherwise the names an expression can use.
extension LanguageServer {
    func completion(_ uri: String, _ position: Position) throws -> CompletionList {
        let a = try analysis(uri)
        let offset = a.document.offset(of: position)
        let file = a.file
        let lineStart = file.lineStarts[min(position.line, file.lineStarts.count - 1)]
        let prefix = String(decoding: file.bytes[min(lineStart, offset)..<offset], as: UTF8.self)
        let trimmed = prefix.trimmingCharacters(in: .whitespaces)
        var items: [CompletionItem] = []
        let labels = a.unit.decls.flatMap { d -> [Ident] in if case .labels(let ls, _) = d.kind { return ls }; return [] }
        func labelItems() -> [CompletionItem] {
            labels.map { CompletionItem(label: $0.name, kind: 20, detail: "label", documentation: context(for: a.document).labelDescription($0.name)) }
        }

        if trimmed.hasPrefix("use") && (trimmed == "use" || trimmed.hasPrefix("use ")) {
            let typed = trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces)
            let base = typed.contains(".") ? String(typed[..<typed.lastIndex(of: ".")!]) + "." : ""
            for (name, m) in stdlib.modules.sorted(by: { $0.key < $1.key }) where name.hasPrefix(base) {
                items.append(CompletionItem(label: name, kind: 9, detail: "Stdlib module", documentation: m.description,
                                            insertText: String(name.dropFirst(base.count))))
            }
            return CompletionList(isIncomplete: false, items: items)
        }
        if let r = prefix.range(of: "=>", options: .backwards),
           prefix[r.upperBound...].allSatisfy({ $0 == " " || $0.isLetter || $0.isNumber || $0 == "_" }),
           !prefix[r.upperBound...].contains(" confidence") {
            return CompletionList(isIncomplete: false, items: labelItems())
        }
        if trimmed.hasPrefix("score") && !trimmed.contains("{") {
            return CompletionList(isIncomplete: false, items: labelItems())
        }
        if let i = a.tokenIndex(before: offset), case .regex(_, let flags) = a.tokens[i].kind, a.tokens[i].range.end == offset {
            if !flags.contains("i") {
                items.append(CompletionItem(label: "i", kind: 14, detail: "regex flag", documentation: "case-insensitive: letters match either case (simple case folding)"))
            }
            return CompletionList(isIncomplete: false, items: items)
        }
        // Declarations start lines.
        if !trimmed.contains(" ") {
            for k in ["rule", "score", "const", "let", "fn", "test", "otherwise", "use", "labels", "input"] {
                items.append(CompletionItem(label: k, kind: 14, detail: "declaration"))
            }
        }
        for b in Builtin.allCases {
            let doc = PromptReference.builtinDocumentation(b.rawValue)
            items.append(CompletionItem(label: b.rawValue, kind: 3, detail: doc?.signature ?? b.usage, documentation: doc?.text ?? b.summary))
        }
        for m in a.symbols.usedModules {
            for f in stdlib.modules[m]?.functions ?? [] {
                items.append(CompletionItem(label: f.name, kind: 3, detail: f.signature + "  (\(m))", documentation: f.doc))
            }
        }
        // Inside a function's body: its parameters.
        for d in a.unit.decls where d.range.start <= offset && offset <= d.range.end {
            if case .fn(let f, let ps, _, _) = d.kind {
                for p in ps { items.append(CompletionItem(label: p.name.name, kind: 6, detail: "parameter of \(f.name): \(LanguageServer.typeName(p.type))")) }
            }
        }
        for d in a.unit.decls {
            switch d.kind {
            case .const(let id, let e): items.append(CompletionItem(label: id.name, kind: 21, detail: "const = " + String(Formatter.exprInline(e).prefix(80))))
            case .let(let id, let e): items.append(CompletionItem(label: id.name, kind: 6, detail: "let = " + String(Formatter.exprInline(e).prefix(80))))
            case .fn(let id, let ps, let r, _):
                items.append(CompletionItem(label: id.name, kind: 3, detail: "fn \(id.name)(" + ps.map { "\($0.name.name): \(LanguageServer.typeName($0.type))" }.joined(separator: ", ") + ") -> \(LanguageServer.typeName(r))"))
            case .input(.single(let id, let t)): items.append(CompletionItem(label: id.name, kind: 5, detail: "input: \(LanguageServer.typeName(t))"))
            case .input(.record(let fs)):
                for f in fs { items.append(CompletionItem(label: f.name.name, kind: 5, detail: "input field: \(LanguageServer.typeName(f.type))")) }
            default: break
            }
        }
        for k in ["and", "or", "not", "if", "then", "else", "true", "false", "when", "confidence"] { items.append(CompletionItem(label: k, kind: 14)) }
        return CompletionList(isIncomplete: false, items: items)
    }
}
