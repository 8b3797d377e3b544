import XCTest
@testable import LoopRuntime

/// The rollout state machine alone: no store, no LLM, no clock.
final class RolloutMachineTests: XCTestCase {
    let policy = RolloutMachine.Policy(significance: 0.05, canarySteps: [0.1, 0.5, 1], shadowLimit: 800, canaryStepLength: 200)

    func candidate(wins: Int, losses: Int, stage: DriverState.Candidate.Stage = .shadow, gain: Int = 0) -> DriverState.Candidate {
        var c = DriverState.Candidate(versionId: 2, stage: stage, since: 1000, why: "test")
        for _ in 0..<wins { c.paired.record(candidateCorrect: true, currentCorrect: false) }
        for _ in 0..<losses { c.paired.record(candidateCorrect: false, currentCorrect: true) }
        c.validatedGain = gain
        return c
    }

    func testASignificantShadowWinGoesToTheFirstCanaryStep() {
        guard case .canary(let n, let why) = RolloutMachine.step(candidate(wins: 7, losses: 0), requests: 1100, policy: policy) else { return XCTFail() }
        XCTAssertEqual(n.stage, .canary)
        XCTAssertEqual(n.share, 0.1)
        XCTAssertEqual(n.since, 1100)
        XCTAssertTrue(why.hasPrefix("won in shadow 7–0"), why)
    }

    func testShadowWaitsThenDecides() {
        XCTAssertEqual(RolloutMachine.step(candidate(wins: 2, losses: 1), requests: 1500, policy: policy), .stay)
        XCTAssertEqual(RolloutMachine.step(candidate(wins: 0, losses: 7), requests: 1100, policy: policy), .reject(why: "lost in shadow 0–7", rolledBack: false))
        guard case .reject(let why, false) = RolloutMachine.step(candidate(wins: 2, losses: 1), requests: 1800, policy: policy) else { return XCTFail() }
        XCTAssertEqual(why, "no significant win in shadow after 800 requests (2–1)")
    }

    /// A candidate that never disagreed on new traffic but was better on the known failures is
    /// at least as good live: it goes to canary; without that gain it is rejected, saying why.
    func testAZeroZeroShadowGoesToCanaryOnlyWithAGainOnTheValidatedInputs() {
        guard case .canary(let n, let why) = RolloutMachine.step(candidate(wins: 0, losses: 0, gain: 3), requests: 1800, policy: policy) else { return XCTFail() }
        XCTAssertEqual(n.share, 0.1)
        XCTAssertTrue(why.contains("right on 3 more validated inputs"), why)
        guard case .reject(let w, false) = RolloutMachine.step(candidate(wins: 0, losses: 0, gain: 0), requests: 1800, policy: policy) else { return XCTFail() }
        XCTAssertTrue(w.hasSuffix("and no gain on the validated inputs"), w)
    }

    func testCanaryStepsThenPromotes() {
        var c = candidate(wins: 0, losses: 0, stage: .canary)
        c.share = 0.1
        XCTAssertEqual(RolloutMachine.step(c, requests: 1100, policy: policy), .stay)
        guard case .canary(let n, _) = RolloutMachine.step(c, requests: 1200, policy: policy) else { return XCTFail() }
        XCTAssertEqual(n.step, 1)
        XCTAssertEqual(n.share, 0.5)
        var last = n
        last.step = 2; last.share = 1; last.since = 1400
        XCTAssertEqual(RolloutMachine.step(last, requests: 1600, policy: policy), .promote(last))
    }

    func testACanaryThatRegressesIsRolledBack() {
        var c = candidate(wins: 0, losses: 0, stage: .canary)
        c.share = 0.1
        for _ in 0..<40 { c.canary.add(agree: false, probability: 0.1) }
        for _ in 0..<400 { c.base.add(agree: true, probability: 0.1) }
        guard case .reject(let why, true) = RolloutMachine.step(c, requests: 1050, policy: policy) else { return XCTFail() }
        XCTAssertTrue(why.hasPrefix("regressed at 10% canary"), why)
    }
}
