import Foundation
import Logging

/// Hummingbird's logger for `loopai serve`: its warnings and errors go to the server's log (with
/// their metadata); anything below is dropped unless `LOG_LEVEL` (Hummingbird's own variable)
/// asks for it. swift-log's stream handler re-renders its metadata text on every change, and
/// Hummingbird sets a request id on every request: about 1 µs per request (2% of the server's
/// time under load). This handler keeps that id in a field of its own, rendered only with a
/// message, so `RequestContext.id` still finds it.
struct ServerLogHandler: LogHandler {
    let write: @Sendable (String) -> Void
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    /// Hummingbird's per-request id (`hb.request.id`), apart from the other metadata.
    var requestId: Logger.MetadataValue?
    static let requestIdKey = "hb.request.id"

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { key == Self.requestIdKey ? requestId : metadata[key] }
        set { if key == Self.requestIdKey { requestId = newValue } else { metadata[key] = newValue } }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let requestId { all[Self.requestIdKey] = requestId }
        if let m = event.metadata { all.merge(m) { $1 } }
        let rendered = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        write("http \(event.level): \(event.message)\(rendered)")
    }

    /// The level: `LOG_LEVEL` (trace, debug, info, notice, warning, error, critical) if set, else warning.
    static func level(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Logger.Level {
        environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .warning
    }

    static func logger(level: Logger.Level = level(), _ write: @escaping @Sendable (String) -> Void) -> Logger {
        Logger(label: "loopai.http") { _ in ServerLogHandler(write: write, logLevel: level) }
    }
}
