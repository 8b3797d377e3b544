import Foundation
import LoopData
import TestSupport
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `loopai serve` process on 127.0.0.1 (a free port it picks and prints), with its
/// standard error collected, and a small HTTP client for it.
final class ServeProcess: @unchecked Sendable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL { LoopaiBinary.url }

    let process = Process()
    private let errPipe = Pipe()
    private let lock = NSLock()
    private var errText = ""
    private(set) var port = 0
    let session: URLSession

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return errText }

    /// Starts the server and waits (up to `timeout` seconds) until it listens.
    init(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 60) throws {
        process.executableURL = Self.binary
        process.arguments = ["serve", "--port", "0"] + arguments
        process.currentDirectoryURL = Self.root
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 60
        c.httpMaximumConnectionsPerHost = 64
        session = URLSession(configuration: c)
        errPipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.lock(); self.errText += String(decoding: d, as: UTF8.self); self.lock.unlock()
        }
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let r = stderr.range(of: #"listening on http://127\.0\.0\.1:([0-9]+)"#, options: .regularExpression) {
                port = Int(stderr[r].split(separator: ":").last!)!
                return
            }
            if !process.isRunning { throw NSError(domain: "serve", code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: "loopai serve exited: \(stderr)"]) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        throw NSError(domain: "serve", code: 1, userInfo: [NSLocalizedDescriptionKey: "loopai serve did not start listening: \(stderr)"])
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

    /// Sends a signal and waits for the process to end; returns its exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM, timeout: Double = 30) -> Int32 {
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        errPipe.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    struct Reply {
        var status: Int
        var json: JSON?
        var text: String
        var contentType: String?
    }

    func request(_ method: String, _ path: String, body: String? = nil, token: String? = nil, contentType: String? = "application/json") throws -> Reply {
        var req = URLRequest(url: URL(string: baseURL + path)!)
        req.httpMethod = method
        if let body { req.httpBody = Data(body.utf8) }
        if body != nil, let contentType { req.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let token { req.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        final class Box: @unchecked Sendable { var data: Data?; var response: URLResponse?; var error: Error? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: req) { d, r, e in box.data = d; box.response = r; box.error = e; done.signal() }.resume()
        done.wait()
        if let e = box.error { throw e }
        guard let http = box.response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        let bytes = [UInt8](box.data ?? Data())
        return Reply(status: http.statusCode, json: try? JSONParser.parse(bytes), text: String(decoding: bytes, as: UTF8.self),
                     contentType: http.value(forHTTPHeaderField: "Content-Type"))
    }

    func post(_ path: String, _ body: JSON, token: String? = nil) throws -> Reply {
        try request("POST", path, body: JSONWriter.string(body), token: token)
    }

    func get(_ path: String, token: String? = nil) throws -> Reply { try request("GET", path, token: token) }
}

/// A fresh temporary directory.
func serveTempDir(_ tag: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-serve-\(tag)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// The records of a JSON Lines file.
func jsonLines(_ path: String) throws -> [JSON] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
}
