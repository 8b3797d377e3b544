import Foundation
import LoopSema
import LoopInterpreter

/// The steps the CLI (and later the runtime) chains: load and check a program, decode records,
/// classify them, compare with labels.
public enum Driver {
    public struct LoadError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Reads a source file; nil path or "-" reads standard input.
    public static func sourceFile(_ path: String) throws -> SourceFile {
        let bytes = try RecordReader.readBytes(path)
        return SourceFile(name: path == "-" ? "<stdin>" : path, bytes: bytes)
    }

    /// Parses and checks a program file.
    public static func check(_ path: String, stdlib: Stdlib = .default) throws -> (program: TypedProgram?, diagnostics: [Diagnostic]) {
        let f = try sourceFile(path)
        let (p, d) = Checker.checkSource(f, stdlib: stdlib)
        return (p, DiagnosticBagSort.sorted(d))
    }

    public struct Outcome: Sendable {
        public let line: Int
        public let result: Result<Decision, InputError>
        public init(line: Int, result: Result<Decision, InputError>) { self.line = line; self.result = result }
    }

    /// Classifies every record in order; bad records become per-record errors. Decodes all first
    /// so engines can take the inputs in batches.
    public static func classify(_ engine: ClassifierEngine, _ records: [InputRecord], column: String?, progress: Progress? = nil) -> [Outcome] {
        let decoder = RecordDecoder(program: engine.program, column: column)
        var out: [Outcome] = []
        out.reserveCapacity(records.count)
        let batch = 1024
        var start = 0
        while start < records.count {
            let end = min(records.count, start + batch)
            var inputs: [[Value]] = []
            var slots: [Int?] = []
            for r in records[start..<end] {
                switch decoder.decode(r.raw) {
                case .success(let v): slots.append(inputs.count); inputs.append(v)
                case .failure: slots.append(nil)
                }
            }
            let ds = engine.classifyBatch(inputs)
            for (k, r) in records[start..<end].enumerated() {
                if let s = slots[k] { out.append(Outcome(line: r.line, result: .success(ds[s]))) }
                else if case .failure(let e) = decoder.decode(r.raw) { out.append(Outcome(line: r.line, result: .failure(e))) }
            }
            start = end
            progress?.update(end)
        }
        progress?.finish()
        return out
    }
}

/// Sorting for diagnostics that came from several stages and files.
public enum DiagnosticBagSort {
    public static func sorted(_ ds: [Diagnostic]) -> [Diagnostic] {
        let bag = DiagnosticBag()
        bag.add(contentsOf: ds)
        return bag.sorted
    }
}
