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
        let keys: [[UInt8]] = fields.map { Array(((program.singleInput ? column : nil) ?? $0.name).utf8) }
        let decoder = RecordDecoder(program: program, column: column)
        var outcomes: [Driver.Outcome] = []
        // Per record: its line and either spans into `bytes` or a slot among the decoded values.
        enum Input { case spans([Range<Int>]), decoded([Value]), failed(InputError) }
        var inputs: [(line: Int, input: Input)] = []
        bytes.withUnsafeBufferPointer { b in
            var s = 0, line = 1
            func take(_ e0: Int) {
                var e = e0
                if e > s && b[e - 1] == 0x0D { e -= 1 }
                var blank = true
                for k in s..<e where b[k] != 0x20 && b[k] != 0x09 { blank = false; break }
                if !blank {
                    if let spans = FastJSONLines.textSpans(b, s, e, keys: keys) {
                        inputs.append((line, .spans(spans)))
                    } else {
                        let raw: RawRecord
                        do { raw = .json(try JSONParser.parse(Array(b[s..<e]))) }
                        catch { raw = .json(.object([("__error__", JSON("invalid JSON: \(error)"))])) }
                        switch decoder.decode(raw) {
                        case .success(let v): inputs.append((line, .decoded(v)))
                        case .failure(let err): inputs.append((line, .failed(err)))
                        }
                    }
                }
            }
            var i = 0
            while i < b.count {
                if b[i] == 0x0A { take(i); s = i + 1; line += 1 }
                i += 1
            }
            if s < b.count { take(b.count) }
        }
        // Decoded texts go after the file's bytes, so every value points into one buffer.
        var buffer = bytes
        var spans: [(Int, Int)] = []
        var valid: [Int] = []
        spans.reserveCapacity(inputs.count * fields.count)
        for (k, r) in inputs.enumerated() {
            switch r.input {
            case .spans(let ss): for x in ss { spans.append((x.lowerBound, x.count)) }; valid.append(k)
            case .decoded(let vs):
                for v in vs {
                    if case .text(let t) = v { spans.append((buffer.count, t.count)); buffer += t } else { spans.append((0, 0)) }
                }
                valid.append(k)
            case .failed: break
            }
        }
        let decisions = classifySpans(buffer, spans, count: valid.count)
        var d = 0
        outcomes.reserveCapacity(inputs.count)
        for (k, r) in inputs.enumerated() {
            if case .failed(let e) = r.input { outcomes.append(Driver.Outcome(line: r.line, result: .failure(e))); continue }
            precondition(valid[d] == k)
            outcomes.append(Driver.Outcome(line: r.line, result: .success(decisions[d])))
            d += 1
        }
        return outcomes
    }

    /// Classifies `count` inputs whose text fields are the given (offset, length) spans of `buffer`.
    func classifySpans(_ buffer: [UInt8], _ spans: [(Int, Int)], count: Int) -> [Decision] {
        guard count > 0 else { return [] }
        let nl = program.labels.count
        var results = [loop_result](repeating: loop_result(), count: count)
        var scores = [Double](repeating: 0, count: count * nl)
        buffer.withUnsafeBufferPointer { buf in
            let values = spans.map { s in loop_value(ptr: buf.baseAddress.map { $0 + s.0 }, len: Int64(s.1), number: 0) }
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
