import Foundation
import LoopCodegen
import LoopDiagnostics
import LoopInterpreter
import LoopSema
import XCTest

/// The code of a program that is no longer used leaves the JIT: a server that promotes version
/// after version does not grow.
final class JITMemoryTests: XCTestCase {
    func program(_ i: Int) throws -> TypedProgram {
        let source = """
        program p\(i)
        input text: text
        labels spam, ham
        const words = ["win\(i)", "prize", "claim\(i % 7)"]
        rule r when contains_any_word(lower(text), words) => spam confidence 0.9
        score spam { \(i % 5 + 1) when contains(text, "!") }
        score ham { 1 }
        otherwise => ham
        test "a prize!" => spam
        """
        let (p, d) = Checker.checkSource(SourceFile(name: "p\(i).loop", text: source), stdlib: .embedded)
        guard let p, !d.contains(where: { $0.severity == .error }) else { throw NSError(domain: "check", code: 1, userInfo: [NSLocalizedDescriptionKey: TextRenderer().render(d)]) }
        return p
    }

    static func residentBytes() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8), let pages = Int(s.split(separator: " ")[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// 1,000 versions, each compiled, used beside the previous one (as in shadow), then dropped.
    func testMemoryStaysFlatOverAThousandVersions() throws {
        let before = JITEngine.loadedPrograms
        var previous: JITEngine? = nil
        var rssAfterWarmUp = 0
        for i in 0..<1000 {
            let p = try program(i)
            let e = try JITEngine(p)
            // It answers as the interpreter does while it lives.
            let text: [Value] = [.text(Array("claim\(i % 7) now".utf8))]
            XCTAssertEqual(e.classify(text).label, Interpreter(p).classify(text).label)
            previous = e
            if i == 99 { rssAfterWarmUp = Self.residentBytes() }
        }
        XCTAssertEqual(JITEngine.loadedPrograms, before + 1, "only the version still referenced keeps its code")
        previous = nil
        XCTAssertEqual(JITEngine.loadedPrograms, before)
        let growth = Self.residentBytes() - rssAfterWarmUp
        // 900 more programs of ~30 KB of code and tables each grew by 12.7 MB when none were freed (measured).
        print("JIT memory: resident growth over 900 versions: \(growth / 1024) KiB")
        XCTAssertLessThan(growth, 4 << 20, "resident memory grew by \(growth / 1024) KiB over 900 versions")
        // A freed program can be compiled again (its symbols left the JIT).
        let again = try JITEngine(try program(5))
        XCTAssertEqual(again.classify([.text(Array("a prize!".utf8))]).label, 0)
        _ = previous
    }
}
