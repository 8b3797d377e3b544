import Foundation
import Hummingbird
import LoopData
import LoopRuntime
import NIOCore

/// JSON responses and the error body every refusal carries: `{"error": {"code", "message"}}`.
enum API {
    static let jsonType = "application/json"

    /// A JSON value as the text of an answer (with its newline).
    static func jsonBytes(_ value: JSON) -> [UInt8] {
        var b: [UInt8] = []
        JSONWriter.write(value, bytes: &b)
        b.append(0x0A)
        return b
    }

    static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        let b = jsonBytes(value)
        var buf = ByteBufferAllocator().buffer(capacity: b.count)
        buf.writeBytes(b)
        return Response(status: status, headers: [.contentType: jsonType], body: .init(byteBuffer: buf))
    }

    static func text(_ s: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        var buf = ByteBuffer()
        buf.writeString(s)
        return Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: buf))
    }

    static func bytes(_ b: [UInt8], type: String) -> Response {
        var buf = ByteBufferAllocator().buffer(capacity: b.count)
        buf.writeBytes(b)
        return Response(status: .ok, headers: type == jsonType ? jsonHeaders : [.contentType: type], body: .init(byteBuffer: buf))
    }

    /// The headers of a JSON answer, made once (the request path's answers share them).
    static let jsonHeaders: HTTPFields = [.contentType: jsonType]

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        json(errorBody(code, message), status: status)
    }

    static func errorBody(_ code: String, _ message: String) -> JSON {
        .object([("error", .object([("code", JSON(code)), ("message", JSON(message))]))])
    }

    /// The error body as the text sent back.
    static func errorBytes(_ code: String, _ message: String) -> [UInt8] { jsonBytes(errorBody(code, message)) }

    static let emptyBody = Refusal(.badRequest, "empty_body", "the body is empty; send a JSON object")

    /// A refusal as an error, for handlers that throw it.
    struct Refusal: Error {
        var status: HTTPResponse.Status
        var code: String
        var message: String
        init(_ status: HTTPResponse.Status, _ code: String, _ message: String) { self.status = status; self.code = code; self.message = message }
        var response: Response { API.error(status, code, message) }
    }

    /// The request's body as parsed JSON, within the size limit and with a JSON content type.
    static func body(_ request: Request, limit: Int) async throws -> JSON {
        try parse(try await bodyBytes(request, limit: limit))
    }

    /// The request's body as bytes, within the size limit and with a JSON content type.
    static func bodyBytes(_ request: Request, limit: Int) async throws -> [UInt8] {
        let type = request.headers[.contentType] ?? ""
        guard isJSONType(type) else {
            throw Refusal(.unsupportedMediaType, "unsupported_media_type",
                          type.isEmpty ? "send the body as JSON with `Content-Type: application/json`" : "the body must be application/json, not \(type.lowercased())")
        }
        var req = request
        let buffer: ByteBuffer
        do { buffer = try await req.collectBody(upTo: limit) }
        catch is NIOTooManyBytesError { throw Refusal(.contentTooLarge, "body_too_large", "the body is larger than \(limit) bytes") }
        let bytes = Array(buffer.readableBytesView)
        guard !bytes.isEmpty else { throw emptyBody }
        return bytes
    }

    /// `application/json` (with parameters or not) or a `+json` type, in any case.
    static func isJSONType(_ type: String) -> Bool {
        func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }
        let u = type.utf8
        if u.count >= jsonTypeBytes.count, zip(u, jsonTypeBytes).allSatisfy({ lower($0) == $1 }) { return true }
        return u.count >= plusJSONBytes.count && zip(u.dropFirst(u.count - plusJSONBytes.count), plusJSONBytes).allSatisfy { lower($0) == $1 }
    }
    static let jsonTypeBytes = Array("application/json".utf8), plusJSONBytes = Array("+json".utf8)

    static func parse(_ bytes: [UInt8]) throws -> JSON {
        do { return try JSONParser.parse(bytes) }
        catch { throw Refusal(.badRequest, "invalid_json", "the body is not valid JSON: \(error)") }
    }

    static func number(_ x: Double?) -> JSON { x.flatMap { $0.isFinite ? JSON.number($0) : nil } ?? .null }
    static func int(_ x: Int) -> JSON { .number(Double(x)) }
    static func int64(_ x: Int64) -> JSON { .number(Double(x)) }
}

extension JSON {
    /// The object's fields without `keys`.
    func removing(_ keys: Set<String>) -> JSON {
        guard case .object(let kv) = self else { return self }
        return .object(kv.filter { !keys.contains($0.0) })
    }
}
