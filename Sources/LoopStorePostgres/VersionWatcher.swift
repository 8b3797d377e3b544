import Foundation
import PostgresNIO

/// A LISTEN connection for one task's rollout notifications. Runs on a thread of its own: it
/// connects, listens, waits for the connection to close (a server restart) or for `stop`, and
/// connects again after a second. Notifications arrive on the connection's event loop and are
/// handed over as they come (`onChange` must not block).
final class VersionWatcher: @unchecked Sendable {
    let pool: PGPool
    let task: String
    let onChange: @Sendable () -> Void
    private let stopped = PGLocked(false)
    private let current = PGLocked<PostgresConnection?>(nil)

    init(pool: PGPool, task: String, onChange: @escaping @Sendable () -> Void) {
        self.pool = pool; self.task = task; self.onChange = onChange
    }

    func start() {
        let t = Thread { [self] in run() }
        t.name = "loopai.listen.\(task)"
        t.start()
    }

    func stop() {
        stopped.withLock { $0 = true }
        if let c = current.withLock({ $0 }) { _ = try? PGPool.await(c.close(), seconds: 5) }
    }

    private func run() {
        while !stopped.withLock({ $0 }) {
            do {
                let conn = try pool.connect()
                current.withLock { $0 = conn }
                let (task, onChange) = (self.task, self.onChange)
                conn.addListener(channel: PostgresStore.versionsChannel) { _, note in
                    if note.payload == task { onChange() }
                }
                try pool.run(conn, PostgresQuery(unsafeSQL: "LISTEN \(PostgresStore.versionsChannel)"))
                while !conn.isClosed && !stopped.withLock({ $0 }) { Thread.sleep(forTimeInterval: 0.2) }
                if !conn.isClosed { _ = try? PGPool.await(conn.close(), seconds: 5) }
                current.withLock { $0 = nil }
            } catch {
                // The server is away: the followers poll at every step meanwhile.
            }
            if !stopped.withLock({ $0 }) { Thread.sleep(forTimeInterval: 1) }
        }
    }
}

/// A value behind a lock (this module's own; LoopRuntime's is not imported here).
final class PGLocked<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    init(_ v: T) { value = v }
    func withLock<R>(_ body: (inout T) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(&value)
    }
}
