import ArgumentParser
import Foundation
import LoopData
import LoopDiagnostics
import LoopSema
import LoopTask

/// `loopai task init|check`.
struct TaskGroup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "task", abstract: "Write or check task files.",
                                                    subcommands: [TaskInit.self, TaskCheck.self])
}

/// `loopai task init DATA -o task.yaml`: a first task file from labeled data.
struct TaskInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a task file from a labeled data file (JSON Lines or CSV), checked, with the next commands.",
        discussion: """
        Labels come from the data, in order of first appearance; descriptions from --descriptions (a CSV whose \
        first two columns are label and description, such as a log template list) or else one example each. A \
        label that is not a Loop identifier (`reverted_card_payment?`) gets one (`reverted_card_payment`) for \
        the program, and the task maps it to the data's string, which answers carry (`name:`). CSV data is \
        copied beside the task as JSON Lines. \
        Exit status: 0 written, 1 nothing usable in the data, 2 a file cannot be read or written.
        """)

    @Argument(help: "The labeled data: JSON Lines (one object per line) or CSV with a header.")
    var data: String

    @Option(name: .shortAndLong, help: "The task file to write.")
    var output: String = "task.yaml"

    @Option(help: "The field (or CSV column) holding the text to classify; it becomes the program's input.")
    var inputField: String = "text"

    @Option(help: "The field (or CSV column) holding the label.")
    var labelField: String = "label"

    @Option(help: "A CSV of label descriptions: its first two columns are the label and its description.")
    var descriptions: String?

    @Option(help: "The task's name (default: the data file's name).")
    var name: String?

    @Option(help: "What the classifier is for, one sentence.")
    var description: String?

    @Option(help: "Examples per label copied into the task (for prompts and tests).")
    var examplesPerLabel: Int = 2

    @Flag(help: "Overwrite an existing task file.")
    var force = false

    func validate() throws {
        if examplesPerLabel < 0 { throw ValidationError("--examples-per-label is at least 0") }
        if LabelIdentifiers.problem(inputField) != nil {
            throw ValidationError("--input-field `\(inputField)` must be a Loop identifier: it becomes the program's input")
        }
    }

    func run() throws {
        if FileManager.default.fileExists(atPath: output) && !force {
            throw CLIError("\(output) exists; pass --force to overwrite it", code: 2)
        }
        let dir = (output as NSString).deletingLastPathComponent.isEmpty ? "." : (output as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        catch { throw CLIError("cannot create \(dir): \(error.localizedDescription)", code: 2) }
        let records = try readRecords()
        guard !records.rows.isEmpty else {
            throw CLIError("\(data): no record has a text `\(inputField)` and a `\(labelField)`"
                           + (records.fields.isEmpty ? "" : " (the fields are \(records.fields.joined(separator: ", ")))"), code: 1)
        }
        var labels: [String] = []
        var counts: [String: Int] = [:]
        for r in records.rows { if counts[r.label] == nil { labels.append(r.label) }; counts[r.label, default: 0] += 1 }
        guard labels.count >= 2 else { throw CLIError("\(data): every record has the label `\(labels[0])`; a classifier needs two labels or more", code: 1) }
        let ids = LabelIdentifiers.derive(labels)
        let idOf = Dictionary(uniqueKeysWithValues: zip(labels, ids))
        let renamed = zip(labels, ids).filter { $0 != $1 }

        var described: [String: String] = [:]
        if let descriptions { described = try readDescriptions(descriptions) }

        // The data the task points to: the file itself (its labels as they are: the task maps
        // them), or a JSON Lines copy: of a CSV file, of the usable records only, or with labels
        // the data writes as numbers turned into strings.
        let stem = ((data as NSString).lastPathComponent as NSString).deletingPathExtension
        var dataPath = data
        var dataLabelKey = labelField
        if records.isCSV || records.skipped > 0 || records.nonStringLabels > 0 {
            dataPath = dir == "." ? stem + ".task.jsonl" : (dir as NSString).appendingPathComponent(stem + ".task.jsonl")
            dataLabelKey = "label"
            var text = ""
            for r in records.rows {
                text += JSONWriter.string(.object([(inputField, JSON(r.text)), ("label", JSON(r.label))])) + "\n"
            }
            do { try text.write(toFile: dataPath, atomically: true, encoding: .utf8) }
            catch { throw CLIError("cannot write \(dataPath): \(error.localizedDescription)", code: 2) }
        }
        let taskName = LabelIdentifiers.derive([name ?? stem]).first!
        var y = "# Written by `loopai task init \((data as NSString).lastPathComponent)`: \(records.rows.count) labeled records, \(labels.count) labels.\n"
        y += "# Review the descriptions: the LLM reads them, and the inducer learns from them.\n"
        y += "name: \(taskName)\n"
        y += "description: \(yaml(description ?? "Assign each \(inputField) to one of \(labels.count) labels."))\n"
        y += "input:\n  \(inputField): {type: text}\n"
        y += "labels:\n"
        for (l, id) in zip(labels, ids) {
            var d = described[l] ?? described[id] ?? ""
            if d.isEmpty, let ex = records.rows.first(where: { $0.label == l }) {
                d = "Like: " + String(ex.text.prefix(120)) + (ex.text.count > 120 ? "…" : "")
            }
            y += l != id ? "  \(id): {name: \(yaml(l)), description: \(yaml(d))}\n" : "  \(id): \(yaml(d))\n"
        }
        if examplesPerLabel > 0 {
            y += "examples:\n"
            for l in labels {
                for r in records.rows.filter({ $0.label == l }).prefix(examplesPerLabel) {
                    y += "  - input: \(yaml(r.text))\n    label: \(idOf[l]!)\n"
                }
            }
        }
        // Relative to the task file's directory, as the task file resolves it.
        let absolute = URL(fileURLWithPath: dataPath).standardizedFileURL.path
        let base = URL(fileURLWithPath: dir).standardizedFileURL.path
        let relative = absolute.hasPrefix(base + "/") ? String(absolute.dropFirst(base.count + 1)) : absolute
        y += dataLabelKey == "label" ? "data: \(yaml(relative))\n" : "data: {path: \(yaml(relative)), label: \(yaml(dataLabelKey))}\n"
        // The file must load: a task init writes is never one `check-task` rejects.
        do { _ = try TaskLoader.parse(text: y, path: output) }
        catch let e as TaskError {
            throw CLIError("the task written from \(data) does not check (please report this):\n" + TextRenderer(color: false).render(e.diagnostics), code: 1)
        }
        do { try y.write(toFile: output, atomically: true, encoding: .utf8) }
        catch { throw CLIError("cannot write \(output): \(error.localizedDescription)", code: 2) }

        printErr("wrote \(output): \(labels.count) labels, \(records.rows.count) records" + (records.skipped > 0 ? " (\(records.skipped) without a text \(inputField) and a \(labelField) left out)" : ""))
        if !renamed.isEmpty {
            printErr("labels that are not Loop identifiers are named in the program by identifiers; answers carry the data's strings:")
            for (l, id) in renamed.prefix(20) { printErr("  \(id) as \(yaml(l))") }
            if renamed.count > 20 { printErr("  … and \(renamed.count - 20) more") }
        }
        if dataPath != data { printErr("the data was copied to \(dataPath) as JSON Lines") }
        let undescribed = labels.filter { described[$0] == nil && described[idOf[$0]!] == nil }
        if descriptions != nil && !undescribed.isEmpty { printErr("no description for \(undescribed.count) label(s): \(undescribed.prefix(10).joined(separator: ", "))") }
        let t = output
        print("""
        next:
          loopai check-task \(t)
          loopai generate --generator induce --task \(t) --train-fraction 0.8 -o program.loop   # learn a program, report held-out accuracy
          loopai test program.loop --data \(dataPath)\(dataLabelKey == "label" ? "" : " --label \(dataLabelKey)")
          loopai serve --task \(t) --store loopai.sqlite                                      # answer requests, validate, improve
        """)
    }

    struct Records {
        var rows: [(text: String, label: String)] = []; var fields: [String] = []; var skipped = 0; var isCSV = false
        /// Labels written as JSON numbers or booleans (`"label": 3`): the task's readers take strings.
        var nonStringLabels = 0
    }

    func readRecords() throws -> Records {
        let bytes: [UInt8]
        do { bytes = try RecordReader.readBytes(data) } catch { throw CLIError("cannot read \(data): \(error)", code: 2) }
        var out = Records()
        out.isCSV = data.lowercased().hasSuffix(".csv")
        let records: [InputRecord]
        do { records = try RecordReader.parse(bytes, format: out.isCSV ? .csv : .jsonl, name: data) }
        catch { throw CLIError("\(error)", code: 2) }
        for r in records {
            switch r.raw {
            case .json(let j):
                if out.fields.isEmpty, case .object(let kv) = j { out.fields = kv.map(\.0) }
                if let t = j[inputField]?.string, let l = RecordDecoder.label(r.raw, column: labelField), !l.isEmpty {
                    out.rows.append((t, l))
                    if j[labelField]?.string == nil { out.nonStringLabels += 1 }
                }
                else { out.skipped += 1 }
            case .row(let cells, let header):
                if out.fields.isEmpty { out.fields = header }
                if let ti = header.firstIndex(of: inputField), ti < cells.count, let l = RecordDecoder.label(r.raw, column: labelField), !l.isEmpty {
                    out.rows.append((String(decoding: cells[ti], as: UTF8.self), l))
                } else { out.skipped += 1 }
            case .text: out.skipped += 1
            }
        }
        return out
    }

    func readDescriptions(_ path: String) throws -> [String: String] {
        let bytes: [UInt8]
        do { bytes = try RecordReader.readBytes(path) } catch { throw CLIError("cannot read \(path): \(error)", code: 2) }
        let rows: [(line: Int, fields: [[UInt8]])]
        do { rows = try RecordReader.csv(bytes, name: path) } catch { throw CLIError("\(error)", code: 2) }
        var out: [String: String] = [:]
        for r in rows.dropFirst() where r.fields.count >= 2 {
            out[String(decoding: r.fields[0], as: UTF8.self)] = String(decoding: r.fields[1], as: UTF8.self)
        }
        if out.isEmpty { throw CLIError("\(path): no row with a label and a description (a header, then label,description rows)", code: 2) }
        return out
    }

    /// A YAML scalar: JSON's double-quoted strings are YAML too.
    func yaml(_ s: String) -> String { JSONWriter.string(JSON(s)) }
}
