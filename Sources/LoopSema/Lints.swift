import LoopDiagnostics
import LoopSyntax

extension Checker {
    func runLints(rules: [TypedProgram.Rule], hasScore: [Bool], fallback: TypedProgram.Fallback?) {
        let file = unit.file
        // W0001: unused definitions in the program (Stdlib modules export, so theirs are not reported).
        // Not while there are errors: a misspelled use would make the definition look unused.
        let hasErrors = diags.contains { $0.severity == .error }
        var declByName: [String: Decl] = [:]
        for d in unit.decls { if let n = declName(d), declByName[n] == nil { declByName[n] = d } }
        for (name, g) in globals.sorted(by: { $0.value.nameRange.start < $1.value.nameRange.start })
            where !hasErrors && g.module == nil && g.kind != .field && !used.contains(name) {
            let what = g.kind == .fn ? "function" : g.kind == .let ? "let" : "constant"
            var fixes: [FixIt] = []
            if let d = declByName[name] {
                fixes.append(FixIt(range: d.range, replacement: "", message: "remove the unused \(what)"))
            }
            warning("W0001", "\(what) `\(name)` is never used", file, g.nameRange, label: "unused", fixes: fixes)
        }
        // W0004: a rule that can never fire because an earlier rule fires on every input it would:
        // an earlier rule's conditions (its `and`-conjuncts) are a subset of this rule's.
        var ruleDecls: [(Ident, Expr, SourceRange)] = []
        for d in unit.decls { if case .rule(let n, let c, _, _) = d.kind { ruleDecls.append((n, c, d.range)) } }
        var earlier: [[String]: Int] = [:]     // sorted conjuncts of a rule → its index
        var seen: Set<String> = []             // every conjunct of an earlier rule
        var alwaysTrue: Int? = nil
        for j in ruleDecls.indices {
            let cj = Array(conjuncts(ruleDecls[j].1)).sorted()
            var shadow: Int? = alwaysTrue
            // Only conjuncts some earlier rule has can be part of an earlier rule's set.
            let known = cj.filter { seen.contains($0) }
            if shadow == nil && !known.isEmpty && known.count <= 10 {
                // Every non-empty subset of this rule's conjuncts that an earlier rule has exactly.
                for mask in 1..<(1 << known.count) {
                    let subset = known.indices.filter { mask & (1 << $0) != 0 }.map { known[$0] }
                    if let i = earlier[subset], shadow == nil || i < shadow! { shadow = i }
                }
            }
            seen.formUnion(cj)
            if let i = shadow {
                let always = i == alwaysTrue
                warning("W0004", "rule `\(ruleDecls[j].0.name)` can never fire", file, ruleDecls[j].0.range, label: "unreachable",
                        notes: [DiagnosticNote(file: file, range: ruleDecls[i].0.range,
                                               message: always ? "rule `\(ruleDecls[i].0.name)` fires on every input" : "rule `\(ruleDecls[i].0.name)` fires first on every input this rule matches")],
                        hints: ["rules are tried in order and the first match wins; move the more specific rule first"])
            }
            if earlier[cj] == nil { earlier[cj] = j }
            if cj == ["true"] && alwaysTrue == nil { alwaysTrue = j }
        }
        // W0005: labels nothing can produce.
        guard fallback != nil || partial == false else { return }
        var producible = Set(rules.map(\.label))
        for (i, h) in hasScore.enumerated() where h { producible.insert(i) }
        if let f = fallback { producible.insert(f.label) }
        if !labels.isEmpty, !diags.contains(where: { $0.severity == .error }) {
            for (i, l) in labels.enumerated() where !producible.contains(i) {
                warning("W0005", "no rule, score block or fallback can produce label `\(l)`", file, labelRanges[i], label: "unreachable label",
                        hints: ["add a rule `=> \(l)` or a `score \(l) { }` block, or remove the label"])
            }
        }
    }

    func declName(_ d: Decl) -> String? {
        switch d.kind {
        case .const(let n, _), .let(let n, _), .fn(let n, _, _, _): return n.name
        default: return nil
        }
    }

    /// The `and`-conjuncts of a condition, each in a canonical spelling without parentheses.
    func conjuncts(_ e: Expr) -> Set<String> {
        switch e.kind {
        case .paren(let x): return conjuncts(x)
        case .binary(.and, let l, let r): return conjuncts(l).union(conjuncts(r))
        default: return [canonical(e)]
        }
    }

    func canonical(_ e: Expr) -> String {
        var out = ""
        canonical(e, into: &out)
        return out
    }

    /// A canonical text of an expression (operators first, parentheses dropped), written into one string.
    func canonical(_ e: Expr, into out: inout String) {
        switch e.kind {
        case .paren(let x): canonical(x, into: &out)
        case .binary(let op, let l, let r):
            out += "("; out += op.rawValue; out += " "; canonical(l, into: &out); out += " "; canonical(r, into: &out); out += ")"
        case .unary(let op, let x): out += "("; out += op.rawValue; out += " "; canonical(x, into: &out); out += ")"
        case .call(let f, let args):
            out += "("; out += f.name
            for a in args { out += " "; canonical(a, into: &out) }
            out += ")"
        case .ifElse(let c, let a, let b):
            out += "(if "; canonical(c, into: &out); out += " "; canonical(a, into: &out); out += " "; canonical(b, into: &out); out += ")"
        case .list(let xs):
            out += "["
            for (i, x) in xs.enumerated() { if i > 0 { out += " " }; canonical(x, into: &out) }
            out += "]"
        default: out += Formatter.exprInline(e)
        }
    }
}
