import Foundation

/// One HTTP request. Header values of `Authorization`, `x-api-key` and `api-key` are secrets:
/// they never appear in `description` nor in any `HTTPError` produced by `HTTPClient`.
public struct HTTPRequest: CustomStringConvertible, CustomDebugStringConvertible {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// A POST with a JSON body (`Content-Type: application/json` added unless present).
    public static func postJSON(_ url: String, json: String, headers: [(String, String)] = []) -> HTTPRequest {
        var h = headers
        if !h.contains(where: { $0.0.lowercased() == "content-type" }) {
            h.append(("Content-Type", "application/json"))
        }
        return HTTPRequest(method: "POST", url: url, headers: h, body: Array(json.utf8))
    }

    /// Names (lowercased) whose header values are treated as secrets.
    public static let secretHeaderNames: Set<String> = ["authorization", "x-api-key", "api-key"]

    /// The secret strings this request carries: each secret header's value and, for
    /// `Scheme token` values (e.g. `Bearer sk-...`), the token alone.
    public var secrets: [String] {
        var out: [String] = []
        for (name, value) in headers where HTTPRequest.secretHeaderNames.contains(name.lowercased()) {
            let v = value.trimmingCharacters(in: .whitespaces)
            if !v.isEmpty { out.append(v) }
            if let space = v.lastIndex(of: " ") {
                let token = String(v[v.index(after: space)...])
                if token.count >= 4 { out.append(token) }
            }
        }
        return out
    }

    public var description: String {
        let hs = headers.map { name, value in
            HTTPRequest.secretHeaderNames.contains(name.lowercased()) ? "\(name): [redacted]" : "\(name): \(value)"
        }
        let shown = redact(url, secrets: secrets)
        return "\(method) \(shown) [\(hs.joined(separator: ", "))] (\(body.count) bytes)"
    }

    public var debugDescription: String { description }
}

public struct HTTPResponse: CustomStringConvertible {
    public var status: Int
    /// Response headers of the final response, in order, names as sent.
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// How many attempts it took (1 = no retry).
    public var attempts: Int
    /// Wall-clock seconds over all attempts, backoff included.
    public var seconds: Double

    public init(status: Int, headers: [(String, String)], body: [UInt8], attempts: Int, seconds: Double) {
        self.status = status
        self.headers = headers
        self.body = body
        self.attempts = attempts
        self.seconds = seconds
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first(where: { $0.0.lowercased() == n })?.1
    }

    /// The body as UTF-8, or nil when it is not valid UTF-8.
    public var text: String? {
        let s = String(decoding: body, as: UTF8.self)
        return s.utf8.elementsEqual(body) ? s : nil
    }

    public var description: String { "HTTP \(status) (\(body.count) bytes, \(attempts) attempt(s))" }
}

/// Errors of `HTTPClient`. Every string payload has been passed through `redact` already.
public enum HTTPError: Error, Equatable, CustomStringConvertible {
    /// Malformed URL, unsupported scheme or invalid header.
    case invalidRequest(String)
    /// Plain `http://` to a host that is not loopback, without `allowInsecureHTTP`.
    case insecureHTTP(String)
    /// The transfer did not complete within the timeout (after the last attempt).
    case timeout(String, after: Double)
    /// The response body exceeded the limit (bytes).
    case tooLarge(Int)
    /// A transport error (curl code and message) after the last attempt.
    case network(Int, String)
    /// A non-2xx status after the last attempt, with the start of the body.
    case status(Int, String)

    public var description: String {
        switch self {
        case .invalidRequest(let m): return "invalid HTTP request: \(m)"
        case .insecureHTTP(let url):
            return "refusing plain HTTP to non-loopback host: \(url) (use https, or allow it: --allow-insecure-http, or allow_insecure_http: true in the task file)"
        case .timeout(let url, let after):
            return "request to \(url) timed out after \(formatSeconds(after))"
        case .tooLarge(let limit): return "response body exceeds the limit of \(limit) bytes"
        case .network(let code, let message): return "network error (curl \(code)): \(message)"
        case .status(let code, let prefix):
            return prefix.isEmpty ? "HTTP status \(code)" : "HTTP status \(code): \(prefix)"
        }
    }

    /// Whether another attempt may succeed.
    public var isRetryable: Bool {
        switch self {
        case .timeout: return true
        // could not resolve/connect, HTTP/2 stream, partial body, empty reply, send/recv failure
        case .network(let code, _): return [6, 7, 16, 18, 28, 52, 55, 56, 92].contains(code)
        case .status(let code, _): return code == 429 || (500...599).contains(code)
        default: return false
        }
    }
}

extension HTTPError: LocalizedError {
    public var errorDescription: String? { description }
}

func formatSeconds(_ s: Double) -> String {
    String(format: "%.3g s", s)
}

/// Replaces every occurrence of each (non-empty) secret in `s` with `[redacted]`, longest secret
/// first; percent-encoded forms of the secrets are replaced too.
public func redact(_ s: String, secrets: [String]) -> String {
    var forms: [String] = []
    for secret in secrets where !secret.isEmpty {
        forms.append(secret)
        if let enc = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics), enc != secret {
            forms.append(enc)
        }
    }
    forms.sort { $0.count > $1.count }
    var out = s
    for f in forms {
        out = out.replacingOccurrences(of: f, with: "[redacted]")
    }
    return out
}

/// The URL pieces the client checks before any network access.
struct ParsedURL {
    var scheme: String
    var host: String

    init?(_ url: String) {
        guard let sep = url.range(of: "://") else { return nil }
        scheme = url[..<sep.lowerBound].lowercased()
        var authority = url[sep.upperBound...]
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            authority = authority[..<end]
        }
        if let at = authority.lastIndex(of: "@") {
            authority = authority[authority.index(after: at)...]
        }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
        } else if let colon = authority.firstIndex(of: ":") {
            host = String(authority[..<colon])
        } else {
            host = String(authority)
        }
        host = host.lowercased()
        if host.isEmpty { return nil }
    }

    /// 127.0.0.0/8, ::1 and localhost.
    var isLoopback: Bool {
        var h = host
        if h.hasSuffix(".") { h.removeLast() }
        if h == "localhost" || h.hasSuffix(".localhost") { return h == "localhost" }
        if h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        var octets: [Int] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(p), v <= 255 else {
                return false
            }
            octets.append(v)
        }
        return octets[0] == 127
    }
}
