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
        let fields = program.fields
        let nf = fields.count
        let keys: [[UInt8]] = fields.map { Array(((program.singleInput ? column : nil) ?? $0.name).utf8) }
        let decoder = RecordDecoder(program: program, column: column)
        // Every input's fields as (start, end) offsets into `buffer`: the file, then the texts of
        // the records that needed the full parser. Records that failed keep their error.
        var buffer = bytes
        var offsets: [Int] = []
        offsets.reserveCapacity(2 * nf * bytes.count / 64)
        var lines: [Int] = []
        var failures: [Int: InputError] = [:]
        var order: [(line: Int, ok: Bool)] = []
        var decoded: [(slot: Int, values: [Value])] = []
        bytes.withUnsafeBufferPointer { b in
            var s = 0, line = 1
            func take(_ e0: Int) {
                var e = e0
                if e > s && b[e - 1] == 0x0D { e -= 1 }
                if FastJSONLines.textSpans(b, s, e, keys: keys, into: &offsets) {
                    lines.append(line); order.append((line, true))
                    return
                }
                guard let record = RecordReader.jsonLine(line, Array(b[s..<e])) else { return }
                switch decoder.decode(record.raw) {
                case .success(let v):
                    decoded.append((offsets.count, v))
                    for _ in 0..<nf { offsets.append(0); offsets.append(0) }
                    lines.append(line); order.append((line, true))
                case .failure(let err):
                    failures[line] = err; order.append((line, false))
                }
            }
            var i = 0
            while i < b.count {
                if b[i] == 0x0A { take(i); s = i + 1; line += 1 }
                i += 1
            }
            if s < b.count { take(b.count) }
        }
        for (slot, values) in decoded {
            for (f, v) in values.enumerated() {
                guard case .text(let t) = v else { continue }
                offsets[slot + 2 * f] = buffer.count
                buffer += t
                offsets[slot + 2 * f + 1] = buffer.count
            }
        }
        let decisions = classifySpans(buffer, offsets, count: lines.count)
        var d = 0
        return order.map { o in
            guard o.ok else { return Driver.Outcome(line: o.line, result: .failure(failures[o.line]!)) }
            defer { d += 1 }
            return Driver.Outcome(line: o.line, result: .success(decisions[d]))
        }
    }

    /// Classifies `count` inputs whose text fields are the given (start, end) offsets into `buffer`.
    func classifySpans(_ buffer: [UInt8], _ offsets: [Int], count: Int) -> [Decision] {
        guard count > 0 else { return [] }
        let nl = program.labels.count
        var results = [loop_result](repeating: loop_result(), count: count)
        var scores = [Double](repeating: 0, count: count * nl)
        buffer.withUnsafeBufferPointer { buf in
            var values: [loop_value] = []
            values.reserveCapacity(offsets.count / 2)
            for k in stride(from: 0, to: offsets.count, by: 2) {
                values.append(loop_value(ptr: buf.baseAddress.map { $0 + offsets[k] }, len: Int64(offsets[k + 1] - offsets[k]), number: 0))
            }
            values.withUnsafeBufferPointer { vp in
                results.withUnsafeMutableBufferPointer { rp in
                    scores.withUnsafeMutableBufferPointer { sp in batch(vp.baseAddress, Int64(count), rp.baseAddress, sp.baseAddress) }
                }
            }
        }
        return Self.decisions(results, scores, labels: nl)
    }

    /// The native results as the interpreter's `Decision`s.
    static func decisions(_ results: [loop_result], _ scores: [Double], labels nl: Int) -> [Decision] {
        results.enumerated().map { i, r in
            let by: DecidedBy = r.decided_by >= 0 ? .rule(Int(r.decided_by)) : r.decided_by == -1 ? .score : .otherwise
            let s: [Double]
            if case .rule = by { s = [] } else { s = Array(scores[(i * nl)..<((i + 1) * nl)]) }
            return Decision(label: Int(r.label), confidence: r.confidence, decidedBy: by, scores: s)
        }
    }
}
