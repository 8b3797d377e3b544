/// The byte-level definitions of text that every engine implements identically: UTF-8 decoding,
/// case mapping, word characters and character classes (Docs/language.md, "Text"). They are
/// deliberately small tables, so the LLVM backend can turn them into automata over bytes.
public enum TextSemantics {
    /// A decoded unit: a Unicode scalar, or `invalidBase + byte` for a byte that does not start a
    /// well-formed UTF-8 sequence. Invalid bytes count as one character each and never change.
    public static let invalidBase: UInt32 = 0x110000

    /// Decodes one unit at `i`; returns the unit and its length in bytes (1...4).
    @inline(__always)
    public static func decode(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
        let c0 = b[i]
        if c0 < 0x80 { return (UInt32(c0), 1) }
        let n = b.count
        func cont(_ k: Int) -> UInt32? { i + k < n && b[i + k] & 0xC0 == 0x80 ? UInt32(b[i + k] & 0x3F) : nil }
        if c0 >= 0xC2 && c0 <= 0xDF, let c1 = cont(1) { return ((UInt32(c0 & 0x1F) << 6) | c1, 2) }
        if c0 >= 0xE0 && c0 <= 0xEF, let c1 = cont(1), let c2 = cont(2) {
            let v = (UInt32(c0 & 0x0F) << 12) | (c1 << 6) | c2
            if v >= 0x800 && !(v >= 0xD800 && v <= 0xDFFF) { return (v, 3) }
        }
        if c0 >= 0xF0 && c0 <= 0xF4, let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) {
            let v = (UInt32(c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3
            if v >= 0x10000 && v <= 0x10FFFF { return (v, 4) }
        }
        return (invalidBase + UInt32(c0), 1)
    }

    /// Appends the UTF-8 encoding of a unit (an invalid unit writes its original byte back).
    @inline(__always)
    public static func encode(_ u: UInt32, into out: inout [UInt8]) {
        if u >= invalidBase { out.append(UInt8(u - invalidBase)); return }
        if u < 0x80 { out.append(UInt8(u)) }
        else if u < 0x800 { out.append(UInt8(0xC0 | (u >> 6))); out.append(UInt8(0x80 | (u & 0x3F))) }
        else if u < 0x10000 {
            out.append(UInt8(0xE0 | (u >> 12))); out.append(UInt8(0x80 | ((u >> 6) & 0x3F))); out.append(UInt8(0x80 | (u & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (u >> 18))); out.append(UInt8(0x80 | ((u >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((u >> 6) & 0x3F))); out.append(UInt8(0x80 | (u & 0x3F)))
        }
    }

    /// Simple one-to-one lowercase mapping: ASCII, Latin-1, Latin Extended-A, basic Greek and
    /// Cyrillic. Every mapping keeps the UTF-8 length, so byte offsets survive case mapping.
    @inline(__always)
    public static func lower(_ c: UInt32) -> UInt32 {
        if c < 0x80 { return c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
        if c < 0xC0 { return c }
        if c <= 0xDE { return c == 0xD7 ? c : c + 0x20 }
        if c >= 0x100 && c <= 0x17F {
            if (c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177) {
                return c & 1 == 0 ? c + 1 : c
            }
            if (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E) { return c & 1 == 1 ? c + 1 : c }
            if c == 0x178 { return 0xFF }
            return c
        }
        if c >= 0x391 && c <= 0x3A9 { return c == 0x3A2 ? c : c + 0x20 }
        if c >= 0x410 && c <= 0x42F { return c + 0x20 }
        if c >= 0x400 && c <= 0x40F { return c + 0x50 }
        return c
    }

    /// Simple one-to-one uppercase mapping over the same blocks as `lower`.
    @inline(__always)
    public static func upper(_ c: UInt32) -> UInt32 {
        if c < 0x80 { return c >= 0x61 && c <= 0x7A ? c - 0x20 : c }
        if c < 0xE0 { return c }
        if c <= 0xFE { return c == 0xF7 ? c : c - 0x20 }
        if c == 0xFF { return 0x178 }
        if c >= 0x100 && c <= 0x17F {
            if (c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177) {
                return c & 1 == 1 ? c - 1 : c
            }
            if (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E) { return c & 1 == 0 ? c - 1 : c }
            return c
        }
        if c >= 0x3B1 && c <= 0x3C9 { return c == 0x3C2 ? 0x3A3 : c - 0x20 }
        if c >= 0x430 && c <= 0x44F { return c - 0x20 }
        if c >= 0x450 && c <= 0x45F { return c - 0x50 }
        return c
    }

    /// Word characters, for `\b`, `\w`, whole-word matching and `word_count`: ASCII letters,
    /// digits and `_`, and the letters of the scripts listed in Docs/language.md.
    @inline(__always)
    public static func isWord(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
        }
        if c < 0xC0 { return false }
        if c <= 0x24F { return c != 0xD7 && c != 0xF7 }
        if c >= 0x370 && c <= 0x52F { return c != 0x37E && c != 0x387 }
        if c >= 0x590 && c <= 0x6FF { return true }
        if c >= 0x900 && c <= 0xE7F { return true }
        if c >= 0x1E00 && c <= 0x1FFF { return true }
        if c >= 0x3040 && c <= 0x30FF { return true }
        if c >= 0x3400 && c <= 0x9FFF { return true }
        if c >= 0xAC00 && c <= 0xD7AF { return true }
        return false
    }

    @inline(__always) public static func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }
    /// ASCII white space: space, \t, \n, \v, \f, \r.
    @inline(__always) public static func isSpace(_ c: UInt32) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
    /// ASCII punctuation: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
    @inline(__always) public static func isPunct(_ c: UInt32) -> Bool {
        (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E)
    }
    @inline(__always) public static func isUpper(_ c: UInt32) -> Bool { lower(c) != c }
    @inline(__always) public static func isCased(_ c: UInt32) -> Bool { lower(c) != c || upper(c) != c }

    /// Decodes a whole text into units and the byte offset where each starts.
    public static func units(_ bytes: [UInt8]) -> (units: [UInt32], starts: [Int]) {
        var us: [UInt32] = [], st: [Int] = []
        us.reserveCapacity(bytes.count)
        st.reserveCapacity(bytes.count)
        bytes.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                let (u, n) = decode(b, i)
                us.append(u); st.append(i)
                i += n
            }
        }
        return (us, st)
    }

    /// Maps every unit through `f` (lower or upper). Lengths are preserved.
    public static func mapCase(_ bytes: [UInt8], _ f: (UInt32) -> UInt32) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        bytes.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                let c = b[i]
                if c < 0x80 { out.append(UInt8(f(UInt32(c)))); i += 1; continue }
                let (u, n) = decode(b, i)
                encode(u >= invalidBase ? u : f(u), into: &out)
                i += n
            }
        }
        return out
    }
}
