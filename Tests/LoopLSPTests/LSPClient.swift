import Foundation
import TestSupport
import XCTest

/// A language client for tests: starts the real `loopai lsp` process and speaks JSON-RPC frames
/// to it over pipes, exactly as an editor does.
final class LSPClient {
    let process = Process()
    private let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
    private let cond = NSCondition()
    private var buffer: [UInt8] = []
    private var eof = false
    private var nextId = 100
    /// Notifications received while waiting for responses, oldest first.
    private(set) var notifications: [[String: Any]] = []
    private(set) var stderrText = ""

    static var binary: URL { LoopaiBinary.url }

    init(arguments: [String] = [], cwd: URL? = nil) throws {
        process.executableURL = LoopaiBinary.url
        process.arguments = ["lsp"] + arguments
        if let cwd { process.currentDirectoryURL = cwd }
        var env = ProcessInfo.processInfo.environment
        env["XDG_CACHE_HOME"] = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-lsp-cache").path
        process.environment = env
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let out = stdout.fileHandleForReading, err = stderr.fileHandleForReading
        Thread.detachNewThread { [weak self] in
            while true {
                let d = out.availableData
                guard let self else { return }
                self.cond.lock()
                if d.isEmpty { self.eof = true } else { self.buffer += d }
                self.cond.broadcast(); self.cond.unlock()
                if d.isEmpty { return }
            }
        }
        Thread.detachNewThread { [weak self] in
            let d = err.readDataToEndOfFile()
            self?.cond.lock(); self?.stderrText = String(decoding: d, as: UTF8.self); self?.cond.unlock()
        }
    }

    deinit { if process.isRunning { process.terminate() } }

    // MARK: writing

    func sendRaw(_ bytes: [UInt8]) { stdin.fileHandleForWriting.write(Data(bytes)) }

    func sendFrame(body: [UInt8]) { sendRaw(Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body) }

    func send(_ message: [String: Any]) {
        var m = message
        m["jsonrpc"] = "2.0"
        sendFrame(body: Array(try! JSONSerialization.data(withJSONObject: m)))
    }

    func notify(_ method: String, _ params: [String: Any]) { send(["method": method, "params": params]) }

    /// Sends a request and waits for its response (the whole response object: `result` or `error`).
    @discardableResult
    func request(_ method: String, _ params: Any = [String: Any](), file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
        nextId += 1
        let id = nextId
        send(["id": id, "method": method, "params": params])
        return response(id: id, file: file, line: line)
    }

    func response(id: Int?, file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
        while let m = nextMessage() {
            if m["method"] != nil && m["id"] == nil { notifications.append(m); continue }
            if let id {
                if (m["id"] as? Int) == id { return m }
            } else if m["id"] is NSNull { return m }
            XCTFail("unexpected message \(m)", file: file, line: line)
        }
        XCTFail("no response to \(id.map(String.init) ?? "null") (server stderr: \(stderrText))", file: file, line: line)
        return [:]
    }

    /// The next notification with this method (from those already received, or waiting for it).
    func notification(_ method: String, where accept: ([String: Any]) -> Bool = { _ in true },
                      file: StaticString = #filePath, line: UInt = #line) -> [String: Any] {
        if let i = notifications.firstIndex(where: { ($0["method"] as? String) == method && accept($0) }) {
            return notifications.remove(at: i)
        }
        while let m = nextMessage() {
            if (m["method"] as? String) == method && accept(m) { return m }
            notifications.append(m)
        }
        XCTFail("no \(method) notification (server stderr: \(stderrText))", file: file, line: line)
        return [:]
    }

    /// The latest diagnostics published for `uri` at `version`.
    func diagnostics(_ uri: String, version: Int, file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
        let n = notification("textDocument/publishDiagnostics", where: { m in
            let p = m["params"] as? [String: Any]
            return (p?["uri"] as? String) == uri && (p?["version"] as? Int) == version
        }, file: file, line: line)
        return (n["params"] as? [String: Any])?["diagnostics"] as? [[String: Any]] ?? []
    }

    // MARK: reading

    func nextMessage(timeout: TimeInterval = 60) -> [String: Any]? {
        guard let body = nextBody(timeout: timeout) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    private func nextBody(timeout: TimeInterval) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(timeout)
        cond.lock(); defer { cond.unlock() }
        while true {
            if let (headerEnd, length) = header(), buffer.count >= headerEnd + length {
                let body = Array(buffer[headerEnd..<headerEnd + length])
                buffer.removeFirst(headerEnd + length)
                return body
            }
            if eof { return nil }
            if !cond.wait(until: deadline) { return nil }
        }
    }

    private func header() -> (Int, Int)? {
        let sep: [UInt8] = [13, 10, 13, 10]
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where Array(buffer[i..<i + 4]) == sep {
            let text = String(decoding: buffer[0..<i], as: UTF8.self)
            for l in text.split(separator: "\r\n") where l.lowercased().hasPrefix("content-length:") {
                if let n = Int(l.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) { return (i + 4, n) }
            }
            return nil
        }
        return nil
    }

    /// Closes the server's input and waits for it to exit; its status.
    func finish() -> Int32 {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        return process.terminationStatus
    }

    // MARK: protocol steps

    func initialize(rootUri: String? = nil, options: [String: Any]? = nil) -> [String: Any] {
        var p: [String: Any] = ["processId": Int(getpid()), "capabilities": [String: Any]()]
        p["rootUri"] = rootUri ?? NSNull()
        if let options { p["initializationOptions"] = options }
        let r = request("initialize", p)
        notify("initialized", [:])
        return r
    }

    func open(_ uri: String, _ text: String, version: Int = 1) {
        notify("textDocument/didOpen", ["textDocument": ["uri": uri, "languageId": "loop", "version": version, "text": text]])
    }

    func change(_ uri: String, version: Int, _ changes: [[String: Any]]) {
        notify("textDocument/didChange", ["textDocument": ["uri": uri, "version": version], "contentChanges": changes])
    }

    func shutdownAndExit() -> Int32 {
        _ = request("shutdown", NSNull())
        notify("exit", [:])
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Positions and ranges as JSON objects.
func pos(_ line: Int, _ character: Int) -> [String: Any] { ["line": line, "character": character] }
func range(_ l1: Int, _ c1: Int, _ l2: Int, _ c2: Int) -> [String: Any] { ["start": pos(l1, c1), "end": pos(l2, c2)] }

/// The (line, UTF-16 character) of the first occurrence of `needle` in `text` (plus `offset` characters).
func position(of needle: String, in text: String, offset: Int = 0, occurrence: Int = 1) -> [String: Any] {
    var search = text.startIndex..<text.endIndex
    var found: Swift.Range<String.Index>? = nil
    for _ in 0..<occurrence {
        guard let r = text.range(of: needle, range: search) else { XCTFail("no \(needle)"); return pos(0, 0) }
        found = r; search = r.upperBound..<text.endIndex
    }
    let before = text[..<found!.lowerBound]
    let line = before.filter { $0 == "\n" }.count
    let lineStart = before.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
    return pos(line, text[lineStart..<found!.lowerBound].utf16.count + offset)
}
