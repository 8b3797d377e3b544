import Foundation
import LoopCodegen
import LoopInterpreter
import LoopSema

/// Differential libFuzzer target: every input is classified by the interpreter and by the JIT
/// with each single-text program of the conformance corpus, the examples and the Stdlib probes;
/// any disagreement (label, decided-by, scores or confidence bits) aborts with the input.
///   LOOPAI_FUZZ=1 swift build --sanitize=fuzzer --product LoopDiffFuzz --scratch-path .build-fuzz
nonisolated(unsafe) let engines: [(String, Interpreter, JITEngine)] = {
    let root = ProcessInfo.processInfo.environment["LOOPAI_ROOT"] ?? FileManager.default.currentDirectoryPath
    let fm = FileManager.default
    var paths: [String] = []
    for dir in ["Tests/Corpus/conformance", "Examples"] {
        if let e = fm.enumerator(atPath: root + "/" + dir) {
            for case let p as String in e where p.hasSuffix(".loop") { paths.append(root + "/" + dir + "/" + p) }
        }
    }
    var out: [(String, Interpreter, JITEngine)] = []
    for path in paths.sorted() {
        guard let data = fm.contents(atPath: path) else { continue }
        let (p, _) = Checker.checkSource(SourceFile(name: path, bytes: Array(data)), stdlib: .embedded)
        guard let p, p.singleInput, p.fields[0].type == .text, let jit = try? JITEngine(p) else { continue }
        out.append((path, Interpreter(p), jit))
    }
    if out.isEmpty { fatalError("no programs found under \(root); run from the repository root or set LOOPAI_ROOT") }
    return out
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func loopDiffFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = Array(UnsafeBufferPointer(start: data, count: size))
    for (path, interp, jit) in engines {
        let a = interp.classify([.text(text)]), b = jit.classify([.text(text)])
        if a != b || a.confidence.bitPattern != b.confidence.bitPattern {
            fatalError("engines disagree on \(path): interpreter \(a), JIT \(b)")
        }
    }
    return 0
}
