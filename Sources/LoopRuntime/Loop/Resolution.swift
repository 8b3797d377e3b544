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

    public static func compare(_ edited: LoadedProgram, store: any TaskStore) throws -> Comparison {
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
    public static func apply(escalation id: Int64, source: String, comparison c: Comparison, store: any TaskStore) throws -> Int64 {
        let evidence = JSONWriter.string(.object([("escalation", .number(Double(id))), ("right", .number(Double(c.editedRight))), ("of", .number(Double(c.total)))]))
        return try store.resolveEscalation(id: id, source: source, base: c.activeId, provenance: "by hand, resolving escalation #\(id)", evidence: evidence).id!
    }
}
