import Foundation
import XCTest
import LoopSema

/// The golden diagnostics corpus: `Tests/Corpus/diagnostics/NAME.loop` is checked and its sorted
/// diagnostics, rendered as `loopai check` prints them (no color), must equal `NAME.expected`.
/// A directory `NAME.stdlib/` next to a case replaces the Stdlib for that case (like
/// `LOOPAI_STDLIB=diagnostics/NAME.stdlib`), so module diagnostics can be exercised too.
///
/// Regenerate every `.expected` file after a deliberate change with
/// `LOOPAI_UPDATE_GOLDEN=1 swift test --filter GoldenDiagnosticsTests`, then review the diff.
final class GoldenDiagnosticsTests: XCTestCase {

    // MARK: locations

    /// The repository root, derived from this file's path (`Tests/LoopSemaTests/…`).
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let corpusRoot = repoRoot.appendingPathComponent("Tests/Corpus")
    static let corpusDir = corpusRoot.appendingPathComponent("diagnostics")
    static let docsFile = repoRoot.appendingPathComponent("Docs/diagnostics.md")

    static var updating: Bool { ProcessInfo.processInfo.environment["LOOPAI_UPDATE_GOLDEN"] == "1" }

    // MARK: running a case

    struct Case {
        let name: String
        /// The name diagnostics show: `diagnostics/NAME.loop`, independent of where the repository lives.
        var displayName: String { "diagnostics/\(name).loop" }
        var sourceURL: URL { GoldenDiagnosticsTests.corpusDir.appendingPathComponent("\(name).loop") }
        var expectedURL: URL { GoldenDiagnosticsTests.corpusDir.appendingPathComponent("\(name).expected") }
        var stdlibURL: URL { GoldenDiagnosticsTests.corpusDir.appendingPathComponent("\(name).stdlib") }
    }

    static func allCases() throws -> [Case] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpusDir.path)
        return names.filter { $0.hasSuffix(".loop") }.map { Case(name: String($0.dropLast(5))) }.sorted { $0.name < $1.name }
    }

    static func stdlib(for c: Case) -> Stdlib {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: c.stdlibURL.path, isDirectory: &isDir), isDir.boolValue else { return .embedded }
        var modules: [String: String] = [:]
        let base = c.stdlibURL.path
        if let e = FileManager.default.enumerator(atPath: base) {
            for case let p as String in e where p.hasSuffix(".loop") {
                let name = String(p.dropLast(5)).replacingOccurrences(of: "/", with: ".")
                modules[name] = try? String(contentsOfFile: base + "/" + p, encoding: .utf8)
            }
        }
        return Stdlib(modules: modules, displayPrefix: "diagnostics/\(c.name).stdlib/")
    }

    static func source(_ c: Case) throws -> SourceFile {
        SourceFile(name: c.displayName, bytes: Array(try Data(contentsOf: c.sourceURL)))
    }

    /// Checks a case the way `loopai check` does and returns the sorted diagnostics.
    static func diagnostics(_ c: Case) throws -> [Diagnostic] {
        let (_, ds) = Checker.checkSource(try source(c), stdlib: stdlib(for: c))
        return sorted(ds)
    }

    static func sorted(_ ds: [Diagnostic]) -> [Diagnostic] {
        let bag = DiagnosticBag()
        bag.add(contentsOf: ds)
        return bag.sorted
    }

    static func render(_ ds: [Diagnostic]) -> String { TextRenderer(color: false).render(ds) }

    static func expected(_ c: Case) throws -> String {
        String(decoding: try Data(contentsOf: c.expectedURL), as: UTF8.self)
    }

    // MARK: the golden comparison

    func testCorpusMatchesExpectedOutput() throws {
        let cases = try Self.allCases()
        XCTAssertGreaterThan(cases.count, 50, "the corpus went missing")
        var failures: [String] = []
        for c in cases {
            let actual = Self.render(try Self.diagnostics(c))
            if Self.updating {
                try Data(actual.utf8).write(to: c.expectedURL)
                continue
            }
            guard FileManager.default.fileExists(atPath: c.expectedURL.path) else {
                failures.append("\(c.name): no \(c.name).expected (run with LOOPAI_UPDATE_GOLDEN=1 to create it)")
                continue
            }
            let expected = try Self.expected(c)
            if actual != expected {
                failures.append("\(c.name): output differs from \(c.name).expected (- expected, + actual):\n" + lineDiff(expected, actual))
            }
        }
        XCTAssert(failures.isEmpty, "\n" + failures.joined(separator: "\n\n")
                  + "\n\nIf the change is intended, regenerate with LOOPAI_UPDATE_GOLDEN=1 and review the diff.")
    }

    func testEveryExpectedFileHasItsProgram() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpusDir.path)
        let programs = Set(names.filter { $0.hasSuffix(".loop") }.map { String($0.dropLast(5)) })
        for e in names where e.hasSuffix(".expected") {
            XCTAssert(programs.contains(String(e.dropLast(9))), "\(e) has no matching .loop file")
        }
        for s in names where s.hasSuffix(".stdlib") {
            XCTAssert(programs.contains(String(s.dropLast(7))), "\(s) has no matching .loop file")
        }
    }

    /// Every case is broken on purpose: it reports something, and rendering is stable.
    func testEveryCaseReportsSomethingAndRendersDeterministically() throws {
        for c in try Self.allCases() {
            let ds = try Self.diagnostics(c)
            XCTAssertFalse(ds.isEmpty, "\(c.name) reports nothing; a corpus case must be broken on purpose")
            XCTAssertEqual(Self.render(ds), Self.render(try Self.diagnostics(c)), "\(c.name) renders differently on a second run")
            let file = try Self.source(c)
            for d in ds where d.file === file || d.file?.name == file.name {
                XCTAssertLessThanOrEqual(d.range.start, d.range.end, "\(c.name): \(d.code) has a reversed range")
                XCTAssertLessThanOrEqual(d.range.end, file.bytes.count, "\(c.name): \(d.code) points past the end of the file")
            }
        }
    }

    // MARK: codes: catalog, corpus, sources and documentation agree

    static let codePattern = try! NSRegularExpression(pattern: "\"([EW]0[0-9]{3})\"")

    /// Codes written as string literals anywhere in Sources/ (excluding the catalog itself).
    static func codesInSources() throws -> [String: [String]] {
        var found: [String: [String]] = [:]
        let sources = repoRoot.appendingPathComponent("Sources")
        guard let e = FileManager.default.enumerator(atPath: sources.path) else { return [:] }
        for case let p as String in e where p.hasSuffix(".swift") && !p.hasSuffix("DiagnosticCatalog.swift") {
            let text = try String(contentsOfFile: sources.path + "/" + p, encoding: .utf8)
            let ns = text as NSString
            for m in codePattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
                found[ns.substring(with: m.range(at: 1)), default: []].append(p)
            }
        }
        return found
    }

    static func codesInCorpus() throws -> Set<String> {
        let re = try NSRegularExpression(pattern: "(?:error|warning)\\[([EW]0[0-9]{3})\\]")
        var codes = Set<String>()
        for c in try allCases() where FileManager.default.fileExists(atPath: c.expectedURL.path) {
            let text = try expected(c) as NSString
            for m in re.matches(in: text as String, range: NSRange(location: 0, length: text.length)) {
                codes.insert(text.substring(with: m.range(at: 1)))
            }
        }
        return codes
    }

    static func documentedCodes() throws -> [String] {
        let doc = try String(contentsOf: docsFile, encoding: .utf8)
        // A code section is headed by the bare code, so its anchor is the lowercased code
        // (`Docs/diagnostics.md#e0401`, the helpUri of the SARIF rules).
        return doc.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("## ") else { return nil }
            let word = String(line.dropFirst(3))
            return word.range(of: "^[EW]0[0-9]{3}$", options: .regularExpression) != nil ? word : nil
        }
    }

    func testEveryCatalogCodeAppearsInTheCorpus() throws {
        let inCorpus = try Self.codesInCorpus()
        for code in DiagnosticCatalog.titles.keys.sorted() {
            XCTAssert(inCorpus.contains(code), "\(code) (\(DiagnosticCatalog.titles[code]!)) has no corpus case")
        }
        for code in inCorpus.sorted() {
            XCTAssertNotNil(DiagnosticCatalog.titles[code], "the corpus shows \(code), which is not in DiagnosticCatalog")
        }
    }

    func testEveryCodeInTheSourcesIsCatalogedAndDocumented() throws {
        let inSources = try Self.codesInSources()
        let documented = try Self.documentedCodes()
        XCTAssertGreaterThan(inSources.count, 40, "the scan of Sources/ found too few codes; is the path right?")
        for (code, files) in inSources.sorted(by: { $0.key < $1.key }) {
            XCTAssertNotNil(DiagnosticCatalog.titles[code], "\(code) is used in \(Set(files).sorted()) but missing from DiagnosticCatalog")
            XCTAssert(documented.contains(code), "\(code) is used in \(Set(files).sorted()) but has no `## \(code)` section in Docs/diagnostics.md")
        }
        for code in DiagnosticCatalog.titles.keys.sorted() {
            XCTAssertNotNil(inSources[code], "\(code) is in DiagnosticCatalog but no source file emits it")
        }
    }

    func testDocumentationHasOneSectionPerCodeInOrder() throws {
        let documented = try Self.documentedCodes()
        XCTAssertEqual(documented, DiagnosticCatalog.titles.keys.sorted(),
                       "Docs/diagnostics.md must have exactly one `## CODE` section per catalog code, in code order")
        let doc = try String(contentsOf: Self.docsFile, encoding: .utf8)
        for (code, title) in DiagnosticCatalog.titles {
            let severity = code.hasPrefix("W") ? "warning" : "error"
            XCTAssert(doc.contains("## \(code)\n\n**\(title)** (\(severity))"),
                      "the section of \(code) must start with `## \(code)`, a blank line and `**\(title)** (\(severity))`")
        }
    }

    /// The outputs quoted in the documentation are real: each quoted diagnostic block of a corpus
    /// case is part of that case's .expected file, and each quoted program excerpt is part of its source.
    func testDocumentationExamplesAreCopiedFromTheCorpus() throws {
        let doc = try String(contentsOf: Self.docsFile, encoding: .utf8)
        var blocks: [(info: String, body: String)] = []
        var info: String? = nil
        var body: [Substring] = []
        for line in doc.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                if let i = info { blocks.append((i, body.joined(separator: "\n") + "\n")); info = nil; body = [] }
                else { info = String(line.dropFirst(3)) }
            } else if info != nil {
                body.append(line)
            }
        }
        var checkedOutputs = 0, checkedSources = 0
        let head = try NSRegularExpression(pattern: "^diagnostics/([a-z0-9_]+)\\.(?:loop|stdlib/)")
        for b in blocks {
            let ns = b.body as NSString
            guard let m = head.firstMatch(in: b.body, range: NSRange(location: 0, length: ns.length)) else { continue }
            let name = ns.substring(with: m.range(at: 1))
            let c = Case(name: name)
            XCTAssert(FileManager.default.fileExists(atPath: c.sourceURL.path), "the documentation quotes \(name), which is not a corpus case")
            guard FileManager.default.fileExists(atPath: c.expectedURL.path) else { continue }
            XCTAssert(try Self.expected(c).contains(b.body), "the output quoted for \(name) in Docs/diagnostics.md is not what the tool prints:\n\(b.body)")
            checkedOutputs += 1
        }
        // ```loop blocks headed by `// diagnostics/PATH.loop` are excerpts of that corpus file.
        let sourceHead = try NSRegularExpression(pattern: "^// (diagnostics/[A-Za-z0-9_./]+\\.loop)\\n")
        for b in blocks where b.info == "loop" {
            let ns = b.body as NSString
            guard let m = sourceHead.firstMatch(in: b.body, range: NSRange(location: 0, length: ns.length)) else { continue }
            let path = ns.substring(with: m.range(at: 1))
            let excerpt = ns.substring(from: m.range.length)
            let url = Self.corpusRoot.appendingPathComponent(path)
            guard let data = FileManager.default.contents(atPath: url.path) else { XCTFail("the documentation quotes \(path), which does not exist"); continue }
            XCTAssert(String(decoding: data, as: UTF8.self).contains(excerpt), "the program excerpt quoted from \(path) in Docs/diagnostics.md is not in that file:\n\(excerpt)")
            checkedSources += 1
        }
        XCTAssertGreaterThanOrEqual(checkedOutputs, DiagnosticCatalog.titles.count, "every code section should quote real output")
        XCTAssertGreaterThanOrEqual(checkedSources, DiagnosticCatalog.titles.count, "every code section should quote its program")
    }

    // MARK: recovery

    /// Independent errors in different declarations are each reported once, and nothing else.
    func testIndependentErrorsAreEachReportedOnce() throws {
        let ds = try Self.diagnostics(Case(name: "recovery_independent_errors"))
        let file = try Self.source(Case(name: "recovery_independent_errors"))
        let found = ds.map { "\(file.location(of: $0.range.start).line):\($0.code)" }
        XCTAssertEqual(found, ["12:E0302", "13:E0201", "14:E0303", "19:E0401", "26:E0302"])
        XCTAssert(ds.allSatisfy { $0.severity == .error })
    }

    /// Hostile input never crashes the front end; it yields errors, every one with a cataloged code
    /// and a range inside the file.
    func testHostileInputsAreRejectedWithoutCrashing() {
        var inputs: [(String, [UInt8])] = []
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt8 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: seed >> 56)
        }
        for n in 0..<8 { inputs.append(("random-\(n)", (0..<2000).map { _ in next() })) }
        inputs.append(("elf", [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 64)))
        inputs.append(("utf16", Array("program p".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })))
        let head = "program deep\ninput text: text\nlabels a, b\n"
        inputs.append(("parens", Array((head + "rule r when " + String(repeating: "(", count: 100_000) + "\notherwise => b\n").utf8)))
        inputs.append(("brackets", Array((head + "const w = " + String(repeating: "[", count: 100_000) + "\notherwise => b\n").utf8)))
        inputs.append(("braces", Array((head + "const w = " + String(repeating: "{", count: 100_000) + "\notherwise => b\n").utf8)))
        inputs.append(("calls", Array((head + "let x = " + String(repeating: "len(", count: 50_000) + "text" + "\notherwise => b\n").utf8)))
        inputs.append(("nots", Array((head + "rule r when " + String(repeating: "not ", count: 50_000) + "true => a\notherwise => b\n").utf8)))
        inputs.append(("negations", Array((head + "const n = " + String(repeating: "-", count: 100_000) + "1\notherwise => b\n").utf8)))
        inputs.append(("ifs", Array((head + "let x = " + String(repeating: "if true then 1 else ", count: 20_000) + "0\notherwise => b\n").utf8)))
        inputs.append(("regex groups", Array((head + "rule r when matches(text, /" + String(repeating: "(", count: 50_000) + "a"
                                              + String(repeating: ")", count: 50_000) + "/) => a\notherwise => b\n").utf8)))
        inputs.append(("unterminated", Array((head + "const s = \"" + String(repeating: "x", count: 100_000)).utf8)))
        for (name, bytes) in inputs {
            let file = SourceFile(name: name, bytes: bytes)
            let (program, ds) = Checker.checkSource(file, stdlib: .embedded)
            XCTAssertNil(program, "\(name) must not check")
            XCTAssert(ds.contains { $0.severity == .error }, "\(name) must report an error")
            for d in ds {
                XCTAssertNotNil(DiagnosticCatalog.titles[d.code], "\(name): \(d.code) is not cataloged")
                XCTAssert(d.range.start <= d.range.end && d.range.end <= bytes.count, "\(name): \(d.code) has range \(d.range)")
            }
            _ = Self.render(Self.sorted(ds))
        }
    }

    func testDeepNestingIsE0204() throws {
        for name in ["e0204_deep_parens", "e0204_hostile_nesting"] {
            let ds = try Self.diagnostics(Case(name: name))
            XCTAssertFalse(ds.isEmpty)
            XCTAssert(ds.allSatisfy { $0.code == "E0204" }, "\(name): \(ds.map(\.code))")
        }
    }

    /// A chain of more than `Parser.maxChain` binary operators is one E0204 (not a stack overflow);
    /// a long chain just below the limit is accepted.
    func testLongOperatorChainIsOneE0204() throws {
        let ds = try Self.diagnostics(Case(name: "e0204_long_chain"))
        XCTAssertEqual(ds.map(\.code), ["E0204"], Self.render(ds))
        let head = "program sums\ninput text: text\nlabels long, short\n"
        func chain(_ terms: Int) -> SourceFile {
            // `>` plus `terms - 1` times `+`: `terms` operators in a row.
            SourceFile(name: "chain", text: head + "rule r when len(text) > " + Array(repeating: "1", count: terms).joined(separator: " + ")
                       + " => long\notherwise => short\n")
        }
        let (program, below) = Checker.checkSource(chain(Parser.maxChain), stdlib: .embedded)
        XCTAssertNotNil(program)
        XCTAssert(below.isEmpty, Self.render(Self.sorted(below)))
        let (_, over) = Checker.checkSource(chain(Parser.maxChain + 1), stdlib: .embedded)
        XCTAssertEqual(over.map(\.code), ["E0204"])
    }

    // MARK: foreign syntax, binary files, snippets

    /// Habits from other languages (`#`, quotes, `&&`, `||`, `→`, `!`) are each one E0103 with one
    /// fix and nothing follows from them; applying every fix gives a program without diagnostics.
    func testForeignSyntaxIsOneErrorEachAndTheFixesRepairIt() throws {
        let c = Case(name: "recovery_foreign_syntax")
        let file = try Self.source(c)
        let ds = try Self.diagnostics(c)
        XCTAssertEqual(ds.map { "\(file.location(of: $0.range.start).line):\($0.code)" },
                       ["1:E0103", "7:E0103", "7:E0103", "9:E0103", "10:E0103", "10:E0103", "11:E0103", "11:E0103"], Self.render(ds))
        XCTAssert(ds.allSatisfy { $0.fixes.count == 1 }, Self.render(ds))
        var bytes = file.bytes
        for f in ds.compactMap(\.fixes.first).sorted(by: { $0.range.start > $1.range.start }) { bytes = Self.apply(f, to: bytes) }
        let (program, after) = Checker.checkSource(SourceFile(name: c.displayName, bytes: bytes), stdlib: .embedded)
        XCTAssertNotNil(program, String(decoding: bytes, as: UTF8.self))
        XCTAssert(after.isEmpty, Self.render(Self.sorted(after)) + "\n--- fixed source:\n" + String(decoding: bytes, as: UTF8.self))
    }

    /// A file that is not UTF-8 text gets exactly one E0107, at its first bad byte. The byte checks
    /// also catch an editor that re-encoded a case (see generate_cases.py).
    func testFilesThatAreNotTextAreOneE0107() throws {
        let cases: [(name: String, byte: UInt8)] = [("e0107_latin1_text", 0xE9), ("e0107_nul_byte", 0x00),
                                                    ("e0107_invalid_utf8_in_comment", 0xED), ("e0107_utf16_file", 0xFF)]
        for (name, byte) in cases {
            let c = Case(name: name)
            let bytes = try Self.source(c).bytes
            let ds = try Self.diagnostics(c)
            XCTAssertEqual(ds.map(\.code), ["E0107"], "\(name):\n" + Self.render(ds))
            guard let d = ds.first, d.range.start < bytes.count else { XCTFail("\(name): no E0107 inside the file"); continue }
            XCTAssertEqual(bytes[d.range.start], byte, "\(name): E0107 must point at the byte the case is about")
            XCTAssertEqual(bytes.firstIndex(of: byte), d.range.start, "\(name): E0107 must point at the first bad byte")
        }
    }

    /// After a `use` of a module that does not exist, calls to its functions are not reported again.
    func testAFailedUseIsTheOnlyError() throws {
        let ds = try Self.diagnostics(Case(name: "e0304_unknown_module_then_call"))
        XCTAssertEqual(ds.map(\.code), ["E0304"], Self.render(ds))
    }

    /// In every case, the first `^` of a diagnostic sits under the character its range starts at
    /// (also in the window shown for a long line), snippet lines stay short, and no control
    /// character reaches the output.
    func testSnippetsPointAtTheRangeAndAreSanitised() throws {
        for c in try Self.allCases() {
            let file = try Self.source(c)
            let ds = try Self.diagnostics(c)
            let all = Self.render(ds)
            XCTAssert(all.unicodeScalars.allSatisfy { $0 == "\n" || ($0.value >= 0x20 && $0.value != 0x7F) },
                      "\(c.name): the output contains a control character")
            for d in ds where d.file?.name == file.name {
                let lines = Self.render([d]).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                guard lines.count > 3, let bar = lines[2].range(of: " | ") else { continue }
                let prefix = lines[2].distance(from: lines[2].startIndex, to: bar.upperBound)
                let text = Array(lines[2].unicodeScalars.dropFirst(prefix))
                let marks = Array(lines[3].unicodeScalars.dropFirst(prefix))
                XCTAssertLessThanOrEqual(text.count, 122, "\(c.name) \(d.code): snippet line too long")
                guard d.range.start < file.bytes.count, file.bytes[d.range.start] != UInt8(ascii: "\n"),
                      let caret = marks.firstIndex(of: "^") else { continue }
                let here = String(decoding: file.bytes[d.range.start..<min(file.bytes.count, d.range.start + 4)], as: UTF8.self).unicodeScalars.first!
                let shown: Unicode.Scalar = here == "\t" ? " " : (here.value < 0x20 || here.value == 0x7F) ? "\u{FFFD}" : here
                XCTAssert(caret < text.count && text[caret] == shown,
                          "\(c.name) \(d.code): the caret is not under `\(shown)`:\n\(lines[2])\n\(lines[3])")
            }
        }
    }

    // MARK: JSON

    func testJSONRenderingHasTheDocumentedFields() throws {
        for name in ["recovery_independent_errors", "e0307_duplicate_definition", "w0001_unused_definitions"] {
            let c = Case(name: name)
            let file = try Self.source(c)
            let ds = try Self.diagnostics(c)
            let text = DiagnosticJSON.document(ds)
            let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(name): not a JSON object")
            XCTAssertEqual(root["version"] as? Int, 1)
            XCTAssertEqual(root["errors"] as? Int, ds.filter { $0.severity == .error }.count)
            XCTAssertEqual(root["warnings"] as? Int, ds.filter { $0.severity == .warning }.count)
            let items = try XCTUnwrap(root["diagnostics"] as? [[String: Any]])
            XCTAssertEqual(items.count, ds.count)
            for (o, d) in zip(items, ds) {
                XCTAssertEqual(o["file"] as? String, c.displayName)
                XCTAssertEqual(o["severity"] as? String, d.severity.rawValue)
                XCTAssert(["error", "warning", "note"].contains(o["severity"] as? String ?? ""))
                XCTAssertEqual(o["code"] as? String, d.code)
                XCTAssertEqual(o["message"] as? String, d.message)
                XCTAssertEqual(o["label"] as? String, d.label)
                XCTAssertEqual(o["hints"] as? [String], d.hints)
                try assertRange(o["range"], d.range, in: file, "\(name) \(d.code)")
                let notes = try XCTUnwrap(o["notes"] as? [[String: Any]], "\(name) \(d.code): notes")
                XCTAssertEqual(notes.count, d.notes.count)
                for (n, dn) in zip(notes, d.notes) {
                    XCTAssertEqual(n["message"] as? String, dn.message)
                    XCTAssertEqual(n["file"] as? String, dn.file?.name)
                    if let nf = dn.file { try assertRange(n["range"], dn.range, in: nf, "\(name) \(d.code) note") }
                }
                let fixes = try XCTUnwrap(o["fixes"] as? [[String: Any]], "\(name) \(d.code): fixes")
                XCTAssertEqual(fixes.count, d.fixes.count)
                for (f, df) in zip(fixes, d.fixes) {
                    XCTAssertEqual(f["message"] as? String, df.message)
                    XCTAssertEqual(f["replacement"] as? String, df.replacement)
                    try assertRange(f["range"], df.range, in: file, "\(name) \(d.code) fix")
                }
            }
        }
    }

    func testJSONOfACleanRunIsEmpty() throws {
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(DiagnosticJSON.document([]).utf8)) as? [String: Any])
        XCTAssertEqual(root["version"] as? Int, 1)
        XCTAssertEqual(root["errors"] as? Int, 0)
        XCTAssertEqual(root["warnings"] as? Int, 0)
        XCTAssertEqual((root["diagnostics"] as? [Any])?.count, 0)
    }

    func assertRange(_ value: Any?, _ r: SourceRange, in file: SourceFile, _ what: String) throws {
        let o = try XCTUnwrap(value as? [String: Any], "\(what): range missing")
        for (key, offset) in [("start", r.start), ("end", r.end)] {
            let p = try XCTUnwrap(o[key] as? [String: Any], "\(what): range.\(key) missing")
            let (line, column) = file.location(of: offset)
            XCTAssertEqual(p["offset"] as? Int, offset, "\(what): range.\(key).offset")
            XCTAssertEqual(p["line"] as? Int, line, "\(what): range.\(key).line")
            XCTAssertEqual(p["column"] as? Int, column, "\(what): range.\(key).column")
        }
    }

    // MARK: SARIF

    func testSARIFRenderingIsValid210() throws {
        let c = Case(name: "recovery_independent_errors")
        let ds = try Self.diagnostics(c) + (try Self.diagnostics(Case(name: "w0004_unreachable_rule")))
        let text = DiagnosticSARIF.document(ds, toolVersion: "9.9.9", ruleHelp: DiagnosticCatalog.titles)
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(root["version"] as? String, "2.1.0")
        XCTAssertEqual(root["$schema"] as? String, "https://json.schemastore.org/sarif-2.1.0.json")
        let runs = try XCTUnwrap(root["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.count, 1)
        let driver = try XCTUnwrap((runs[0]["tool"] as? [String: Any])?["driver"] as? [String: Any])
        XCTAssertEqual(driver["name"] as? String, "loopai")
        XCTAssertEqual(driver["version"] as? String, "9.9.9")
        let rules = try XCTUnwrap(driver["rules"] as? [[String: Any]])
        XCTAssertEqual(rules.compactMap { $0["id"] as? String }, Set(ds.map(\.code)).sorted())
        for r in rules {
            let id = try XCTUnwrap(r["id"] as? String)
            XCTAssertEqual((r["shortDescription"] as? [String: Any])?["text"] as? String, DiagnosticCatalog.titles[id])
            XCTAssertEqual(r["helpUri"] as? String, "Docs/diagnostics.md#\(id.lowercased())")
        }
        let results = try XCTUnwrap(runs[0]["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, ds.count)
        for (r, d) in zip(results, ds) {
            XCTAssertEqual(r["ruleId"] as? String, d.code)
            XCTAssertEqual(r["level"] as? String, d.severity == .error ? "error" : "warning")
            let message = try XCTUnwrap((r["message"] as? [String: Any])?["text"] as? String)
            XCTAssert(message.hasPrefix(d.message))
            let locations = try XCTUnwrap(r["locations"] as? [[String: Any]])
            XCTAssertEqual(locations.count, 1)
            let physical = try XCTUnwrap(locations[0]["physicalLocation"] as? [String: Any])
            XCTAssertEqual((physical["artifactLocation"] as? [String: Any])?["uri"] as? String, d.file?.name)
            let region = try XCTUnwrap(physical["region"] as? [String: Any])
            let f = try XCTUnwrap(d.file)
            let (l1, c1) = f.location(of: d.range.start), (l2, c2) = f.location(of: d.range.end)
            XCTAssertEqual(region["startLine"] as? Int, l1)
            XCTAssertEqual(region["startColumn"] as? Int, c1)
            XCTAssertEqual(region["endLine"] as? Int, l2)
            XCTAssertEqual(region["endColumn"] as? Int, c2)
            XCTAssertEqual(region["byteOffset"] as? Int, d.range.start)
            XCTAssertEqual(region["byteLength"] as? Int, d.range.end - d.range.start)
            XCTAssertEqual((r["fixes"] as? [Any])?.count ?? 0, d.fixes.count)
        }
        XCTAssert(results.contains { ($0["level"] as? String) == "warning" }, "the sample should include a warning")
    }

    // MARK: fixes

    static func apply(_ fix: FixIt, to bytes: [UInt8]) -> [UInt8] {
        Array(bytes[..<fix.range.start]) + Array(fix.replacement.utf8) + Array(bytes[fix.range.end...])
    }

    /// Applies the fix named `fixMessage` of the first `code` diagnostic of a case and re-checks:
    /// that diagnostic is gone and nothing new appeared. Returns the re-check's result.
    @discardableResult
    func assertFixWorks(_ name: String, code: String, fixMessage: String, file: StaticString = #filePath, line: UInt = #line) throws -> (TypedProgram?, [Diagnostic]) {
        let c = Case(name: name)
        let source = try Self.source(c)
        let before = try Self.diagnostics(c)
        let d = try XCTUnwrap(before.first { $0.code == code && $0.fixes.contains { $0.message == fixMessage } },
                              "\(name) has no \(code) with fix “\(fixMessage)”", file: file, line: line)
        let fix = d.fixes.first { $0.message == fixMessage }!
        let fixed = SourceFile(name: c.displayName, bytes: Self.apply(fix, to: source.bytes))
        let (program, after) = Checker.checkSource(fixed, stdlib: Self.stdlib(for: c))
        func key(_ x: Diagnostic) -> String { "\(x.code) \(x.message)" }
        var remaining = before.map(key)
        remaining.remove(at: remaining.firstIndex(of: key(d))!)
        var unexplained: [String] = []
        for k in after.map(key) {
            if let i = remaining.firstIndex(of: k) { remaining.remove(at: i) } else { unexplained.append(k) }
        }
        XCTAssertEqual(after.filter { key($0) == key(d) }.count, before.filter { key($0) == key(d) }.count - 1,
                       "\(name): the fix “\(fixMessage)” did not remove \(code)", file: file, line: line)
        XCTAssert(unexplained.isEmpty, "\(name): the fix “\(fixMessage)” introduced \(unexplained)\n--- fixed source:\n\(String(decoding: fixed.bytes, as: UTF8.self))",
                  file: file, line: line)
        return (program, after)
    }

    func testLabelSuggestionFixRepairsTheProgram() throws {
        let (program, after) = try assertFixWorks("e0302_unknown_label_suggestion", code: "E0302", fixMessage: "replace `spma` with `spam`")
        XCTAssertNotNil(program)
        XCTAssert(after.isEmpty, "\(after.map(\.code))")
    }

    func testMissingOtherwiseFixRepairsTheProgram() throws {
        let (program, after) = try assertFixWorks("e0608_missing_otherwise", code: "E0608", fixMessage: "answer `spam` by default")
        XCTAssertNotNil(program)
        XCTAssert(after.isEmpty, "\(after.map(\.code))")
    }

    func testSemicolonRemovalRepairsTheProgram() throws {
        let (program, after) = try assertFixWorks("e0103_semicolon", code: "E0103", fixMessage: "remove the semicolon")
        XCTAssertNotNil(program)
        XCTAssert(after.isEmpty, "\(after.map(\.code))")
    }

    func testUnknownFunctionSuggestionFixes() throws {
        try assertFixWorks("e0303_unknown_function_suggestion", code: "E0303", fixMessage: "replace `contain` with `contains`")
        try assertFixWorks("e0303_unknown_function_suggestion", code: "E0303", fixMessage: "replace `lowercase` with `lower`")
        try assertFixWorks("recovery_independent_errors", code: "E0303", fixMessage: "replace `lenght` with `len`")
    }

    func testOtherMachineApplicableFixes() throws {
        try assertFixWorks("e0301_unknown_name_suggestion", code: "E0301", fixMessage: "replace `mgs` with `msg`")
        try assertFixWorks("e0201_missing_fat_arrow", code: "E0201", fixMessage: "write `=>`")
        try assertFixWorks("e0201_assign_in_condition", code: "E0201", fixMessage: "compare with `==`")
        try assertFixWorks("e0201_missing_paren", code: "E0201", fixMessage: "insert `)`")
        try assertFixWorks("e0202_misspelled_keyword", code: "E0202", fixMessage: "replace `lables` with `labels`")
        try assertFixWorks("e0101_unterminated_text", code: "E0101", fixMessage: "close the text")
        try assertFixWorks("e0501_lazy_quantifier", code: "E0501", fixMessage: "remove `?`")
        try assertFixWorks("e0502_reversed_bounds", code: "E0502", fixMessage: "swap the bounds")
        try assertFixWorks("e0503_verbose_flag", code: "E0503", fixMessage: "remove the flag")
        try assertFixWorks("e0605_confidence_out_of_range", code: "E0605", fixMessage: "use 0.95")
        try assertFixWorks("e0607_two_otherwise", code: "E0607", fixMessage: "remove it")
        try assertFixWorks("w0002_duplicate_keyword", code: "W0002", fixMessage: "remove the duplicate")
        // Removals take a neighbouring comma, so the list still parses.
        try assertFixWorks("e0406_empty_keyword", code: "E0406", fixMessage: "remove the empty keyword")
        try assertFixWorks("e0604_duplicate_label", code: "E0604", fixMessage: "remove the duplicate")
        try assertFixWorks("e0301_misspelled_test_field", code: "E0301", fixMessage: "use `body`")
        try assertFixWorks("e0403_unknown_field_types", code: "E0403", fixMessage: "use `number`")
        try assertFixWorks("e0403_unknown_field_types", code: "E0403", fixMessage: "use `text`")
    }

    /// Applying every fix of a multi-error file (from the end backwards, so offsets stay valid)
    /// leaves only the error that has no mechanical fix.
    func testApplyingAllFixesOfAMultiErrorFile() throws {
        let c = Case(name: "recovery_independent_errors")
        var bytes = try Self.source(c).bytes
        let fixes = try Self.diagnostics(c).compactMap { $0.fixes.first }.sorted { $0.range.start > $1.range.start }
        XCTAssertEqual(fixes.count, 4)
        for f in fixes { bytes = Self.apply(f, to: bytes) }
        let (_, after) = Checker.checkSource(SourceFile(name: c.displayName, bytes: bytes), stdlib: .embedded)
        XCTAssertEqual(after.map(\.code), ["E0401"], TextRenderer().render(after))
    }
}

/// A line diff of two texts (longest common subsequence), for readable golden failures.
func lineDiff(_ a: String, _ b: String) -> String {
    let x = a.components(separatedBy: "\n"), y = b.components(separatedBy: "\n")
    let n = x.count, m = y.count
    var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
    for i in stride(from: n - 1, through: 0, by: -1) {
        for j in stride(from: m - 1, through: 0, by: -1) {
            lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
        }
    }
    var out: [String] = []
    var i = 0, j = 0
    while i < n || j < m {
        if i < n, j < m, x[i] == y[j] { out.append("  " + x[i]); i += 1; j += 1 }
        else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] { out.append("- " + x[i]); i += 1 }
        else { out.append("+ " + y[j]); j += 1 }
    }
    // Keep changed lines with two lines of context.
    var keep = Set<Int>()
    for (k, l) in out.enumerated() where !l.hasPrefix("  ") { for c in max(0, k - 2)...min(out.count - 1, k + 2) { keep.insert(c) } }
    var shown: [String] = []
    var last = -1
    for k in keep.sorted() {
        if last >= 0, k > last + 1 { shown.append("  ...") }
        shown.append(out[k])
        last = k
    }
    return shown.joined(separator: "\n")
}
