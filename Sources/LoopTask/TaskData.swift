import Foundation
import LoopData
import LoopDiagnostics

public extension TaskSpec {
    /// The labeled examples of the task's data file (JSON Lines, one object per line), in file
    /// order, at most `limit` of them. Each example's input holds the task's input fields only
    /// (the label key and any other key are dropped). Blank lines are skipped. A line that is not
    /// a JSON object, lacks the label or a field, has a field of the wrong type or a label the task
    /// does not declare is a problem (T0013, pointing to file:line); problems are returned, not thrown.
    /// Returns no examples when the task has no `data`. Throws T0008 when the file cannot be read.
    func readData(limit: Int? = nil) throws -> (examples: [TaskExample], problems: [Diagnostic]) {
        guard let data else { return ([], []) }
        guard let contents = FileManager.default.contents(atPath: data.path) else {
            throw TaskError([Diagnostic(.error, TaskCode.dataFile, "cannot read the data file `\(data.path)`", file: nil, range: .none)])
        }
        let file = SourceFile(name: displayName(data.path), bytes: Array(contents))
        var reader = DataLineReader(task: self, file: file, labelKey: data.labelKey)
        var out: [TaskExample] = []
        for line in 1...file.lineStarts.count {
            if let limit, out.count >= limit { break }
            if let e = reader.example(line: line) { out.append(e) }
        }
        return (out, reader.problems)
    }

    /// Like `readData`, but any problem in the lines read is thrown as a `TaskError` with every
    /// problem (at most 20) listed by file:line.
    func examplesFromData(limit: Int?) throws -> [TaskExample] {
        let (examples, problems) = try readData(limit: limit)
        if !problems.isEmpty {
            var shown = Array(problems.prefix(20))
            if problems.count > 20 {
                shown.append(Diagnostic(.note, TaskCode.badDataLine, "\(problems.count - 20) more problem(s) in `\(displayName(data?.path ?? ""))`",
                                        file: nil, range: .none))
            }
            throw TaskError(shown)
        }
        return examples
    }

    /// The data path relative to the working directory when it lies below it (shorter messages).
    private func displayName(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        return path.hasPrefix(cwd + "/") ? String(path.dropFirst(cwd.count + 1)) : path
    }
}

/// Turns one line of a data file into an example, or records why it cannot be one.
struct DataLineReader {
    let task: TaskSpec
    let file: SourceFile
    let labelKey: String
    var problems: [Diagnostic] = []

    mutating func example(line: Int) -> TaskExample? {
        let start = file.lineStarts[line - 1]
        var end = line < file.lineStarts.count ? file.lineStarts[line] - 1 : file.bytes.count
        if end > start, file.bytes[end - 1] == 0x0D { end -= 1 }
        let bytes = Array(file.bytes[start..<max(start, end)])
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        let whole = SourceRange(start, max(start + 1, end))
        let json: JSON
        do { json = try JSONParser.parse(bytes) } catch let e as JSONError {
            return problem("line \(line) is not valid JSON: \(e.message)", SourceRange(start + e.offset, start + e.offset + 1))
        } catch {
            return problem("line \(line) is not valid JSON", whole)
        }
        guard case .object = json else { return problem("line \(line) is \(json.kindName), not a JSON object", whole) }
        guard let labelValue = json[labelKey] else {
            return problem("line \(line) has no `\(labelKey)` key (the label)", whole,
                           hints: ["the label key is set by `data: {path: ..., label: KEY}` (default `label`)"])
        }
        guard let label = labelValue.string else {
            return problem("the `\(labelKey)` of line \(line) must be a string, found \(labelValue.kindName)", whole)
        }
        guard let label = task.labelIdentifier(label) else {
            let close = suggestions(for: label, among: task.answerNames)
            return problem("line \(line) has the label \(JSONWriter.string(JSON(label))), which is not one of the task's labels", whole,
                           hints: (close.first.map { ["did you mean \(JSONWriter.string(JSON($0)))?"] } ?? []) + ["the labels are \(quotedList(task.answerNames))"])
        }
        var fields: [(String, JSON)] = []
        for f in task.input {
            guard let v = json[f.name] else {
                return problem("line \(line) has no `\(f.name)` key (an input field)", whole,
                               hints: ["every line needs the fields \(quotedList(task.input.map(\.name)))"])
            }
            switch (f.type, v) {
            case (.text, .string), (.number, .number), (.bool, .bool): fields.append((f.name, v))
            default:
                let want = f.type == .text ? "a string" : f.type == .number ? "a number" : "a boolean"
                return problem("field `\(f.name)` of line \(line) must be \(want), found \(v.kindName)", whole)
            }
        }
        return TaskExample(input: .object(fields), label: label)
    }

    private mutating func problem(_ message: String, _ range: SourceRange, hints: [String] = []) -> TaskExample? {
        problems.append(Diagnostic(.error, TaskCode.badDataLine, message, file: file, range: range, hints: hints))
        return nil
    }
}

public extension TaskSpec {
    /// The labeled examples of the task's data file, or of `path` instead (a flag such as
    /// `--data`), with `labelKey` overriding the data's label key; none when there is no file.
    func examplesFromData(path: String?, labelKey: String?) throws -> [TaskExample] {
        guard path != nil || data != nil else { return [] }
        var copy = self
        copy.data = DataSpec(path: path ?? data!.path, labelKey: labelKey ?? data?.labelKey ?? "label")
        return try copy.examplesFromData(limit: nil)
    }
}
