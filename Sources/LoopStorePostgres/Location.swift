import Foundation
import LoopStore

/// Where a PostgreSQL store is: `postgres://USER@HOST:PORT/DB` (or `postgresql://`), with
/// `?host=/DIR` for a Unix socket directory (as libpq has it), `?sslmode=disable|prefer|require`
/// and `?password_file=PATH`. The password comes from `PGPASSWORD`, else an owner-only password
/// file, else the URL (accepted, discouraged); it never appears in `description`.
public struct PostgresLocation: Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable { case disable, prefer, require }
    public var user: String
    public var host: String
    public var port: Int
    /// A Unix socket directory; when set, `host` is not used.
    public var socketDirectory: String?
    public var database: String
    public var tls: TLSMode
    var password: String?

    public static func isPostgres(_ s: String) -> Bool { s.hasPrefix("postgres://") || s.hasPrefix("postgresql://") }

    /// The socket file for `socketDirectory` and `port` (`.s.PGSQL.PORT`).
    public var socketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    /// The URL without its password, for logs and messages.
    public var description: String {
        var s = "postgres://\(user)@\(socketDirectory == nil ? host : ""):\(port)/\(database)"
        var q: [String] = []
        if let socketDirectory { q.append("host=\(socketDirectory)") }
        if tls != .disable { q.append("sslmode=\(tls.rawValue)") }
        if !q.isEmpty { s += "?" + q.joined(separator: "&") }
        return s
    }

    public init(_ url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isPostgres(url), let c = URLComponents(string: url) else {
            throw StoreError.badLocation("not a PostgreSQL URL: \(Self.redacted(url)) (expected postgres://USER@HOST:PORT/DATABASE)")
        }
        let query = Dictionary((c.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, b in b })
        let known: Set<String> = ["host", "sslmode", "password_file"]
        if let unknown = query.keys.first(where: { !known.contains($0) }) {
            throw StoreError.badLocation("unknown parameter \(unknown) in \(Self.redacted(url)) (known: host, sslmode, password_file)")
        }
        user = c.user ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        host = c.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = c.port ?? 5432
        socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        database = String(c.path.drop(while: { $0 == "/" }))
        if database.isEmpty { database = user }
        guard let mode = TLSMode(rawValue: query["sslmode"] ?? "disable") else {
            throw StoreError.badLocation("sslmode must be disable, prefer or require, not \(query["sslmode"]!)")
        }
        tls = mode
        if let p = environment["PGPASSWORD"] {
            password = p
        } else if let file = query["password_file"] ?? environment["LOOPAI_PG_PASSWORD_FILE"] {
            password = try Self.readPasswordFile(file)
        } else {
            password = c.password
        }
    }

    /// The first line of an owner-only file (a password readable by others is refused).
    static func readPasswordFile(_ path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { throw StoreError.badLocation("cannot read the password file \(path): \(String(cString: strerror(errno)))") }
        guard st.st_mode & 0o077 == 0 else {
            throw StoreError.badLocation("the password file \(path) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw StoreError.badLocation("cannot read the password file \(path)") }
        return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }

    /// The URL with any password replaced by `***`.
    static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.password != nil else { return url }
        c.password = "***"
        return c.string ?? "postgres://***"
    }
}
