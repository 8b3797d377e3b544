import CThreadAffinity
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A serial worker on a thread of its own, at a lower scheduling priority than the threads that
/// answer requests (on Linux a thread has its own nice value), so that validation, commits and
/// the improver's fits take the CPU the request path leaves instead of competing with it: on a
/// small machine a control step would otherwise show in the requests' tail latency. Jobs run in
/// the order they were queued, one at a time; an optional timer runs a job periodically between them.
final class ControlThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    /// The periodic job and when it is next due, on the monotonic clock (a wall-clock jump does not stall it).
    private var tick: (interval: Double, next: Double, job: () -> Void)?
    private static func now() -> Double { ProcessInfo.processInfo.systemUptime }
    private var finished = false

    /// The nice value the thread takes: 10 unless `LOOPAI_CONTROL_NICE` says 0–19.
    /// A thread inherits its creator's nice value, so threads the control side starts (the
    /// improver's, libcurl's) run at it too; the threads that answer requests are the server's
    /// event loops, started before any control thread (Swift concurrency runs on them too,
    /// `LoopServer.prepareProcess`), so none of them inherits it. The figures at 0, 10 and 19
    /// are in Docs/performance.md (`Benchmarks/serve-oracle-ab.sh`). On a saturated machine validation then
    /// falls behind the requests; rollout decisions count only the requests whose samples are
    /// validated (`TaskEngine.evidenceThrough`), so they wait for the evidence instead of deciding
    /// on less of it.
    static let defaultNice: Int32 = {
        if let v = ProcessInfo.processInfo.environment["LOOPAI_CONTROL_NICE"], let n = Int32(v) { return max(0, min(19, n)) }
        return 10
    }()

    init(name: String, nice: Int32 = ControlThread.defaultNice) {
        let thread = Thread { [self] in
            ControlThread.nameThisThread(name)
            ControlThread.lowerThisThreadsPriority(nice)
            run()
        }
        thread.start()
    }

    /// Names the calling thread as `top` and `/proc/PID/task/TID/comm` show it (Linux keeps 15
    /// bytes of it; Foundation's `Thread.name` set before `start()` does not reach the kernel).
    static func nameThisThread(_ name: String) {
        _ = loopai_name_this_thread(name)
    }

    /// Gives the calling thread the nice value `nice` (Linux: `setpriority(PRIO_PROCESS, 0, …)`
    /// sets the calling thread's own). Lowering one's priority needs no privilege; a failure
    /// leaves the default.
    static func lowerThisThreadsPriority(_ nice: Int32 = ControlThread.defaultNice) {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
        #endif
    }

    /// Queues a job.
    func async(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs `job` every `interval` seconds from now on (between queued jobs), replacing any earlier timer.
    func every(_ interval: Double, _ job: @escaping () -> Void) {
        condition.lock()
        tick = (interval, ControlThread.now() + interval, job)
        condition.signal()
        condition.unlock()
    }

    func cancelTimer() {
        condition.lock()
        tick = nil
        condition.unlock()
    }

    /// Ends the thread once the jobs queued so far have run.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            var job: (() -> Void)? = nil
            while job == nil {
                if !jobs.isEmpty { job = jobs.removeFirst(); break }
                if finished { condition.unlock(); return }
                if let t = tick {
                    let now = ControlThread.now()
                    if t.next <= now {
                        // The next tick counts from now: a slow step does not queue a burst of them.
                        tick!.next = now + t.interval
                        job = t.job
                        break
                    }
                    _ = condition.wait(until: Date(timeIntervalSinceNow: t.next - now))
                } else {
                    condition.wait()
                }
            }
            condition.unlock()
            job?()
        }
    }
}
