import LoopData
import XCTest

/// The byte writers and counters of JSONWriter agree with its reference (String) writer on every
/// kind of string: plain ASCII, escapes, control characters, valid UTF-8 of every length, and
/// invalid bytes (which become U+FFFD).
final class JSONWriterTests: XCTestCase {
    func testLengthAndBytesAgreeWithTheStringWriter() {
        var rng = SplitMix64(seed: 2026)
        let pieces: [[UInt8]] = [
            Array("plain words".utf8), [0x22], [0x5C], [0x0A], [0x0D], [0x09], [0x01], [0x1F], [0x7F],
            Array("é".utf8), Array("€".utf8), Array("😀".utf8), Array("\u{10FFFF}".utf8),
            [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xFF], [0xF0, 0x9F, 0x98],
        ]
        for _ in 0..<3000 {
            var b: [UInt8] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) { b += pieces[Int.random(in: 0..<pieces.count, using: &rng)] }
            let reference = JSONWriter.string(.string(b))
            XCTAssertEqual(JSONWriter.length(.string(b)), reference.utf8.count, "\(b)")
            var bytes: [UInt8] = []
            JSONWriter.string(b, bytes: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), reference, "\(b)")
        }
    }

    func testNumbersAsBytesAreTheNumbersAsText() {
        var rng = SplitMix64(seed: 7)
        var xs: [Double] = [0, -0.0, 1, -1, 3.6, 0.973403006423134, 1e15, 1e15 - 1, -1e15 + 1, 123456789012345, 1e-7, .infinity, .nan, 2.5e300]
        for _ in 0..<2000 { xs.append(Double(Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng))); xs.append(Double.random(in: -1e6...1e6, using: &rng)) }
        for x in xs {
            var bytes: [UInt8] = []
            JSONWriter.number(x, bytes: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), JSONWriter.number(x), "\(x)")
        }
    }
}
