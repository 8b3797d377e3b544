import Foundation
import XCTest
import LoopData

final class CLITests: XCTestCase {
    func testCheckExitCodes() throws {
        let dir = try CLI.tempDir([
            "good.loop": CLI.spam,
            "bad.loop": CLI.spam.replacingOccurrences(of: "=> spam confidence", with: "=> spma confidence"),
            "warn.loop": CLI.spam.replacingOccurrences(of: "let msg", with: "let unused = 1\nlet msg"),
        ])
        XCTAssertEqual(try CLI.run(["check", "good.loop"], cwd: dir).status, 0)
        let bad = try CLI.run(["check", "bad.loop"], cwd: dir)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("bad.loop:10:"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("error[E0302]: unknown label `spma`"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("did you mean `spam`?"), bad.stderr)
        XCTAssertEqual(try CLI.run(["check", "warn.loop"], cwd: dir).status, 0)
        XCTAssertEqual(try CLI.run(["check", "--werror", "warn.loop"], cwd: dir).status, 1)
        XCTAssertEqual(try CLI.run(["check", "missing.loop"], cwd: dir).status, 2)
        XCTAssertEqual(try CLI.run(["check", "--no-such-flag", "good.loop"], cwd: dir).status, 2)
        XCTAssertEqual(try CLI.run(["check", "-"], stdin: CLI.spam).status, 0)
    }

    func testCheckJSONAndSARIF() throws {
        let dir = try CLI.tempDir(["bad.loop": CLI.spam.replacingOccurrences(of: "lower(text)", with: "lowr(text)")])
        let j = try CLI.run(["check", "--format", "json", "bad.loop"], cwd: dir)
        XCTAssertEqual(j.status, 1)
        let doc = try JSONParser.parse(j.stdout)
        XCTAssertEqual(doc["errors"]?.number, 1)
        let d = doc["diagnostics"]?.array?.first
        XCTAssertEqual(d?["code"]?.string, "E0303")
        XCTAssertEqual(d?["range"]?["start"]?["line"]?.number, 8)
        XCTAssertEqual(d?["fixes"]?.array?.first?["replacement"]?.string, "lower")
        let s = try CLI.run(["check", "--format", "sarif", "bad.loop"], cwd: dir)
        let sarif = try JSONParser.parse(s.stdout)
        XCTAssertEqual(sarif["version"]?.string, "2.1.0")
        XCTAssertEqual(sarif["runs"]?.array?.first?["results"]?.array?.first?["ruleId"]?.string, "E0303")
    }

    func testRunJSONLWithBadRecords() throws {
        let dir = try CLI.tempDir(["p.loop": CLI.spam,
                                   "in.jsonl": "{\"text\":\"You are a WINNER! claim your prize\"}\n\"hello there\"\n{\"body\":\"x\"}\nnot json\n{\"text\":\"call 09061701461\"}\n"])
        let r = try CLI.run(["run", "p.loop", "--input", "in.jsonl"], cwd: dir)
        XCTAssertEqual(r.status, 1)
        let lines = r.stdout.split(separator: "\n").map { try! JSONParser.parse(String($0)) }
        XCTAssertEqual(lines.count, 5)
        XCTAssertEqual(lines[0]["label"]?.string, "spam")
        XCTAssertEqual(lines[0]["decided_by"]?.string, "score")
        XCTAssertEqual(lines[1]["label"]?.string, "ham")
        XCTAssertEqual(lines[2]["line"]?.number, 3)
        XCTAssertEqual(lines[2]["error"]?.string, "missing field `text`")
        XCTAssertTrue(lines[3]["error"]?.string?.hasPrefix("invalid JSON") ?? false)
        XCTAssertEqual(lines[4]["decided_by"]?.string, "rule:premium_number")
        XCTAssertEqual(lines[4]["confidence"]?.number, 0.99)
    }

    func testRunCSVColumnAndLines() throws {
        let dir = try CLI.tempDir(["p.loop": CLI.spam, "in.csv": "id,message\n1,\"a prize, for you\"\n2,\"multi\nline\"\n"])
        let r = try CLI.run(["run", "p.loop", "--input", "in.csv", "--column", "message"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map { try! JSONParser.parse(String($0)) }
        XCTAssertEqual(lines.map { $0["line"]?.number }, [2, 3])
        XCTAssertEqual(lines[0]["label"]?.string, "spam")
        let plain = try CLI.run(["run", "p.loop"], stdin: "prize!\nlunch?\n", cwd: dir)
        XCTAssertEqual(plain.stdout.split(separator: "\n").count, 2)
    }

    func testTestCommandGate() throws {
        var data = ""
        for (t, l) in [("winner prize", "spam"), ("lunch", "ham"), ("claim now", "spam"), ("hello", "ham"), ("free stuff", "spam")] {
            data += "{\"text\":\"\(t)\",\"label\":\"\(l)\"}\n"
        }
        let dir = try CLI.tempDir(["p.loop": CLI.spam, "d.jsonl": data])
        let r = try CLI.run(["test", "p.loop", "--data", "d.jsonl", "--format", "json"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try JSONParser.parse(r.stdout)
        XCTAssertEqual(j["accuracy"]?.number, 0.8)
        XCTAssertEqual(j["tests"]?["passed"]?.number, 2)
        XCTAssertEqual(try CLI.run(["test", "p.loop", "--data", "d.jsonl", "--min-accuracy", "0.9"], cwd: dir).status, 1)
        XCTAssertEqual(try CLI.run(["test", "p.loop", "--data", "d.jsonl", "--min-accuracy", "0.8"], cwd: dir).status, 0)
        let text = try CLI.run(["test", "p.loop", "--data", "d.jsonl"], cwd: dir).stdout
        XCTAssertTrue(text.contains("accuracy 80.00% (4/5)"), text)
        XCTAssertTrue(text.contains("confusion"), text)
        let failing = try CLI.tempDir(["p.loop": CLI.spam.replacingOccurrences(of: "lunch?\" => ham", with: "lunch?\" => spam")])
        XCTAssertEqual(try CLI.run(["test", "p.loop"], cwd: failing).status, 1)
    }

    func testFmtCheckAndRewrite() throws {
        let messy = "program p\ninput text:text\nlabels a,b\notherwise=>a\n"
        let dir = try CLI.tempDir(["m.loop": messy])
        XCTAssertEqual(try CLI.run(["fmt", "--check", "m.loop"], cwd: dir).status, 1)
        XCTAssertEqual(try CLI.run(["fmt", "m.loop"], cwd: dir).status, 0)
        XCTAssertEqual(try CLI.run(["fmt", "--check", "m.loop"], cwd: dir).status, 0)
        let formatted = try String(contentsOf: dir.appendingPathComponent("m.loop"), encoding: .utf8)
        XCTAssertEqual(formatted, "program p\n\ninput text: text\nlabels a, b\n\notherwise => a\n")
        let broken = try CLI.tempDir(["b.loop": "program p\nrule"])
        XCTAssertEqual(try CLI.run(["fmt", "b.loop"], cwd: broken).status, 1)
        XCTAssertEqual(try CLI.run(["fmt", "missing.loop"], cwd: broken).status, 2)
        XCTAssertEqual(try String(contentsOf: broken.appendingPathComponent("b.loop"), encoding: .utf8), "program p\nrule", "a file that does not parse is never rewritten")
    }

    func testExplainAndDump() throws {
        let dir = try CLI.tempDir(["p.loop": CLI.spam])
        let e = try CLI.run(["explain", "p.loop", "You WON a prize!!"], cwd: dir)
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("premium_number"), e.stdout)
        XCTAssertTrue(e.stdout.contains("answer: spam"), e.stdout)
        for stage in ["tokens", "ast", "typed"] {
            let d = try CLI.run(["dump", stage, "p.loop"], cwd: dir)
            XCTAssertEqual(d.status, 0, d.stderr)
            XCTAssertFalse(d.stdout.isEmpty)
        }
        XCTAssertTrue(try CLI.run(["dump", "typed", "p.loop"], cwd: dir).stdout.contains("rule#0 premium_number"))
    }

    /// A `sum_words` total is broken down into the words found, each with its count and weight,
    /// in text and JSON, largest contribution first; the parts add up to the total.
    func testExplainShowsEachTableWordBehindASum() throws {
        let prog = """
        program s
        input text: text
        labels positive, negative
        let msg = lower(text)
        const praise = {"good": 1, "great": 1.5, "not bad": 0.5}
        const complaint = {"bad": 1.5, "not good": 2.5, "slow": 1}
        score positive { sum_words(msg, praise) }
        score negative { sum_words(msg, complaint) + sum_words(msg, {"cold": 0.25}) }
        otherwise => positive

        """
        let dir = try CLI.tempDir(["s.loop": prog])
        let input = "Not good: bad service, bad and slow food, COLD coffee, but a great view"
        let e = try CLI.run(["explain", "s.loop", input], cwd: dir)
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("""
              + negative: sum_words(msg, complaint) + sum_words(msg, {"cold": 0.25})   = 6.75
                  "bad" ×2 × 1.5 = 3
                  "not good" ×1 × 2.5 = 2.5
                  "slow" ×1 × 1 = 1
                  "cold" ×1 × 0.25 = 0.25
            """), e.stdout)
        // Each table is scanned on its own: "good" counts for praise although "not good" is a complaint.
        XCTAssertTrue(e.stdout.contains("  + positive: sum_words(msg, praise)   = 2.5\n      \"great\" ×1 × 1.5 = 1.5\n      \"good\" ×1 × 1 = 1\n"), e.stdout)
        let j = try JSONParser.parse(try CLI.run(["explain", "s.loop", input, "--json"], cwd: dir).stdout)
        let terms = try XCTUnwrap(j["terms"]?.array)
        for t in terms {
            let words = try XCTUnwrap(t["words"]?.array)
            let sum = words.reduce(0.0) { $0 + ($1["contribution"]?.number ?? .nan) }
            XCTAssertEqual(sum, t["value"]?.number ?? -1, accuracy: 1e-12, "\(t)")
            for w in words { XCTAssertEqual(w["contribution"]?.number, (w["count"]?.number ?? 0) * (w["weight"]?.number ?? 0)) }
        }
        XCTAssertEqual(terms.last?["words"]?.array?.first?["word"]?.string, "bad")

        // Through a function: std.text's sum_words_negating, as `generate --negation` writes it.
        let neg = "program n\ninput text: text\nlabels positive, negative\nuse std.text\nlet msg = lower(text)\n"
            + "score positive { sum_words_negating(msg, {\"good\": 1, \"great\": 2}) }\notherwise => negative\n"
        let d2 = try CLI.tempDir(["n.loop": neg])
        let n = try CLI.run(["explain", "n.loop", "Not good, but great"], cwd: d2)
        XCTAssertEqual(n.status, 0, n.stderr)
        XCTAssertTrue(n.stdout.contains("      \"great\" ×1 × 2 = 2\n      not \"good\" ×1 × -1 = -1   (negated)\n"), n.stdout)
    }
}

final class CLIInputTests: XCTestCase {
    func testBareJSONNumbersForANumberInput() throws {
        let prog = "program n\ninput n: number\nlabels big, small\nrule r when n > 10 => big\notherwise => small\n"
        let dir = try CLI.tempDir(["n.loop": prog, "in.jsonl": "42\n\"3\"\n{\"n\": 11}\ntrue\n"])
        let r = try CLI.run(["run", "n.loop", "--input", "in.jsonl"], cwd: dir)
        let lines = r.stdout.split(separator: "\n").map { try! JSONParser.parse(String($0)) }
        XCTAssertEqual(lines.map { $0["label"]?.string }, ["big", "small", "big", nil])
        XCTAssertEqual(lines[3]["error"]?.string, "expected a JSON object or string, found a boolean")
        XCTAssertEqual(r.status, 1)
    }

    func testExplainTakesTheArgumentAsText() throws {
        let dir = try CLI.tempDir(["p.loop": CLI.spam])
        let e = try CLI.run(["explain", "p.loop", "{\"text\": \"prize\"}"], cwd: dir)
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("answer: spam"), "the JSON-looking text is classified as text (it contains `prize`): \(e.stdout)")
    }
}

final class EngineFallbackTests: XCTestCase {
    /// 300 distinct 12-letter keywords need more automaton states than a budget of 500 allows.
    func testTooLargeProgramsFallBackToTheInterpreterUnlessJITWasAsked() throws {
        var r = UInt64(7)
        func letter() -> Character { r = r &* 6364136223846793005 &+ 1442695040888963407; return Character(Unicode.Scalar(UInt8(97 + (r >> 33) % 26))) }
        let words = (0..<300).map { _ in String((0..<12).map { _ in letter() }) }
        let prog = "program big\ninput text: text\nlabels a, b\nconst k = [" + words.map { "\"\($0)\"" }.joined(separator: ", ")
            + "]\nrule r when contains_any(text, k) => a\notherwise => b\n"
        let dir = try CLI.tempDir(["big.loop": prog, "in.txt": "nothing here\n\(words[42]) inside\n"])
        setenv("LOOPAI_AUTOMATON_BUDGET", "500", 1)
        defer { unsetenv("LOOPAI_AUTOMATON_BUDGET") }
        let auto = try CLI.run(["run", "big.loop", "--input", "in.txt"], cwd: dir)
        XCTAssertEqual(auto.status, 0, auto.stderr)
        XCTAssertTrue(auto.stderr.contains("warning: big.loop runs in the interpreter"), auto.stderr)
        XCTAssertEqual(auto.stdout.split(separator: "\n").compactMap { try? JSONParser.parse(String($0))["label"]?.string }, ["b", "a"])
        let forced = try CLI.run(["run", "--engine", "jit", "big.loop", "--input", "in.txt"], cwd: dir)
        XCTAssertEqual(forced.status, 1)
        XCTAssertTrue(forced.stderr.contains("too large to compile"), forced.stderr)
    }
}

final class GenerateTests: XCTestCase {
    /// The offline inducer writes a program that checks, passes its own tests and holds up on
    /// the part of the SMS collection it did not see.
    func testInduceFromTheSMSCollection() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = try CLI.tempDir([:])
        let out = dir.appendingPathComponent("sms.loop").path
        let g = try CLI.run(["generate", "--generator", "induce", "--data", root.appendingPathComponent("Examples/sms_spam/data.jsonl").path,
                             "--train-fraction", "0.1", "--name", "sms_induced", "-o", out])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stderr.contains("held-out accuracy 9"), g.stderr)
        XCTAssertTrue(g.stderr.contains("by 5-fold cross-validation of 32 candidates"), g.stderr)
        // The words per label, chosen on the same folds, with the size/accuracy curve.
        XCTAssertTrue(g.stderr.contains(" words per label (") && g.stderr.contains("300 → "), g.stderr)
        XCTAssertEqual(try CLI.run(["check", "--werror", out]).status, 0)
        let t = try CLI.run(["test", out, "--data", root.appendingPathComponent("Examples/sms_spam/data.jsonl").path, "--format", "json"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertGreaterThan(try JSONParser.parse(t.stdout)["accuracy"]?.number ?? 0, 0.96)
        XCTAssertEqual(try CLI.run(["generate", "--data", "missing.jsonl", "-o", out]).status, 2)
        // Given flags are not searched; --folds 0 keeps the fixed strength.
        let fixed = try CLI.run(["generate", "--generator", "induce", "--data", root.appendingPathComponent("Examples/sms_spam/data.jsonl").path,
                                 "--train-fraction", "0.1", "--no-negation", "--balanced", "--naive-bayes", "off", "-o", out])
        XCTAssertTrue(fixed.stderr.contains(", balanced ("), fixed.stderr)
        XCTAssertTrue(fixed.stderr.contains(" by 5-fold cross-validation of 4 candidates"), fixed.stderr)
        let off = try CLI.run(["generate", "--generator", "induce", "--data", root.appendingPathComponent("Examples/sms_spam/data.jsonl").path,
                               "--train-fraction", "0.1", "--folds", "0", "-o", out])
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertFalse(off.stderr.contains("cross-validation"), off.stderr)
        XCTAssertFalse(try String(contentsOfFile: out, encoding: .utf8).contains("cross-validation"))
        XCTAssertEqual(try CLI.run(["generate", "--generator", "induce", "--data", "x.jsonl", "--folds=-1", "-o", out]).status, 2)
    }
}

final class DoctorTests: XCTestCase {
    func env(_ extra: [String: String]) -> [String: String] {
        var e = ProcessInfo.processInfo.environment
        for k in e.keys where k.hasPrefix("OPENAI_") || k.hasPrefix("ANTHROPIC_") || k.hasPrefix("AZURE_OPENAI_") { e[k] = nil }
        e["NO_PROXY"] = "127.0.0.1,localhost"
        for (k, v) in extra { e[k] = v }
        return e
    }

    func testNoProviderConfigured() throws {
        let r = try CLI.run(["doctor"], environment: env([:]))
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("no LLM provider is configured"), r.stdout)
    }

    /// A provider that does not answer (nothing listens on 127.0.0.1:9) fails the check, and the
    /// key appears nowhere in the output.
    func testUnreachableProviderFailsWithoutLeakingTheKey() throws {
        let r = try CLI.run(["doctor"], environment: env(["OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-doctor-SECRET-123"]))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("openai: http://127.0.0.1:9/v1/chat/completions  key: set (OPENAI_API_KEY)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("does not answer"), r.stdout)
        XCTAssertFalse((r.stdout + r.stderr).contains("sk-doctor-SECRET-123"))
        let listed = try CLI.run(["doctor", "--no-check"], environment: env(["OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-doctor-SECRET-123"]))
        XCTAssertEqual(listed.status, 0)
    }

    func testKeyFileReadableByOthersIsRefused() throws {
        let dir = try CLI.tempDir(["key": "sk-file-SECRET\n"])
        let path = dir.appendingPathComponent("key").path
        chmod(path, 0o644)
        let r = try CLI.run(["doctor", "--no-check"], environment: env(["ANTHROPIC_API_KEY_FILE": path]))
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(path), r.stderr)
        XCTAssertFalse((r.stdout + r.stderr).contains("sk-file-SECRET"))
        chmod(path, 0o600)
        let ok = try CLI.run(["doctor", "--no-check"], environment: env(["ANTHROPIC_API_KEY_FILE": path]))
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("key: from file \(path) (ANTHROPIC_API_KEY_FILE)"), ok.stdout)
    }
}
