import LoopDiagnostics

/// Everything wrong with a task file (or its data), reported at once. Each diagnostic points to
/// file:line:column and renders like the program checker's errors (`TextRenderer`).
public struct TaskError: Error, CustomStringConvertible {
    public let diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    /// True when the task file itself could not be read (no such file, a directory, no permission):
    /// an I/O failure rather than a mistake in the file (`loopai check-task` exits with 2).
    public var isUnreadable: Bool { diagnostics.contains { $0.code == TaskCode.unreadable } }

    public var description: String { TextRenderer().render(diagnostics) }
}

/// The stable codes of task-file diagnostics (Docs/task-spec.md, "Errors").
public enum TaskCode {
    public static let yamlSyntax = "T0001"
    public static let missingKey = "T0002"
    public static let unknownKey = "T0003"
    public static let wrongType = "T0004"
    public static let invalidValue = "T0005"
    public static let duplicateLabel = "T0006"
    public static let badExample = "T0007"
    public static let dataFile = "T0008"
    public static let tooFewLabels = "T0009"
    public static let duplicateKey = "T0010"
    public static let notText = "T0011"
    public static let unreadable = "T0012"
    public static let badDataLine = "T0013"

    /// One line per code, for `--format sarif`-style catalogs and the docs.
    public static let titles: [String: String] = [
        yamlSyntax: "YAML syntax error",
        missingKey: "missing required key",
        unknownKey: "unknown key",
        wrongType: "wrong type of value",
        invalidValue: "invalid value",
        duplicateLabel: "duplicate label",
        badExample: "invalid example",
        dataFile: "data file missing or unreadable",
        tooFewLabels: "fewer than two labels",
        duplicateKey: "duplicate key",
        notText: "empty file or not UTF-8 text",
        unreadable: "task file cannot be read",
        badDataLine: "invalid line in the data file",
    ]
}
