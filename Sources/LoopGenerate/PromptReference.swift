import LoopSema

/// The language reference the LLM reads, cut from the same Docs/language.md and Grammar/ that
/// people read (embedded by scripts/gen-reference; a test keeps the copies equal). Sections that
/// only matter to implementers are left out to keep the prompt short.
public enum PromptReference {
    /// `##`/`###` headings whose sections (with their subsections) are left out.
    static let omitted: Set<String> = ["Diagnostics", "Implementation notes", "Case mapping", "Character classes"]

    /// Docs/language.md from `## Lexical structure` on, without the omitted sections.
    public static var language: String {
        var out: [Substring] = []
        var started = false
        var skipLevel: Int? = nil
        for line in ReferenceSources.languageMarkdown.split(separator: "\n", omittingEmptySubsequences: false) {
            let level = line.prefix(while: { $0 == "#" }).count
            if level >= 2 && line.dropFirst(level).first == " " {
                let title = line.dropFirst(level + 1).trimmingCharacters(in: .whitespaces)
                if title == "Lexical structure" { started = true }
                if let s = skipLevel, level <= s { skipLevel = nil }
                if skipLevel == nil && omitted.contains(title) { skipLevel = level }
            }
            if started && skipLevel == nil { out.append(line) }
        }
        return out.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Grammar/loop.ebnf without its comment blocks.
    public static var grammar: String {
        var s = ReferenceSources.grammarEBNF
        while let open = s.range(of: "(*"), let close = s.range(of: "*)", range: open.upperBound..<s.endIndex) {
            s.removeSubrange(open.lowerBound..<close.upperBound)
        }
        return s.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }.joined(separator: "\n")
    }

    /// Grammar/loop.gbnf, for llama.cpp's `grammar` field.
    public static var gbnf: String { ReferenceSources.grammarGBNF }

    /// The Stdlib modules' sources (signatures and their comments), in name order.
    public static var stdlib: String {
        Stdlib.embedded.modules.keys.sorted().map { name in
            "// module \(name) (`use \(name)`)\n" + (Stdlib.embedded.modules[name] ?? "")
        }.joined(separator: "\n\n")
    }
}

extension PromptReference {
    /// What Docs/language.md's table of built-in functions says of `name`: its signature and the
    /// description with examples (hover text in the language server).
    public static func builtinDocumentation(_ name: String) -> (signature: String, text: String)? {
        let prefix = "| `\(name)("
        for line in ReferenceSources.languageMarkdown.split(separator: "\n") where line.hasPrefix(prefix) {
            let cells = line.dropFirst(2).components(separatedBy: "` | ")
            guard cells.count >= 2 else { continue }
            var text = cells.dropFirst().joined(separator: "` | ")
            if text.hasSuffix(" |") { text.removeLast(2) }
            return (String(cells[0].dropFirst()), text)
        }
        return nil
    }
}
