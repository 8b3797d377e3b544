import Foundation
import LoopData
import LoopDiagnostics
import LoopStore

/// How a request is known: by the replay's line number or by the caller's (or server's) id.
/// Canary routing hashes it, so the same request is routed the same way by every process and
/// after a restart.
public enum RequestKey: Sendable, Equatable {
    case seq(Int)
    case id(String)

    /// A uniform 64-bit hash (SplitMix64's finalizer over the number, or over FNV-1a of the id).
    public var routingHash: UInt64 {
        var h: UInt64
        switch self {
        case .seq(let s): h = UInt64(bitPattern: Int64(s)) &+ 0x9E3779B97F4A7C15
        case .id(let s): h = StableHash.fnv1a64(s.utf8) &+ 0x9E3779B97F4A7C15
        }
        h = (h ^ (h >> 30)) &* 0xBF58476D1CE4E5B9
        h = (h ^ (h >> 27)) &* 0x94D049BB133111EB
        h ^= h >> 31
        return h
    }

    /// The id as stored with a sampled execution.
    public var text: String {
        switch self { case .seq(let s): return String(s); case .id(let s): return s }
    }
}

/// What the request path serves with: the active program, the candidate (in shadow or canary)
/// and the candidate's share. Immutable; the control side builds a new one and swaps it in
/// (`SnapshotCell`), so a request sees one consistent version pair from start to end.
public final class ServingSnapshot: @unchecked Sendable {
    public let active: LoadedProgram
    public let candidate: LoadedProgram?
    /// Share of requests the candidate answers (0 in shadow or without a candidate).
    public let canaryShare: Double
    /// Increases with every swap.
    public let generation: Int

    public init(active: LoadedProgram, candidate: LoadedProgram? = nil, canaryShare: Double = 0, generation: Int = 0) {
        self.active = active
        self.candidate = candidate
        self.canaryShare = candidate == nil ? 0 : canaryShare
        self.generation = generation
    }

    /// True when the candidate answers the request `key`.
    public func servedByCandidate(_ key: RequestKey) -> Bool {
        guard candidate != nil, canaryShare > 0 else { return false }
        return Double(key.routingHash >> 11) / Double(1 << 53) < canaryShare
    }

    /// The answer to a request and, with a candidate, what the other version would have said.
    public func classify(_ input: JSON, key: RequestKey) -> (result: Result<Answer, InputError>, servedByCandidate: Bool) {
        let byCandidate = servedByCandidate(key)
        return ((byCandidate ? candidate! : active).classify(input), byCandidate)
    }

    /// Many requests: each version classifies its share of the `n` requests in one call
    /// (`classify(program, indices)`), the candidate's share being those `byCandidate` marks
    /// (empty: none); with a candidate, the version that did not answer a request gives its answer
    /// beside (shadow) when `shadowed` accepts the request's answer. Answers land at their
    /// requests' indices in `answers` and `others`. Returns the nanoseconds the answering calls
    /// took (the requests' latency; the shadow calls are not part of it).
    @discardableResult
    func classifyShares<R>(_ n: Int, byCandidate: [Bool], answers: inout [R], others: inout [R],
                           classify: (LoadedProgram, [Int]) -> [R], shadowed: (R) -> Bool) -> UInt64 {
        var answering: UInt64 = 0
        for (program, chosen) in [(active, false), (candidate, true)] {
            guard let program else { continue }
            let idx = byCandidate.isEmpty ? (chosen ? [] : Array(0..<n)) : (0..<n).filter { byCandidate[$0] == chosen }
            guard !idx.isEmpty else { continue }
            let t0 = DispatchTime.now().uptimeNanoseconds
            for (i, a) in zip(idx, classify(program, idx)) { answers[i] = a }
            answering += DispatchTime.now().uptimeNanoseconds - t0
            if let other = chosen ? active : candidate {
                let ok = idx.filter { shadowed(answers[$0]) }
                for (i, a) in zip(ok, classify(other, ok)) { others[i] = a }
            }
        }
        return answering
    }

    public func shadowAnswer(_ input: JSON, servedByCandidate: Bool) -> Answer? {
        guard let c = candidate else { return nil }
        return try? (servedByCandidate ? active : c).classify(input).get()
    }
}

/// The one mutable reference to the serving snapshot: readers take it under a lock held for a
/// pointer copy; the control side replaces it.
public final class SnapshotCell: @unchecked Sendable {
    private let lock = SpinningMutex()
    private var snapshot: ServingSnapshot

    public init(_ s: ServingSnapshot) { snapshot = s }

    public var current: ServingSnapshot {
        lock.lock(); defer { lock.unlock() }
        return snapshot
    }

    /// Installs a new snapshot built from the current one (its generation is set here).
    public func swap(active: LoadedProgram, candidate: LoadedProgram?, canaryShare: Double) {
        lock.lock()
        let replaced = snapshot
        snapshot = ServingSnapshot(active: active, candidate: candidate, canaryShare: canaryShare, generation: replaced.generation + 1)
        lock.unlock()
        // The replaced snapshot (perhaps the last reference to a retired program) is released
        // after the lock, which the request path takes.
        _ = replaced
    }
}
