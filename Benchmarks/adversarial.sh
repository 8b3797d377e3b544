#!/usr/bin/env bash
# Megabyte-long lines and regex-like text through a program with nested repetitions: time per
# input size for both engines. Linear scaling means doubling the size doubles the time.
set -euo pipefail
cd "$(dirname "$0")/.."
L=${1:-.build/release/loopai}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/adv.loop" <<'LOOP'
program adversarial
  "Regexes with nested repetition and keyword lists on pathological text."

input text: text
labels a, b

rule r when matches(text, /(a|aa)*b/) => a
score a {
  1 when matches(text, /(x+x+)+y/)
  0.001 * count_any(text, ["aaaa", "aaab", "(a*)*"])
  1 when contains_word(text, "b")
}
otherwise => b
LOOP
for mb in 1 2 4 8; do
  python3 - "$tmp/in$mb.txt" "$mb" <<'PY'
import sys
n = int(sys.argv[2]) << 20
with open(sys.argv[1], "w") as f:
    f.write("a" * n + "\n")
    f.write(("x" * 31 + " ") * (n // 32) + "\n")
    f.write(("(a*)*b|" * (n // 7)) + "\n")
PY
  for e in jit interp; do
    s=$EPOCHREALTIME
    "$L" run --engine "$e" "$tmp/adv.loop" --input "$tmp/in$mb.txt" --input-format lines > /dev/null
    t=$EPOCHREALTIME
    python3 -c "import sys; print('%-6s 3 lines of %s MiB each: %.2f s' % (sys.argv[1], sys.argv[2], float(sys.argv[4]) - float(sys.argv[3])))" "$e" "$mb" "$s" "$t"
  done
done
