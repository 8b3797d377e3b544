/// The value types of Loop. There is no user-defined type; labels are not values.
public enum LoopType: String, Sendable, CaseIterable, CustomStringConvertible {
    case text, number, bool
    /// A list of text literals (keywords).
    case list
    /// A compiled linear-time regex.
    case regex
    /// A word → weight table.
    case table

    public var description: String { self == .list ? "[text]" : rawValue }

    /// The type named in source (`[text]` arrives as `list`).
    public init?(typeName: String) {
        switch typeName {
        case "text": self = .text
        case "number": self = .number
        case "bool": self = .bool
        case "list": self = .list
        case "regex": self = .regex
        case "table": self = .table
        default: return nil
        }
    }
}

/// The built-in functions. Their meaning is defined once in Docs/language.md and implemented by
/// every engine; the checker knows only their signatures.
public enum Builtin: String, CaseIterable, Sendable {
    // text → text
    case lower, upper, trim
    // text → number
    case len, word_count, upper_ratio, digit_ratio, punct_ratio
    // (text, text) → bool
    case contains, starts_with, ends_with, contains_word
    // (text, text) → number
    case count, count_word
    // (text, [text]) → bool
    case contains_any, contains_all, contains_any_word, starts_with_any, ends_with_any, one_of
    // (text, [text]) → number
    case count_any, count_words
    // (text, regex)
    case matches, count_matches
    // (text, table) → number
    case sum_words
    // (text, table, [text], number) → number
    case sum_words_negated
    // numbers
    case min, max, abs, clamp

    public var signature: (params: [LoopType], result: LoopType) {
        switch self {
        case .lower, .upper, .trim: return ([.text], .text)
        case .len, .word_count, .upper_ratio, .digit_ratio, .punct_ratio: return ([.text], .number)
        case .contains, .starts_with, .ends_with, .contains_word: return ([.text, .text], .bool)
        case .count, .count_word: return ([.text, .text], .number)
        case .contains_any, .contains_all, .contains_any_word, .starts_with_any, .ends_with_any, .one_of: return ([.text, .list], .bool)
        case .count_any, .count_words: return ([.text, .list], .number)
        case .matches: return ([.text, .regex], .bool)
        case .count_matches: return ([.text, .regex], .number)
        case .sum_words: return ([.text, .table], .number)
        case .sum_words_negated: return ([.text, .table, .list, .number], .number)
        case .min, .max: return ([.number, .number], .number)
        case .abs: return ([.number], .number)
        case .clamp: return ([.number, .number, .number], .number)
        }
    }

    /// One line for references, hover text and the generator's prompt.
    public var summary: String {
        switch self {
        case .lower: return "lowercase (simple case mapping; see Text)"
        case .upper: return "uppercase (simple case mapping)"
        case .trim: return "strip ASCII white space at both ends"
        case .len: return "number of characters (Unicode scalars; an invalid byte counts as one)"
        case .word_count: return "number of maximal runs of word characters"
        case .upper_ratio: return "uppercase letters / cased letters (0 when there are none)"
        case .digit_ratio: return "ASCII digits / characters (0 for empty text)"
        case .punct_ratio: return "ASCII punctuation / characters (0 for empty text)"
        case .contains: return "the text contains the substring (bytes, case-sensitive)"
        case .starts_with: return "the text starts with the prefix"
        case .ends_with: return "the text ends with the suffix"
        case .contains_word: return "the text contains the word (or phrase) as a whole word"
        case .count: return "non-overlapping occurrences of the substring, left to right"
        case .count_word: return "whole-word occurrences of the word"
        case .contains_any: return "some keyword of the list occurs"
        case .contains_all: return "every keyword of the list occurs"
        case .contains_any_word: return "some keyword of the list occurs as a whole word"
        case .starts_with_any: return "the text starts with some keyword"
        case .ends_with_any: return "the text ends with some keyword"
        case .one_of: return "the text equals some element of the list"
        case .count_any: return "non-overlapping keyword occurrences, leftmost-longest"
        case .count_words: return "non-overlapping whole-word keyword occurrences, leftmost-longest"
        case .matches: return "the regex matches somewhere in the text"
        case .count_matches: return "non-empty, non-overlapping leftmost-longest regex matches"
        case .sum_words: return "sum of the table's weights over whole-word occurrences, leftmost-longest"
        case .sum_words_negated: return "sum_words, with the weight of an occurrence flipped when a negator comes fewer than `scope` words before it in the same clause"
        case .min: return "the smaller number"
        case .max: return "the larger number"
        case .abs: return "absolute value"
        case .clamp: return "clamp(x, lo, hi): x limited to [lo, hi]"
        }
    }

    public var usage: String {
        let (ps, r) = signature
        let names: [String]
        switch ps.count {
        case 1: names = self == .abs ? ["x"] : ["t"]
        case 3: names = ["x", "lo", "hi"]
        case 4: names = ["t", "weights", "negators", "scope"]
        default:
            if ps[0] == .number { names = ["a", "b"] }
            else { names = ["t", ps[1] == .list ? "words" : ps[1] == .regex ? "re" : ps[1] == .table ? "weights" : "s"] }
        }
        return "\(rawValue)(" + zip(names, ps).map { "\($0): \($1)" }.joined(separator: ", ") + ") -> \(r)"
    }
}
