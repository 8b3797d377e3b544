import LoopSyntax

/// `loopai dump typed`: the resolved program with every node's type, as the engines see it.
public enum TypedDump {
    public static func dump(_ p: TypedProgram) -> String {
        var out = "program \(p.name) (hash \(p.sourceHash))\n"
        out += "input " + (p.singleInput ? "" : "record ") + p.fields.map { "\($0.name): \($0.type)" }.joined(separator: ", ") + "\n"
        out += "labels " + p.labels.enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: ", ") + "\n"
        if !p.modules.isEmpty { out += "modules " + p.modules.joined(separator: ", ") + "\n" }
        for (i, l) in p.lists.enumerated() {
            out += "list#\(i) [" + l.map { Formatter.quote(String(decoding: $0, as: UTF8.self)) }.joined(separator: ", ") + "]\n"
        }
        for (i, t) in p.tables.enumerated() {
            out += "table#\(i) {" + t.map { Formatter.quote(String(decoding: $0.key, as: UTF8.self)) + ": " + Formatter.formatNumber($0.weight) }.joined(separator: ", ") + "}\n"
        }
        for (i, r) in p.regexes.enumerated() { out += "regex#\(i) /\(r.pattern)/\(r.caseInsensitive ? "i" : "")\n" }
        for (i, l) in p.lets.enumerated() { out += "let#\(i) \(l.name): \(l.value.type) = \(expr(l.value, p))\n" }
        for (i, f) in p.functions.enumerated() {
            out += "fn#\(i) \(f.name)(" + f.params.map { "\($0.name): \($0.type)" }.joined(separator: ", ") + ") -> \(f.result) = \(expr(f.body, p))" + (f.module.map { "  [\($0)]" } ?? "") + "\n"
        }
        for (i, r) in p.rules.enumerated() {
            out += "rule#\(i) \(r.name) when \(expr(r.condition, p)) => \(p.labels[r.label]) confidence \(Formatter.formatNumber(r.confidence))\n"
        }
        for (l, terms) in p.scores.enumerated() where p.hasScore[l] {
            out += "score \(p.labels[l])\n"
            for t in terms { out += "  \(expr(t.value, p))" + (t.condition.map { " when \(expr($0, p))" } ?? "") + "\n" }
        }
        out += "otherwise => \(p.labels[p.otherwise.label])" + (p.otherwise.confidence.map { " confidence \(Formatter.formatNumber($0))" } ?? " confidence 1/\(p.labels.count)") + "\n"
        out += "tests \(p.tests.count)\n"
        return out
    }

    /// An expression as `(op args):type`, names replaced by what they resolve to.
    public static func expr(_ e: TExpr, _ p: TypedProgram) -> String {
        let body: String
        switch e.kind {
        case .literal(let v):
            switch v {
            case .number(let x): body = Formatter.formatNumber(x)
            case .bool(let b): body = b ? "true" : "false"
            case .text(let t): body = Formatter.quote(String(decoding: t, as: UTF8.self))
            case .list(let i): body = "list#\(i)"
            case .table(let i): body = "table#\(i)"
            case .regex(let i): body = "regex#\(i)"
            }
        case .field(let i): body = "field:\(p.fields[i].name)"
        case .letRef(let i): body = "let:\(p.lets[i].name)"
        case .param(let i): body = "param#\(i)"
        case .builtin(let b, let args): body = "(\(b.rawValue) " + args.map { expr($0, p) }.joined(separator: " ") + ")"
        case .call(let f, let args): body = "(call \(p.functions[f].name) " + args.map { expr($0, p) }.joined(separator: " ") + ")"
        case .not(let x): body = "(not \(expr(x, p)))"
        case .neg(let x): body = "(neg \(expr(x, p)))"
        case .and(let a, let b): body = "(and \(expr(a, p)) \(expr(b, p)))"
        case .or(let a, let b): body = "(or \(expr(a, p)) \(expr(b, p)))"
        case .compare(let op, let a, let b), .arith(let op, let a, let b): body = "(\(op.rawValue) \(expr(a, p)) \(expr(b, p)))"
        case .ifElse(let c, let a, let b): body = "(if \(expr(c, p)) \(expr(a, p)) \(expr(b, p)))"
        }
        return body + ":" + e.type.description
    }
}
