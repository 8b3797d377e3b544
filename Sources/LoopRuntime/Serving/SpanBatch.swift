import LoopData
import LoopDiagnostics

/// Many requests read straight from one request body, without a JSON value per input: each
/// input's text fields (and the label field a labels oracle reads) as byte spans of the body, or
/// of `extra` where an escape had to be undone; its id as given, or a number for a made one.
/// The request path classifies from the spans; an input's JSON values are built only when
/// something keeps it (a sample, feedback looking it up).
public struct SpanBatch: @unchecked Sendable {
    /// The request body.
    public let body: [UInt8]
    /// Texts that are not in the body as they are (unescaped); never empty, so even its empty
    /// texts have an address.
    public private(set) var extra: [UInt8] = SpanBatch.noExtra
    /// One shared buffer for batches without unescaped texts (most): no allocation per batch.
    static let noExtra: [UInt8] = [0]
    /// The input's fields (all text) in the order of each input's spans.
    public let fields: [String]
    /// The request field the labels oracle reads (its span follows the fields'), if any.
    public let labelField: String?
    /// The task's input is one text: the program sees the string itself, not an object.
    public let singleText: Bool
    /// The prefix of made ids: `PREFIX-N` with N in base 36.
    public let madeIdPrefix: String
    /// Per input, (start, end) per field, then the label field's: offsets into `body`, or
    /// complemented (negative) offsets into `extra`.
    public private(set) var spans: [Int] = []
    /// Per input: its id as given, or nil when the server made one (`madeNumbers`).
    public private(set) var givenIds: [String?] = []
    public private(set) var madeNumbers: [Int] = []

    public init(body: [UInt8], fields: [String], labelField: String?, singleText: Bool, madeIdPrefix: String) {
        self.body = body
        self.fields = fields
        self.labelField = labelField
        self.singleText = singleText
        self.madeIdPrefix = madeIdPrefix
    }

    public var count: Int { givenIds.count }
    /// Spans per input: the fields', then the label field's.
    public var spansPerInput: Int { fields.count + (labelField == nil ? 0 : 1) }

    public mutating func reserve(_ n: Int) {
        spans.reserveCapacity(2 * n * spansPerInput)
        givenIds.reserveCapacity(n)
        madeNumbers.reserveCapacity(n)
    }

    /// Adds an input: its spans (`spansPerInput` pairs), its given id or made number.
    public mutating func append(spans s: ArraySlice<Int>, givenId: String?, madeNumber: Int) {
        spans.append(contentsOf: s)
        givenIds.append(givenId)
        madeNumbers.append(madeNumber)
    }

    public mutating func append(spans s: [Int], givenId: String?, madeNumber: Int) {
        append(spans: s[...], givenId: givenId, madeNumber: madeNumber)
    }

    /// Adds an input whose texts are not in the body as they are (all placed in `extra`).
    public mutating func append(texts: [[UInt8]], givenId: String?, madeNumber: Int) {
        append(spans: [Int](repeating: 0, count: 2 * texts.count), givenId: givenId, madeNumber: madeNumber)
        for (j, t) in texts.enumerated() { placeLast(j, t) }
    }

    /// The same inputs in a body of their spans only (what a cache keeps: a body's other
    /// fields, however large, are not held).
    public func compacted() -> SpanBatch {
        var c = SpanBatch(body: [], fields: fields, labelField: labelField, singleText: singleText, madeIdPrefix: madeIdPrefix)
        var texts: [UInt8] = []
        var spans: [Int] = []
        spans.reserveCapacity(self.spans.count)
        for i in 0..<count {
            for j in 0..<spansPerInput {
                spans.append(texts.count)
                withText(i, j) { texts.append(contentsOf: $0) }
                spans.append(texts.count)
            }
        }
        c.extra = texts.isEmpty ? [0] : texts
        c.spans = spans.map { ~$0 }
        c.givenIds = givenIds
        c.madeNumbers = madeNumbers
        return c
    }

    /// How many bytes the inputs' spans hold.
    public var spanBytes: Int {
        stride(from: 0, to: spans.count, by: 2).reduce(0) { n, k in n + (spans[k] >= 0 ? spans[k + 1] - spans[k] : ~spans[k + 1] - ~spans[k]) }
    }

    /// Numbers the made ids: the k-th input without an id (`madeNumber` k when appended) gets `base + k`.
    public mutating func numberMadeIds(from base: Int) {
        for i in givenIds.indices where givenIds[i] == nil { madeNumbers[i] += base }
    }

    /// Replaces span `j` of the last input by `text` placed in `extra`.
    public mutating func placeLast(_ j: Int, _ text: [UInt8]) {
        let at = spans.count - 2 * spansPerInput + 2 * j
        spans[at] = ~extra.count
        extra += text
        spans[at + 1] = ~extra.count
    }

    /// The bytes of input `i`'s span `j` (a field, or the label field after the fields).
    public func text(_ i: Int, _ j: Int) -> [UInt8] {
        let at = 2 * (i * spansPerInput + j)
        let (a, b) = (spans[at], spans[at + 1])
        return a >= 0 ? Array(body[a..<b]) : Array(extra[(~a)..<(~b)])
    }

    /// Runs `body` with input `i`'s span `j` as a buffer.
    @inline(__always)
    public func withText<R>(_ i: Int, _ j: Int, _ f: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let at = 2 * (i * spansPerInput + j)
        let (a, b) = (spans[at], spans[at + 1])
        if a >= 0 { return body.withUnsafeBufferPointer { f(UnsafeBufferPointer(rebasing: $0[a..<b])) } }
        return extra.withUnsafeBufferPointer { f(UnsafeBufferPointer(rebasing: $0[(~a)..<(~b)])) }
    }

    public func idText(_ i: Int) -> String { givenIds[i] ?? Self.madeId(madeIdPrefix, madeNumbers[i]) }

    /// `StableHash.fnv1a64` of `idText(i)`, without making the text of a made id.
    public func idHash(_ i: Int) -> UInt64 {
        if let given = givenIds[i] { return StableHash.fnv1a64(given.utf8) }
        guard madeNumbers[i] >= 0 else { return StableHash.fnv1a64(idText(i).utf8) }
        var h = StableHash.fnv1a64(CollectionOfOne(0x2D), continuing: StableHash.fnv1a64(madeIdPrefix.utf8))
        var n = madeNumbers[i], p = 1
        while p <= n / 36 { p *= 36 }
        repeat {
            let d = UInt8(n / p)
            h = StableHash.fnv1a64(CollectionOfOne(d < 10 ? 0x30 + d : 0x61 + d - 10), continuing: h)
            n %= p; p /= 36
        } while p > 0
        return h
    }
    public func key(_ i: Int) -> RequestKey { .id(idText(i)) }
    public static func madeId(_ prefix: String, _ n: Int) -> String { prefix + "-" + String(n, radix: 36) }

    /// What the program sees of input `i`: its text, or an object of its fields.
    public func input(_ i: Int) -> JSON {
        singleText ? .string(text(i, 0)) : .object(fields.indices.map { (fields[$0], .string(text(i, $0))) })
    }

    /// The whole request as the application sent it, without its id.
    public func record(_ i: Int) -> JSON {
        var r: [(String, JSON)] = fields.indices.map { (fields[$0], .string(text(i, $0))) }
        if let lf = labelField { r.append((lf, .string(text(i, fields.count)))) }
        return .object(r)
    }

    /// The JSON text length of input `i` as the program's input (what an oracle call would carry).
    public func inputJSONLength(_ i: Int) -> Int {
        if singleText, let n = withText(i, 0, { JSONWriter.escapedLength(UnsafeRawBufferPointer($0)) }) { return n }
        return JSONWriter.length(input(i))
    }
}
