import LoopData

/// The sampler's seeded generator (SplitMix64), so sampling decisions are reproducible: the same
/// seed and the same inputs give the same samples.
public typealias SamplingRNG = SplitMix64
