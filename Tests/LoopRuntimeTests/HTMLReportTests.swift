import Foundation
import XCTest
import LoopData
import LoopStore
import LoopTask
@testable import LoopRuntime

final class HTMLReportTests: XCTestCase {
    private func emptyState() -> DriverState {
        DriverState(activeVersion: 1, sampler: Sampler(policy: ValidationPolicy(), seed: 1))
    }

    /// A run of 2,000 requests with three versions, events and a break-even point.
    private func fullState(points: Int = 40) -> DriverState {
        var s = emptyState()
        s.activeVersion = 3
        s.requests = 2000
        s.inputErrors = 3
        s.sampled = 100; s.validated = 96; s.tier2 = 10; s.tier3 = 86
        s.oracleCalls = 90; s.generationCalls = 2; s.inputTokens = 12_345; s.outputTokens = 678
        s.oracleCost = 0.0123456789; s.generationCost = 0.002; s.programSeconds = 1.5; s.buildSeconds = 0.25
        s.allLLMCost = 0.2468
        s.breakEvenAt = 600
        s.promoted = 2; s.rolledBack = 1; s.rejected = 1; s.escalations = 1
        s.trueCorrect = 900; s.trueTotal = 1000
        for i in 0..<96 { s.agreement.add(agree: i % 12 != 0, probability: 0.05) }
        for i in 0..<500 { s.latency.add(nanoseconds: UInt64(200 + i * 3)) }
        for i in 0..<points {
            let r = (i + 1) * 2000 / points
            let a: Double? = i < 2 ? nil : 0.9 + 0.002 * Double(i % 10)
            s.timeline.append(DriverState.Point(requests: r, agreement: a, lower: a.map { $0 - 0.05 }, upper: a.map { min(1, $0 + 0.03) },
                                                samplingRate: 0.05 + 0.001 * Double(i % 5), cost: 0.02 + 0.0001 * Double(r),
                                                allLLMCost: 0.0001234 * Double(r), versionId: r < 1000 ? 1 : 3))
        }
        s.events = [
            DriverState.Event(requests: 0, versionId: 1, kind: "start", detail: "v1 active"),
            DriverState.Event(requests: 400, versionId: 2, kind: "shadow", detail: "candidate runs beside v1"),
            DriverState.Event(requests: 700, versionId: 2, kind: "rolled back", detail: "lost the canary <b>badly</b> & more"),
            DriverState.Event(requests: 900, versionId: 3, kind: "shadow", detail: "second try"),
            DriverState.Event(requests: 1200, versionId: 3, kind: "promoted", detail: "now answers all traffic"),
            DriverState.Event(requests: 1800, versionId: 3, kind: "escalated", detail: "agreement \"low\""),
        ]
        return s
    }

    private func report(_ state: DriverState, task: String = "spam-filter") -> LoopReport {
        LoopReport(task: task, state: state, totalCost: 0.0148765432, confidence: 0.95, cpuPricePerHour: 0.05,
                   oracle: "mock-oracle", generator: "scripted", strategy: "stratified", rate: 0.05)
    }

    private let v1 = ProgramVersion(id: 1, source: "program spam\nrule a: x < 3 -> \"spam\"\ndefault \"ham\"", provenance: "seed",
                                    status: .retired, createdAt: 1_700_000_000)
    private var versions: [ProgramVersion] {
        [
            ProgramVersion(id: 3, source: "program spam\nrule a: x < 5 && y -> \"spam\"\ndefault \"ham\"", parentId: 1,
                           provenance: "{\"generator\":\"llm\",\"why\":\"<script>alert('x')</script>\"}", status: .active,
                           createdAt: 1_700_000_200, note: "widened rule a"),
            v1,
            ProgramVersion(id: 2, source: "program spam\ndefault \"spam\"", parentId: 1, provenance: "repair",
                           status: .rolledBack, createdAt: 1_700_000_100),
        ]
    }

    private func count(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

    private func assertNoNonFinite(_ html: String, file: StaticString = #filePath, line: UInt = #line) {
        let re = try! NSRegularExpression(pattern: "\\b(nan|inf|infinity)\\b", options: [.caseInsensitive])
        let range = NSRange(html.startIndex..., in: html)
        if let m = re.firstMatch(in: html, range: range), let r = Range(m.range, in: html) {
            let lo = html.index(r.lowerBound, offsetBy: -60, limitedBy: html.startIndex) ?? html.startIndex
            let hi = html.index(r.upperBound, offsetBy: 60, limitedBy: html.endIndex) ?? html.endIndex
            XCTFail("non-finite number printed: …\(html[lo..<hi])…", file: file, line: line)
        }
    }

    func testPageIsSelfContainedWithThreeCharts() {
        let html = HTMLReport.render(report(fullState()), versions: versions)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.hasSuffix("</html>\n"))
        XCTAssertFalse(html.contains("http://"))
        XCTAssertFalse(html.contains("https://"))
        for attr in ["src=", "href=", "<link", "<script", "<img", "@import", "url("] {
            XCTAssertFalse(html.lowercased().contains(attr), attr)
        }
        XCTAssertEqual(count("<svg", in: html), 3)
        XCTAssertEqual(count("</svg>", in: html), 3)
        for title in ["Agreement over time", "Sampling rate over time", "Cumulative cost", "Version timeline"] {
            XCTAssertTrue(html.contains(title), title)
        }
        // The band, the lines, the event markers (2 shadow, 1 rolled back, 1 promoted, 1 escalated; not "start") and break-even.
        XCTAssertTrue(html.contains("<path class=\"band\""))
        XCTAssertTrue(html.contains("<path class=\"line s-agree\""))
        XCTAssertTrue(html.contains("<path class=\"line s-cost\""))
        XCTAssertTrue(html.contains("<path class=\"line s-allllm\""))
        XCTAssertEqual(count("<line class=\"marker ev-", in: html), 6)
        XCTAssertTrue(html.contains("break-even after 600 requests"))
        assertNoNonFinite(html)
    }

    func testTextIsEscaped() {
        var s = fullState()
        s.events.append(DriverState.Event(requests: 1900, versionId: nil, kind: "note<&>", detail: "it's \"quoted\""))
        let html = HTMLReport.render(report(s, task: "spam <filter> & co"), versions: versions)
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        XCTAssertFalse(html.contains("<script"))
        XCTAssertTrue(html.contains("spam &lt;filter&gt; &amp; co"))
        XCTAssertFalse(html.contains("spam <filter>"))
        XCTAssertTrue(html.contains("lost the canary &lt;b&gt;badly&lt;/b&gt; &amp; more"))
        XCTAssertFalse(html.contains("<b>badly</b>"))
        XCTAssertTrue(html.contains("agreement &quot;low&quot;"))
        XCTAssertTrue(html.contains("note&lt;&amp;&gt;"))
        XCTAssertTrue(html.contains("it&#39;s &quot;quoted&quot;"))
    }

    func testDiffsFromParentsAppear() {
        let html = HTMLReport.render(report(fullState()), versions: versions)
        XCTAssertEqual(count("<details>", in: html), 2)   // v2 and v3 have parents, v1 has none
        XCTAssertTrue(html.contains("--- v1.loop"))
        XCTAssertTrue(html.contains("+++ v3.loop"))
        XCTAssertTrue(html.contains("<span class=\"del\">-rule a: x &lt; 3 -&gt; &quot;spam&quot;</span>"))
        XCTAssertTrue(html.contains("<span class=\"add\">+rule a: x &lt; 5 &amp;&amp; y -&gt; &quot;spam&quot;</span>"))
        XCTAssertTrue(html.contains("<span class=\"add\">+default &quot;spam&quot;</span>"))   // v2 from v1
        // Versions are listed in id order, whatever order they were given in.
        let rows = ["<td>v1</td>", "<td>v2</td>", "<td>v3</td>"].map { html.range(of: $0)?.lowerBound }
        XCTAssertTrue(rows.allSatisfy { $0 != nil })
        XCTAssertTrue(rows[0]! < rows[1]! && rows[1]! < rows[2]!)
        // Each version's events are listed beside its diff, and all of them in the events table.
        XCTAssertTrue(html.contains("<li><b>promoted</b> at request 1200: now answers all traffic</li>"))
        XCTAssertTrue(html.contains("<tr class=\"ev-rolledback\"><td>700</td><td>v2</td><td>rolled back</td>"))
        XCTAssertTrue(html.contains("widened rule a"))
    }

    func testSummaryNumbersMatchTheReport() throws {
        let r = report(fullState())
        let html = HTMLReport.render(r, versions: versions)
        guard case .object(let fields) = r.json else { return XCTFail("report.json is not an object") }
        for (key, _) in fields {
            XCTAssertTrue(html.contains("<td data-key=\"\(key)\">"), "summary lacks \(key)")
        }
        func cell(_ key: String) -> String? {
            guard let start = html.range(of: "<td data-key=\"\(key)\">"), let end = html[start.upperBound...].range(of: "</td>") else { return nil }
            return String(html[start.upperBound..<end.lowerBound])
        }
        XCTAssertEqual(cell("task"), "spam-filter")
        XCTAssertEqual(cell("requests"), "2000")
        XCTAssertEqual(cell("program_answers"), "1997")
        XCTAssertEqual(cell("input_tokens"), "12345")
        XCTAssertEqual(cell("cost"), "$0.014877")
        XCTAssertEqual(cell("oracle_cost"), "$0.012346")
        XCTAssertEqual(cell("all_llm_cost"), "$0.246800")
        XCTAssertEqual(cell("cpu_cost"), String(format: "$%.6f", 1.75 * 0.05 / 3600))
        XCTAssertEqual(cell("cpu_seconds"), "1.750 s")
        XCTAssertEqual(cell("sampling_rate"), "5.00%")
        XCTAssertEqual(cell("cost_fraction"), String(format: "%.2f%%", 0.0148765432 / 0.2468 * 100))
        XCTAssertEqual(cell("break_even_at"), "600")
        XCTAssertEqual(cell("accuracy"), "90.00%")
        let agreement = try XCTUnwrap(r.state.agreement.estimate)
        XCTAssertEqual(cell("agreement"), String(format: "%.2f%%", agreement * 100))
        let lower = try XCTUnwrap(r.interval?.lower)
        XCTAssertEqual(cell("agreement_lower"), String(format: "%.2f%%", lower * 100))
        XCTAssertEqual(cell("tier3_share"), "86.00%")
        XCTAssertEqual(cell("active_version"), "3")
        let p50 = try XCTUnwrap(cell("latency_p50_ns"))
        XCTAssertTrue(p50.hasSuffix(" ns") || p50.hasSuffix(" µs"), p50)
        XCTAssertTrue(html.contains("<th title=\"all_llm_cost\">all LLM cost</th>"))
        XCTAssertTrue(html.contains("<th title=\"latency_p99_ns\">latency p99</th>"))
        // The header shows the run's configuration.
        for text in ["mock-oracle", "scripted", "stratified at 5.00%"] { XCTAssertTrue(html.contains(text), text) }
    }

    func testEmptyTimelineRendersWithoutNonFiniteNumbers() {
        let empty = emptyState()
        let html = HTMLReport.render(LoopReport(task: "t", state: empty, totalCost: 0, confidence: 0.95, cpuPricePerHour: 0,
                                                oracle: "o", generator: "g", strategy: "random", rate: 0.05),
                                     versions: [])
        XCTAssertEqual(count("<svg", in: html), 3)
        XCTAssertEqual(count("no data yet", in: html), 3)
        XCTAssertFalse(html.contains(">0.2</text>"))   // request ticks are whole numbers
        XCTAssertTrue(html.contains("No program versions recorded."))
        XCTAssertTrue(html.contains("<td data-key=\"agreement\">n/a</td>"))
        XCTAssertTrue(html.contains("<td data-key=\"cost_fraction\">n/a</td>"))
        assertNoNonFinite(html)
    }

    func testSinglePointNilAgreementAndNonFiniteValuesAreSafe() {
        var s = emptyState()
        s.requests = 10
        s.timeline = [DriverState.Point(requests: 10, agreement: nil, lower: nil, upper: nil, samplingRate: .nan,
                                        cost: .infinity, allLLMCost: 0.001, versionId: 1)]
        s.breakEvenAt = 5
        s.events = [DriverState.Event(requests: 3, versionId: 1, kind: "promoted", detail: "x")]
        let html = HTMLReport.render(report(s), versions: [v1])
        XCTAssertEqual(count("<svg", in: html), 3)
        XCTAssertEqual(count("no data yet", in: html), 2)   // agreement (nil) and sampling rate (NaN)
        XCTAssertTrue(html.contains("<circle class=\"s-allllm\""))   // one finite point: a dot
        XCTAssertFalse(html.contains("<details>"))   // a single version without a parent has no diff
        assertNoNonFinite(html)

        // One point with an agreement: a dot, and the axis starts below it.
        s.timeline[0].agreement = 1; s.timeline[0].lower = 0.8; s.timeline[0].upper = 1
        let html2 = HTMLReport.render(report(s), versions: [v1])
        XCTAssertTrue(html2.contains("<circle class=\"s-agree\""))
        XCTAssertTrue(html2.contains(">78%</text>") || html2.contains(">80%</text>"))
        assertNoNonFinite(html2)
    }

    func testLongTimelinesAreDownsampled() {
        let html = HTMLReport.render(report(fullState(points: 20_000)), versions: versions)
        XCTAssertLessThan(html.utf8.count, 120_000)
        guard let start = html.range(of: "<path class=\"line s-rate\" d=\""),
              let end = html[start.upperBound...].range(of: "\"") else { return XCTFail("no sampling-rate line") }
        let vertices = html[start.upperBound..<end.lowerBound].filter { $0 == "M" || $0 == "L" }.count
        XCTAssertEqual(vertices, HTMLReport.maxPoints)
        assertNoNonFinite(html)
    }
}
