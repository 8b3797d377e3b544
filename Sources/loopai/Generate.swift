import ArgumentParser
import Foundation
import LoopData
import LoopInduce
import LoopSema

/// `loopai generate`: writes a checked program. Today the offline inducer (`--generator induce`)
/// is the generator; the LLM generators and task files come with the LLM layer.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learn a readable, checked .loop program from labeled examples (offline inducer).",
        discussion: """
        The inducer fits a multinomial logistic regression over the whole-word counts of the lowercased text \
        and a few std.text predicates, and writes it as word tables and score blocks that Loop computes exactly. \
        With --train-fraction it holds out the rest of the data and reports the program's accuracy on it.
        """)

    enum Generator: String, ExpressibleByArgument, CaseIterable { case induce }

    @Option(help: "Generator: induce (the offline inducer; no LLM).")
    var generator: Generator = .induce

    @Option(help: "Labeled examples: JSON Lines with the text and the label.")
    var data: String

    @Option(help: "The key holding the expected label.")
    var label: String = "label"

    @Option(help: "The key holding the text.")
    var column: String = "text"

    @Option(name: .shortAndLong, help: "Where to write the program (.loop).")
    var output: String

    @Option(help: "The program's name.")
    var name: String = "induced"

    @Option(help: "Train on this fraction of the data (seeded shuffle) and report accuracy on the rest; 1 uses everything.")
    var trainFraction: Double = 1

    @Option(help: "At most this many words per label.")
    var maxWords: Int = 300

    func validate() throws {
        if !(trainFraction > 0 && trainFraction <= 1) { throw ValidationError("--train-fraction is in (0, 1]") }
        if maxWords < 1 { throw ValidationError("--max-words is at least 1") }
        if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) || name.first!.isNumber {
            throw ValidationError("--name must be an identifier (letters, digits, _)")
        }
    }

    func run() throws {
        let examples = try wrapIO { try Inducer.loadJSONL(data, textKey: column, labelKey: label) }
        guard !examples.isEmpty else { throw CLIError("\(data): no record has both `\(column)` and `\(label)`", code: 2) }
        let (train, held) = trainFraction < 1 ? Inducer.split(examples, trainFraction: trainFraction) : (examples, [])
        var options = Inducer.Options()
        options.programName = name
        options.maxWordsPerLabel = maxWords
        let result: InducedProgram
        do { result = try Inducer.induce(examples: train, options: options) }
        catch { throw CLIError("the inducer failed: \(error)", code: 1) }
        do { try result.source.write(toFile: output, atomically: true, encoding: .utf8) }
        catch { throw CLIError("cannot write \(output): \(error.localizedDescription)", code: 2) }
        var summary = "wrote \(output): \(result.labels.count) labels, \(result.wordCount) words, trained on \(train.count) examples"
        summary += String(format: ", training accuracy %.2f%%", result.trainingAccuracy * 100)
        if !held.isEmpty {
            let ev = result.evaluate(held)
            summary += String(format: ", held-out accuracy %.2f%% (%d/%d)", ev.accuracy * 100, ev.correct, ev.total)
        }
        printErr(summary)
    }
}
