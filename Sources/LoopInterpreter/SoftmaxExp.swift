/// The exponential the softmax confidence uses, defined by Loop rather than borrowed from a C
/// library, so that every engine computes it identically and a compiled program can compute
/// many at once in vector registers: `k = ⌊x/ln 2 + ½⌋`, `r = (x − k·ln2_hi) − k·ln2_lo`, a
/// degree-13 Taylor polynomial for `e^r` in Horner form, times `2^k`. Only IEEE additions and
/// multiplications, in this order, no fused multiply-add; within 2 ulp of the true value.
/// Below −708 it is 0 (the true value is subnormal and adds nothing to a denominator of at
/// least 1), above 709 +∞, and NaN stays NaN.
public enum SoftmaxExp {
    /// The softmax denominator's partial sums (label j goes to sum j mod 4): four independent
    /// chains of additions instead of one, and one vector register's worth in compiled code.
    public static let partialSums = 4
    public static let invLn2 = 1.44269504088896338700e+00
    /// ln 2 split so that `k · ln2Hi` is exact for every |k| ≤ 1024 (fdlibm's constants).
    public static let ln2Hi = 6.93147180369123816490e-01
    public static let ln2Lo = 1.90821492927058770002e-10
    public static let lowest = -708.0
    public static let highest = 709.0
    /// 1/n! for n = 13 down to 0: Horner's order.
    public static let taylor: [Double] = (0...13).reversed().map { n in 1.0 / (1...max(n, 1)).reduce(1.0) { $0 * Double($1) } }
    /// 2^52 + 1023: adding it to an integral k in [−1022, 1023] leaves k + 1023 in the low bits.
    public static let exponentBias = 4503599627370496.0 + 1023.0

    @inline(__always)
    public static func exp(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x <= lowest { return 0 }
        if x > highest { return .infinity }
        let k = (x * invLn2 + 0.5).rounded(.down)
        let r = (x - k * ln2Hi) - k * ln2Lo
        var p = taylor[0]
        for i in 1..<taylor.count { p = p * r + taylor[i] }
        let scale = Double(bitPattern: (k + exponentBias).bitPattern << 52)
        return p * scale
    }
}
