import LoopSema

/// The reference implementations of the text built-ins, on UTF-8 bytes, exactly as
/// Docs/language.md defines them. Clarity first: the compiled engines are the fast ones.
public enum TextOps {
    public static func find(_ t: [UInt8], _ s: [UInt8], from: Int = 0) -> Int? {
        let n = t.count, m = s.count
        if m == 0 { return from <= n ? from : nil }
        if m > n { return nil }
        let first = s[0]
        var i = from
        while i + m <= n {
            if t[i] == first {
                var k = 1
                while k < m && t[i + k] == s[k] { k += 1 }
                if k == m { return i }
            }
            i += 1
        }
        return nil
    }

    @inline(__always)
    static func matchesAt(_ t: [UInt8], _ i: Int, _ s: [UInt8]) -> Bool {
        if i + s.count > t.count { return false }
        for k in 0..<s.count where t[i + k] != s[k] { return false }
        return true
    }

    public static func contains(_ t: [UInt8], _ s: [UInt8]) -> Bool { find(t, s) != nil }
    public static func startsWith(_ t: [UInt8], _ s: [UInt8]) -> Bool { matchesAt(t, 0, s) }
    public static func endsWith(_ t: [UInt8], _ s: [UInt8]) -> Bool { s.count <= t.count && matchesAt(t, t.count - s.count, s) }

    /// Non-overlapping occurrences, left to right; an empty needle occurs 0 times.
    public static func count(_ t: [UInt8], _ s: [UInt8]) -> Int {
        if s.isEmpty { return 0 }
        var c = 0, i = 0
        while let j = find(t, s, from: i) { c += 1; i = j + s.count }
        return c
    }

    public static func trim(_ t: [UInt8]) -> [UInt8] {
        var s = 0, e = t.count
        while s < e && TextSemantics.isSpace(UInt32(t[s])) { s += 1 }
        while e > s && TextSemantics.isSpace(UInt32(t[e - 1])) { e -= 1 }
        return Array(t[s..<e])
    }

    public static func length(_ t: [UInt8]) -> Int {
        var n = 0
        t.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count { i += TextSemantics.decode(b, i).1; n += 1 }
        }
        return n
    }

    /// Word structure of a text: for every byte offset, whether a unit boundary lies there and
    /// whether the unit before / after it is a word character.
    public struct WordView {
        public let boundary: [Bool]   // count + 1 entries
        public let wordBefore: [Bool]
        public let wordAfter: [Bool]
        public init(_ t: [UInt8]) {
            var b = [Bool](repeating: false, count: t.count + 1)
            var wb = [Bool](repeating: false, count: t.count + 1)
            var wa = [Bool](repeating: false, count: t.count + 1)
            t.withUnsafeBufferPointer { p in
                var i = 0
                while i < p.count {
                    let (u, n) = TextSemantics.decode(p, i)
                    let w = TextSemantics.isWord(u)
                    b[i] = true
                    wa[i] = w
                    wb[i + n] = w
                    i += n
                }
            }
            b[t.count] = true
            boundary = b; wordBefore = wb; wordAfter = wa
        }
        /// `[s, e)` is a whole-word occurrence.
        @inline(__always)
        public func isWhole(_ s: Int, _ e: Int) -> Bool { boundary[s] && boundary[e] && !wordBefore[s] && !wordAfter[e] }
    }

    public static func wordCount(_ t: [UInt8]) -> Int {
        var n = 0
        var inWord = false
        t.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                let (u, k) = TextSemantics.decode(b, i)
                let w = TextSemantics.isWord(u)
                if w && !inWord { n += 1 }
                inWord = w
                i += k
            }
        }
        return n
    }

    public static func ratio(_ t: [UInt8], _ num: (UInt32) -> Bool, _ den: (UInt32) -> Bool) -> Double {
        var a = 0, b = 0
        t.withUnsafeBufferPointer { p in
            var i = 0
            while i < p.count {
                let (u, k) = TextSemantics.decode(p, i)
                if num(u) { a += 1 }
                if den(u) { b += 1 }
                i += k
            }
        }
        return b == 0 ? 0 : Double(a) / Double(b)
    }
}

/// A keyword list prepared for scanning: keywords grouped by first byte, longest first.
public final class KeywordSet {
    public let words: [[UInt8]]
    public let weights: [Double]
    var byFirst: [[Int]] = Array(repeating: [], count: 256)

    public init(_ words: [[UInt8]], weights: [Double]? = nil) {
        self.words = words
        self.weights = weights ?? Array(repeating: 1, count: words.count)
        for (i, w) in words.enumerated() where !w.isEmpty { byFirst[Int(w[0])].append(i) }
        for k in 0..<256 { byFirst[k].sort { words[$0].count > words[$1].count } }
    }

    /// The longest keyword occurring at byte `i` (optionally only as a whole word).
    @inline(__always)
    func longest(at i: Int, in t: [UInt8], whole: TextOps.WordView?) -> Int? {
        for k in byFirst[Int(t[i])] where TextOps.matchesAt(t, i, words[k]) {
            if let v = whole, !v.isWhole(i, i + words[k].count) { continue }
            return k
        }
        return nil
    }

    public func containsAny(_ t: [UInt8]) -> Bool {
        for i in 0..<t.count where longest(at: i, in: t, whole: nil) != nil { return true }
        return false
    }

    public func containsAll(_ t: [UInt8]) -> Bool { words.allSatisfy { TextOps.contains(t, $0) } }

    /// Leftmost-longest non-overlapping occurrences, in text order; calls `hit` with each keyword.
    public func scan(_ t: [UInt8], wholeWords: Bool, _ hit: (Int) -> Void) {
        let view = wholeWords ? TextOps.WordView(t) : nil
        var i = 0
        while i < t.count {
            if let k = longest(at: i, in: t, whole: view) { hit(k); i += words[k].count } else { i += 1 }
        }
    }

    /// Like `scan`, with each occurrence's byte range.
    public func scanSpans(_ t: [UInt8], wholeWords: Bool, _ hit: (_ keyword: Int, _ start: Int, _ end: Int) -> Void) {
        let view = wholeWords ? TextOps.WordView(t) : nil
        var i = 0
        while i < t.count {
            if let k = longest(at: i, in: t, whole: view) { hit(k, i, i + words[k].count); i += words[k].count } else { i += 1 }
        }
    }

    /// `sum_words_negated`: the table's weights over whole-word occurrences (leftmost-longest, in
    /// text order), each flipped when the latest negator occurrence that ends at or before it is
    /// in the same clause (no `.` `,` `;` `:` `!` `?` between) with fewer than `scope` words
    /// between them. `hit` sees each occurrence and whether it was negated.
    public func negatedSum(_ t: [UInt8], negators: KeywordSet, scope: Double, _ hit: ((Int, Bool) -> Void)? = nil) -> Double {
        var ends: [Int] = []
        negators.scanSpans(t, wholeWords: true) { _, _, e in ends.append(e) }
        var total = 0.0
        var next = 0, last = -1
        var gap = 0, words = 0, inWord = false, clauseEnded = false
        t.withUnsafeBufferPointer { b in
            scanSpans(t, wholeWords: true) { k, s, _ in
                while next < ends.count && ends[next] <= s {
                    last = ends[next]; gap = last; words = 0; inWord = false; clauseEnded = false
                    next += 1
                }
                var negated = false
                if last >= 0 {
                    while gap < s && !clauseEnded {
                        let (u, n) = TextSemantics.decode(b, gap)
                        if u == 0x2E || u == 0x2C || u == 0x3B || u == 0x3A || u == 0x21 || u == 0x3F { clauseEnded = true }
                        let w = TextSemantics.isWord(u)
                        if w && !inWord { words += 1 }
                        inWord = w
                        gap += n
                    }
                    negated = !clauseEnded && Double(words) < scope
                }
                total += negated ? -weights[k] : weights[k]
                hit?(k, negated)
            }
        }
        return total
    }

    public func count(_ t: [UInt8], wholeWords: Bool) -> Int {
        var n = 0
        scan(t, wholeWords: wholeWords) { _ in n += 1 }
        return n
    }

    public func sum(_ t: [UInt8]) -> Double {
        var s = 0.0
        scan(t, wholeWords: true) { s += weights[$0] }
        return s
    }

    public func startsWithAny(_ t: [UInt8]) -> Bool { words.contains { TextOps.startsWith(t, $0) } }
    public func endsWithAny(_ t: [UInt8]) -> Bool { words.contains { TextOps.endsWith(t, $0) } }
    public func oneOf(_ t: [UInt8]) -> Bool { words.contains { $0 == t } }
}
