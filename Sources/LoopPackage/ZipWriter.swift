import Foundation

/// A zip archive of stored (uncompressed) entries, as wheels may be: enough for pip, Python's
/// zipfile and `unzip`, with fixed timestamps so the same inputs give the same bytes.
struct ZipWriter {
    private(set) var bytes: [UInt8] = []
    private var central: [UInt8] = []
    private var count = 0

    mutating func add(_ name: String, _ data: [UInt8], mode: UInt32 = 0o644) {
        let nameBytes = Array(name.utf8)
        let crc = CRC32.checksum(data)
        let offset = UInt32(bytes.count)
        // Local file header.
        put32(&bytes, 0x0403_4B50)
        put16(&bytes, 20)            // version needed to extract
        put16(&bytes, 0x0800)        // names are UTF-8
        put16(&bytes, 0)             // stored
        put16(&bytes, 0); put16(&bytes, 0x21)   // 00:00, 1980-01-01
        put32(&bytes, crc); put32(&bytes, UInt32(data.count)); put32(&bytes, UInt32(data.count))
        put16(&bytes, UInt16(nameBytes.count)); put16(&bytes, 0)
        bytes += nameBytes
        bytes += data
        // Its central directory entry.
        put32(&central, 0x0201_4B50)
        put16(&central, 0x0314)      // made by Unix, zip 2.0
        put16(&central, 20); put16(&central, 0x0800); put16(&central, 0)
        put16(&central, 0); put16(&central, 0x21)
        put32(&central, crc); put32(&central, UInt32(data.count)); put32(&central, UInt32(data.count))
        put16(&central, UInt16(nameBytes.count)); put16(&central, 0); put16(&central, 0)
        put16(&central, 0); put16(&central, 0)
        put32(&central, (0o100000 | mode) << 16)   // a regular file with its Unix mode
        put32(&central, offset)
        central += nameBytes
        count += 1
    }

    /// The whole archive: the entries, the central directory and its end record.
    mutating func finish() -> [UInt8] {
        let start = UInt32(bytes.count)
        var out = bytes + central
        put32(&out, 0x0605_4B50)
        put16(&out, 0); put16(&out, 0)
        put16(&out, UInt16(count)); put16(&out, UInt16(count))
        put32(&out, UInt32(central.count)); put32(&out, start)
        put16(&out, 0)
        return out
    }

    private func put16(_ b: inout [UInt8], _ v: UInt16) { b.append(UInt8(v & 0xFF)); b.append(UInt8(v >> 8)) }
    private func put32(_ b: inout [UInt8], _ v: UInt32) { for k in 0..<4 { b.append(UInt8((v >> (8 * UInt32(k))) & 0xFF)) } }
}

/// CRC-32 (IEEE 802.3, as zip uses it).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
