import Foundation
import LoopData
import LoopStore

/// The report of a `loopai loop` run as one self-contained HTML5 page: the summary table (every
/// field of `LoopReport.json`), three inline SVG charts (agreement, sampling rate, cumulative
/// cost) and the version timeline with each version's diff from its parent and the events.
///
/// The page loads nothing: no scripts, fonts, style sheets or images, so it opens offline. Every
/// piece of text is HTML-escaped, no non-finite number is ever printed, and timelines longer than
/// `maxPoints` are downsampled so the page stays small.
public enum HTMLReport {
    /// Timelines longer than this are downsampled (evenly, keeping the first and last points).
    public static let maxPoints = 500

    public static func render(_ report: LoopReport, versions: [ProgramVersion]) -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        h += "<title>Loopai report: \(esc(report.task))</title>\n<style>\n\(css)</style>\n</head>\n<body>\n"
        h += fragment(report, versions: versions)
        h += "</body>\n</html>\n"
        return h
    }

    /// The report's body (header, summary, charts, version timeline) without the page around it:
    /// the live dashboard of `loopai serve` shows one per task and refreshes it.
    public static func fragment(_ report: LoopReport, versions: [ProgramVersion]) -> String {
        let state = report.state
        let points = downsample(state.timeline.points, to: maxPoints)
        var h = header(report)
        h += summary(report)
        h += agreementChart(points, full: state.timeline.points, events: state.events)
        h += samplingChart(points)
        h += costChart(points, breakEvenAt: state.breakEvenAt)
        h += versionTimeline(versions, events: state.events, active: state.activeVersion)
        return h
    }

    // MARK: - Sections

    static func header(_ r: LoopReport) -> String {
        var h = "<header>\n<h1>Loopai report: \(esc(r.task))</h1>\n<dl class=\"meta\">\n"
        let rows: [(String, String)] = [
            ("task", r.task), ("oracle", r.oracle), ("generator", r.generator),
            ("strategy", "\(r.strategy) at \(pct(r.rate))"), ("active version", "v\(r.state.activeVersion)"),
            ("requests", "\(r.state.requests)"),
        ]
        for (k, v) in rows { h += "<div><dt>\(esc(k))</dt><dd>\(esc(v))</dd></div>\n" }
        return h + "</dl>\n</header>\n"
    }

    /// Every field of `report.json`, in its order, split over two side-by-side tables.
    static func summary(_ r: LoopReport) -> String {
        guard case .object(let fields) = r.json else { return "" }
        let rows = fields.map { key, value in
            "<tr><th title=\"\(esc(key))\">\(esc(label(key)))</th>"
                + "<td data-key=\"\(esc(key))\">\(esc(formatField(key, value)))</td></tr>\n"
        }
        let half = (rows.count + 1) / 2
        var h = "<section>\n<h2>Summary</h2>\n<div class=\"summary\">\n"
        for part in [rows.prefix(half), rows.dropFirst(half)] where !part.isEmpty {
            h += "<table>\n<tbody>\n" + part.joined() + "</tbody>\n</table>\n"
        }
        return h + "</div>\n</section>\n"
    }

    /// A `report.json` key for people: `all_llm_cost` → "all LLM cost", `latency_p50_ns` → "latency p50".
    static func label(_ key: String) -> String {
        let words = key.split(separator: "_").map { w -> String in
            switch w { case "llm": return "LLM"; case "cpu": return "CPU"; default: return String(w) }
        }
        return (words.last == "ns" ? words.dropLast() : words[...]).joined(separator: " ")
    }

    /// A `report.json` value for people: percentages, money with 6 decimals, latencies in ns/µs/ms.
    static func formatField(_ key: String, _ value: JSON) -> String {
        switch value {
        case .null: return "n/a"
        case .bool(let b): return b ? "yes" : "no"
        case .string: return value.string ?? ""
        case .number(let x):
            guard x.isFinite else { return "n/a" }
            if isPercentField(key) { return pct(x) }
            if key.hasSuffix("_ns") { return duration(nanoseconds: x) }
            if key.hasSuffix("_seconds") { return String(format: "%.3f s", x) }
            if key == "cost" || key.hasSuffix("_cost") { return money(x) }
            if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
            return String(format: "%.4g", x)
        case .array, .object: return JSONWriter.string(value)
        }
    }

    static func isPercentField(_ key: String) -> Bool {
        key.hasPrefix("agreement") || key == "accuracy"
            || ["_rate", "_share", "_fraction", "_reduction", "_level"].contains { key.hasSuffix($0) }
    }

    // MARK: - Charts

    static let markerKinds: [(kind: String, cls: String)] = [
        ("promoted", "ev-promoted"), ("rolled back", "ev-rolledback"), ("escalated", "ev-escalated"), ("shadow", "ev-shadow"),
    ]

    static func agreementChart(_ points: [DriverState.Point], full: [DriverState.Point], events: [DriverState.Event]) -> String {
        // The axis minimum comes from the whole timeline, so downsampling never clips a dip.
        let lows = full.compactMap { finite($0.lower) ?? finite($0.agreement) }
        let yLo = lows.min().map { max(0, ((($0 - 0.02) * 100).rounded(.down)) / 100) } ?? 0
        var plot = Plot(x: requestAxis(points), y: Axis(lo: min(yLo, 0.99), hi: 1, format: percentLabel))
        plot.empty = !points.contains { finite($0.agreement) != nil }
        var body = ""
        body += plot.band(points.map { (Double($0.requests), finite($0.lower), finite($0.upper)) }, cls: "band")
        body += plot.line(points.map { (Double($0.requests), finite($0.agreement)) }, cls: "s-agree")
        for e in events {
            guard let m = markerKinds.first(where: { $0.kind == e.kind }) else { continue }
            let what = (e.versionId.map { "v\($0) " } ?? "") + e.kind + " at request \(e.requests): " + e.detail
            body += plot.marker(at: Double(e.requests), cls: m.cls, title: what)
        }
        let legend = [("sw-line s-agree", "agreement"), ("sw-band", "confidence band")]
            + markerKinds.map { ("sw-mark \($0.cls)", $0.kind) }
        return chart(title: "Agreement over time", plot: plot, body: body, xTitle: "requests", yTitle: "agreement", legend: legend)
    }

    static func samplingChart(_ points: [DriverState.Point]) -> String {
        let rates = points.map { finite($0.samplingRate) }
        let top = rates.compactMap { $0 }.max() ?? 0
        var plot = Plot(x: requestAxis(points), y: Axis(lo: 0, hi: top > 0 ? niceCeil(top * 1.1) : 0.1, format: percentLabel))
        plot.empty = rates.allSatisfy { $0 == nil }
        let body = plot.line(zip(points, rates).map { (Double($0.requests), $1) }, cls: "s-rate")
        return chart(title: "Sampling rate over time", plot: plot, body: body, xTitle: "requests", yTitle: "sampling rate",
                     legend: [("sw-line s-rate", "sampling rate")])
    }

    static func costChart(_ points: [DriverState.Point], breakEvenAt: Int?) -> String {
        let program = points.map { finite($0.cost) }, allLLM = points.map { finite($0.allLLMCost) }
        let top = (program + allLLM).compactMap { $0 }.max() ?? 0
        var plot = Plot(x: requestAxis(points), y: Axis(lo: 0, hi: top > 0 ? niceCeil(top * 1.05) : 1, format: moneyLabel))
        plot.empty = (program + allLLM).allSatisfy { $0 == nil }
        var body = plot.line(zip(points, allLLM).map { (Double($0.requests), $1) }, cls: "s-allllm")
        body += plot.line(zip(points, program).map { (Double($0.requests), $1) }, cls: "s-cost")
        var legend = [("sw-line s-cost", "program path (oracle + generation + CPU)"), ("sw-line s-allllm", "LLM on every request")]
        if let b = breakEvenAt, !plot.empty {
            body += plot.marker(at: Double(b), cls: "ev-breakeven", title: "break-even after \(b) requests")
            legend.append(("sw-mark ev-breakeven", "break-even (request \(b))"))
        }
        return chart(title: "Cumulative cost", plot: plot, body: body, xTitle: "requests", yTitle: "cost (USD)", legend: legend)
    }

    /// A chart section: heading, the SVG (grid, ticks, series, axis titles) and an HTML legend.
    static func chart(title: String, plot: Plot, body: String, xTitle: String, yTitle: String, legend: [(String, String)]) -> String {
        var h = "<section class=\"chart\">\n<h2>\(esc(title))</h2>\n"
        h += "<svg viewBox=\"0 0 \(Plot.width) \(Plot.height)\" role=\"img\" aria-label=\"\(esc(title))\">\n"
        h += plot.axes(xTitle: xTitle, yTitle: yTitle)
        if plot.empty {
            h += "<text class=\"nodata\" x=\"\(f(Plot.width / 2))\" y=\"\(f(Plot.height / 2))\">no data yet</text>\n"
        } else {
            h += body
        }
        h += "</svg>\n<div class=\"legend\">"
        h += legend.map { "<span><i class=\"\(esc($0.0))\"></i>\(esc($0.1))</span>" }.joined(separator: " ")
        return h + "</div>\n</section>\n"
    }

    /// The x axis: requests from 0 to the last point.
    static func requestAxis(_ points: [DriverState.Point]) -> Axis {
        let last = Double(points.map(\.requests).max() ?? 0)
        return Axis(lo: 0, hi: last > 0 ? last : 1, minStep: 1, format: countLabel)
    }

    // MARK: - Versions and events

    static func versionTimeline(_ versions: [ProgramVersion], events: [DriverState.Event], active: Int64) -> String {
        let sorted = versions.sorted { ($0.id ?? .max, $0.createdAt) < ($1.id ?? .max, $1.createdAt) }
        var h = "<section>\n<h2>Version timeline</h2>\n"
        if sorted.isEmpty {
            h += "<p class=\"muted\">No program versions recorded.</p>\n"
        } else {
            h += "<table class=\"versions\">\n<thead><tr><th>id</th><th>parent</th><th>status</th><th>created</th>"
                + "<th>provenance</th><th>note</th></tr></thead>\n<tbody>\n"
            for v in sorted {
                h += "<tr\(v.id == active ? " class=\"active\"" : "")><td>\(esc(name(v.id)))</td><td>\(esc(v.parentId.map { "v\($0)" } ?? "—"))</td>"
                h += "<td><span class=\"status st-\(esc(v.status.rawValue))\">\(esc(v.status.rawValue))</span></td>"
                h += "<td>\(esc(date(v.createdAt)))</td><td><code>\(esc(v.provenance))</code></td><td>\(esc(v.note ?? ""))</td></tr>\n"
            }
            h += "</tbody>\n</table>\n"
        }
        let byId = Dictionary(sorted.compactMap { v in v.id.map { ($0, v) } }, uniquingKeysWith: { a, _ in a })
        let children = sorted.filter { $0.parentId != nil }
        if !children.isEmpty { h += "<h3>Changes</h3>\n" }
        for v in children {
            let parent = v.parentId ?? 0
            h += "<details>\n<summary>\(esc(name(v.id))) from v\(parent) · \(esc(v.status.rawValue))"
                + (v.note.map { " · " + esc($0) } ?? "") + "</summary>\n"
            let mine = events.filter { $0.versionId != nil && $0.versionId == v.id }
            if !mine.isEmpty {
                h += "<ul class=\"events\">\n" + mine.map {
                    "<li><b>\(esc($0.kind))</b> at request \($0.requests): \(esc($0.detail))</li>\n"
                }.joined() + "</ul>\n"
            }
            if let p = byId[parent] {
                h += diffHTML(LineDiff.unified(p.source, v.source, from: "v\(parent).loop", to: "\(name(v.id)).loop"))
            } else {
                h += "<p class=\"muted\">The parent v\(parent) is not in the store; no diff.</p>\n"
            }
            h += "</details>\n"
        }
        h += "<h3>Events</h3>\n"
        if events.isEmpty { return h + "<p class=\"muted\">No events.</p>\n</section>\n" }
        h += "<table class=\"events\">\n<thead><tr><th>requests</th><th>version</th><th>kind</th><th>detail</th></tr></thead>\n<tbody>\n"
        for e in events {
            let cls = markerKinds.first { $0.kind == e.kind }.map { " class=\"\($0.cls)\"" } ?? ""
            h += "<tr\(cls)><td>\(e.requests)</td><td>\(esc(e.versionId.map { "v\($0)" } ?? "—"))</td>"
                + "<td>\(esc(e.kind))</td><td>\(esc(e.detail))</td></tr>\n"
        }
        return h + "</tbody>\n</table>\n</section>\n"
    }

    /// A unified diff with added, removed and header lines marked.
    static func diffHTML(_ diff: String) -> String {
        let lines = diff.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let body = lines.dropLast(lines.last == "" ? 1 : 0).map { line -> String in
            let cls = line.hasPrefix("+++") || line.hasPrefix("---") ? "hdr" : line.hasPrefix("+") ? "add" : line.hasPrefix("-") ? "del" : "ctx"
            return "<span class=\"\(cls)\">\(esc(line))</span>"
        }
        return "<pre class=\"diff\">" + body.joined(separator: "\n") + "</pre>\n"
    }

    static func name(_ id: Int64?) -> String { id.map { "v\($0)" } ?? "v?" }

    static func date(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e12 else { return "" }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: seconds))
    }

    // MARK: - Formatting

    /// Escapes text for HTML content and attribute values.
    public static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static func finite(_ x: Double?) -> Double? { x.flatMap { $0.isFinite ? $0 : nil } }

    /// An SVG coordinate: one decimal, never NaN or infinity.
    static func f(_ x: Double) -> String { x.isFinite ? String(format: "%.1f", x) : "0" }

    static func pct(_ x: Double) -> String { x.isFinite ? String(format: "%.2f%%", x * 100) : "n/a" }
    static func money(_ x: Double) -> String { x.isFinite ? String(format: "$%.6f", x) : "n/a" }

    static func duration(nanoseconds x: Double) -> String {
        x < 1000 ? String(format: "%.0f ns", x) : x < 1e6 ? String(format: "%.1f µs", x / 1000) : String(format: "%.2f ms", x / 1e6)
    }

    /// Decimals enough to tell ticks `step` apart.
    static func decimals(_ step: Double) -> Int { step > 0 && step.isFinite ? min(8, max(0, Int((-log10(step)).rounded(.up)))) : 0 }

    static func percentLabel(_ v: Double, _ step: Double) -> String { String(format: "%.\(decimals(step * 100))f%%", v * 100) }
    static func moneyLabel(_ v: Double, _ step: Double) -> String { String(format: "$%.\(decimals(step))f", v) }

    static func countLabel(_ v: Double, _ step: Double) -> String {
        if step >= 1_000_000 || v >= 1e7 { return String(format: "%.\(decimals(step / 1e6))fM", v / 1e6) }
        if step >= 1000 || v >= 1e4 { return String(format: "%.\(decimals(step / 1e3))fk", v / 1e3) }
        return String(format: "%.\(decimals(step))f", v)
    }

    /// 1, 2 or 5 times a power of ten, near `x`.
    static func niceStep(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return 1 }
        let p = pow(10, (log10(x)).rounded(.down)), m = x / p
        return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p
    }

    /// The smallest 1/2/5 × 10^k multiple of a tenth of the magnitude that is ≥ x.
    static func niceCeil(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return 1 }
        let unit = pow(10, (log10(x)).rounded(.down)) / 10
        return (x / unit).rounded(.up) * unit
    }

    /// Evenly spaced points, always keeping the first and the last.
    static func downsample(_ points: [DriverState.Point], to limit: Int) -> [DriverState.Point] {
        guard points.count > limit, limit >= 2 else { return points }
        let n = points.count
        return (0..<limit).map { points[Int((Double($0) * Double(n - 1) / Double(limit - 1)).rounded())] }
    }

    // MARK: - Plot geometry

    struct Axis {
        var lo: Double
        var hi: Double
        var format: (Double, Double) -> String
        /// The smallest tick step (1 for request counts, so no tick falls between two requests).
        var minStep = 0.0

        init(lo: Double, hi: Double, minStep: Double = 0, format: @escaping (Double, Double) -> String) {
            let l = lo.isFinite ? lo : 0, h = hi.isFinite ? hi : 1
            self.lo = l
            self.hi = h > l ? h : l + 1
            self.format = format
            self.minStep = minStep
        }

        /// About `count` round values inside the axis.
        func ticks(_ count: Int = 5) -> (values: [Double], step: Double) {
            let step = max(minStep, HTMLReport.niceStep((hi - lo) / Double(count)))
            var v = (lo / step).rounded(.up) * step, out: [Double] = []
            while v <= hi + step * 1e-9, out.count < 50 { out.append(v); v += step }
            return (out, step)
        }
    }

    struct Plot {
        static let width = 760.0, height = 260.0
        static let left = 70.0, right = 16.0, top = 12.0, bottom = 40.0
        var x: Axis
        var y: Axis
        var empty = false

        func sx(_ v: Double) -> Double {
            let t = min(1, max(0, (v - x.lo) / (x.hi - x.lo)))
            return Plot.left + t * (Plot.width - Plot.left - Plot.right)
        }

        func sy(_ v: Double) -> Double {
            let t = min(1, max(0, (v - y.lo) / (y.hi - y.lo)))
            return Plot.top + (1 - t) * (Plot.height - Plot.top - Plot.bottom)
        }

        func inX(_ v: Double) -> Bool { v >= x.lo && v <= x.hi }

        /// The frame, grid lines, tick labels and axis titles.
        func axes(xTitle: String, yTitle: String) -> String {
            let x0 = Plot.left, x1 = Plot.width - Plot.right, y0 = Plot.height - Plot.bottom, y1 = Plot.top
            var s = "<g class=\"axes\">\n"
            let yt = y.ticks()
            for v in yt.values {
                let py = f(sy(v))
                s += "<line class=\"grid\" x1=\"\(f(x0))\" x2=\"\(f(x1))\" y1=\"\(py)\" y2=\"\(py)\"/>"
                s += "<text class=\"ytick\" x=\"\(f(x0 - 6))\" y=\"\(py)\">\(esc(y.format(v, yt.step)))</text>\n"
            }
            let xt = x.ticks(6)
            for v in xt.values {
                let px = f(sx(v))
                s += "<line class=\"tick\" x1=\"\(px)\" x2=\"\(px)\" y1=\"\(f(y0))\" y2=\"\(f(y0 + 4))\"/>"
                s += "<text class=\"xtick\" x=\"\(px)\" y=\"\(f(y0 + 16))\">\(esc(x.format(v, xt.step)))</text>\n"
            }
            s += "<rect class=\"frame\" x=\"\(f(x0))\" y=\"\(f(y1))\" width=\"\(f(x1 - x0))\" height=\"\(f(y0 - y1))\"/>\n"
            s += "<text class=\"xtitle\" x=\"\(f((x0 + x1) / 2))\" y=\"\(f(Plot.height - 4))\">\(esc(xTitle))</text>\n"
            s += "<text class=\"ytitle\" transform=\"translate(14 \(f((y0 + y1) / 2))) rotate(-90)\">\(esc(yTitle))</text>\n"
            return s + "</g>\n"
        }

        /// A polyline broken at missing values; isolated points become dots.
        func line(_ pts: [(Double, Double?)], cls: String) -> String {
            var d = "", dots = "", run: [(Double, Double)] = []
            func flush() {
                if run.count == 1 {
                    dots += "<circle class=\"\(cls)\" cx=\"\(f(sx(run[0].0)))\" cy=\"\(f(sy(run[0].1)))\" r=\"2.5\"/>"
                } else if run.count > 1 {
                    d += run.enumerated().map { ($0 == 0 ? "M" : "L") + f(sx($1.0)) + " " + f(sy($1.1)) }.joined(separator: " ") + " "
                }
                run = []
            }
            for (px, py) in pts {
                if let py, px.isFinite { run.append((px, py)) } else { flush() }
            }
            flush()
            var s = d.isEmpty ? "" : "<path class=\"line \(cls)\" d=\"\(d.trimmingCharacters(in: .whitespaces))\"/>\n"
            if !dots.isEmpty { s += dots + "\n" }
            return s
        }

        /// A shaded area between lower and upper, broken where either is missing.
        func band(_ pts: [(Double, Double?, Double?)], cls: String) -> String {
            var d = "", run: [(Double, Double, Double)] = []
            func flush() {
                if run.count > 1 {
                    let upper = run.map { f(sx($0.0)) + " " + f(sy($0.2)) }
                    let lower = run.reversed().map { f(sx($0.0)) + " " + f(sy($0.1)) }
                    d += "M" + (upper + lower).joined(separator: " L") + " Z "
                }
                run = []
            }
            for (px, lo, hi) in pts {
                if let lo, let hi, px.isFinite { run.append((px, min(lo, hi), max(lo, hi))) } else { flush() }
            }
            flush()
            return d.isEmpty ? "" : "<path class=\"\(cls)\" d=\"\(d.trimmingCharacters(in: .whitespaces))\"/>\n"
        }

        /// A vertical marker with a tooltip; nothing when `at` is outside the x axis.
        func marker(at v: Double, cls: String, title: String) -> String {
            guard v.isFinite, inX(v) else { return "" }
            let px = f(sx(v))
            return "<line class=\"marker \(cls)\" x1=\"\(px)\" x2=\"\(px)\" y1=\"\(f(Plot.top))\" y2=\"\(f(Plot.height - Plot.bottom))\">"
                + "<title>\(esc(title))</title></line>\n"
        }
    }

    // MARK: - Style

    public static let css = """
    :root { --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #ffffff; --soft: #f6f8fa; }
    * { box-sizing: border-box; }
    body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg);
      max-width: 1100px; margin: 0 auto; padding: 16px 20px 48px; }
    h1 { font-size: 22px; margin: 8px 0 12px; word-break: break-word; }
    h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
    h3 { font-size: 15px; margin: 20px 0 6px; }
    .muted { color: var(--muted); }
    dl.meta { display: flex; flex-wrap: wrap; gap: 6px 24px; margin: 0; }
    dl.meta dt { color: var(--muted); font-size: 12px; }
    dl.meta dd { margin: 0; font-weight: 600; word-break: break-word; }
    .summary { display: flex; flex-wrap: wrap; gap: 0 32px; }
    .summary table { flex: 1 1 360px; }
    table { border-collapse: collapse; font-size: 13px; }
    th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--soft); vertical-align: top; }
    .summary th { font-weight: normal; color: var(--muted); }
    .summary td { font-variant-numeric: tabular-nums; text-align: right; }
    thead th { border-bottom: 1px solid var(--line); }
    table.versions, table.events { width: 100%; }
    tr.active td { background: #eef6ff; }
    code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; }
    .status { padding: 0 6px; border-radius: 8px; background: var(--soft); font-size: 12px; }
    .st-active { background: #dafbe1; } .st-rolled_back, .st-rejected { background: #ffebe9; }
    .st-shadow, .st-canary { background: #fbefff; }
    details { margin: 6px 0; border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; }
    summary { cursor: pointer; font-weight: 600; }
    pre.diff { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);
      padding: 8px; overflow-x: auto; }
    pre.diff .add { color: #116329; background: #dafbe1; } pre.diff .del { color: #82071e; background: #ffebe9; }
    pre.diff .hdr { color: var(--muted); }
    ul.events { margin: 6px 0; padding-left: 20px; }
    .chart svg { width: 100%; height: auto; display: block; }
    .grid { stroke: #eaeef2; } .tick { stroke: #656d76; }
    .frame { fill: none; stroke: #d0d7de; }
    svg text { font: 11px system-ui, sans-serif; fill: #656d76; }
    .ytick { text-anchor: end; dominant-baseline: middle; } .xtick, .xtitle, .nodata { text-anchor: middle; }
    .ytitle { text-anchor: middle; } .nodata { font-size: 14px; }
    path.line { fill: none; stroke-width: 1.8; stroke-linejoin: round; }
    .band { fill: #1f6feb; fill-opacity: 0.15; stroke: none; }
    .s-agree { stroke: #1f6feb; fill: #1f6feb; } .s-rate { stroke: #8250df; fill: #8250df; }
    .s-cost { stroke: #1a7f37; fill: #1a7f37; } .s-allllm { stroke: #cf222e; fill: #cf222e; stroke-dasharray: 6 3; }
    circle.s-allllm { stroke-dasharray: none; }
    .marker { stroke-width: 1.5; stroke-dasharray: 4 3; }
    .ev-promoted { stroke: #1a7f37; border-color: #1a7f37; } .ev-rolledback { stroke: #cf222e; border-color: #cf222e; }
    .ev-escalated { stroke: #bc4c00; border-color: #bc4c00; } .ev-shadow { stroke: #8250df; border-color: #8250df; }
    .ev-breakeven { stroke: #0969da; border-color: #0969da; }
    .legend { font-size: 12px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 16px; margin-top: 2px; }
    .legend i { display: inline-block; width: 18px; height: 0; margin-right: 5px; vertical-align: middle; border-top: 2px solid; }
    .legend .sw-line.s-agree { border-color: #1f6feb; } .legend .sw-line.s-rate { border-color: #8250df; }
    .legend .sw-line.s-cost { border-color: #1a7f37; } .legend .sw-line.s-allllm { border-color: #cf222e; border-top-style: dashed; }
    .legend .sw-band { height: 10px; border: none; background: rgba(31, 111, 235, 0.15); }
    .legend .sw-mark { width: 0; height: 12px; border-top: none; border-left: 2px dashed; }
    table.events tr.ev-promoted td:first-child { border-left: 3px solid #1a7f37; }
    table.events tr.ev-rolledback td:first-child { border-left: 3px solid #cf222e; }
    table.events tr.ev-escalated td:first-child { border-left: 3px solid #bc4c00; }
    table.events tr.ev-shadow td:first-child { border-left: 3px solid #8250df; }

    """
}
