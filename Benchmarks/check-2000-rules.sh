#!/usr/bin/env bash
# Times `loopai check` on a generated program with 2,000 rules (keywords drawn from the SMS
# collection's vocabulary), the size an LLM might produce for a large task. Reported, not asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
L=${1:-.build/release/loopai}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/big.loop" <<'PY'
import collections, json, re, sys
counts = collections.Counter()
for line in open("Examples/sms_spam/data.jsonl", encoding="utf-8"):
    counts.update(re.findall(r"[a-z]{3,}", json.loads(line)["text"].lower()))
words = [w for w, _ in counts.most_common(4000)]
out = ["program big", '  "2,000 generated rules."', "", "input text: text", "labels spam, ham", "", "let msg = lower(text)", ""]
for i in range(2000):
    a, b = words[2 * i], words[2 * i + 1]
    out.append(f'rule r{i} when contains_word(msg, "{a}") and not contains(msg, "{b}") and len(text) > {i % 40} => {"spam" if i % 3 == 0 else "ham"}')
out += ["", "otherwise => ham", ""]
open(sys.argv[1], "w").write("\n".join(out))
PY
wc -l < "$tmp/big.loop" | xargs echo "lines:"
"$L" check --quiet "$tmp/big.loop"
for i in 1 2 3; do
  s=$EPOCHREALTIME; "$L" check --quiet "$tmp/big.loop"; t=$EPOCHREALTIME
  python3 -c "import sys; print('loopai check, 2,000 rules: %.1f ms (whole process)' % ((float(sys.argv[2]) - float(sys.argv[1])) * 1000))" "$s" "$t"
done
