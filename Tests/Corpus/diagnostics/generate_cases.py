#!/usr/bin/env python3
"""Writes the corpus cases whose exact bytes matter or that are too long to edit by hand.

    python3 Tests/Corpus/diagnostics/generate_cases.py

- e0107_latin1_text.loop: a file saved as Latin-1 (byte 0xE9 for "é" inside a text literal).
- e0107_nul_byte.loop: a NUL byte inside a text literal.
- e0107_invalid_utf8_in_comment.loop: an encoded surrogate (ED A0 80) and an overlong "/" (C0 AF)
  in a comment; even comments must be UTF-8, and one error is reported for the whole file.
- e0107_utf16_file.loop: a whole program saved as UTF-16LE with a byte order mark.
- long_line_snippet.loop: a rule line of more than 300 characters with an error in the middle.
- e0204_long_chain.loop: a condition with 1500 terms joined by `+`.

After running it, regenerate the .expected files (see README.md) and review the diff.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name + ".loop"), "wb") as f:
        f.write(data)


write("e0107_latin1_text", b'''program bytes

input text: text
labels odd, other

rule latin1 when contains(text, "caf\xe9") => odd

otherwise => other
''')

write("e0107_nul_byte", b'''program sms_spam

input text: text
labels spam, ham

rule prize when contains(lower(text), "prize\x00") => spam

otherwise => ham
''')

write("e0107_invalid_utf8_in_comment", b'''program sms_spam

input text: text
labels spam, ham

// flags \xed\xa0\x80 and \xc0\xaf
rule prize when contains(lower(text), "prize") => spam

otherwise => ham
''')

utf16 = '''program sms_spam

input text: text
labels spam, ham

otherwise => ham
'''
write("e0107_utf16_file", b"\xff\xfe" + utf16.encode("utf-16-le"))

words = ["refund", "invoice", "charge", "billing", "payment", "receipt", "credit", "debit", "subscription", "renewal"]
left = " or ".join('contains(msg, "%s")' % w for w in words[:5])
right = " or ".join('contains(msg, "%s")' % w for w in words[5:])
line = 'rule billing when %s or contians(msg, "overcharged") or %s => billing' % (left, right)
assert len(line) > 300
write("long_line_snippet", ('''program support

input text: text
labels billing, other

let msg = lower(text)

%s

otherwise => other
''' % line).encode())

chain = " + ".join(["1"] * 1500)
write("e0204_long_chain", ('''program sums

input text: text
labels long, short

rule long_text when len(text) > %s => long

otherwise => short
''' % chain).encode())
