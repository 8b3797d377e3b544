import Foundation
import LoopData
import LoopGenerate

/// One validated execution: what the program said and what the oracle said.
public struct Validation: Codable, Equatable, Sendable {
    public var seq: Int
    /// The input as JSON text.
    public var input: String
    public var programLabel: String
    public var oracleLabel: String
    public var decidedBy: String
    public var versionId: Int64
    public var weight: Double
    public var agree: Bool { programLabel == oracleLabel }
}

/// What the failures have in common: confusion pairs, the rules implicated, words that are
/// over-represented among failures, and whether the errors are systematic or scattered.
public struct FailureAnalysis: Sendable {
    public struct Pair: Sendable { public var program: String; public var oracle: String; public var count: Int }
    public struct RuleStat: Sendable { public var rule: String; public var validated: Int; public var correct: Int
        public var precision: Double { validated == 0 ? 0 : Double(correct) / Double(validated) } }
    public struct Word: Sendable { public var word: String; public var inFailures: Int; public var inAgreements: Int; public var score: Double }

    public var failures: Int
    public var validations: Int
    public var pairs: [Pair]
    public var rules: [RuleStat]
    public var words: [Word]
    /// True when one confusion pair with one deciding rule explains at least 70% of the failures.
    public var systematic: Bool

    public static func of(_ vs: [Validation]) -> FailureAnalysis {
        let bad = vs.filter { !$0.agree }
        var pairCounts: [String: Pair] = [:]
        for v in bad {
            pairCounts["\(v.programLabel)→\(v.oracleLabel)", default: Pair(program: v.programLabel, oracle: v.oracleLabel, count: 0)].count += 1
        }
        var ruleStats: [String: RuleStat] = [:]
        for v in vs {
            ruleStats[v.decidedBy, default: RuleStat(rule: v.decidedBy, validated: 0, correct: 0)].validated += 1
            if v.agree { ruleStats[v.decidedBy]!.correct += 1 }
        }
        // Over-represented words: smoothed log-odds of appearing in a failure vs an agreement.
        var inBad: [String: Int] = [:], inGood: [String: Int] = [:]
        for v in vs {
            for w in Set(Self.words(v.input)) { if v.agree { inGood[w, default: 0] += 1 } else { inBad[w, default: 0] += 1 } }
        }
        let nb = Double(max(bad.count, 1)), ng = Double(max(vs.count - bad.count, 1))
        let words = inBad.filter { $0.value >= 2 }.map { w, c -> Word in
            let g = inGood[w] ?? 0
            let score = log((Double(c) + 0.5) / (nb + 1)) - log((Double(g) + 0.5) / (ng + 1))
            return Word(word: w, inFailures: c, inAgreements: g, score: score)
        }.filter { $0.score > 1 }.sorted { ($0.score, $0.inFailures) > ($1.score, $1.inFailures) }
        var byPairRule: [String: Int] = [:]
        for v in bad { byPairRule["\(v.programLabel)→\(v.oracleLabel)|\(v.decidedBy)", default: 0] += 1 }
        let top = byPairRule.values.max() ?? 0
        return FailureAnalysis(failures: bad.count, validations: vs.count,
                               pairs: pairCounts.values.sorted { ($0.count, $0.program) > ($1.count, $1.program) },
                               rules: ruleStats.values.sorted { ($0.precision, -$0.validated) < ($1.precision, -$1.validated) },
                               words: Array(words.prefix(12)), systematic: bad.count >= 3 && Double(top) >= 0.7 * Double(bad.count))
    }

    /// Lowercased words (letters and digits, 3 or more) of the input's text values, function words left out.
    static func words(_ inputJSON: String) -> [String] {
        let j = (try? JSONParser.parse(inputJSON)) ?? JSON(inputJSON)
        return TextWords.of(j).filter { !stopWords.contains($0) }
    }

    /// English function words: they are in failures as in agreements and explain nothing.
    /// Negators (`not`, `nor`, `didn`, ...) are kept: when they stand out, negation is the problem.
    static let stopWords: Set<String> = [
        "the", "and", "for", "are", "but", "you", "all", "any", "can", "had", "her", "was", "one", "our", "out", "has", "him",
        "his", "how", "its", "may", "she", "who", "did", "get", "got", "too", "use", "own", "off", "yet", "than", "then", "them",
        "they", "this", "that", "these", "those", "there", "their", "theirs", "what", "when", "where", "which", "while", "whom", "whose",
        "with", "would", "could", "should", "have", "been", "being", "were", "will", "shall", "from", "into", "onto", "upon", "about",
        "above", "below", "after", "before", "again", "also", "just", "only", "very", "more", "most", "much", "many", "some", "such",
        "each", "every", "both", "either", "neither", "other", "same", "because", "until", "over", "under", "through", "between",
        "your", "yours", "mine", "ours", "himself", "herself", "itself", "myself", "yourself", "themselves", "ourselves", "does",
        "doing", "done", "here", "why", "it's", "i'm",
    ]

    /// Plain-language hypotheses for the ticket.
    public var hypotheses: [String] {
        var out: [String] = []
        for p in pairs.prefix(3) {
            out.append("Labels \(p.program) and \(p.oracle) are confused: the program says \(p.program) where the oracle says \(p.oracle) (\(p.count) case(s)).")
        }
        let ws = words.prefix(6).map { "“\($0.word)” (\($0.inFailures) failures, \($0.inAgreements) agreements)" }
        if !ws.isEmpty { out.append("The failing inputs mention these words more often than the inputs the program gets right: " + ws.joined(separator: ", ") + ".") }
        if failures == 0 { return ["No failures among the recent validations."] }
        out.append(systematic ? "The errors are systematic: one confusion through one decision explains most of them."
                              : "The errors are scattered: no single confusion or rule explains most of them.")
        return out
    }
}
