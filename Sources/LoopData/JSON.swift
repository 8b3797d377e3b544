/// A small, exact JSON value: strings stay UTF-8 bytes and object keys keep their order, so
/// records round-trip and output is byte-for-byte deterministic.
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string([UInt8])
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public subscript(key: String) -> JSON? {
        if case .object(let kv) = self { return kv.first { $0.0 == key }?.1 }
        return nil
    }

    public var string: String? { if case .string(let b) = self { return String(decoding: b, as: UTF8.self) }; return nil }
    public var number: Double? { if case .number(let v) = self { return v }; return nil }
    public var bool: Bool? { if case .bool(let v) = self { return v }; return nil }
    public var array: [JSON]? { if case .array(let v) = self { return v }; return nil }

    /// The JSON type name, for error messages.
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

public struct JSONError: Error, CustomStringConvertible {
    public let offset: Int
    public let message: String
    public var description: String { "\(message) at byte \(offset + 1)" }
}

/// A strict RFC 8259 parser with a nesting limit.
public struct JSONParser {
    let b: [UInt8]
    var i = 0
    var depth = 0
    public static let maxDepth = 256

    public static func parse(_ bytes: [UInt8]) throws -> JSON {
        var p = JSONParser(b: bytes)
        p.ws()
        let v = try p.value()
        p.ws()
        if p.i != bytes.count { throw JSONError(offset: p.i, message: "unexpected text after the JSON value") }
        return v
    }

    public static func parse(_ s: String) throws -> JSON { try parse(Array(s.utf8)) }

    mutating func ws() { while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 } }

    mutating func value() throws -> JSON {
        guard i < b.count else { throw JSONError(offset: i, message: "unexpected end of input") }
        switch b[i] {
        case UInt8(ascii: "{"):
            depth += 1
            defer { depth -= 1 }
            if depth > JSONParser.maxDepth { throw JSONError(offset: i, message: "nested too deeply") }
            i += 1; ws()
            var kv: [(String, JSON)] = []
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(kv) }
            while true {
                ws()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw JSONError(offset: i, message: "expected a string key") }
                let k = try string()
                ws()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw JSONError(offset: i, message: "expected `:`") }
                i += 1; ws()
                kv.append((String(decoding: k, as: UTF8.self), try value()))
                ws()
                guard i < b.count else { throw JSONError(offset: i, message: "unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(kv) }
                throw JSONError(offset: i, message: "expected `,` or `}`")
            }
        case UInt8(ascii: "["):
            depth += 1
            defer { depth -= 1 }
            if depth > JSONParser.maxDepth { throw JSONError(offset: i, message: "nested too deeply") }
            i += 1; ws()
            var xs: [JSON] = []
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(xs) }
            while true {
                ws()
                xs.append(try value())
                ws()
                guard i < b.count else { throw JSONError(offset: i, message: "unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(xs) }
                throw JSONError(offset: i, message: "expected `,` or `]`")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try word("true"); return .bool(true)
        case UInt8(ascii: "f"): try word("false"); return .bool(false)
        case UInt8(ascii: "n"): try word("null"); return .null
        default: return .number(try number())
        }
    }

    mutating func word(_ w: String) throws {
        let u = Array(w.utf8)
        guard i + u.count <= b.count, Array(b[i..<i + u.count]) == u else { throw JSONError(offset: i, message: "invalid literal") }
        i += u.count
    }

    mutating func number() throws -> Double {
        let s = i
        if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, b[i] >= 48, b[i] <= 57 else { throw JSONError(offset: s, message: "unexpected character") }
        while i < b.count, (b[i] >= 48 && b[i] <= 57) || b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        guard let v = Double(String(decoding: b[s..<i], as: UTF8.self)), v.isFinite else { throw JSONError(offset: s, message: "invalid or out-of-range number") }
        return v
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw JSONError(offset: i, message: "invalid \\u escape")
        }
        i += 4
        return v
    }

    mutating func string() throws -> [UInt8] {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw JSONError(offset: start, message: "unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw JSONError(offset: i, message: "control character in string") }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < b.count else { throw JSONError(offset: i, message: "unterminated escape") }
                let e = b[i]; i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if v >= 0xD800 && v <= 0xDBFF, i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let lo = try hex4()
                        if lo >= 0xDC00 && lo <= 0xDFFF { v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00) } else { v = 0xFFFD }
                    }
                    if v >= 0xD800 && v <= 0xDFFF { v = 0xFFFD }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(v)!)).utf8))
                default: throw JSONError(offset: i - 1, message: "invalid escape")
                }
                continue
            }
            out.append(c)
            i += 1
        }
        return out
    }
}

/// Writes JSON with keys in the order given and numbers in their shortest round-trip form.
public enum JSONWriter {
    public static func write(_ v: JSON, into s: inout String) {
        switch v {
        case .null: s += "null"
        case .bool(let x): s += x ? "true" : "false"
        case .number(let x): s += number(x)
        case .string(let b): string(b, into: &s)
        case .array(let xs):
            s += "["
            for (k, x) in xs.enumerated() { if k > 0 { s += "," }; write(x, into: &s) }
            s += "]"
        case .object(let kv):
            s += "{"
            for (k, (key, x)) in kv.enumerated() {
                if k > 0 { s += "," }
                string(Array(key.utf8), into: &s)
                s += ":"
                write(x, into: &s)
            }
            s += "}"
        }
    }

    public static func string(_ v: JSON) -> String { var s = ""; write(v, into: &s); return s }

    /// The same text as `string(v)`, as UTF-8 bytes appended to `out` (no String in between).
    public static func write(_ v: JSON, bytes out: inout [UInt8]) {
        switch v {
        case .null: out += [0x6E, 0x75, 0x6C, 0x6C]
        case .bool(let x): out += Array((x ? "true" : "false").utf8)
        case .number(let x): out += Array(number(x).utf8)
        case .string(let b): string(b, bytes: &out)
        case .array(let xs):
            out.append(0x5B)
            for (k, x) in xs.enumerated() { if k > 0 { out.append(0x2C) }; write(x, bytes: &out) }
            out.append(0x5D)
        case .object(let kv):
            out.append(0x7B)
            for (k, (key, x)) in kv.enumerated() {
                if k > 0 { out.append(0x2C) }
                string(Array(key.utf8), bytes: &out)
                out.append(0x3A)
                write(x, bytes: &out)
            }
            out.append(0x7D)
        }
    }

    public static func bytes(_ v: JSON) -> [UInt8] { var b: [UInt8] = []; write(v, bytes: &b); return b }

    /// A string's escaped form as bytes; the same text as `string(_:into:)`.
    public static func string(_ b: [UInt8], bytes out: inout [UInt8]) {
        if !b.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 >= 0x80 }) {
            out.append(0x22); out += b; out.append(0x22)
            return
        }
        var s = ""
        string(b, into: &s)
        out += Array(s.utf8)
    }

    /// A Swift string's escaped form as bytes (the same text as for its UTF-8 bytes).
    public static func string(_ s: String, bytes out: inout [UInt8]) {
        var s = s
        s.withUTF8 { u in
            // A String is valid UTF-8: only quotes, backslashes and control characters need escapes.
            if !u.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
                out.append(0x22); out.append(contentsOf: u); out.append(0x22)
            } else { string(Array(u), bytes: &out) }
        }
    }

    /// How many bytes `string(v)` has, without building it (strings of valid UTF-8 are counted
    /// directly, escapes included).
    public static func length(_ v: JSON) -> Int {
        switch v {
        case .string(let b):
            if let n = escapedLength(b) { return n }
            return string(v).utf8.count
        default: return string(v).utf8.count
        }
    }

    /// `number(x)` as bytes appended to `out`.
    public static func number(_ x: Double, bytes out: inout [UInt8]) {
        if x.isFinite, x == x.rounded(), Swift.abs(x) < 1e15 {
            var v = Int64(x)
            if v == 0 { out.append(0x30); return }
            if v < 0 { out.append(0x2D); v = -v }
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // up to 24 digits, reversed
            var n = 0
            withUnsafeMutableBytes(of: &digits) { d in
                while v > 0 { d[n] = UInt8(0x30 + v % 10); v /= 10; n += 1 }
                for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
            }
            return
        }
        out += number(x).utf8
    }

    /// The length of a string's escaped form (quotes included) when it is valid UTF-8; nil
    /// otherwise (invalid bytes become U+FFFD, which `string` works out).
    static func escapedLength(_ b: [UInt8]) -> Int? { b.withUnsafeBytes { escapedLength($0) } }

    /// `escapedLength` of the bytes in `raw`.
    public static func escapedLength(_ raw: UnsafeRawBufferPointer) -> Int? {
        var n = 2, i = 0
        let count = raw.count
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let b = raw.assumingMemoryBound(to: UInt8.self)
        while i < count {
            // Eight plain ASCII bytes at a time (no quote, backslash, control character or high bit).
            if i + 8 <= count {
                let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let q = w ^ (ones &* 0x22), s = w ^ (ones &* 0x5C)
                if (((q &- ones) | (s &- ones) | (w &- ones &* 0x20)) & ~w & highs) | (w & highs) == 0 { n += 8; i += 8; continue }
            }
            let c = b[i]
            if c < 0x80 {
                switch c {
                case 0x22, 0x5C, 0x0A, 0x0D, 0x09: n += 2
                case 0..<0x20: n += 6
                default: n += 1
                }
                i += 1
                continue
            }
            // A multi-byte sequence: exactly what String(validating:) accepts, or nil.
            let len: Int, lo: UInt8, hi: UInt8
            switch c {
            case 0xC2...0xDF: len = 2; lo = 0x80; hi = 0xBF
            case 0xE0: len = 3; lo = 0xA0; hi = 0xBF
            case 0xE1...0xEC, 0xEE, 0xEF: len = 3; lo = 0x80; hi = 0xBF
            case 0xED: len = 3; lo = 0x80; hi = 0x9F
            case 0xF0: len = 4; lo = 0x90; hi = 0xBF
            case 0xF1...0xF3: len = 4; lo = 0x80; hi = 0xBF
            case 0xF4: len = 4; lo = 0x80; hi = 0x8F
            default: return nil
            }
            guard i + len <= count, b[i + 1] >= lo, b[i + 1] <= hi else { return nil }
            for k in 2..<max(len, 2) where b[i + k] < 0x80 || b[i + k] > 0xBF { return nil }
            n += len
            i += len
        }
        return n
    }

    public static func number(_ x: Double) -> String {
        if !x.isFinite { return "null" }
        if x == x.rounded(), Swift.abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    /// Escapes a UTF-8 string; bytes that are not valid UTF-8 become U+FFFD.
    public static func string(_ b: [UInt8], into s: inout String) {
        // Most strings need no escape and are valid UTF-8: one append.
        if !b.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }), let valid = String(validating: b, as: UTF8.self) {
            s += "\""
            s += valid
            s += "\""
            return
        }
        s += "\""
        for ch in String(decoding: b, as: UTF8.self).unicodeScalars {
            switch ch {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case "\n": s += "\\n"
            case "\r": s += "\\r"
            case "\t": s += "\\t"
            default:
                if ch.value < 0x20 {
                    let h = String(ch.value, radix: 16)
                    s += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else { s.unicodeScalars.append(ch) }
            }
        }
        s += "\""
    }
}

extension JSON {
    public init(_ s: String) { self = .string(Array(s.utf8)) }
}

/// Stored as its JSON text (in Codable containers such as saved driver state).
extension JSON: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        do { self = try JSONParser.parse(text) }
        catch { throw DecodingError.dataCorruptedError(in: c, debugDescription: "invalid JSON text: \(error)") }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(JSONWriter.string(self))
    }
}
