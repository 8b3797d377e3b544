import Foundation
import LoopSyntax

/// The rules for names the program will use: the program's name, labels and input fields must
/// be Loop identifiers (ASCII letters, digits and `_`, not starting with a digit) and not
/// reserved words (Docs/language.md, "Lexical structure").
public enum LoopNames {
    public static let keywords: Set<String> = Set(Keyword.allCases.map(\.rawValue))

    /// Why `name` cannot be used (nil when it can), and a name that could be used instead.
    public static func problem(_ name: String) -> (reason: String, suggestion: String?)? {
        if name.isEmpty { return ("is empty", nil) }
        if keywords.contains(name) { return ("is a reserved word of Loop", name + "_") }
        let scalars = Array(name.unicodeScalars)
        let ok = scalars.allSatisfy { isWordScalar($0) }
        if ok, let first = scalars.first, !("0"..."9").contains(first) { return nil }
        return ("is not a Loop identifier (ASCII letters, digits and `_`, not starting with a digit)", sanitized(name))
    }

    /// The name of a built-in function: an input field may not shadow one (E0308).
    public static func isBuiltin(_ name: String) -> Bool { Builtin(rawValue: name) != nil }

    private static func isWordScalar(_ u: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(u) || ("A"..."Z").contains(u) || ("0"..."9").contains(u) || u == "_"
    }

    /// `spam-ish` → `spam_ish`, `2fa` → `_2fa`; nil when nothing usable is left.
    public static func sanitized(_ name: String) -> String? {
        var out = ""
        for u in name.unicodeScalars { out.unicodeScalars.append(isWordScalar(u) ? u : "_") }
        while out.contains("__") { out = out.replacingOccurrences(of: "__", with: "_") }
        if let f = out.unicodeScalars.first, ("0"..."9").contains(f) { out = "_" + out }
        if out.allSatisfy({ $0 == "_" }) { return nil }
        if keywords.contains(out) { out += "_" }
        return out
    }
}

/// Loop identifiers for an application's label strings (`reverted_card_payment?`,
/// `not spam`): stable (the same strings give the same names), collision-free and readable.
public enum LabelIdentifiers {
    /// Why `name` is not usable as a label as it is, or nil when it is.
    public static func problem(_ name: String) -> String? { LoopNames.problem(name)?.reason }

    /// One identifier per label, in order: the label itself when it is one, else the label with
    /// every other character made `_` (a keyword gets a trailing `_`), then `_2`, `_3`... where
    /// two would collide.
    public static func derive(_ labels: [String]) -> [String] {
        var taken = Set(labels.filter { LoopNames.problem($0) == nil })
        var out: [String] = []
        for (i, l) in labels.enumerated() {
            if LoopNames.problem(l) == nil { out.append(l); continue }
            let base = LoopNames.sanitized(l).map { $0.hasSuffix("_") && $0.count > 1 && !LoopNames.keywords.contains(String($0.dropLast())) ? String($0.dropLast()) : $0 } ?? "label_\(i + 1)"
            var name = base, k = 2
            while taken.contains(name) || LoopNames.keywords.contains(name) { name = "\(base)_\(k)"; k += 1 }
            taken.insert(name)
            out.append(name)
        }
        return out
    }
}
