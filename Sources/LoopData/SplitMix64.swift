/// A small, fast, seeded random number generator (SplitMix64): the same seed gives the same
/// draws on every machine, so splits, shuffles and sampling decisions are reproducible.
public struct SplitMix64: RandomNumberGenerator, Codable, Sendable, Equatable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A Fisher–Yates shuffle of `xs` with this seed.
    public static func shuffled<T>(_ xs: [T], seed: UInt64) -> [T] {
        var a = xs
        var g = SplitMix64(seed: seed)
        if a.count > 1 {
            for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        }
        return a
    }
}
