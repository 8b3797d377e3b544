#!/usr/bin/env bash
# Spark: the HDFS program over Loghub's HDFS messages (Examples/hdfs_logs, from ../shared/data's
# loghub_2k) repeated to LINES lines (default 10,000,000), in local[2] mode: the wheel inside
# mapInPandas against the same program as Spark SQL (`--emit spark-sql`), in one run, answers
# compared row by row. Figures in Docs/batch.md.
#   Benchmarks/spark.sh [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LOOPAI:-.build/release/loopai}
LINES=${1:-10000000}
[[ -x $L ]] || { echo "spark.sh: $L is missing; run make release" >&2; exit 2; }
VENV=.build/venv-spark
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check pyspark "pandas<3" pyarrow numpy
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$L" compile Examples/hdfs_logs/program.loop --emit wheel -o "$TMP/dist" 2>/dev/null
"$L" compile Examples/hdfs_logs/program.loop --emit spark-sql -o "$TMP/hdfs_logs.sql" 2>/dev/null
"$VENV/bin/pip" install -q --disable-pip-version-check --no-index --force-reinstall "$TMP"/dist/*.whl
python3 - "$TMP/lines.txt" "$LINES" <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
msgs = [json.loads(l)["message"] for l in open("Examples/hdfs_logs/data.jsonl", encoding="utf-8")]
with open(path, "w", encoding="utf-8") as f:
    for i in range(n):
        f.write(msgs[i % len(msgs)] + "\n")
PY
echo "spark: $(du -h "$TMP/lines.txt" | cut -f1) of log lines ($LINES lines, the 2,000 HDFS messages repeated)"
"$VENV/bin/python" Examples/spark/classify_logs.py --module hdfs_logs --sql "$TMP/hdfs_logs.sql" --field message \
  --input "$TMP/lines.txt" --output "$TMP/out" --master "local[2]" 2>/dev/null
