import LoopSema

/// Anything that classifies inputs of a checked program: the interpreter (the reference) and,
/// later, compiled code. Every engine must return exactly the interpreter's decisions.
public protocol ClassifierEngine: AnyObject {
    var program: TypedProgram { get }
    /// A short name for reports (`interp`, `jit`).
    var engineName: String { get }
    func classify(_ input: [Value]) -> Decision
    /// Many inputs per call; engines override this when batching is cheaper.
    func classifyBatch(_ inputs: [[Value]]) -> [Decision]
}

extension ClassifierEngine {
    public func classifyBatch(_ inputs: [[Value]]) -> [Decision] { inputs.map(classify) }
}

extension Interpreter: ClassifierEngine {
    public var engineName: String { "interp" }
    public func classify(_ input: [Value]) -> Decision { evaluate(input) }
}

extension Decision {
    /// `rule:NAME`, `score` or `otherwise`.
    public func decidedByText(_ p: TypedProgram) -> String {
        switch decidedBy {
        case .rule(let i): return "rule:" + p.rules[i].name
        case .score: return "score"
        case .otherwise: return "otherwise"
        }
    }
}

/// Runs a program's embedded `test` lines (tier 2 of validation).
public struct EmbeddedTests {
    public struct Failure: Sendable {
        public let test: TypedProgram.TestCase
        public let got: Decision
    }
    public static func run(_ engine: ClassifierEngine) -> (passed: Int, failures: [Failure]) {
        var passed = 0
        var failures: [Failure] = []
        for t in engine.program.tests {
            let d = engine.classify(t.input)
            if d.label == t.label { passed += 1 } else { failures.append(Failure(test: t, got: d)) }
        }
        return (passed, failures)
    }
}
