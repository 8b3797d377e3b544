#!/usr/bin/env python3
"""Switch time and failover of two replicas (Benchmarks/replicas.sh runs it):
  replicas-switch.py PORT_A PORT_B PID_A PID_B
The leader gets a new active version by hand (an escalation opened with psql, resolved with an
edited program over the admin API, then rolled back, alternately): the time from the admin call's
answer to the moment the other replica answers with the new version, polled every 5 ms. Then the
leader is killed with SIGKILL: the time until the other replica says it leads."""
import json, os, signal, subprocess, sys, time, urllib.request

PG = os.environ["LOOPAI_TEST_POSTGRES"]
ports = {"a": int(sys.argv[1]), "b": int(sys.argv[2])}
pids = {"a": int(sys.argv[3]), "b": int(sys.argv[4])}
TASK = "sms_spam"


def call(name, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{ports[name]}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer bench", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def psql(sql):
    return subprocess.run(["psql", PG, "-At", "-c", sql], capture_output=True, text=True, check=True).stdout.strip()


def wide(name):
    return call(name, "GET", f"/v1/tasks/{TASK}")["task_wide"]


leader = next(n for n in ports if wide(n)["this_replica_leads"])
other = next(n for n in ports if n != leader)
program = open("Examples/sms_spam/program.loop").read()
switches = []
for k in range(10):
    before = call(other, "GET", f"/v1/tasks/{TASK}")["active_version"]
    if k % 2 == 0:
        esc = psql(f"INSERT INTO escalation (task, status, reason, createdAt, ticketMarkdown, ticketJSON) "
                   f"VALUES ('{TASK}', 'open', 'benchmark', 0, '', '{{}}') RETURNING id").splitlines()[0]
        edited = program + f"\n// benchmark edit {k} {time.time()}\n"
        r = call(leader, "POST", f"/v1/tasks/{TASK}/escalations/{esc}/resolve", {"program": edited, "force": True})
        target = r["version"]
    else:
        target = call(leader, "POST", f"/v1/tasks/{TASK}/rollback")["active_version"]
    t0 = time.monotonic()
    while call(other, "GET", f"/v1/tasks/{TASK}")["active_version"] != target:
        if time.monotonic() - t0 > 10:
            sys.exit(f"replica {other} did not switch from v{before} to v{target} in 10 s")
        time.sleep(0.005)
    switches.append(time.monotonic() - t0)
switches.sort()
print(f"switch time (leader's change to the other replica answering with it), {len(switches)} changes: "
      f"median {switches[len(switches)//2]*1000:.0f} ms, max {switches[-1]*1000:.0f} ms")

os.kill(pids[leader], signal.SIGKILL)
t0 = time.monotonic()
while not wide(other)["this_replica_leads"]:
    if time.monotonic() - t0 > 30:
        sys.exit("no failover within 30 s")
    time.sleep(0.02)
print(f"failover: {leader} killed with SIGKILL; {other} leads after {time.monotonic() - t0:.2f} s (lease 5 s)")
