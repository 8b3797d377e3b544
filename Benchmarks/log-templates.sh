#!/usr/bin/env bash
# Log templates from few lines: for each Loghub system in ../shared/data/loghub_2k, a task file
# declaring every template (its text as the label's description), the inducer trained on the
# first 600 lines, tested on the next 1,400 (as a log arrives), with and without the task as
# evidence (--no-task-evidence).
#   Benchmarks/log-templates.sh [DATA_DIR]      (default: ../shared/data/loghub_2k)
set -euo pipefail
cd "$(dirname "$0")/.."
L=$(realpath "${LOOPAI:-.build/release/loopai}")
DATA=$(realpath "${1:-../shared/data/loghub_2k}")
[[ -x $L ]] || { echo "log-templates.sh: $L is missing; run make release" >&2; exit 2; }
[[ -d $DATA ]] || { echo "log-templates.sh: $DATA is missing (Loghub 2k, see ../shared/data)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
printf '%-8s %9s %8s %12s %16s %12s\n' system templates unseen "task+600" "600 lines only" "induce (s)"
for sys in Apache BGL HDFS Hadoop Linux Spark; do
  base="$DATA/$sys/${sys}_2k.log"
  [[ -f ${base}_structured.csv ]] || continue
  d="$TMP/$sys"; mkdir -p "$d"
  python3 - "$base" "$d" <<'PY'
import csv, json, sys
base, out = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(base + "_structured.csv", newline="", encoding="utf-8")))
tpl = list(csv.DictReader(open(base + "_templates.csv", newline="", encoding="utf-8")))
for name, part in (("train", rows[:600]), ("test", rows[600:])):
    with open(f"{out}/{name}.jsonl", "w") as f:
        for r in part: f.write(json.dumps({"message": r["Content"], "label": r["EventId"]}) + "\n")
y = ["name: templates", "description: Assign each log message to its event template.", "input:",
     '  message: {type: text, description: "the message part of one log line"}', "labels:"]
y += [f"  {t['EventId']}: {json.dumps(t['EventTemplate'])}" for t in tpl]
open(f"{out}/task.yaml", "w").write("\n".join(y) + "\ndata: train.jsonl\n")
unseen = {t["EventId"] for t in tpl} - {r["EventId"] for r in rows[:600]}
open(f"{out}/counts", "w").write(f"{len(tpl)} {len(unseen)}\n")
PY
  read -r ntpl nunseen < "$d/counts"
  acc() { "$L" test "$1" --data "$d/test.jsonl" --format json | python3 -c 'import json,sys; j=json.load(sys.stdin); print("%.2f%%" % (100*j["accuracy"]))'; }
  s=$EPOCHREALTIME
  (cd "$d" && "$L" generate --generator induce --task task.yaml -o with.loop 2>/dev/null)
  t=$(python3 -c "print('%.1f' % ($EPOCHREALTIME - $s))")
  (cd "$d" && "$L" generate --generator induce --task task.yaml --no-task-evidence -o without.loop 2>/dev/null)
  printf '%-8s %9s %8s %12s %16s %12s\n' "$sys" "$ntpl" "$nunseen" "$(acc "$d/with.loop")" "$(acc "$d/without.loop")" "$t"
done
