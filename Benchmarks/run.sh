#!/usr/bin/env bash
# Reproduces the figures in Docs/performance.md and the README on the release build:
#   make release && Benchmarks/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LOOPAI:-.build/release/loopai}
# One core, so the figures do not depend on what the other core is doing.
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 1"
SECONDS_PER=${BENCH_SECONDS:-3}
echo "== examples (JIT and interpreter, inputs pre-loaded; read+decode+classify in parentheses)"
for ex in sms_spam sentiment hdfs_logs validation; do
  $PIN "$L" bench "Examples/$ex/program.loop" --input "Examples/$ex/data.jsonl" --seconds "$SECONDS_PER"
done
echo
echo "== keyword scaling: 10 vs 1,000 keywords, same program shape, SMS texts"
python3 Benchmarks/make-keyword-programs.py >/dev/null
for n in 10 1000; do $PIN "$L" bench "Benchmarks/keywords$n.loop" --input Examples/sms_spam/data.jsonl --engine jit --seconds "$SECONDS_PER"; done
echo
echo "== many labels (BANKING77, 77 intents; skipped without ../shared/data)"
if [[ -f ../shared/data/banking77/train.csv ]]; then bash Benchmarks/many-labels.sh; else echo "  ../shared/data/banking77 is missing"; fi
echo
echo "== adversarial inputs"
bash Benchmarks/adversarial.sh "$L"
