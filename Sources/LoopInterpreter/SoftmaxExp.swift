/// The exponential the softmax confidence uses, defined by Loop rather than borrowed from a C
/// library, so that every engine computes it identically and a compiled program can compute
/// many at once in vector registers: `k = ⌊x/ln 2 + ½⌋`, `r = (x − k·ln2_hi) − k·ln2_lo`, the
/// degree-13 Taylor polynomial for `e^r`, times `2^k`. The polynomial is `1 + (r + r²·T)`, with
/// T (the terms from r² on, divided by r²) in Estrin's form (`tail`): its chain of dependent
/// operations is a third of Horner's, so a compiled program's vectors of four labels overlap in
/// the pipeline instead of waiting on each other. Only IEEE additions and multiplications, in
/// this order, no fused multiply-add; within one ulp of the C library's `exp`.
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
    /// 1/n! for n = 0 through 13.
    public static let taylor: [Double] = (0...13).map { n in 1.0 / (1...max(n, 1)).reduce(1.0) { $0 * Double($1) } }
    /// 2^52 + 1023: adding it to an integral k in [−1022, 1023] leaves k + 1023 in the low bits.
    public static let exponentBias = 4503599627370496.0 + 1023.0

    @inline(__always)
    public static func exp(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x <= lowest { return 0 }
        if x > highest { return .infinity }
        let k = (x * invLn2 + 0.5).rounded(.down)
        let r = (x - k * ln2Hi) - k * ln2Lo
        let p = polynomial(r, r * r, constant: { $0 }, add: +, mul: *)
        let scale = Double(bitPattern: (k + exponentBias).bitPattern << 52)
        return p * scale
    }

    /// `1 + (r + r²·T)`, T = Σ_{n=2…13} rⁿ⁻²/n! by Estrin's scheme: pairs `c[n] + c[n+1]·r`, then
    /// `u0 = q0 + q1·r²`, `u1 = q2 + q3·r²`, `u2 = q4 + q5·r²`, `v = u0 + u1·r⁴`, `T = v + u2·r⁸`
    /// (r⁴ = r²·r², r⁸ = r⁴·r⁴). Generic so that the compiler emits the very same operations on
    /// vectors (`add` and `mul` are IEEE additions and multiplications, lane by lane).
    @inline(__always)
    public static func polynomial<T>(_ r: T, _ r2: T, constant c: (Double) -> T, add: (T, T) -> T, mul: (T, T) -> T) -> T {
        let r4 = mul(r2, r2), r8 = mul(r4, r4)
        func pair(_ n: Int) -> T { add(c(taylor[n]), mul(c(taylor[n + 1]), r)) }
        let u0 = add(pair(2), mul(pair(4), r2)), u1 = add(pair(6), mul(pair(8), r2)), u2 = add(pair(10), mul(pair(12), r2))
        let t = add(add(u0, mul(u1, r4)), mul(u2, r8))
        return add(c(taylor[0]), add(r, mul(r2, t)))
    }
}
