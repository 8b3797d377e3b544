#!/usr/bin/env bash
# Replicas of `loopai serve` sharing one PostgreSQL store (Docs/scale.md), on this machine:
#   make release && Benchmarks/replicas.sh
# A throwaway PostgreSQL (scripts/pg-test-server) and the SMS task with its hand-written
# program, the labels oracle at the task's 5% sampling. Measures:
#   - single-input requests/s with one replica (wrk, 32 connections) and with two (two wrk, 16
#     connections each, at the same time; summed) — 2 cores shared by wrk, the replicas and
#     PostgreSQL, so the second replica shows the cost of the shared store, not a speed-up;
#   - the time for every replica to serve a new version after the leader made it active
#     (Benchmarks/replicas-switch.py: a version resolved by hand on the leader, then rolled back);
#   - leader failover: the leader killed with SIGKILL, until another replica says it leads.
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LOOPAI:-.build/release/loopai}
D=${BENCH_SECONDS:-10}
command -v wrk >/dev/null || { echo "replicas.sh: wrk is missing (scripts/setup)" >&2; exit 2; }
[[ -x $L ]] || { echo "replicas.sh: $L is missing; run make release" >&2; exit 2; }
[[ -n ${LOOPAI_TEST_POSTGRES:-} ]] || exec scripts/with-postgres "$0" "$@"
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
python3 - "$TMP" <<'PY'
import json, sys
rows = [json.loads(l) for l in open("Examples/sms_spam/data.jsonl")]
with open(sys.argv[1] + "/bodies.jsonl", "w") as f:
    for r in rows: f.write(json.dumps({"text": r["text"], "label": r["label"]}) + "\n")
PY

# start NAME: a replica on a free port; sets PORT_NAME.
start() {
  local name=$1
  LOOPAI_ADMIN_TOKEN=bench "$L" serve --task Examples/sms_spam/task.yaml --program Examples/sms_spam/program.loop \
    --oracle labels:label --generator induce --store "$LOOPAI_TEST_POSTGRES" --replica "$name" --port 0 --no-cache \
    2> "$TMP/$name.log" &
  PIDS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 1 300); do
    local p; p=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$TMP/$name.log" | grep -o '[0-9]*$' || true)
    if [[ -n $p ]]; then eval "PORT_$name=$p"; return 0; fi
    sleep 0.1
  done
  echo "replicas.sh: $name did not start:"; cat "$TMP/$name.log"; exit 1
}
load() { # PORT CONNECTIONS
  LOOPAI_BODIES=$TMP/bodies.jsonl LOOPAI_PATH=/v1/tasks/sms_spam/classify \
    wrk -t1 -c"$2" -d"${D}s" --latency -s Benchmarks/serve-post.lua "http://127.0.0.1:$1" | grep RESULT
}

echo "== for comparison: one server with its SQLite store, the same task and sampling"
LOOPAI_ADMIN_TOKEN=bench "$L" serve --task Examples/sms_spam/task.yaml --program Examples/sms_spam/program.loop \
  --oracle labels:label --generator induce --store "$TMP/sqlite" --port 0 --no-cache 2> "$TMP/sqlite.log" &
SQ=$!; PIDS+=($SQ)
for _ in $(seq 1 300); do
  PORT_s=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$TMP/sqlite.log" | grep -o '[0-9]*$' || true)
  [[ -n $PORT_s ]] && break; sleep 0.1
done
echo -n "SQLite, 32 connections: "; load "$PORT_s" 32
kill -TERM $SQ; wait $SQ || true

echo "== one replica, PostgreSQL store, 5% sampling (labels oracle)"
start a
echo -n "one replica, 32 connections: "; load "$PORT_a" 32
echo "== two replicas on the same store (two wrk at once, 16 connections each)"
start b
sleep 1
load "$PORT_a" 16 > "$TMP/wa" & w1=$!
load "$PORT_b" 16 > "$TMP/wb" & w2=$!
wait $w1 $w2
echo -n "replica a: "; cat "$TMP/wa"; echo -n "replica b: "; cat "$TMP/wb"
python3 - "$TMP/wa" "$TMP/wb" <<'PY'
import re, sys
total = sum(float(re.search(r"rps=(\d+)", open(p).read()).group(1)) for p in sys.argv[1:])
print(f"two replicas together: {total:.0f} requests/s")
PY

echo "== every replica on a new version (switch time), and leader failover"
python3 Benchmarks/replicas-switch.py "$PORT_a" "$PORT_b" "$PID_a" "$PID_b"
