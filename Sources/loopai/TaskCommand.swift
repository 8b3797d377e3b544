import ArgumentParser
import Foundation
import LoopData
import LoopDiagnostics
import LoopTask

/// `loopai check-task`: validates a task file (Docs/task-spec.md) and reports every mistake.
struct TaskCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-task",
        abstract: "Validate a task file",
        discussion: """
        Reads a task file (YAML: name, description, input, labels, examples, data, program, generator, oracle, \
        validation, improvement) and reports every error at once with its line and column, then checks that every \
        line of the data file is a labeled example. \
        Exit status: 0 valid, 1 errors in the task file or its data, 2 the task file cannot be read.
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "The task file (task.yaml).")
    var path: String

    @Option(help: "Output format: text, or json (an array of {code, severity, message, file, line, column}).")
    var format: Format = .text

    func run() throws {
        do {
            let task = try TaskLoader.load(path: path)
            let records = try task.examplesFromData(limit: nil).count   // every data line must be a usable example
            switch format {
            case .text: print(Self.summary(task, records: records))
            case .json: print("[]")
            }
        } catch let e as TaskError {
            switch format {
            case .text:
                printErr(TextRenderer(color: isatty(2) != 0).render(e.diagnostics))
                if !e.isUnreadable { printErr("\(path): \(e.diagnostics.filter { $0.severity == .error }.count) error(s)") }
            case .json:
                print(Self.json(e.diagnostics))
            }
            throw ExitCode(e.isUnreadable ? 2 : 1)
        }
    }

    /// `sms_spam: labels spam, ham; 6 example(s); data Examples/sms_spam/data.jsonl (5574 records)`
    static func summary(_ task: TaskSpec, records: Int) -> String {
        var s = "\(task.name): labels \(task.labelNames.joined(separator: ", ")); \(task.examples.count) example(s)"
        s += "; data " + (task.data.map { "\(relative($0.path)) (\(records) records)" } ?? "none")
        return s
    }

    static func relative(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        return path.hasPrefix(cwd + "/") ? String(path.dropFirst(cwd.count + 1)) : path
    }

    static func json(_ ds: [Diagnostic]) -> String {
        let items: [[String: Any]] = ds.map { d in
            var o: [String: Any] = ["code": d.code, "severity": d.severity.rawValue, "message": d.message]
            if let f = d.file {
                let (line, column) = f.location(of: d.range.start)
                o["file"] = f.name; o["line"] = line; o["column"] = column
            } else {
                o["file"] = NSNull(); o["line"] = NSNull(); o["column"] = NSNull()
            }
            return o
        }
        return jsonString(items, pretty: true)
    }
}
