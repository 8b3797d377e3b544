#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A tiny scripted HTTP/1.1 server on 127.0.0.1 (ephemeral port) for the client tests.
/// One request per connection (`Connection: close`). Every socket read has a timeout.
/// Stops in `stop()` or `deinit`; the serving threads hold only the core, never the server.
public final class StubServer {
    public typealias Action = StubCore.Action
    public typealias Request = StubCore.Request
    private let core: StubCore
    public var port: Int { core.port }
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public init() throws { core = try StubCore() }
    deinit { core.stop() }

    public func enqueue(_ actions: Action...) { for a in actions { core.enqueue(a, times: 1) } }
    public func enqueue(_ action: Action, times: Int) { core.enqueue(action, times: times) }
    public var requests: [Request] { core.requests }
    public var maxConcurrent: Int { core.maxConcurrent }
    public func stop() { core.stop() }
    /// Answers requests when the script is empty (else unscripted requests get a 500).
    public func respond(with responder: @escaping @Sendable (Request) -> Action) { core.setResponder(responder) }
}

public final class StubCore: @unchecked Sendable {
    public enum Action {
        /// Answer with status, headers and body (Content-Length added).
        case respond(Int, [(String, String)], [UInt8])
        /// Wait this long, then perform the action.
        indirect case delay(Double, Action)
        /// Close the connection without answering (TCP reset).
        case reset
        /// A body of this many bytes; with or without Content-Length.
        case huge(Int, contentLength: Bool)
        /// Declare `declared` bytes in Content-Length, send `sent`, then close.
        case truncated(declared: Int, sent: [UInt8])

        public static func ok(_ body: String, headers: [(String, String)] = []) -> Action {
            .respond(200, headers, Array(body.utf8))
        }
        public static func status(_ code: Int, _ body: String = "", headers: [(String, String)] = []) -> Action {
            .respond(code, headers, Array(body.utf8))
        }
    }

    public struct Request {
        public var method: String
        public var path: String
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// The body as text.
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? {
            headers.first(where: { $0.0.lowercased() == name.lowercased() })?.1
        }
    }

    private let lock = NSLock()
    private var script: [Action] = []
    private var responder: (@Sendable (Request) -> Action)? = nil
    private var received: [Request] = []
    private var active = 0
    private var maxActive = 0
    private var stopped = false
    private var listenFD: Int32 = -1
    private let acceptDone = DispatchSemaphore(value: 0)
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StubError.socket("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw StubError.socket("bind/listen: \(errno)")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let got = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard got == 0 else {
            close(fd)
            throw StubError.socket("getsockname: \(errno)")
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        listenFD = fd
        let thread = Thread { [self] in self.acceptLoop(fd) }
        thread.start()
    }

    enum StubError: Error { case socket(String) }

    /// Queues actions, answered in order; unscripted requests get a 500.
    func setResponder(_ r: @escaping @Sendable (Request) -> Action) { lock.lock(); responder = r; lock.unlock() }

    func enqueue(_ action: Action, times: Int) {
        lock.lock(); script.append(contentsOf: Array(repeating: action, count: times)); lock.unlock()
    }

    var requests: [Request] {
        lock.lock(); defer { lock.unlock() }
        return received
    }

    /// The most requests being handled at the same time.
    var maxConcurrent: Int {
        lock.lock(); defer { lock.unlock() }
        return maxActive
    }

    private var isStopped: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopped
    }

    func stop() {
        lock.lock()
        if stopped { lock.unlock(); return }
        stopped = true
        lock.unlock()
        acceptDone.wait()
        close(listenFD)
    }

    // MARK: Serving

    private func acceptLoop(_ fd: Int32) {
        defer { acceptDone.signal() }
        while !isStopped {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, 50)
            if n <= 0 { continue }
            let conn = accept(fd, nil, nil)
            if conn < 0 { continue }
            var tv = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let handler = Thread { [self] in self.handle(conn) }
            handler.start()
        }
    }

    private func handle(_ conn: Int32) {
        var closed = false
        defer { if !closed { close(conn) } }
        guard let request = readRequest(conn) else { return }
        lock.lock()
        received.append(request)
        let responder = self.responder
        let scripted: Action? = script.isEmpty ? nil : script.removeFirst()
        lock.unlock()
        // The responder runs outside the lock (it may take its time).
        let action = scripted ?? responder?(request) ?? Action.status(500, "unscripted")
        lock.lock()
        active += 1
        maxActive = max(maxActive, active)
        lock.unlock()
        var counted = true
        // Leave the count before the last byte goes out: the client cannot have finished
        // (and started another request) while this one is still counted.
        func leave() {
            if counted { lock.lock(); active -= 1; lock.unlock(); counted = false }
        }
        defer { leave() }
        run(action, conn, leave: leave, closed: &closed)
    }

    private func run(_ action: Action, _ conn: Int32, leave: () -> Void, closed: inout Bool) {
        switch action {
        case .delay(let seconds, let then):
            let until = Date().addingTimeInterval(seconds)
            while Date() < until {
                if isStopped { return }
                usleep(10_000)
            }
            run(then, conn, leave: leave, closed: &closed)
        case .reset:
            leave()
            var lin = linger(l_onoff: 1, l_linger: 0)
            setsockopt(conn, SOL_SOCKET, SO_LINGER, &lin, socklen_t(MemoryLayout<linger>.size))
            close(conn)
            closed = true
        case .respond(let status, let headers, let body):
            var head = "HTTP/1.1 \(status) \(reason(status))\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
            for (k, v) in headers { head += "\(k): \(v)\r\n" }
            head += "\r\n"
            let all = Array(head.utf8) + body
            sendAll(conn, all.dropLast(), leave: leave)
            leave()
            sendAll(conn, all.suffix(1), leave: leave)
        case .huge(let size, let withLength):
            var head = "HTTP/1.1 200 OK\r\nConnection: close\r\n"
            if withLength { head += "Content-Length: \(size)\r\n" }
            head += "\r\n"
            leave()
            _ = sendAll(conn, Array(head.utf8)[...], leave: leave)
            let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 16 * 1024)
            var left = size
            while left > 0 {
                let n = min(left, chunk.count)
                if !sendAll(conn, chunk[..<n], leave: leave) { break }
                left -= n
            }
        case .truncated(let declared, let sent):
            let head = "HTTP/1.1 200 OK\r\nContent-Length: \(declared)\r\nConnection: close\r\n\r\n"
            leave()
            sendAll(conn, (Array(head.utf8) + sent)[...], leave: leave)
        }
    }

    @discardableResult
    private func sendAll(_ conn: Int32, _ bytes: ArraySlice<UInt8>, leave: () -> Void) -> Bool {
        var rest = bytes
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            rest = rest.dropFirst(n)
        }
        return true
    }

    private func readRequest(_ conn: Int32) -> Request? {
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int? = nil
        while headEnd == nil {
            let n = chunk.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            buf.append(contentsOf: chunk[..<n])
            if buf.count >= 4 {
                for i in 0...(buf.count - 4) where Array(buf[i..<i + 4]) == terminator {
                    headEnd = i
                    break
                }
            }
            if buf.count > 1 << 20 { return nil }
        }
        let head = String(decoding: buf[..<headEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]),
                            String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
        let length = headers.first(where: { $0.0.lowercased() == "content-length" }).flatMap { Int($0.1) } ?? 0
        var body = Array(buf[(headEnd! + 4)...])
        while body.count < length {
            let n = chunk.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            body.append(contentsOf: chunk[..<n])
        }
        return Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
    }

    private func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}
