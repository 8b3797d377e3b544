# Steps the benchmark scripts share; sourced, with L set to the loopai binary.

# induce_split DIR NAME DATA FRACTION [ARGS...]: DATA split as Docs/results.md's table splits it
# (`loopai generate --train-fraction FRACTION --write-split`), a program induced on the training
# part: DIR/NAME/program.loop, the held-out part DIR/NAME/held.jsonl, and the seconds the
# induction took in DIR/NAME/seconds. ARGS go to `loopai generate` (e.g. --column message).
induce_split() {
  local dir=$1 name=$2 data=$3 fraction=$4; shift 4
  mkdir -p "$dir/$name"
  local s=$EPOCHREALTIME
  "$L" generate --generator induce --data "$data" --train-fraction "$fraction" --write-split "$dir/$name" -o "$dir/$name/program.loop" "$@" 2>/dev/null
  python3 -c "print('%.2f' % ($EPOCHREALTIME - $s))" > "$dir/$name/seconds"
}

# banking77_jsonl SRC OUT TRAIN TEST: BANKING77's official splits (SRC/train.csv, SRC/test.csv)
# as JSON lines {"text", "label"} (the data's own intent strings), in OUT/TRAIN.jsonl and
# OUT/TEST.jsonl.
banking77_jsonl() {
  mkdir -p "$2"
  python3 - "$@" <<'PY'
import csv, json, sys
src, out, train, test = sys.argv[1:5]
for split, name in (("train", train), ("test", test)):
    with open(f"{src}/{split}.csv", newline="") as f, open(f"{out}/{name}.jsonl", "w") as o:
        for row in csv.DictReader(f):
            o.write(json.dumps({"text": row["text"], "label": row["category"]}) + "\n")
PY
}

# induce_banking77 DIR SRC: BANKING77 as the table has it: a program induced on the official
# training split, DIR/banking77/program.loop, the test split as DIR/banking77/held.jsonl, and
# the seconds the induction took in DIR/banking77/seconds.
induce_banking77() {
  local dir=$1 src=$2
  banking77_jsonl "$src" "$dir/banking77" train held
  local s=$EPOCHREALTIME
  "$L" generate --generator induce --data "$dir/banking77/train.jsonl" --name banking77 -o "$dir/banking77/program.loop" 2>/dev/null
  python3 -c "print('%.2f' % ($EPOCHREALTIME - $s))" > "$dir/banking77/seconds"
}

# serve_port LOG: the port a `loopai serve` writing its log to LOG listens on, once it says so
# (within 20 s); prints the log and fails otherwise.
serve_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$1" | grep -o '[0-9]*$' || true)
    [[ -n $port ]] && { echo "$port"; return 0; }
    sleep 0.1
  done
  echo "the server did not start:" >&2; cat "$1" >&2; return 1
}
