import LoopDiagnostics

/// The source-faithful syntax tree: it keeps every name with its range and every pair of
/// parentheses, so the formatter can print it back and diagnostics can point into it. The
/// checker turns it into a different, typed tree (`LoopSema.TypedProgram`).

/// A name as written, with where it was written.
/// The application's string for a label (`as "not spam"`), with the literal's range.
public struct LabelName: Equatable, Sendable {
    public var text: String
    public var range: SourceRange
    public init(_ text: String, _ range: SourceRange) { self.text = text; self.range = range }
}

public struct Ident: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var range: SourceRange
    public init(_ name: String, _ range: SourceRange) { self.name = name; self.range = range }
    public var description: String { name }
}

/// A type as written in a parameter, a return type or an input field.
public struct TypeRef: Equatable, Sendable {
    /// `text`, `number`, `bool`, `regex`, `table`, or `list` for `[text]`.
    public var name: String
    public var range: SourceRange
    public init(name: String, range: SourceRange) { self.name = name; self.range = range }
}

public enum UnaryOp: String, Sendable { case neg = "-", not = "not" }

public enum BinaryOp: String, Sendable, CaseIterable {
    case or, and
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
    case add = "+", sub = "-", mul = "*", div = "/"

    /// Binding strength; higher binds tighter.
    public var precedence: Int {
        switch self {
        case .or: return 1
        case .and: return 2
        case .eq, .ne, .lt, .le, .gt, .ge: return 4
        case .add, .sub: return 5
        case .mul, .div: return 6
        }
    }
}

/// An expression node.
public indirect enum ExprKind: Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    /// `/pattern/flags`; checked and compiled by LoopSema.
    case regex(pattern: String, flags: String)
    /// `["a", "b"]`
    case list([Expr])
    /// `{ "word": 1.5, ... }`: a word → weight table.
    case table([(key: Expr, value: Expr)])
    case name(Ident)
    case call(Ident, [Expr])
    case unary(UnaryOp, Expr)
    case binary(BinaryOp, Expr, Expr)
    case ifElse(Expr, Expr, Expr)
    /// Parentheses as written; kept so printing is faithful.
    case paren(Expr)
}

public struct Expr: Sendable {
    public var kind: ExprKind
    public var range: SourceRange
    public init(_ kind: ExprKind, _ range: SourceRange) { self.kind = kind; self.range = range }
}

/// One term of a score block: `WEIGHT when COND` or a bare number expression.
public struct ScoreTerm: Sendable {
    public var value: Expr
    public var condition: Expr?
    public var range: SourceRange
    public init(value: Expr, condition: Expr?, range: SourceRange) { self.value = value; self.condition = condition; self.range = range }
}

/// The input declaration: one text-like value, or a record of named fields.
public enum InputShape: Sendable {
    case single(Ident, TypeRef)
    case record([(name: Ident, type: TypeRef)])
}

/// The input of a `test` line.
public enum TestInput: Sendable {
    case value(Expr)
    case record([(name: Ident, value: Expr)])
}

public struct Param: Sendable {
    public var name: Ident
    public var type: TypeRef
    public init(name: Ident, type: TypeRef) { self.name = name; self.type = type }
}

/// A top-level declaration.
public enum DeclKind: Sendable {
    /// `program NAME "description"`
    case program(Ident, description: String?)
    /// `module std.text "description"` (Stdlib files)
    case module([Ident], description: String?)
    case input(InputShape)
    /// `labels a, b as "b?"`: each label's identifier and, parallel to it, the application's
    /// string for it when the program declares one (`as "..."`).
    case labels([Ident], names: [LabelName?])
    case use([Ident])
    case const(Ident, Expr)
    case `let`(Ident, Expr)
    case fn(Ident, [Param], TypeRef, Expr)
    /// `rule NAME when COND => LABEL [confidence NUMBER]`
    case rule(Ident, Expr, label: Ident, confidence: Expr?)
    case score(Ident, [ScoreTerm])
    case otherwise(label: Ident, confidence: Expr?)
    case test(TestInput, label: Ident)
}

public struct Decl: Sendable {
    public var kind: DeclKind
    public var range: SourceRange
    public init(_ kind: DeclKind, _ range: SourceRange) { self.kind = kind; self.range = range }
}

/// A parsed file: its declarations in order, plus comments for the formatter.
public struct SourceUnit: Sendable {
    public var file: SourceFile
    public var decls: [Decl]
    public var comments: [Comment]
    public init(file: SourceFile, decls: [Decl], comments: [Comment]) { self.file = file; self.decls = decls; self.comments = comments }
}
