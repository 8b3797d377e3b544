import Foundation
import LSPProtocol
import LoopDiagnostics

/// An open document: its text as UTF-8 bytes, and the conversions between the protocol's
/// positions (line, UTF-16 code unit) and the byte offsets every stage of the compiler uses.
struct Document {
    let uri: String
    var version: Int
    private(set) var file: SourceFile

    init(uri: String, version: Int, text: String) {
        self.uri = uri; self.version = version
        file = SourceFile(name: Document.displayName(uri), text: text)
    }

    var text: String { String(decoding: file.bytes, as: UTF8.self) }

    /// The path for a `file://` URI (percent-decoded), else the URI itself.
    static func displayName(_ uri: String) -> String { URIs.path(uri) ?? uri }

    /// Replaces the text between two positions (a full replacement when `range` is nil).
    mutating func apply(_ range: Range?, _ newText: String) {
        guard let range else { file = SourceFile(name: file.name, text: newText); return }
        var a = offset(of: range.start), b = offset(of: range.end)
        if b < a { swap(&a, &b) }
        var bytes = file.bytes
        bytes.replaceSubrange(a..<b, with: Array(newText.utf8))
        file = SourceFile(name: file.name, bytes: bytes)
    }

    /// The byte offset of a position. A line past the end is the end of the text; a character past
    /// the end of its line is the end of the line (as the protocol asks); a position inside a
    /// character's UTF-16 surrogate pair is the start of that character.
    func offset(of p: Position) -> Int {
        Document.offset(of: p, in: file)
    }

    static func offset(of p: Position, in file: SourceFile) -> Int {
        let bytes = file.bytes
        guard p.line >= 0 else { return 0 }
        guard p.line < file.lineStarts.count else { return bytes.count }
        var i = file.lineStarts[p.line]
        var units = 0
        while i < bytes.count && units < max(0, p.character) {
            let b = bytes[i]
            if b == 10 || (b == 13 && i + 1 < bytes.count && bytes[i + 1] == 10) { break }
            let len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            let w = len == 4 ? 2 : 1
            if units + w > p.character { break }
            units += w
            i = min(bytes.count, i + len)
        }
        return i
    }

    func position(of offset: Int) -> Position { Document.position(of: offset, in: file) }

    static func position(of offset: Int, in file: SourceFile) -> Position {
        let bytes = file.bytes
        let off = max(0, min(offset, bytes.count))
        var lo = 0, hi = file.lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if file.lineStarts[mid] <= off { lo = mid } else { hi = mid - 1 }
        }
        var units = 0
        var i = file.lineStarts[lo]
        while i < off {
            let b = bytes[i]
            let len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            units += len == 4 ? 2 : 1
            i += len
        }
        return Position(line: lo, character: units)
    }

    func range(_ r: SourceRange) -> Range { Range(start: position(of: r.start), end: position(of: r.end)) }
    static func range(_ r: SourceRange, in file: SourceFile) -> Range {
        Range(start: position(of: r.start, in: file), end: position(of: r.end, in: file))
    }

    /// The range covering the whole text.
    var wholeRange: Range { Range(start: Position(line: 0, character: 0), end: position(of: file.bytes.count)) }
}

/// `file://` URIs to paths and back.
enum URIs {
    static func path(_ uri: String) -> String? {
        guard uri.hasPrefix("file://") else { return nil }
        var rest = Substring(uri.dropFirst(7))
        // file://host/path: only the empty host and localhost name this machine.
        if rest.hasPrefix("localhost/") { rest = rest.dropFirst(9) }
        guard rest.hasPrefix("/") else { return nil }
        return rest.removingPercentEncoding ?? String(rest)
    }

    static func uri(path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#[]@!$&'()*+,;=")
        return "file://" + (path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path)
    }
}
