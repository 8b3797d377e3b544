/// Importance-weighted agreement over the most recent `capacity` validations (a sliding window),
/// for noticing a drop quickly instead of averaging it away over the whole history.
public struct WindowedAgreement: Codable, Equatable, Sendable {
    /// The most validations the window holds.
    public let capacity: Int
    private var samples: [Sample] = []
    private var next = 0   // where the next sample goes once the buffer is full

    private struct Sample: Codable, Equatable, Sendable { var agree: Bool; var weight: Double }

    public init(capacity: Int) {
        precondition(capacity > 0, "window capacity must be positive")
        self.capacity = capacity
        samples.reserveCapacity(capacity)
    }

    /// Validations currently in the window.
    public var count: Int { samples.count }
    public var isFull: Bool { samples.count == capacity }

    /// Adds a validation, dropping the oldest once the window is full.
    public mutating func add(agree: Bool, probability: Double) {
        precondition(probability > 0 && probability <= 1, "inclusion probability must be in (0, 1]")
        let sample = Sample(agree: agree, weight: 1 / probability)
        if samples.count < capacity {
            samples.append(sample)
        } else {
            samples[next] = sample
            next = (next + 1) % capacity
        }
    }

    /// Empties the window (e.g. after a new program version is rolled out).
    public mutating func removeAll() { samples.removeAll(keepingCapacity: true); next = 0 }

    /// The window's samples as an estimator (estimate, interval, effective size...). O(capacity).
    public var estimator: AgreementEstimator {
        var e = AgreementEstimator()
        for s in samples { e.add(agree: s.agree, weight: s.weight) }
        return e
    }

    /// The weighted agreement over the window; nil when empty.
    public var estimate: Double? { estimator.estimate }

    /// The confidence interval of the window's agreement; nil when empty.
    public func interval(level: Double = 0.95) -> ConfidenceInterval? { estimator.interval(level: level) }
}
