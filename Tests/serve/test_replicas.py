#!/usr/bin/env python3
"""Three `loopai serve` replicas on 127.0.0.1 sharing one real PostgreSQL store (issue 10):

- a client spreads the SMS drift stream over the three (request i goes to replica i % 3);
- exactly one replica leads the task; the others follow it;
- the leader's candidate reaches canary; the leader is killed with SIGKILL mid-canary;
- another replica takes the leadership over within the lease and finishes the rollout: the
  candidate is promoted once, and every surviving replica switches to it;
- no request fails; every answer names a version the store holds;
- the counts in the store are what the clients sent and sampled: per replica stopped cleanly,
  requests committed = requests sent; per replica, sampled = validated + unvalidated and the
  stored (non-shadow) executions = validated; nothing stored twice.

  scripts/with-postgres env LOOPAI=.build/debug/loopai python3 Tests/serve/test_replicas.py

Needs LOOPAI_TEST_POSTGRES and PGPASSWORD (scripts/with-postgres sets them) and psql.
Prints one line per check and `N passed, M failed`; exits 1 when a check failed. Bounded: the
whole test gives up after 420 s (a debug build makes candidates slowly).
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "Examples", "serve_client"))
from client import Client, LoopaiError  # noqa: E402

LOOPAI = os.environ.get("LOOPAI", ".build/debug/loopai")
if not os.path.isabs(LOOPAI):
    LOOPAI = os.path.join(ROOT, LOOPAI)
PG = os.environ.get("LOOPAI_TEST_POSTGRES", "")
DRIFT = os.path.join(ROOT, "Examples/drift/sms")
TOKEN = "replica-admin-token"
DEADLINE = time.monotonic() + 420

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL  {what}" + (f": {detail}" if detail else ""), flush=True)
    return ok


def left(cap):
    return max(0.1, min(cap, DEADLINE - time.monotonic()))


def psql(sql):
    out = subprocess.run(["psql", PG, "-At", "-F", "\t", "-c", sql], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


class Replica:
    def __init__(self, name, task_file, tmp):
        self.name = name
        self.lines = []
        self.port = None
        self.listening = threading.Event()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPAI_")}
        env["LOOPAI_ADMIN_TOKEN"] = TOKEN
        self.proc = subprocess.Popen(
            [LOOPAI, "serve", "--task", task_file, "--oracle", "labels:label", "--generator", "induce",
             "--store", PG, "--replica", name, "--lease-seconds", "2", "--commit-interval", "0.05", "--port", "0"],
            cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        threading.Thread(target=self._read, daemon=True).start()
        if not self.listening.wait(left(60)):
            self.kill()
            raise RuntimeError(f"{name} did not start listening:\n" + self.stderr())
        self.client = Client(f"http://127.0.0.1:{self.port}", token=TOKEN, timeout=30)

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            m = re.match(r"serve: listening on http://127\.0\.0\.1:(\d+) \(tasks: ", line)
            if m:
                self.port = int(m.group(1))
                self.listening.set()

    def stderr(self):
        # The last lines, and any crash report's message (it comes before a long backtrace).
        crash = [line for line in self.lines if re.search(r"Fatal|fatal error|BUG|Precondition|Simultaneous|crashed", line)]
        return "\n".join(crash[:10] + self.lines[-40:])

    def status(self, task):
        return self.client.status(task)

    def terminate(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=left(40))
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def main():
    if not PG:
        check(False, "a PostgreSQL server is named", "set LOOPAI_TEST_POSTGRES (scripts/with-postgres does)")
        return 1
    if not os.access(LOOPAI, os.X_OK):
        check(False, "the loopai binary is there", f"no executable at {LOOPAI} (set LOOPAI)")
        return 1
    subprocess.run([os.path.join(ROOT, "Examples/drift/prepare")], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    tmp = tempfile.mkdtemp(prefix="loopai-replicas-")
    # A task name of its own: the database may hold other tests' tasks.
    task = f"sms_drift_r{random.randrange(10**8)}"
    with open(os.path.join(DRIFT, "task.yaml"), encoding="utf-8") as f:
        yaml = f.read().replace("name: sms_drift", f"name: {task}", 1).replace("data: seed.jsonl", f"data: {DRIFT}/seed.jsonl", 1)
    task_file = os.path.join(tmp, "task.yaml")
    with open(task_file, "w", encoding="utf-8") as f:
        f.write(yaml)
    with open(os.path.join(DRIFT, "stream.jsonl"), encoding="utf-8") as f:
        stream = [json.loads(line) for line in f if line.strip()]

    replicas = {}
    try:
        for name in ("r1", "r2", "r3"):
            replicas[name] = Replica(name, task_file, tmp)
        sent = {name: 0 for name in replicas}
        answers = []          # (request id, version)
        errors = []
        lock = threading.Lock()

        def records_from(first, n):
            """The stream, then its drifted part (the last 2,500) again and again."""
            tail = stream[-2500:]
            return [stream[k] if k < len(stream) else tail[(k - len(stream)) % len(tail)] for k in range(first, first + n)]

        def send(records, first, alive):
            """Spreads records over the alive replicas (request i to alive[i % n]), 3 clients at once."""
            nxt = [0]

            def worker():
                # A connection per client thread and replica (http.client is not thread-safe).
                clients = {n: Client(f"http://127.0.0.1:{replicas[n].port}", timeout=30) for n in alive}
                while True:
                    with lock:
                        k = nxt[0]
                        nxt[0] += 1
                    if k >= len(records):
                        return
                    rid = first + k
                    name = alive[rid % len(alive)]
                    rec = dict(records[k])
                    try:
                        a = clients[name].classify(task, rec, id=str(rid))
                        with lock:
                            sent[name] += 1
                            answers.append((rid, a["version"]))
                    except Exception as e:  # noqa: BLE001
                        with lock:
                            errors.append((rid, name, repr(e)))
            threads = [threading.Thread(target=worker) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        def leader_of(alive):
            for name in alive:
                try:
                    w = replicas[name].status(task).get("task_wide") or {}
                except LoopaiError:
                    continue
                if w.get("leader"):
                    return w["leader"]
            return None

        alive = ["r1", "r2", "r3"]
        # Wait for the leadership to settle.
        while leader_of(alive) is None and time.monotonic() < DEADLINE:
            time.sleep(0.1)
        leader = leader_of(alive)
        check(leader in alive, "one replica leads the task", f"leader {leader!r}")
        leaders_seen = {replicas[n].status(task)["task_wide"]["this_replica_leads"] for n in alive}
        check(sorted(leaders_seen) == [False, True], "exactly one replica says it leads")

        # The stream in chunks until the candidate is in canary; then the leader dies.
        first = 0
        killed = None
        chunk = 60
        rounds = 0
        while killed is None and time.monotonic() < DEADLINE - 120 and rounds < 400:
            rounds += 1
            part = records_from(first, chunk)
            send(part, first, alive)
            first += len(part)
            st = replicas[leader].status(task)
            c = st.get("candidate")
            if c and c.get("stage") == "canary":
                killed = leader
                replicas[leader].kill()
                alive = [n for n in alive if n != leader]
                print(f"      killed the leader {leader} (SIGKILL) with v{c['version']} in canary at {c['share']:.0%}, "
                      f"after {first} requests", flush=True)
                candidate = c["version"]
        check(killed is not None, "the leader's candidate reached canary and the leader was killed mid-canary",
              replicas[leader].stderr() if killed is None else "")
        if killed is None:
            return 1

        # Another replica takes over within the lease (2 s) and finishes the rollout.
        t0 = time.monotonic()
        successor = None
        while time.monotonic() - t0 < 10:
            successor = leader_of(alive)
            if successor in alive:
                break
            time.sleep(0.1)
        took = time.monotonic() - t0
        check(successor in alive, f"a surviving replica leads within the lease (took {took:.1f} s)", f"leader {successor!r}")
        while time.monotonic() < DEADLINE - 40:
            part = records_from(first, chunk)
            send(part, first, alive)
            first += len(part)
            act = [replicas[n].status(task)["active_version"] for n in alive]
            if all(a == candidate for a in act):
                break
            if psql(f"SELECT status FROM program_version WHERE id = {candidate}")[0][0] in ("rejected", "rolled_back"):
                break
        # The successor decides the rollout once: promoted (the usual outcome of the drift stream)
        # or rolled back when the candidate regressed on its share of the traffic; either way every
        # surviving replica ends up on the store's active version.
        final = psql(f"SELECT status FROM program_version WHERE id = {candidate}")[0][0]
        check(final in ("active", "rolled_back"), f"the successor finished the rollout of v{candidate} ({final})",
              " | ".join(replicas[n].stderr()[-600:] for n in alive))
        decisions = psql(f"SELECT COUNT(*) FROM rollout WHERE task = '{task}' AND candidateId = {candidate} AND stage IN ('promoted', 'rolled_back')")
        check(decisions == [["1"]], "the rollout was decided exactly once", f"{decisions}")
        active = psql(f"SELECT id FROM program_version WHERE task = '{task}' AND status = 'active'")
        check(len(active) == 1 and (final != "active" or active[0][0] == str(candidate)), "the store has one active version", f"{active}")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 5:
            act = [replicas[n].status(task)["active_version"] for n in alive]
            if all(str(a) == active[0][0] for a in act):
                break
            time.sleep(0.1)
        check(all(str(a) == active[0][0] for a in act), f"every surviving replica serves v{active[0][0]}", f"{act}")

        check(not errors, f"every request was answered ({len(answers)} of {first})", f"{errors[:3]}")
        held = {int(r[0]) for r in psql(f"SELECT id FROM program_version WHERE task = '{task}'")}
        check(all(v in held for _, v in answers), "every answer names a version the store holds")

        # Stop the survivors cleanly: their committed counts equal what they were sent.
        for n in alive:
            check(replicas[n].terminate() == 0, f"{n} stops on SIGTERM with status 0", replicas[n].stderr())
        runs = psql(f"SELECT id, streamPath, state FROM run WHERE taskName = '{task}' ORDER BY id")
        by_replica = {}
        for rid, path, state in runs:
            by_replica[path.split(":", 1)[1]] = (int(rid), json.loads(state))
        check(sorted(by_replica) == ["r1", "r2", "r3"], "one run per replica", f"{sorted(by_replica)}")
        for n in ("r1", "r2", "r3"):
            rid, s = by_replica[n]
            if n == killed:
                check(s["requests"] <= sent[n], f"{n} (killed) committed at most what it was sent ({s['requests']} of {sent[n]})")
            else:
                check(s["requests"] == sent[n], f"{n}: requests committed = requests sent ({s['requests']} = {sent[n]})")
            check(s["sampled"] == s["validated"] + s["unvalidated"], f"{n}: sampled = validated + unvalidated "
                  f"({s['sampled']} = {s['validated']} + {s['unvalidated']})")
            stored = psql(f"SELECT COUNT(*), COUNT(DISTINCT seq) FROM execution WHERE runId = {rid} AND stratum != 'shadow'")[0]
            check(int(stored[0]) == s["validated"] and stored[0] == stored[1],
                  f"{n}: stored sampled executions = validated, none twice ({stored[0]} = {s['validated']})")
        return 0 if failed == 0 else 1
    finally:
        for r in replicas.values():
            if failed or r.proc.poll() not in (None, 0, -9):
                print(f"      {r.name} (exit {r.proc.poll()}):\n" + "\n".join(r.lines[-400:]), flush=True)
            print(f"      {r.name}: exit status {r.proc.poll()}", flush=True)
            r.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def restart_scenario():
    """PostgreSQL restarted under load: the replicas keep answering from their snapshots, keep
    their samples, reconnect, and commit everything once the server is back."""
    pgdir = os.environ.get("LOOPAI_TEST_POSTGRES_DIR")
    if not check(bool(pgdir), "the PostgreSQL directory is named (to restart it)", "set LOOPAI_TEST_POSTGRES_DIR (scripts/with-postgres does)"):
        return
    tmp = tempfile.mkdtemp(prefix="loopai-replicas-restart-")
    task = f"sms_spam_r{random.randrange(10**8)}"
    sms = os.path.join(ROOT, "Examples/sms_spam")
    with open(os.path.join(sms, "task.yaml"), encoding="utf-8") as f:
        yaml = (f.read().replace("name: sms_spam", f"name: {task}", 1)
                .replace("data: data.jsonl", f"data: {sms}/data.jsonl", 1).replace("program: program.loop", f"program: {sms}/program.loop", 1))
    task_file = os.path.join(tmp, "task.yaml")
    with open(task_file, "w", encoding="utf-8") as f:
        f.write(yaml)
    with open(os.path.join(sms, "data.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    replicas = {}
    try:
        for name in ("p1", "p2"):
            replicas[name] = Replica(name, task_file, tmp)
        sent = {n: 0 for n in replicas}
        errors = []
        stop = threading.Event()

        def client(name):
            c = Client(f"http://127.0.0.1:{replicas[name].port}", timeout=30)
            k = 0
            while not stop.is_set():
                rec = records[k % len(records)]
                try:
                    c.classify(task, rec, id=f"{name}-{k}")
                    sent[name] += 1
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))
                k += 1
        threads = [threading.Thread(target=client, args=(n,)) for n in replicas]
        for t in threads:
            t.start()
        time.sleep(2)
        before = dict(sent)
        out = subprocess.run([os.path.join(ROOT, "scripts/pg-test-server"), "restart", pgdir], capture_output=True, text=True)
        check(out.returncode == 0, "PostgreSQL restarted", out.stderr)
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join()
        check(not errors, f"every request was answered while PostgreSQL restarted ({sum(sent.values())} requests)", f"{errors[:3]}")
        check(all(sent[n] > before[n] for n in sent), "both replicas kept answering during the restart", f"{before} -> {sent}")
        for n in replicas:
            check(replicas[n].terminate() == 0, f"{n} stops on SIGTERM with status 0", replicas[n].stderr())
            failed_steps = sum("control step failed" in line for line in replicas[n].lines)
            print(f"      {n}: {failed_steps} control step(s) failed while the server was down", flush=True)
        for rid, path, state in psql(f"SELECT id, streamPath, state FROM run WHERE taskName = '{task}' ORDER BY id"):
            n = path.split(":", 1)[1]
            st = json.loads(state)
            check(st["requests"] == sent[n], f"{n}: requests committed = requests sent across the restart ({st['requests']} = {sent[n]})")
            check(st["sampled"] == st["validated"] + st["unvalidated"],
                  f"{n}: sampled = validated + unvalidated ({st['sampled']} = {st['validated']} + {st['unvalidated']})")
            stored = psql(f"SELECT COUNT(*), COUNT(DISTINCT seq) FROM execution WHERE runId = {rid} AND stratum != 'shadow'")[0]
            check(int(stored[0]) == st["validated"] and stored[0] == stored[1],
                  f"{n}: stored sampled executions = validated, none twice ({stored[0]} = {st['validated']})")
    finally:
        for r in replicas.values():
            r.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def budget_scenario():
    """The oracle budget is the task's: two replicas with max_oracle_calls_per_hour 40 make at
    most 40 oracle calls together (each counts the other's), not 40 each."""
    tmp = tempfile.mkdtemp(prefix="loopai-replicas-budget-")
    task = f"sms_spam_b{random.randrange(10**8)}"
    sms = os.path.join(ROOT, "Examples/sms_spam")
    with open(os.path.join(sms, "task.yaml"), encoding="utf-8") as f:
        yaml = (f.read().replace("name: sms_spam", f"name: {task}", 1)
                .replace("data: data.jsonl", f"data: {sms}/data.jsonl", 1).replace("program: program.loop", f"program: {sms}/program.loop", 1))
    yaml = re.sub(r"\nvalidation:\n", "\nvalidation:\n  max_oracle_calls_per_hour: 40\n  pacing: false\n", yaml, count=1)
    task_file = os.path.join(tmp, "task.yaml")
    with open(task_file, "w", encoding="utf-8") as f:
        f.write(yaml)
    with open(os.path.join(sms, "data.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()][:3000]
    replicas = {}
    try:
        for name in ("b1", "b2"):
            replicas[name] = Replica(name, task_file, tmp)

        def client(name, part):
            c = Client(f"http://127.0.0.1:{replicas[name].port}", timeout=30)
            for k, rec in part:
                c.classify(task, rec, id=f"{k}")
                if k % 50 == 0:
                    time.sleep(0.05)  # a steady stream: the replicas' commits interleave
        threads = [threading.Thread(target=client, args=(n, [(k, r) for k, r in enumerate(records) if k % 2 == i]))
                   for i, n in enumerate(replicas)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elsewhere = [replicas[n].status(task)["task_wide"]["oracle_calls_elsewhere"] for n in replicas]
        for n in replicas:
            replicas[n].terminate()
        calls = int(psql(f"SELECT COUNT(*) FROM oracle_answer WHERE task = '{task}' AND source = 'labels'")[0][0])
        check(all(e > 0 for e in elsewhere), f"each replica counted the other's oracle calls ({elsewhere})")
        # Each learns of the other's calls within a step of their commit: a few calls may overlap.
        check(calls <= 44, f"the two replicas together stayed within the task's 40 calls an hour ({calls} calls)")
    finally:
        for r in replicas.values():
            r.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        code = main()
        restart_scenario()
        budget_scenario()
    except Exception as e:  # noqa: BLE001
        import traceback
        check(False, "the test ran to its end", traceback.format_exc())
        code = 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else code)
