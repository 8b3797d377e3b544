import LSPProtocol
import LoopDiagnostics
import LoopInterpreter
import LoopSema
import LoopSyntax

/// One document analysed: its tree, its tokens, the checker's findings and, when it checks, the
/// typed program. Rebuilt on every change; the queries (hover, definition, ...) read it.
final class Analysis {
    let document: Document
    let unit: SourceUnit
    let diagnostics: [Diagnostic]
    let program: TypedProgram?
    private let stdlib: StdlibIndex
    private var _tokens: [Token]?
    private var _symbols: SymbolIndex?

    init(document: Document, stdlib: StdlibIndex) {
        self.document = document
        let (unit, parseDiags) = Parser.parse(document.file)
        self.unit = unit
        (program, diagnostics) = Checker.checkParsed(unit, parseDiagnostics: parseDiags, stdlib: stdlib.stdlib)
        self.stdlib = stdlib
    }

    /// The names and their uses, built on first use (diagnostics do not need them).
    var symbols: SymbolIndex {
        if let s = _symbols { return s }
        let s = SymbolIndex(unit: unit, stdlib: stdlib)
        _symbols = s
        return s
    }

    var file: SourceFile { document.file }

    /// Tokens, lexed on first use (completion and hover need them, diagnostics do not).
    var tokens: [Token] {
        if let t = _tokens { return t }
        let t = Lexer.tokenize(document.file).tokens
        _tokens = t
        return t
    }

    /// The index of the last token that starts before `offset`.
    func tokenIndex(before offset: Int) -> Int? {
        var lo = 0, hi = tokens.count - 1, found: Int? = nil
        while lo <= hi {
            let mid = (lo + hi) / 2
            if tokens[mid].range.start < offset { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found
    }

    /// The checker's diagnostics in the protocol's form. A finding inside another file (a Stdlib
    /// module) is shown on the document's `use` line, where the developer can act on it.
    func lspDiagnostics(uriOf: (SourceFile) -> String?) -> [LSPDiagnostic] {
        diagnostics.map { d in
            var range = d.range
            var message = d.message
            if let f = d.file, f !== file {
                range = useRange ?? SourceRange(0, 0)
                message = "in \(f.name): " + message
            }
            if let label = d.label, !label.isEmpty { message += " (\(label))" }
            for h in d.hints { message += "\nhint: " + h }
            let related: [DiagnosticRelatedInformation] = d.notes.compactMap { n in
                let nf = n.file ?? file
                guard let uri = nf === file ? document.uri : uriOf(nf) else { return nil }
                return DiagnosticRelatedInformation(location: Location(uri: uri, range: Document.range(n.range, in: nf)), message: n.message)
            }
            return LSPDiagnostic(range: document.range(range), severity: Analysis.severity(d.severity), code: d.code,
                                 message: message, relatedInformation: related.isEmpty ? nil : related)
        }
    }

    static func severity(_ s: Severity) -> Int {
        switch s { case .error: return 1; case .warning: return 2; case .note: return 3 }
    }

    private var useRange: SourceRange? {
        unit.decls.first { if case .use = $0.kind { return true }; return false }?.range
    }

    /// The declaration that decided a decision: a rule, the first score block of the winning label, or `otherwise`.
    func decidingRange(_ d: Decision, program p: TypedProgram) -> SourceRange? {
        switch d.decidedBy {
        case .rule(let i):
            let name = p.rules[i].name
            return symbols.definitions[.rule(name)]
        case .score:
            let label = p.labels[d.label]
            for decl in unit.decls { if case .score(let id, _) = decl.kind, id.name == label { return id.range } }
            for decl in unit.decls { if case .score(let id, _) = decl.kind { return id.range } }
            return nil
        case .otherwise:
            for decl in unit.decls { if case .otherwise = decl.kind { return SourceRange(decl.range.start, decl.range.start + 9) } }
            return nil
        }
    }
}
