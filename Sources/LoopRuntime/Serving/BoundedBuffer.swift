import DequeModule

/// A FIFO with a fixed capacity that refuses, and counts, what does not fit. Not thread-safe on
/// its own: it lives inside the engine's request-side lock, so taking k elements costs O(k)
/// (a ring), never a move of everything left behind.
public struct BoundedBuffer<Element> {
    public let capacity: Int
    private var items = Deque<Element>()
    /// Elements refused since the buffer was made.
    public private(set) var dropped = 0
    /// Elements accepted since the buffer was made.
    public private(set) var accepted = 0
    /// Refused / offered over the recent offers (decays by half every `window` offers), for
    /// correcting inclusion probabilities when samples are dropped.
    private var recentOffered = 0.0
    private var recentDropped = 0.0
    private let window: Double

    public init(capacity: Int, window: Int = 1000) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.window = Double(max(window, 1))
        items.reserveCapacity(min(capacity, 4096))
    }

    public var count: Int { items.count }
    public var isEmpty: Bool { items.isEmpty }

    /// Appends `e` unless the buffer is full; returns whether it was kept. `e` is made only
    /// when it is kept.
    @discardableResult
    public mutating func offer(_ e: @autoclosure () -> Element) -> Bool {
        recentOffered += 1
        if recentOffered >= window { recentOffered /= 2; recentDropped /= 2 }
        guard items.count < capacity else { dropped += 1; recentDropped += 1; return false }
        items.append(e())
        accepted += 1
        return true
    }

    /// The fraction of recent offers that were kept (1 when nothing was dropped).
    public var keptFraction: Double { recentOffered > 0 ? max(1 - recentDropped / recentOffered, 1e-6) : 1 }

    /// Takes at most `limit`, oldest first.
    public mutating func drain(max limit: Int) -> [Element] {
        guard items.count > limit else { return drain() }
        let out = Array(items.prefix(limit))
        items.removeFirst(limit)
        return out
    }

    /// The oldest element, if any.
    public var first: Element? { items.first }

    /// Takes everything, oldest first.
    public mutating func drain() -> [Element] {
        let out = Array(items)
        items.removeAll(keepingCapacity: true)
        return out
    }
}
