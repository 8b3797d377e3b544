#!/usr/bin/env bash
# Many labels: the BANKING77 intents (77 labels, 10,003 training sentences) from ../shared/data,
# induced offline, then timed in the JIT and the interpreter on the 3,080 test sentences; last,
# the same program without its predicate terms, then also without its length terms (what they cost).
#   Benchmarks/many-labels.sh [DATA_DIR]      (default: ../shared/data/banking77)
# The data set names some intents with characters a Loop label cannot have (`reverted_card_payment?`);
# this script maps them to identifiers (lower case, other characters to `_`) before inducing.
set -euo pipefail
cd "$(dirname "$0")/.."
L=${LOOPAI:-.build/release/loopai}
DATA=${1:-../shared/data/banking77}
SECONDS_PER=${BENCH_SECONDS:-3}
[[ -f $DATA/train.csv && -f $DATA/test.csv ]] || { echo "many-labels.sh: $DATA/train.csv and test.csv are missing (BANKING77, see ../shared/data)" >&2; exit 2; }
[[ -x $L ]] || { echo "many-labels.sh: $L is missing; run make release" >&2; exit 2; }
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 1"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source Benchmarks/lib.sh
banking77_jsonl "$DATA" "$TMP" train test
echo "== BANKING77: induce on the training split"
t0=$(date +%s%N)
"$L" generate --generator induce --data "$TMP/train.jsonl" --name banking77 -o "$TMP/banking77.loop"
echo "  induce: $(( ($(date +%s%N) - t0) / 1000000 )) ms wall"
echo "  program: $(wc -l < "$TMP/banking77.loop") lines"
"$L" run "$TMP/banking77.loop" --input "$TMP/test.jsonl" > "$TMP/answers.jsonl"
python3 - "$TMP" <<'PY'
import json, sys
t = sys.argv[1]
truth = [json.loads(l)["label"] for l in open(f"{t}/test.jsonl")]
got = [json.loads(l)["label"] for l in open(f"{t}/answers.jsonl")]
print(f"  test accuracy: {sum(a == b for a, b in zip(got, truth)) / len(truth):.1%} of {len(truth)}")
PY
echo "== BANKING77: classifications per second (test sentences)"
$PIN "$L" bench "$TMP/banking77.loop" --input "$TMP/test.jsonl" --seconds "$SECONDS_PER"
echo "== BANKING77: where the compile time goes"
LOOPAI_TIMINGS=1 "$L" bench "$TMP/banking77.loop" --input "$TMP/test.jsonl" --engine jit --seconds 0.1 2>&1 | grep -E "^timing" | grep -v "automaton of" || true
echo "== BANKING77: what the predicate and length terms cost (the same program without them; answers differ)"
python3 - "$TMP" <<'PY'
import re, sys
t = sys.argv[1]
s = open(f"{t}/banking77.loop").read()
no_pred = re.sub(r"\n  [-0-9.e]+ when \w+\(text\)", "", s)
open(f"{t}/no-predicates.loop", "w").write(no_pred)
open(f"{t}/no-predicates-no-length.loop", "w").write(re.sub(r"\n  [-0-9.e]+ \* min\(len\(text\), 400\) / 100", "", no_pred))
preds, lengths = len(re.findall(r" when \w+\(text\)", s)), len(re.findall(r"min\(len\(text\), 400\)", s))
print(f"  {preds} predicate terms, {lengths} length terms")
PY
for p in banking77 no-predicates no-predicates-no-length; do
  echo -n "  $p: "
  $PIN "$L" bench "$TMP/$p.loop" --input "$TMP/test.jsonl" --seconds "$SECONDS_PER" --engine jit | grep -E "^ *jit +[0-9]" | sed 's/^ *//'
done
