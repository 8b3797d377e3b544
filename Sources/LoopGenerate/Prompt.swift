import LoopData
import LoopLLM
import LoopTask

/// A labeled example as the generator and the oracle see it: the input as JSON (a string for a
/// single-text task, else an object) and its label.
public typealias Example = TaskExample

/// Builds every message the generator sends. Pure functions of the task and the examples, so
/// `loopai generate --print-prompt` shows exactly what would be sent.
public enum PromptBuilder {
    /// The input declaration the task implies (`input text` or `input { a: text, b: number }`).
    public static func inputDeclaration(_ task: TaskSpec) -> String {
        if task.input.count == 1 { return "input \(task.input[0].name): \(task.input[0].type.rawValue)" }
        return "input { " + task.input.map { "\($0.name): \($0.type.rawValue)" }.joined(separator: ", ") + " }"
    }

    /// The first three lines every generated program must start with.
    public static func header(_ task: TaskSpec) -> String {
        "program \(task.name)\n\(inputDeclaration(task))\nlabels \(task.labelNames.joined(separator: ", "))"
    }

    public static func system() -> String {
        """
        You write classifier programs in Loop, a small, total language for classification: no I/O, no loops, \
        no recursion. A program reads one input and returns exactly one of its labels with a confidence. \
        Programs are compiled to native code and answer live traffic, and people repair them by hand, \
        so write them to be read: named keyword lists, rules only for reliable patterns, score blocks \
        for evidence, and tests.

        Reply with one complete program in a single ```loop fenced block, and nothing else.

        # Language reference

        \(PromptReference.language)

        # Grammar (EBNF)

        \(PromptReference.grammar)

        # Standard library

        ```loop
        \(PromptReference.stdlib)
        ```
        """
    }

    /// One example as a line: `INPUT_JSON => label`.
    public static func exampleLine(_ e: Example) -> String {
        "\(JSONWriter.string(e.input)) => \(e.label)"
    }

    public static func task(_ task: TaskSpec, examples: [Example]) -> String {
        var s = "# Task: \(task.name)\n\n\(task.description.trimmingCharacters(in: .whitespacesAndNewlines))\n\n"
        s += "## Input\n\n"
        for f in task.input {
            s += "- `\(f.name)` (\(f.type.rawValue))" + (f.description.map { ": \($0)" } ?? "") + "\n"
        }
        s += "\n## Labels\n\n"
        for l in task.labels { s += "- `\(l.name)`: \(l.description)\n" }
        if !examples.isEmpty {
            s += "\n## Examples (\(examples.count); input as JSON => label)\n\n"
            s += examples.map(exampleLine).joined(separator: "\n") + "\n"
        }
        s += """

        ## What to write

        A Loop program for this task. It must begin with exactly these lines:

        ```loop
        \(header(task))
        ```

        End the decisions with `otherwise`, and add `test` lines taken from the examples (at least one per label).
        """
        return s
    }

    /// The first request of an improvement: the current program and the inputs it gets wrong.
    public static func improve(_ task: TaskSpec, current: String, failures: [Counterexample], examples: [Example]) -> String {
        var s = self.task(task, examples: examples)
        s += "\n\n## The current program\n\n```loop\n\(current.trimmingCharacters(in: .whitespacesAndNewlines))\n```\n\n"
        s += "## Where it is wrong (\(failures.count) validated inputs; input as JSON: program answer, correct answer, what decided)\n\n"
        s += failures.map(\.line).joined(separator: "\n")
        s += "\n\nImprove the program so that it answers these correctly without breaking what it gets right. "
        s += "Keep its structure and names where you can, and add tests for the fixed cases. Reply with the whole program."
        return s
    }

    /// Tier-1 repair: the checker's diagnostics as JSON.
    public static func repairDiagnostics(_ json: String) -> String {
        """
        `loopai check` rejected the program. Its diagnostics (JSON; line and column refer to your program):

        \(json)

        Fix every error and reply with the whole corrected program in one ```loop block.
        """
    }

    /// Tier-2 repair: tests and examples the program gets wrong.
    public static func repairFailures(_ lines: [String], accuracy: Double, total: Int) -> String {
        """
        The program checks, but it gets these inputs wrong (accuracy \(String(format: "%.1f%%", accuracy * 100)) on \(total) examples and tests). \
        Input as JSON: program answer, correct answer, what decided:

        \(lines.joined(separator: "\n"))

        Fix the program so these get the correct label without breaking the others, and reply with the whole program in one ```loop block.
        """
    }

    public static let noProgram = """
        Your reply contains no Loop program. Reply with the whole program in one ```loop fenced block, starting with `program`.
        """

    /// At most `cap` examples, balanced across labels (round-robin over labels, in the order given),
    /// so a rare label is not crowded out.
    public static func balanced(_ examples: [Example], labels: [String], cap: Int) -> [Example] {
        guard cap > 0 else { return [] }
        var byLabel: [String: [Example]] = [:]
        for e in examples { byLabel[e.label, default: []].append(e) }
        var out: [Example] = []
        var index = 0
        while out.count < cap {
            var added = false
            for l in labels {
                guard let list = byLabel[l], index < list.count, out.count < cap else { continue }
                out.append(list[index]); added = true
            }
            if !added { break }
            index += 1
        }
        return out
    }
}

/// An input the program got wrong, as validated: the program's answer, the right one (from the
/// oracle or the data) and what decided.
public struct Counterexample: Codable, Equatable, Sendable {
    public var input: JSON
    public var programLabel: String
    public var expected: String
    /// `rule:NAME`, `score` or `otherwise`.
    public var decidedBy: String?
    public init(input: JSON, programLabel: String, expected: String, decidedBy: String?) {
        self.input = input; self.programLabel = programLabel; self.expected = expected; self.decidedBy = decidedBy
    }
    var line: String {
        "\(JSONWriter.string(input)): program \(programLabel), correct \(expected)" + (decidedBy.map { " (\($0))" } ?? "")
    }
}

/// Finds the program in a reply: the first fenced block that holds a `program` declaration, or
/// the text from the first line that starts with `program`.
public enum ProgramExtractor {
    public static func extract(_ reply: String) -> String? {
        // "\r\n" is one Character in Swift: split on both.
        let lines = reply.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var blocks: [[Substring]] = []
        var current: [Substring]? = nil
        for l in lines {
            let t = l.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("```") {
                if let c = current { blocks.append(c); current = nil } else { current = [] }
                continue
            }
            current?.append(l)
        }
        if let c = current { blocks.append(c) }  // an unclosed fence (a truncated reply) still counts
        func hasProgram(_ b: [Substring]) -> Bool {
            b.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("program ") }
        }
        if let b = blocks.first(where: hasProgram) { return trimmed(b) }
        if blocks.isEmpty, let start = lines.firstIndex(where: { $0.hasPrefix("program ") }) {
            return trimmed(Array(lines[start...]))
        }
        return nil
    }

    static func trimmed(_ b: [Substring]) -> String {
        b.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
    }
}
