import LoopSema
import LoopInterpreter

/// Accuracy, per-label precision/recall/F1 and the confusion matrix of a labeled run.
public struct Evaluation: Sendable {
    public let labels: [String]
    /// confusion[expected][predicted]
    public private(set) var confusion: [[Int]]
    /// Records whose expected label is not one of the program's labels, by that label.
    public private(set) var unknownExpected: [String: Int] = [:]
    public private(set) var errors = 0

    /// Expected labels read from data: each label's string and identifier.
    private let lookup: [String: Int]

    public init(labels: [String]) {
        self.labels = labels
        lookup = Dictionary(labels.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
    }

    /// Reported under the application's strings; data may give either those or the identifiers.
    public init(program p: TypedProgram) {
        labels = p.labelNames
        lookup = p.labelLookup
        confusion = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
    }

    public mutating func add(expected: String, predicted: Int) {
        guard let e = lookup[expected] else { unknownExpected[expected, default: 0] += 1; return }
        confusion[e][predicted] += 1
    }
    public mutating func addError() { errors += 1 }

    public var total: Int { confusion.joined().reduce(0, +) + unknownExpected.values.reduce(0, +) + errors }
    public var correct: Int { labels.indices.reduce(0) { $0 + confusion[$1][$1] } }
    /// Correct answers over all labeled records (unknown labels and failed records count as wrong).
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    public func precision(_ l: Int) -> Double {
        let p = labels.indices.reduce(0) { $0 + confusion[$1][l] }
        return p == 0 ? 0 : Double(confusion[l][l]) / Double(p)
    }
    public func recall(_ l: Int) -> Double {
        let s = confusion[l].reduce(0, +)
        return s == 0 ? 0 : Double(confusion[l][l]) / Double(s)
    }
    public func f1(_ l: Int) -> Double {
        let p = precision(l), r = recall(l)
        return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }
    public func support(_ l: Int) -> Int { confusion[l].reduce(0, +) }

    public var json: JSON {
        .object([
            ("accuracy", .number(accuracy)),
            ("total", .number(Double(total))),
            ("correct", .number(Double(correct))),
            ("errors", .number(Double(errors))),
            ("labels", .array(labels.enumerated().map { i, l in
                .object([("label", JSON(l)), ("precision", .number(precision(i))), ("recall", .number(recall(i))),
                         ("f1", .number(f1(i))), ("support", .number(Double(support(i))))])
            })),
            ("confusion", .object(labels.enumerated().map { i, l in
                (l, .object(labels.enumerated().map { j, m in (m, .number(Double(confusion[i][j]))) }))
            })),
            ("unknown_expected_labels", .object(unknownExpected.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) })),
        ])
    }

    /// A table for people.
    public var text: String {
        func pct(_ x: Double) -> String { String(format: "%.2f%%", x * 100) }
        func f3(_ x: Double) -> String { String(format: "%.3f", x) }
        var s = "accuracy \(pct(accuracy)) (\(correct)/\(total))\n"
        if errors > 0 { s += "records that failed: \(errors)\n" }
        for (l, n) in unknownExpected.sorted(by: { $0.key < $1.key }) { s += "expected label not in the program: \(l) (\(n) records)\n" }
        let w = max(5, labels.map(\.count).max() ?? 5)
        func pad(_ x: String, _ n: Int) -> String { x.count >= n ? x : x + String(repeating: " ", count: n - x.count) }
        func lpad(_ x: String, _ n: Int) -> String { x.count >= n ? x : String(repeating: " ", count: n - x.count) + x }
        s += "\n" + pad("label", w) + "  precision  recall     f1  support\n"
        for (i, l) in labels.enumerated() {
            s += pad(l, w) + "  " + lpad(f3(precision(i)), 9) + "  " + lpad(f3(recall(i)), 6) + "  " + lpad(f3(f1(i)), 5) + "  " + lpad(String(support(i)), 7) + "\n"
        }
        if labels.count <= 20 {
            s += "\nconfusion (rows: expected, columns: predicted)\n" + pad("", w)
            let cw = max(6, labels.map(\.count).max() ?? 6)
            for l in labels { s += " " + lpad(String(l.prefix(cw)), cw) }
            s += "\n"
            for (i, l) in labels.enumerated() {
                s += pad(l, w)
                for j in labels.indices { s += " " + lpad(String(confusion[i][j]), cw) }
                s += "\n"
            }
        } else {
            // Too many labels for a matrix: the largest confusions instead.
            let top = largestConfusions(limit: 15)
            if !top.isEmpty {
                s += "\nlargest confusions (of \(total - correct - errors) wrong answers)\n"
                let cw = max(w, 9)
                s += pad("expected", cw) + "  " + pad("predicted", cw) + "  count\n"
                for c in top { s += pad(labels[c.expected], cw) + "  " + pad(labels[c.predicted], cw) + "  " + lpad(String(c.count), 5) + "\n" }
            }
        }
        return s
    }

    /// The off-diagonal cells of the confusion matrix, largest first (ties in label order).
    public func largestConfusions(limit: Int) -> [(expected: Int, predicted: Int, count: Int)] {
        var cells: [(expected: Int, predicted: Int, count: Int)] = []
        for i in labels.indices { for j in labels.indices where i != j && confusion[i][j] > 0 { cells.append((i, j, confusion[i][j])) } }
        cells.sort { $0.count != $1.count ? $0.count > $1.count : ($0.expected, $0.predicted) < ($1.expected, $1.predicted) }
        return Array(cells.prefix(limit))
    }
}

/// The JSON object `loopai run` prints for one decision. Labels are the application's strings.
public func decisionJSON(_ d: Decision, program p: TypedProgram, line: Int?) -> JSON {
    var kv: [(String, JSON)] = []
    if let line { kv.append(("line", .number(Double(line)))) }
    kv.append(("label", JSON(p.labelNames[d.label])))
    kv.append(("confidence", .number(d.confidence)))
    kv.append(("decided_by", JSON(d.decidedByText(p))))
    if d.decidedBy == .score {
        kv.append(("scores", .object(zip(p.labelNames, d.scores).map { ($0, .number($1)) })))
    }
    return .object(kv)
}

/// Writes the lines of `decisionJSON` straight as bytes, the same text (a test compares them),
/// without building a JSON value per decision: `loopai run` writes millions of these. Labels,
/// rule names and score keys are escaped once.
public struct DecisionLineWriter {
    private let labels: [[UInt8]]      // `,"label":"ham","confidence":` per label
    private let rules: [[UInt8]]       // `,"decided_by":"rule:NAME"` per rule
    private let scoreKeys: [[UInt8]]   // `"ham":` per label
    private let score = Array(#","decided_by":"score","scores":{"#.utf8)
    private let otherwise = Array(#","decided_by":"otherwise""#.utf8)

    public init(program p: TypedProgram) {
        func quoted(_ s: String) -> [UInt8] { var b: [UInt8] = []; JSONWriter.string(Array(s.utf8), bytes: &b); return b }
        labels = p.labelNames.map { Array(#","label":"#.utf8) + quoted($0) + Array(#","confidence":"#.utf8) }
        rules = p.rules.map { Array(#","decided_by":"#.utf8) + quoted("rule:" + $0.name) }
        scoreKeys = p.labelNames.map { quoted($0) + [0x3A] }
    }

    /// One decision as `decisionJSON(d, program:, line:)` writes it, with its newline.
    public func write(line: Int, label: Int, confidence: Double, decidedBy: DecidedBy, scores: UnsafeBufferPointer<Double>, into out: inout [UInt8]) {
        out += Array(#"{"line":"#.utf8)
        JSONWriter.number(Double(line), bytes: &out)
        // The leading comma of `labels[label]` follows the line number.
        out += labels[label]
        JSONWriter.number(confidence, bytes: &out)
        switch decidedBy {
        case .rule(let r): out += rules[r]
        case .otherwise: out += otherwise
        case .score:
            out += score
            for (k, key) in scoreKeys.enumerated() {
                if k > 0 { out.append(0x2C) }
                out += key
                JSONWriter.number(scores[k], bytes: &out)
            }
            out.append(0x7D)
        }
        out.append(0x7D)
        out.append(0x0A)
    }

    public func write(line: Int, _ d: Decision, into out: inout [UInt8]) {
        d.scores.withUnsafeBufferPointer { write(line: line, label: d.label, confidence: d.confidence, decidedBy: d.decidedBy, scores: $0, into: &out) }
    }
}
