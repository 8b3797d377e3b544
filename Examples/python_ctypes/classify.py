#!/usr/bin/env python3
"""Classifies one text per line of standard input with a shared library made by
    loopai compile PROGRAM --emit shared -o libprogram.so
Usage: classify.py libprogram.so < texts.txt
Prints "label<TAB>confidence<TAB>decided_by" per line, like Examples/c_api/classify.c.
Uses the batch entry point: all lines are classified in one call."""
import ctypes
import sys


class LoopValue(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_char_p), ("len", ctypes.c_int64), ("number", ctypes.c_double)]


class LoopResult(ctypes.Structure):
    _fields_ = [("label", ctypes.c_int32), ("decided_by", ctypes.c_int32), ("confidence", ctypes.c_double)]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: classify.py LIBRARY.so < texts")
    lib = ctypes.CDLL(sys.argv[1])
    lib.loop_abi_version.restype = ctypes.c_int32
    lib.loop_label_count.restype = ctypes.c_int32
    lib.loop_label_name.restype = ctypes.c_char_p
    lib.loop_label_name.argtypes = [ctypes.c_int32]
    lib.loop_field_count.restype = ctypes.c_int32
    lib.loop_field_type.restype = ctypes.c_char_p
    lib.loop_field_type.argtypes = [ctypes.c_int32]
    lib.loop_classify_batch.argtypes = [ctypes.POINTER(LoopValue), ctypes.c_int64, ctypes.POINTER(LoopResult),
                                        ctypes.POINTER(ctypes.c_double)]
    if lib.loop_abi_version() != 1:
        sys.exit("unsupported ABI version %d" % lib.loop_abi_version())
    if lib.loop_field_count() != 1 or lib.loop_field_type(0) != b"text":
        sys.exit("this example needs a program with one text input")
    labels = [lib.loop_label_name(i).decode() for i in range(lib.loop_label_count())]
    lines = [l.rstrip(b"\r\n") for l in sys.stdin.buffer.read().split(b"\n")]
    if lines and lines[-1] == b"":
        lines.pop()
    n = len(lines)
    values = (LoopValue * max(1, n))()
    for i, l in enumerate(lines):
        values[i].ptr = l
        values[i].len = len(l)
    results = (LoopResult * max(1, n))()
    lib.loop_classify_batch(values, n, results, None)
    out = sys.stdout
    for r in results[:n]:
        by = "score" if r.decided_by == -1 else "otherwise" if r.decided_by == -2 else "rule"
        out.write("%s\t%s\t%s\n" % (labels[r.label], repr(r.confidence), by))


if __name__ == "__main__":
    main()
