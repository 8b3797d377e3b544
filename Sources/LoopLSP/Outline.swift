import LSPProtocol
import LoopDiagnostics
import LoopSyntax

/// Document symbols (the outline) and folding ranges.
extension LanguageServer {
    func documentSymbols(_ uri: String) throws -> [DocumentSymbol] {
        let a = try analysis(uri)
        let doc = a.document
        func sym(_ name: String, _ detail: String?, _ kind: Int, _ d: Decl, _ sel: SourceRange, _ children: [DocumentSymbol]? = nil) -> DocumentSymbol {
            DocumentSymbol(name: name, detail: detail, kind: kind, range: doc.range(d.range), selectionRange: doc.range(sel), children: children)
        }
        var out: [DocumentSymbol] = []
        for d in a.unit.decls {
            switch d.kind {
            case .program(let id, let desc): out.append(sym(id.name, desc, 2, d, id.range))
            case .module(let parts, let desc): out.append(sym(parts.map(\.name).joined(separator: "."), desc, 2, d, d.range))
            case .input(.single(let id, let t)): out.append(sym(id.name, "input: \(LanguageServer.typeName(t))", 8, d, id.range))
            case .input(.record(let fs)):
                let children = fs.map { f in DocumentSymbol(name: f.name.name, detail: LanguageServer.typeName(f.type), kind: 8,
                                                            range: doc.range(f.name.range.union(f.type.range)), selectionRange: doc.range(f.name.range)) }
                out.append(sym("input", nil, 23, d, SourceRange(d.range.start, d.range.start + 5), children))
            case .labels(let ls, _):
                let children = ls.map { DocumentSymbol(name: $0.name, detail: "label", kind: 22, range: doc.range($0.range), selectionRange: doc.range($0.range)) }
                out.append(sym("labels", nil, 10, d, SourceRange(d.range.start, d.range.start + 6), children))
            case .use(let parts): out.append(sym("use " + parts.map(\.name).joined(separator: "."), nil, 2, d, d.range))
            case .const(let id, _): out.append(sym(id.name, "const", 14, d, id.range))
            case .let(let id, _): out.append(sym(id.name, "let", 13, d, id.range))
            case .fn(let id, _, _, _): out.append(sym(id.name, "fn", 12, d, id.range))
            case .rule(let id, _, let l, _): out.append(sym("rule " + id.name, "=> " + l.name, 6, d, id.range))
            case .score(let id, let terms): out.append(sym("score " + id.name, "\(terms.count) term\(terms.count == 1 ? "" : "s")", 6, d, id.range))
            case .otherwise(let l, _): out.append(sym("otherwise", "=> " + l.name, 6, d, SourceRange(d.range.start, d.range.start + 9)))
            case .test(let input, let l):
                var shown: String
                switch input {
                case .value(let e): shown = Formatter.exprInline(e)
                case .record(let fs): shown = "{ " + fs.map { "\($0.name.name): \(Formatter.exprInline($0.value))" }.joined(separator: ", ") + " }"
                }
                if shown.count > 60 { shown = String(shown.prefix(60)) + "…" }
                out.append(sym("test " + shown, "=> " + l.name, 24, d, SourceRange(d.range.start, d.range.start + 4)))
            }
        }
        return out
    }

    func foldingRanges(_ uri: String) throws -> [FoldingRange] {
        let a = try analysis(uri)
        let doc = a.document
        var out: [FoldingRange] = []
        for d in a.unit.decls {
            let s = doc.position(of: d.range.start).line, e = doc.position(of: d.range.end).line
            if e > s { out.append(FoldingRange(startLine: s, endLine: e)) }
        }
        // Runs of two or more whole-line comments.
        var runStart: Int? = nil, runEnd = -1
        for c in a.unit.comments where !c.trailing {
            let line = doc.position(of: c.range.start).line
            if let s = runStart, line == runEnd + 1 { runEnd = line; _ = s; continue }
            if let s = runStart, runEnd > s { out.append(FoldingRange(startLine: s, endLine: runEnd, kind: "comment")) }
            runStart = line; runEnd = line
        }
        if let s = runStart, runEnd > s { out.append(FoldingRange(startLine: s, endLine: runEnd, kind: "comment")) }
        return out.sorted { $0.startLine < $1.startLine }
    }
}
