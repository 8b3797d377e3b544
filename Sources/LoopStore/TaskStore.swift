import Foundation
import LoopDiagnostics

/// The validation store of one task, as the loop and the server use it: domain operations only
/// (versions, runs, validations, rollouts, escalations, the ledger, the timeline), no database
/// type in sight. Every backend scopes every row by `task`, so several tasks (and, with
/// PostgreSQL, several replicas) share one database.
///
/// Every unit of work that must not be counted twice is one call: `commit` writes a step's
/// executions, answers, comparisons, ledger entries, counters, timeline points, decisions and the
/// driver's state, and advances the run's cursor, in one transaction. Promotion is a
/// compare-and-swap on the task's active version (`recordRollout`, and `commit` with a `.rollout`).
public protocol TaskStore: AnyObject, Sendable {
    /// The task every operation is scoped to.
    var task: String { get }
    /// Where the store is, for people (a path, or a URL without its password).
    var location: String { get }

    // MARK: Versions
    /// All versions of the task, oldest first.
    func versions() throws -> [ProgramVersion]
    func version(id: Int64) throws -> ProgramVersion?
    /// The active version (the latest, should there be several).
    func activeVersion() throws -> ProgramVersion?
    func addVersion(_ version: ProgramVersion) throws -> ProgramVersion
    func setStatus(of versionId: Int64, to status: VersionStatus, canaryShare: Double?, note: String?) throws
    /// Inserts the rollout step and moves the candidate's status with it; a promotion fails with
    /// `StoreError.invalidTransition` when the active version is no longer the rollout's base.
    func recordRollout(_ rollout: Rollout) throws -> Rollout
    /// Rollout steps, oldest first; all of them, or one candidate's.
    func rollouts(candidate: Int64?) throws -> [Rollout]

    // MARK: Runs
    func startRun(streamPath: String, config: String, at time: Double) throws -> Run
    func finishRun(runId: Int64, at time: Double) throws
    func run(id: Int64) throws -> Run?
    /// The latest run of the task (what a restart resumes).
    func latestRun() throws -> Run?
    func runs() throws -> [Run]
    /// The run's counters (absent keys are 0).
    func counters(run: Int64) throws -> [String: Double]
    /// The run's timeline points, oldest first.
    func timeline(run: Int64) throws -> [TimelinePoint]

    /// Writes one step of a run in one transaction (see `StoreCommit`).
    @discardableResult
    func commit(_ commit: StoreCommit) throws -> CommitResult

    // MARK: Validations
    /// The run's stored executions in request order.
    func executions(run: Int64) throws -> [Execution]
    /// Oracle answers for an input, oldest first.
    func answers(inputHash: String) throws -> [OracleAnswer]
    /// The latest valid oracle label of each input that has one (tier 2), in one lookup.
    func latestLabels(inputHashes: [String]) throws -> [String: String]
    /// Comparisons, oldest first; all of them, or one version's.
    func comparisons(version: Int64?) throws -> [Comparison]
    /// Every input the oracle labeled validly, once per input hash, with the latest valid label,
    /// in order of first validation (answers with no input text stored anywhere are left out).
    func validatedInputs() throws -> [ValidatedInput]

    // MARK: Ledger
    /// Ledger sums by purpose, over one run or (nil) the whole task.
    func ledgerTotals(run: Int64?) throws -> [String: LedgerTotals]
    func ledger(run: Int64?) throws -> [LedgerEntry]
    /// Records LLM calls made outside a run's step (e.g. generation by hand).
    func recordLedger(_ entries: [LedgerEntry]) throws

    // MARK: Escalations
    func escalations(status: EscalationStatus?) throws -> [Escalation]
    func escalation(id: Int64) throws -> Escalation?
    func openEscalation(_ escalation: Escalation) throws -> Escalation
    /// Marks an open escalation resolved (by `versionId`, if any).
    func resolveEscalation(id: Int64, versionId: Int64?, at time: Double) throws -> Escalation
    /// Resolves an open escalation with a program written by hand, in one transaction: the version
    /// is added as a child of `base` and promoted over it (compare-and-swap), the escalation marked
    /// resolved by it, and every version still rolling out rejected as superseded.
    func resolveEscalation(id: Int64, source: String, base: Int64?, provenance: String, evidence: String) throws -> ProgramVersion

    // MARK: Replicas (several processes serving one task)
    /// Claims, or renews, the task's leadership for `holder` for `seconds` on the database's
    /// clock; true when `holder` leads now. A store for one process (SQLite) always says yes.
    func claimLeadership(holder: String, seconds: Double) throws -> Bool
    /// Gives the leadership up (a clean shutdown), so another replica takes over at once.
    func releaseLeadership(holder: String) throws
    /// The replica leading the task while its lease runs (nil for a store of one process).
    func leader() throws -> String?
    /// The versions in play: the active one and any in shadow or canary, oldest first.
    func versionsInPlay() throws -> [ProgramVersion]
    /// One version's weighted comparisons over every replica's validations (weight > 0 only);
    /// with `since`, only of inputs served from then on (seconds since 1970); with
    /// `excludingRun`, without that run's (a replica adding the others' to its own).
    func agreementSums(version: Int64, since: Double?, excludingRun: Int64?) throws -> AgreementSums
    /// Oracle answers (LLM or labels) that other runs of the task stored after answer `afterId`
    /// and at or after `since` (seconds since 1970), oldest first, at most `limit`: what the other
    /// replicas spent of the task's oracle budget.
    func oracleCallsElsewhere(afterId: Int64, since: Double, excludingRun: Int64, limit: Int) throws -> [OracleCall]

    /// True when `error` says the store could not be reached or could not write for now (the
    /// server restarting, the disk full), as opposed to a refusal of what was written: a step
    /// that failed so keeps its rows for the next commit.
    func isOutage(_ error: Error) -> Bool

    /// Closes the store's connections (a process that stops); the store is unusable afterwards.
    func shutdown()

    /// Calls `onChange` (on any thread; it must not block) soon after another process records a
    /// rollout step of the task, so a follower need not wait for its next step to see it. Without
    /// other processes (SQLite) it never calls; polling at every step stays the fallback.
    func watchVersions(_ onChange: @escaping @Sendable () -> Void)
}

/// One oracle answer, as the budget counts it.
public struct OracleCall: Sendable, Equatable {
    public var id: Int64
    public var time: Double
    public var cost: Double
    public init(id: Int64, time: Double, cost: Double) { self.id = id; self.time = time; self.cost = cost }
}

/// Sums for a Horvitz–Thompson ratio estimate of agreement: Σw·agree / Σw, with Σw² for the
/// effective sample size.
public struct AgreementSums: Sendable, Equatable {
    public var agreeWeight = 0.0
    public var weight = 0.0
    public var weightSquared = 0.0
    /// Σ w²·agree, and how many comparisons agreed.
    public var agreeWeightSquared = 0.0
    public var count = 0
    public var agreements = 0
    public init(agreeWeight: Double = 0, weight: Double = 0, weightSquared: Double = 0, agreeWeightSquared: Double = 0,
                count: Int = 0, agreements: Int = 0) {
        self.agreeWeight = agreeWeight; self.weight = weight; self.weightSquared = weightSquared
        self.agreeWeightSquared = agreeWeightSquared; self.count = count; self.agreements = agreements
    }
    public var estimate: Double? { weight > 0 ? agreeWeight / weight : nil }
    /// (Σw)² / Σw²: how many equally weighted validations the weighted ones are worth.
    public var effectiveCount: Double { weightSquared > 0 ? weight * weight / weightSquared : 0 }
}

extension TaskStore {
    public func agreementSums(version: Int64) throws -> AgreementSums { try agreementSums(version: version, since: nil, excludingRun: nil) }

    public func versions(status: VersionStatus) throws -> [ProgramVersion] { try versions().filter { $0.status == status } }
    /// The latest version with this source hash.
    public func version(hash: String) throws -> ProgramVersion? { try versions().last { $0.hash == hash } }
    public func setStatus(versionId: Int64, _ status: VersionStatus, canaryShare: Double? = nil, note: String? = nil) throws {
        try setStatus(of: versionId, to: status, canaryShare: canaryShare, note: note)
    }
    public func rollouts() throws -> [Rollout] { try rollouts(candidate: nil) }
    public func startRun(streamPath: String, config: String = "{}") throws -> Run { try startRun(streamPath: streamPath, config: config, at: Store.now()) }
    public func finishRun(runId: Int64) throws { try finishRun(runId: runId, at: Store.now()) }
    public func counter(run: Int64, key: String) throws -> Double { try counters(run: run)[key] ?? 0 }
    public func executionCount(run: Int64) throws -> Int { try executions(run: run).count }
    public func latestLabel(inputHash: String) throws -> String? { try latestLabels(inputHashes: [inputHash])[inputHash] }
    public func comparisons() throws -> [Comparison] { try comparisons(version: nil) }
    public func ledgerTotals() throws -> [String: LedgerTotals] { try ledgerTotals(run: nil) }
    public func ledger() throws -> [LedgerEntry] { try ledger(run: nil) }
    public func escalations() throws -> [Escalation] { try escalations(status: nil) }
    public func resolveEscalation(id: Int64, versionId: Int64? = nil) throws -> Escalation {
        try resolveEscalation(id: id, versionId: versionId, at: Store.now())
    }

    /// The version and its ancestors through `parentId`: the version first, the root last.
    public func lineage(of id: Int64) throws -> [ProgramVersion] {
        let byId = Dictionary(try versions().compactMap { v in v.id.map { ($0, v) } }, uniquingKeysWith: { a, _ in a })
        var chain: [ProgramVersion] = []
        var seen: Set<Int64> = []
        var next: Int64? = id
        while let cur = next, seen.insert(cur).inserted, let v = byId[cur] {
            chain.append(v)
            next = v.parentId
        }
        return chain
    }
}

/// One step of a run, written by `TaskStore.commit` in one transaction: `writes` first, in order,
/// then the sampled executions with their answers and comparisons (their `executionId` is filled
/// in), answers not tied to an execution, ledger entries, timeline points, counter deltas, the
/// driver's state and the new cursor. Every execution's `seq` must lie in `[stored cursor, cursor)`.
public struct StoreCommit: Sendable {
    public var runId: Int64
    public var cursor: Int
    public var writes: [StoreWrite] = []
    public var items: [BatchItem] = []
    public var answers: [OracleAnswer] = []
    public var ledger: [LedgerEntry] = []
    public var points: [TimelinePoint] = []
    public var counters: [String: Double] = [:]
    /// The driver's resumable state (JSON), saved with the step.
    public var state: String?
    /// Fencing for replicas: when set, the commit fails with `StoreError.notLeader` unless this
    /// replica still holds the task's lease (so a replica that lost it decides nothing).
    public var leader: String?

    public init(runId: Int64, cursor: Int, writes: [StoreWrite] = [], items: [BatchItem] = [], answers: [OracleAnswer] = [],
                ledger: [LedgerEntry] = [], points: [TimelinePoint] = [], counters: [String: Double] = [:], state: String? = nil) {
        self.runId = runId; self.cursor = cursor; self.writes = writes; self.items = items; self.answers = answers
        self.ledger = ledger; self.points = points; self.counters = counters; self.state = state
    }
}

/// A decision or record that joins a step's transaction.
public enum StoreWrite: Sendable {
    /// A rollout step (see `TaskStore.recordRollout`).
    case rollout(Rollout)
    case status(versionId: Int64, VersionStatus, canaryShare: Double?, note: String?)
    /// Every version still in flight (candidate, shadow, canary) but `except` is rejected with `note`.
    case rejectInFlight(except: Int64, note: String)
    case answer(OracleAnswer)
    case ledger([LedgerEntry])
    case escalation(NewEscalation)
}

extension StoreWrite {
    /// A decision (a rollout step, a status, an escalation), as opposed to a record of what
    /// happened (an answer, ledger entries): replicas commit decisions only while they lead.
    public var isDecision: Bool {
        switch self {
        case .answer, .ledger: return false
        case .rollout, .status, .rejectInFlight, .escalation: return true
        }
    }
}

/// An escalation to open; its ticket names its id, so the text is made once the id is known.
public struct NewEscalation: Sendable {
    public var runId: Int64?
    public var reason: String
    public var createdAt: Double
    public var ticket: @Sendable (Int64) -> (markdown: String, json: String)

    public init(runId: Int64?, reason: String, createdAt: Double = Store.now(), ticket: @escaping @Sendable (Int64) -> (markdown: String, json: String)) {
        self.runId = runId; self.reason = reason; self.createdAt = createdAt; self.ticket = ticket
    }
}

/// What a commit inserted: the executions' ids (in `items` order) and the escalations' ids (in
/// `writes` order).
public struct CommitResult: Sendable, Equatable {
    public var executionIds: [Int64] = []
    public var escalationIds: [Int64] = []
    public init(executionIds: [Int64] = [], escalationIds: [Int64] = []) { self.executionIds = executionIds; self.escalationIds = escalationIds }
}

/// How hard a commit is pushed to disk.
public enum Durability: String, Sendable {
    /// Every commit reaches stable storage before it returns: it survives kill -9, OS crashes and
    /// power loss. The default: commits are per step, so the sync is cheap next to the oracle
    /// calls a step pays for, and the ledger must not forget money that was spent.
    case full
    /// Commits survive kill -9 and the store is never corrupted, but an OS crash or power loss
    /// may roll back the latest commits.
    case normal
}

/// Errors the stores report (database errors come through as the backend's own).
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The store was migrated by a newer Loopai: it has migrations this build does not know.
    case schemaTooNew(path: String, unknown: [String], known: [String])
    /// A step does not continue the run where it stands: its cursor goes backwards, or it holds
    /// an input before the stored cursor (already counted) or at/after the new one.
    case batchOutOfOrder(runId: Int64, storedCursor: Int, newCursor: Int, seq: Int?)
    case notFound(String)
    case invalidTransition(String)
    /// The store's location cannot be used (a bad URL, a missing password file, ...).
    case badLocation(String)
    /// A decision was committed by a replica that no longer leads the task.
    case notLeader(String)

    public var description: String {
        switch self {
        case .schemaTooNew(let path, let unknown, let known):
            return "the store \(path) was written by a newer version of loopai (schema migrations \(unknown.joined(separator: ", ")) "
                + "are unknown to this build, which knows \(known.joined(separator: ", "))); upgrade loopai or use another store"
        case .batchOutOfOrder(let runId, let stored, let new, let seq):
            let what = seq.map { "input \($0)" } ?? "cursor \(new)"
            return "run \(runId): batch with \(what) does not continue from the stored cursor \(stored) to \(new); nothing was written"
        case .notFound(let what): return "\(what) not found in the store"
        case .invalidTransition(let what): return what
        case .badLocation(let what): return what
        case .notLeader(let who): return "\(who) no longer leads the task; its decisions were not committed"
        }
    }
}

/// Helpers every backend shares.
public enum Store {
    /// Seconds since 1970.
    public static func now() -> Double { Date().timeIntervalSince1970 }

    /// FNV-1a 64 of the UTF-8 bytes, 16 hex digits (the same as `TypedProgram.sourceHash`).
    public static func hash(_ text: String) -> String { StableHash.hex(text.utf8) }

    /// The schema migrations this build knows, oldest first (the same names on every backend).
    public static let knownMigrations = ["v1", "v2", "v3", "v4"]
}
