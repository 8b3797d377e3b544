import Foundation
import LoopDiagnostics
import LoopSyntax

/// Paths and files of the repository, found from this source file's location.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func read(_ relative: String) throws -> String { try String(contentsOf: url(relative), encoding: .utf8) }

    /// Every `.loop` file below a directory (relative paths, sorted); none when it is missing.
    static func loopFiles(under dir: String) -> [String] {
        let base = url(dir)
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { return [] }
        var out: [String] = []
        for case let u as URL in e where u.pathExtension == "loop" {
            out.append(dir + "/" + u.path.dropFirst(base.path.count + 1))
        }
        return out.sorted()
    }

    static var examplePrograms: [String] { loopFiles(under: "Examples") }
    static var stdlibModules: [String] { loopFiles(under: "Stdlib") }
}

/// Shared helpers around LoopSyntax.
enum Syntax {
    static func errors(_ text: String) -> [Diagnostic] {
        Parser.parse(SourceFile(name: "t.loop", text: text)).diagnostics.filter { $0.severity == .error }
    }

    static func describe(_ ds: [Diagnostic]) -> String {
        ds.map { d -> String in
            let (l, c) = d.file.map { $0.location(of: d.range.start) } ?? (0, 0)
            return "\(d.code) \(l):\(c) \(d.message)"
        }.joined(separator: "; ")
    }

    /// Tokens (without the end-of-file token) as the token-level recognizer sees them.
    static func tokenViews(_ text: String) -> (views: [TokenView], lexErrors: [Diagnostic]) {
        let file = SourceFile(name: "t.loop", text: text)
        let lexed = Lexer.tokenize(file)
        var views: [TokenView] = []
        var prevEnd = -1
        for t in lexed.tokens where t.kind != .eof {
            let s = String(decoding: file.bytes[t.range.start..<t.range.end], as: UTF8.self)
            let literal: Bool
            switch t.kind {
            case .keyword, .punct: literal = true
            default: literal = false
            }
            views.append(TokenView(text: s, isLiteral: literal, adjacentToPrevious: t.range.start == prevEnd, newlineBefore: t.newlineBefore))
            prevEnd = t.range.end
        }
        return (views, lexed.diagnostics.filter { $0.severity == .error })
    }

    /// Line and column of a Unicode-scalar offset, for messages.
    static func location(_ text: String, scalarOffset: Int) -> String {
        var line = 1, col = 1, k = 0
        for u in text.unicodeScalars {
            if k == scalarOffset { break }
            if u == "\n" { line += 1; col = 1 } else { col += 1 }
            k += 1
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let shown = line - 1 < lines.count ? String(lines[line - 1]) : ""
        return "\(line):\(col): \(shown)"
    }
}

/// True when a `-` starts a line directly inside a score block (not inside brackets there),
/// where the score-block rule reads it as the start of a new term. The token-level grammar
/// cannot see line breaks, so it also allows the binary-minus reading.
func hasLineStartingMinusInScoreBlock(_ toks: [TokenView]) -> Bool {
    var stack: [Bool] = []   // true: a score block
    for (i, t) in toks.enumerated() where t.isLiteral {
        switch t.text {
        case "{": stack.append(i >= 2 && toks[i - 2].isLiteral && toks[i - 2].text == "score")
        case "(", "[": stack.append(false)
        case ")", "]", "}": _ = stack.popLast()
        case "-": if t.newlineBefore && stack.last == true { return true }
        default: break
        }
    }
    return false
}

/// The leftmost operand of an expression, as the GBNF's restriction 6 sees it.
func leftmostOperand(_ e: Expr) -> Expr {
    if case .binary(_, let l, _) = e.kind { return leftmostOperand(l) }
    return e
}
