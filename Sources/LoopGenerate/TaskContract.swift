import LoopSema
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

    public static func check(_ p: TypedProgram, _ task: TaskSpec, labelOrderMatters: Bool) -> Mismatch? {
        let labelsFit = labelOrderMatters ? p.labels == task.labelNames : Set(p.labels) == Set(task.labelNames)
        if !labelsFit { return .labels(program: p.labels, task: task.labelNames) }
        let fields = p.fields.map { "\($0.name): \($0.type)" }, wanted = task.input.map { "\($0.name): \($0.type.rawValue)" }
        let renamedSingleText = !labelOrderMatters && p.singleInput && task.isSingleText && p.fields[0].type == .text
        if Set(fields) != Set(wanted) && !renamedSingleText { return .input(program: fields, task: wanted) }
        return nil
    }
}
