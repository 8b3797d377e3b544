#!/usr/bin/env bash
# What a slow (or failing) LLM oracle costs the requests' tail, without the minute-to-minute
# noise of the host:
#   make release && Benchmarks/serve-oracle-ab.sh [ROUNDS] [SECONDS]
#   ORACLE=fail Benchmarks/serve-oracle-ab.sh [ROUNDS] [SECONDS]
# One server (SMS task, 5% sampling, `--pin-event-loops`) validating with a stand-in LLM on
# 127.0.0.1 that answers in 300 ms as the data's labels do, or (ORACLE=fail) answers every call
# with a 500 (Benchmarks/stub-oracle.py); each
# round runs wrk at 8 connections with validation paused, then resumed, so that the two are
# measured in the same minute on the same process. serve.sh measures them minutes apart.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-4}; D=${2:-8}
L=${LOOPAI:-.build/release/loopai}
command -v wrk >/dev/null || { echo "serve-oracle-ab.sh: wrk is missing (apt-get install wrk)" >&2; exit 2; }
[[ -x $L ]] || { echo "serve-oracle-ab.sh: $L is missing; run make release" >&2; exit 2; }
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
python3 -c "
import json
for l in open('Examples/sms_spam/data.jsonl'): print(json.dumps({'text': json.loads(l)['text']}))" > "$TMP/bodies.jsonl"
case ${ORACLE:-slow} in
  slow) STUB=(--delay 0.3 --labels Examples/sms_spam/data.jsonl) ;;
  fail) STUB=(--delay 0 --fail) ;;
  *) echo "serve-oracle-ab.sh: ORACLE is slow or fail, not $ORACLE" >&2; exit 2 ;;
esac
python3 Benchmarks/stub-oracle.py "${STUB[@]}" > "$TMP/stub.port" &
PIDS+=($!)
for _ in $(seq 1 50); do [[ -s $TMP/stub.port ]] && break; sleep 0.1; done
SP=$(head -1 "$TMP/stub.port")
source Benchmarks/lib.sh
OPENAI_BASE_URL="http://127.0.0.1:$SP/v1" OPENAI_API_KEY=bench NO_PROXY=127.0.0.1 LOOPAI_ADMIN_TOKEN=bench "$L" serve \
  --task Examples/sms_spam/task.yaml --program Examples/sms_spam/program.loop --oracle llm --generator induce \
  --store "$TMP/store" --port 0 --no-cache --pin-event-loops 2> "$TMP/log" &
PIDS+=($!)
PORT=$(serve_port "$TMP/log") || exit 1
for r in $(seq 1 "$R"); do
  line=""
  for action in pause resume; do
    curl -sf -XPOST -H "Authorization: Bearer bench" "http://127.0.0.1:$PORT/v1/tasks/sms_spam/$action" >/dev/null
    out=$(LOOPAI_BODIES=$TMP/bodies.jsonl LOOPAI_PATH=/v1/tasks/sms_spam/classify wrk -t1 -c8 -d"${D}s" --latency -s Benchmarks/serve-post.lua "http://127.0.0.1:$PORT" | grep RESULT)
    line+="$action $(grep -o 'rps=[0-9]*' <<<"$out") $(grep -o 'p99_us=[0-9]*' <<<"$out")  "
  done
  p=$(grep -o 'p99_us=[0-9]*' <<<"$line" | cut -d= -f2 | tr '\n' ' ')
  python3 -c "import sys; a, b = map(int, sys.argv[1].split()); print(sys.argv[2] + f'resumed/paused p99 {100 * (b / a - 1):+.0f}%')" "$p" "$line"
done
grep -E "improve|candidate|shadow|canary|promot|reject|escalat" "$TMP/log" | tail -n 8 || true
curl -s "http://127.0.0.1:$PORT/v1/tasks/sms_spam" | python3 -c "import json,sys; d=json.load(sys.stdin); print('sampled', d['sampled'], 'validated', d['validated'], 'dropped', d['dropped'], 'queue', d['queue_depth'])"
