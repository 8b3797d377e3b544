import CLLVM
import Foundation
import LoopInterpreter
import LoopRuntimeC
import LoopSema

/// Runs a program as native code through the JIT. Same answers as the interpreter, bit for bit.
public final class JITEngine: ClassifierEngine {
    public let program: TypedProgram
    public var engineName: String { "jit" }
    typealias BatchFn = @convention(c) (UnsafePointer<loop_value>?, Int64, UnsafeMutablePointer<loop_result>?, UnsafeMutablePointer<Double>?) -> Void
    let batch: BatchFn

    /// Compiled code per program hash and options, shared by the engines of the same program and
    /// freed when the last of them goes (a server that promotes 1,000 versions keeps only the
    /// code of those still referenced).
    struct Compiled { var address: UInt; var tracker: LLVMOrcResourceTrackerRef; var engines: Int }
    nonisolated(unsafe) static var cache: [String: Compiled] = [:]
    static let cacheLock = NSLock()
    let key: String

    /// Native code when the program compiles, else the interpreter (the same answers either way).
    public static func preferred(_ program: TypedProgram) -> ClassifierEngine {
        if let jit = try? JITEngine(program) { return jit }
        return Interpreter(program)
    }

    public init(_ program: TypedProgram, options: Codegen.Options = Codegen.Options()) throws {
        self.program = program
        let jit = try JIT.shared.get()
        key = "\(program.sourceHash)-O\(options.optLevel)\(options.hashWords ? "" : "-dfa")"
        JITEngine.cacheLock.lock()
        defer { JITEngine.cacheLock.unlock() }
        let addr: UInt
        if let c = JITEngine.cache[key] {
            addr = c.address
            JITEngine.cache[key]!.engines += 1
        } else {
            let c = try jit.compile(TypedProgramRef(program: program), prefix: "loop_\(program.sourceHash)_O\(options.optLevel)\(options.hashWords ? "" : "d")_", options: options)
            JITEngine.cache[key] = Compiled(address: c.address, tracker: c.tracker, engines: 1)
            addr = c.address
        }
        batch = unsafeBitCast(addr, to: BatchFn.self)
    }

    deinit {
        JITEngine.cacheLock.lock()
        defer { JITEngine.cacheLock.unlock() }
        guard var c = JITEngine.cache[key] else { return }
        c.engines -= 1
        if c.engines > 0 { JITEngine.cache[key] = c; return }
        JITEngine.cache[key] = nil
        if case .success(let jit) = JIT.shared { jit.release(c.tracker) }
    }

    /// Programs whose native code is loaded now (for tests of the JIT's memory).
    public static var loadedPrograms: Int {
        cacheLock.lock(); defer { cacheLock.unlock() }
        return cache.count
    }

    public func classify(_ input: [Value]) -> Decision { classifyBatch([input])[0] }

    public func classifyBatch(_ inputs: [[Value]]) -> [Decision] {
        let nf = program.fields.count, nl = program.labels.count
        // All text bytes in one buffer; values point into it.
        var bytes: [UInt8] = []
        var spans: [(Int, Int)] = []
        spans.reserveCapacity(inputs.count * nf)
        for inp in inputs {
            for v in inp {
                if case .text(let t) = v { spans.append((bytes.count, t.count)); bytes.append(contentsOf: t) } else { spans.append((0, 0)) }
            }
        }
        var results = [loop_result](repeating: loop_result(), count: inputs.count)
        var scores = [Double](repeating: 0, count: inputs.count * nl)
        bytes.withUnsafeBufferPointer { buf in
            var values: [loop_value] = []
            values.reserveCapacity(inputs.count * nf)
            var k = 0
            for inp in inputs {
                for v in inp {
                    let (off, len) = spans[k]; k += 1
                    switch v {
                    case .text: values.append(loop_value(ptr: buf.baseAddress.map { $0 + off }, len: Int64(len), number: 0))
                    case .number(let x): values.append(loop_value(ptr: nil, len: 0, number: x))
                    case .bool(let b): values.append(loop_value(ptr: nil, len: 0, number: b ? 1 : 0))
                    default: values.append(loop_value(ptr: nil, len: 0, number: 0))
                    }
                }
            }
            values.withUnsafeBufferPointer { vp in
                results.withUnsafeMutableBufferPointer { rp in
                    scores.withUnsafeMutableBufferPointer { sp in batch(vp.baseAddress, Int64(inputs.count), rp.baseAddress, sp.baseAddress) }
                }
            }
        }
        return Self.decisions(results, scores, labels: nl)
    }

    /// The raw batch call on prepared values, for benchmarks (no conversion cost).
    public func rawBatch(_ values: UnsafePointer<loop_value>, count: Int, results: UnsafeMutablePointer<loop_result>) {
        batch(values, Int64(count), results, nil)
    }
}
