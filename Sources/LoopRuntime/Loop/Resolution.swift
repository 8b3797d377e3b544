import Foundation
import LoopData
import LoopStore

/// How a person's edited program resolves an escalation: compared with the active version on
/// every stored validation, then made the active version in one transaction.
public enum EscalationResolution {
    public struct Comparison: Sendable {
        /// Stored validations (inputs the oracle labeled).
        public let total: Int
        public let editedRight: Int
        public let activeRight: Int
        /// The active version, when there is one.
        public let activeId: Int64?
        public var editedIsWorse: Bool { activeId != nil && editedRight < activeRight }
    }

    public static func compare(_ edited: LoadedProgram, store: Store) throws -> Comparison {
        let active = try store.activeVersion()
        let current = try active.map { try LoadedProgram(versionId: $0.id!, source: $0.source) }
        var total = 0, editedRight = 0, activeRight = 0
        for v in try store.validatedInputs() {
            guard let input = try? JSONParser.parse(v.input) else { continue }
            total += 1
            if (try? edited.classify(input).get())?.label == v.label { editedRight += 1 }
            if let current, (try? current.classify(input).get())?.label == v.label { activeRight += 1 }
        }
        return Comparison(total: total, editedRight: editedRight, activeRight: activeRight, activeId: active?.id)
    }

    /// Stores the edited program as the active version, resolves the escalation with it and marks
    /// the candidates in flight (written against the old version) superseded — all or nothing.
    /// Returns the new version's id.
    public static func apply(escalation id: Int64, source: String, comparison c: Comparison, store: Store) throws -> Int64 {
        try store.write { tx in
            let v = try tx.addVersion(ProgramVersion(source: source, parentId: c.activeId, provenance: "by hand, resolving escalation #\(id)", status: .candidate))
            let evidence = JSONWriter.string(.object([("escalation", .number(Double(id))), ("right", .number(Double(c.editedRight))), ("of", .number(Double(c.total)))]))
            _ = try tx.recordRollout(Rollout(candidateId: v.id!, baseId: c.activeId, stage: .promoted, share: 1, evidence: evidence))
            _ = try tx.resolveEscalation(id: id, versionId: v.id)
            try tx.rejectInFlight(except: v.id!, note: "superseded: escalation #\(id) was resolved with v\(v.id!)")
            return v.id!
        }
    }
}
