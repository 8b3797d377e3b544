#!/usr/bin/env bash
# A compiled program as a DuckDB scalar function, one DuckDB thread, figures in Docs/batch.md:
# - the SMS program's wheel (register_duckdb) over the 5,574 SMS texts repeated to ROWS rows
#   (default 1,000,000): the time to scan the column and to classify it;
# - the HDFS program over its 2,000 Loghub messages repeated to ROWS rows, as its wheel and as the
#   SQL a DuckDB user would write for it (`loopai compile --emit duckdb-sql`), in the same run,
#   with the rows on which they differ counted.
#   Benchmarks/duckdb.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LOOPAI:-.build/release/loopai}
ROWS=${1:-1000000}
[[ -x $L ]] || { echo "duckdb.sh: $L is missing; run make release" >&2; exit 2; }
VENV=.build/venv-wheel
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check numpy pandas duckdb pyarrow
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$L" compile Examples/sms_spam/program.loop --emit wheel -o "$TMP/dist" 2>/dev/null
"$L" compile Examples/hdfs_logs/program.loop --emit wheel -o "$TMP/dist" 2>/dev/null
"$L" compile Examples/hdfs_logs/program.loop --emit duckdb-sql -o "$TMP/hdfs_logs.sql" 2>/dev/null
"$VENV/bin/pip" install -q --disable-pip-version-check --no-index --force-reinstall "$TMP"/dist/*.whl
"$VENV/bin/python" - "$TMP" "$ROWS" <<'PY'
import csv, json, sys, time
import duckdb, sms_spam, hdfs_logs
tmp, n = sys.argv[1], int(sys.argv[2])
texts = [json.loads(l)["text"] for l in open("Examples/sms_spam/data.jsonl", encoding="utf-8")]
path = tmp + "/texts.csv"
with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, quoting=csv.QUOTE_ALL)
    w.writerow(["text"])
    for i in range(n):
        w.writerow([texts[i % len(texts)]])
con = duckdb.connect()
con.execute("SET threads TO 1")
sms_spam.register_duckdb(con)
con.execute("CREATE TABLE sms AS SELECT text FROM read_csv(?, header=true, quote='\"', escape='\"', all_varchar=true)", [path])
print("duckdb %s, %d rows (the SMS collection repeated), one thread" % (duckdb.__version__, n))
for q in ["SELECT count(*), sum(length(text)) FROM sms",
          "SELECT sms_spam(text) AS label, count(*) FROM sms GROUP BY label ORDER BY label"]:
    best = min((lambda t0: (con.execute(q).fetchall(), time.time() - t0))(time.time())[1] for _ in range(3))
    print("  %-75s %.3f s  %9.0f rows/s" % (q, best, n / best))

msgs = [json.loads(l)["message"] for l in open("Examples/hdfs_logs/data.jsonl", encoding="utf-8")]
hdfs_logs.register_duckdb(con)
con.execute("CREATE TABLE input AS SELECT msgs[1 + (i % ?)] AS message, i AS id FROM (SELECT ? AS msgs), range(?) t(i)", [len(msgs), msgs, n])
query = open(tmp + "/hdfs_logs.sql", encoding="utf-8").read()
print("HDFS program, %d rows (the 2,000 HDFS messages repeated), one thread" % n)
for what, q in [("the wheel: hdfs_logs(message)", "CREATE OR REPLACE TABLE by_wheel AS SELECT id, hdfs_logs(message) AS label FROM input"),
                ("the SQL of --emit duckdb-sql", "CREATE OR REPLACE TABLE by_sql AS SELECT id, label FROM (" + query + ")")]:
    best = min((lambda t0: (con.execute(q), time.time() - t0))(time.time())[1] for _ in range(3))
    print("  %-75s %.3f s  %9.0f rows/s" % (what, best, n / best))
print("  rows where the two differ: %d" % con.execute("SELECT count(*) FROM by_wheel JOIN by_sql USING (id) WHERE by_wheel.label <> by_sql.label").fetchone()[0])
PY
