import Foundation
import LoopSema

/// How an input file is laid out.
public enum InputFormat: String, CaseIterable, Sendable {
    /// Chosen from the file name: .jsonl/.json → jsonl, .csv → csv, .tsv → tsv, else lines.
    case auto
    /// One JSON value per line: an object (record) or a string.
    case jsonl
    /// RFC 4180 CSV with a header row (quoted fields may span lines).
    case csv
    /// Tab-separated with a header row, no quoting.
    case tsv
    /// Every line is one text.
    case lines
}

/// One input as read, before it is matched to the program's fields.
public enum RawRecord: Sendable {
    case text([UInt8])
    case json(JSON)
    case row([[UInt8]], header: [String])
}

public struct InputRecord: Sendable {
    /// 1-based line where the record starts.
    public let line: Int
    public let raw: RawRecord
    public init(line: Int, raw: RawRecord) { self.line = line; self.raw = raw }
}

public struct InputError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum RecordReader {
    public static func resolve(_ format: InputFormat, path: String?) -> InputFormat {
        guard format == .auto else { return format }
        let p = (path ?? "").lowercased()
        if p.hasSuffix(".jsonl") || p.hasSuffix(".ndjson") || p.hasSuffix(".json") { return .jsonl }
        if p.hasSuffix(".csv") { return .csv }
        if p.hasSuffix(".tsv") { return .tsv }
        return .lines
    }

    /// Reads a file (or standard input for nil or "-") completely.
    public static func readBytes(_ path: String?) throws -> [UInt8] {
        if path == nil || path == "-" {
            return Array(FileHandle.standardInput.readDataToEndOfFile())
        }
        // Straight into the array with read(2): no Data in between (`loopai run` reads large files).
        let fd = open(path!, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { throw InputError("\(path!): no such file") }
            throw InputError("\(path!): cannot be read: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw InputError("\(path!): cannot be read: \(String(cString: strerror(errno)))") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw InputError("\(path!): is a directory") }
        // The size says how much to read; a file that grows meanwhile is read to its end.
        var out: [UInt8] = []
        var chunk = max(Int(st.st_size), 0) + 1
        var failure: Int32 = 0
        while true {
            let have = out.count
            let piece = [UInt8](unsafeUninitializedCapacity: chunk) { buf, count in
                count = 0
                while true {
                    let k = Glibc.read(fd, buf.baseAddress!, chunk)
                    if k < 0 && errno == EINTR { continue }
                    if k < 0 { failure = errno } else { count = k }
                    return
                }
            }
            if have == 0 { out = piece } else { out += piece }
            if failure != 0 || out.count == have { break }
            chunk = 1 << 16
        }
        if failure != 0 { throw InputError("\(path!): cannot be read: \(String(cString: strerror(failure)))") }
        return out
    }

    public static func read(_ path: String?, format: InputFormat) throws -> [InputRecord] {
        let bytes = try readBytes(path)
        return try parse(bytes, format: resolve(format, path: path), name: path ?? "<stdin>")
    }

    public static func parse(_ bytes: [UInt8], format: InputFormat, name: String) throws -> [InputRecord] {
        switch format {
        case .auto, .lines:
            return lines(bytes).map { InputRecord(line: $0.line, raw: .text($0.bytes)) }
        case .jsonl:
            return lines(bytes).compactMap { jsonLine($0.line, $0.bytes) }
        case .tsv:
            let ls = lines(bytes)
            guard let first = ls.first else { return [] }
            let header = split(first.bytes, 0x09).map { String(decoding: $0, as: UTF8.self) }
            return ls.dropFirst().filter { !$0.bytes.isEmpty }.map { InputRecord(line: $0.line, raw: .row(split($0.bytes, 0x09), header: header)) }
        case .csv:
            let rows = try csv(bytes, name: name)
            guard let first = rows.first else { return [] }
            let header = first.fields.map { String(decoding: $0, as: UTF8.self) }
            return rows.dropFirst().map { InputRecord(line: $0.line, raw: .row($0.fields, header: header)) }
        }
    }

    /// One JSON Lines record (its line without the terminator): nil for a blank line; a malformed
    /// line is kept as an error record so the others still run.
    public static func jsonLine(_ line: Int, _ bytes: [UInt8]) -> InputRecord? {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nil }
        do { return InputRecord(line: line, raw: .json(try JSONParser.parse(bytes))) }
        catch { return InputRecord(line: line, raw: .json(.object([("__error__", JSON("invalid JSON: \(error)"))]))) }
    }

    static func split(_ b: [UInt8], _ sep: UInt8) -> [[UInt8]] { b.split(separator: sep, omittingEmptySubsequences: false).map(Array.init) }

    /// Lines without their terminator (`\n` or `\r\n`); a final empty line is dropped.
    public static func lines(_ b: [UInt8]) -> [(line: Int, bytes: [UInt8])] {
        var out: [(Int, [UInt8])] = []
        var s = 0, n = 1
        for i in 0..<b.count where b[i] == 0x0A {
            var e = i
            if e > s && b[e - 1] == 0x0D { e -= 1 }
            out.append((n, Array(b[s..<e])))
            s = i + 1; n += 1
        }
        if s < b.count {
            var e = b.count
            if b[e - 1] == 0x0D { e -= 1 }
            out.append((n, Array(b[s..<e])))
        }
        return out
    }

    /// RFC 4180: fields separated by commas, quoted with `"` (doubled inside), records by CRLF or LF.
    public static func csv(_ b: [UInt8], name: String) throws -> [(line: Int, fields: [[UInt8]])] {
        var rows: [(Int, [[UInt8]])] = []
        var fields: [[UInt8]] = []
        var cur: [UInt8] = []
        var i = 0, line = 1, rowLine = 1
        var quoted = false, fieldStarted = false
        while i < b.count {
            let c = b[i]
            if quoted {
                if c == 0x22 {
                    if i + 1 < b.count && b[i + 1] == 0x22 { cur.append(0x22); i += 2; continue }
                    quoted = false; i += 1; continue
                }
                if c == 0x0A { line += 1 }
                cur.append(c); i += 1; continue
            }
            switch c {
            case 0x22 where cur.isEmpty && !fieldStarted: quoted = true; fieldStarted = true
            case 0x2C: fields.append(cur); cur = []; fieldStarted = false
            case 0x0D where i + 1 < b.count && b[i + 1] == 0x0A: break
            case 0x0A:
                fields.append(cur); cur = []; fieldStarted = false
                if !(fields.count == 1 && fields[0].isEmpty) { rows.append((rowLine, fields)) }
                fields = []
                line += 1; rowLine = line
            default: cur.append(c); fieldStarted = true
            }
            i += 1
        }
        if quoted { throw InputError("\(name):\(rowLine): a quoted CSV field is never closed") }
        if !cur.isEmpty || !fields.isEmpty || fieldStarted { fields.append(cur); rows.append((rowLine, fields)) }
        return rows
    }
}

/// Matches raw records to a program's input fields.
public struct RecordDecoder {
    public let program: TypedProgram
    /// For CSV/TSV input of a single-text program: which column holds the text.
    public let column: String?

    public init(program: TypedProgram, column: String? = nil) { self.program = program; self.column = column }

    public func decode(_ r: RawRecord) -> Result<[Value], InputError> {
        let fields = program.fields
        switch r {
        case .text(let t):
            guard program.singleInput else {
                return .failure(InputError("this program's input is a record (\(fields.map(\.name).joined(separator: ", "))); give JSON objects, CSV or TSV"))
            }
            return convert(text: t, field: 0)
        case .json(let j):
            if case .object(let kv) = j, kv.count == 1, kv[0].0 == "__error__" { return .failure(InputError(kv[0].1.string ?? "invalid JSON")) }
            if case .string(let s) = j {
                guard program.singleInput else { return .failure(InputError("expected a JSON object with fields \(fields.map(\.name).joined(separator: ", ")), found a string")) }
                return convert(text: s, field: 0)
            }
            // A bare number or boolean line for a single number or bool input.
            if program.singleInput {
                switch (fields[0].type, j) {
                case (.number, .number(let x)): return .success([.number(x)])
                case (.bool, .bool(let x)): return .success([.bool(x)])
                default: break
                }
            }
            guard case .object = j else { return .failure(InputError("expected a JSON object or string, found \(j.kindName)")) }
            var out: [Value] = []
            for (i, f) in fields.enumerated() {
                let key = (program.singleInput ? column : nil) ?? f.name
                guard let v = j[key] else { return .failure(InputError("missing field `\(key)`")) }
                switch (f.type, v) {
                case (.text, .string(let s)): out.append(.text(s))
                case (.number, .number(let x)): out.append(.number(x))
                case (.bool, .bool(let x)): out.append(.bool(x))
                default: return .failure(InputError("field `\(key)` must be \(f.type == .text ? "a string" : f.type == .number ? "a number" : "a boolean"), found \(v.kindName)"))
                }
                _ = i
            }
            return .success(out)
        case .row(let cells, let header):
            var out: [Value] = []
            for (i, f) in fields.enumerated() {
                let key = (program.singleInput ? column : nil) ?? f.name
                guard let idx = header.firstIndex(of: key) else {
                    return .failure(InputError("no column `\(key)` in the header (columns: \(header.joined(separator: ", ")))"))
                }
                guard idx < cells.count else { return .failure(InputError("the row has \(cells.count) cells; column `\(key)` is missing")) }
                switch convert(text: cells[idx], field: i) {
                case .success(let v): out.append(contentsOf: v)
                case .failure(let e): return .failure(e)
                }
            }
            return .success(out)
        }
    }

    func convert(text t: [UInt8], field i: Int) -> Result<[Value], InputError> {
        let f = program.fields[i]
        switch f.type {
        case .text: return .success([.text(t)])
        case .number:
            let s = String(decoding: t, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            guard let v = Double(s), v.isFinite else { return .failure(InputError("field `\(f.name)` must be a number, found \"\(s.prefix(40))\"")) }
            return .success([.number(v)])
        case .bool:
            let s = String(decoding: t, as: UTF8.self).lowercased()
            if s == "true" || s == "1" { return .success([.bool(true)]) }
            if s == "false" || s == "0" { return .success([.bool(false)]) }
            return .failure(InputError("field `\(f.name)` must be true or false, found \"\(s.prefix(40))\""))
        default: return .failure(InputError("field `\(f.name)` has an unsupported type"))
        }
    }

    /// The expected label of a labeled record, from a JSON key or a CSV/TSV column.
    public static func label(_ r: RawRecord, column: String) -> String? {
        switch r {
        case .text: return nil
        case .json(let j):
            if let s = j[column]?.string { return s }
            if let n = j[column]?.number { return JSONWriter.number(n) }
            return nil
        case .row(let cells, let header):
            guard let i = header.firstIndex(of: column), i < cells.count else { return nil }
            return String(decoding: cells[i], as: UTF8.self)
        }
    }
}
