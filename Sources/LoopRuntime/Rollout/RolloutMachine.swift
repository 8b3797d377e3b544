import Foundation

/// The rollout of a candidate as a pure state machine: the candidate's state and the number of
/// requests so far whose evidence is in (the engine's `evidenceThrough`: every sample of them
/// validated), what happens next out. No store, no clock, no LLM: the engine applies the
/// outcome (publishes a snapshot, records the rollout row, writes the event).
public enum RolloutMachine {
    public struct Policy: Sendable {
        public var significance: Double
        public var canarySteps: [Double]
        /// Requests (with their evidence in) a candidate may stay in shadow before it is decided on without a significant result.
        public var shadowLimit: Int
        /// Requests (with their evidence in) each canary step lasts.
        public var canaryStepLength: Int

        public init(significance: Double, canarySteps: [Double], shadowLimit: Int, canaryStepLength: Int) {
            self.significance = significance; self.canarySteps = canarySteps
            self.shadowLimit = shadowLimit; self.canaryStepLength = canaryStepLength
        }
    }

    public enum Outcome: Equatable {
        /// Nothing changes yet.
        case stay
        /// Into canary, or to its next step; the candidate as it is now, and why.
        case canary(DriverState.Candidate, why: String)
        /// The last canary step passed: the candidate becomes the active version.
        case promote(DriverState.Candidate)
        /// Out: `rolledBack` when it regressed in canary, `rejected` otherwise.
        case reject(why: String, rolledBack: Bool)
    }

    public static func step(_ c: DriverState.Candidate, requests: Int, policy: Policy) -> Outcome {
        switch c.stage {
        case .shadow:
            let wins = c.paired.candidateWins, losses = c.paired.currentWins
            let elapsed = requests - c.since
            if wins > losses && c.paired.pValue < policy.significance {
                var n = c
                n.stage = .canary; n.step = 0; n.share = policy.canarySteps.first ?? 1; n.since = requests
                return .canary(n, why: String(format: "won in shadow %d–%d (p = %.4f); canary at %.0f%%", wins, losses, c.paired.pValue, n.share * 100))
            }
            if SignificanceTests.signTest(wins: losses, losses: wins) < policy.significance {
                return .reject(why: String(format: "lost in shadow %d–%d", wins, losses), rolledBack: false)
            }
            guard elapsed >= policy.shadowLimit else { return .stay }
            // It never lost on new traffic and was better on the validated inputs when it was
            // tested: at least as good live, better on the known failures. Canary decides.
            if losses == 0 && wins >= 0 && c.validatedGain > 0 {
                var n = c
                n.stage = .canary; n.step = 0; n.share = policy.canarySteps.first ?? 1; n.since = requests
                return .canary(n, why: String(format: "never lost in shadow after %d requests (%d–%d) and right on %d more validated inputs; canary at %.0f%%",
                                              elapsed, wins, losses, c.validatedGain, n.share * 100))
            }
            if losses > wins { return .reject(why: String(format: "lost in shadow %d–%d", wins, losses), rolledBack: false) }
            let why = String(format: "no significant win in shadow after %d requests (%d–%d)", elapsed, wins, losses)
            return .reject(why: why + (losses == 0 ? ", and no gain on the validated inputs" : ""), rolledBack: false)
        case .canary:
            let pBelow = SignificanceTests.agreementBelow(c.canary, baseline: c.base)
            let lostPairs = SignificanceTests.signTest(wins: c.paired.currentWins, losses: c.paired.candidateWins) < policy.significance
                && c.paired.currentWins > c.paired.candidateWins
            if (c.canary.count >= 10 && pBelow < policy.significance) || lostPairs {
                return .reject(why: String(format: "regressed at %.0f%% canary (p = %.4f)", c.share * 100, min(pBelow, c.paired.regressionPValue)), rolledBack: true)
            }
            guard requests - c.since >= policy.canaryStepLength else { return .stay }
            if c.step + 1 < policy.canarySteps.count {
                var n = c
                n.step += 1; n.share = policy.canarySteps[n.step]; n.since = requests
                return .canary(n, why: String(format: "canary at %.0f%%", n.share * 100))
            }
            return .promote(c)
        }
    }
}
