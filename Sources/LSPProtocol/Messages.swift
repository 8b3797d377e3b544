import Foundation

/// A request id: JSON-RPC allows a number or a string.
public enum RequestID: Codable, Sendable, Hashable, CustomStringConvertible {
    case number(Int)
    case string(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) { self = .number(n) } else { self = .string(try c.decode(String.self)) }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        }
    }
    public var description: String {
        switch self { case .number(let n): return String(n); case .string(let s): return "\"\(s)\"" }
    }
}

/// The JSON-RPC and LSP error codes the server answers with.
public enum ErrorCode: Int, Codable, Sendable {
    case parseError = -32700
    case invalidRequest = -32600
    case methodNotFound = -32601
    case invalidParams = -32602
    case internalError = -32603
    case serverNotInitialized = -32002
    case requestFailed = -32803
    case contentModified = -32801
}

public struct ResponseError: Error, Codable, Sendable, Equatable {
    public var code: Int
    public var message: String
    public var data: JSONValue?
    public init(_ code: ErrorCode, _ message: String, data: JSONValue? = nil) {
        self.code = code.rawValue; self.message = message; self.data = data
    }
}

/// What every incoming message holds, decoded before the method is known. A request has an id
/// and a method, a notification a method only, a response (to a server request) an id only.
public struct IncomingEnvelope: Decodable, Sendable {
    public var jsonrpc: String?
    public var id: RequestID?
    public var method: String?
    public var hasParams: Bool
    public var hasResult: Bool

    enum CodingKeys: String, CodingKey { case jsonrpc, id, method, params, result, error }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        jsonrpc = try c.decodeIfPresent(String.self, forKey: .jsonrpc)
        id = try c.decodeIfPresent(RequestID.self, forKey: .id)
        method = try c.decodeIfPresent(String.self, forKey: .method)
        hasParams = c.contains(.params)
        hasResult = c.contains(.result) || c.contains(.error)
    }
}

/// The same message decoded a second time once the method tells the type of its params.
public struct ParamsEnvelope<P: Decodable>: Decodable {
    public var params: P
}

struct OutgoingResponse<R: Encodable>: Encodable {
    let jsonrpc = "2.0"
    let id: RequestID?
    let result: R
    enum CodingKeys: String, CodingKey { case jsonrpc, id, result }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try encodeEnvelope(&c, jsonrpc: .jsonrpc, id: id, idKey: .id)
        // `null` is a valid result ("no hover here"); it must be written, not left out.
        if let opt = result as? OptionalEncodable, opt.isNil { try c.encodeNil(forKey: .result) }
        else { try c.encode(result, forKey: .result) }
    }
}

struct OutgoingError: Encodable {
    let jsonrpc = "2.0"
    let id: RequestID?
    let error: ResponseError
    enum CodingKeys: String, CodingKey { case jsonrpc, id, error }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try encodeEnvelope(&c, jsonrpc: .jsonrpc, id: id, idKey: .id)
        try c.encode(error, forKey: .error)
    }
}

/// `"jsonrpc": "2.0"` and the id of a response or an error; a response to a request whose id
/// could not be read carries `"id": null`.
private func encodeEnvelope<K: CodingKey>(_ c: inout KeyedEncodingContainer<K>, jsonrpc: K, id: RequestID?, idKey: K) throws {
    try c.encode("2.0", forKey: jsonrpc)
    if let id { try c.encode(id, forKey: idKey) } else { try c.encodeNil(forKey: idKey) }
}

struct OutgoingNotification<P: Encodable>: Encodable {
    let jsonrpc = "2.0"
    let method: String
    let params: P
}

struct OutgoingRequest<P: Encodable>: Encodable {
    let jsonrpc = "2.0"
    let id: RequestID
    let method: String
    let params: P
}

protocol OptionalEncodable { var isNil: Bool { get } }
extension Optional: OptionalEncodable { var isNil: Bool { self == nil } }
