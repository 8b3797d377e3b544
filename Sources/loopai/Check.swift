import ArgumentParser
import Foundation
import LoopData
import LoopSema

enum DiagnosticFormat: String, ExpressibleByArgument, CaseIterable { case text, json, sarif }

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parse and type-check programs (tier-1 validation).",
        discussion: "Exit status: 0 clean, 1 errors (or warnings with --werror), 2 usage or I/O error.")

    @Argument(help: "Program files (.loop); - reads standard input.")
    var files: [String]

    @Option(help: "Output format: text, json or sarif.")
    var format: DiagnosticFormat = .text

    @Flag(help: "Treat warnings as errors.")
    var werror = false

    @Flag(help: "Print nothing for clean files (text format).")
    var quiet = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one program file") }
    }

    func run() throws {
        var all: [Diagnostic] = []
        var ioFailed = false
        for f in files {
            do {
                let (_, d) = try Driver.check(f)
                all += d
                if format == .text {
                    if !d.isEmpty { printErr(TextRenderer(color: isatty(2) != 0).render(d)) }
                    else if !quiet { printErr("\(f): ok") }
                }
            } catch {
                ioFailed = true
                printErr("error: \(error)")
            }
        }
        let errors = all.filter { $0.severity == .error }.count, warnings = all.filter { $0.severity == .warning }.count
        switch format {
        case .text:
            if errors + warnings > 0 { printErr("\(errors) error(s), \(warnings) warning(s)") }
        case .json: print(DiagnosticJSON.document(all))
        case .sarif: print(DiagnosticSARIF.document(all, toolVersion: LoopAI.version, ruleHelp: DiagnosticCatalog.titles))
        }
        if ioFailed { throw ExitCode(2) }
        if errors > 0 || (werror && warnings > 0) { throw ExitCode(1) }
    }
}

struct Fmt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite programs in the canonical layout.",
        discussion: "With --check nothing is written; the status is 1 when a file would change. - formats standard input to standard output.")

    @Argument(help: "Program files (.loop); - reads standard input.")
    var files: [String]

    @Flag(help: "Report files that are not formatted instead of rewriting them.")
    var check = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one program file") }
    }

    func run() throws {
        var unformatted = 0
        var failed = false       // a program that does not parse: status 1
        var ioFailed = false     // a file that cannot be read or written: status 2
        for path in files {
            let file: SourceFile
            do { file = try Driver.sourceFile(path) } catch { printErr("error: \(error)"); ioFailed = true; continue }
            let (unit, diags) = Parser.parse(file)
            if diags.contains(where: { $0.severity == .error }) {
                printErr(TextRenderer(color: isatty(2) != 0).render(diags.filter { $0.severity == .error }))
                printErr("\(path): not formatted (it does not parse)")
                failed = true
                continue
            }
            let formatted = Formatter.format(unit)
            if path == "-" { print(formatted, terminator: ""); continue }
            if formatted.utf8.elementsEqual(file.bytes) { continue }
            unformatted += 1
            if check {
                printErr("\(path): not formatted")
            } else {
                do {
                    try formatted.write(toFile: path, atomically: true, encoding: .utf8)
                    printErr("\(path): formatted")
                } catch { printErr("error: \(path): cannot write: \(error.localizedDescription)"); ioFailed = true }
            }
        }
        if ioFailed { throw ExitCode(2) }
        if failed || (check && unformatted > 0) { throw ExitCode(1) }
    }
}
