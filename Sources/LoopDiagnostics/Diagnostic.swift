/// How bad a diagnostic is. Errors stop a program from running; warnings are lints.
public enum Severity: String, Sendable, Codable, Comparable {
    /// The program is rejected.
    case error
    /// The program runs, but something in it is probably a mistake (fails the build with `--werror`).
    case warning
    /// Extra information attached to another diagnostic.
    case note

    private var rank: Int { self == .error ? 2 : self == .warning ? 1 : 0 }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// A replacement of a source range that mechanically fixes a diagnostic.
public struct FixIt: Sendable, Equatable {
    public var range: SourceRange
    public var replacement: String
    /// What the fix does, in a few words ("replace `spma` with `spam`").
    public var message: String
    public init(range: SourceRange, replacement: String, message: String) {
        self.range = range; self.replacement = replacement; self.message = message
    }
}

/// A secondary location with a message ("first declared here").
public struct DiagnosticNote: Sendable, Equatable {
    public var file: SourceFile?
    public var range: SourceRange
    public var message: String
    public init(file: SourceFile?, range: SourceRange, message: String) {
        self.file = file; self.range = range; self.message = message
    }
    public static func == (a: DiagnosticNote, b: DiagnosticNote) -> Bool {
        a.file === b.file && a.range == b.range && a.message == b.message
    }
}

/// One finding of any stage: the product that people and the repairing LLM read.
public struct Diagnostic: Sendable, Equatable {
    public var severity: Severity
    /// Stable code documented in Docs/diagnostics.md (E01xx lexing, E02xx parsing, E03xx names,
    /// E04xx types, E05xx regexes, E06xx program structure, W0xxx lints).
    public var code: String
    public var message: String
    public var file: SourceFile?
    public var range: SourceRange
    /// Short label printed under the caret range.
    public var label: String?
    public var notes: [DiagnosticNote]
    public var hints: [String]
    public var fixes: [FixIt]

    public init(_ severity: Severity, _ code: String, _ message: String, file: SourceFile?, range: SourceRange,
                label: String? = nil, notes: [DiagnosticNote] = [], hints: [String] = [], fixes: [FixIt] = []) {
        self.severity = severity; self.code = code; self.message = message; self.file = file
        self.range = range; self.label = label; self.notes = notes; self.hints = hints; self.fixes = fixes
    }

    public static func == (a: Diagnostic, b: Diagnostic) -> Bool {
        a.severity == b.severity && a.code == b.code && a.message == b.message && a.file === b.file
            && a.range == b.range && a.label == b.label && a.notes == b.notes && a.hints == b.hints && a.fixes == b.fixes
    }
}

/// Collects the diagnostics of a run; every stage appends to one and keeps going.
public final class DiagnosticBag: @unchecked Sendable {
    public private(set) var items: [Diagnostic] = []
    public init() {}
    public func add(_ d: Diagnostic) { items.append(d) }
    public func add(contentsOf ds: [Diagnostic]) { items.append(contentsOf: ds) }
    public var hasErrors: Bool { items.contains { $0.severity == .error } }
    public var errorCount: Int { items.filter { $0.severity == .error }.count }
    public var warningCount: Int { items.filter { $0.severity == .warning }.count }
    /// Diagnostics in source order (file, then offset), errors before warnings at the same place.
    public var sorted: [Diagnostic] {
        items.enumerated().sorted { x, y in
            let a = x.element, b = y.element
            if (a.file?.name ?? "") != (b.file?.name ?? "") { return (a.file?.name ?? "") < (b.file?.name ?? "") }
            if a.range.start != b.range.start { return a.range.start < b.range.start }
            return x.offset < y.offset
        }.map(\.element)
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
public func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var prev = Array(0...y.count), cur = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        cur[0] = i
        for j in 1...y.count {
            let sub: Int = prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)
            let ins: Int = cur[j - 1] + 1
            let del: Int = prev[j] + 1
            cur[j] = Swift.min(sub, Swift.min(ins, del))
        }
        swap(&prev, &cur)
    }
    return prev[y.count]
}

/// The closest candidates to `name`, best first, within a distance that scales with its length.
public func suggestions(for name: String, among candidates: [String], limit: Int = 3) -> [String] {
    let budget = Swift.max(1, Swift.min(3, name.count / 3 + 1))
    let lowered = name.lowercased()
    var scored: [(name: String, distance: Int)] = []
    for c in candidates where c != name {
        let d: Int = c.lowercased() == lowered ? 0 : editDistance(name, c)
        if d <= budget { scored.append((c, d)) }
    }
    scored.sort { a, b in a.distance != b.distance ? a.distance < b.distance : a.name < b.name }
    return scored.prefix(limit).map { $0.name }
}
