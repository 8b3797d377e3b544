#!/usr/bin/env bash
# The request path against the bare handler in the same server, in alternating wrk runs:
#   make release && Benchmarks/serve-ab.sh [ROUNDS] [SECONDS] [CONNECTIONS] [BINARY...]
# For each binary (default: the release build), one server with validation paused and
# LOOPAI_BENCH_ROUTES=1; each round runs wrk on POST /bench/echo (decode the body, answer two
# fields), then on POST /v1/tasks/sms_spam/classify, with the same labeled SMS bodies. Besides
# requests/s and p99 it prints the server's CPU time per request (user + system, from
# /proc/PID/stat over the middle of the run): on this 2-core host the server and wrk together
# use both cores, so CPU per request is what a change to the request path moves, while
# requests/s also moves with whatever else the host runs. Several binaries are measured in
# turn, round by round, so that a change is compared with its predecessor in the same minutes.
# SERVE_ARGS: more arguments for every server (e.g. --pin-event-loops).
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-3}; D=${2:-6}; C=${3:-32}; shift $(( $# < 3 ? $# : 3 ))
BINS=("$@"); [[ ${#BINS[@]} -gt 0 ]] || BINS=(.build/release/loopai)
read -r -a EXTRA <<< "${SERVE_ARGS:-}"
command -v wrk >/dev/null || { echo "serve-ab.sh: wrk is missing (apt-get install wrk)" >&2; exit 2; }
(( D >= 4 )) || { echo "serve-ab.sh: SECONDS is at least 4" >&2; exit 2; }
for b in "${BINS[@]}"; do [[ -x $b ]] || { echo "serve-ab.sh: $b is missing; run make release" >&2; exit 2; }; done
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
python3 -c "
import json
for l in open('Examples/sms_spam/data.jsonl'): r=json.loads(l); print(json.dumps({'text': r['text'], 'label': r['label']}))" > "$TMP/labeled.jsonl"
source Benchmarks/lib.sh
PORTS=()
for k in "${!BINS[@]}"; do
  LOOPAI_BENCH_ROUTES=1 LOOPAI_ADMIN_TOKEN=bench "${BINS[$k]}" serve --task Examples/sms_spam/task.yaml --program Examples/sms_spam/program.loop \
    --oracle labels:label --generator induce --store "$TMP/s$k" --port 0 --no-cache "${EXTRA[@]}" 2> "$TMP/log$k" &
  PIDS+=($!)
  port=$(serve_port "$TMP/log$k") || exit 1
  curl -sf -XPOST -H "Authorization: Bearer bench" "http://127.0.0.1:$port/v1/tasks/sms_spam/pause" >/dev/null
  PORTS+=("$port")
done
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }
TCK=$(getconf CLK_TCK)
for r in $(seq 1 "$R"); do
  for k in "${!BINS[@]}"; do
    for p in /bench/echo /v1/tasks/sms_spam/classify; do
      LOOPAI_BODIES=$TMP/labeled.jsonl LOOPAI_PATH=$p wrk -t1 -c"$C" -d"${D}s" --latency -s Benchmarks/serve-post.lua "http://127.0.0.1:${PORTS[$k]}" > "$TMP/out" &
      W=$!
      sleep 1; s0=$(cpu "${PIDS[$k]}"); t0=$(now)
      sleep $((D - 2)); s1=$(cpu "${PIDS[$k]}"); t1=$(now)
      wait $W
      line=$(grep RESULT "$TMP/out")
      rps=$(grep -o 'rps=[0-9]*' <<<"$line" | cut -d= -f2)
      p99=$(grep -o 'p99_us=[0-9]*' <<<"$line" | cut -d= -f2)
      python3 -c "
import sys
b, p, rps, p99, s0, s1, t0, t1, tck = sys.argv[1:]
cores = (float(s1) - float(s0)) / float(tck) / (float(t1) - float(t0))
print(f'{b} {p:30} {int(rps):6d} requests/s  p99 {int(p99):5d} us  server {cores:.2f} cores, {cores / int(rps) * 1e6:5.1f} us CPU per request')
" "${BINS[$k]}" "$p" "$rps" "$p99" "$s0" "$s1" "$t0" "$t1" "$TCK"
    done
  done
done
