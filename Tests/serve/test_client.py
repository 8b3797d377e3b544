#!/usr/bin/env python3
"""End-to-end test of `loopai serve` with the Python client (Examples/serve_client/client.py) and
scripts/replay-http: a real server on a free loopback port, answers checked against
`loopai run` (the reference: same program, same inputs), the batch endpoint, refusals, a replay,
SIGTERM (exit status 0, queued samples committed) and a restart that resumes the run.

  LOOPAI=.build/debug/loopai python3 Tests/serve/test_client.py

Prints one line per check and a closing `N passed, M failed`; exits 1 when a check failed.
Bounded: every wait has a deadline, and the whole test gives up after 55 s.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.dont_write_bytecode = True  # no __pycache__ in Examples/
sys.path.insert(0, os.path.join(ROOT, "Examples", "serve_client"))
from client import Client, LoopaiError  # noqa: E402

LOOPAI = os.environ.get("LOOPAI", ".build/debug/loopai")
if not os.path.isabs(LOOPAI):
    LOOPAI = os.path.join(ROOT, LOOPAI)
TASK = os.path.join(ROOT, "Examples/sms_spam/task.yaml")
PROGRAM = os.path.join(ROOT, "Examples/sms_spam/program.loop")
DATA = os.path.join(ROOT, "Examples/sms_spam/data.jsonl")
REPLAY = os.path.join(ROOT, "scripts/replay-http")
N = 500
DEADLINE = time.monotonic() + 55

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {what}")
    else:
        failed += 1
        print(f"FAIL  {what}" + (f": {detail}" if detail else ""))
    return ok


def left(cap):
    return max(0.1, min(cap, DEADLINE - time.monotonic()))


class Server:
    """A `loopai serve` child; its standard error is collected by a thread."""

    def __init__(self, store):
        self.lines = []
        self.port = None
        self.listening = threading.Event()
        self.proc = subprocess.Popen(
            [LOOPAI, "serve", "--task", TASK, "--program", PROGRAM, "--oracle", "labels:label",
             "--port", "0", "--store", store],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, env={k: v for k, v in os.environ.items() if not k.startswith("LOOPAI_")})
        threading.Thread(target=self._read, daemon=True).start()
        if not self.listening.wait(left(30)):
            self.kill()
            raise RuntimeError("the server did not print `serve: listening on ...`:\n" + self.stderr())
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            m = re.match(r"serve: listening on http://127\.0\.0\.1:(\d+) \(tasks: ", line)
            if m:
                self.port = int(m.group(1))
                self.listening.set()

    def stderr(self):
        return "\n".join(self.lines)

    def terminate(self):
        """SIGTERM; the exit status (None if it did not stop in time, then it is killed)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=left(15))
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


def main():
    if not os.access(LOOPAI, os.X_OK):
        check(False, "the loopai binary is there", f"no executable at {LOOPAI} (set LOOPAI)")
        return 1
    with open(DATA, encoding="utf-8") as f:
        records = [json.loads(next(f)) for _ in range(N)]
    tmp = tempfile.mkdtemp(prefix="loopai-serve-test-")
    inputs = os.path.join(tmp, "first.jsonl")
    with open(inputs, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    # The reference: `loopai run` on the same 500 inputs (native code, as the server).
    run = subprocess.run([LOOPAI, "run", PROGRAM, "--input", inputs], cwd=ROOT,
                         capture_output=True, text=True, timeout=left(30))
    ref = [json.loads(l) for l in run.stdout.splitlines() if l.strip()]
    if not check(run.returncode == 0 and len(ref) == N and all("label" in a for a in ref),
                 f"loopai run answers all {N} inputs", run.stderr[-500:]):
        shutil.rmtree(tmp, ignore_errors=True)
        return 1
    want = [a["label"] for a in ref]

    server = Server(os.path.join(tmp, "store"))
    try:
        exercise(server, records, ref, tmp)
        status = server.terminate()
        check(status == 0, "SIGTERM: the server exits with status 0", f"status {status}\n{server.stderr()[-1500:]}")
        stopped = [l for l in server.lines if re.match(r"serve: sms_spam: stopped at request \d+", l)]
        check(len(stopped) == 1, "SIGTERM: the last control step ran (`stopped at request ...`)", server.stderr()[-800:])
        restart(os.path.join(tmp, "store"), stopped)
    finally:
        server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def exercise(server, records, ref, tmp):
    want = [a["label"] for a in ref]
    c = Client(server.url, timeout=10)

    # One request per input, over one keep-alive connection.
    answers = []
    for i, r in enumerate(records, 1):
        answers.append(c.classify("sms_spam", r, id=f"t-{i}"))
    wrong = [(i, a["label"], want[i]) for i, a in enumerate(answers) if a["label"] != want[i]]
    versions = {a["version"] for a in answers}
    check(not wrong, f"classify: all {N} labels equal `loopai run`'s", f"{len(wrong)} differ, first {wrong[:3]}; versions {versions}")
    same = [i for i, a in enumerate(answers)
            if a["decided_by"] == ref[i]["decided_by"] and abs((a["confidence"] or 0) - (ref[i]["confidence"] or 0)) < 1e-9]
    check(len(same) == N, "classify: decided_by and confidence equal `loopai run`'s too",
          f"{N - len(same)} differ, first: {next(([answers[i], ref[i]] for i in range(N) if i not in set(same)), None)}")
    check(all(a["id"] == f"t-{i}" for i, a in enumerate(answers, 1)), "classify: every answer carries its request's id")
    check(versions == {1}, "classify: every answer is from v1", f"versions {versions}")
    check(all(set(a) == {"id", "label", "confidence", "decided_by", "version"} for a in answers),
          "classify: answers have id, label, confidence, decided_by, version", str(answers[0]))
    check(c.connections_opened == 1, "classify: one keep-alive connection for all requests", f"{c.connections_opened} opened")

    # Without an id the server makes one up.
    a = c.classify("sms_spam", records[0])
    check(isinstance(a.get("id"), str) and a["id"] != "" and a["label"] == want[0], "classify without id: the server gives one", str(a))

    # The batch endpoint: the same answers, in order.
    batch = c.classify_batch("sms_spam", records[:250]) + c.classify_batch("sms_spam", records[250:])
    blabels = [b.get("label") for b in batch]
    check(len(batch) == N and blabels == want, f"batch: {N} answers equal `loopai run`'s, in order",
          f"{len(batch)} answers; first difference at {next((i for i, (x, y) in enumerate(zip(blabels, want)) if x != y), None)}")
    mixed = c.classify_batch("sms_spam", [records[0], {"label": "ham"}, {"text": "x"}, records[1]])
    check([m.get("label") for m in mixed[::3]] == [want[0], want[1]]
          and mixed[1].get("index") == 1 and mixed[1]["error"]["code"] == "missing_field"
          and mixed[2].get("index") == 2 and mixed[2]["error"]["code"] == "missing_field"
          and LoopaiError.from_item(mixed[1]).code == "missing_field" and LoopaiError.from_item(mixed[0]) is None,
          "batch: a refused input is answered in its place, the others still are", json.dumps(mixed)[:400])

    # Refusals raise LoopaiError with the server's code.
    def refused(what, fn, status, code):
        try:
            got = fn()
        except LoopaiError as e:
            return check(e.status == status and e.code == code and e.message,
                         f"error: {what} raises {code} ({status})", f"got {e.code} ({e.status}): {e.message}")
        return check(False, f"error: {what} raises {code} ({status})", f"no error: {got}")

    refused("unknown task", lambda: c.classify("no_such_task", records[0]), 404, "unknown_task")
    refused("missing text", lambda: c.classify("sms_spam", {"label": "ham"}), 422, "missing_field")
    refused("missing label field (labels oracle)", lambda: c.classify("sms_spam", {"text": "hi"}), 422, "missing_field")
    refused("text not a string", lambda: c.classify("sms_spam", {"text": 5, "label": "ham"}), 422, "invalid_input")
    refused("id not a string or whole number", lambda: c.classify("sms_spam", records[0], id=1.5), 400, "invalid_request")
    refused("batch of unknown task", lambda: c.classify_batch("nope", records[:2]), 404, "unknown_task")
    refused("feedback for an unknown request", lambda: c.feedback("sms_spam", "never-sent", "ham"), 404, "unknown_request")
    refused("feedback with a label the task lacks", lambda: c.feedback("sms_spam", "t-1", "maybe"), 422, "invalid_label")
    refused("status of unknown task", lambda: c.status("nope"), 404, "unknown_task")

    fb = c.feedback("sms_spam", "t-3", records[2]["label"])
    check(fb == {"stored": True, "label": records[2]["label"], "program": want[2]}, "feedback by id: stored, with the program's answer", str(fb))
    fb = c.feedback("sms_spam", input={"text": "see you at 6"}, label="ham")
    check(fb.get("stored") is True and fb.get("program") is None, "feedback by input: stored", str(fb))

    s = c.status("sms_spam")
    check(s["task"] == "sms_spam" and s["requests"] == 2 * N + 1 + 2 and s["feedback"] == 2,
          "status: requests and feedback counted", f"requests {s.get('requests')}, feedback {s.get('feedback')}")
    check([t["task"] for t in c.tasks()] == ["sms_spam"], "tasks: sms_spam")
    c.close()

    # The load generator: 300 records over 4 connections, then 300 in batches of 50.
    for extra, label in (([], "single"), (["--batch", "50"], "batch 50")):
        rp = subprocess.run([sys.executable, REPLAY, "--url", server.url, "--task", "sms_spam", "--stream", os.path.join(tmp, "first.jsonl"),
                             "--connections", "4", "--limit", "300", "--duration", "20", "--json"] + extra,
                            cwd=ROOT, capture_output=True, text=True, timeout=left(25))
        try:
            rep = json.loads(rp.stdout)
        except ValueError:
            check(False, f"replay-http ({label}) prints a JSON report", rp.stdout[-300:] + rp.stderr[-300:])
            continue
        correct = sum(1 for r, w in zip(records[:300], want[:300]) if r["label"] == w)
        check(rp.returncode == 0 and rep["records"] == 300 and rep["answered"] == 300 and rep["errors"] == 0
              and rep["http_requests"] == (300 if not extra else 6),
              f"replay-http ({label}): 300 records sent and answered, no errors",
              f"status {rp.returncode}: " + json.dumps({k: rep.get(k) for k in ("records", "answered", "errors", "errors_by_code", "http_requests")}))
        check(rep["versions"] == {"1": 300} and rep["labeled"] == 300 and rep["correct"] == correct,
              f"replay-http ({label}): versions and accuracy as `loopai run` predicts ({correct}/300)",
              json.dumps({k: rep.get(k) for k in ("versions", "labeled", "correct", "accuracy")}))
    rp = subprocess.run([sys.executable, REPLAY, "--url", "http://192.0.2.1:8080", "--task", "sms_spam", "--stream", os.path.join(tmp, "first.jsonl")],
                        capture_output=True, text=True, timeout=left(10))
    check(rp.returncode == 2 and "loopback" in rp.stderr, "replay-http refuses a URL that is not loopback", rp.stderr)


def restart(store, stopped):
    """A server started again on the same store resumes the run at the request it stopped at."""
    m = re.search(r"stopped at request (\d+)", stopped[0]) if stopped else None
    if not m:
        return
    server = Server(store)
    try:
        resumed = [l for l in server.lines if "resumed run" in l]
        check(any(f"at request {m.group(1)}," in l for l in resumed), f"restart: resumes the run at request {m.group(1)}", server.stderr()[-500:])
        with Client(server.url, timeout=10) as c:
            s = c.status("sms_spam")
        check(s["requests"] == int(m.group(1)), "restart: the request count goes on", f"{s['requests']}")
        status = server.terminate()
        check(status == 0, "restart: SIGTERM exits with status 0", f"status {status}")
    finally:
        server.kill()


if __name__ == "__main__":
    code = 1
    try:
        code = main()
    except Exception as e:  # a crash is a failure, reported like the others
        import traceback
        traceback.print_exc()
        check(False, "the test ran to its end", f"{type(e).__name__}: {e}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or code else 0)
