import Foundation
import LoopData
import XCTest

/// The live dashboard in a real browser: headless Chromium loads `/`, its script fetches each
/// task's panel, the charts render, and they change while traffic flows.
final class DashboardTests: XCTestCase {
    static var chromium: String? {
        for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] where FileManager.default.isExecutableFile(atPath: p) { return p }
        return nil
    }

    /// Runs headless Chromium on `url` and returns the DOM after its scripts ran (and a screenshot).
    func browse(_ url: String, screenshot: URL? = nil) throws -> String {
        guard let chromium = Self.chromium else {
            XCTFail("headless Chromium is not installed (scripts/setup installs Debian's chromium)")
            return ""
        }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("loopai-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        var args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=\(profile.path)",
                    "--virtual-time-budget=5000", "--window-size=1280,2400"]
        if let screenshot { args.append("--screenshot=\(screenshot.path)") } else { args.append("--dump-dom") }
        p.arguments = args + [url]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "chromium failed on \(url)")
        return String(decoding: data, as: UTF8.self)
    }

    func requestsShown(_ dom: String, task: String) -> Int? {
        guard let r = dom.range(of: #"data-requests="([0-9]+)""#, options: .regularExpression) else { return nil }
        return Int(dom[r].dropFirst(15).dropLast())
    }

    func testTheDashboardRendersChartsAndFollowsTraffic() throws {
        let dir = try serveTempDir("dashboard")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sms = ServeProcess.root.appendingPathComponent("Examples/sms_spam").path
        let server = try ServeProcess(["--task", sms + "/task.yaml", "--program", sms + "/program.loop", "--oracle", "labels:label",
                                       "--store", dir.path, "--commit-interval", "0.05"])
        let records = try jsonLines(sms + "/data.jsonl")
        func send(_ range: Range<Int>) throws {
            for i in range { XCTAssertEqual(try server.post("/v1/tasks/sms_spam/classify", .object([("text", records[i]["text"]!), ("label", records[i]["label"]!)])).status, 200) }
        }
        try send(0..<600)
        Thread.sleep(forTimeInterval: 0.3)
        let first = try browse(server.baseURL + "/")
        XCTAssertTrue(first.contains("<svg"), "the charts render: \(first.prefix(2000))")
        XCTAssertTrue(first.contains("Agreement") || first.contains("agreement"), "the agreement chart is there")
        XCTAssertTrue(first.contains("data-refreshes"), "the page's script ran and refreshed")
        let before = try XCTUnwrap(requestsShown(first, task: "sms_spam"), "the panel shows its request count")
        XCTAssertGreaterThanOrEqual(before, 600)
        try send(600..<1400)
        Thread.sleep(forTimeInterval: 0.3)
        let second = try browse(server.baseURL + "/")
        let after = try XCTUnwrap(requestsShown(second, task: "sms_spam"))
        XCTAssertGreaterThanOrEqual(after, 1400, "the dashboard follows the traffic")
        XCTAssertNotEqual(first.components(separatedBy: "<svg").dropFirst().first, second.components(separatedBy: "<svg").dropFirst().first,
                          "the charts changed")
        // The screenshot is kept as a test artefact.
        let artefacts = ServeProcess.root.appendingPathComponent(".build/test-artefacts")
        try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
        let png = artefacts.appendingPathComponent("dashboard.png")
        try? FileManager.default.removeItem(at: png)
        _ = try browse(server.baseURL + "/", screenshot: png)
        let size = (try? FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
        XCTAssertGreaterThan(size ?? 0, 10_000, "a screenshot of the dashboard at \(png.path)")
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }
}
