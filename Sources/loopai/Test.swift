import ArgumentParser
import Foundation
import LoopData
import LoopInterpreter
import LoopSema

struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a program's own tests and, with --data, measure it on labeled data.",
        discussion: "Exit status 1 when an embedded test fails, a record fails, or accuracy is below --min-accuracy.")

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "The program (.loop).")
    var program: String

    @Option(help: "Labeled data (JSONL, CSV or TSV).")
    var data: String?

    @Option(help: "The key or column holding the expected label.")
    var label: String = "label"

    @OptionGroup var inputOptions: InputOptions

    @Option(help: "Fail (status 1) when accuracy on --data is below this fraction, e.g. 0.9.")
    var minAccuracy: Double?

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Option(help: "Engine: jit (native code) or interp (the reference interpreter). Default: jit, falling back to interp with a warning when the program is too large to compile.")
    var engine: EngineChoice?

    func validate() throws {
        if let m = minAccuracy, !(0...1).contains(m) { throw ValidationError("--min-accuracy is a fraction between 0 and 1") }
        if minAccuracy != nil && data == nil { throw ValidationError("--min-accuracy needs --data") }
    }

    func run() throws {
        let p = try loadProgram(program)
        let e = try makeEngine(engine, p)
        let (passed, failures) = EmbeddedTests.run(e)
        var failed = !failures.isEmpty
        var report: [(String, JSON)] = [
            ("program", JSON(p.name)),
            ("tests", .object([("passed", .number(Double(passed))), ("failed", .number(Double(failures.count))),
                               ("failures", .array(failures.map { f in
                                   let (l, c) = p.file.location(of: f.test.range.start)
                                   return .object([("location", JSON("\(p.file.name):\(l):\(c)")), ("expected", JSON(p.labels[f.test.label])),
                                                   ("got", JSON(p.labels[f.got.label])), ("decided_by", JSON(f.got.decidedByText(p)))])
                               }))])),
        ]
        var text = "tests: \(passed) passed, \(failures.count) failed\n"
        for f in failures {
            let (l, c) = p.file.location(of: f.test.range.start)
            text += "  \(p.file.name):\(l):\(c): expected \(p.labels[f.test.label]), got \(p.labels[f.got.label]) (\(f.got.decidedByText(p)))\n"
        }
        if let data {
            let records = try wrapIO { try RecordReader.read(data, format: inputOptions.inputFormat) }
            var ev = Evaluation(program: p)
            var missingLabel = 0
            let outcomes = Driver.classify(e, records, column: inputOptions.column, progress: Progress("test", total: records.count))
            for (r, o) in zip(records, outcomes) {
                guard let expected = RecordDecoder.label(r.raw, column: label) else { missingLabel += 1; continue }
                switch o.result {
                case .success(let d): ev.add(expected: expected, predicted: d.label)
                case .failure: ev.addError()
                }
            }
            if missingLabel == records.count && !records.isEmpty {
                throw CLIError("\(data): no record has the label column `\(label)` (set it with --label)", code: 2)
            }
            if missingLabel > 0 { text += "records without a `\(label)` label (skipped): \(missingLabel)\n"; failed = true }
            if ev.errors > 0 { failed = true }
            text += "\ndata: \(data)\n" + ev.text
            report.append(("data", JSON(data)))
            report.append(("accuracy", .number(ev.accuracy)))
            report.append(("evaluation", ev.json))
            if let m = minAccuracy {
                let ok = ev.accuracy >= m
                text += "\nminimum accuracy \(String(format: "%.2f%%", m * 100)): \(ok ? "met" : "NOT met")\n"
                report.append(("min_accuracy", .number(m)))
                report.append(("min_accuracy_met", .bool(ok)))
                if !ok { failed = true }
            }
        }
        report.append(("ok", .bool(!failed)))
        if format == .json { print(JSONWriter.string(.object(report))) } else { print(text, terminator: "") }
        if failed { throw ExitCode(1) }
    }
}
