import Logging

/// Hummingbird's logger for `loopai serve`: its warnings and errors go to the server's log (with
/// their metadata); everything below is dropped, and so is the metadata Hummingbird attaches to
/// every request (a request id): swift-log's stream handler re-renders its metadata text on
/// every such change, which cost about 1 µs per request (2% of the server's time under load).
struct ServerLogHandler: LogHandler {
    let write: @Sendable (String) -> Void
    var logLevel: Logger.Level = .warning
    /// Kept for the messages that are written; the per-request id is not kept.
    var metadata: Logger.Metadata = [:]
    static let requestIdKey = "hb.request.id"

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { if key != Self.requestIdKey { metadata[key] = newValue } }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        let rendered = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        write("http \(event.level): \(event.message)\(rendered)")
    }

    static func logger(_ write: @escaping @Sendable (String) -> Void) -> Logger {
        Logger(label: "loopai.http") { _ in ServerLogHandler(write: write) }
    }
}
