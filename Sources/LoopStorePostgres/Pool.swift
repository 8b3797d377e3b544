import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import LoopStore

/// A few PostgreSQL connections, handed to one caller at a time, for a synchronous store API.
///
/// Every call blocks its thread on a future, so it must not run on an event loop: the server
/// calls the store from its control queues and a blocking pool, never from a request handler's
/// loop. A connection that failed (the server restarted, the network went) is dropped, and the
/// next call connects anew: a restarted PostgreSQL is picked up without anyone's help.
final class PGPool: @unchecked Sendable {
    let location: PostgresLocation
    private let group: MultiThreadedEventLoopGroup
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var nextID = 1
    private var closed = false

    init(_ location: PostgresLocation) throws {
        self.location = location
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var c: PostgresConnection.Configuration
        if let socket = location.socketPath {
            c = .init(unixSocketPath: socket, username: location.user, password: location.password, database: location.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            switch location.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            c = .init(host: location.host, port: location.port, username: location.user, password: location.password,
                      database: location.database, tls: tls)
        }
        c.options.connectTimeout = .seconds(5)
        configuration = c
        // The driver's own logging stays quiet: errors reach the caller as thrown errors.
        logger = Logger(label: "loopai.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    // The last reference may go on any thread, an event loop included: close and shut down
    // without waiting (each connection is kept alive by its close's callback until it is closed).
    deinit {
        let g = group
        let closing = idle.map { c in c.close().always { _ in _ = c } }
        if closing.isEmpty { g.shutdownGracefully { _ in } }
        else { EventLoopFuture.andAllComplete(closing, on: closing[0].eventLoop).whenComplete { _ in g.shutdownGracefully { _ in } } }
    }

    /// Runs `body` with a connection of its own.
    func with<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let conn = try checkOut()
        do {
            let r = try body(conn)
            checkIn(conn)
            return r
        } catch {
            checkIn(conn)
            throw Self.explained(error, location)
        }
    }

    /// Runs `body` in one transaction: it commits when `body` returns, and rolls back when it throws.
    func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try with { conn in
            try run(conn, "BEGIN")
            do {
                let r = try body(conn)
                try run(conn, "COMMIT")
                return r
            } catch {
                if !conn.isClosed { _ = try? run(conn, "ROLLBACK") }
                throw error
            }
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    func run(_ conn: PostgresConnection, _ q: PostgresQuery) throws -> [PostgresRow] {
        do { return try Self.await(conn.query(q, logger: logger), seconds: queryTimeout).rows }
        catch let e as PoolTimeout {
            // A connection that stopped answering is closed; the next call connects anew.
            conn.close().whenComplete { _ in _ = conn }
            throw Self.explained(e, location)
        }
    }

    /// How long one statement may take before its connection is given up.
    let queryTimeout = 30.0

    /// The future's value, waiting at most `seconds`: a server that went away mid-answer cannot
    /// hang the caller (the control side of a task) for good.
    static func await<T>(_ f: EventLoopFuture<T>, seconds: Double) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox<T>()
        f.whenComplete { box.result = $0; done.signal() }
        guard done.wait(timeout: .now() + seconds) == .success, let r = box.result else { throw PoolTimeout(seconds: seconds) }
        return try r.get()
    }

    /// Opens a dedicated connection (for LISTEN), not pooled.
    func connect() throws -> PostgresConnection {
        let id = lock.withLock { () -> Int in nextID += 1; return nextID }
        do {
            return try Self.await(PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger), seconds: 10)
        } catch { throw Self.explained(error, location) }
    }

    func close() {
        let conns = lock.withLock { () -> [PostgresConnection] in closed = true; defer { idle = [] }; return idle }
        for c in conns { _ = try? Self.await(c.close(), seconds: 5) }
    }

    private func checkOut() throws -> PostgresConnection {
        if let c = lock.withLock({ () -> PostgresConnection? in
            while let c = idle.popLast() { if !c.isClosed { return c } }
            return nil
        }) { return c }
        return try connect()
    }

    private func checkIn(_ c: PostgresConnection) {
        guard !c.isClosed else { return }
        let keep = lock.withLock { () -> Bool in
            guard !closed && idle.count < 8 else { return false }
            idle.append(c)
            return true
        }
        if !keep { c.close().whenComplete { _ in _ = c } }
    }

    /// A PostgreSQL error with its server message (PSQLError's description hides it), and where.
    static func explained(_ error: Error, _ location: PostgresLocation) -> Error {
        if error is StoreError || error is PostgresStoreError { return error }
        if let t = error as? PoolTimeout { return PostgresStoreError(message: "PostgreSQL at \(location): no answer within \(Int(t.seconds)) s", sqlState: nil) }
        if let e = error as? PSQLError {
            if let m = e.serverInfo?[.message] {
                let code = e.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return PostgresStoreError(message: "PostgreSQL at \(location): \(m)\(code)", sqlState: e.serverInfo?[.sqlState])
            }
            return PostgresStoreError(message: "PostgreSQL at \(location): \(e.code)" + (e.underlying.map { ": \($0)" } ?? ""), sqlState: nil)
        }
        return error
    }
}

struct PoolTimeout: Error { let seconds: Double }

final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }

/// An error from PostgreSQL, with its message and SQLSTATE.
public struct PostgresStoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var sqlState: String?
    public var description: String { message }
}
