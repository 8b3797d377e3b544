import CCurl
import Foundation

/// A blocking HTTP client over libcurl easy handles (one handle per attempt).
///
/// - TLS verification stays on (curl's default; never disabled here).
/// - Proxies come from the environment as curl does by default (`http_proxy`, `https_proxy`,
///   `no_proxy`); `Configuration.noProxy` can add hosts that bypass them.
/// - Retries 429, 5xx and transient network errors with exponential backoff and jitter,
///   honouring `Retry-After` (seconds form, capped).
/// - Secret header values (`Authorization`, `x-api-key`, `api-key`) never appear in errors.
public final class HTTPClient: @unchecked Sendable {
    public struct Configuration: @unchecked Sendable {
        /// Connection-phase timeout, seconds.
        public var connectTimeout: Double = 10
        /// Whole-transfer timeout per attempt, seconds.
        public var totalTimeout: Double = 120
        /// Largest accepted response body, bytes.
        public var maxResponseBytes: Int = 16 << 20
        /// Attempts in all (1 = never retry).
        public var maxAttempts: Int = 4
        /// Backoff before retry n (1-based) is `min(maxBackoff, baseBackoff * 2^(n-1))`, jittered.
        public var baseBackoff: Double = 0.5
        public var maxBackoff: Double = 30
        /// `Retry-After` values above this are capped to it.
        public var maxRetryAfter: Double = 60
        /// Allow `http://` to non-loopback hosts.
        public var allowInsecureHTTP: Bool = false
        /// Extra secrets to redact from errors (beyond the secret request headers).
        public var secrets: [String] = []
        /// Passed to CURLOPT_NOPROXY when set (hosts that bypass any environment proxy).
        public var noProxy: String? = nil
        /// User-Agent header value.
        public var userAgent: String = "loopai"
        /// Returns a value in [0, 1); drives the jitter. Called from any thread.
        public var random: @Sendable () -> Double = HTTPClient.systemRandom
        /// Sleeps for the given seconds between attempts. Called from any thread.
        public var sleep: @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }

        public init() {}
    }

    public let configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        _ = HTTPClient.globalInit
        self.configuration = configuration
    }

    private static let globalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

    /// Uniform [0, 1) from the system generator.
    public static let systemRandom: @Sendable () -> Double = { Double.random(in: 0..<1) }

    /// A deterministic, thread-safe [0, 1) source (SplitMix64) for reproducible jitter.
    public static func seededRandom(seed: UInt64) -> @Sendable () -> Double {
        let state = SeededState(seed: seed)
        return { state.next() }
    }

    private final class SeededState: @unchecked Sendable {
        private var s: UInt64
        private let lock = NSLock()
        init(seed: UInt64) { s = seed }
        func next() -> Double {
            lock.lock(); defer { lock.unlock() }
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 53)
        }
    }

    // MARK: Sending

    /// Sends `request`, retrying as configured; throws `HTTPError`.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        try sendResult(request).get()
    }

    /// Sends all requests with at most `maxConcurrent` in flight; results align with `requests`.
    public func sendAll(_ requests: [HTTPRequest], maxConcurrent: Int) -> [Result<HTTPResponse, HTTPError>] {
        if requests.isEmpty { return [] }
        let workers = max(1, min(maxConcurrent, requests.count))
        let state = SendAllState(count: requests.count)
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            let thread = Thread {
                while let i = state.claim() {
                    state.store(i, self.sendResult(requests[i]))
                }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        let results = state.results
        return results.map { $0! }
    }

    private final class SendAllState: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private let count: Int
        var results: [Result<HTTPResponse, HTTPError>?]
        init(count: Int) {
            self.count = count
            results = Array(repeating: nil, count: count)
        }
        func claim() -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard next < count else { return nil }
            next += 1
            return next - 1
        }
        func store(_ i: Int, _ r: Result<HTTPResponse, HTTPError>) {
            lock.lock(); results[i] = r; lock.unlock()
        }
    }

    /// The delay before retry number `attempt` (1-based): `Retry-After` when given (capped),
    /// else exponential backoff with equal jitter.
    public func backoff(attempt: Int, retryAfter: Double?) -> Double {
        if let ra = retryAfter { return min(max(ra, 0), configuration.maxRetryAfter) }
        let exp = configuration.baseBackoff * pow(2, Double(max(0, attempt - 1)))
        let capped = min(configuration.maxBackoff, exp)
        return capped * (0.5 + 0.5 * configuration.random())
    }

    /// Like `send`, as a `Result`.
    public func sendResult(_ request: HTTPRequest) -> Result<HTTPResponse, HTTPError> {
        let secrets = request.secrets + configuration.secrets
        let shownURL = redact(request.url, secrets: secrets)
        if let problem = validate(request, shownURL: shownURL) { return .failure(problem) }

        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

        let attempts = max(1, configuration.maxAttempts)
        var attempt = 0
        while true {
            attempt += 1
            let outcome = perform(request, secrets: secrets, shownURL: shownURL)
            var failure: HTTPError
            var retryAfter: Double? = nil
            switch outcome {
            case .failure(let e):
                failure = e
            case .success(let raw):
                if (200...299).contains(raw.status) {
                    return .success(HTTPResponse(status: raw.status, headers: raw.headers, body: raw.body,
                                                 attempts: attempt, seconds: elapsed()))
                }
                let prefix = String(decoding: raw.body.prefix(200), as: UTF8.self)
                failure = .status(raw.status, redact(prefix, secrets: secrets))
                if let v = raw.headers.first(where: { $0.0.lowercased() == "retry-after" })?.1,
                   let secs = Double(v.trimmingCharacters(in: .whitespaces)), secs.isFinite, secs >= 0 {
                    retryAfter = secs
                }
            }
            if !failure.isRetryable || attempt >= attempts { return .failure(failure) }
            configuration.sleep(backoff(attempt: attempt, retryAfter: retryAfter))
        }
    }

    /// Checks done before any network access.
    private func validate(_ request: HTTPRequest, shownURL: String) -> HTTPError? {
        guard let parsed = ParsedURL(request.url) else { return .invalidRequest("malformed URL: \(shownURL)") }
        switch parsed.scheme {
        case "https": break
        case "http":
            if !parsed.isLoopback && !configuration.allowInsecureHTTP { return .insecureHTTP(shownURL) }
        default:
            return .invalidRequest("unsupported scheme '\(parsed.scheme)' in \(shownURL)")
        }
        if request.url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f }) {
            return .invalidRequest("URL contains spaces or control characters: \(shownURL)")
        }
        let method = request.method.uppercased()
        if method.isEmpty || !method.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-") }) {
            return .invalidRequest("invalid method '\(redact(request.method, secrets: request.secrets))'")
        }
        for (name, value) in request.headers {
            if name.isEmpty || name.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f || $0 == UInt8(ascii: ":") }) {
                return .invalidRequest("invalid header name '\(redact(name, secrets: request.secrets))'")
            }
            if value.utf8.contains(where: { $0 == 0x0d || $0 == 0x0a || $0 == 0 }) {
                return .invalidRequest("header '\(name)' has a line break in its value")
            }
        }
        return nil
    }

    private struct RawResponse {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
    }

    /// State the curl callbacks reach through WRITEDATA/HEADERDATA.
    private final class TransferBox {
        let limit: Int
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        var exceeded = false
        init(limit: Int) { self.limit = limit }
    }

    private static let writeCallback: loop_curl_write_cb = { ptr, size, nmemb, userdata in
        guard let userdata else { return 0 }
        let box = Unmanaged<TransferBox>.fromOpaque(userdata).takeUnretainedValue()
        let count = size * nmemb
        if box.body.count + count > box.limit {
            box.exceeded = true
            return 0  // aborts the transfer with CURLE_WRITE_ERROR
        }
        if count > 0, let ptr {
            box.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: count))
        }
        return count
    }

    private static let headerCallback: loop_curl_write_cb = { ptr, size, nmemb, userdata in
        guard let userdata else { return 0 }
        let box = Unmanaged<TransferBox>.fromOpaque(userdata).takeUnretainedValue()
        let count = size * nmemb
        guard count > 0, let ptr else { return count }
        let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: count), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            box.headers = []  // a new response (after 100 Continue or a proxy CONNECT)
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            box.headers.append((name, value))
        }
        return count
    }

    /// One attempt.
    private func perform(_ request: HTTPRequest, secrets: [String], shownURL: String) -> Result<RawResponse, HTTPError> {
        guard let h = curl_easy_init() else { return .failure(.network(-1, "curl_easy_init failed")) }
        defer { curl_easy_cleanup(h) }
        let box = TransferBox(limit: configuration.maxResponseBytes)
        let boxPtr = Unmanaged.passRetained(box)
        defer { boxPtr.release() }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        var list: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(list) }
        for (name, value) in request.headers {
            list = curl_slist_append(list, value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        if !request.headers.contains(where: { $0.0.lowercased() == "expect" }) {
            list = curl_slist_append(list, "Expect:")
        }

        _ = request.url.withCString { loop_curl_setopt_ptr(h, CURLOPT_URL, $0) }
        _ = "http,https".withCString { loop_curl_setopt_ptr(h, CURLOPT_PROTOCOLS_STR, $0) }
        _ = loop_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = loop_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(configuration.connectTimeout * 1000)))
        _ = loop_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, max(1, Int(configuration.totalTimeout * 1000)))
        _ = loop_curl_setopt_off(h, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(configuration.maxResponseBytes))
        _ = loop_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
        _ = loop_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
        _ = loop_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
        _ = loop_curl_setopt_ptr(h, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = configuration.userAgent.withCString { loop_curl_setopt_ptr(h, CURLOPT_USERAGENT, $0) }
        if let np = configuration.noProxy {
            _ = np.withCString { loop_curl_setopt_ptr(h, CURLOPT_NOPROXY, $0) }
        }
        _ = loop_curl_setopt_ptr(h, CURLOPT_HTTPHEADER, list)
        _ = loop_curl_setopt_write(h, CURLOPT_WRITEFUNCTION, HTTPClient.writeCallback)
        _ = loop_curl_setopt_ptr(h, CURLOPT_WRITEDATA, boxPtr.toOpaque())
        _ = loop_curl_setopt_write(h, CURLOPT_HEADERFUNCTION, HTTPClient.headerCallback)
        _ = loop_curl_setopt_ptr(h, CURLOPT_HEADERDATA, boxPtr.toOpaque())

        let method = request.method.uppercased()
        switch method {
        case "GET" where request.body.isEmpty:
            _ = loop_curl_setopt_long(h, CURLOPT_HTTPGET, 1)
        case "HEAD":
            _ = loop_curl_setopt_long(h, CURLOPT_NOBODY, 1)
        default:
            if method != "POST" {
                _ = method.withCString { loop_curl_setopt_ptr(h, CURLOPT_CUSTOMREQUEST, $0) }
            }
            if method == "POST" || !request.body.isEmpty {
                _ = loop_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
                // COPYPOSTFIELDS copies the bytes, so they need not outlive this call.
                var bytes = request.body
                bytes.append(0)
                _ = bytes.withUnsafeBytes { loop_curl_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
            }
        }

        let rc = curl_easy_perform(h)
        if rc != CURLE_OK {
            if box.exceeded || rc == CURLE_FILESIZE_EXCEEDED {
                return .failure(.tooLarge(configuration.maxResponseBytes))
            }
            if rc == CURLE_OPERATION_TIMEDOUT {
                return .failure(.timeout(shownURL, after: configuration.totalTimeout))
            }
            var message = String(cString: curl_easy_strerror(rc))
            let detail = String(cString: errorBuffer)
            if !detail.isEmpty { message += ": " + detail }
            message = redact(message + " (\(shownURL))", secrets: secrets)
            return .failure(.network(Int(rc.rawValue), message))
        }
        var status = 0
        _ = loop_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return .success(RawResponse(status: status, headers: box.headers, body: box.body))
    }
}
