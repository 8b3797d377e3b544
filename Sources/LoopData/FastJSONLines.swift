/// Reads the text fields of JSON Lines records straight from the file's bytes, without building
/// a JSON tree: for each line, where each field's string value lies in the buffer. Only the plain
/// case is read this way (an object whose field values are strings without escapes, and whose
/// other values are strings, numbers or literals); anything else returns nil, and the caller
/// reads that line with the full parser, which gives its exact answer or error. So the fast path
/// never accepts a line the parser would refuse, and never reads a different value from it.
public enum FastJSONLines {
    /// The byte ranges (into `b`) of the string values of `keys` in the object on `b[start..<end]`,
    /// or nil when the line needs the full parser.
    public static func textSpans(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, keys: [[UInt8]]) -> [Range<Int>]? {
        var flat: [Int] = []
        guard textSpans(b, start, end, keys: keys, into: &flat) else { return nil }
        return stride(from: 0, to: flat.count, by: 2).map { flat[$0]..<flat[$0 + 1] }
    }

    /// The same, appending each key's (start, end) offsets to `out`, in the keys' order; nothing
    /// is appended when it returns false.
    public static func textSpans(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, keys: [[UInt8]], into out: inout [Int]) -> Bool {
        textSpans(b, start, end, keys: keys, optional: 0, into: &out)
    }

    /// The same, where the last `optional` keys may be missing (their offsets are then -1).
    public static func textSpans(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, keys: [[UInt8]], optional: Int, into out: inout [Int]) -> Bool {
        var escaped: UInt64 = 0
        return textSpans(b, start, end, keys: keys, optional: optional, into: &out, escaped: &escaped, allowEscapes: false)
    }

    /// The same, where a field's string may also hold the simple escapes (`\"`, `\\`, `\/`, `\b`,
    /// `\f`, `\n`, `\r`, `\t`): bit k of `escaped` is set when key k's span holds one, and the
    /// caller reads that span through `unescape` (at most 64 keys; `\u` still needs the parser).
    public static func textSpans(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, keys: [[UInt8]], optional: Int,
                                 into out: inout [Int], escaped: inout UInt64, allowEscapes: Bool) -> Bool {
        let base = out.count
        for _ in keys { out.append(-1); out.append(-1) }
        escaped = 0
        if scan(b, start, end, keys: keys, required: keys.count - optional, out: &out, base: base,
                escaped: &escaped, allowEscapes: allowEscapes && keys.count <= 64) { return true }
        out.removeSubrange(base...)
        return false
    }

    /// A field's string value with its simple escapes decoded, as the parser reads it (the span
    /// was checked by `textSpans`: only simple escapes, no control characters).
    public static func unescape(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into out: inout [UInt8]) {
        var i = start
        while i < end {
            let c = b[i]
            if c != 0x5C { out.append(c); i += 1; continue }
            switch b[i + 1] {
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            default: out.append(b[i + 1])   // \" \\ \/
            }
            i += 2
        }
    }

    /// The first index in `i..<end` whose byte is a quote, a backslash or a control character
    /// (`end` if none), eight bytes at a time.
    @inline(__always)
    public static func stringStop(_ b: UnsafeBufferPointer<UInt8>, _ i0: Int, _ end: Int) -> Int {
        var i = i0
        let base = UnsafeRawPointer(b.baseAddress!)
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= end {
            let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            // A byte is flagged when it equals 0x22 or 0x5C, or is below 0x20 (exact for bytes < 0x80;
            // bytes >= 0x80 are never flagged: `& ~w` masks them).
            let q = w ^ (ones &* 0x22), s = w ^ (ones &* 0x5C)
            let hit = ((q &- ones) | (s &- ones) | (w &- ones &* 0x20)) & ~w & highs
            if hit != 0 { return i + hit.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < end, b[i] != 0x22, b[i] != 0x5C, b[i] >= 0x20 { i += 1 }
        return i
    }

    private static func scan(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, keys: [[UInt8]], required: Int, out: inout [Int], base: Int,
                             escaped: inout UInt64, allowEscapes: Bool) -> Bool {
        var found = 0
        var i = start
        @inline(__always) func ws() { while i < end, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 } }
        ws()
        guard i < end, b[i] == 0x7B else { return false }  // {
        i += 1
        ws()
        guard i < end, b[i] != 0x7D else { return false }  // an empty object: the parser says what is missing
        while true {
            ws()
            guard i < end, b[i] == 0x22 else { return false }
            let keyStart = i + 1
            i += 1
            while i < end, b[i] != 0x22 {
                if b[i] == 0x5C || b[i] < 0x20 { return false }
                i += 1
            }
            guard i < end else { return false }
            let keyEnd = i
            i += 1
            ws()
            guard i < end, b[i] == 0x3A else { return false }  // :
            i += 1
            ws()
            guard i < end else { return false }
            var field = -1
            for k in 0..<keys.count where keys[k].count == keyEnd - keyStart {
                var same = true
                keys[k].withUnsafeBufferPointer { key in
                    for j in 0..<key.count where key[j] != b[keyStart + j] { same = false; break }
                }
                if same { field = k; break }
            }
            if b[i] == 0x22 {
                let valueStart = i + 1
                i += 1
                while true {
                    i = stringStop(b, i, end)
                    guard i < end, b[i] != 0x22 else { break }
                    let c = b[i]
                    if c < 0x20 { return false }
                    // An escape (c is a backslash): in a field only when allowed, and only the simple ones.
                    guard field < 0 || allowEscapes, i + 1 < end else { return false }
                    switch b[i + 1] {
                    case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
                        if field >= 0 { escaped |= 1 << UInt64(field) }
                        i += 2
                    default: return false
                    }
                }
                guard i < end else { return false }
                if field >= 0 {
                    // The parser's lookup takes the first of duplicate keys: leave those to it.
                    guard out[base + 2 * field] < 0 else { return false }
                    out[base + 2 * field] = valueStart
                    out[base + 2 * field + 1] = i
                    if field < required { found += 1 }
                }
                i += 1
            } else {
                guard field < 0 else { return false }  // a field that is not a string: the parser's error
                switch b[i] {
                case 0x74: guard literal(b, &i, end, [0x74, 0x72, 0x75, 0x65]) else { return false }
                case 0x66: guard literal(b, &i, end, [0x66, 0x61, 0x6C, 0x73, 0x65]) else { return false }
                case 0x6E: guard literal(b, &i, end, [0x6E, 0x75, 0x6C, 0x6C]) else { return false }
                case 0x2D, 0x30...0x39:
                    let s = i
                    if b[i] == 0x2D { i += 1 }
                    guard i < end, b[i] >= 0x30, b[i] <= 0x39 else { return false }
                    while i < end, (b[i] >= 0x30 && b[i] <= 0x39) || b[i] == 0x2E || b[i] == 0x65 || b[i] == 0x45 || b[i] == 0x2B || b[i] == 0x2D { i += 1 }
                    guard let v = Double(String(decoding: UnsafeBufferPointer(rebasing: b[s..<i]), as: UTF8.self)), v.isFinite else { return false }
                default: return false  // nested values: the parser
                }
            }
            ws()
            guard i < end else { return false }
            if b[i] == 0x2C { i += 1; continue }  // ,
            guard b[i] == 0x7D else { return false }  // }
            i += 1
            break
        }
        ws()
        return i == end && found == required
    }

    @inline(__always)
    static func literal(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ end: Int, _ w: [UInt8]) -> Bool {
        guard i + w.count <= end else { return false }
        for k in 0..<w.count where b[i + k] != w[k] { return false }
        i += w.count
        return true
    }
}
