import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One frame read off the wire: its body, or why there is none.
public enum Frame: Sendable {
    case message([UInt8])
    /// The header was unreadable or the body too large; the reader has skipped past it.
    case malformed(String)
    case endOfInput
}

/// Reads LSP base-protocol frames (`Content-Length: N\r\n\r\n` + N bytes of JSON) from a file
/// descriptor. A frame with a broken header is reported and skipped: the reader resynchronises on
/// the next `Content-Length` header, so one bad frame never ends the session.
public final class FrameReader {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    /// Bodies larger than this are read and thrown away, answered with an error.
    public let maxBody: Int

    public init(fd: Int32, maxBody: Int = 256 << 20) { self.fd = fd; self.maxBody = maxBody }

    private func fill() -> Bool {
        if eof { return false }
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        if start > 1 << 20 { buffer.removeFirst(start); start = 0 }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]); return true }
            if n < 0 && errno == EINTR { continue }
            eof = true
            return false
        }
    }

    /// The index just past the next `\r\n\r\n` (or `\n\n`), if the buffer holds one.
    private func headerEnd() -> (headerEnd: Int, bodyStart: Int)? {
        var i = start
        while i < buffer.count {
            if buffer[i] == 10 {
                if i + 1 < buffer.count && buffer[i + 1] == 10 { return (i, i + 2) }
                if i + 2 < buffer.count && buffer[i + 1] == 13 && buffer[i + 2] == 10 { return (i, i + 3) }
            }
            i += 1
        }
        return nil
    }

    public func next() -> Frame {
        // Skip blank bytes between frames.
        while true {
            while start < buffer.count && (buffer[start] == 13 || buffer[start] == 10 || buffer[start] == 32) { start += 1 }
            if start < buffer.count { break }
            if !fill() { return .endOfInput }
        }
        var found = headerEnd()
        while found == nil {
            if buffer.count - start > 64 << 10 {
                // No header ends within 64 KiB: not a frame. Drop up to the next header we recognise.
                resynchronise()
                return .malformed("a header longer than 64 KiB, or no header at all")
            }
            if !fill() {
                start = buffer.count
                return .malformed("the input ended inside a header")
            }
            found = headerEnd()
        }
        let (hEnd, bodyStart) = found!
        let header = String(decoding: buffer[start..<hEnd], as: UTF8.self)
        var length: Int? = nil
        for line in header.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            if parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-length" {
                length = Int(parts[1].trimmingCharacters(in: .whitespaces))
            }
        }
        guard let length, length >= 0 else {
            start = bodyStart
            resynchronise()
            return .malformed("a frame without a valid Content-Length header")
        }
        if length > maxBody {
            // Read and discard the body so the next frame is found where it starts.
            var remaining = length
            start = bodyStart
            while remaining > 0 {
                if start == buffer.count && !fill() { return .endOfInput }
                let take = min(remaining, buffer.count - start)
                start += take; remaining -= take
            }
            return .malformed("a message of \(length) bytes, over the limit of \(maxBody)")
        }
        while buffer.count - bodyStart < length {
            if !fill() { start = buffer.count; return .malformed("the input ended inside a message body") }
        }
        let body = Array(buffer[bodyStart..<bodyStart + length])
        start = bodyStart + length
        return .message(body)
    }

    /// Moves to the next line that starts a `Content-Length` header, or to the end of the buffer.
    private func resynchronise() {
        let needle = Array("content-length".utf8)
        var i = start + 1
        while i + needle.count <= buffer.count {
            if (i == 0 || buffer[i - 1] == 10) && zip(buffer[i..<i + needle.count], needle).allSatisfy({ ($0 | 0x20) == $1 }) {
                start = i
                return
            }
            i += 1
        }
        start = buffer.count
    }
}

/// Writes frames to a file descriptor, whole frames at a time.
public final class FrameWriter: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private let encoder: JSONEncoder
    public init(fd: Int32) {
        self.fd = fd
        encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
    }

    public func write(body: [UInt8]) {
        let frame = Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
        lock.lock(); defer { lock.unlock() }
        var off = 0
        while off < frame.count {
            let n = frame[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }   // the client went away; nothing left to tell it
            off += n
        }
    }

    public func respond<R: Encodable>(_ id: RequestID?, _ result: R) {
        send(OutgoingResponse(id: id, result: result))
    }
    public func respond(_ id: RequestID?, error: ResponseError) {
        send(OutgoingError(id: id, error: error))
    }
    public func notify<P: Encodable>(_ method: String, _ params: P) {
        send(OutgoingNotification(method: method, params: params))
    }
    public func request<P: Encodable>(_ id: RequestID, _ method: String, _ params: P) {
        send(OutgoingRequest(id: id, method: method, params: params))
    }

    private func send<T: Encodable>(_ value: T) {
        guard let data = try? encoder.encode(value) else { return }
        write(body: Array(data))
    }
}
