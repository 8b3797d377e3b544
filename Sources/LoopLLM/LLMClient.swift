import Foundation

/// Prices in currency units (e.g. USD) per million tokens.
public struct Pricing: Equatable, Sendable {
    public var inputPerMillion: Double
    public var outputPerMillion: Double

    public init(inputPerMillion: Double, outputPerMillion: Double) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
    }

    public func cost(inputTokens: Int, outputTokens: Int) -> Double {
        (Double(inputTokens) * inputPerMillion + Double(outputTokens) * outputPerMillion) / 1_000_000
    }
}

/// One ledger entry: a call, successful or not.
public struct CallRecord: Equatable, Sendable {
    public enum Outcome: Equatable, Sendable {
        case success
        /// The (redacted) error text.
        case failure(String)
    }

    public var provider: String
    public var model: String
    public var purpose: CallPurpose
    public var inputTokens: Int
    public var outputTokens: Int
    public var tokensEstimated: Bool
    public var latencySeconds: Double
    /// Cost from the pricing; nil when no pricing is known for the model. Failed calls cost 0
    /// (no usage is reported for them).
    public var cost: Double?
    public var outcome: Outcome
    /// Answered from the response cache: free, and not a call to the provider.
    public var cached: Bool = false

    public var succeeded: Bool { outcome == .success }
}

/// The calls made for one piece of work (an oracle step, a generation), collected as they complete
/// on whatever thread makes them: work is charged with exactly its own calls, however many other
/// callers share the client.
public final class CallLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [CallRecord] = []
    public init() {}
    func append(_ r: CallRecord) { lock.lock(); list.append(r); lock.unlock() }
    public var records: [CallRecord] { lock.lock(); defer { lock.unlock() }; return list }
}

/// Wraps a provider and records every call: in the `CallLog` the caller passes, and in the
/// client's own in-memory ledger unless it was made with `keepsLedger: false` (a long-running
/// server charges calls through call logs only, so nothing grows without bound).
public final class LLMClient: @unchecked Sendable {
    public let provider: LLMProvider
    /// Pricing by model name; `defaultPricing` applies to models not listed.
    public let pricing: [String: Pricing]
    public let defaultPricing: Pricing?
    private let lock = NSLock()
    private var records: [CallRecord] = []
    public let keepsLedger: Bool

    public init(provider: LLMProvider, pricing: [String: Pricing] = [:], defaultPricing: Pricing? = nil, keepsLedger: Bool = true) {
        self.provider = provider
        self.keepsLedger = keepsLedger
        self.pricing = pricing
        self.defaultPricing = defaultPricing
    }

    public func pricing(for model: String) -> Pricing? { pricing[model] ?? defaultPricing }

    /// Calls the provider and records the outcome (also in `log`); rethrows its error.
    public func complete(_ r: ChatRequest, log: CallLog? = nil) throws -> ChatResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let resp = try provider.complete(r)
            // Price by the requested model: providers may report a dated variant of it.
            let price = pricing(for: r.model) ?? pricing(for: resp.model)
            append(CallRecord(provider: provider.name, model: r.model, purpose: r.purpose,
                              inputTokens: resp.inputTokens, outputTokens: resp.outputTokens,
                              tokensEstimated: resp.tokensEstimated, latencySeconds: resp.latencySeconds,
                              cost: resp.fromCache ? (price == nil ? nil : 0) : price?.cost(inputTokens: resp.inputTokens, outputTokens: resp.outputTokens),
                              outcome: .success, cached: resp.fromCache), log)
            return resp
        } catch {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            append(CallRecord(provider: provider.name, model: r.model, purpose: r.purpose,
                              inputTokens: 0, outputTokens: 0, tokensEstimated: false, latencySeconds: seconds,
                              cost: pricing(for: r.model) == nil ? nil : 0,
                              outcome: .failure(String(describing: error))), log)
            throw error
        }
    }

    private func append(_ r: CallRecord, _ log: CallLog?) {
        log?.append(r)
        guard keepsLedger else { return }
        lock.lock(); records.append(r); lock.unlock()
    }

    /// Every call so far, in completion order.
    public var ledger: [CallRecord] {
        lock.lock(); defer { lock.unlock() }
        return records
    }

    /// The sum of known costs.
    public var totalCost: Double { ledger.compactMap(\.cost).reduce(0, +) }
}
