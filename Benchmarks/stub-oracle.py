#!/usr/bin/env python3
"""A stand-in LLM for benchmarks: an OpenAI-compatible /v1/chat/completions on 127.0.0.1 that
answers every numbered input of a batch after --delay seconds, or fails with 500 (--fail).
The answer is "ham", or with --labels FILE (JSON Lines with text and label) the label that
file gives the input's text: a slow oracle that agrees with the data, not one that contradicts
the program. Prints its port on the first line of standard output."""
import argparse, json, re, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--delay", type=float, default=0.3)
ap.add_argument("--fail", action="store_true")
ap.add_argument("--labels")
args = ap.parse_args()
truth = {}
if args.labels:
    for line in open(args.labels):
        r = json.loads(line)
        truth[r["text"]] = r["label"]
def label(line):
    try: v = json.loads(line)
    except ValueError: return "ham"
    return truth.get(v if isinstance(v, str) else v.get("text") if isinstance(v, dict) else None, "ham")

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(args.delay)
        if args.fail:
            out, status = b'{"error": {"message": "down"}}', 500
        else:
            msgs = json.loads(body).get("messages", [])
            user = msgs[-1]["content"] if msgs else ""
            found = re.findall(r"^(\d+): (.*)$", user, re.M)
            content = json.dumps({"answers": [{"id": int(i), "label": label(line)} for i, line in found]})
            out = json.dumps({"model": "stub", "choices": [{"message": {"role": "assistant", "content": content}}],
                              "usage": {"prompt_tokens": 100, "completion_tokens": 10}}).encode()
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
