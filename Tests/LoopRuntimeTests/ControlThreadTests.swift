import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import LoopRuntime

/// The control side's own thread: jobs in order, one at a time, a periodic job between them, a
/// lower priority than the threads that answer requests, and an end once the queued jobs ran.
final class ControlThreadTests: XCTestCase {
    func testJobsRunInOrderOnOneLowerPriorityThread() {
        let t = ControlThread(name: "test.control", nice: 7)
        let done = expectation(description: "jobs")
        let seen = Locked<[Int]>([])
        let threads = Locked<Set<String>>([])
        let nice = Locked<Int32>(-100)
        for i in 0..<100 {
            t.async {
                seen.withLock { $0.append(i) }
                threads.withLock { $0.insert("\(Thread.current)") }
                #if os(Linux)
                errno = 0
                let n = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
                nice.withLock { $0 = errno == 0 ? n : -99 }
                #else
                nice.withLock { $0 = 7 }
                #endif
                if i == 99 { done.fulfill() }
            }
        }
        wait(for: [done], timeout: 10)
        XCTAssertEqual(seen.current, Array(0..<100))
        XCTAssertEqual(threads.current.count, 1)
        XCTAssertEqual(nice.current, 7, "the thread's own nice value")
        // The caller's priority is untouched.
        #if os(Linux)
        XCTAssertEqual(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0), 0)
        #endif
        t.finish()
    }

    func testTheTimerTicksBetweenJobsUntilCancelled() {
        let t = ControlThread(name: "test.timer", nice: 0)
        let ticks = Locked(0)
        let three = expectation(description: "three ticks")
        t.every(0.02) {
            let n = ticks.withLock { c -> Int in c += 1; return c }
            if n == 3 { three.fulfill() }
        }
        wait(for: [three], timeout: 10)
        t.cancelTimer()
        // A job queued after the cancel runs, and no tick follows it.
        let flushed = expectation(description: "flushed")
        t.async { flushed.fulfill() }
        wait(for: [flushed], timeout: 10)
        let after = ticks.current
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(ticks.current, after)
        t.finish()
    }

    func testFinishRunsWhatIsQueuedThenEndsTheThread() {
        let t = ControlThread(name: "test.finish", nice: 0)
        let ran = Locked(0)
        let gate = DispatchSemaphore(value: 0)
        t.async { gate.wait() }
        for _ in 0..<5 { t.async { ran.withLock { $0 += 1 } } }
        t.finish()
        gate.signal()
        let deadline = Date().addingTimeInterval(10)
        while ran.current < 5 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(ran.current, 5, "the jobs queued before finish() still run")
    }
}
