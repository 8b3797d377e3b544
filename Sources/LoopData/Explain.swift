import Foundation
import LoopSema
import LoopInterpreter

/// Renders an evaluation trace for `loopai explain`.
public enum ExplainReport {
    public static func text(_ p: TypedProgram, _ d: Decision, _ t: Trace) -> String {
        var s = ""
        if !t.rules.isEmpty {
            s += "rules (first match wins):\n"
            for r in t.rules {
                let rule = p.rules[r.rule]
                s += "  \(r.fired ? "✔" : "·") \(rule.name) => \(p.labels[rule.label])\(r.fired ? "   fired" : "")\n"
            }
        }
        if !t.terms.isEmpty {
            s += "score terms:\n"
            for term in t.terms {
                let text = p.scores[term.label][term.term].text
                s += "  \(term.fired ? "+" : "·") \(p.labels[term.label]): \(text)" + (term.fired ? "   = \(Formatter.formatNumber(term.value))" : "") + "\n"
                for w in term.words {
                    s += "      \(w.negated ? "not " : "")\(Formatter.quote(w.word)) ×\(w.count) × \(Formatter.formatNumber(w.weight)) = \(Formatter.formatNumber(w.contribution))"
                        + (w.negated ? "   (negated)" : "") + "\n"
                }
            }
        }
        if case .rule = d.decidedBy {} else if p.hasScore.contains(true) {
            s += "scores: " + zip(p.labels, d.scores).map { "\($0) \(Formatter.formatNumber($1))" }.joined(separator: ", ") + "\n"
        }
        let id = p.labels[d.label], name = p.labelNames[d.label]
        s += "answer: \(Formatter.labelItem(id, name == id ? nil : name)) (confidence \(String(format: "%.4f", d.confidence)), decided by \(d.decidedByText(p)))\n"
        return s
    }

    public static func json(_ p: TypedProgram, _ d: Decision, _ t: Trace) -> JSON {
        .object([
            ("label", JSON(p.labelNames[d.label])),
            ("identifier", JSON(p.labels[d.label])),
            ("confidence", .number(d.confidence)),
            ("decided_by", JSON(d.decidedByText(p))),
            ("rules", .array(t.rules.map { .object([("rule", JSON(p.rules[$0.rule].name)), ("fired", .bool($0.fired))]) })),
            ("terms", .array(t.terms.map {
                .object([("label", JSON(p.labels[$0.label])), ("term", JSON(p.scores[$0.label][$0.term].text)),
                         ("fired", .bool($0.fired)), ("value", .number($0.value)),
                         ("words", .array($0.words.map { w in
                             .object([("word", JSON(w.word)), ("count", .number(Double(w.count))), ("weight", .number(w.weight)),
                                      ("contribution", .number(w.contribution)), ("negated", .bool(w.negated))])
                         }))])
            })),
            ("scores", .object(zip(p.labelNames, d.scores).map { ($0, .number($1)) })),
        ])
    }
}
