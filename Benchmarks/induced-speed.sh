#!/usr/bin/env bash
# Speed of every induced program of Docs/results.md's table, in the JIT, on its held-out part:
# the programs `loopai generate --generator induce` writes on the splits Benchmarks/accuracy.sh
# uses (SMS spam trained on 10%, sentiment on 50%, HDFS on 20%, BANKING77 on its official train
# split), timed by `loopai bench` on the inputs they did not see. The issue's target: >= 100 MB/s
# each.   Benchmarks/induced-speed.sh [RUNS]   (BENCH_SECONDS per run, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LOOPAI:-.build/release/loopai}
RUNS=${1:-3}
SECONDS_PER=${BENCH_SECONDS:-2}
B77=../shared/data/banking77
[[ -x $L ]] || { echo "induced-speed.sh: $L is missing; run make release" >&2; exit 2; }
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 1"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source Benchmarks/lib.sh
echo "== inducing (the accuracy.sh splits)"
induce_split "$TMP" sms_spam Examples/sms_spam/data.jsonl 0.1
induce_split "$TMP" sentiment Examples/sentiment/data.jsonl 0.5
induce_split "$TMP" hdfs Examples/hdfs_logs/data.jsonl 0.2 --column message
if [[ -f $B77/train.csv ]]; then
  induce_banking77 "$TMP" "$B77"
else
  echo "(BANKING77 is missing from $B77: skipped)"
fi
for d in "$TMP"/*/; do
  name=$(basename "$d")
  for run in $(seq "$RUNS"); do
    echo -n "  $name (run $run): "
    $PIN "$L" bench "$d/program.loop" --input "$d/held.jsonl" --engine jit --seconds "$SECONDS_PER" | grep -E "^ *jit +[0-9]" | sed 's/^ *//'
  done
done
