import Foundation

/// A real PostgreSQL server for the tests: the one `LOOPAI_TEST_POSTGRES` names (with
/// `PGPASSWORD`), as `make test` and `.ci/run` start it; else a throwaway cluster started here with
/// scripts/pg-test-server on first use and stopped when the test process exits.
public enum TestPostgres {
    public struct Server: Sendable {
        /// The store URL, without the password.
        public let url: String
        public let password: String
        /// The cluster's directory when this process started it (for restarts), else nil.
        public let directory: String?
    }

    nonisolated(unsafe) private static var cached: Result<Server, Error>?
    private static let lock = NSLock()

    /// The server; started once per process when the environment names none.
    public static func server() throws -> Server {
        lock.lock(); defer { lock.unlock() }
        if let cached { return try cached.get() }
        let r = Result { try start() }
        cached = r
        return try r.get()
    }

    private static func start() throws -> Server {
        let env = ProcessInfo.processInfo.environment
        if let url = env["LOOPAI_TEST_POSTGRES"], !url.isEmpty {
            return Server(url: url, password: env["PGPASSWORD"] ?? "", directory: env["LOOPAI_TEST_POSTGRES_DIR"])
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let out = try script(["start", dir])
        guard out.status == 0 else { throw PostgresUnavailable(message: "scripts/pg-test-server start failed: \(out.stderr)") }
        atexit { TestPostgres.stopStarted() }
        startedDirectory = dir
        let password = try String(contentsOfFile: dir + "/password", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // The stores (and the `loopai` processes the tests start) read the password from here.
        setenv("PGPASSWORD", password, 1)
        return Server(url: out.stdout.trimmingCharacters(in: .whitespacesAndNewlines), password: password, directory: dir)
    }

    nonisolated(unsafe) private static var startedDirectory: String?

    static func stopStarted() {
        if let d = startedDirectory { _ = try? script(["stop", d]) }
    }

    /// Stops and starts the server again (same data, same port): only for a cluster of this process
    /// or one whose directory the environment names.
    public static func restart() throws {
        guard let dir = try server().directory else { throw PostgresUnavailable(message: "the server's directory is unknown (set LOOPAI_TEST_POSTGRES_DIR)") }
        let out = try script(["restart", dir])
        guard out.status == 0 else { throw PostgresUnavailable(message: "restart failed: \(out.stderr)") }
    }

    /// A task name no other test uses: tests share the database, and the store scopes by task.
    public static func uniqueTask(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// Runs scripts/pg-test-server. Not through Foundation's Process: its waitUntilExit can wait
    /// for the server the script leaves running; posix_spawn and waitpid wait for the script only.
    static func script(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/pg-test-server").path
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pgscript-\(UUID().uuidString)").path
        defer { unlink(tmp + ".out"); unlink(tmp + ".err") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, tmp + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, tmp + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard rc == 0 else { throw PostgresUnavailable(message: "cannot run \(path): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let out = (try? String(contentsOfFile: tmp + ".out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: tmp + ".err", encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), out, err)
    }
}

public struct PostgresUnavailable: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
