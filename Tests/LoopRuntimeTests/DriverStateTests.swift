import Foundation
import XCTest
@testable import LoopRuntime
import LoopTask

/// Saved states across builds: a state saved by an older build that lacks fields added since is
/// read with those fields at their defaults; a malformed state is still an error.
final class DriverStateTests: XCTestCase {
    func testAStateMissingNewerFieldsIsReadWithDefaults() throws {
        var s = DriverState(activeVersion: 7, sampler: Sampler(configuration: SamplerConfiguration(policy: ValidationPolicy()), seed: 3))
        s.requests = 1234; s.validated = 56; s.lostOnRestart = 9; s.paused = true; s.feedback = 4
        let full = String(decoding: try JSONEncoder().encode(s), as: UTF8.self)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(full.utf8)) as? [String: Any])
        // As an older build saved it: without the fields added since.
        for key in ["lostOnRestart", "paused", "feedback", "feedbackAgreed", "dropped"] { object[key] = nil }
        let old = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        XCTAssertThrowsError(try JSONDecoder().decode(DriverState.self, from: Data(old.utf8)), "the plain decoder refuses it")
        let read = try DriverState.decode(old)
        XCTAssertEqual(read.activeVersion, 7)
        XCTAssertEqual(read.requests, 1234)
        XCTAssertEqual(read.validated, 56)
        XCTAssertEqual(read.lostOnRestart, 0)
        XCTAssertEqual(read.paused, false)
        XCTAssertEqual(read.feedback, 0)
        // A complete state reads as it was; a malformed one is an error.
        XCTAssertEqual(try DriverState.decode(full).lostOnRestart, 9)
        XCTAssertThrowsError(try DriverState.decode("{\"requests\": \"many\"}"))
        XCTAssertThrowsError(try DriverState.decode("not json"))
    }
}
