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
        "program \(task.name)\n\(inputDeclaration(task))\nlabels \(TaskContract.labelDeclarations(task).joined(separator: ", "))"
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
        self.task(task, selection: ExampleSelection(examples: examples, short: []))
    }

    public static func task(_ task: TaskSpec, selection: ExampleSelection) -> String {
        let examples = selection.examples
        var s = "# Task: \(task.name)\n\n\(task.description.trimmingCharacters(in: .whitespacesAndNewlines))\n\n"
        s += "## Input\n\n"
        for f in task.input {
            s += "- `\(f.name)` (\(f.type.rawValue))" + (f.description.map { ": \($0)" } ?? "") + "\n"
        }
        s += "\n## Labels\n\n"
        for l in task.labels {
            s += "- `\(l.name)`" + (l.applicationName.map { " (the application's \(JSONWriter.string(JSON($0))))" } ?? "") + ": \(l.description)\n"
        }
        if !examples.isEmpty {
            s += "\n## Examples (\(examples.count); input as JSON => label)\n\n"
            s += examples.map(exampleLine).joined(separator: "\n") + "\n"
        }
        if !selection.short.isEmpty {
            s += "\nLabels with fewer than \(selection.minPerLabel) examples here (rely on their descriptions): "
            s += selection.short.map { "`\($0.label)` (\($0.count))" }.joined(separator: ", ") + "\n"
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
        improve(task, current: current, failures: failures, selection: ExampleSelection(examples: examples, short: []))
    }

    public static func improve(_ task: TaskSpec, current: String, failures: [Counterexample], selection: ExampleSelection) -> String {
        var s = self.task(task, selection: selection)
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

    /// The prompt's examples: first, for every label in turn, its hardest examples (those whose
    /// words lean most towards other labels: the cases a program must tell apart) until each has
    /// `minPerLabel`, even past `cap`; then more, balanced across labels, up to `cap`; all within
    /// `tokenBudget` tokens (4 bytes a token). Labels left with fewer than `minPerLabel` are listed.
    public static func select(_ examples: [Example], labels: [String], cap: Int, minPerLabel: Int, tokenBudget: Int) -> ExampleSelection {
        var byLabel: [String: [Example]] = [:]
        for e in examples { byLabel[e.label, default: []].append(e) }
        // How much each example's words lean towards another label: for every word, the share of
        // its occurrences under each label; an example's hardness is the mean, over its words, of
        // the largest share of a label other than its own.
        var wordLabels: [String: [String: Int]] = [:]
        func words(_ e: Example) -> Set<String> {
            Set(TextWords.of(e.input))
        }
        let exampleWords = examples.map(words)
        for (e, ws) in zip(examples, exampleWords) { for w in ws { wordLabels[w, default: [:]][e.label, default: 0] += 1 } }
        func hardness(_ e: Example, _ ws: Set<String>) -> Double {
            guard !ws.isEmpty else { return 0 }
            var sum = 0.0
            for w in ws {
                guard let counts = wordLabels[w] else { continue }
                let total = Double(counts.values.reduce(0, +))
                let other = counts.filter { $0.key != e.label }.values.max() ?? 0
                sum += Double(other) / total
            }
            return sum / Double(ws.count)
        }
        var hardest: [String: [Example]] = [:]
        var wordsOf: [String: [Set<String>]] = [:]
        for (e, ws) in zip(examples, exampleWords) { wordsOf[e.label, default: []].append(ws) }
        for l in labels {
            guard let list = byLabel[l] else { continue }
            let ws = wordsOf[l] ?? []
            let scored = list.indices.map { (i: $0, h: hardness(list[$0], ws[$0])) }
            hardest[l] = scored.sorted { $0.h != $1.h ? $0.h > $1.h : $0.i < $1.i }.map { list[$0.i] }
        }
        var out: [Example] = []
        var taken: [String: Int] = [:]
        var budget = tokenBudget * 4
        func take(_ e: Example) -> Bool {
            let cost = exampleLine(e).utf8.count + 1
            guard cost <= budget else { return false }
            budget -= cost
            out.append(e); taken[e.label, default: 0] += 1
            return true
        }
        var full = false
        for round in 0..<minPerLabel where !full {
            for l in labels {
                guard let list = hardest[l], round < list.count else { continue }
                if !take(list[round]) { full = true; break }
            }
        }
        // Then balanced, from each label's remaining examples in their given order.
        if !full {
            var used = Set<String>()
            for e in out { used.insert(exampleLine(e)) }
            var index: [String: Int] = [:]
            outer: while out.count < cap {
                var added = false
                for l in labels {
                    guard let list = byLabel[l], out.count < cap else { continue }
                    var i = index[l, default: 0]
                    while i < list.count && used.contains(exampleLine(list[i])) { i += 1 }
                    guard i < list.count else { index[l] = i; continue }
                    index[l] = i + 1
                    used.insert(exampleLine(list[i]))
                    if !take(list[i]) { break outer }
                    added = true
                }
                if !added { break }
            }
        }
        let short = labels.compactMap { l -> (label: String, count: Int)? in
            let n = taken[l] ?? 0
            return n < minPerLabel ? (l, n) : nil
        }
        return ExampleSelection(examples: out, short: short, minPerLabel: minPerLabel)
    }

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

/// The examples a prompt shows, and the labels left with too few of them.
public struct ExampleSelection: Sendable {
    public var examples: [Example]
    /// Labels with fewer than `minPerLabel` examples in `examples` (too few in the data, or the token budget ran out).
    public var short: [(label: String, count: Int)]
    public var minPerLabel: Int
    public init(examples: [Example], short: [(label: String, count: Int)], minPerLabel: Int = 2) {
        self.examples = examples; self.short = short; self.minPerLabel = minPerLabel
    }
}

/// Lower-case words (letters and digits, 3 characters or more) of an input's text values: what
/// prompts weigh examples by and tickets count among failures.
public enum TextWords {
    public static func of(_ j: JSON) -> [String] {
        func strings(_ j: JSON) -> [String] {
            switch j {
            case .string: return [j.string ?? ""]
            case .object(let kv): return kv.flatMap { strings($0.1) }
            case .array(let a): return a.flatMap(strings)
            default: return []
            }
        }
        return strings(j).joined(separator: " ").lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) })
            .filter { $0.count >= 3 }.map(String.init)
    }
}
