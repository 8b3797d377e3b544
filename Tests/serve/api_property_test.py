#!/usr/bin/env python3
"""Property-based test of `loopai serve` against Docs/openapi.yaml.

Starts a real server (binary from $LOOPAI, default .build/debug/loopai) on 127.0.0.1 with a fresh
store, then sends every operation of the spec:
  - cases schemathesis generates from the spec: valid ones, ones with random path parameters,
    ones that break the schema, and its deterministic boundary cases;
  - a valid body with each field replaced in turn by edge values (numbers past Int64, NUL,
    deep nesting, other types), and random bytes with random content types, to every POST endpoint.
Properties: no 5xx and no dropped connection; every 4xx is JSON with the body
{"error": {"code": string, "message": string}}; every response conforms to the spec (status
code documented, content type, body schema); the server never crashes (after a crash it is
restarted so that the other endpoints are still tested) nor logs an internal error or a failed
control step, it is alive at the end, and SIGTERM stops it with exit code 0. Ends with `N passed, M failed`; exits 1 on any failure.
Knobs: $API_TEST_SEED (default 1), $API_TEST_EXAMPLES (per operation and strategy, default 40).
"""
import collections, copy, ctypes, functools, json, os, re, secrets, signal, subprocess, sys, tempfile, threading, time
from pathlib import Path

import requests, yaml
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

ROOT = Path(__file__).resolve().parents[2]
LOOPAI = os.path.abspath(os.environ.get("LOOPAI", ROOT / ".build/debug/loopai"))
SEED = int(os.environ.get("API_TEST_SEED", "1"))
EXAMPLES = int(os.environ.get("API_TEST_EXAMPLES", "40"))
BUDGET = 90.0  # seconds for all the requests; the groups left after it fail as not run
TASK, TOKEN = "sms_spam", secrets.token_hex(16)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Values a client may send in any field: numbers past Int64 and 1e15, NUL, long and odd text, other types.
EDGE = [0, -1, 1.5, -0.0, 1e15, 999999999999999, -(2**53), 2**63, -(2**63) - 1, 10**19, 1e300, -1e300, 5e-324,
        "", "\u0000", "x" * 5000, "spam", "ham", "sms_spam", "v1", "ESC-1", "1", "\U0001F600", True, False, None, [], {},
        [[[[["deep"]]]]], {"text": "hi"}]
REMOVE = object()
# Valid bodies whose fields the edge values replace one at a time (this server reads the label field).
BASES = {
    "/v1/tasks/{task}/classify": {"id": "req-42", "text": "WINNER!! Claim your prize: call 09061701461 now", "label": "spam"},
    "/v1/tasks/{task}/classify/batch": {"inputs": [{"id": 7, "text": "see you at 6?", "label": "ham"}]},
    "/v1/tasks/{task}/feedback": {"id": "req-42", "label": "spam"},
    "/v1/tasks/{task}/escalations/{id}/resolve": {"program": "program sms_spam", "dry_run": True, "force": False},
}
RAW = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode), st.sampled_from(
    [b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"text":1}', b'{"inputs":{}}', b'{"label":[]}', b"[" * 300 + b"]" * 300,
     b'{"text":"a","label":"spam","id":1e300}', b'{"text":"a","text":2,"label":"ham"}']))
TYPES = st.sampled_from(["application/json", "application/problem+json", "APPLICATION/JSON; charset=utf-8", "text/plain", ""])
PRCTL = ctypes.CDLL(None).prctl  # resolved before any thread starts


def die_with_parent():
    """The server gets SIGKILL if this test dies (Linux prctl PR_SET_PDEATHSIG)."""
    PRCTL(1, signal.SIGKILL)


class Server:
    """A `loopai serve` process on a free loopback port; `restart_if_dead` says why it died."""

    def __init__(self, store):
        self.store, self.log, self.logs = store, [], []  # this process's log, and every process's
        self.start()

    def start(self):
        env = {k: v for k, v in os.environ.items() if k != "LOOPAI_CLIENT_TOKEN"}
        env["LOOPAI_ADMIN_TOKEN"] = TOKEN
        cmd = [LOOPAI, "serve", "--task", "Examples/sms_spam/task.yaml", "--program", "Examples/sms_spam/program.loop",
               "--oracle", "labels:label", "--host", "127.0.0.1", "--port", "0", "--store", self.store]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, errors="replace", preexec_fn=die_with_parent)
        log, ready, port = [], threading.Event(), []
        self.log = log
        self.logs.append(log)

        def read(stream):
            for line in stream:
                log.append(line.rstrip("\n"))
                if m := re.match(r"serve: listening on http://127\.0\.0\.1:(\d+) ", line):
                    port.append(int(m.group(1)))
                    ready.set()
        threading.Thread(target=read, args=(self.proc.stderr,), daemon=True).start()
        if not ready.wait(60):
            self.proc.kill()
            sys.exit("the server did not start:\n" + "\n".join(log[-20:]))
        self.base = f"http://127.0.0.1:{port[0]}"

    def alive(self):
        return self.proc.poll() is None

    def restart_if_dead(self):
        """None if the server still runs after a dropped connection; else why it died (from its log), after starting it again."""
        try:
            self.proc.wait(20)  # a crashing Swift process prints its backtrace first
        except subprocess.TimeoutExpired:
            return None
        time.sleep(0.2)  # the log's last lines
        fatal = next((l for l in self.log if "Fatal error" in l), f"exit code {self.proc.returncode}")
        where = next((m.group(0) for l in self.log if (m := re.search(r"Sources/LoopServe/\S+", l))), "?")
        self.start()
        return f"the server crashed: {fatal.strip()} (at {where})"


def header(resp, name):
    value = resp.headers.get(name) or ""  # schemathesis' responses have lists of values
    return value if isinstance(value, str) else ",".join(value)


def problems_of(case, resp, request):
    """What is wrong with one response."""
    out = []
    if 400 <= resp.status_code < 500:
        try:
            body = resp.json()
            ok = header(resp, "content-type").startswith("application/json") and set(body) == {"error"} \
                and isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            out.append(f"{resp.status_code} without the error body: {header(resp, 'content-type')!r} {resp.text[:200]!r}\n  to {request[:600]}")
    try:
        case.validate_response(resp, checks=CHECKS)
    except (FailureGroup, Exception) as e:  # what schemathesis found
        out.append(f"{resp.status_code} {resp.text[:300]!r}\n  to {request[:600]}\n{str(e).strip()[:800]}")
    return out


def mutations(x, path=()):
    """(where, value) pairs: every edge value, and removal, at every place in `x`."""
    if isinstance(x, (dict, list)):
        for k, v in (x.items() if isinstance(x, dict) else enumerate(x)):
            yield from mutations(v, path + (k,))
    for value in EDGE + ([REMOVE] if path else []):
        yield path, value


def mutated(x, path, value):
    if not path:
        return value
    x = copy.deepcopy(x)
    parent = functools.reduce(lambda t, k: t[k], path[:-1], x)
    if value is REMOVE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return x


class Group:
    """Requests of one kind to one operation; fails on the first wrong answer."""
    passed = failed = 0

    def __init__(self, name):
        self.name, self.problems, self.statuses = name, [], collections.Counter()

    def report(self):
        counts = ", ".join(f"{n}×{c}" for c, n in sorted(self.statuses.items()))
        print(("FAIL " if self.problems else "ok   ") + self.name + (f" ({counts})" if counts else ""))
        for p in self.problems[:3]:
            print("  " + p.replace("\n", "\n  "))
        if self.problems:
            Group.failed += 1
        else:
            Group.passed += 1


def main():
    spec = yaml.safe_load((ROOT / "Docs/openapi.yaml").read_text())
    # This server validates with --oracle labels:label: classify bodies need the field, a label of the task.
    spec["components"]["schemas"]["ClassifyInput"]["required"] = ["text", "label"]
    spec["components"]["schemas"]["ClassifyInput"]["properties"]["label"] = {"enum": ["spam", "ham"]}
    schema = schemathesis.openapi.from_dict(spec)
    ops = [r.ok() for r in schema.get_all_operations()]
    session = requests.Session()
    session.trust_env = False  # no proxy: 127.0.0.1 only

    with tempfile.TemporaryDirectory(prefix="loopai-api-") as store:
        server = Server(store)
        t0 = time.monotonic()
        crashes = []
        print(f"server {server.base} (pid {server.proc.pid}), seed {SEED}, {EXAMPLES} examples per strategy")

        def send(g, case, request, **kwargs):
            """Sends one request (a schemathesis case, or `kwargs` for requests) and checks the answer."""
            if g.problems or time.monotonic() - t0 > BUDGET:
                return
            try:
                if kwargs:
                    resp = session.request(timeout=10, url=server.base + kwargs.pop("path"), **kwargs)
                else:
                    resp = case.call(base_url=server.base, session=session, timeout=10)
            except requests.RequestException as e:
                if crash := server.restart_if_dead():
                    crashes.append(crash)
                return g.problems.append(f"no response: {crash or e}\n  to {request[:600]}")
            g.statuses[resp.status_code] += 1
            g.problems += problems_of(case, resp, request)

        def call_case(g, case):
            send(g, case, case.as_curl_command(base_url=server.base))

        def run(name, cases=(), strategy=None, each=call_case):
            """Sends `cases`, or EXAMPLES drawn from `strategy`, through `each`, and reports."""
            g = Group(name)
            if time.monotonic() - t0 > BUDGET:
                g.problems.append(f"not run: out of time ({BUDGET:.0f} s)")
            elif strategy is not None:
                @seed(SEED)
                @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                          suppress_health_check=list(HealthCheck), print_blob=False)
                @given(strategy)
                def prop(x):
                    each(g, x)
                try:
                    prop()
                except Exception as e:  # a bug of the test itself
                    g.problems.append(f"the test raised {type(e).__name__}: {e}")
            else:
                for x in cases:
                    each(g, x)
            g.report()

        try:
            for op in ops:
                paths = [{"task": TASK}] + [{"task": TASK, "id": i} for i in ("1", "v1", "ESC-1") if "{id}" in op.path]
                run(f"{op.label} [valid]", strategy=st.one_of([op.as_strategy(path_parameters=p, headers=AUTH) for p in paths]))
                if "{task}" in op.path:
                    run(f"{op.label} [random path]", strategy=op.as_strategy())
                if len(op.body):
                    run(f"{op.label} [invalid]", strategy=op.as_strategy(GenerationMode.NEGATIVE, path_parameters=paths[0], headers=AUTH))
                # Schemathesis' deterministic boundary cases (methods other than the operation's are outside the spec).
                cases = [c for c in schema.iter_coverage_cases(op, generation_modes=list(GenerationMode),
                                                               generation_config=schema.config.generation_for(operation=op))
                         if c.method.upper() == op.method.upper()]
                for c in cases:
                    c.headers = {**(c.headers or {}), **AUTH}
                run(f"{op.label} [boundaries]", cases)
                if op.method != "post":
                    continue

                path = op.path.replace("{task}", TASK).replace("{id}", "1")
                case = op.Case(path_parameters={"task": TASK, "id": "1"})
                if op.path in BASES:
                    def edge(g, m, path=path, case=case, base=BASES[op.path]):
                        body = mutated(base, *m)
                        send(g, case, f"POST {path} {json.dumps(body)[:300]}", method="POST", path=path, json=body, headers=AUTH)
                    run(f"{op.label} [edge values]", list(mutations(BASES[op.path])), each=edge)

                def raw(g, x, path=path, case=case):
                    body, ctype = x
                    headers = {**AUTH, **({"Content-Type": ctype} if ctype else {})}
                    send(g, case, f"POST {path} Content-Type={ctype!r} body={body[:120]!r}", method="POST", path=path, data=body, headers=headers)
                run(f"{op.label} [raw bodies]", strategy=st.tuples(RAW, TYPES), each=raw)

            classify = next(op for op in ops if op.path == "/v1/tasks/{task}/classify")

            def too_large(g, _):
                send(g, classify.Case(path_parameters={"task": TASK}), "a 4 MiB + 1 body", method="POST", path=f"/v1/tasks/{TASK}/classify",
                     data=b" " * (4 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"})
                if not g.problems and not g.statuses[413]:
                    g.problems.append(f"a 4 MiB + 1 body -> {dict(g.statuses)}, not 413")
            run("POST /v1/tasks/{task}/classify [a body over the limit is 413]", [None], each=too_large)

        except BaseException:  # the test itself failed, or was interrupted: leave no server behind
            server.proc.kill()
            raise

        g = Group("the server never crashed")
        g.problems = [f"{n}× {c}" for c, n in collections.Counter(crashes).items()]
        g.report()
        g = Group("the server logged no internal error and no failed control step")
        g.problems = [l for log in server.logs for l in log if re.search(r"internal error|step failed", l)]
        g.report()
        g = Group("the server is alive at the end")
        try:
            session.get(server.base + "/healthz", timeout=10).raise_for_status()
        except requests.RequestException as e:
            g.problems.append(f"GET /healthz: {e}")
        g.report()
        g = Group("SIGTERM stops the server with exit code 0")
        if server.alive():
            server.proc.send_signal(signal.SIGTERM)
        try:
            code = server.proc.wait(30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            code = "none (killed after 30 s)"
        g.problems = [] if code == 0 else [f"exit code {code}"]
        g.report()
        print(f"elapsed {time.monotonic() - t0:.1f} s")
    print(f"{Group.passed} passed, {Group.failed} failed")
    return 1 if Group.failed else 0


if __name__ == "__main__":
    sys.exit(main())
