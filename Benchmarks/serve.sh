#!/usr/bin/env bash
# `loopai serve` under load, with wrk on loopback (both on this machine's 2 cores):
#   make release && Benchmarks/serve.sh
# Single-input requests/s and latency at 8 and 32 keep-alive connections; the batch endpoint's
# classifications/s; then 5% sampling with a stand-in LLM oracle answering in 300 ms (as the
# data's labels, then contradicting the program), and with the oracle failing (500s). Every run:
# the SMS task with its hand-written program. The server runs with SERVE_ARGS (default
# --pin-event-loops: this host is the server's own; SERVE_ARGS= measures it unpinned).
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LOOPAI:-.build/release/loopai}
D=${BENCH_SECONDS:-10}
read -r -a EXTRA <<< "${SERVE_ARGS---pin-event-loops}"
command -v wrk >/dev/null || { echo "serve.sh: wrk is missing (apt-get install wrk)" >&2; exit 2; }
[[ -x $L ]] || { echo "serve.sh: $L is missing; run make release" >&2; exit 2; }
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

# Request bodies: every SMS message, with and without its label (for the labels oracle).
python3 - "$TMP" <<'PY'
import json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open("Examples/sms_spam/data.jsonl")]
with open(out + "/bodies.jsonl", "w") as f:
    for r in rows: f.write(json.dumps({"text": r["text"]}) + "\n")
with open(out + "/batch.jsonl", "w") as f:
    for k in range(0, len(rows) - 1000, 1000):
        f.write(json.dumps({"inputs": [{"text": r["text"]} for r in rows[k:k + 1000]]}) + "\n")
PY

source Benchmarks/lib.sh
# start_server NAME ORACLE [ENV...]: starts loopai serve, sets PORT.
start_server() {
  local name=$1 oracle=$2; shift 2
  rm -rf "$TMP/$name"; mkdir -p "$TMP/$name"
  env "$@" LOOPAI_ADMIN_TOKEN=bench "$L" serve --task Examples/sms_spam/task.yaml --program Examples/sms_spam/program.loop \
    --oracle "$oracle" --generator induce --store "$TMP/$name" --port 0 --no-cache "${EXTRA[@]}" 2> "$TMP/$name.log" &
  PIDS+=($!)
  PORT=$(serve_port "$TMP/$name.log") || exit 1
}
stop_server() { kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" || true; unset 'PIDS[-1]'; }
# load CONNECTIONS PATH BODIES
load() {
  LOOPAI_BODIES=$3 LOOPAI_PATH=$2 wrk -t1 -c"$1" -d"${D}s" --latency -s Benchmarks/serve-post.lua "http://127.0.0.1:$PORT" | grep RESULT
}

echo "== baseline: a bare handler in the same server (decode the body, answer two fields; LOOPAI_BENCH_ROUTES=1)"
start_server bare labels:label LOOPAI_BENCH_ROUTES=1
for c in 8 32; do echo -n "bare, $c connections: "; load "$c" /bench/echo "$TMP/bodies.jsonl"; done
stop_server

echo "== no sampling (validation paused)"
start_server plain labels:label
curl -s -XPOST -H "Authorization: Bearer bench" "http://127.0.0.1:$PORT/v1/tasks/sms_spam/pause" >/dev/null
# with the labels oracle paused the label field is still required: send bodies with it
python3 -c "
import json,sys
for l in open('Examples/sms_spam/data.jsonl'): r=json.loads(l); print(json.dumps({'text': r['text'], 'label': r['label']}))" > "$TMP/labeled.jsonl"
python3 -c "
import json
rows=[json.loads(l) for l in open('Examples/sms_spam/data.jsonl')]
for k in range(0, len(rows)-1000, 1000): print(json.dumps({'inputs': [{'text': r['text'], 'label': r['label']} for r in rows[k:k+1000]]}))" > "$TMP/labeled-batch.jsonl"
for c in 8 32; do echo -n "single, $c connections: "; load "$c" /v1/tasks/sms_spam/classify "$TMP/labeled.jsonl"; done
echo -n "batch of 1,000, 4 connections: "; load 4 /v1/tasks/sms_spam/classify/batch "$TMP/labeled-batch.jsonl"
stop_server

echo "== 5% sampling, labels oracle (validation on the server, no network)"
start_server labels labels:label
for c in 8 32; do echo -n "single, $c connections: "; load "$c" /v1/tasks/sms_spam/classify "$TMP/labeled.jsonl"; done
curl -s "http://127.0.0.1:$PORT/v1/tasks/sms_spam" | python3 -c "import json,sys; d=json.load(sys.stdin); print('  sampled', d['sampled'], 'validated', d['validated'], 'dropped', d['dropped'])"
stop_server

# slow: answers as the data's labels do; contradicting: "ham" for everything, so agreement falls
# and the improver fits candidates on the server's CPU all along (the tail shows that work).
for mode in slow failing contradicting; do
  case $mode in
    slow) what=', 300 ms a call, answers as the data'; args=(--delay 0.3 --labels Examples/sms_spam/data.jsonl) ;;
    failing) what=', every call a 500'; args=(--delay 0 --fail) ;;
    contradicting) what=', 300 ms a call, "ham" for every input'; args=(--delay 0.3) ;;
  esac
  echo "== 5% sampling, LLM oracle $mode (stand-in on 127.0.0.1$what)"
  python3 Benchmarks/stub-oracle.py "${args[@]}" > "$TMP/stub-$mode.port" &
  PIDS+=($!)
  for _ in $(seq 1 50); do [[ -s $TMP/stub-$mode.port ]] && break; sleep 0.1; done
  SP=$(head -1 "$TMP/stub-$mode.port")
  start_server "$mode" llm OPENAI_BASE_URL="http://127.0.0.1:$SP/v1" OPENAI_API_KEY=bench NO_PROXY=127.0.0.1
  for c in 8 32; do echo -n "single, $c connections: "; load "$c" /v1/tasks/sms_spam/classify "$TMP/bodies.jsonl"; done
  curl -s "http://127.0.0.1:$PORT/v1/tasks/sms_spam" | python3 -c "import json,sys; d=json.load(sys.stdin); print('  sampled', d['sampled'], 'validated', d['validated'], 'dropped', d['dropped'], 'queue', d['queue_depth'])"
  stop_server
  kill "${PIDS[-1]}"; unset 'PIDS[-1]'
done
