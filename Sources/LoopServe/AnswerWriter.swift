import LoopData
import LoopRuntime
import Prometheus

/// Answers written as bytes: `{"id", "label", "confidence", "decided_by", "version"}`, the same
/// text `API.json` writes of the answer's JSON value.
enum AnswerBytes {
    static let id = Array(#"{"id":"#.utf8), label = Array(#","label":"#.utf8), confidence = Array(#","confidence":"#.utf8)
    static let decidedBy = Array(#","decided_by":"#.utf8), version = Array(#","version":"#.utf8), null = Array("null".utf8)
    static let open = Array(#"{"answers":["#.utf8)

    /// One answer, from its parts.
    static func write(id: String, _ a: Answer, into out: inout [UInt8]) {
        out += AnswerBytes.id
        JSONWriter.string(id, bytes: &out)
        out += label
        JSONWriter.string(a.name, bytes: &out)
        writeConfidence(a.confidence, into: &out)
        out += decidedBy
        JSONWriter.string(a.decidedBy, bytes: &out)
        out += version
        JSONWriter.number(Double(a.versionId), bytes: &out)
        out.append(0x7D)
    }

    static func writeConfidence(_ c: Double, into out: inout [UInt8]) {
        out += confidence
        if c.isFinite { JSONWriter.number(c, bytes: &out) } else { out += null }
    }

    /// `String(n, radix: 36)` appended as bytes.
    static func base36(_ n: Int, into out: inout [UInt8]) {
        var digits: (UInt64, UInt64) = (0, 0)   // up to 16 digits, least significant first
        var count = 0
        var v = n
        withUnsafeMutableBytes(of: &digits) { d in
            repeat { let x = UInt8(v % 36); d[count] = x < 10 ? 0x30 + x : 0x61 + x - 10; v /= 36; count += 1 } while v > 0 && count < 16
            for k in stride(from: count - 1, through: 0, by: -1) { out.append(d[k]) }
        }
    }
}

/// What a server writes and counts for one version's answers, made once when the version first
/// answers: its labels and deciding texts as JSON strings, its number as JSON text, and its
/// request counters (by label and deciding rule, made as they are first needed).
final class VersionOutput: Sendable {
    let versionId: Int64
    let labelNames: [String], decidedByTexts: [String]
    let labels: [[UInt8]], decidedBy: [[UInt8]], version: [UInt8]
    private let counters = Locked<[Int: Counter]>([:])

    init(_ p: LoadedProgram) {
        versionId = p.versionId
        labelNames = p.program.labelNames
        decidedByTexts = p.decidedByTexts
        labels = labelNames.map { var o: [UInt8] = []; JSONWriter.string($0, bytes: &o); return o }
        decidedBy = decidedByTexts.map { var o: [UInt8] = []; JSONWriter.string($0, bytes: &o); return o }
        var v: [UInt8] = []
        JSONWriter.number(Double(p.versionId), bytes: &v)
        version = v
    }

    /// Whether this is `p`'s output (a version number names one program per task; the check
    /// costs a comparison of shared arrays).
    func isOutput(of p: LoadedProgram) -> Bool {
        versionId == p.versionId && labelNames == p.program.labelNames && decidedByTexts == p.decidedByTexts
    }

    /// Counts `n` answers of label `label` decided by `by` (indices into the version's lists).
    func count(label: Int, decidedBy by: Int, _ n: Int, task: String, metrics: ServeMetrics) {
        let key = label * decidedByTexts.count + by
        let c = counters.withLock { m -> Counter in
            if let c = m[key] { return c }
            let c = metrics.requestCounter(task: task, version: versionId, label: labelNames[label], decidedBy: decidedByTexts[by])
            m[key] = c
            return c
        }
        c.increment(by: Int64(n))
    }
}

/// A task's versions' outputs: the few that answer at a time (active, candidate), each made once.
final class VersionOutputs: Sendable {
    private let byVersion = Locked<[Int64: VersionOutput]>([:])

    func output(_ p: LoadedProgram) -> VersionOutput {
        byVersion.withLock { m in
            if let o = m[p.versionId], o.isOutput(of: p) { return o }
            if m.count >= 8 { m.removeAll() }   // retired versions: rebuilt if they answer again
            let o = VersionOutput(p)
            m[p.versionId] = o
            return o
        }
    }
}
