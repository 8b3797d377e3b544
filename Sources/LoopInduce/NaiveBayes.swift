import Foundation

/// For two labels: the regression's word weights blended with multinomial Naive Bayes
/// log-count ratios, the pairing that makes the strongest simple linear text classifiers on
/// short, small sentiment and spam data sets (Wang & Manning, "Baselines and Bigrams", 2012).
/// Everything stays a weight per word (and per negated word), so the program is still
/// `sum_words` tables; only the numbers in them change.
///
/// From the training examples' word columns (with negation, a word after a negator is a column
/// of its own), with Laplace smoothing α:
/// - `r[j] = log((α + C1[j]) / Σk (α + C1[k])) − log((α + C0[j]) / Σk (α + C0[k]))`, where
///   `Cl[j]` is column j's total count over label l's examples;
/// - in `.scaled` mode, the features the regression sees are first multiplied by `s[j]`, the
///   same ratio computed from presence (how many of label l's examples hold column j);
/// - the program's margin (label 1 minus label 0) is `(1 − a) · ŵ[j] · s[j] + a · r[j]` per
///   word, `(1 − a) · (b1 − b0) + a · log(n1 / n0)` as bias and `(1 − a)` times the regression's
///   other features, with `a` the share of Naive Bayes (`mix`).
/// A blended model is not refitted after the vocabulary is pruned (a refit would fit the
/// regression alone again and undo the blend).
public struct NaiveBayesBlend {
    /// `.blend`: the regression on plain features, blended; `.scaled`: on features scaled by
    /// their presence ratio, then blended.
    public enum Mode: String, Sendable, CaseIterable { case off, blend, scaled }

    let words: Int
    let r: [Double]
    /// The features' scale in `.scaled` mode (nil: 1).
    let s: [Double]?
    let prior: Double
    let mix: Double

    /// nil unless there are two labels and both have examples.
    init?(rows: [[(Int, Double)]], y: [Int], words W: Int, mode: Mode, alpha: Double, mix: Double) {
        guard mode != .off, !rows.isEmpty else { return nil }
        var n = [0.0, 0.0]
        var count = [[Double]](repeating: [Double](repeating: 0, count: W), count: 2)
        var present = count
        for (row, label) in zip(rows, y) {
            guard label == 0 || label == 1 else { return nil }
            n[label] += 1
            for (j, x) in row where j < W {
                count[label][j] += x
                if x > 0 { present[label][j] += 1 }
            }
        }
        guard n[0] > 0 && n[1] > 0 else { return nil }
        func ratio(_ c: [[Double]]) -> [Double] {
            let t0 = c[0].reduce(0, +) + alpha * Double(W), t1 = c[1].reduce(0, +) + alpha * Double(W)
            return (0..<W).map { log((alpha + c[1][$0]) / t1) - log((alpha + c[0][$0]) / t0) }
        }
        words = W
        r = ratio(count)
        s = mode == .scaled ? ratio(present) : nil
        prior = log(n[1] / n[0])
        self.mix = mix
    }

    /// With the smoothing and share the inducer's options give.
    init?(rows: [[(Int, Double)]], y: [Int], words W: Int, mode: Mode, options: Inducer.Options) {
        self.init(rows: rows, y: y, words: W, mode: mode, alpha: options.naiveBayesAlpha, mix: options.naiveBayesMix)
    }

    /// The rows the regression is trained on (word columns scaled in `.scaled` mode).
    func features(_ rows: [[(Int, Double)]]) -> [[(Int, Double)]] {
        guard let s else { return rows }
        return rows.map { row in row.map { j, x in j < words ? (j, x * s[j]) : (j, x) } }
    }

    /// The blended two-label model on the original features: the margin in label 1, zero in label 0.
    func blend(_ m: Model) -> Model {
        var out = Model(labels: 2, features: m.F)
        for j in 0..<m.F {
            let margin = m.w[1][j] - m.w[0][j]
            out.w[1][j] = j < words ? (1 - mix) * margin * (s?[j] ?? 1) + mix * r[j] : (1 - mix) * margin
        }
        out.b[1] = (1 - mix) * (m.b[1] - m.b[0]) + mix * prior
        return out
    }
}
