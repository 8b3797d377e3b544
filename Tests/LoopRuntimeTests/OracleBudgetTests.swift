import XCTest
import LoopTask
@testable import LoopRuntime

final class OracleBudgetTests: XCTestCase {
    private func hardCapSampler(callsPerHour: Int? = nil, costPerDay: Double? = nil) -> Sampler {
        var configuration = SamplerConfiguration(strategy: .random, rate: 1, callsPerHour: callsPerHour, costPerDay: costPerDay)
        configuration.pacing = false
        return Sampler(configuration: configuration, seed: 1)
    }

    func testCallsPerHourHardCapAndSlidingWindow() {
        var s = hardCapSampler(callsPerHour: 10)
        var sampledTimes: [Double] = []
        for minute in 0..<180 {   // one input a minute for three hours
            let t = Double(minute) * 60
            let d = s.decide(SampleContext(label: "a", time: t))
            if d.sampled { sampledTimes.append(t) }
            XCTAssertEqual(d.probability, 1)
        }
        // Minutes 0–9 of each hour: the window slides, so each call frees its slot an hour later.
        XCTAssertEqual(sampledTimes.count, 30)
        XCTAssertEqual(Array(sampledTimes.prefix(11)), (0..<10).map { Double($0) * 60 } + [3_600])
        for t in sampledTimes {
            XCTAssertLessThanOrEqual(sampledTimes.filter { $0 > t - 3_600 && $0 <= t }.count, 10)
        }
        XCTAssertEqual(s.skippedByBudget, 150, "inputs the draw chose but the budget refused")
        XCTAssertEqual(s.seenWhileExhausted, 150)
        XCTAssertEqual(s.sampled, 30)
    }

    func testCostPerDayWithCorrections() {
        var s = hardCapSampler(costPerDay: 10)
        var perDay = [0, 0, 0]
        for hour in 0..<72 {
            let t = Double(hour) * 3_600
            let d = s.decide(SampleContext(label: "a", time: t), estimatedCost: 2)
            if d.sampled { perDay[hour / 24] += 1 }
        }
        XCTAssertEqual(perDay, [5, 5, 5])

        // An actual cost above the estimate leaves less room.
        var t2 = hardCapSampler(costPerDay: 10)
        var calls = 0
        for hour in 0..<24 {
            let t = Double(hour) * 3_600
            if t2.decide(SampleContext(label: "a", time: t), estimatedCost: 2).sampled {
                calls += 1
                t2.recordOracleCost(2, at: t)   // it really cost 4
            }
        }
        XCTAssertEqual(calls, 3, "4 + 4 spent, a third estimated at 2 fits, then 12 > 10")
        XCTAssertEqual(t2.budget.callsInLastHour(at: 0), 0, "no hourly limit, nothing tracked")
    }

    /// Calls learned of after charging (another replica's) can put the budget over: `callsOver`
    /// says by how many, until the window slides past them; money spent past the day's limit
    /// puts every call over.
    func testCallsOverTheBudget() {
        var b = OracleBudget(callsPerHour: 3)
        for k in 0..<5 { b.recordCall(at: Double(k)) }
        XCTAssertEqual(b.callsOver(at: 10), 2)
        XCTAssertEqual(b.callsOver(at: 3_600.5), 1, "the first call left the hour")
        XCTAssertEqual(b.callsOver(at: 7_200), 0)
        var m = OracleBudget(costPerDay: 10)
        m.recordCall(cost: 6, at: 0)
        XCTAssertEqual(m.callsOver(at: 1), 0)
        m.recordCost(5, at: 1)
        XCTAssertEqual(m.callsOver(at: 2), Int.max)
        XCTAssertEqual(m.callsOver(at: 86_402), 0, "a day later")
        var none = OracleBudget()
        XCTAssertEqual(none.callsOver(at: 0), 0, "unlimited")
    }

    func testBudgetWindowsSlide() {
        var b = OracleBudget(callsPerHour: 3, costPerDay: 5)
        XCTAssertTrue(b.hasRoom(for: 1, at: 0))
        b.recordCall(cost: 1, at: 0)
        b.recordCall(cost: 1, at: 100)
        b.recordCall(cost: 1, at: 200)
        XCTAssertFalse(b.hasRoom(for: 1, at: 300))
        XCTAssertEqual(b.callsInLastHour(at: 3_599), 3)
        XCTAssertEqual(b.callsInLastHour(at: 3_600), 2)
        XCTAssertTrue(b.hasRoom(for: 1, at: 3_600))
        b.recordCall(cost: 1, at: 3_600)
        b.recordCall(cost: 1, at: 3_700)
        XCTAssertEqual(b.costInLastDay(at: 3_700), 5)
        XCTAssertFalse(b.hasRoom(for: 1, at: 7_500), "hourly room again, but the day's money is spent")
        XCTAssertTrue(b.hasRoom(for: 0, at: 7_500))
        XCTAssertEqual(b.costInLastDay(at: 86_400), 4)
        XCTAssertTrue(b.hasRoom(for: 1, at: 86_400))
    }

    /// With pacing, probabilities shrink evenly ahead of the budget: the hard cap is hardly ever
    /// reached, and the recorded probability is the one applied.
    func testPacingSpreadsTheBudget() {
        var s = Sampler(configuration: SamplerConfiguration(strategy: .random, rate: 1, callsPerHour: 100), seed: 3)
        var times: [Double] = []
        var probabilities: [Double] = []
        for second in 0..<(5 * 3_600) {
            let d = s.decide(SampleContext(label: "a", time: Double(second)))
            if d.sampled { times.append(Double(second)) }
            if second >= 3_600 { probabilities.append(d.probability) }
        }
        for t in times { XCTAssertLessThanOrEqual(times.filter { $0 > t - 3_600 && $0 <= t }.count, 100) }
        XCTAssertGreaterThan(times.count, 400)
        XCTAssertLessThan(Double(s.seenWhileExhausted) / Double(s.seen), 0.05, "exhausted \(s.seenWhileExhausted)")
        let mean = probabilities.reduce(0, +) / Double(probabilities.count)
        XCTAssertEqual(mean, 0.9 * 100 / 3_600, accuracy: 0.003)
        // Every hour gets calls, not just its first minutes.
        for hour in 0..<5 {
            let inLastHalf = times.filter { $0 >= Double(hour) * 3_600 + 1_800 && $0 < Double(hour + 1) * 3_600 }.count
            XCTAssertGreaterThan(inLastHalf, 30, "hour \(hour)")
        }
    }
}
