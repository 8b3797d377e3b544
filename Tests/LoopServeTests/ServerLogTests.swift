import Foundation
import Logging
@testable import LoopServe
import XCTest

/// Hummingbird's logger in `loopai serve`: warnings and errors reach the server's log with their
/// metadata; information does not, and the request id set on every request is not kept.
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
        XCTAssertNil(logger[metadataKey: "hb.request.id"])
        XCTAssertEqual(logger[metadataKey: "channel"], "7")
        logger.info("Server started and listening on 127.0.0.1:8080")
        logger.debug("HTTP parse error, closing connection")
        logger.warning("connection reset", metadata: ["peer": "127.0.0.1:5000"])
        logger.error("accept failed")
        XCTAssertEqual(lines.all, ["http warning: connection reset channel=7 peer=127.0.0.1:5000", "http error: accept failed channel=7"])
        base.error("plain")
        XCTAssertEqual(lines.all.last, "http error: plain")
    }
}
