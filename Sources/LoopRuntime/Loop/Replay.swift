import Foundation
import LoopData
import LoopStore

/// `loopai loop --stream FILE`: a replay of a recorded file through the same engine a server
/// runs. Each record is a request whose id is its line number; after every `batchSize` requests
/// the control side steps (validates, decides, commits), so a replay is deterministic for a seed.
public final class LoopDriver {
    public let engine: TaskEngine
    let records: [(line: Int, json: JSON)]
    /// Called after each batch (for progress on a terminal).
    public var progress: ((DriverState, Int) -> Void)?
    /// Called with one line per notable event.
    public var log: ((String) -> Void)? {
        get { engine.log }
        set { engine.log = newValue }
    }
    public var settings: LoopSettings { engine.settings }
    public var store: any TaskStore { engine.store }
    public var run: Run { engine.run }
    public var state: DriverState { engine.state }
    public var totalCost: Double { engine.totalCost }
    /// Inputs in the stream.
    public var streamCount: Int { records.count }

    /// Starts a new run, or resumes the latest unfinished run of the task when `resume` is set.
    public init(settings: LoopSettings, store: any TaskStore, resume: Bool) throws {
        records = try Self.readStream(settings.streamPath)
        engine = try TaskEngine(settings: settings, store: store, resume: resume)
    }

    static func readStream(_ path: String) throws -> [(line: Int, json: JSON)] {
        let rs: [InputRecord]
        do { rs = try RecordReader.read(path, format: .jsonl) } catch { throw LoopError.stream("\(error)") }
        return rs.compactMap { r in if case .json(let j) = r.raw { return (r.line, j) }; return nil }
    }

    /// Processes the stream from the cursor to the end (or `maxRequests`), one batch per commit.
    public func runToEnd() throws -> DriverState {
        var processedHere = 0
        let task = settings.task
        while engine.state.cursor < records.count {
            if let m = settings.maxRequests, processedHere >= m {
                if !engine.pending.isEmpty || !engine.afterCommit.isEmpty { try engine.commit(cursor: engine.state.cursor, items: []) }
                return engine.state
            }
            let start = engine.state.cursor
            let n = min(settings.batchSize, records.count - start, settings.maxRequests.map { $0 - processedHere } ?? Int.max)
            for seq in start..<(start + n) {
                let record = records[seq].json
                // The column may hold the application's string: the engine compares identifiers.
                let truth = settings.labelKey.flatMap { record[$0]?.string }.map { task.labelIdentifier($0) ?? $0 }
                _ = engine.serve(.seq(seq), input: TaskInputProjection.project(record, task), record: record, truth: truth)
            }
            try engine.step()
            processedHere += n
            progress?(engine.state, records.count)
        }
        try engine.finish()
        return engine.state
    }
}
