import Foundation
import LoopRuntime

/// The live dashboard at `/`: one panel per task, each the HTML report's charts and tables
/// (`HTMLReport.fragment`) for the task as it stands, refreshed every second while traffic flows.
enum Dashboard {
    static func page(tasks: [String]) -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Loopai</title>\n"
        h += "<style>\n\(HTMLReport.css)\n.task{border-top:2px solid #ccc;margin-top:2em}.live-status{font:13px monospace;color:#555}</style>\n</head>\n<body>\n"
        h += "<h1>Loopai: live</h1>\n<p class=\"live-status\" id=\"updated\">loading…</p>\n"
        for t in tasks {
            let e = HTMLReport.esc(t)
            h += "<section class=\"task\" id=\"task-\(e)\"><div class=\"live\" data-task=\"\(e)\">loading \(e)…</div></section>\n"
        }
        h += """
        <script>
        let refreshes = 0;
        // With a client token configured, open the page as /?token=TOKEN.
        const token = new URLSearchParams(location.search).get('token');
        const headers = token ? {'Authorization': 'Bearer ' + token} : {};
        async function refresh() {
          for (const el of document.querySelectorAll('.live')) {
            try {
              const r = await fetch('/v1/tasks/' + encodeURIComponent(el.dataset.task) + '/dashboard', {cache: 'no-store', headers});
              if (r.ok) el.innerHTML = await r.text();
            } catch (e) { document.getElementById('updated').textContent = 'the server does not answer: ' + e; return; }
          }
          refreshes += 1;
          const u = document.getElementById('updated');
          u.textContent = 'updated ' + new Date().toLocaleTimeString() + ' (refresh ' + refreshes + ')';
          u.dataset.refreshes = String(refreshes);
        }
        refresh();
        setInterval(refresh, 1000);
        </script>
        </body>
        </html>

        """
        return h
    }

    /// One task's panel.
    static func fragment(_ t: ServedTask) -> String {
        let s = t.runner.status.current
        let live = t.engine.liveCounts
        let versions = (try? t.engine.store.versions()) ?? []
        var h = "<p class=\"live-status\" data-requests=\"\(live.requests)\">"
        h += "\(live.requests) requests · queue \(live.queued) · \(live.dropped) dropped · sampling \(String(format: "%.2f%%", s.sampler.meanProbability * 100)) realized"
        h += " of \(String(format: "%.2f%%", s.sampler.configuration.rate * 100)) configured"
        if let c = s.candidate { h += " · candidate v\(c.versionId) in \(c.stage.rawValue)\(c.stage == .canary ? String(format: " at %.0f%%", c.share * 100) : "")" }
        if s.paused { h += " · <strong>paused</strong>" }
        let need = max(0, t.engine.settings.minValidations - s.sampler.recent.count)
        if s.candidate == nil && need > 0 { h += " · waiting for \(need) more validation(s) before the triggers can act" }
        h += "</p>\n"
        let open = (try? t.engine.store.escalations(status: .open)) ?? []
        if !open.isEmpty {
            h += "<section class=\"escalations\"><h2>Open escalations</h2><ul>\n"
            for e in open { h += "<li>ESC-\(e.id ?? 0): \(HTMLReport.esc(e.reason))</li>\n" }
            h += "</ul></section>\n"
        }
        h += HTMLReport.fragment(t.report(), versions: versions)
        return h
    }
}
