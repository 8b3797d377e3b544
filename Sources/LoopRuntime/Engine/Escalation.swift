import Foundation
import LoopData
import LoopGenerate
import LoopLLM
import LoopStore
import LoopSema

/// Tickets for people: the failing examples, what they have in common, every attempt with its
/// diff, and the commands that reproduce it — in the store, as files, and to a webhook.
extension TaskEngine {
    /// Opens an escalation for `key` unless one is already open for it.
    func escalateOnce(_ key: String, reason: String) {
        guard !state.escalated.contains(key) else { return }
        state.escalated.insert(key)
        state.escalations += 1
        let ticket = makeTicket(reason: reason)
        let runId = run.id
        let dir = settings.escalationDirectory
        let webhook = settings.webhook
        let http = settings.webhookHTTP
        let logger = log
        // The k-th escalation of this commit gets the k-th id the commit returns.
        let k = pending.reduce(0) { n, w in if case .escalation = w { return n + 1 }; return n }
        let frozen = UncheckedBox(ticket)
        pending.append(.escalation(NewEscalation(runId: runId, reason: reason) { id in
            (frozen.value.markdown(id: id), frozen.value.json(id: id))
        }))
        // Files and the webhook carry the id, and happen once the row is committed.
        afterCommit.append { result in
            guard k < result.escalationIds.count else { return }
            let id = result.escalationIds[k]
            do { try EscalationFiles.write(ticket, id: id, directory: dir) } catch { logger?("cannot write the ticket files in \(dir): \(error)") }
            if let webhook { EscalationFiles.notify(webhook, ticket: ticket, id: id, http: http, log: logger) }
        }
        event(state.activeVersion, "escalated", reason)
    }

    func makeTicket(reason: String) -> Ticket {
        let analysis = FailureAnalysis.of(recentValidations())
        var attempts: [Ticket.Attempt] = []
        let versions = (try? store.versions()) ?? []
        let byId = Dictionary(versions.compactMap { v in v.id.map { ($0, v) } }, uniquingKeysWith: { a, _ in a })
        for v in versions where v.parentId == state.activeVersion && (v.status == .rejected || v.status == .rolledBack) {
            let parent = v.parentId.flatMap { byId[$0] }?.source ?? ""
            attempts.append(Ticket.Attempt(versionId: v.id ?? 0, status: v.status.rawValue, provenance: v.provenance, note: v.note,
                                           diff: LineDiff.unified(parent, v.source, from: "v\(v.parentId ?? 0).loop", to: "v\(v.id ?? 0).loop")))
        }
        let rules = state.sampler.precision.entries(level: task.validation.confidence).map {
            Ticket.RuleStat(rule: $0.rule, validated: $0.count, agreements: $0.agreements, precision: $0.precision)
        }
        let shown = Array(state.failures.suffix(25))
        var t = Ticket(task: task.name, taskPath: task.path, reason: reason, requests: state.requests, activeVersion: state.activeVersion,
                       program: activeProgram.source, failures: shown, analysis: analysis,
                       rules: rules, attempts: attempts, storePath: store.location, streamPath: settings.streamPath,
                       agreement: state.sampler.recent.estimate, oracle: settings.oracle.name)
        t.failuresTotal = state.failures.count
        // What pushed the wrong label, over every kept failure; per failure for the ones shown.
        let all = FailureEvidence.of(program: activeProgram.program, failures: state.failures)
        t.pushes = all.pushes
        t.failureEvidence = Array(all.perFailure.suffix(shown.count))
        return t
    }

    /// The recent validations of the active version (agreements and failures).
    func recentValidations() -> [Validation] {
        state.recentValidations.filter { $0.versionId == state.activeVersion }
    }
}


/// An escalation ticket.
public struct Ticket {
    public struct Attempt { public var versionId: Int64; public var status: String; public var provenance: String; public var note: String?; public var diff: String }
    public struct RuleStat { public var rule: String; public var validated: Int; public var agreements: Int; public var precision: Double }
    public var task: String
    public var taskPath: String
    public var reason: String
    public var requests: Int
    public var activeVersion: Int64
    public var program: String
    public var failures: [Counterexample]
    public var analysis: FailureAnalysis
    public var rules: [RuleStat]
    public var attempts: [Attempt]
    public var storePath: String
    public var streamPath: String
    public var agreement: Double?
    /// The oracle's name (`labels:COLUMN` or `llm:...`), for the resume command.
    public var oracle: String = "llm"
    /// How many failures were kept (the ticket shows the most recent 25 of them).
    public var failuresTotal: Int = 0
    /// What pushed the wrong label, over all kept failures.
    public var pushes: [FailureEvidence.Push] = []
    /// For each shown failure, its strongest pushes.
    public var failureEvidence: [[String]] = []

    /// The analysis's hypotheses, with the per-rule precision from every validation (not only the recent ones).
    public var hypotheses: [String] {
        analysis.hypotheses + rules.filter { $0.validated >= 5 && $0.precision < 0.8 }.map {
            String(format: "%@ is right only %.0f%% of the time (%d/%d validated).", $0.rule, $0.precision * 100, $0.agreements, $0.validated)
        }
    }

    func commands(id: Int64?) -> [String] {
        let ref = id.map(String.init) ?? "ID"
        return [
            "loopai escalations show \(ref) --store \(storePath)",
            "loopai test ESC-\(ref).program.loop --data ESC-\(ref).failures.jsonl   # the failing inputs with the oracle's labels",
            "loopai run ESC-\(ref).program.loop --input ESC-\(ref).failures.jsonl   # each answer with what decided it",
        ] + (streamPath == "serve" ? [
            "loopai escalations resolve \(ref) --program FIXED.loop --store \(storePath) --dry-run   # the comparison, nothing changed",
            "# while loopai serve runs, resolve through it (the body: {\"program\": \"...FIXED.loop's text...\"}):",
            "curl -X POST -H \"Authorization: Bearer $LOOPAI_ADMIN_TOKEN\" -H 'Content-Type: application/json' --data @fixed.json http://127.0.0.1:8080/v1/tasks/\(task)/escalations/\(ref)/resolve",
        ] : [
            "loopai escalations resolve \(ref) --program FIXED.loop --store \(storePath)",
            "loopai loop --task \(taskPath) --stream \(streamPath) --store \(storePath)" + (oracle.hasPrefix("labels:") ? " --oracle \(oracle)" : "") + " --resume",
        ])
    }

    public func markdown(id: Int64?) -> String {
        var s = "# Escalation\(id.map { " \($0)" } ?? ""): \(task)\n\n**Why:** \(reason)\n\n"
        s += "At request \(requests); active version v\(activeVersion)"
        if let a = agreement { s += String(format: "; recent agreement %.1f%%", a * 100) }
        s += ".\n\n## Hypotheses\n\n" + hypotheses.map { "- \($0)" }.joined(separator: "\n") + "\n"
        let total = max(failuresTotal, failures.count)
        s += "\n## Failing examples (" + (total > failures.count ? "the \(failures.count) most recent of \(total); all \(total) are in the store" : "\(failures.count)")
        s += ")\n\n| input | program | oracle | decided by | pushed by |\n|---|---|---|---|---|\n"
        for (i, f) in failures.enumerated() {
            let text = JSONWriter.string(f.input).replacingOccurrences(of: "|", with: "\\|")
            let pushed = i < failureEvidence.count ? failureEvidence[i].joined(separator: "; ").replacingOccurrences(of: "|", with: "\\|") : ""
            s += "| \(text.prefix(160)) | \(f.programLabel) | \(f.expected) | \(f.decidedBy ?? "") | \(pushed) |\n"
        }
        if !pushes.isEmpty {
            s += "\n## What pushed the wrong label (over the \(total) failures)\n\n| evidence | toward | failures | total weight |\n|---|---|---|---|\n"
            for p in pushes {
                s += "| \(p.evidence.replacingOccurrences(of: "|", with: "\\|")) | \(p.toward) | \(p.failures) | \(Formatter.formatNumber((p.weight * 1000).rounded() / 1000)) |\n"
            }
        }
        if !analysis.pairs.isEmpty {
            s += "\n## Confusions\n\n" + analysis.pairs.map { "- program \($0.program), oracle \($0.oracle): \($0.count)" }.joined(separator: "\n") + "\n"
        }
        if !analysis.words.isEmpty {
            s += "\n## Words over-represented among failures\n\n" + analysis.words.map { "- “\($0.word)”: in \($0.inFailures) failure(s)" }.joined(separator: "\n") + "\n"
        }
        if !rules.isEmpty {
            s += "\n## Per-rule statistics (importance-weighted)\n\n| decided by | validated | agreed | precision |\n|---|---|---|---|\n"
            for r in rules { s += String(format: "| %@ | %d | %d | %.1f%% |\n", r.rule, r.validated, r.agreements, r.precision * 100) }
        }
        s += "\n## Attempts (\(attempts.count))\n"
        for a in attempts {
            s += "\n### v\(a.versionId): \(a.status)\n\n\(a.provenance)\(a.note.map { "\n\nWhy: \($0)" } ?? "")\n\n```diff\n\(a.diff)```\n"
        }
        s += "\n## Reproduce and resolve\n\n```sh\n" + commands(id: id).joined(separator: "\n") + "\n```\n"
        s += "\n## The active program (v\(activeVersion))\n\n```loop\n\(program)\n```\n"
        return s
    }

    public func json(id: Int64?) -> String {
        let failuresJSON: [JSON] = failures.enumerated().map { i, f in
            JSON.object([("input", f.input), ("program", JSON(f.programLabel)), ("oracle", JSON(f.expected)), ("decided_by", JSON(f.decidedBy ?? "")),
                         ("pushed_by", .array((i < failureEvidence.count ? failureEvidence[i] : []).map { JSON($0) }))])
        }
        let pushesJSON: [JSON] = pushes.map { p in
            JSON.object([("evidence", JSON(p.evidence)), ("toward", JSON(p.toward)), ("failures", .number(Double(p.failures))), ("weight", .number(p.weight))])
        }
        let confusions: [JSON] = analysis.pairs.map { p in
            JSON.object([("program", JSON(p.program)), ("oracle", JSON(p.oracle)), ("count", JSON.number(Double(p.count)))])
        }
        let words: [JSON] = analysis.words.map { w in
            JSON.object([("word", JSON(w.word)), ("failures", JSON.number(Double(w.inFailures))), ("agreements", JSON.number(Double(w.inAgreements)))])
        }
        let ruleStats: [JSON] = rules.map { r in
            JSON.object([("rule", JSON(r.rule)), ("validated", JSON.number(Double(r.validated))), ("precision", JSON.number(r.precision))])
        }
        let attemptsJSON: [JSON] = attempts.map { a in
            JSON.object([("version", JSON.number(Double(a.versionId))), ("status", JSON(a.status)), ("provenance", JSON(a.provenance)), ("diff", JSON(a.diff))])
        }
        var fields: [(String, JSON)] = []
        fields.append(("id", id.map { JSON.number(Double($0)) } ?? JSON.null))
        fields.append(("task", JSON(task)))
        fields.append(("reason", JSON(reason)))
        fields.append(("requests", JSON.number(Double(requests))))
        fields.append(("active_version", JSON.number(Double(activeVersion))))
        fields.append(("agreement", agreement.map { JSON.number($0) } ?? JSON.null))
        fields.append(("hypotheses", JSON.array(hypotheses.map { JSON($0) })))
        fields.append(("failures", JSON.array(failuresJSON)))
        fields.append(("failures_total", .number(Double(max(failuresTotal, failures.count)))))
        fields.append(("pushes", JSON.array(pushesJSON)))
        fields.append(("confusions", JSON.array(confusions)))
        fields.append(("words", JSON.array(words)))
        fields.append(("rules", JSON.array(ruleStats)))
        fields.append(("attempts", JSON.array(attemptsJSON)))
        fields.append(("commands", JSON.array(commands(id: id).map { JSON($0) })))
        fields.append(("program", JSON(program)))
        return JSONWriter.string(.object(fields))
    }
}

public enum EscalationFiles {
    public static func write(_ t: Ticket, id: Int64, directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = directory + "/ESC-\(id)"
        try t.markdown(id: id).write(toFile: base + ".md", atomically: true, encoding: .utf8)
        try t.json(id: id).write(toFile: base + ".json", atomically: true, encoding: .utf8)
        try t.program.write(toFile: base + ".program.loop", atomically: true, encoding: .utf8)
        // Each line is an input with the oracle's `label` (so `loopai test --data` and `loopai run
        // --input` read it as it is) and, under `program` (a keyword, so never an input field),
        // the program's answer, what decided it and what pushed it.
        let lines = t.failures.enumerated().map { i, f -> String in
            var fields: [(String, JSON)] = []
            if case .object(let kv) = f.input { fields = kv } else { fields = [("text", f.input)] }
            fields.append(("label", JSON(f.expected)))
            fields.append(("program", .object([("label", JSON(f.programLabel)), ("decided_by", JSON(f.decidedBy ?? "")),
                                               ("pushed_by", .array((i < t.failureEvidence.count ? t.failureEvidence[i] : []).map { JSON($0) }))])))
            return JSONWriter.string(.object(fields))
        }
        try (lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).write(toFile: base + ".failures.jsonl", atomically: true, encoding: .utf8)
    }

    /// POSTs a Slack-compatible `{"text": ...}` (plus the ticket's fields) through the project's
    /// HTTP client. A failure is logged, never fatal: the ticket is already stored.
    public static func notify(_ url: String, ticket t: Ticket, id: Int64, http: HTTPClient.Configuration, log: ((String) -> Void)?) {
        let text = "Loopai escalation \(id) for task \(t.task): \(t.reason)\n" + t.hypotheses.prefix(2).joined(separator: "\n")
            + "\nResolve: loopai escalations resolve \(id) --program FIXED.loop --store \(t.storePath)"
        let body = JSONWriter.string(.object([("text", JSON(text)), ("escalation", .number(Double(id))), ("task", JSON(t.task)), ("reason", JSON(t.reason))]))
        do {
            let r = try HTTPClient(configuration: http).send(.postJSON(url, json: body))
            if !(200..<300).contains(r.status) { log?("webhook answered HTTP \(r.status)") }
        } catch { log?("webhook failed: \(error)") }
    }
}

/// A small line diff (longest common subsequence) in unified style, for tickets and history.
public enum LineDiff {
    public static func unified(_ a: String, _ b: String, from: String, to: String) -> String {
        let x = a.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let y = b.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Programs are small; cap the table so a huge pair cannot take quadratic memory.
        guard x.count * y.count <= 4_000_000 else { return "--- \(from)\n+++ \(to)\n(\(x.count) → \(y.count) lines; too large to diff)\n" }
        var lcs = Array(repeating: Array(repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in stride(from: x.count - 1, through: 0, by: -1) {
            for j in stride(from: y.count - 1, through: 0, by: -1) {
                lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var out = "--- \(from)\n+++ \(to)\n"
        var i = 0, j = 0
        while i < x.count || j < y.count {
            if i < x.count && j < y.count && x[i] == y[j] { i += 1; j += 1 }
            else if j < y.count && (i == x.count || lcs[i][j + 1] >= lcs[i + 1][j]) { out += "+\(y[j])\n"; j += 1 }
            else { out += "-\(x[i])\n"; i += 1 }
        }
        return out
    }
}
