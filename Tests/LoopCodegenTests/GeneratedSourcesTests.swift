import Foundation
@testable import LoopCodegen
import LoopSema
import XCTest

/// The binary carries copies of Stdlib/ and of the C runtime (for AOT output); they must be
/// exactly the files in the repository. Regenerate with scripts/gen-stdlib and scripts/gen-runtime.
final class GeneratedSourcesTests: XCTestCase {
    func read(_ path: String) throws -> String { try String(contentsOf: repoRoot.appendingPathComponent(path), encoding: .utf8) }

    func testRuntimeCopyMatchesTheCSources() throws {
        XCTAssertEqual(RuntimeSource.header + "\n", try read("Sources/LoopRuntimeC/include/loop_runtime.h"), "run scripts/gen-runtime")
        XCTAssertEqual(RuntimeSource.source + "\n", try read("Sources/LoopRuntimeC/loop_runtime.c"), "run scripts/gen-runtime")
    }

    func testEmbeddedStdlibMatchesStdlibFolder() throws {
        let onDisk = Stdlib.directory(repoRoot.appendingPathComponent("Stdlib").path).modules
        XCTAssertEqual(Set(onDisk.keys), Set(Stdlib.embedded.modules.keys), "run scripts/gen-stdlib")
        for (name, text) in onDisk {
            XCTAssertEqual((Stdlib.embedded.modules[name] ?? "") + "\n", text, "\(name) differs from its copy in the binary: run scripts/gen-stdlib")
        }
    }
}
