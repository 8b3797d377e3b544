import LoopInterpreter
import LoopSema

/// libFuzzer entry point: any byte string is lexed, parsed, checked, rendered and (when it is a
/// valid program) formatted and run. Crashes, hangs and formatter round-trip failures are bugs.
///   LOOPAI_FUZZ=1 swift build --sanitize=fuzzer --product LoopFuzz --scratch-path .build-fuzz
@_cdecl("LLVMFuzzerTestOneInput")
public func loopFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let file = SourceFile(name: "fuzz.loop", bytes: bytes)
    let (unit, parseDiags) = Parser.parse(file)
    _ = TextRenderer().render(parseDiags)
    if !parseDiags.contains(where: { $0.severity == .error }) {
        let formatted = Formatter.format(unit)
        let (again, againDiags) = Parser.parse(SourceFile(name: "fmt.loop", text: formatted))
        if againDiags.contains(where: { $0.severity == .error }) || SyntaxDump.ast(again) != SyntaxDump.ast(unit) {
            fatalError("formatter changed the program:\n\(formatted)")
        }
    }
    let (program, diags) = Checker.checkSource(file)
    _ = TextRenderer().render(diags)
    _ = DiagnosticJSON.document(diags)
    if let program {
        let interp = Interpreter(program)
        for t in program.tests { _ = interp.evaluate(t.input) }
        if program.singleInput, program.fields[0].type == .text {
            _ = interp.evaluate([.text(bytes)])
            _ = interp.evaluate([.text([])])
        }
    }
    return 0
}
