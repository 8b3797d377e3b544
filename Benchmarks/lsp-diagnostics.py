#!/usr/bin/env python3
"""Time from a change sent to `loopai lsp` to its diagnostics received, on a 2,000-rule program.

  Benchmarks/lsp-diagnostics.py [LOOPAI]      (default: .build/release/loopai)

The program is the one of Benchmarks/check-2000-rules.sh (keywords from the SMS collection). Each
of 200 edits is an incremental change of one character in a rule near the middle, alternately
breaking a label and repairing it, so every other edit publishes one error; the clock runs from
writing the didChange frame to reading the publishDiagnostics notification of that version.
Reported, not asserted (the issue's bar: 50 ms)."""
import collections, json, os, re, statistics, subprocess, sys, time

loopai = sys.argv[1] if len(sys.argv) > 1 else ".build/release/loopai"
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
counts = collections.Counter()
for line in open(os.path.join(root, "Examples/sms_spam/data.jsonl"), encoding="utf-8"):
    counts.update(re.findall(r"[a-z]{3,}", json.loads(line)["text"].lower()))
words = [w for w, _ in counts.most_common(4000)]
lines = ["program big", '  "2,000 generated rules."', "", "input text: text", "labels spam, ham", "", "let msg = lower(text)", ""]
for i in range(2000):
    a, b = words[2 * i], words[2 * i + 1]
    lines.append(f'rule r{i} when contains_word(msg, "{a}") and not contains(msg, "{b}") and len(text) > {i % 40} => {"spam" if i % 3 == 0 else "ham"}')
lines += ["", "otherwise => ham", ""]
text = "\n".join(lines)

p = subprocess.Popen([loopai, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=root)
def send(o):
    b = json.dumps(o).encode()
    p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(b) + b); p.stdin.flush()
def recv():
    h = b""
    while not h.endswith(b"\r\n\r\n"):
        c = p.stdout.read(1)
        if not c: raise SystemExit("lsp-diagnostics: the server ended")
        h += c
    n = int([l for l in h.decode().split("\r\n") if l.lower().startswith("content-length")][0].split(":")[1])
    return json.loads(p.stdout.read(n))
def diagnostics(version):
    while True:
        m = recv()
        if m.get("method") == "textDocument/publishDiagnostics" and m["params"].get("version") == version:
            return m["params"]["diagnostics"]

uri = "file:///tmp/big.loop"
send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
recv()
send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
t0 = time.perf_counter()
send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "loop", "version": 1, "text": text}}})
assert diagnostics(1) == []
print(f"program: {len(lines)} lines, {len(text.encode())} bytes; open to diagnostics: {(time.perf_counter() - t0) * 1000:.1f} ms")
row = 8 + 1000
col = lines[row].rindex("=> ") + 3   # the label of rule r1000
times = []
for v in range(2, 202):
    broken = v % 2 == 0
    change = {"range": {"start": {"line": row, "character": col}, "end": {"line": row, "character": col + 1}}, "text": "x" if broken else lines[row][col]}
    t = time.perf_counter()
    send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": v}, "contentChanges": [change]}})
    d = diagnostics(v)
    times.append((time.perf_counter() - t) * 1000)
    assert len(d) == (1 if broken else 0), d
send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}); recv()
send({"jsonrpc": "2.0", "method": "exit"}); p.wait()
times.sort()
print(f"change to diagnostics over {len(times)} edits: median {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms, max {times[-1]:.1f} ms")
