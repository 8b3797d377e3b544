import Foundation

/// A parser for llama.cpp's GBNF that follows llama.cpp's own grammar parser (llama-grammar.cpp)
/// closely, including where line breaks may appear: inside parentheses and after `::=` or `|`,
/// but not elsewhere in a rule (a line break ends the rule). It compiles to a
/// character-level `CompiledGrammar`.
struct GBNFError: Error, CustomStringConvertible {
    var message: String
    var line: Int
    var description: String { "GBNF line \(line): \(message)" }
}

struct GBNFParser {
    private let s: [UInt32]
    private var i = 0
    let grammar = CompiledGrammar<CharClass>()
    /// Rule names in definition order.
    private(set) var defined: [String] = []

    init(_ text: String) { s = Array(text.unicodeScalars.map(\.value)) }

    static func parse(_ text: String) throws -> (grammar: CompiledGrammar<CharClass>, rules: [String]) {
        var p = GBNFParser(text)
        try p.parseAll()
        return (p.grammar, p.defined)
    }

    private var line: Int { s[..<min(i, s.count)].filter { $0 == 10 }.count + 1 }
    private func err(_ m: String) -> GBNFError { GBNFError(message: m, line: line) }
    private func at(_ k: Int = 0) -> UInt32 { i + k < s.count ? s[i + k] : 0 }
    private func isChar(_ c: Character, _ k: Int = 0) -> Bool { at(k) == c.unicodeScalars.first!.value }

    private static func isWordChar(_ c: UInt32) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 45
    }

    private mutating func space(newlineOK: Bool) {
        while i < s.count {
            let c = s[i]
            if c == 32 || c == 9 || (newlineOK && (c == 13 || c == 10)) { i += 1 }
            else if c == 35 { while i < s.count, s[i] != 13, s[i] != 10 { i += 1 } }
            else { break }
        }
    }

    private mutating func name() throws -> String {
        let st = i
        while i < s.count, GBNFParser.isWordChar(s[i]) { i += 1 }
        if st == i { throw err("expecting name") }
        return String(String.UnicodeScalarView(s[st..<i].compactMap(Unicode.Scalar.init)))
    }

    private mutating func hex(_ n: Int) throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<n {
            guard i < s.count, let d = Int(String(Character(Unicode.Scalar(s[i])!)), radix: 16) else { throw err("expecting \(n) hex chars") }
            v = v * 16 + UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func char() throws -> UInt32 {
        guard i < s.count else { throw err("unexpected end of input") }
        if isChar("\\") {
            i += 2
            switch at(-1) {
            case 0x78: return try hex(2)      // x
            case 0x75: return try hex(4)      // u
            case 0x55: return try hex(8)      // U
            case 0x74: return 9               // t
            case 0x72: return 13              // r
            case 0x6E: return 10              // n
            case 0x5C, 0x22, 0x5B, 0x5D: return at(-1)  // \ " [ ]
            default: throw err("unknown escape")
            }
        }
        i += 1
        return s[i - 1]
    }

    mutating func parseAll() throws {
        space(newlineOK: true)
        while i < s.count { try parseRule() }
        let undefined = grammar.undefinedRules
        if !undefined.isEmpty { throw err("undefined rules: \(undefined.joined(separator: ", "))") }
        if grammar.node(ofRule: "root") == nil { throw err("no root rule") }
    }

    private mutating func parseRule() throws {
        let n = try name()
        space(newlineOK: false)
        guard isChar(":"), isChar(":", 1), isChar("=", 2) else { throw err("expecting ::= after \(n)") }
        i += 3
        space(newlineOK: true)
        if grammar.node(ofRule: n) != nil { throw err("rule \(n) defined twice") }
        let body = try alternates(nested: false)
        grammar.define(n, body)
        defined.append(n)
        if isChar("\r") { i += isChar("\n", 1) ? 2 : 1 }
        else if isChar("\n") { i += 1 }
        else if i < s.count { throw err("expecting newline or end after rule \(n)") }
        space(newlineOK: true)
    }

    private mutating func alternates(nested: Bool) throws -> Int {
        var alts = [try sequence(nested: nested)]
        while isChar("|") {
            i += 1
            space(newlineOK: true)
            alts.append(try sequence(nested: nested))
        }
        return alts.count == 1 ? alts[0] : grammar.add(.alt(alts))
    }

    private mutating func sequence(nested: Bool) throws -> Int {
        var items: [Int] = []
        while i < s.count {
            if isChar("\"") {
                i += 1
                var chars: [Int] = []
                while !isChar("\"") {
                    guard i < s.count else { throw err("unexpected end of input in literal") }
                    chars.append(grammar.add(.term(.char(try char()))))
                }
                i += 1
                items.append(chars.count == 1 ? chars[0] : grammar.add(.seq(chars)))
                space(newlineOK: nested)
            } else if isChar("[") {
                i += 1
                var ranges: [ClosedRange<UInt32>] = []
                var negated = false
                if isChar("^") { i += 1; negated = true }
                while !isChar("]") {
                    guard i < s.count else { throw err("unexpected end of input in class") }
                    let lo = try char()
                    if isChar("-"), !isChar("]", 1) {
                        i += 1
                        let hi = try char()
                        ranges.append(lo...max(lo, hi))
                    } else {
                        ranges.append(lo...lo)
                    }
                }
                i += 1
                items.append(grammar.add(.term(CharClass(ranges: ranges, negated: negated))))
                space(newlineOK: nested)
            } else if GBNFParser.isWordChar(at()) {
                let n = try name()
                items.append(grammar.add(.ref(grammar.rule(n))))
                space(newlineOK: nested)
            } else if isChar("(") {
                i += 1
                space(newlineOK: true)
                let inner = try alternates(nested: true)
                guard isChar(")") else { throw err("expecting )") }
                i += 1
                items.append(inner)
                space(newlineOK: nested)
            } else if isChar(".") {
                i += 1
                items.append(grammar.add(.term(.anyChar)))
                space(newlineOK: nested)
            } else if isChar("*") || isChar("+") || isChar("?") {
                guard let last = items.popLast() else { throw err("expecting preceding item to */+/?") }
                let op = at()
                i += 1
                space(newlineOK: nested)
                items.append(grammar.add(op == 0x2A ? .star(last) : op == 0x2B ? .plus(last) : .opt(last)))
            } else if isChar("{") {
                guard let last = items.popLast() else { throw err("expecting preceding item to {") }
                i += 1
                space(newlineOK: nested)
                func int() throws -> Int {
                    let st = i
                    while i < s.count, s[i] >= 48, s[i] <= 57 { i += 1 }
                    guard st < i else { throw err("expecting an int") }
                    return Int(String(String.UnicodeScalarView(s[st..<i].compactMap(Unicode.Scalar.init))))!
                }
                let lo = try int()
                space(newlineOK: nested)
                var hi: Int? = lo
                if isChar("}") { i += 1 }
                else if isChar(",") {
                    i += 1
                    space(newlineOK: nested)
                    hi = (at() >= 48 && at() <= 57) ? try int() : nil
                    space(newlineOK: nested)
                    guard isChar("}") else { throw err("expecting }") }
                    i += 1
                } else { throw err("expecting , or }") }
                space(newlineOK: nested)
                var parts = Array(repeating: last, count: lo)
                if let hi { parts += Array(repeating: grammar.add(.opt(last)), count: max(0, hi - lo)) }
                else { parts.append(grammar.add(.star(last))) }
                items.append(parts.isEmpty ? grammar.add(.empty) : grammar.add(.seq(parts)))
            } else {
                break
            }
        }
        if items.isEmpty { return grammar.add(.empty) }
        return items.count == 1 ? items[0] : grammar.add(.seq(items))
    }
}
