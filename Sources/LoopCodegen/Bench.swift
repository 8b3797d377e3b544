import Foundation
import LoopData
import LoopInterpreter
import LoopRuntimeC
import LoopSema

/// `loopai bench`: throughput of each engine over pre-loaded inputs, after a warm-up.
public enum Bench {
    public struct Measurement: Sendable {
        public let engine: String
        public let inputs: Int
        public let bytes: Int
        public let passes: Int
        public let seconds: Double
        public var perSecond: Double { Double(inputs * passes) / seconds }
        public var nsPerInput: Double { seconds * 1e9 / Double(inputs * passes) }
        public var mbPerSecond: Double { Double(bytes * passes) / seconds / 1e6 }
    }

    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Runs `body` (one pass over all inputs) until `minSeconds` have passed; at least 3 passes.
    static func measure(_ engine: String, inputs: Int, bytes: Int, minSeconds: Double, _ body: () -> Void) -> Measurement {
        body()   // warm-up (and JIT compilation already done)
        var passes = 0
        let start = now()
        var elapsed = 0.0
        repeat { body(); passes += 1; elapsed = now() - start } while elapsed < minSeconds || passes < 3
        return Measurement(engine: engine, inputs: inputs, bytes: bytes, passes: passes, seconds: elapsed)
    }

    /// The JIT over a prepared `loop_value` array: the hot path a service would use.
    public static func jit(_ e: JITEngine, _ inputs: [[Value]], minSeconds: Double) -> Measurement {
        var bytes: [UInt8] = []
        var spans: [(Int, Int)] = []
        for inp in inputs { for v in inp { if case .text(let t) = v { spans.append((bytes.count, t.count)); bytes += t } else { spans.append((0, 0)) } } }
        var results = [loop_result](repeating: loop_result(), count: inputs.count)
        var values: [loop_value] = []
        return bytes.withUnsafeBufferPointer { buf in
            var k = 0
            for inp in inputs {
                for v in inp {
                    let (o, l) = spans[k]; k += 1
                    if case .number(let x) = v { values.append(loop_value(ptr: nil, len: 0, number: x)) }
                    else if case .bool(let b) = v { values.append(loop_value(ptr: nil, len: 0, number: b ? 1 : 0)) }
                    else { values.append(loop_value(ptr: buf.baseAddress.map { $0 + o }, len: Int64(l), number: 0)) }
                }
            }
            return values.withUnsafeBufferPointer { vp in
                results.withUnsafeMutableBufferPointer { rp in
                    measure("jit", inputs: inputs.count, bytes: bytes.count, minSeconds: minSeconds) {
                        e.rawBatch(vp.baseAddress!, count: inputs.count, results: rp.baseAddress!)
                    }
                }
            }
        }
    }

    public static func engine(_ e: ClassifierEngine, _ inputs: [[Value]], minSeconds: Double) -> Measurement {
        let bytes = inputs.reduce(0) { $0 + $1.reduce(0) { if case .text(let t) = $1 { return $0 + t.count }; return $0 } }
        return measure(e.engineName, inputs: inputs.count, bytes: bytes, minSeconds: minSeconds) { _ = e.classifyBatch(inputs) }
    }

    /// Reading, decoding and classifying the file, as `loopai run` would (without printing).
    public static func ioInclusive(_ e: ClassifierEngine, path: String, format: InputFormat, column: String?) throws -> (seconds: Double, inputs: Int) {
        // The best of three passes (the file in the page cache after the first).
        var best = Double.infinity, count = 0
        for _ in 0..<3 {
            let t0 = now()
            // As `loopai run` reads a JSON Lines file.
            if let jit = e as? JITEngine, jit.readsTextFieldsDirectly, RecordReader.resolve(format, path: path) == .jsonl {
                count = jit.classifyJSONLinesCompact(try RecordReader.readBytes(path), column: column).count
            } else {
                count = Driver.classify(e, try RecordReader.read(path, format: format), column: column).count
            }
            best = min(best, now() - t0)
        }
        return (best, count)
    }
}
