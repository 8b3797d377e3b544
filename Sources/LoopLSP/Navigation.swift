import Foundation
import LSPProtocol
import LoopDiagnostics
import LoopSema
import LoopSyntax

/// Go to definition, find references and rename.
extension LanguageServer {
    func occurrence(_ uri: String, _ position: Position) throws -> (Analysis, SymbolIndex.Occurrence)? {
        let a = try analysis(uri)
        guard let occ = a.symbols.occurrence(at: a.document.offset(of: position)) else { return nil }
        return (a, occ)
    }

    func definition(_ uri: String, _ position: Position) throws -> Location? {
        guard let (a, occ) = try occurrence(uri, position) else { return nil }
        switch occ.key {
        case .builtin: return nil
        case .stdlibFn(let m, let n):
            guard let f = stdlib.function(module: m, name: n), let path = stdlib.path(ofModule: m) else { return nil }
            return Location(uri: URIs.uri(path: path), range: Document.range(f.nameRange, in: f.file))
        case .module(let m):
            guard let path = stdlib.path(ofModule: m) else { return nil }
            return Location(uri: URIs.uri(path: path), range: Range(start: Position(line: 0, character: 0), end: Position(line: 0, character: 0)))
        default:
            guard let r = a.symbols.definitions[occ.key] else { return nil }
            return Location(uri: uri, range: a.document.range(r))
        }
    }

    func references(_ uri: String, _ position: Position, includeDeclaration: Bool) throws -> [Location] {
        guard let (a, occ) = try occurrence(uri, position) else { return [] }
        var out = a.symbols.occurrences(of: occ.key).filter { includeDeclaration || !$0.isDefinition }
            .map { Location(uri: uri, range: a.document.range($0.range)) }
        if includeDeclaration, case .stdlibFn = occ.key, let d = try definition(uri, position) { out.insert(d, at: 0) }
        return out
    }

    func prepareRename(_ uri: String, _ position: Position) throws -> Range? {
        guard let (a, occ) = try occurrence(uri, position) else { return nil }
        guard occ.key.isLocal else {
            throw ResponseError(.requestFailed, "`\(occ.key.name)` is \(LanguageServer.kindName(occ.key)); only names defined in this program can be renamed")
        }
        return a.document.range(occ.range)
    }

    func rename(_ uri: String, _ position: Position, to newName: String) throws -> WorkspaceEdit? {
        guard let (a, occ) = try occurrence(uri, position) else {
            throw ResponseError(.requestFailed, "there is no name to rename here")
        }
        guard occ.key.isLocal else {
            throw ResponseError(.requestFailed, "`\(occ.key.name)` is \(LanguageServer.kindName(occ.key)); only names defined in this program can be renamed")
        }
        guard LanguageServer.isIdentifier(newName) else {
            throw ResponseError(.requestFailed, "`\(newName)` is not a Loop name: a letter or `_`, then letters, digits and `_`")
        }
        if Keyword(rawValue: newName) != nil { throw ResponseError(.requestFailed, "`\(newName)` is a keyword") }
        if newName == occ.key.name { return WorkspaceEdit(changes: [uri: []]) }
        if case .label = occ.key {
            if a.symbols.definitions[.label(newName)] != nil { throw ResponseError(.requestFailed, "the program already has a label `\(newName)`") }
        } else if case .rule = occ.key {
            if a.symbols.definitions[.rule(newName)] != nil { throw ResponseError(.requestFailed, "the program already has a rule `\(newName)`") }
        } else {
            if Builtin(rawValue: newName) != nil { throw ResponseError(.requestFailed, "`\(newName)` is a built-in function") }
            let clash = a.symbols.definitions.keys.first { k in
                switch k {
                case .const(let n), .let(let n), .fn(let n), .field(let n): return n == newName
                case .param(let f, let n):
                    if case .param(let f2, _) = occ.key { return f == f2 && n == newName }
                    return false
                default: return false
                }
            }
            if let clash { throw ResponseError(.requestFailed, "`\(newName)` is already \(LanguageServer.kindName(clash)) of this program") }
        }
        let edits = a.symbols.occurrences(of: occ.key).map { TextEdit(range: a.document.range($0.range), newText: newName) }
        return WorkspaceEdit(changes: [uri: edits])
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let f = s.unicodeScalars.first, f.isASCII, f == "_" || f.properties.isAlphabetic else { return false }
        return s.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    static func kindName(_ k: SymbolKey) -> String {
        switch k {
        case .const: return "a constant"
        case .let: return "a let"
        case .fn: return "a function"
        case .field: return "an input field"
        case .label: return "a label"
        case .rule: return "a rule"
        case .param: return "a parameter"
        case .module: return "a Stdlib module"
        case .stdlibFn(let m, _): return "a Stdlib function of \(m)"
        case .builtin: return "a built-in function"
        }
    }
}
