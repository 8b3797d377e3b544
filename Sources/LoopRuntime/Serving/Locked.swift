import Foundation

/// A value behind a mutex. The closure runs with the lock held: keep it short and never do I/O
/// in it (the request path takes these locks).
public final class Locked<Value>: @unchecked Sendable {
    // Inlinable, so that callers in other modules (the server's request path) get a specialized
    // lock rather than the generic entry point and its metadata lookups.
    @usableFromInline let lock = NSLock()
    @usableFromInline var value: Value

    public init(_ value: Value) { self.value = value }

    @inlinable @inline(__always)
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// A copy of the value.
    public var current: Value { withLock { $0 } }
}
