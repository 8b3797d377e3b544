import ArgumentParser
import Foundation
import LoopData
import LoopGenerate
import LoopLLM
import LoopRuntime
import LoopTask

/// `loopai oracle`: labels inputs with the LLM (or reads ground truth with labels:COLUMN).
struct OracleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oracle",
        abstract: "Label inputs with the task's LLM oracle (or ground truth with --oracle labels:COLUMN); JSONL out.",
        discussion: """
        Each output line: {"line": N, "label": LABEL or null, "valid": bool, "source": "llm"|"labels", \
        "raw": REPLY, "problem": TEXT}. The label set is enforced (exact or case-insensitive, also inside JSON); \
        an input whose answer stays invalid after one stricter retry gets "label": null with the raw reply kept. \
        Several inputs go into one request (the task's oracle.batch_size). Exit status 1 when an answer is invalid.
        """)

    @Option(help: "The task file.")
    var task: String

    @Option(name: .shortAndLong, help: "Inputs: JSON Lines (objects with the task's input fields, or strings for a single-text task).")
    var input: String

    @Option(help: "llm (the task's oracle) or labels:COLUMN (ground truth read from each record's COLUMN).")
    var oracle: String = "llm"

    @Option(name: .shortAndLong, help: "Write the JSONL here instead of standard output.")
    var output: String?

    @Option(help: "Inputs per request (default: the task's oracle.batch_size).")
    var batchSize: Int?

    @OptionGroup var llm: LLMOptions

    func validate() throws {
        if oracle != "llm" && !(oracle.hasPrefix("labels:") && oracle.count > 7) {
            throw ValidationError("--oracle is llm or labels:COLUMN")
        }
        if let b = batchSize, b < 1 { throw ValidationError("--batch-size is at least 1") }
    }

    func run() throws {
        let spec = try loadTask(task)
        let records = try wrapIO { try RecordReader.read(input, format: .jsonl) }
        var lines: [Int] = [], inputs: [JSON] = [], projected: [JSON] = []
        var out = Output()
        var rows: [(line: Int, json: String)] = []
        var invalid = 0
        for r in records {
            guard case .json(let j) = r.raw else { continue }
            if case .object(let kv) = j, kv.count == 1, kv[0].0 == "__error__" {
                invalid += 1
                rows.append((r.line, JSONWriter.string(.object([("line", .number(Double(r.line))), ("label", .null), ("valid", .bool(false)),
                                                                ("source", JSON("input")), ("raw", JSON("")),
                                                                ("problem", JSON(kv[0].1.string ?? "invalid JSON"))]))))
                continue
            }
            lines.append(r.line); inputs.append(j); projected.append(TaskInputProjection.project(j, spec))
        }
        let (judge, client, _) = try llm.makeOracle(oracle, spec, batchSize: batchSize)
        let progress = Progress("oracle", total: inputs.count)
        var verdicts: [OracleVerdict] = []
        let chunk = 200
        do {
            for start in stride(from: 0, to: inputs.count, by: chunk) {
                let part = oracle.hasPrefix("labels:") ? Array(inputs[start..<min(start + chunk, inputs.count)])
                    : Array(projected[start..<min(start + chunk, projected.count)])
                verdicts += try judge.judge(part)
                progress.update(verdicts.count)
            }
        } catch {
            progress.finish()
            if let client { printErr("oracle: \(ledgerSummary(client))") }
            throw CLIError("the oracle failed: \(error)", code: 1)
        }
        progress.finish()
        for (line, v) in zip(lines, verdicts) {
            var o: [(String, JSON)] = [("line", .number(Double(line))), ("label", v.label.map { JSON(spec.answerName($0)) } ?? .null),
                                       ("valid", .bool(v.label != nil)), ("source", JSON(v.source))]
            if v.label == nil { invalid += 1; o.append(("raw", JSON(v.raw))); o.append(("problem", JSON(v.problem ?? "invalid"))) }
            rows.append((line, JSONWriter.string(.object(o))))
        }
        for r in rows.sorted(by: { $0.line < $1.line }) { out.line(r.json) }
        if let output {
            do { try out.buf.write(toFile: output, atomically: true, encoding: .utf8) }
            catch { throw CLIError("cannot write \(output): \(error.localizedDescription)", code: 2) }
        } else { out.flush() }
        var summary = "oracle: \(verdicts.filter { $0.label != nil }.count) labeled, \(invalid) invalid"
        if let client { summary += "; \(ledgerSummary(client))" }
        printErr(summary)
        if invalid > 0 { throw ExitCode(1) }
    }
}
