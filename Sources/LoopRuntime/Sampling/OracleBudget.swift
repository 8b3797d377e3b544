import Foundation

/// The oracle budget: at most `callsPerHour` calls in any sliding hour and at most `costPerDay`
/// money in any sliding day (86,400 s). Time is always passed in (seconds on the caller's clock,
/// non-decreasing); nothing here reads a clock, so behavior is deterministic and testable.
///
/// Two mechanisms keep within it:
/// - a hard cap (`hasRoom`): a call is refused when it would exceed either limit;
/// - pacing (`pacingScale`): every sampling probability is scaled down by the same factor when
///   the projected demand (the sum of the probabilities the sampler *wanted* to apply, over the
///   window) would exceed `pacingTarget` of the budget. Pacing spreads the calls evenly so the
///   hard cap rarely bites, and every input keeps a nonzero inclusion probability.
public struct OracleBudget: Codable, Equatable, Sendable {
    public static let hour: Double = 3_600
    public static let day: Double = 86_400

    /// Oracle calls allowed in any sliding hour (nil: unlimited).
    public let callsPerHour: Int?
    /// Money allowed in any sliding day (nil: unlimited).
    public let costPerDay: Double?
    /// The share of the budget pacing aims for, leaving headroom for chance bursts (default 0.9).
    public var pacingTarget: Double

    private var callTimes = BudgetQueue<Double>()              // calls in the last hour
    private var costs = BudgetQueue<BudgetCostEvent>()           // costs in the last day
    private var costInWindow: Double = 0
    private var totalCalls = 0
    private var totalCost: Double = 0
    private var hourDemand = BudgetDemandWindow(width: OracleBudget.hour)
    private var dayDemand = BudgetDemandWindow(width: OracleBudget.day)

    public init(callsPerHour: Int? = nil, costPerDay: Double? = nil, pacingTarget: Double = 0.9) {
        self.callsPerHour = callsPerHour.map { max(0, $0) }
        self.costPerDay = costPerDay.map { max(0, $0) }
        self.pacingTarget = pacingTarget
    }

    /// True when neither limit is set.
    public var isUnlimited: Bool { callsPerHour == nil && costPerDay == nil }

    /// Calls made in the hour before `time` (a call at t counts while time − t < 1 h).
    /// Only tracked when `callsPerHour` is set.
    public func callsInLastHour(at time: Double) -> Int {
        callTimes.elements.reduce(0) { $0 + (time - $1 < OracleBudget.hour ? 1 : 0) }
    }

    /// Money spent in the day before `time`. Only tracked when `costPerDay` is set.
    public func costInLastDay(at time: Double) -> Double {
        max(0, costs.elements.reduce(0) { $0 + (time - $1.time < OracleBudget.day ? $1.cost : 0) })
    }

    /// True when one more call costing `cost` at `time` stays within both limits.
    public mutating func hasRoom(for cost: Double = 0, at time: Double) -> Bool {
        prune(at: time)
        if let limit = callsPerHour, callTimes.count >= limit { return false }
        if let limit = costPerDay, costInWindow + max(0, cost) > limit + 1e-12 { return false }
        return true
    }

    /// How many of the calls recorded do not fit the budget at `time`: those beyond the calls per
    /// hour, or all of them (`Int.max`) when the day's money is spent. O(1) past the pruning.
    public mutating func callsOver(at time: Double) -> Int {
        prune(at: time)
        if let limit = costPerDay, costInWindow > limit + 1e-12 { return Int.max }
        guard let limit = callsPerHour else { return 0 }
        return max(0, callTimes.count - limit)
    }

    /// Records an oracle call made at `time`, with its (estimated) cost.
    public mutating func recordCall(cost: Double = 0, at time: Double) {
        prune(at: time)
        totalCalls += 1
        if callsPerHour != nil { callTimes.append(time) }
        recordCost(cost, at: time)
    }

    /// Records money spent at `time` without a new call, e.g. the difference between a call's
    /// actual cost (known once the oracle answered) and the estimate recorded with `recordCall`.
    /// May be negative.
    public mutating func recordCost(_ cost: Double, at time: Double) {
        guard cost != 0 else { return }
        totalCost += cost
        if costPerDay != nil {
            costs.append(BudgetCostEvent(time: time, cost: cost))
            costInWindow += cost
        }
    }

    /// Notes that the sampler wanted to apply inclusion probability `probability` at `time`
    /// (before pacing): the expected number of oracle calls it asked for.
    public mutating func noteDemand(_ probability: Double, at time: Double) {
        if callsPerHour != nil { hourDemand.add(probability, at: time) }
        if costPerDay != nil { dayDemand.add(probability, at: time) }
    }

    /// The factor in (0, 1] every sampling probability is multiplied by so that the projected
    /// calls per hour and cost per day stay within `pacingTarget` of the limits.
    /// `expectedCost` is the cost of one call, used until calls with costs have been recorded.
    public mutating func pacingScale(expectedCost: Double = 0, at time: Double) -> Double {
        var scale = 1.0
        if let limit = callsPerHour {
            let projected = hourDemand.projectedTotal(at: time)
            if projected > 0 { scale = min(scale, pacingTarget * Double(limit) / projected) }
        }
        if let limit = costPerDay {
            let perCall = totalCalls > 0 && totalCost > 0 ? totalCost / Double(totalCalls) : max(0, expectedCost)
            let projected = dayDemand.projectedTotal(at: time) * perCall
            if projected > 0 { scale = min(scale, pacingTarget * limit / projected) }
        }
        // A zero budget samples nothing anyway; keep probabilities positive for the estimators.
        return min(1, max(scale, 1e-9))
    }

    private mutating func prune(at time: Double) {
        while let first = callTimes.first, time - first >= OracleBudget.hour { callTimes.removeFirst() }
        while let first = costs.first, time - first.time >= OracleBudget.day {
            costInWindow -= first.cost
            costs.removeFirst()
        }
        if costs.isEmpty { costInWindow = 0 }   // no floating-point drift once the window empties
    }
}

struct BudgetCostEvent: Codable, Equatable, Sendable {
    var time: Double
    var cost: Double
}

/// A FIFO queue over an array with a moving head (amortized O(1) at both ends).
struct BudgetQueue<Element: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    private var items: [Element] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }
    var first: Element? { isEmpty ? nil : items[head] }
    var elements: ArraySlice<Element> { items[head...] }

    mutating func append(_ element: Element) { items.append(element) }

    mutating func removeFirst() {
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true); head = 0
        } else if head >= 1024 && head * 2 >= items.count {
            items.removeFirst(head); head = 0
        }
    }
}

/// A sliding sum over a time window, kept in 60 buckets (so it is approximate to a bucket's
/// width).
struct BudgetDemandWindow: Codable, Equatable, Sendable {
    let width: Double
    let bucketWidth: Double
    private var buckets = BudgetQueue<BudgetBucket>()   // closed buckets, oldest first
    private var bucketsSum: Double = 0
    private var lastIndex: Int?                          // the open bucket
    private var lastSum: Double = 0
    private var start: Double?

    init(width: Double) { self.width = width; bucketWidth = width / 60 }

    mutating func add(_ value: Double, at time: Double) {
        if start == nil { start = time }
        let index = Int((time / bucketWidth).rounded(.down))
        if index == lastIndex {
            lastSum += value
        } else {
            if let last = lastIndex {
                buckets.append(BudgetBucket(index: last, sum: lastSum))
                bucketsSum += lastSum
            }
            lastIndex = index; lastSum = value
        }
    }

    /// The sum over the last window, extrapolated to a whole window while less than one has
    /// elapsed (from at least one bucket's width, so the very first inputs don't swing it).
    /// Extrapolating early is what keeps a fresh start from spending the window's budget at once.
    mutating func projectedTotal(at time: Double) -> Double {
        guard let start else { return 0 }
        let oldest = Int(((time - width) / bucketWidth).rounded(.down))
        while let first = buckets.first, first.index <= oldest {
            bucketsSum -= first.sum
            buckets.removeFirst()
        }
        if buckets.isEmpty { bucketsSum = 0 }
        let open = lastIndex.map { $0 > oldest ? lastSum : 0 } ?? 0
        let elapsed = min(width, max(time - start, bucketWidth))
        return max(0, bucketsSum + open) * width / elapsed
    }
}

struct BudgetBucket: Codable, Equatable, Sendable {
    var index: Int
    var sum: Double
}
