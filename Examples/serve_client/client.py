#!/usr/bin/env python3
"""A small client for `loopai serve` (Python standard library only).

As a library:

    from client import Client, LoopaiError
    c = Client("http://127.0.0.1:8080")
    a = c.classify("sms_spam", {"text": "WINNER!! Call 09061701461", "label": "spam"}, id="m-1")
    # {'id': 'm-1', 'label': 'spam', 'confidence': 0.99, 'decided_by': 'rule:premium_rate', 'version': 1}
    c.feedback("sms_spam", "m-1", "spam")
    c.status("sms_spam")["agreement"]

One `Client` holds one HTTP/1.1 keep-alive connection (reopened when the server closes it); it
is not thread-safe: give each thread its own. A refusal raises `LoopaiError` with the server's
HTTP status and its JSON error `code` and `message`.

As a command:

    python3 client.py --url http://127.0.0.1:8080 classify sms_spam "some text"
    python3 client.py classify sms_spam '{"text": "some text", "label": "ham"}' --id m-1
    python3 client.py classify sms_spam "some text" -f label=ham     # a labels:label server
    python3 client.py batch sms_spam inputs.jsonl                    # one answer per line
    python3 client.py feedback sms_spam m-1 spam
    python3 client.py status sms_spam
    python3 client.py tasks

The token (when the server has one) comes from --token or $LOOPAI_CLIENT_TOKEN.
Exit status: 0, 1 when the server refused (the error is printed on standard error), 2 for usage
errors and when the server cannot be reached.
"""
import argparse
import http.client
import json
import os
import sys
import urllib.parse

__all__ = ["Client", "LoopaiError"]


class LoopaiError(Exception):
    """A refusal by the server: `status` (HTTP), `code` and `message` (its JSON error body).

    Connection failures are not LoopaiError: they raise the usual OSError / http.client errors.
    """

    def __init__(self, status, code, message):
        super().__init__(f"{code}: {message} (HTTP {status})")
        self.status = status
        self.code = code
        self.message = message


class Client:
    def __init__(self, url="http://127.0.0.1:8080", token=None, timeout=30.0):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"the URL is http://HOST:PORT, not {url!r}")
        if u.path not in ("", "/") or u.query:
            raise ValueError(f"the URL is the server's root (http://HOST:PORT), not {url!r}")
        self.host = u.hostname
        self.port = u.port or 80
        self.token = token if token is not None else (os.environ.get("LOOPAI_CLIENT_TOKEN") or None)
        self.timeout = timeout
        self._conn = None
        #: Connections opened so far (1 for a whole session when keep-alive holds).
        self.connections_opened = 0

    # -- the API ---------------------------------------------------------------------------

    def classify(self, task, input, id=None):
        """Classifies one input (a dict of the task's fields, plus the label field when the server
        validates with `--oracle labels:FIELD`). Returns the answer: id, label, confidence,
        decided_by, version. Without `id` the server makes one up (returned in the answer)."""
        if not isinstance(input, dict):
            raise TypeError("an input is a dict of the task's fields, e.g. {'text': '...'}")
        body = dict(input)
        if id is not None:
            body["id"] = id
        return self._request("POST", f"/v1/tasks/{_seg(task)}/classify", body)

    def classify_batch(self, task, inputs):
        """Classifies a list of inputs in one request; the answers come back in order. An input
        the server refuses does not fail the batch: its place holds
        {"index": i, "error": {"code": ..., "message": ...}} (see `LoopaiError.from_item`)."""
        inputs = list(inputs)
        return self._request("POST", f"/v1/tasks/{_seg(task)}/classify/batch", {"inputs": inputs})["answers"]

    def feedback(self, task, id=None, label=None, input=None):
        """Tells the server the true label of a request it answered: by its `id` (the server
        remembers its recent requests), or by repeating its `input`."""
        if label is None:
            raise TypeError("feedback needs a label")
        body = {"label": label}
        if input is not None:
            body["input"] = input
        elif id is not None:
            body["id"] = id
        else:
            raise TypeError("feedback names the request (id) or repeats its input")
        return self._request("POST", f"/v1/tasks/{_seg(task)}/feedback", body)

    def status(self, task):
        """The task as it stands: active version, candidate, counts, agreement, report, events."""
        return self._request("GET", f"/v1/tasks/{_seg(task)}")

    def tasks(self):
        """A summary of every served task."""
        return self._request("GET", "/v1/tasks")["tasks"]

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- HTTP --------------------------------------------------------------------------------

    def _connection(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.connections_opened += 1
        return self._conn

    def _request(self, method, path, body=None):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        # A kept-alive connection the server has closed fails on first use: open a new one and
        # send again, once (nothing was answered, so nothing is sent twice).
        for attempt in (0, 1):
            reused = self._conn is not None
            conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                self.close()
                if attempt == 1 or not reused:
                    raise
            except Exception:
                self.close()
                raise
        if resp.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            doc = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            doc = None
        if 200 <= resp.status < 300:
            if doc is None:
                raise LoopaiError(resp.status, "invalid_response", f"the server's answer is not JSON: {raw[:200]!r}")
            return doc
        err = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(err, dict):
            raise LoopaiError(resp.status, err.get("code", "unknown"), err.get("message", ""))
        raise LoopaiError(resp.status, "http_error", f"HTTP {resp.status} {resp.reason}: {raw[:200].decode('utf-8', 'replace')}")


def _from_item(answer):
    """The LoopaiError of a refused batch item (None for an answer)."""
    err = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(err, dict):
        return None
    return LoopaiError(200, err.get("code", "unknown"), err.get("message", ""))


LoopaiError.from_item = staticmethod(_from_item)


def _seg(task):
    return urllib.parse.quote(str(task), safe="")


# -- the command line -----------------------------------------------------------------------

def _input_arg(text, field, extra):
    """A JSON object as given, or TEXT as {field: TEXT}; then the -f NAME=VALUE fields."""
    obj = None
    if text.lstrip().startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise SystemExit(f"error: the input looks like JSON but is not valid: {e}")
    if not isinstance(obj, dict):
        obj = {field: text}
    for kv in extra:
        name, sep, value = kv.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: -f takes NAME=VALUE, not {kv!r}")
        obj[name] = value
    return obj


def _read_jsonl(path, field, extra):
    f = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise SystemExit(f"error: {path}:{n}: not JSON: {e}")
            if not isinstance(obj, dict):
                obj = {field: obj if isinstance(obj, str) else json.dumps(obj)}
            for kv in extra:
                name, _, value = kv.partition("=")
                obj[name] = value
            yield obj


def main(argv=None):
    ap = argparse.ArgumentParser(description="A client for `loopai serve`.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("As a command:", 1)[1])
    ap.add_argument("--url", default=os.environ.get("LOOPAI_URL", "http://127.0.0.1:8080"),
                    help="the server (default: $LOOPAI_URL, else http://127.0.0.1:8080)")
    ap.add_argument("--token", help="bearer token (default: $LOOPAI_CLIENT_TOKEN)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("classify", help="classify one input")
    p.add_argument("task")
    p.add_argument("input", help="the text, or a JSON object of the task's fields")
    p.add_argument("--id", help="the request's id (default: the server makes one up)")
    p.add_argument("--field", default="text", help="the field a plain text goes in (default: text)")
    p.add_argument("-f", dest="extra", action="append", default=[], metavar="NAME=VALUE",
                   help="add a field, e.g. -f label=ham for a labels:label server (repeatable)")

    p = sub.add_parser("batch", help="classify a JSONL file (- for standard input) in batches")
    p.add_argument("task")
    p.add_argument("file")
    p.add_argument("--size", type=int, default=1000, help="inputs per request (default 1000)")
    p.add_argument("--field", default="text", help="the field a JSON string line goes in (default: text)")
    p.add_argument("-f", dest="extra", action="append", default=[], metavar="NAME=VALUE")

    p = sub.add_parser("feedback", help="give the true label of a recent request")
    p.add_argument("task")
    p.add_argument("id")
    p.add_argument("label")

    p = sub.add_parser("status", help="the task's status (JSON)")
    p.add_argument("task")
    p.add_argument("--full", action="store_true", help="include the report and events")

    sub.add_parser("tasks", help="the served tasks")

    a = ap.parse_args(argv)
    try:
        c = Client(a.url, token=a.token, timeout=a.timeout)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = lambda doc: print(json.dumps(doc, ensure_ascii=False))
    refused = 0
    try:
        with c:
            if a.command == "classify":
                out(c.classify(a.task, _input_arg(a.input, a.field, a.extra), id=a.id))
            elif a.command == "batch":
                if a.size < 1:
                    print("error: --size is at least 1", file=sys.stderr)
                    return 2
                chunk = []
                def flush():
                    nonlocal refused
                    for ans in c.classify_batch(a.task, chunk):
                        refused += "error" in ans
                        out(ans)
                    chunk.clear()
                for obj in _read_jsonl(a.file, a.field, a.extra):
                    chunk.append(obj)
                    if len(chunk) == a.size:
                        flush()
                if chunk:
                    flush()
            elif a.command == "feedback":
                out(c.feedback(a.task, a.id, a.label))
            elif a.command == "status":
                s = c.status(a.task)
                if not a.full:
                    s.pop("report", None)
                    s.pop("events", None)
                out(s)
            elif a.command == "tasks":
                for t in c.tasks():
                    out(t)
    except LoopaiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: cannot reach {a.url}: {e}", file=sys.stderr)
        return 2
    except http.client.HTTPException as e:
        print(f"error: {a.url}: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
