import Foundation
import LoopData
import LoopGenerate
import LoopInterpreter
import LoopSema

/// What pushed the program to its wrong answers: for each failing input, the rule that fired,
/// or the score terms and table words that added to the wrong label; and over all failures, which
/// of those recur. A score-only program has one "rule" (`score`), so this is where a person sees
/// which words to reweigh.
public struct FailureEvidence: Sendable {
    public struct Push: Sendable, Equatable {
        /// `rule has_link`, `word “not” (sum_words(msg, negative_words))`, or a term as written.
        public var evidence: String
        /// The wrong label it pushed toward.
        public var toward: String
        /// In how many failures it pushed.
        public var failures: Int
        /// Its total contribution to the wrong label's score over those failures (1 per rule).
        public var weight: Double
    }
    /// Per failure (in order), its strongest pushes, strongest first, at most three.
    public var perFailure: [[String]]
    /// Over all failures, the largest total contribution first; constant terms (intercepts) are left out.
    public var pushes: [Push]

    public static func of(program p: TypedProgram, failures: [Counterexample], limit: Int = 12) -> FailureEvidence {
        let interp = Interpreter(p)
        let decoder = RecordDecoder(program: p)
        var perFailure: [[String]] = []
        var totals: [String: Push] = [:]
        var order: [String] = []
        for f in failures {
            guard case .success(let input) = decoder.decode(.json(f.input)) else { perFailure.append([]); continue }
            let (d, trace) = interp.explain(input)
            let wrong = p.labels[d.label]
            var found: [(key: String, weight: Double)] = []
            switch d.decidedBy {
            case .rule(let i): found.append(("rule \(p.rules[i].name)", 1))
            case .otherwise: found.append(("otherwise (no score term fired)", 1))
            case .score:
                for t in trace.terms where t.fired && t.label == d.label && t.value > 0 {
                    // A constant term is the label's intercept: in every answer, evidence of none.
                    let term = p.scores[t.label][t.term]
                    if term.condition == nil, case .literal = term.value.kind { continue }
                    let text = term.text
                    if t.words.isEmpty { found.append((text, t.value)); continue }
                    for w in t.words where w.contribution > 0 {
                        found.append(("word “\(w.word)” (\(text))", w.contribution))
                    }
                }
            }
            found.sort { $0.weight > $1.weight }
            perFailure.append(found.prefix(3).map { x in x.key.hasPrefix("rule ") || x.key.hasPrefix("otherwise") ? x.key : "\(x.key) +\(Formatter.formatNumber(x.weight))" })
            for x in found {
                if totals[x.key] == nil { order.append(x.key); totals[x.key] = Push(evidence: x.key, toward: wrong, failures: 0, weight: 0) }
                totals[x.key]!.failures += 1
                totals[x.key]!.weight += x.weight
            }
        }
        // Heaviest first: what added most to wrong labels over all failures (then the most frequent).
        let ranked = order.compactMap { totals[$0] }.sorted { ($0.weight, $0.failures) > ($1.weight, $1.failures) }
        return FailureEvidence(perFailure: perFailure, pushes: Array(ranked.prefix(limit)))
    }
}
