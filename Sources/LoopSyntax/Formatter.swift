import LoopDiagnostics

/// Prints a syntax tree in the one canonical layout. Idempotent, keeps every comment, and never
/// changes meaning: `parse(format(p))` equals `p` (tests check it, including on fuzzed programs).
public struct Formatter {
    public static let width = 100
    public static let indent = "  "

    let unit: SourceUnit
    var comments: [Comment]
    var ci = 0
    var out = ""

    public init(_ unit: SourceUnit) {
        self.unit = unit
        self.comments = unit.comments.sorted { $0.range.start < $1.range.start }
    }

    public static func format(_ unit: SourceUnit) -> String {
        var f = Formatter(unit)
        return f.run()
    }

    mutating func run() -> String {
        var prev: Decl? = nil
        for d in unit.decls {
            if let p = prev {
                if blankLineBetween(p, d) { out += "\n" }
            }
            flushComments(before: d.range.start, indent: "")
            printDecl(d)
            flushTrailing(after: d.range.end)
            out += "\n"
            prev = d
        }
        if ci < comments.count {
            if !out.isEmpty { out += "\n" }
            flushComments(before: Int.max, indent: "")
        }
        return out
    }

    func group(_ d: Decl) -> Int {
        switch d.kind {
        case .program, .module: return 0
        case .input, .labels: return 1
        case .use: return 2
        case .const, .let: return 3
        case .fn: return 4
        case .rule: return 5
        case .score: return 6
        case .otherwise: return 7
        case .test: return 8
        }
    }

    func blankLineBetween(_ a: Decl, _ b: Decl) -> Bool {
        if group(a) != group(b) { return true }
        if case .score = b.kind { return true }
        // Keep one blank line where the author left one or more.
        let bytes = unit.file.bytes
        var newlines = 0
        var i = a.range.end
        let firstComment = comments[ci...].first { $0.range.start >= a.range.end && $0.range.start < b.range.start }?.range.start ?? b.range.start
        while i < min(firstComment, bytes.count) {
            if bytes[i] == UInt8(ascii: "\n") { newlines += 1 }
            i += 1
        }
        return newlines >= 2
    }

    mutating func flushComments(before offset: Int, indent: String) {
        while ci < comments.count, comments[ci].range.start < offset {
            out += indent + comments[ci].text + "\n"
            ci += 1
        }
    }

    mutating func flushTrailing(after end: Int) {
        guard ci < comments.count, comments[ci].trailing else { return }
        let (l1, _) = unit.file.location(of: max(0, end - 1))
        let (l2, _) = unit.file.location(of: comments[ci].range.start)
        if l1 == l2 { out += " " + comments[ci].text; ci += 1 }
    }

    // MARK: declarations

    mutating func printDecl(_ d: Decl) {
        switch d.kind {
        case .program(let n, let desc):
            out += "program \(n.name)"
            if let desc { out += "\n" + Formatter.indent + Formatter.quote(desc) }
        case .module(let path, let desc):
            out += "module " + path.map(\.name).joined(separator: ".")
            if let desc { out += "\n" + Formatter.indent + Formatter.quote(desc) }
        case .input(.single(let n, let t)):
            out += "input \(n.name): \(Formatter.typeName(t))"
        case .input(.record(let fields)):
            let inner = fields.map { "\($0.name.name): \(Formatter.typeName($0.type))" }
            let one = "input { " + inner.joined(separator: ", ") + " }"
            if one.count <= Formatter.width { out += one } else {
                out += "input {\n" + inner.map { Formatter.indent + $0 + ",\n" }.joined() + "}"
            }
        case .labels(let ls, let names):
            out += Formatter.labelsDeclaration(zip(ls, names).map { Formatter.labelItem($0.name, $1?.text) })
        case .use(let path):
            out += "use " + path.map(\.name).joined(separator: ".")
        case .const(let n, let e):
            out += "const \(n.name) = " + expr(e, column: 9 + n.name.count)
        case .let(let n, let e):
            out += "let \(n.name) = " + expr(e, column: 7 + n.name.count)
        case .fn(let n, let ps, let r, let body):
            let head = "fn \(n.name)(" + ps.map { "\($0.name.name): \(Formatter.typeName($0.type))" }.joined(separator: ", ") + ") -> \(Formatter.typeName(r)) ="
            out += head + " " + expr(body, column: head.count + 1)
        case .rule(let n, let c, let label, let conf):
            let tail = " => \(label.name)" + (conf.map { " confidence " + Formatter.exprInline($0) } ?? "")
            let head = "rule \(n.name) when "
            out += head + expr(c, column: head.count, reserve: tail.count) + tail
        case .score(let label, let terms):
            out += "score \(label.name) {\n"
            for t in terms {
                flushComments(before: t.range.start, indent: Formatter.indent)
                var line = Formatter.indent + expr(t.value, column: 2)
                if let c = t.condition { line += " when " + expr(c, column: line.count + 6) }
                out += line
                flushTrailing(after: t.range.end)
                out += "\n"
            }
            flushComments(before: d.range.end - 1, indent: Formatter.indent)
            out += "}"
        case .otherwise(let label, let conf):
            out += "otherwise => \(label.name)" + (conf.map { " confidence " + Formatter.exprInline($0) } ?? "")
        case .test(let input, let label):
            switch input {
            case .value(let e): out += "test " + Formatter.exprInline(e)
            case .record(let fs): out += "test { " + fs.map { "\($0.name.name): " + Formatter.exprInline($0.value) }.joined(separator: ", ") + " }"
            }
            out += " => \(label.name)"
        }
    }

    static func typeName(_ t: TypeRef) -> String { t.name == "list" ? "[text]" : t.name }

    // MARK: expressions

    /// An expression starting at `column`; long lists, tables and and/or chains break over lines.
    mutating func expr(_ e: Expr, column: Int, reserve: Int = 0) -> String {
        // Comments inside a list or table literal stay with their entries: one entry per line.
        if ci < comments.count, comments[ci].range.start > e.range.start, comments[ci].range.end < e.range.end {
            switch e.kind {
            case .list(let items): return commentedEntries(items.map { ($0.range, Formatter.exprInline($0)) }, open: "[", close: "]", end: e.range.end)
            case .table(let entries):
                return commentedEntries(entries.map { ($0.key.range.union($0.value.range), Formatter.exprInline($0.key) + ": " + Formatter.exprInline($0.value)) },
                                        open: "{", close: "}", end: e.range.end)
            default: break
            }
        }
        let flat = Formatter.exprInline(e)
        if column + flat.count + reserve <= Formatter.width { return flat }
        switch e.kind {
        case .list(let items):
            return Formatter.wrapItems(items.map { Formatter.exprInline($0) }, open: "[", close: "]")
        case .table(let entries):
            // Packed up to the line width, like lists: a table of 600 words stays readable in ~100 lines.
            return Formatter.wrapItems(entries.map { Formatter.exprInline($0.key) + ": " + Formatter.exprInline($0.value) }, open: "{", close: "}")
        case .binary(let op, _, _) where op == .and || op == .or:
            var parts: [Expr] = []
            Formatter.flatten(e, op, &parts)
            return parts.enumerated().map { i, p in (i == 0 ? "" : "\n" + Formatter.indent + Formatter.indent + op.rawValue + " ") + Formatter.exprInline(p) }.joined()
        default:
            return flat
        }
    }

    /// A literal with comments among its entries: each entry on its own line, each comment kept
    /// where it was (before an entry, or trailing it on the same line).
    mutating func commentedEntries(_ entries: [(SourceRange, String)], open: String, close: String, end: Int) -> String {
        var s = open + "\n"
        for (range, text) in entries {
            while ci < comments.count, comments[ci].range.start < range.start {
                s += Formatter.indent + comments[ci].text + "\n"; ci += 1
            }
            s += Formatter.indent + text + ","
            if ci < comments.count, comments[ci].trailing, comments[ci].range.start < end {
                let (l1, _) = unit.file.location(of: max(0, range.end - 1))
                let (l2, _) = unit.file.location(of: comments[ci].range.start)
                if l1 == l2 { s += " " + comments[ci].text; ci += 1 }
            }
            s += "\n"
        }
        while ci < comments.count, comments[ci].range.start < end {
            s += Formatter.indent + comments[ci].text + "\n"; ci += 1
        }
        return s + close
    }

    static func flatten(_ e: Expr, _ op: BinaryOp, _ parts: inout [Expr]) {
        if case .binary(let o, let l, let r) = e.kind, o == op {
            flatten(l, op, &parts)
            parts.append(r)
        } else {
            parts.append(e)
        }
    }

    /// Items packed up to the line width, one indent deep, each followed by a comma (the layout of
    /// long lists and tables, which the inducer writes too).
    public static func wrapItems(_ items: [String], open: String, close: String) -> String {
        var s = open + "\n"
        var line = indent
        for it in items {
            let piece = it + ","
            if line.count > indent.count && line.count + 1 + piece.count > width {
                s += line + "\n"
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + piece
        }
        if line.count > indent.count { s += line + "\n" }
        return s + close
    }

    /// One label of a `labels` declaration: `id`, or `id as "the application's string"`.
    public static func labelItem(_ identifier: String, _ name: String?) -> String {
        identifier + (name.map { " as " + quote($0) } ?? "")
    }

    /// `labels a, b as "b?"` on one line when it fits, else one label per line (no trailing
    /// comma). Items are `id` or `id as "string"`.
    public static func labelsDeclaration(_ items: [String]) -> String {
        let flat = "labels " + items.joined(separator: ", ")
        if flat.count <= width { return flat }
        return "labels\n" + items.enumerated().map { indent + $0.element + ($0.offset < items.count - 1 ? ",\n" : "") }.joined()
    }

    public static func exprInline(_ e: Expr) -> String {
        switch e.kind {
        case .number(let v): return formatNumber(v)
        case .string(let s): return quote(s)
        case .bool(let b): return b ? "true" : "false"
        case .regex(let p, let f): return "/\(p)/\(f)"
        case .list(let items): return "[" + items.map(exprInline).joined(separator: ", ") + "]"
        case .table(let entries): return "{" + entries.map { exprInline($0.key) + ": " + exprInline($0.value) }.joined(separator: ", ") + "}"
        case .name(let id): return id.name
        case .call(let f, let args): return f.name + "(" + args.map(exprInline).joined(separator: ", ") + ")"
        case .unary(.neg, let x): return "-" + exprInline(x)
        case .unary(.not, let x): return "not " + exprInline(x)
        case .binary(let op, let l, let r): return exprInline(l) + " " + op.rawValue + " " + exprInline(r)
        case .ifElse(let c, let a, let b): return "if " + exprInline(c) + " then " + exprInline(a) + " else " + exprInline(b)
        case .paren(let x): return "(" + exprInline(x) + ")"
        }
    }

    /// Shortest text that reads back as the same Double.
    public static func formatNumber(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) + (v == 0 && v.sign == .minus ? "" : "") }
        var s = "\(v)"
        if s.hasPrefix(".") { s = "0" + s }
        return s
    }

    /// A text literal with the escapes the lexer reads back.
    public static func quote(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\t": o += "\\t"
            case "\r": o += "\\r"
            default:
                if u.value < 0x20 || u.value == 0x7F { o += "\\u{\(String(u.value, radix: 16))}" } else { o.unicodeScalars.append(u) }
            }
        }
        return o + "\""
    }
}
