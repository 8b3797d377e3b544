import LoopDiagnostics
import LoopSyntax

extension Checker {
    /// Where an expression is checked: it decides which names are visible.
    struct Ctx {
        enum Mode {
            /// A `const`: only literals and other constants.
            case const
            /// Rules, scores and `let`s: fields, lets, constants and functions.
            case program
            /// A function body: its parameters, constants and functions.
            case function(Int, [String], [LoopType])
        }
        let file: SourceFile
        let mode: Mode
    }

    func mismatch(expected: LoopType, found: TExpr, why: String, _ file: SourceFile, hints extra: [String] = []) {
        var hints = extra
        if expected == .bool && found.type == .number { hints.append("compare the number to something, e.g. `... > 0`") }
        if expected == .number && found.type == .bool { hints.append("a condition goes after `when`: `WEIGHT when CONDITION`") }
        error("E0401", "expected \(expected), found \(found.type)", file, found.range, label: "this is \(found.type)",
              hints: ["\(why) must be \(expected)"] + hints)
    }

    func visibleNames(_ ctx: Ctx) -> [String] {
        var names: [String] = []
        for (n, g) in globals {
            switch (ctx.mode, g.kind) {
            case (.const, .const), (.program, _), (.function, .const), (.function, .fn): names.append(n)
            default: break
            }
        }
        if case .function(_, let ps, _) = ctx.mode { names += ps }
        return names
    }

    /// A removal range for a list element, including one neighbouring comma, so the fixed list parses.
    func removalRange(_ r: SourceRange, in file: SourceFile) -> SourceRange {
        let b = file.bytes
        var e = r.end
        while e < b.count, b[e] == UInt8(ascii: " ") { e += 1 }
        if e < b.count, b[e] == UInt8(ascii: ",") {
            e += 1
            while e < b.count, b[e] == UInt8(ascii: " ") { e += 1 }
            return SourceRange(r.start, e)
        }
        var s = r.start
        while s > 0, b[s - 1] == UInt8(ascii: " ") { s -= 1 }
        if s > 0, b[s - 1] == UInt8(ascii: ",") { return SourceRange(s - 1, r.end) }
        return r
    }

    func registerList(_ items: [[UInt8]]) -> Int {
        if let i = listIndex[items] { return i }
        lists.append(items)
        listIndex[items] = lists.count - 1
        return lists.count - 1
    }

    /// Checks an expression; nil means an error was reported (callers then stay silent).
    func expr(_ e: Expr, _ ctx: Ctx) -> TExpr? {
        let file = ctx.file
        switch e.kind {
        case .number(let v): return TExpr(.literal(.number(v)), .number, e.range)
        case .string(let s): return TExpr(.literal(.text(Array(s.utf8))), .text, e.range)
        case .bool(let b): return TExpr(.literal(.bool(b)), .bool, e.range)
        case .paren(let x):
            guard var t = expr(x, ctx) else { return nil }
            t.range = e.range
            return t
        case .regex(let p, let f):
            let (rx, ds) = RegexParser.parse(pattern: p, flags: f, file: file, literalRange: e.range)
            diags += ds
            guard let rx else { return nil }
            let idx: Int
            if let j = regexIndex[rx] { idx = j } else { regexes.append(rx); idx = regexes.count - 1; regexIndex[rx] = idx }
            return TExpr(.literal(.regex(idx)), .regex, e.range)
        case .list(let items):
            var out: [[UInt8]] = []
            var seen: [[UInt8]: SourceRange] = [:]
            var ok = true
            for it in items {
                guard let t = expr(it, ctx) else { ok = false; continue }
                guard case .literal(.text(let s)) = t.kind else {
                    error("E0404", "list elements must be text constants", file, it.range, label: "this is \(t.type)\(t.type == .text ? " computed from the input" : "")",
                          hints: ["keyword lists are compiled into automata before any input arrives, so every element must be known in advance"])
                    ok = false; continue
                }
                if s.isEmpty {
                    error("E0406", "empty keyword", file, it.range, label: "an empty keyword matches everywhere",
                          fixes: [FixIt(range: removalRange(it.range, in: file), replacement: "", message: "remove the empty keyword")])
                    ok = false; continue
                }
                if let r = seen[s] {
                    warning("W0002", "duplicate keyword \(Formatter.quote(String(decoding: s, as: UTF8.self)))", file, it.range, label: "already in this list",
                            notes: [DiagnosticNote(file: file, range: r, message: "first occurrence")],
                            fixes: [FixIt(range: removalRange(it.range, in: file), replacement: "", message: "remove the duplicate")])
                    continue
                }
                seen[s] = it.range
                out.append(s)
            }
            guard ok else { return nil }
            return TExpr(.literal(.list(registerList(out))), .list, e.range)
        case .table(let entries):
            var out: [(key: [UInt8], weight: Double)] = []
            var seen: [[UInt8]: SourceRange] = [:]
            var ok = true
            for en in entries {
                let k = expr(en.key, ctx), v = expr(en.value, ctx)
                guard let k, let v else { ok = false; continue }
                guard case .literal(.text(let ks)) = k.kind, !ks.isEmpty else {
                    error("E0405", "table keys must be non-empty text constants", file, en.key.range, label: "not a text constant")
                    ok = false; continue
                }
                guard case .literal(.number(let w)) = v.kind else {
                    error("E0405", "table weights must be number constants", file, en.value.range, label: "this is \(v.type)")
                    ok = false; continue
                }
                if let r = seen[ks] {
                    error("E0405", "key \(Formatter.quote(String(decoding: ks, as: UTF8.self))) appears twice in the table", file, en.key.range,
                          label: "duplicate key", notes: [DiagnosticNote(file: file, range: r, message: "first occurrence")])
                    ok = false; continue
                }
                seen[ks] = en.key.range
                out.append((ks, w))
            }
            guard ok else { return nil }
            tables.append(out)
            return TExpr(.literal(.table(tables.count - 1)), .table, e.range)
        case .name(let id):
            return resolveName(id, ctx)
        case .call(let f, let args):
            return checkCall(f, args, e.range, ctx)
        case .unary(.not, let x):
            guard let t = expr(x, ctx) else { return nil }
            guard t.type == .bool else { mismatch(expected: .bool, found: t, why: "the operand of `not`", file); return nil }
            if case .literal(.bool(let b)) = t.kind { return TExpr(.literal(.bool(!b)), .bool, e.range) }
            return TExpr(.not(t), .bool, e.range)
        case .unary(.neg, let x):
            guard let t = expr(x, ctx) else { return nil }
            guard t.type == .number else { mismatch(expected: .number, found: t, why: "the operand of `-`", file); return nil }
            if case .literal(.number(let v)) = t.kind { return TExpr(.literal(.number(-v)), .number, e.range) }
            return TExpr(.neg(t), .number, e.range)
        case .binary(let op, let l, let r):
            let lt = expr(l, ctx), rt = expr(r, ctx)
            guard let lt, let rt else { return nil }
            switch op {
            case .and, .or:
                var bad = false
                for t in [lt, rt] where t.type != .bool {
                    mismatch(expected: .bool, found: t, why: "each side of `\(op.rawValue)`", file); bad = true
                }
                if bad { return nil }
                return TExpr(op == .and ? .and(lt, rt) : .or(lt, rt), .bool, e.range)
            case .eq, .ne:
                guard lt.type == rt.type, [.text, .number, .bool].contains(lt.type) else {
                    error("E0401", "cannot compare \(lt.type) with \(rt.type)", file, e.range, label: "\(lt.type) \(op.rawValue) \(rt.type)",
                          hints: lt.type == rt.type ? ["`==` compares text, numbers and booleans; use `one_of` to test membership in a list"]
                                                    : ["both sides of `\(op.rawValue)` must have the same type"])
                    return nil
                }
                return fold(TExpr(.compare(op, lt, rt), .bool, e.range))
            case .lt, .le, .gt, .ge:
                var bad = false
                for t in [lt, rt] where t.type != .number {
                    mismatch(expected: .number, found: t, why: "each side of `\(op.rawValue)`", file,
                             hints: t.type == .text ? ["use `len(...)` to compare lengths"] : []); bad = true
                }
                if bad { return nil }
                return fold(TExpr(.compare(op, lt, rt), .bool, e.range))
            case .add, .sub, .mul, .div:
                var bad = false
                for t in [lt, rt] where t.type != .number {
                    mismatch(expected: .number, found: t, why: "each side of `\(op.rawValue)`", file,
                             hints: t.type == .text && op == .add ? ["text cannot be concatenated; test the parts separately"] : []); bad = true
                }
                if bad { return nil }
                return fold(TExpr(.arith(op, lt, rt), .number, e.range))
            }
        case .ifElse(let c, let a, let b):
            let ct = expr(c, ctx), at = expr(a, ctx), bt = expr(b, ctx)
            guard let ct, let at, let bt else { return nil }
            guard ct.type == .bool else { mismatch(expected: .bool, found: ct, why: "the condition of `if`", file); return nil }
            guard at.type == bt.type else {
                error("E0401", "the branches of `if` have different types: \(at.type) and \(bt.type)", file, bt.range,
                      label: "this is \(bt.type)", notes: [DiagnosticNote(file: file, range: at.range, message: "the `then` branch is \(at.type)")],
                      hints: ["both branches must have the same type"])
                return nil
            }
            if case .literal(.bool(let v)) = ct.kind { return v ? at : bt }
            return TExpr(.ifElse(ct, at, bt), at.type, e.range)
        }
    }

    /// Folds comparisons and arithmetic of two literals (so constants can be computed).
    func fold(_ t: TExpr) -> TExpr {
        switch t.kind {
        case .arith(let op, let l, let r):
            if case .literal(.number(let a)) = l.kind, case .literal(.number(let b)) = r.kind {
                return TExpr(.literal(.number(Arith.apply(op, a, b))), .number, t.range)
            }
        case .compare(let op, let l, let r):
            if case .literal(let a) = l.kind, case .literal(let b) = r.kind {
                return TExpr(.literal(.bool(Arith.compare(op, a, b))), .bool, t.range)
            }
        default: break
        }
        return t
    }

    func resolveName(_ id: Ident, _ ctx: Ctx) -> TExpr? {
        let file = ctx.file
        if case .function(_, let ps, let types) = ctx.mode, let i = ps.firstIndex(of: id.name) {
            return TExpr(.param(i), types[i], id.range)
        }
        if let g = globals[id.name] {
            used.insert(id.name)
            switch (g.kind, ctx.mode) {
            case (.const, _):
                guard let v = constValue(g.index) else { return nil }
                return TExpr(v.kind, v.type, id.range)
            case (.field, .program):
                return TExpr(.field(g.index), fields[g.index].type, id.range)
            case (.let, .program):
                guard let v = letValue(g.index) else { return nil }
                return TExpr(.letRef(g.index), v.type, id.range)
            case (.fn, _):
                error("E0303", "`\(id.name)` is a function; call it with arguments", file, id.range, label: "function used as a value",
                      hints: ["write `\(id.name)(...)` with its arguments"])
                return nil
            case (.field, .const), (.let, .const):
                error("E0309", "a constant cannot depend on the input (`\(id.name)` is \(g.kind == .field ? "an input field" : "a let"))", file, id.range,
                      label: "known only when an input arrives", hints: ["use `let` instead of `const`"])
                return nil
            case (.field, .function), (.let, .function):
                error("E0310", "a function sees only its parameters and constants; `\(id.name)` is \(g.kind == .field ? "an input field" : "a let")", file, id.range,
                      label: "not visible here", hints: ["pass it as an argument: add a parameter and call the function with `\(id.name)`"])
                return nil
            }
        }
        if Builtin(rawValue: id.name) != nil {
            error("E0303", "`\(id.name)` is a built-in function; call it with arguments", file, id.range, label: "function used as a value")
            return nil
        }
        if labels.contains(id.name) {
            error("E0301", "`\(id.name)` is a label, not a value", file, id.range, label: "labels are not values",
                  hints: ["labels appear only after `=>`, in `score LABEL { }` and in tests"])
            return nil
        }
        let s = suggestions(for: id.name, among: visibleNames(ctx))
        error("E0301", "unknown name `\(id.name)`", file, id.range, label: "not defined",
              hints: s.map { "did you mean `\($0)`?" } + (s.isEmpty && globals.isEmpty == false ? [] : []),
              fixes: s.prefix(1).map { FixIt(range: id.range, replacement: $0, message: "replace `\(id.name)` with `\($0)`") })
        return nil
    }

    func checkCall(_ f: Ident, _ args: [Expr], _ range: SourceRange, _ ctx: Ctx) -> TExpr? {
        let file = ctx.file
        let typed = args.map { expr($0, ctx) }
        let paramTypes: [LoopType]
        let result: LoopType
        // How the callee is named in a message; built only when there is an error to report.
        let what: () -> String
        var builtin: Builtin? = nil
        var fnIndex: Int? = nil
        if let b = Builtin(rawValue: f.name) {
            builtin = b
            (paramTypes, result) = b.signature
            what = { "`\(b.usage)`" }
        } else if let g = globals[f.name], g.kind == .fn {
            used.insert(f.name)
            guard let sig = fnSigs[g.index] else { return nil }
            fnIndex = g.index
            (paramTypes, result) = sig
            what = { "`\(f.name)`" }
            if case .function(let caller, _, _) = ctx.mode { callEdges[caller, default: []].append((g.index, f.range)) }
        } else {
            var names = Builtin.allCases.map(\.rawValue)
            names += globals.values.filter { $0.kind == .fn }.map(\.name)
            let alias: [String: String] = ["lowercase": "lower", "uppercase": "upper", "length": "len", "size": "len", "strip": "trim",
                                           "startswith": "starts_with", "endswith": "ends_with", "includes": "contains", "has": "contains",
                                           "match": "matches", "regex": "matches", "search": "matches", "any": "contains_any", "all": "contains_all",
                                           "in": "one_of", "is_in": "one_of", "count_matches_any": "count_any", "word_contains": "contains_word"]
            // A Stdlib function after a failed `use` was already explained by that error.
            if globals[f.name] == nil && !failedModules.isEmpty && stdlib.modules.values.contains(where: { $0.contains("fn \(f.name)(") }) { return nil }
            let s = globals[f.name] != nil ? [] : (alias[f.name].map { [$0] } ?? suggestions(for: f.name, among: names))
            var hints = s.isEmpty ? [] : ["did you mean " + s.map { "`\($0)`" }.joined(separator: " or ") + "?"]
            if let g = globals[f.name] { hints.insert("`\(f.name)` is \(g.kind == .field ? "an input field" : g.kind == .let ? "a let" : "a constant"), not a function", at: 0) }
            error("E0303", "unknown function `\(f.name)`", file, f.range, label: "not a function", hints: hints,
                  fixes: s.prefix(1).map { FixIt(range: f.range, replacement: $0, message: "replace `\(f.name)` with `\($0)`") })
            return nil
        }
        if args.count != paramTypes.count {
            error("E0402", "\(what()) takes \(paramTypes.count) argument\(paramTypes.count == 1 ? "" : "s") but \(args.count) \(args.count == 1 ? "was" : "were") given",
                  file, range, label: "wrong number of arguments")
            return nil
        }
        var ok = true
        var targs: [TExpr] = []
        for (i, (t, p)) in zip(typed, paramTypes).enumerated() {
            guard let t else { ok = false; continue }
            if t.type != p {
                var hints: [String] = []
                if let b = builtin {
                    if p == .text && t.type == .list {
                        let alt: [Builtin: Builtin] = [.contains: .contains_any, .contains_word: .contains_any_word, .count: .count_any,
                                                       .starts_with: .starts_with_any, .ends_with: .ends_with_any, .count_word: .count_words]
                        if let a = alt[b] { hints.append("to look for any keyword of a list, use `\(a.rawValue)`") }
                    }
                    if p == .regex && t.type == .text { hints.append("write the pattern as a regex literal: /pattern/ (or use `contains` for plain text)") }
                    if p == .list && t.type == .text { hints.append("put the keyword in a list: [\"...\"], or use the single-keyword function") }
                }
                mismatch(expected: p, found: t, why: "argument \(i + 1) of \(what())", file, hints: hints)
                ok = false
                continue
            }
            targs.append(t)
        }
        guard ok else { return nil }
        if builtin == .sum_words_negated, case .literal(.number) = targs[3].kind {} else if builtin == .sum_words_negated {
            error("E0407", "the scope of `sum_words_negated` must be a constant number", file, args[3].range, label: "known only when an input arrives",
                  hints: ["write a number such as 3, or a `const`"])
            return nil
        }
        if let b = builtin { return foldBuiltin(b, targs, result, range) }
        return TExpr(.call(fnIndex!, targs), result, range)
    }

    /// Numeric built-ins over literals are folded so constants can use them.
    func foldBuiltin(_ b: Builtin, _ args: [TExpr], _ result: LoopType, _ range: SourceRange) -> TExpr {
        let nums = args.compactMap { a -> Double? in if case .literal(.number(let v)) = a.kind { return v }; return nil }
        if nums.count == args.count {
            switch b {
            case .min: return TExpr(.literal(.number(Swift.min(nums[0], nums[1]))), .number, range)
            case .max: return TExpr(.literal(.number(Swift.max(nums[0], nums[1]))), .number, range)
            case .abs: return TExpr(.literal(.number(Swift.abs(nums[0]))), .number, range)
            case .clamp: return TExpr(.literal(.number(Arith.clamp(nums[0], nums[1], nums[2]))), .number, range)
            default: break
            }
        }
        return TExpr(.builtin(b, args), result, range)
    }
}

/// Arithmetic and comparison shared by constant folding and every engine.
public enum Arith {
    /// `x / 0` is 0 (documented), so no program ever produces an infinity or NaN from literals.
    @inline(__always)
    public static func apply(_ op: BinaryOp, _ a: Double, _ b: Double) -> Double {
        switch op {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return b == 0 ? 0 : a / b
        default: return 0
        }
    }

    public static func clamp(_ x: Double, _ lo: Double, _ hi: Double) -> Double { Swift.min(Swift.max(x, lo), hi) }

    public static func compare(_ op: BinaryOp, _ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)):
            switch op {
            case .eq: return x == y
            case .ne: return x != y
            case .lt: return x < y
            case .le: return x <= y
            case .gt: return x > y
            case .ge: return x >= y
            default: return false
            }
        case (.text(let x), .text(let y)): return op == .eq ? x == y : x != y
        case (.bool(let x), .bool(let y)): return op == .eq ? x == y : x != y
        default: return false
        }
    }
}
