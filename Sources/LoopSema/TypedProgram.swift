import LoopDiagnostics

/// The checked, resolved program: every name is an index, every node has a type, every regex is
/// parsed and every constant folded into a literal. It is what the interpreter runs and what the
/// LLVM backend lowers; it never contains an ill-typed or unresolved expression.
public final class TypedProgram: @unchecked Sendable {
    public let name: String
    public let description: String?
    public let file: SourceFile
    /// Input fields in declaration order. A single-value input has one field.
    public let fields: [Field]
    /// True for `input NAME: TYPE` (accepts bare strings), false for a record.
    public let singleInput: Bool
    /// The labels' identifiers, as rules, scores and tests name them.
    public let labels: [String]
    /// The application's string for each label (`labels b as "b?"`), its identifier when the
    /// program declares none. Answers leave the program under these names.
    public let labelNames: [String]
    /// Label index by application string and by identifier (strings first, so a string that
    /// happens to spell another label's identifier is read as the string).
    public let labelLookup: [String: Int]
    public let lets: [Binding]
    public let functions: [Function]
    public let rules: [Rule]
    /// One entry per label, in label order (empty when the label has no score block).
    public let scores: [[Term]]
    /// Whether the label has a score block at all.
    public let hasScore: [Bool]
    public let otherwise: Fallback
    public let tests: [TestCase]
    /// Every distinct keyword list, table and regex, referenced by index from `TExpr`.
    public let lists: [[[UInt8]]]
    public let tables: [[(key: [UInt8], weight: Double)]]
    public let regexes: [LoopRegex]
    /// Modules the program used, for provenance and the generator's prompt.
    public let modules: [String]

    public struct Field: Sendable { public let name: String; public let type: LoopType }
    public struct Binding: Sendable { public let name: String; public let value: TExpr; public let range: SourceRange }
    public struct Function: Sendable {
        public let name: String; public let params: [(name: String, type: LoopType)]; public let result: LoopType
        public let body: TExpr; public let module: String?
    }
    public struct Rule: Sendable {
        public let name: String; public let condition: TExpr; public let label: Int; public let confidence: Double; public let range: SourceRange
    }
    public struct Term: Sendable {
        public let value: TExpr; public let condition: TExpr?; public let range: SourceRange
        /// The term as written, for traces (`2 when contains_any(msg, prize_words)`).
        public let text: String
    }
    public struct Fallback: Sendable { public let label: Int; public let confidence: Double?; public let range: SourceRange }
    public struct TestCase: Sendable {
        /// One value per field, in field order.
        public let input: [Value]
        public let label: Int
        public let range: SourceRange
    }

    init(name: String, description: String?, file: SourceFile, fields: [Field], singleInput: Bool, labels: [String], labelNames: [String],
         lets: [Binding], functions: [Function], rules: [Rule], scores: [[Term]], hasScore: [Bool], otherwise: Fallback,
         tests: [TestCase], lists: [[[UInt8]]], tables: [[(key: [UInt8], weight: Double)]], regexes: [LoopRegex], modules: [String]) {
        self.name = name; self.description = description; self.file = file; self.fields = fields; self.singleInput = singleInput
        self.labels = labels; self.labelNames = labelNames; self.lets = lets; self.functions = functions; self.rules = rules; self.scores = scores
        self.hasScore = hasScore; self.otherwise = otherwise; self.tests = tests; self.lists = lists; self.tables = tables
        self.regexes = regexes; self.modules = modules
        var lookup: [String: Int] = [:]
        for (i, l) in labels.enumerated() { lookup[l] = i }
        for (i, n) in labelNames.enumerated() { lookup[n] = i }
        self.labelLookup = lookup
    }

    /// True when some label declares an application string different from its identifier.
    public var hasLabelNames: Bool { labelNames != labels }

    /// The label a string from outside names (data, an oracle, feedback): its application string
    /// or its identifier.
    public func labelIndex(named s: String) -> Int? { labelLookup[s] }

    /// A stable hash of the program's source (FNV-1a 64), naming compiled code and versions.
    public lazy var sourceHash: String = StableHash.hex(file.bytes)
}

/// A runtime value. Lists, tables and regexes are always constants and live in the program.
public enum Value: Sendable, Equatable {
    case number(Double)
    case bool(Bool)
    case text([UInt8])
    case list(Int)
    case table(Int)
    case regex(Int)

    public var type: LoopType {
        switch self {
        case .number: return .number
        case .bool: return .bool
        case .text: return .text
        case .list: return .list
        case .table: return .table
        case .regex: return .regex
        }
    }
}

/// A typed expression of the resolved program.
public struct TExpr: Sendable {
    public indirect enum Kind: Sendable {
        case literal(Value)
        /// An input field, by index.
        case field(Int)
        /// A top-level `let`, by index (evaluated at most once per input).
        case letRef(Int)
        /// A parameter of the enclosing function, by index.
        case param(Int)
        case builtin(Builtin, [TExpr])
        case call(Int, [TExpr])
        case not(TExpr)
        case neg(TExpr)
        case and(TExpr, TExpr)
        case or(TExpr, TExpr)
        case compare(BinaryOp, TExpr, TExpr)
        case arith(BinaryOp, TExpr, TExpr)
        case ifElse(TExpr, TExpr, TExpr)
    }
    public var kind: Kind
    public var type: LoopType
    public var range: SourceRange
    public init(_ kind: Kind, _ type: LoopType, _ range: SourceRange) { self.kind = kind; self.type = type; self.range = range }
}
