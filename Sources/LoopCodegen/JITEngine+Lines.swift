import Foundation
import LoopData
import LoopInterpreter
import LoopRuntimeC
import LoopSema

extension JITEngine {
    /// Whether `classifyJSONLines` can read this program's inputs straight from the bytes: every
    /// field is text.
    public var readsTextFieldsDirectly: Bool { program.fields.allSatisfy { $0.type == .text } }

    /// Classifies a JSON Lines file's records as `RecordReader.parse` + `Driver.classify` would,
    /// with the same line numbers, answers and errors, but reading each plain record's text
    /// fields where they lie in `bytes` (`FastJSONLines`) and passing pointers into them to the
    /// native code; other records go through the full parser and decoder.
    public func classifyJSONLines(_ bytes: [UInt8], column: String?) -> [Driver.Outcome] {
        classifyJSONLinesCompact(bytes, column: column).outcomes
    }

    /// The same answers, kept as the native code gives them (no `Decision` per record): what
    /// `loopai run` writes from.
    public func classifyJSONLinesCompact(_ bytes: [UInt8], column: String?) -> LineResults {
        let fields = program.fields
        let nf = fields.count
        let keys: [[UInt8]] = fields.map { Array(((program.singleInput ? column : nil) ?? $0.name).utf8) }
        let decoder = RecordDecoder(program: program, column: column)
        // Every input's fields as (start, end) offsets into the file, or (complemented) into the
        // texts that are not in it as they are. Records that failed keep their error.
        var offsets: [Int] = []
        offsets.reserveCapacity(2 * nf * bytes.count / 64)
        var answered = 0
        var failures: [Int: InputError] = [:]
        var order: [(line: Int, ok: Bool)] = []
        var decoded: [(slot: Int, values: [Value])] = []
        // Fields whose strings hold simple escapes: their decoded bytes.
        var unescaped: [(slot: Int, text: [UInt8])] = []
        bytes.withUnsafeBufferPointer { b in
            var s = 0, line = 1
            var escaped: UInt64 = 0
            func take(_ e0: Int) {
                var e = e0
                if e > s && b[e - 1] == 0x0D { e -= 1 }
                let slot = offsets.count
                if FastJSONLines.textSpans(b, s, e, keys: keys, optional: 0, into: &offsets, escaped: &escaped, allowEscapes: true) {
                    while escaped != 0 {
                        let f = escaped.trailingZeroBitCount
                        escaped &= escaped - 1
                        var text: [UInt8] = []
                        FastJSONLines.unescape(b, offsets[slot + 2 * f], offsets[slot + 2 * f + 1], into: &text)
                        unescaped.append((slot + 2 * f, text))
                    }
                    answered += 1; order.append((line, true))
                    return
                }
                guard let record = RecordReader.jsonLine(line, Array(b[s..<e])) else { return }
                switch decoder.decode(record.raw) {
                case .success(let v):
                    decoded.append((offsets.count, v))
                    for _ in 0..<nf { offsets.append(0); offsets.append(0) }
                    answered += 1; order.append((line, true))
                case .failure(let err):
                    failures[line] = err; order.append((line, false))
                }
            }
            guard let p = b.baseAddress else { return }
            while s < b.count, let nl = memchr(p + s, 0x0A, b.count - s) {
                take(p.distance(to: nl.assumingMemoryBound(to: UInt8.self)))
                s = p.distance(to: nl.assumingMemoryBound(to: UInt8.self)) + 1
                line += 1
            }
            if s < b.count { take(b.count) }
        }
        // Texts that are not in the file as they are (unescaped, or decoded by the parser) go
        // to `extra`; their offsets are stored complemented (negative) to say so.
        var extra: [UInt8] = [0]   // never empty, so even its empty texts have an address
        func place(_ slot: Int, _ text: [UInt8]) {
            offsets[slot] = ~extra.count
            extra += text
            offsets[slot + 1] = ~extra.count
        }
        for (slot, text) in unescaped { place(slot, text) }
        for (slot, values) in decoded {
            for (f, v) in values.enumerated() {
                if case .text(let t) = v { place(slot + 2 * f, t) }
            }
        }
        let (results, scores) = classifySpansRaw(bytes, extra, offsets, count: answered)
        return LineResults(order: order, results: results, scores: scores, failures: failures, labels: program.labels.count)
    }

    /// Classifies `count` inputs whose text fields are the given (start, end) offsets into `buffer`.
    func classifySpans(_ buffer: [UInt8], _ offsets: [Int], count: Int) -> [Decision] {
        let (results, scores) = classifySpansRaw(buffer, [], offsets, count: count)
        return Self.decisions(results, scores, labels: program.labels.count)
    }

    /// The native results and scores (`labels` per input) of `classifySpans`.
    /// Offsets below zero are complemented offsets into `extra`.
    func classifySpansRaw(_ buffer: [UInt8], _ extra: [UInt8], _ offsets: [Int], count: Int) -> ([loop_result], [Double]) {
        guard count > 0 else { return ([], []) }
        let nl = program.labels.count
        var results = [loop_result](repeating: loop_result(), count: count)
        var scores = [Double](repeating: 0, count: count * nl)
        buffer.withUnsafeBufferPointer { buf in extra.withUnsafeBufferPointer { ext in
            var values: [loop_value] = []
            values.reserveCapacity(offsets.count / 2)
            for k in stride(from: 0, to: offsets.count, by: 2) {
                let a = offsets[k], b = offsets[k + 1]
                if a >= 0 {
                    values.append(loop_value(ptr: buf.baseAddress.map { $0 + a }, len: Int64(b - a), number: 0))
                } else {
                    values.append(loop_value(ptr: ext.baseAddress.map { $0 + ~a }, len: Int64(~b - ~a), number: 0))
                }
            }
            values.withUnsafeBufferPointer { vp in
                results.withUnsafeMutableBufferPointer { rp in
                    scores.withUnsafeMutableBufferPointer { sp in batch(vp.baseAddress, Int64(count), rp.baseAddress, sp.baseAddress) }
                }
            }
        } }
        return (results, scores)
    }

    /// `classifySpansRaw`'s answers without their scores: the label's index, what decided (a
    /// rule's index, -1 the score, -2 otherwise) and the confidence.
    public func classifySpanAnswers(_ buffer: [UInt8], _ extra: [UInt8], _ offsets: [Int], count: Int) -> [(label: Int32, decidedBy: Int32, confidence: Double)] {
        classifySpansRaw(buffer, extra, offsets, count: count).0.map { ($0.label, $0.decided_by, $0.confidence) }
    }

    /// The native results as the interpreter's `Decision`s.
    static func decisions(_ results: [loop_result], _ scores: [Double], labels nl: Int) -> [Decision] {
        results.enumerated().map { i, r in
            let by = DecidedBy(native: r.decided_by)
            let s: [Double]
            if case .rule = by { s = [] } else { s = Array(scores[(i * nl)..<((i + 1) * nl)]) }
            return Decision(label: Int(r.label), confidence: r.confidence, decidedBy: by, scores: s)
        }
    }
}

/// A JSON Lines file's answers in line order, as the native code gave them: each record's line,
/// then its result (label, confidence, deciding rule, scores) or its error.
public struct LineResults {
    /// (line, ok) per record, in order; the k-th ok record has the k-th result.
    let order: [(line: Int, ok: Bool)]
    let results: [loop_result]
    let scores: [Double]
    let failures: [Int: InputError]
    let labels: Int

    public var count: Int { order.count }
    public var errors: Int { failures.count }

    /// Visits every record in order: its line and either its answer or its error.
    public func forEach(answer: (_ line: Int, _ label: Int, _ confidence: Double, _ decidedBy: DecidedBy, _ scores: UnsafeBufferPointer<Double>) -> Void,
                        error: (_ line: Int, _ error: InputError) -> Void) {
        var d = 0
        scores.withUnsafeBufferPointer { sp in
            for o in order {
                guard o.ok else { error(o.line, failures[o.line]!); continue }
                let r = results[d]
                let by = DecidedBy(native: r.decided_by)
                answer(o.line, Int(r.label), r.confidence, by, UnsafeBufferPointer(rebasing: sp[(d * labels)..<((d + 1) * labels)]))
                d += 1
            }
        }
    }

    /// The same as `Driver.Outcome`s (a `Decision` per record).
    public var outcomes: [Driver.Outcome] {
        var out: [Driver.Outcome] = []
        out.reserveCapacity(order.count)
        forEach(answer: { line, label, confidence, by, scores in
            let s: [Double] = by == .score || by == .otherwise ? Array(scores) : []
            out.append(Driver.Outcome(line: line, result: .success(Decision(label: label, confidence: confidence, decidedBy: by, scores: s))))
        }, error: { line, err in out.append(Driver.Outcome(line: line, result: .failure(err))) })
        return out
    }
}

extension DecidedBy {
    /// From the C ABI's `decided_by`: a rule index, LOOP_DECIDED_BY_SCORE (-1) or LOOP_DECIDED_BY_OTHERWISE (-2).
    init(native code: Int32) { self = code >= 0 ? .rule(Int(code)) : code == -1 ? .score : .otherwise }
}
