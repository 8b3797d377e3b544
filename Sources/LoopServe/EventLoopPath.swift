import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import LoopRuntime
import NIOCore
import NIOHTTPTypes
#if canImport(Glibc)
import Glibc
#endif

/// The server's HTTP/1.1 connections: Hummingbird's (`HTTP1Channel`, its parser, idle timeout,
/// graceful close and every route), with one handler more in the pipeline that answers the two
/// classify endpoints on the event loop itself (`ClassifyChannelHandler`).
struct ServeChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let http1: HTTP1Channel
    let server: LoopServer

    /// Hummingbird's HTTP/1.1 server with these connections.
    static func builder(_ server: LoopServer) -> HTTPServerBuilder {
        let configuration = HTTP1Channel.Configuration(idleTimeout: .milliseconds(Int64(server.config.idleTimeout * 1000)))
        return HTTPServerBuilder { responder in
            ServeChannel(http1: HTTP1Channel(responder: responder, configuration: configuration), server: server)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { [server] value in
            // After the connection-state handler (it sees every request and answer, so idle
            // timeouts and graceful close count these too), before Hummingbird's async side.
            let ops = channel.pipeline.syncOperations
            let state = try ops.handler(type: HTTPConnectionStateHandler.self)
            try ops.addHandler(ClassifyChannelHandler(server: server), position: .after(state))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

/// Answers `POST /v1/tasks/NAME/classify[/batch]` where the request arrives: its parts are
/// collected on the event loop and the answer is written back from there, with the same bytes,
/// status, headers, metrics and refusals as Hummingbird's route (`LoopServer.classifyEndpoint`),
/// without its per-request async machinery (a task resumed per part, the request and response
/// values, the writer). Every other request is passed on to Hummingbird, and so is a classify
/// request this path does not take as it is: an unknown task, a body that is not JSON by its
/// type, a missing or wrong client token, a `Connection` or `Expect` header, a body over the
/// limit. While a request passed on is unanswered, every later one is passed on too, so that
/// answers go out in the order of their requests.
final class ClassifyChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let server: LoopServer
    /// The request being collected here: its head (to pass it on after all), task, endpoint,
    /// body so far and when its head arrived.
    private var taking: (head: HTTPRequest, task: ServedTask, batch: Bool, started: UInt64)?
    private var body: ByteBuffer?
    /// Requests passed on to Hummingbird whose answers are not yet written.
    private var passedOn = 0
    /// Whether an answer was written since the last flush.
    private var unflushed = false
    /// A read held back while the channel is not writable: a client that sends requests without
    /// reading the answers is read no further until it does (the answers are not queued without bound).
    private var heldRead = false
    /// The `Date` header's text for the second `dateSecond`.
    private var date = "", dateSecond = -1

    init(server: LoopServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if passedOn == 0, let (task, batch) = server.takesOnEventLoop(head) {
                taking = (head, task, batch, DispatchTime.now().uptimeNanoseconds)
                body = nil
            } else {
                passedOn += 1
                context.fireChannelRead(data)
            }
        case .body(var part):
            guard taking != nil else { context.fireChannelRead(data); return }
            if (body?.readableBytes ?? 0) + part.readableBytes > server.config.maxBodyBytes {
                // Over the limit: Hummingbird's route refuses it (413), as for any other body.
                passOn(context)
                context.fireChannelRead(data)
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let t = taking else { context.fireChannelRead(data); return }
            taking = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            let (status, answer) = server.answerOnEventLoop(t.task, bytes, batch: t.batch, started: t.started)
            server.metrics.onEventLoop.increment()
            write(context, status, answer)
        }
    }

    /// Hands the request being collected to Hummingbird: its head and body so far, then the rest as it comes.
    private func passOn(_ context: ChannelHandlerContext) {
        guard let t = taking else { return }
        taking = nil
        passedOn += 1
        context.fireChannelRead(wrapInboundOut(.head(t.head)))
        if let b = body { context.fireChannelRead(wrapInboundOut(.body(b))) }
        body = nil
    }

    private func write(_ context: ChannelHandlerContext, _ status: HTTPResponse.Status, _ answer: [UInt8]) {
        var buffer = context.channel.allocator.buffer(capacity: answer.count)
        buffer.writeBytes(answer)
        var fields = HTTPFields()
        fields.reserveCapacity(4)
        fields.append(HTTPField(name: .contentType, value: API.jsonType))
        fields.append(HTTPField(name: .contentLength, value: String(answer.count)))
        fields.append(HTTPField(name: .date, value: currentDate()))
        fields.append(HTTPField(name: .server, value: LoopServer.serverName))
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        unflushed = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Answers to the requests of one read go out together.
        if unflushed { unflushed = false; context.flush() }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Hummingbird's answer to a request passed on.
        if case .end = unwrapOutboundIn(data) { passedOn = max(0, passedOn - 1) }
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable { context.read() } else { heldRead = true }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if heldRead, context.channel.isWritable { heldRead = false; context.read() }
        context.fireChannelWritabilityChanged()
    }

    /// The `Date` header (RFC 9110's IMF-fixdate), formatted once a second per connection.
    private func currentDate() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        let s = Int(now.tv_sec)
        if s != dateSecond { dateSecond = s; date = HTTPDate.format(s) }
        return date
    }
}

/// HTTP's date format: `Mon, 07 Dec 2026 09:56:44 GMT`.
enum HTTPDate {
    static func format(_ seconds: Int) -> String {
        var t = time_t(seconds)
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }
}

extension LoopServer {
    /// The `Server` header of every answer.
    static let serverName = "loopai"

    /// The task and endpoint of a request the event-loop path answers; nil passes it on to
    /// Hummingbird's route, which answers it (or refuses it) as it always has.
    func takesOnEventLoop(_ head: HTTPRequest) -> (ServedTask, Bool)? {
        guard classifyOnEventLoop, head.method == .post, let path = head.path,
              let (name, batch) = Responder.classifyPath(path), let t = tasks[name] else { return nil }
        let h = head.headerFields
        guard h[.connection] == nil, h[.expect] == nil, API.isJSONType(h[.contentType] ?? "") else { return nil }
        if let length = h[.contentLength] { guard let n = Int(length), n <= config.maxBodyBytes else { return nil } }
        if let clientToken { guard Token.matches(h[.authorization], clientToken) else { return nil } }
        return (t, batch)
    }

    /// The status and body of the answer to a classify request taken on the event loop: what
    /// `classifyEndpoint` answers to the same body.
    func answerOnEventLoop(_ t: ServedTask, _ bytes: [UInt8], batch: Bool, started: UInt64) -> (HTTPResponse.Status, [UInt8]) {
        do {
            guard !bytes.isEmpty else { throw API.emptyBody }
            let answer = try answer(t, bytes, batch: batch)
            t.recordLatency(since: started, batch: batch)
            return (.ok, answer)
        } catch {
            let r = failure(task: t.name, error)
            return (r.status, API.errorBytes(r.code, r.message))
        }
    }
}
