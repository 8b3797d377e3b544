/// Importance-weighted precision of each rule: among the inputs a rule decided, the share the
/// oracle labeled the same way. A rule whose precision falls is the place to improve first.
public struct PrecisionByRule: Codable, Equatable, Sendable {
    /// The key used for inputs no rule decided (the program's default).
    public static let defaultRuleKey = "(default)"

    /// Per rule, its estimator.
    public private(set) var rules: [String: AgreementEstimator] = [:]

    public init() {}

    /// Adds a validation of an input decided by `rule` (nil: the default), sampled with
    /// inclusion probability `probability`.
    public mutating func add(rule: String?, agree: Bool, probability: Double) {
        rules[rule ?? Self.defaultRuleKey, default: AgreementEstimator()].add(agree: agree, probability: probability)
    }

    /// The estimator of one rule (nil: the default rule), if it has validations.
    public subscript(rule: String?) -> AgreementEstimator? { rules[rule ?? Self.defaultRuleKey] }

    /// One rule's summary.
    public struct Entry: Codable, Equatable, Sendable {
        public var rule: String
        /// Validated samples of this rule.
        public var count: Int
        /// Of them, how many the oracle agreed with.
        public var agreements: Int
        /// The weighted precision.
        public var precision: Double
        public var interval: ConfidenceInterval?
    }

    /// Every rule with validations, sorted by rule name.
    public func entries(level: Double = 0.95) -> [Entry] {
        rules.keys.sorted().compactMap { rule in
            let e = rules[rule]!
            guard let p = e.estimate else { return nil }
            return Entry(rule: rule, count: e.count, agreements: e.agreements, precision: p, interval: e.interval(level: level))
        }
    }

    /// Rules with at least `minimumCount` validations whose weighted precision is below `floor`,
    /// worst first.
    public func rules(below floor: Double, minimumCount: Int, level: Double = 0.95) -> [Entry] {
        entries(level: level).filter { $0.count >= minimumCount && $0.precision < floor }
            .sorted { ($0.precision, $0.rule) < ($1.precision, $1.rule) }
    }
}
