import LoopData

/// The plain batch body, `{"inputs": [{...}, ...]}`, read without a JSON tree: where each input
/// object lies in the body. Anything else (another shape, a value the scanner does not read)
/// returns nil and the body goes through the full parser, which gives its exact answer or error.
enum BatchBody {
    static func inputRanges(_ b: UnsafeBufferPointer<UInt8>) -> [Range<Int>]? {
        var s = Scanner(b: b)
        return s.inputRanges()
    }

    /// The scan's position over the body. Its steps are methods of a value (not closures over a
    /// captured variable), so the compiler checks exclusive access statically.
    struct Scanner {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0
        var end: Int { b.count }

        @inline(__always) mutating func ws() { while i < end, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 } }

        /// Skips a string (escapes allowed), returning false at its end's absence.
        mutating func skipString() -> Bool {
            i += 1
            while true {
                i = FastJSONLines.stringStop(b, i, end)   // a quote, a backslash or a control character
                guard i < end, b[i] != 0x22 else { break }
                if b[i] < 0x20 { return false }
                i += 2
            }
            guard i < end else { return false }
            i += 1
            return true
        }

        /// Skips an object, counting nesting and skipping strings (the element is read again later).
        mutating func skipObject() -> Bool {
            var depth = 0
            while i < end {
                switch b[i] {
                case 0x22: guard skipString() else { return false }; continue
                case 0x7B, 0x5B: depth += 1
                case 0x7D, 0x5D:
                    depth -= 1
                    if depth == 0 { i += 1; return true }
                default: break
                }
                i += 1
            }
            return false
        }

        /// After a member: true past a comma (another follows), false past `close`, nil otherwise.
        mutating func separator(close: UInt8) -> Bool? {
            ws()
            guard i < end, b[i] == 0x2C || b[i] == close else { return nil }
            i += 1
            return b[i - 1] == 0x2C
        }

        mutating func inputRanges() -> [Range<Int>]? {
            ws()
            guard i < end, b[i] == 0x7B else { return nil }
            i += 1
            var ranges: [Range<Int>]? = nil
            while true {
                ws()
                guard i < end, b[i] == 0x22 else { return nil }
                let k0 = i + 1
                guard skipString() else { return nil }
                let isInputs = i - 1 - k0 == 6 && b[k0] == 0x69 && Array(b[k0..<(k0 + 6)]) == Array("inputs".utf8)
                ws()
                guard i < end, b[i] == 0x3A else { return nil }
                i += 1
                ws()
                guard isInputs, ranges == nil, i < end, b[i] == 0x5B else { return nil }  // only `inputs`, once, a list
                i += 1
                var rs: [Range<Int>] = []
                ws()
                if i < end, b[i] == 0x5D { i += 1 } else {
                    while true {
                        ws()
                        guard i < end, b[i] == 0x7B else { return nil }
                        let s = i
                        guard skipObject() else { return nil }
                        rs.append(s..<i)
                        guard let more = separator(close: 0x5D) else { return nil }
                        if !more { break }
                    }
                }
                ranges = rs
                guard let more = separator(close: 0x7D) else { return nil }
                if !more { break }
            }
            ws()
            return i == end ? ranges : nil
        }
    }
}
