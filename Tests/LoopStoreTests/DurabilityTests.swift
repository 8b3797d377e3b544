import Foundation
import XCTest
@testable import LoopStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The child side of the kill test. With LOOPSTORE_CHILD=<store path> in the environment it
/// resumes the store's run and writes batches until it is killed (or its parent goes away);
/// run normally, it checks that a short write session round-trips through a reopen.
final class StoreChildTests: XCTestCase {
    static let envKey = "LOOPSTORE_CHILD"

    func testChildWriter() throws {
        if let path = ProcessInfo.processInfo.environment[Self.envKey] {
            let store = try SQLiteStore.open(path: path, task: Workload.task)
            let run = try XCTUnwrap(store.latestRun())
            let active = try XCTUnwrap(store.activeVersion())
            let shadow = try XCTUnwrap(store.versions(status: .shadow).first)
            let parent = getppid()
            let deadline = Date().addingTimeInterval(600)
            while getppid() == parent, Date() < deadline {
                try Workload.writeBatch(store, runId: run.id!, activeId: active.id!, shadowId: shadow.id!)
            }
            return
        }
        let path = try makeTempDir(self).appendingPathComponent("child.sqlite").path
        var store = try SQLiteStore.open(path: path, task: Workload.task)
        let (run, active, shadow) = try Workload.setUp(store)
        for _ in 0..<4 { try Workload.writeBatch(store, runId: run.id!, activeId: active.id!, shadowId: shadow.id!) }
        try store.close()
        store = try SQLiteStore.open(path: path, task: Workload.task)
        let cursor = try XCTUnwrap(store.latestRun()).cursor
        XCTAssertEqual(cursor, 5 + 10 + 6 + 5) // batches start at 0, 5, 15 and 21
        try Workload.checkInvariants(store, runId: run.id!)
    }
}

/// Kills a writer process with SIGKILL at arbitrary points, several times over, resuming each
/// time: the store must hold exactly the whole batches up to the cursor, nothing twice.
final class StoreKillTests: XCTestCase {
    func testSurvivesKill9() throws {
        #if os(Linux)
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        #else
        throw XCTSkip("re-launching the test bundle is implemented for Linux only")
        #endif
        let dir = try makeTempDir(self)
        let path = dir.appendingPathComponent("kill.sqlite").path
        let store = try SQLiteStore.open(path: path, task: Workload.task)
        let (run, _, _) = try Workload.setUp(store)
        let runId = run.id!

        var rng = SystemRandomNumberGenerator()
        var previous = 0
        for round in 0..<8 {
            let log = dir.appendingPathComponent("child-\(round).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let out = try FileHandle(forWritingTo: log)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: exe)
            child.arguments = ["LoopStoreTests.StoreChildTests/testChildWriter"]
            var env = ProcessInfo.processInfo.environment
            env[StoreChildTests.envKey] = path
            child.environment = env
            child.standardOutput = out
            child.standardError = out
            try child.run()

            // Wait until the child has committed a few batches of its own, then kill it at a
            // random moment (most of its time is spent inside a transaction).
            let deadline = Date().addingTimeInterval(120)
            while try store.run(id: runId)!.cursor < previous + 40 {
                guard child.isRunning, Date() < deadline else {
                    child.terminate()
                    child.waitUntilExit()
                    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                    XCTFail("round \(round): the child made no progress or exited (\(child.terminationStatus)):\n\(text.suffix(3000))")
                    return
                }
                usleep(5_000)
            }
            usleep(UInt32.random(in: 0..<100_000, using: &rng))
            XCTAssertEqual(kill(child.processIdentifier, SIGKILL), 0)
            child.waitUntilExit()
            try? out.close()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal, "round \(round)")
            XCTAssertEqual(child.terminationStatus, SIGKILL, "round \(round)")

            // Resume as `--resume` would: a fresh open, from the stored cursor.
            let reopened = try SQLiteStore.open(path: path, task: Workload.task)
            let cursor = try XCTUnwrap(reopened.latestRun()).cursor
            XCTAssertGreaterThan(cursor, previous, "round \(round)")
            try Workload.checkInvariants(reopened, runId: runId)
            try reopened.close()
            print("kill round \(round): resumed at cursor \(cursor)")
            previous = cursor
        }
        // The run goes on in this process from where the last child stopped.
        let active = try XCTUnwrap(store.activeVersion()), shadow = try XCTUnwrap(store.versions(status: .shadow).first)
        try Workload.writeBatch(store, runId: runId, activeId: active.id!, shadowId: shadow.id!)
        try Workload.checkInvariants(store, runId: runId)
    }
}
