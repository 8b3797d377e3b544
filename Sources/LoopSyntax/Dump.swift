import LoopDiagnostics

/// Text dumps of the syntax stages (`loopai dump tokens|ast`), for people and golden tests.
public enum SyntaxDump {
    public static func tokens(_ file: SourceFile) -> String {
        let (toks, comments, _) = Lexer.tokenize(file)
        var out = ""
        for t in toks {
            let (l, c) = file.location(of: t.range.start)
            let kind: String
            switch t.kind {
            case .identifier(let s): kind = "ident \(s)"
            case .keyword(let k): kind = "keyword \(k.rawValue)"
            case .number(let v): kind = "number \(Formatter.formatNumber(v))"
            case .string(let s): kind = "string \(Formatter.quote(s))"
            case .regex(let p, let f): kind = "regex /\(p)/\(f)"
            case .punct(let p): kind = "punct \(p.rawValue)"
            case .eof: kind = "eof"
            }
            out += "\(l):\(c)\t\(kind)\(t.newlineBefore ? "\t(line start)" : "")\n"
        }
        for c in comments {
            let (l, col) = file.location(of: c.range.start)
            out += "\(l):\(col)\tcomment \(c.text)\n"
        }
        return out
    }

    /// An indented tree, one node per line; ranges are shown with `withRanges`.
    public static func ast(_ unit: SourceUnit, withRanges: Bool = false) -> String {
        var out = ""
        func r(_ x: SourceRange) -> String { withRanges ? " @\(x.start)..\(x.end)" : "" }
        func line(_ d: Int, _ s: String) { out += String(repeating: "  ", count: d) + s + "\n" }
        func expr(_ e: Expr, _ d: Int) {
            switch e.kind {
            case .number(let v): line(d, "Number \(Formatter.formatNumber(v))" + r(e.range))
            case .string(let s): line(d, "Text \(Formatter.quote(s))" + r(e.range))
            case .bool(let b): line(d, "Bool \(b)" + r(e.range))
            case .regex(let p, let f): line(d, "Regex /\(p)/\(f)" + r(e.range))
            case .list(let xs): line(d, "List" + r(e.range)); xs.forEach { expr($0, d + 1) }
            case .table(let kv): line(d, "Table" + r(e.range)); kv.forEach { expr($0.key, d + 1); expr($0.value, d + 2) }
            case .name(let id): line(d, "Name \(id.name)" + r(e.range))
            case .call(let f, let args): line(d, "Call \(f.name)" + r(e.range)); args.forEach { expr($0, d + 1) }
            case .unary(let op, let x): line(d, "Unary \(op.rawValue)" + r(e.range)); expr(x, d + 1)
            case .binary(let op, let a, let b): line(d, "Binary \(op.rawValue)" + r(e.range)); expr(a, d + 1); expr(b, d + 1)
            case .ifElse(let c, let a, let b): line(d, "If" + r(e.range)); expr(c, d + 1); expr(a, d + 1); expr(b, d + 1)
            case .paren(let x): line(d, "Paren" + r(e.range)); expr(x, d + 1)
            }
        }
        for decl in unit.decls {
            switch decl.kind {
            case .program(let n, let desc): line(0, "Program \(n.name)" + (desc.map { " " + Formatter.quote($0) } ?? "") + r(decl.range))
            case .module(let p, let desc): line(0, "Module \(p.map(\.name).joined(separator: "."))" + (desc.map { " " + Formatter.quote($0) } ?? "") + r(decl.range))
            case .input(.single(let n, let t)): line(0, "Input \(n.name): \(Formatter.typeName(t))" + r(decl.range))
            case .input(.record(let fs)): line(0, "Input {" + fs.map { "\($0.name.name): \(Formatter.typeName($0.type))" }.joined(separator: ", ") + "}" + r(decl.range))
            case .labels(let ls, let names):
                line(0, "Labels " + zip(ls, names).map { Formatter.labelItem($0.name, $1?.text) }.joined(separator: ", ") + r(decl.range))
            case .use(let p): line(0, "Use " + p.map(\.name).joined(separator: ".") + r(decl.range))
            case .const(let n, let e): line(0, "Const \(n.name)" + r(decl.range)); expr(e, 1)
            case .let(let n, let e): line(0, "Let \(n.name)" + r(decl.range)); expr(e, 1)
            case .fn(let n, let ps, let t, let b):
                line(0, "Fn \(n.name)(" + ps.map { "\($0.name.name): \(Formatter.typeName($0.type))" }.joined(separator: ", ") + ") -> \(Formatter.typeName(t))" + r(decl.range))
                expr(b, 1)
            case .rule(let n, let c, let l, let conf):
                line(0, "Rule \(n.name) => \(l.name)" + r(decl.range))
                expr(c, 1)
                if let conf { line(1, "Confidence"); expr(conf, 2) }
            case .score(let l, let terms):
                line(0, "Score \(l.name)" + r(decl.range))
                for t in terms {
                    line(1, "Term" + r(t.range)); expr(t.value, 2)
                    if let c = t.condition { line(2, "When"); expr(c, 3) }
                }
            case .otherwise(let l, let conf):
                line(0, "Otherwise => \(l.name)" + r(decl.range))
                if let conf { line(1, "Confidence"); expr(conf, 2) }
            case .test(let input, let l):
                line(0, "Test => \(l.name)" + r(decl.range))
                switch input {
                case .value(let e): expr(e, 1)
                case .record(let fs): for f in fs { line(1, "Field \(f.name.name)"); expr(f.value, 2) }
                }
            }
        }
        return out
    }
}
