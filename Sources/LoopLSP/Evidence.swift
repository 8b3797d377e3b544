import Foundation
import LoopData
import LoopInterpreter
import LoopSema
import LoopStore
import LoopTask

/// What the loop knows about a program beside it: the task file (label and field descriptions),
/// the store of validations, and the failing examples of open escalations (from the store and from
/// `ESC-N.json` tickets in the program's directory).
final class ProgramContext {
    let task: TaskSpec?
    let taskPath: String?
    let store: (any TaskStore)?
    let storePath: String?
    /// Why a store that was named could not be opened, shown once to the developer.
    let storeProblem: String?
    private var validatedCache: [ValidatedInput]?

    struct Failure {
        let escalation: Int64
        let input: JSON
        let oracle: String
    }
    private(set) var failures: [Failure] = []

    init(directory: String, programPath: String?, options: ServerOptions) {
        let fm = FileManager.default
        var task: TaskSpec? = nil, taskPath: String? = nil
        var candidates: [String] = []
        if let t = options.taskPath { candidates.append(t) }
        let stem = programPath.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension } ?? ""
        candidates += ["task.yaml", "task.yml", stem + ".yaml", stem + ".yml"].map { directory + "/" + $0 }
        for c in candidates where fm.fileExists(atPath: c) {
            if let spec = try? TaskLoader.load(path: c) { task = spec; taskPath = c; break }
        }
        self.task = task; self.taskPath = taskPath

        var storePath = options.storePath
        if storePath == nil, let name = task?.name {
            // The loop's default store is `.loopai/TASK.sqlite` where it ran: the workspace root,
            // or the program's directory or one of its parents.
            var dirs = options.rootPath.map { [$0] } ?? []
            var d = directory
            for _ in 0..<5 { dirs.append(d); d = (d as NSString).deletingLastPathComponent; if d == "/" || d.isEmpty { break } }
            storePath = dirs.map { $0 + "/.loopai/\(name).sqlite" }.first { fm.fileExists(atPath: $0) }
        }
        var store: (any TaskStore)? = nil, problem: String? = nil
        if let p = storePath {
            if !fm.fileExists(atPath: p) { problem = "no store at \(p)" }
            else {
                do {
                    let tasks = try SQLiteStore.tasks(path: p)
                    let name = task.map(\.name).flatMap { tasks.contains($0) ? $0 : nil } ?? (tasks.count == 1 ? tasks[0] : nil)
                    if let name { store = try SQLiteStore.open(path: p, task: name) }
                    else { problem = "the store \(p) holds the tasks \(tasks.joined(separator: ", ")); name the task with --task" }
                } catch { problem = "cannot open the store \(p): \(error)" }
            }
        }
        self.store = store; self.storePath = storePath; self.storeProblem = problem
        loadFailures(directory: directory, programPath: programPath)
    }

    private func loadFailures(directory: String, programPath: String?) {
        var tickets: [(Int64, String)] = []
        if let store, let open = try? store.escalations(status: .open) {
            tickets += open.compactMap { e in e.id.map { ($0, e.ticketJSON) } }
        }
        // A ticket file beside the program: ESC-N.json (the program is often ESC-N.program.loop).
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for n in names.sorted() where n.hasPrefix("ESC-") && n.hasSuffix(".json") {
            guard let id = Int64(n.dropFirst(4).dropLast(5)), !tickets.contains(where: { $0.0 == id }),
                  let text = try? String(contentsOfFile: directory + "/" + n, encoding: .utf8) else { continue }
            tickets.append((id, text))
        }
        for (id, text) in tickets {
            guard let j = try? JSONParser.parse(text), let fs = j["failures"]?.array else { continue }
            for f in fs {
                guard let input = f["input"], let oracle = f["oracle"]?.string else { continue }
                failures.append(Failure(escalation: id, input: input, oracle: oracle))
            }
        }
    }

    var hasEvidence: Bool { store != nil || !failures.isEmpty }

    private var evidenceCache: (hash: String, run: EvidenceRun)?

    func validated() -> [ValidatedInput] {
        if let v = validatedCache { return v }
        let v = (try? store?.validatedInputs()) ?? []
        validatedCache = v
        return v
    }

    /// The program's run over the validations, computed once per text of the program: every
    /// code lens and hover of one version shares it (a large store makes a run long).
    func evidence(_ p: TypedProgram) -> EvidenceRun {
        if let c = evidenceCache, c.hash == p.sourceHash { return c.run }
        let run = EvidenceRun(program: p, validated: validated())
        evidenceCache = (p.sourceHash, run)
        return run
    }

    /// Forgets the cached validations (on save, so a running loop's new answers appear).
    func refresh() { validatedCache = nil; evidenceCache = nil }

    func labelDescription(_ label: String) -> String? { task?.labels.first { $0.name == label }?.description }
    func fieldDescription(_ field: String) -> String? { task?.input.first { $0.name == field }?.description }
}

/// The current program run over stored evidence by the interpreter, grouped by what decided.
struct EvidenceRun {
    struct Tally { var decided = 0; var right = 0 }
    var byRule: [Int: Tally] = [:]
    var byScore = Tally()
    var byOtherwise = Tally()
    var total = 0
    var right = 0
    var undecodable = 0

    init(program p: TypedProgram, validated: [ValidatedInput]) {
        let interp = Interpreter(p)
        let decoder = RecordDecoder(program: p)
        for v in validated {
            guard let json = try? JSONParser.parse(v.input), case .success(let input) = decoder.decode(.json(json)) else { undecodable += 1; continue }
            let d = interp.evaluate(input)
            let ok = p.labels[d.label] == v.label
            total += 1
            if ok { right += 1 }
            switch d.decidedBy {
            case .rule(let i): byRule[i, default: Tally()].decided += 1; if ok { byRule[i]!.right += 1 }
            case .score: byScore.decided += 1; if ok { byScore.right += 1 }
            case .otherwise: byOtherwise.decided += 1; if ok { byOtherwise.right += 1 }
            }
        }
    }

    static func describe(_ t: Tally) -> String {
        t.decided == 0 ? "decides none of the validated inputs"
            : String(format: "right %.0f%% of %d validated input%@", Double(t.right) * 100 / Double(t.decided), t.decided, t.decided == 1 ? "" : "s")
    }
}
