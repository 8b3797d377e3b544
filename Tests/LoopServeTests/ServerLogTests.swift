import Foundation
import Logging
@testable import LoopServe
import XCTest

/// Hummingbird's logger in `loopai serve`: warnings and errors reach the server's log with their
/// metadata; information does not unless LOG_LEVEL asks; the request id set on every request is
/// kept apart (rendered with a message, read back by Hummingbird).
final class ServerLogTests: XCTestCase {
    final class Lines: @unchecked Sendable {
        let lock = NSLock()
        var all: [String] = []
        func add(_ s: String) { lock.lock(); all.append(s); lock.unlock() }
    }

    func testWarningsAndErrorsReachTheLogWithoutTheRequestId() {
        let lines = Lines()
        let base = ServerLogHandler.logger { lines.add($0) }
        var logger = base
        logger[metadataKey: "hb.request.id"] = "42"
        logger[metadataKey: "channel"] = "7"
        // Hummingbird's RequestContext.id reads the id back (and force-unwraps it).
        XCTAssertEqual(logger[metadataKey: "hb.request.id"], "42")
        XCTAssertEqual(logger[metadataKey: "channel"], "7")
        logger.info("Server started and listening on 127.0.0.1:8080")
        logger.debug("HTTP parse error, closing connection")
        logger.warning("connection reset", metadata: ["peer": "127.0.0.1:5000"])
        logger.error("accept failed")
        XCTAssertEqual(lines.all, ["http warning: connection reset channel=7 hb.request.id=42 peer=127.0.0.1:5000",
                                   "http error: accept failed channel=7 hb.request.id=42"])
        base.error("plain")
        XCTAssertEqual(lines.all.last, "http error: plain")
    }

    func testLogLevelComesFromHummingbirdsVariable() {
        XCTAssertEqual(ServerLogHandler.level([:]), .warning)
        XCTAssertEqual(ServerLogHandler.level(["LOG_LEVEL": "debug"]), .debug)
        XCTAssertEqual(ServerLogHandler.level(["LOG_LEVEL": "INFO"]), .info)
        XCTAssertEqual(ServerLogHandler.level(["LOG_LEVEL": "loud"]), .warning)
        let lines = Lines()
        let logger = ServerLogHandler.logger(level: .debug) { lines.add($0) }
        logger.debug("Unrecognised Error")
        logger.trace("noise")
        XCTAssertEqual(lines.all, ["http debug: Unrecognised Error"])
    }
}
