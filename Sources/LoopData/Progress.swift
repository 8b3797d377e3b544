import Foundation

/// A one-line progress counter on standard error, shown only when it is a terminal.
public final class Progress {
    let title: String
    let total: Int
    let enabled: Bool
    var last = Date.distantPast
    var shown = false

    public init(_ title: String, total: Int, force: Bool? = nil) {
        self.title = title
        self.total = total
        self.enabled = force ?? (isatty(2) != 0 && total >= 2000)
    }

    public func update(_ done: Int) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) > 0.1 || done == total else { return }
        last = now
        shown = true
        let pct = total == 0 ? 100 : done * 100 / total
        FileHandle.standardError.write(Data("\r\(title): \(done)/\(total) (\(pct)%)".utf8))
    }

    public func finish() {
        guard enabled, shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
