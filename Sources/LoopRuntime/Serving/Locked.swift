import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A value behind a mutex. The closure runs with the lock held: keep it short and never do I/O
/// in it (the request path takes these locks).
public final class Locked<Value>: @unchecked Sendable {
    // Inlinable, so that callers in other modules (the server's request path) get a specialized
    // lock rather than the generic entry point and its metadata lookups.
    @usableFromInline let lock = SpinningMutex()
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

/// A mutex that spins a little before it sleeps (glibc's adaptive mutex on Linux; a plain one
/// elsewhere). The request path holds its locks for well under a microsecond, on every event
/// loop at once: waiting for one by sleeping in the kernel costs a wake-up of the sleeper, which
/// the scheduler tends to put on the waker's core while the sleeper's own work waits behind it
/// (seen as milliseconds in the requests' tail latency); spinning sees the lock free first.
public final class SpinningMutex: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        #if os(Linux)
        // PTHREAD_MUTEX_ADAPTIVE_NP (3): the Swift importer does not see glibc's GNU-only name.
        pthread_mutexattr_settype(&attributes, 3)
        #endif
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inlinable @inline(__always) public func lock() { pthread_mutex_lock(mutex) }
    @inlinable @inline(__always) public func unlock() { pthread_mutex_unlock(mutex) }
}
