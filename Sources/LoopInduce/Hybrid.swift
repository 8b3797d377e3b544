import Foundation
import LoopData
import LoopDiagnostics
import LoopInterpreter
import LoopSema

/// "Hybrid" generation: keeps a program's structure (rules, conditions, lists, the LLM's or a
/// person's choices) and re-fits only the weights of its score terms on validated examples.
///
/// Each term contributes θ·x: for `W when COND` (W a number literal) x is 1 when the condition
/// holds and θ starts at W; for any other term x is the term's value and θ is a multiplier that
/// starts at 1. The θ are fitted by multinomial logistic regression (softmax over the label
/// scores, as Loop computes confidence) on the examples the score blocks decide, with an L2
/// penalty pulling each θ towards its written value, so a weight moves only as far as the data
/// asks. Rules are left alone: an example a rule decides is not used.
public enum HybridRefit {
    public struct Options: Sendable {
        /// Strength of the pull towards the written weights.
        public var l2 = 0.01
        public var iterations = 300
        public var learningRate = 0.05
        /// Significant digits of the written weights.
        public var digits = 3
        public init() {}
    }

    public struct Result {
        public let source: String
        public let program: TypedProgram
        /// Accuracy on the examples before and after the refit.
        public let before: Double
        public let after: Double
        /// Terms whose weight changed.
        public let changedTerms: Int
        /// Examples the score blocks decide (the ones the refit learned from).
        public let scoreDecided: Int
    }

    public enum RefitError: Error, CustomStringConvertible {
        case check(String)
        case noScoreTerms
        case noExamples
        public var description: String {
            switch self {
            case .check(let d): return "the program does not check:\n\(d)"
            case .noScoreTerms: return "the program has no score terms to re-fit"
            case .noExamples: return "no example is decided by the score blocks, so there is nothing to learn from"
            }
        }
    }

    struct TermRef { let label: Int; let index: Int; let literal: Double?; let range: SourceRange }

    /// Re-fits `source`'s score weights on `examples` (inputs as JSON, as `loopai run` reads them).
    public static func refit(source: String, name: String = "program.loop", examples: [(input: JSON, label: String)],
                             options: Options = Options()) throws -> Result {
        let file = SourceFile(name: name, text: source)
        let (checked, diagnostics) = Checker.checkSource(file, stdlib: .embedded)
        guard let program = checked else { throw RefitError.check(TextRenderer().render(diagnostics.filter { $0.severity == .error })) }
        var terms: [TermRef] = []
        for (l, block) in program.scores.enumerated() {
            for (k, t) in block.enumerated() {
                terms.append(TermRef(label: l, index: k, literal: t.condition != nil ? literalValue(t.value) : nil, range: t.value.range))
            }
        }
        guard !terms.isEmpty else { throw RefitError.noScoreTerms }
        let interp = Interpreter(program)
        let decoder = RecordDecoder(program: program)
        let termIndex = Dictionary(uniqueKeysWithValues: terms.enumerated().map { ("\($0.element.label):\($0.element.index)", $0.offset) })

        // Features of the examples the score blocks decide.
        var rows: [(x: [Double], y: Int)] = []
        var correctBefore = 0, usable = 0
        for e in examples {
            guard case .success(let values) = decoder.decode(.json(e.input)), let y = program.labelIndex(named: e.label) else { continue }
            usable += 1
            let (d, trace) = interp.explain(values)
            if d.label == y { correctBefore += 1 }
            guard case .rule = d.decidedBy else {
                var x = [Double](repeating: 0, count: terms.count)
                for step in trace.terms {
                    guard let i = termIndex["\(step.label):\(step.term)"] else { continue }
                    x[i] = terms[i].literal != nil ? (step.fired ? 1 : 0) : step.value
                }
                rows.append((x, y))
                continue
            }
        }
        guard !rows.isEmpty else { throw RefitError.noExamples }
        let theta0 = terms.map { $0.literal ?? 1 }
        let theta = fit(rows: rows, terms: terms, labels: program.labels.count, theta0: theta0, options: options)

        // Write the new weights into the source, last range first so offsets stay valid.
        var bytes = Array(source.utf8)
        var changed = 0
        for (i, t) in terms.enumerated().sorted(by: { $0.element.range.start > $1.element.range.start }) {
            let old = theta0[i], new = round(theta[i], digits: options.digits)
            guard abs(new - old) > 1e-9 else { continue }
            let text = t.literal != nil ? format(new) : "\(format(new)) * (\(String(decoding: bytes[t.range.start..<t.range.end], as: UTF8.self)))"
            bytes.replaceSubrange(t.range.start..<t.range.end, with: Array(text.utf8))
            changed += 1
        }
        let newSource = String(decoding: bytes, as: UTF8.self)
        let (refitted, diags) = Checker.checkSource(SourceFile(name: name, text: newSource), stdlib: .embedded)
        guard let refitted else { throw RefitError.check(TextRenderer().render(diags.filter { $0.severity == .error })) }
        let after = Interpreter(refitted)
        let newDecoder = RecordDecoder(program: refitted)
        var correctAfter = 0
        for e in examples {
            guard case .success(let v) = newDecoder.decode(.json(e.input)), let y = refitted.labelIndex(named: e.label) else { continue }
            if after.evaluate(v).label == y { correctAfter += 1 }
        }
        let n = Double(max(usable, 1))
        return Result(source: newSource, program: refitted, before: Double(correctBefore) / n, after: Double(correctAfter) / n,
                      changedTerms: changed, scoreDecided: rows.count)
    }

    /// Accuracy of a program on labeled examples (inputs as JSON).
    public static func accuracy(source: String, examples: [(input: JSON, label: String)]) throws -> Double {
        let (p, diags) = Checker.checkSource(SourceFile(name: "program.loop", text: source), stdlib: .embedded)
        guard let p else { throw RefitError.check(TextRenderer().render(diags.filter { $0.severity == .error })) }
        let interp = Interpreter(p), decoder = RecordDecoder(program: p)
        var right = 0
        for e in examples {
            if case .success(let v) = decoder.decode(.json(e.input)), interp.evaluate(v).label == p.labelIndex(named: e.label) { right += 1 }
        }
        return examples.isEmpty ? 0 : Double(right) / Double(examples.count)
    }

    static func literalValue(_ e: TExpr) -> Double? {
        switch e.kind {
        case .literal(.number(let w)): return w
        case .neg(let inner): if case .literal(.number(let w)) = inner.kind { return -w }; return nil
        default: return nil
        }
    }

    /// Full-batch Adam on the mean cross-entropy plus l2·Σ(θ−θ₀)².
    static func fit(rows: [(x: [Double], y: Int)], terms: [TermRef], labels: Int, theta0: [Double], options: Options) -> [Double] {
        var theta = theta0
        var m = [Double](repeating: 0, count: theta.count), v = m
        let b1 = 0.9, b2 = 0.999
        for step in 1...max(1, options.iterations) {
            var grad = theta.indices.map { 2 * options.l2 * (theta[$0] - theta0[$0]) }
            for (x, y) in rows {
                var scores = [Double](repeating: 0, count: labels)
                for (i, t) in terms.enumerated() { scores[t.label] += theta[i] * x[i] }
                let mx = scores.max() ?? 0
                let ex = scores.map { exp($0 - mx) }
                let z = ex.reduce(0, +)
                for (i, t) in terms.enumerated() where x[i] != 0 {
                    let p = ex[t.label] / z
                    grad[i] += (p - (t.label == y ? 1 : 0)) * x[i] / Double(rows.count)
                }
            }
            for i in theta.indices {
                m[i] = b1 * m[i] + (1 - b1) * grad[i]
                v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i]
                let mh = m[i] / (1 - pow(b1, Double(step))), vh = v[i] / (1 - pow(b2, Double(step)))
                theta[i] -= options.learningRate * mh / (vh.squareRoot() + 1e-8)
            }
        }
        return theta
    }

    static func round(_ x: Double, digits: Int) -> Double {
        guard x != 0, x.isFinite else { return 0 }
        let scale = pow(10, Double(digits) - (log10(abs(x))).rounded(.up))
        return (x * scale).rounded() / scale
    }

    static func format(_ x: Double) -> String {
        var s = String(format: "%.6f", x)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }
}
