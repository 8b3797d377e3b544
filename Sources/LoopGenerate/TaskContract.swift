import LoopSema
import LoopSyntax
import LoopTask

/// Whether a program fits its task: it answers with the task's labels and reads the task's input.
/// The generator holds an LLM's program to the exact label order (it was told the header); the
/// loop accepts any order, and a single text input under another name.
public enum TaskContract {
    public enum Mismatch: Equatable {
        case labels(program: [String], task: [String])
        /// Fields as `name: type`.
        case input(program: [String], task: [String])
    }

    /// A label as a `labels` declaration writes it: `id`, or `id as "the application's string"`.
    public static func declaration(_ identifier: String, _ name: String) -> String {
        Formatter.labelItem(identifier, identifier == name ? nil : name)
    }

    /// The task's labels as the program must declare them.
    public static func labelDeclarations(_ task: TaskSpec) -> [String] { task.labels.map { declaration($0.name, $0.answer) } }

    public static func check(_ p: TypedProgram, _ task: TaskSpec, labelOrderMatters: Bool) -> Mismatch? {
        let declared = zip(p.labels, p.labelNames).map { declaration($0, $1) }, required = labelDeclarations(task)
        let labelsFit = labelOrderMatters ? declared == required : Set(declared) == Set(required)
        if !labelsFit { return .labels(program: declared, task: required) }
        let fields = p.fields.map { "\($0.name): \($0.type)" }, wanted = task.input.map { "\($0.name): \($0.type.rawValue)" }
        let renamedSingleText = !labelOrderMatters && p.singleInput && task.isSingleText && p.fields[0].type == .text
        if Set(fields) != Set(wanted) && !renamedSingleText { return .input(program: fields, task: wanted) }
        return nil
    }
}
