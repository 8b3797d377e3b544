#!/usr/bin/env python3
"""Writes keywords10.loop and keywords1000.loop: the same program shape with the 10 and the 1,000
most frequent words of the SMS Spam Collection (Examples/sms_spam/data.jsonl) as keyword lists,
to measure how a compiled program's cost grows with the number of keywords."""
import collections, json, os, re

here = os.path.dirname(os.path.abspath(__file__))
counts = collections.Counter()
with open(os.path.join(here, "..", "Examples", "sms_spam", "data.jsonl"), encoding="utf-8") as f:
    for line in f:
        counts.update(re.findall(r"[a-z]{2,}", json.loads(line)["text"].lower()))
words = [w for w, _ in counts.most_common(1000)]
for n in (10, 1000):
    kw = words[:n]
    half = len(kw) // 2
    lst = lambda ws: "[" + ", ".join('"%s"' % w for w in ws) + "]"
    src = f"""program keywords{n}
  "Scaling benchmark: {n} keywords from the SMS collection's most frequent words."

input text: text
labels a, b

let msg = lower(text)
const first = {lst(kw[:half])}
const second = {lst(kw[half:])}

score a {{
  1 when contains_any(msg, first)
  0.5 * count_words(msg, first)
}}
score b {{
  1 when contains_any_word(msg, second)
  0.5 * count_words(msg, second)
}}

otherwise => a
"""
    with open(os.path.join(here, f"keywords{n}.loop"), "w", encoding="utf-8") as out:
        out.write(src)
print("wrote keywords10.loop and keywords1000.loop")
