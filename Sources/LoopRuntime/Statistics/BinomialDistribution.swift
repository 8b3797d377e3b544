import Foundation

/// Binomial(n, p) probabilities computed in log space (via `lgamma`), so they neither overflow
/// nor underflow for n up to millions.
public enum BinomialDistribution {
    /// log C(n, k).
    public static func logChoose(_ n: Int, _ k: Int) -> Double {
        precondition(k >= 0 && k <= n, "logChoose needs 0 ≤ k ≤ n")
        return lgamma(Double(n) + 1) - lgamma(Double(k) + 1) - lgamma(Double(n - k) + 1)
    }

    /// log P(X = k); -∞ when k is impossible.
    public static func logPMF(_ k: Int, n: Int, p: Double) -> Double {
        guard k >= 0 && k <= n else { return -.infinity }
        if p <= 0 { return k == 0 ? 0 : -.infinity }
        if p >= 1 { return k == n ? 0 : -.infinity }
        return logChoose(n, k) + Double(k) * log(p) + Double(n - k) * log1p(-p)
    }

    /// P(X = k).
    public static func pmf(_ k: Int, n: Int, p: Double) -> Double { exp(logPMF(k, n: n, p: p)) }

    /// P(X ≥ k), the upper tail (k itself included).
    public static func upperTail(_ k: Int, n: Int, p: Double) -> Double {
        if k <= 0 { return 1 }
        if k > n { return 0 }
        if p <= 0 { return 0 }
        if p >= 1 { return 1 }
        // Sum from the side away from the mode, where the terms shrink, so the loop stops early.
        if Double(k) > Double(n + 1) * p { return sumUpward(from: k, n: n, p: p) }
        return max(0, 1 - sumDownward(from: k - 1, n: n, p: p))
    }

    /// P(X ≤ k), the lower tail (k itself included).
    public static func lowerTail(_ k: Int, n: Int, p: Double) -> Double {
        if k < 0 { return 0 }
        if k >= n { return 1 }
        if p <= 0 { return 1 }
        if p >= 1 { return 0 }
        if Double(k) < Double(n + 1) * p - 1 { return sumDownward(from: k, n: n, p: p) }
        return max(0, 1 - sumUpward(from: k + 1, n: n, p: p))
    }

    /// Σ_{i ≥ k} P(X = i), summing terms relative to P(X = k) until they become negligible.
    private static func sumUpward(from k: Int, n: Int, p: Double) -> Double {
        let odds = p / (1 - p)
        var term = 1.0, sum = 1.0, i = k
        while i < n {
            term *= Double(n - i) / Double(i + 1) * odds
            sum += term
            i += 1
            if term < sum * 1e-17 { break }
        }
        return min(1, exp(logPMF(k, n: n, p: p)) * sum)
    }

    /// Σ_{i ≤ k} P(X = i).
    private static func sumDownward(from k: Int, n: Int, p: Double) -> Double {
        let odds = (1 - p) / p
        var term = 1.0, sum = 1.0, i = k
        while i > 0 {
            term *= Double(i) / Double(n - i + 1) * odds
            sum += term
            i -= 1
            if term < sum * 1e-17 { break }
        }
        return min(1, exp(logPMF(k, n: n, p: p)) * sum)
    }
}
