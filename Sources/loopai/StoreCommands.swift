import ArgumentParser
import Foundation
import LoopData
import LoopGenerate
import LoopInterpreter
import LoopRuntime
import LoopStore

/// Options to find the store.
struct StoreOptions: ParsableArguments {
    @Option(help: "The SQLite store of `loopai loop`.")
    var store: String
    @Option(help: "The task to read, when the store holds several.")
    var taskName: String?

    /// Opens the store for `task`, or for the only task it holds.
    func open(task: String? = nil) throws -> any TaskStore {
        let task = task ?? taskName
        guard FileManager.default.fileExists(atPath: store) else { throw CLIError("no store at \(store)", code: 2) }
        do {
            var name = task
            if name == nil {
                let tasks = try SQLiteStore.tasks(path: store)
                if tasks.count > 1 {
                    throw CLIError("the store \(store) holds the tasks \(tasks.joined(separator: ", ")): choose one with --task-name", code: 2)
                }
                name = tasks.first ?? ""
            }
            return try SQLiteStore.open(path: store, task: name!)
        } catch let e as CLIError { throw e } catch { throw CLIError("cannot open the store \(store): \(error)", code: 2) }
    }
}

func date(_ t: Double) -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(timeIntervalSince1970: t)) + "Z"
}

/// `loopai status`: the latest run and the versions in play.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the latest loop run in a store: progress, agreement, cost, versions, open escalations.")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Only runs of this task.")
    var task: String?

    func run() throws {
        let db = try storeOptions.open(task: task)
        let runs = try db.runs()
        guard let r = runs.last else { print("no runs in \(storeOptions.store)"); return }
        print("run \(r.id!): task \(r.taskName), stream \(r.streamPath)")
        print("started \(date(r.startedAt)); " + (r.finishedAt.map { "finished \(date($0))" } ?? "not finished (resume with --resume)") + "; cursor \(r.cursor)")
        if let json = r.state, (try? DriverState.decode(json)) == nil {
            print("(the run's saved state was written by a different version of loopai; its counts are not shown)")
        }
        if let json = r.state, let s = try? DriverState.decode(json) {
            let a = s.agreement.estimate.map { String(format: "%.2f%%", $0 * 100) } ?? "n/a"
            print("requests \(s.requests), sampled \(s.sampled), validated \(s.validated), unvalidated \(s.unvalidated); agreement \(a)")
            if s.allLLMCost > 0 { print(String(format: "cost so far $%.6f (oracle $%.6f, generation $%.6f) vs all-LLM $%.6f", s.oracleCost + s.generationCost, s.oracleCost, s.generationCost, s.allLLMCost)) }
            print(String(format: "sampling %.2f%% realized, %@ at %.2f%% configured", s.sampler.meanProbability * 100,
                         s.sampler.configuration.strategy.rawValue, s.sampler.configuration.rate * 100))
            if let c = s.candidate { print("candidate v\(c.versionId): \(c.stage.rawValue)\(c.stage == .canary ? String(format: " at %.0f%%", c.share * 100) : "")") }
            else if s.sampler.recent.count < LoopSettings.defaultMinValidations {
                print("waiting for \(LoopSettings.defaultMinValidations - s.sampler.recent.count) more validation(s): the agreement triggers act on \(LoopSettings.defaultMinValidations) in the window")
            }
        }
        if let v = try db.activeVersion() { print("active version: v\(v.id!) (\(v.provenance))") }
        let open = try db.escalations(status: .open)
        print("open escalations: \(open.count)" + (open.isEmpty ? "" : " (" + open.map { "#\($0.id!)" }.joined(separator: ", ") + "; see `loopai escalations list`)"))
    }
}

/// `loopai history`: every version with its parent, status and provenance, and the rollouts.
struct History: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every program version (with its diff from its parent) and the rollout steps.")
    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "Show each version's diff from its parent.")
    var diff = false
    @Option(help: "Print one stored version's source (vN or N), candidates and rejected ones included, and nothing else.")
    var show: String?

    func run() throws {
        let db = try storeOptions.open()
        if let show {
            guard let id = Int64(show.hasPrefix("v") ? String(show.dropFirst()) : show) else { throw CLIError("--show takes a version: vN or N", code: 2) }
            guard let v = try db.version(id: id) else { throw CLIError("the store has no version \(show)", code: 1) }
            print(v.source, terminator: v.source.hasSuffix("\n") ? "" : "\n")
            return
        }
        let versions = try db.versions()
        let byId = Dictionary(versions.compactMap { v in v.id.map { ($0, v) } }, uniquingKeysWith: { a, _ in a })
        for v in versions {
            print("v\(v.id!)  \(v.status.rawValue)  \(date(v.createdAt))  parent \(v.parentId.map { "v\($0)" } ?? "-")  \(v.provenance)" + (v.note.map { "  [\($0)]" } ?? ""))
            if diff, let p = v.parentId.flatMap({ byId[$0] }) {
                print(LineDiff.unified(p.source, v.source, from: "v\(p.id!).loop", to: "v\(v.id!).loop").split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            }
        }
        let rollouts = try db.rollouts()
        if !rollouts.isEmpty { print("\nrollouts:") }
        for r in rollouts {
            print("  \(date(r.time))  v\(r.candidateId)  \(r.stage.rawValue)" + (r.stage == .canary ? String(format: " %.0f%%", r.share * 100) : "") + (r.baseId.map { "  (base v\($0))" } ?? "") + "  \(r.evidence)")
        }
    }
}

/// `loopai escalations list|show|resolve`.
struct Escalations: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List, show and resolve escalations.",
                                                    subcommands: [List.self, Show.self, Resolve.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the open escalations (--all: every one).")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "Include resolved ones.")
        var all = false
        func run() throws {
            let db = try storeOptions.open()
            let list = try db.escalations(status: all ? nil : .open)
            if list.isEmpty { print(all ? "no escalations" : "no open escalations") }
            for e in list {
                print("#\(e.id!)  \(e.status.rawValue)  \(date(e.createdAt))  \(e.reason)" + (e.resolutionVersionId.map { "  → v\($0)" } ?? ""))
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an escalation's ticket (Markdown, or --json).")
        @OptionGroup var storeOptions: StoreOptions
        @Argument var id: Int64
        @Flag(help: "The JSON ticket.")
        var json = false
        func run() throws {
            let db = try storeOptions.open()
            guard let e = try db.escalation(id: id) else { throw CLIError("no escalation #\(id) in \(storeOptions.store)", code: 1) }
            print(json ? e.ticketJSON : e.ticketMarkdown)
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve an escalation with an edited program: checked, tested, and compared on every stored validation before it becomes the active version.",
            discussion: "Then continue the loop with `loopai loop ... --resume`: it picks up the new version.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument var id: Int64
        @Option(help: "The edited program.")
        var program: String
        @Option(help: "The edited task file, when the specification changed (it is validated, and its labels must be the program's).")
        var task: String?
        @Flag(help: "Accept the program even when it is less accurate than the active one on the stored validations.")
        var force = false
        @Flag(help: "Check, test and compare only: print what resolving would decide, and change nothing.")
        var dryRun = false

        func run() throws {
            let db = try storeOptions.open()
            guard let e = try db.escalation(id: id) else { throw CLIError("no escalation #\(id) in \(storeOptions.store)", code: 1) }
            guard e.status == .open else { throw CLIError("escalation #\(id) is already resolved", code: 1) }
            let p = try loadProgram(program)
            if let task {
                let spec = try loadTask(task)
                if case .labels(let program, let wanted)? = TaskContract.check(p, spec, labelOrderMatters: true) {
                    throw CLIError("the task's labels (\(wanted.joined(separator: ", "))) are not the program's (\(program.joined(separator: ", ")))", code: 1)
                }
            }
            let engine = Interpreter(p)
            let (passed, failures) = EmbeddedTests.run(engine)
            guard failures.isEmpty else { throw CLIError("\(failures.count) of the program's \(passed + failures.count) tests fail (run `loopai test \(program)`)", code: 1) }
            let source: String
            do { source = try String(contentsOfFile: program, encoding: .utf8) } catch { throw CLIError("cannot read \(program)", code: 2) }
            let c = try EscalationResolution.compare(try LoadedProgram(versionId: -1, source: source), store: db)
            func pct(_ n: Int) -> String { c.total == 0 ? "n/a" : String(format: "%.2f%%", Double(n) * 100 / Double(c.total)) }
            print("tests: \(passed) passed")
            print("stored validations: \(c.total); the edited program gets \(c.editedRight) right (\(pct(c.editedRight)))"
                  + (c.activeId.map { ", the active v\($0) \(c.activeRight) (\(pct(c.activeRight)))" } ?? ""))
            if dryRun {
                print(c.editedIsWorse ? "dry run: resolve would refuse it (less accurate than the active one; --force accepts it)" : "dry run: resolve would accept it; nothing was changed")
                if c.editedIsWorse { throw ExitCode(1) }
                return
            }
            if c.editedIsWorse && !force {
                throw CLIError("the edited program is less accurate than the active one on the stored validations; fix it or pass --force", code: 1)
            }
            let newId = try EscalationResolution.apply(escalation: id, source: source, comparison: c, store: db)
            print("escalation #\(id) resolved: v\(newId) is active; continue with `loopai loop ... --resume`")
        }
    }
}
