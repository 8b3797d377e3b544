"""Run by WheelTests inside a virtual environment where the compiled program's wheel is installed.
usage: check_wheel.py MODULE EXPECTED.jsonl TEXTS.txt [--frames]
EXPECTED holds the interpreter's answer per line of TEXTS (`loopai run --engine interp`).
Prints OK lines; exits non-zero with the first difference."""
import importlib
import json
import sys
import threading


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    name, expected_path, texts_path = sys.argv[1:4]
    frames = "--frames" in sys.argv[4:]
    m = importlib.import_module(name)
    texts = open(texts_path, encoding="utf-8").read().split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    expected = [json.loads(l) for l in open(expected_path, encoding="utf-8")]
    if len(expected) != len(texts):
        fail("%d expected answers for %d texts" % (len(expected), len(texts)))

    def same(r, e, where):
        scores = e.get("scores")
        if (r.label, r.confidence, r.decided_by, r.scores) != (e["label"], e["confidence"], e["decided_by"], scores):
            fail("%s: %r (scores %r) against the interpreter's %r" % (where, r, r.scores, e))

    if not m.LABELS or not {e["label"] for e in expected} <= set(m.LABELS):
        fail("LABELS %r" % (m.LABELS,))
    if len(m.PROGRAM_HASH) < 8 or m.ABI_VERSION != 1 or m.FIELDS != (("text", "text"),):
        fail("constants %r %r %r" % (m.PROGRAM_HASH, m.ABI_VERSION, m.FIELDS))
    # One call for the whole list, then one input at a time (positionally and by name).
    for i, (r, e) in enumerate(zip(m.classify_batch(texts), expected)):
        same(r, e, "classify_batch line %d" % (i + 1))
    for i in range(0, len(texts), 7):
        same(m.classify(texts[i]), expected[i], "classify line %d" % (i + 1))
        same(m.classify(text=texts[i]), expected[i], "classify(text=) line %d" % (i + 1))
    same(m.classify_batch([{"text": texts[0]}])[0], expected[0], "a dict input")
    same(m.classify(texts[3].encode("utf-8")), expected[3], "bytes")
    print("OK classify and classify_batch: %d answers equal the interpreter's" % len(texts))

    # Eight threads at once, each over the whole collection in batches of 97.
    errors = []

    def work(k):
        try:
            for start in range(0, len(texts), 97):
                for j, r in enumerate(m.classify_batch(texts[start:start + 97])):
                    e = expected[start + j]
                    if (r.label, r.confidence, r.decided_by) != (e["label"], e["confidence"], e["decided_by"]):
                        errors.append("thread %d line %d: %r" % (k, start + j + 1, r))
                        return
        except Exception as ex:  # noqa: BLE001 - reported below
            errors.append("thread %d: %r" % (k, ex))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        fail(errors[0])
    print("OK 8 threads agree")

    # Errors are Python exceptions with the program's message, never a crash.
    for bad, why in [((42,), "is text, not int"), ((None,), "is text, not NoneType"), (({"txt": "x"},), "unknown field `txt`"),
                     (({},), "missing field `text`"), (("\ud800",), "not valid text")]:
        try:
            m.classify(*bad)
            fail("classify%r did not raise" % (bad,))
        except m.InputError as e:
            if why not in str(e):
                fail("classify%r: %s" % (bad, e))
    try:
        m.classify("a", "b")
        fail("two inputs did not raise")
    except m.InputError:
        pass
    if not isinstance(m.InputError("x"), ValueError):
        fail("InputError is not a ValueError")
    print("OK bad inputs raise InputError")

    if frames:
        import numpy
        import pandas
        s = pandas.Series(texts[:500], index=range(1000, 1500))
        df = m.classify_series(s)
        if list(df.columns) != ["label", "confidence", "decided_by"] or list(df.index) != list(s.index):
            fail("classify_series shape %r" % (df.columns,))
        for i in range(500):
            e = expected[i]
            if (df["label"].iloc[i], float(df["confidence"].iloc[i]), df["decided_by"].iloc[i]) != (e["label"], e["confidence"], e["decided_by"]):
                fail("classify_series row %d" % i)
        a = m.classify_array(numpy.array(texts[:500], dtype=object))
        if a["confidence"].dtype != numpy.float64 or list(a["label"]) != [e["label"] for e in expected[:500]]:
            fail("classify_array")
        print("OK classify_series (pandas %s) and classify_array (numpy %s)" % (pandas.__version__, numpy.__version__))

        # DuckDB: the program as a scalar function over a CSV file, read in place through Arrow.
        import csv
        import duckdb
        import os
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "texts.csv")
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, quoting=csv.QUOTE_ALL)
                w.writerow(["n", "text"])
                for i, t in enumerate(texts):
                    w.writerow([i, t])
            con = duckdb.connect()
            m.register_duckdb(con)
            m.register_duckdb(con, name="spam_confidence", output="confidence")
            m.register_duckdb(con, name="spam_rule", output="decided_by")
            q = "SELECT n, %s(text), spam_confidence(text), spam_rule(text) FROM read_csv(?, header=true, quote='\"', escape='\"', all_varchar=true) ORDER BY CAST(n AS INTEGER)" % name
            rows = con.execute(q, [path]).fetchall()
            if len(rows) != len(texts):
                fail("duckdb returned %d rows for %d texts" % (len(rows), len(texts)))
            for (n, label, confidence, rule), e in zip(rows, expected):
                if (label, confidence, rule) != (e["label"], e["confidence"], e["decided_by"]):
                    fail("duckdb row %s: %r against %r" % (n, (label, confidence, rule), e))
            if con.execute("SELECT %s(NULL::VARCHAR), %s('')" % (name, name)).fetchone()[0] is not None:
                fail("NULL in, not NULL out")
        print("OK DuckDB %s: %d rows through the scalar function equal the interpreter's" % (duckdb.__version__, len(rows)))


main()
