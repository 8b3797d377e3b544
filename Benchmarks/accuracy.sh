#!/usr/bin/env bash
# The inducer against the linear text classifiers a data scientist would train, on exactly the
# same splits: SMS spam trained on 10%, sentiment on 50%, HDFS on 20% (the seeded splits of
# `loopai generate --train-fraction`, written out with --write-split), and BANKING77's official
# train/test split (../shared/data/banking77; the data's own intent strings, which the program answers with).
# Baselines from scikit-learn (PyPI, in .build/venv-bench, made here): tf-idf + LogisticRegression
# (C=10), tf-idf 1-2-grams + LinearSVC, MultinomialNB on counts. One table: accuracy, macro-F1,
# training time and program size.
#   Benchmarks/accuracy.sh [BANKING77_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
L=$(realpath "${LOOPAI:-.build/release/loopai}")
B77=${1:-../shared/data/banking77}
[[ -x $L ]] || { echo "accuracy.sh: $L is missing; run make release" >&2; exit 2; }
VENV=.build/venv-bench
if [[ ! -x $VENV/bin/python ]] || ! $VENV/bin/python -c 'import sklearn' 2>/dev/null; then
  echo "accuracy.sh: installing scikit-learn into $VENV" >&2
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q scikit-learn
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source Benchmarks/lib.sh
induce_split "$TMP" sms_spam Examples/sms_spam/data.jsonl 0.1
induce_split "$TMP" sms_spam_folds0 Examples/sms_spam/data.jsonl 0.1 --folds 0
induce_split "$TMP" sentiment Examples/sentiment/data.jsonl 0.5
induce_split "$TMP" sentiment_folds0 Examples/sentiment/data.jsonl 0.5 --folds 0
induce_split "$TMP" hdfs Examples/hdfs_logs/data.jsonl 0.2 --column message
[[ -f $B77/train.csv ]] && induce_banking77 "$TMP" "$B77"
for d in "$TMP"/*/; do
  [[ -f $d/program.loop ]] || continue
  "$L" run "$d/program.loop" --input "$d/held.jsonl" > "$d/answers.jsonl"
done
"$VENV/bin/python" - "$TMP" <<'PY'
import json, os, sys, time
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
tmp = sys.argv[1]
def load(p):
    rows = [json.loads(l) for l in open(p, encoding="utf-8") if l.strip()]
    return [r["text"] for r in rows], [r["label"] for r in rows]
baselines = {
    "tf-idf + LogisticRegression (C=10)": lambda: make_pipeline(TfidfVectorizer(), LogisticRegression(C=10, max_iter=2000)),
    "tf-idf 1-2-grams + LinearSVC": lambda: make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LinearSVC()),
    "MultinomialNB (counts)": lambda: make_pipeline(CountVectorizer(), MultinomialNB()),
}
print(f"{'data set':<11} {'classifier':<36} {'accuracy':>9} {'macro-F1':>9} {'train (s)':>10} {'size':>16}")
# The same split without cross-validation (the fixed L2 0.001, plain counts, equal weights).
variants = {"sms_spam_folds0": "loopai inducer --folds 0", "sentiment_folds0": "loopai inducer --folds 0"}
for name in ["sms_spam", "sms_spam_folds0", "sentiment", "sentiment_folds0", "hdfs", "banking77"]:
    d = os.path.join(tmp, name)
    if not os.path.exists(os.path.join(d, "answers.jsonl")): continue
    xtr, ytr = load(os.path.join(d, "train.jsonl")); xte, yte = load(os.path.join(d, "held.jsonl"))
    labels = sorted(set(yte))
    # The program's answers, scored by the same functions as the baselines' (labels of the held-out part).
    ours = [json.loads(l).get("label", "") for l in open(os.path.join(d, "answers.jsonl"), encoding="utf-8") if l.strip()]
    assert len(ours) == len(yte), (name, len(ours), len(yte))
    src = open(os.path.join(d, "program.loop"), encoding="utf-8").read()
    size = f"{src.count(chr(10))} lines, {len(src.encode()) // 1024} KB"
    shown, who = ("", variants[name]) if name in variants else (name, "loopai inducer")
    print(f"{shown:<11} {who:<36} {100*accuracy_score(yte, ours):>8.2f}% {f1_score(yte, ours, labels=labels, average='macro'):>9.3f} "
          f"{float(open(os.path.join(d, 'seconds')).read()):>10.2f} {size:>16}")
    if name in variants: continue   # the same split as the data set above it: its baselines are above
    for label, make in baselines.items():
        m = make(); s = time.perf_counter(); m.fit(xtr, ytr); secs = time.perf_counter() - s
        p = m.predict(xte)
        print(f"{'':<11} {label:<36} {100*accuracy_score(yte, p):>8.2f}% {f1_score(yte, p, labels=labels, average='macro'):>9.3f} {secs:>10.2f} {'':>16}")
PY
