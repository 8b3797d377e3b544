import LoopDiagnostics
import LoopSema
import LoopSyntax

/// What a name in a program refers to. Parameters are scoped to their function.
enum SymbolKey: Hashable {
    case const(String), `let`(String), fn(String), field(String), label(String), rule(String)
    case param(fn: String, name: String)
    case module(String)
    case stdlibFn(module: String, name: String)
    case builtin(String)

    var name: String {
        switch self {
        case .const(let n), .let(let n), .fn(let n), .field(let n), .label(let n), .rule(let n), .module(let n), .builtin(let n): return n
        case .param(_, let n), .stdlibFn(_, let n): return n
        }
    }

    /// Defined in the document itself, so renaming it edits only this document.
    var isLocal: Bool {
        switch self {
        case .module, .stdlibFn, .builtin: return false
        default: return true
        }
    }
}

/// Every name of a parsed program with what it refers to: the definitions, and each use.
/// Built from the syntax tree alone, so it works on programs that do not type-check.
struct SymbolIndex {
    struct Occurrence {
        let range: SourceRange
        let key: SymbolKey
        let isDefinition: Bool
    }
    private(set) var occurrences: [Occurrence] = []
    private(set) var definitions: [SymbolKey: SourceRange] = [:]
    /// The declaration holding each definition (for hover: a constant's whole `const` line).
    private(set) var declarations: [SymbolKey: Decl] = [:]
    private(set) var usedModules: [String] = []

    init(unit: SourceUnit, stdlib: StdlibIndex) {
        var globals: [String: SymbolKey] = [:]
        // First pass: the global names, so uses before definitions resolve.
        for d in unit.decls {
            switch d.kind {
            case .const(let id, _): globals[id.name] = .const(id.name)
            case .let(let id, _): globals[id.name] = .let(id.name)
            case .fn(let id, _, _, _): globals[id.name] = .fn(id.name)
            case .input(.single(let id, _)): globals[id.name] = .field(id.name)
            case .input(.record(let fs)): for f in fs { globals[f.name.name] = .field(f.name.name) }
            case .use(let parts): usedModules.append(parts.map(\.name).joined(separator: "."))
            default: break
            }
        }
        var labels = Set<String>()
        for d in unit.decls { if case .labels(let ls, _) = d.kind { for l in ls { labels.insert(l.name) } } }

        func define(_ key: SymbolKey, _ range: SourceRange, _ decl: Decl) {
            if definitions[key] == nil { definitions[key] = range; declarations[key] = decl }
            occurrences.append(Occurrence(range: range, key: key, isDefinition: true))
        }
        func use(_ key: SymbolKey, _ range: SourceRange) {
            occurrences.append(Occurrence(range: range, key: key, isDefinition: false))
        }
        func walk(_ e: Expr, fn: String?, params: Set<String>) {
            switch e.kind {
            case .number, .string, .bool, .regex: break
            case .list(let xs): for x in xs { walk(x, fn: fn, params: params) }
            case .table(let kv): for (k, v) in kv { walk(k, fn: fn, params: params); walk(v, fn: fn, params: params) }
            case .name(let id):
                if let fn, params.contains(id.name) { use(.param(fn: fn, name: id.name), id.range) }
                else if let g = globals[id.name] { use(g, id.range) }
            case .call(let id, let args):
                if Builtin(rawValue: id.name) != nil { use(.builtin(id.name), id.range) }
                else if case .fn? = globals[id.name] { use(.fn(id.name), id.range) }
                else if let m = usedModules.first(where: { stdlib.function(module: $0, name: id.name) != nil }) {
                    use(.stdlibFn(module: m, name: id.name), id.range)
                }
                for a in args { walk(a, fn: fn, params: params) }
            case .unary(_, let x), .paren(let x): walk(x, fn: fn, params: params)
            case .binary(_, let a, let b): walk(a, fn: fn, params: params); walk(b, fn: fn, params: params)
            case .ifElse(let a, let b, let c): walk(a, fn: fn, params: params); walk(b, fn: fn, params: params); walk(c, fn: fn, params: params)
            }
        }
        func label(_ id: Ident) { if labels.contains(id.name) { use(.label(id.name), id.range) } }

        for d in unit.decls {
            switch d.kind {
            case .program, .module: break
            case .input(.single(let id, _)): define(.field(id.name), id.range, d)
            case .input(.record(let fs)): for f in fs { define(.field(f.name.name), f.name.range, d) }
            case .labels(let ls, _): for l in ls { define(.label(l.name), l.range, d) }
            case .use(let parts):
                guard let first = parts.first, let last = parts.last else { break }
                use(.module(parts.map(\.name).joined(separator: ".")), first.range.union(last.range))
            case .const(let id, let e): define(.const(id.name), id.range, d); walk(e, fn: nil, params: [])
            case .let(let id, let e): define(.let(id.name), id.range, d); walk(e, fn: nil, params: [])
            case .fn(let id, let ps, _, let body):
                define(.fn(id.name), id.range, d)
                for p in ps { define(.param(fn: id.name, name: p.name.name), p.name.range, d) }
                walk(body, fn: id.name, params: Set(ps.map(\.name.name)))
            case .rule(let id, let cond, let l, let conf):
                define(.rule(id.name), id.range, d)
                walk(cond, fn: nil, params: [])
                label(l)
                if let conf { walk(conf, fn: nil, params: []) }
            case .score(let id, let terms):
                label(id)
                for t in terms { walk(t.value, fn: nil, params: []); if let c = t.condition { walk(c, fn: nil, params: []) } }
            case .otherwise(let l, let conf):
                label(l)
                if let conf { walk(conf, fn: nil, params: []) }
            case .test(let input, let l):
                switch input {
                case .value(let e): walk(e, fn: nil, params: [])
                case .record(let fs):
                    for f in fs {
                        if case .field? = globals[f.name.name] { use(.field(f.name.name), f.name.range) }
                        walk(f.value, fn: nil, params: [])
                    }
                }
                label(l)
            }
        }
        occurrences.sort { $0.range.start < $1.range.start }
    }

    /// The occurrence under a byte offset (an offset just after a name counts, as editors place
    /// the cursor there after typing it).
    func occurrence(at offset: Int) -> Occurrence? {
        occurrences.first { $0.range.start <= offset && offset < $0.range.end }
            ?? occurrences.first { $0.range.end == offset }
    }

    func occurrences(of key: SymbolKey) -> [Occurrence] { occurrences.filter { $0.key == key } }
}
