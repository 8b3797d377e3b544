/// FNV-1a 64: a small, stable (across runs, machines and Swift versions) hash for naming things
/// by their content: compiled programs, stored versions and inputs, cached LLM answers.
public enum StableHash {
    @inlinable
    public static func fnv1a64<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        fnv1a64(bytes, continuing: 0xcbf29ce484222325)
    }

    /// The hash of what `h` hashed followed by `bytes` (a text hashed in pieces).
    @inlinable
    public static func fnv1a64<S: Sequence>(_ bytes: S, continuing h0: UInt64) -> UInt64 where S.Element == UInt8 {
        var h = h0
        for b in bytes { h ^= UInt64(b); h = h &* 0x100000001b3 }
        return h
    }

    /// The hash as 16 lowercase hex digits.
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let s = String(fnv1a64(bytes), radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
