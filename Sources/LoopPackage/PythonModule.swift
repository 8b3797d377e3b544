import LoopCodegen
import LoopSema

/// The Python side of a wheel: a module named after the program that loads the compiled library
/// with ctypes (standard library only), and its type stubs.
enum PythonModule {
    static let keywords: Set<String> = ["False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
                                        "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
                                        "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield"]

    /// A Python string literal.
    static func literal(_ s: String) -> String { BackslashEscaped.literal(s, quote: "\"") }

    static func tuple(_ xs: [String]) -> String { "(" + xs.joined(separator: ", ") + (xs.count == 1 ? ",)" : ")") }

    static func source(_ p: TypedProgram, module: String, library: String, abiVersion: Int) -> String {
        let fields = p.fields.map { tuple([literal($0.name), literal($0.type.rawValue)]) }
        let single = p.fields.count == 1 && p.fields[0].type == .text
        return """
        \"\"\"\(p.name): \(p.description ?? "a classifier written in Loop").

        A Loop program compiled to native code by loopai (source hash \(p.sourceHash)). It runs in
        this process through ctypes: no server, no LLM call, nothing but the standard library.
        Safe to call from several threads at once: calls share nothing, and ctypes releases the
        GIL while the native code runs.

            import \(module)
            \(module).classify(\(single ? "\"some text\"" : p.fields.map { "\($0.name)=..." }.joined(separator: ", ")))      # Result(label=..., confidence=..., decided_by=...)
            \(module).classify_batch([...])       # one native call for the whole list
        \"\"\"
        from __future__ import annotations

        import ctypes as _ct
        import os as _os

        __all__ = ["ABI_VERSION", "PROGRAM_NAME", "PROGRAM_HASH", "LABELS", "RULES", "FIELDS", "InputError", "Result",
                   "classify", "classify_batch", "classify_series", "classify_array", "register_duckdb"]

        ABI_VERSION = \(abiVersion)
        PROGRAM_NAME = \(literal(p.name))
        PROGRAM_HASH = \(literal(p.sourceHash))
        LABELS = \(tuple(p.labelNames.map(literal)))
        RULES = \(tuple(p.rules.map { literal($0.name) }))
        #: (name, type) of each input field; type is "text", "number" or "bool".
        FIELDS = \(tuple(fields))


        class InputError(ValueError):
            \"\"\"An input the program cannot take: a missing or unknown field, or a value of the wrong type.\"\"\"


        class Result:
            \"\"\"One answer: the label, the confidence in [0, 1], how it was decided (`rule:NAME`, `score`
            or `otherwise`) and the label scores (None unless the scores decided), as `loopai run` gives them.\"\"\"

            __slots__ = ("label", "confidence", "decided_by", "scores")

            def __init__(self, label, confidence, decided_by, scores):
                self.label = label
                self.confidence = confidence
                self.decided_by = decided_by
                self.scores = scores

            def __repr__(self):
                return "Result(label=%r, confidence=%r, decided_by=%r)" % (self.label, self.confidence, self.decided_by)

            def __eq__(self, other):
                return isinstance(other, Result) and (self.label, self.confidence, self.decided_by, self.scores) == (
                    other.label, other.confidence, other.decided_by, other.scores)

            __hash__ = None

            def as_dict(self):
                return {"label": self.label, "confidence": self.confidence, "decided_by": self.decided_by, "scores": self.scores}


        class _Value(_ct.Structure):
            _fields_ = [("ptr", _ct.c_char_p), ("len", _ct.c_int64), ("number", _ct.c_double)]


        class _Answer(_ct.Structure):
            _fields_ = [("label", _ct.c_int32), ("decided_by", _ct.c_int32), ("confidence", _ct.c_double)]


        _lib = _ct.CDLL(_os.path.join(_os.path.dirname(_os.path.abspath(__file__)), \(literal(library))))
        _lib.loop_abi_version.restype = _ct.c_int32
        _lib.loop_program_hash.restype = _ct.c_char_p
        _lib.loop_classify_batch.argtypes = [_ct.POINTER(_Value), _ct.c_int64, _ct.POINTER(_Answer), _ct.POINTER(_ct.c_double)]
        _lib.loop_classify_batch.restype = None
        if _lib.loop_abi_version() != ABI_VERSION or _lib.loop_program_hash().decode() != PROGRAM_HASH:
            raise ImportError("%s: the library does not match this module (ABI %d, program %s)" % (
                __name__, _lib.loop_abi_version(), _lib.loop_program_hash().decode()))

        _NAMES = tuple(name for name, _ in FIELDS)
        _SINGLE_TEXT = \(single ? "True" : "False")


        def _value(name, kind, v):
            if kind == "text":
                if isinstance(v, str):
                    try:
                        return v.encode("utf-8")
                    except UnicodeEncodeError as e:
                        raise InputError("field `%s` is not valid text: %s" % (name, e)) from None
                if isinstance(v, (bytes, bytearray, memoryview)):
                    return bytes(v)
            elif kind == "number":
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    return float(v)
                if type(v).__name__ in ("float64", "float32", "int64", "int32"):   # NumPy scalars
                    return float(v)
            elif isinstance(v, bool) or type(v).__name__ == "bool_":
                return 1.0 if v else 0.0
            raise InputError("field `%s` is %s, not %s" % (name, kind, type(v).__name__))


        def _record(x):
            \"\"\"One input as its field values, in the program's order.\"\"\"
            if _SINGLE_TEXT and not isinstance(x, dict):
                return [_value(_NAMES[0], "text", x)]
            if not isinstance(x, dict):
                raise InputError("an input is a dict of the fields %s, not %s" % (", ".join(_NAMES), type(x).__name__))
            unknown = [k for k in x if k not in _NAMES]
            if unknown:
                raise InputError("unknown field `%s`; the program's fields: %s" % (unknown[0], ", ".join(_NAMES)))
            out = []
            for name, kind in FIELDS:
                if name not in x:
                    raise InputError("missing field `%s` (the program's fields: %s)" % (name, ", ".join(_NAMES)))
                out.append(_value(name, kind, x[name]))
            return out


        def _run(records):
            n = len(records)
            if n == 0:
                return []
            nf, nl = len(FIELDS), len(LABELS)
            values = (_Value * (n * nf))()
            for i, rec in enumerate(records):
                for j, v in enumerate(rec):
                    slot = values[i * nf + j]
                    if isinstance(v, bytes):
                        slot.ptr = v   # ctypes keeps the bytes alive with the array
                        slot.len = len(v)
                    else:
                        slot.number = v
            answers = (_Answer * n)()
            scores = (_ct.c_double * (n * nl))()
            _lib.loop_classify_batch(values, n, answers, scores)
            out = []
            for i in range(n):
                a = answers[i]
                if a.decided_by >= 0:
                    out.append(Result(LABELS[a.label], a.confidence, "rule:" + RULES[a.decided_by], None))
                elif a.decided_by == -1:
                    out.append(Result(LABELS[a.label], a.confidence, "score", dict(zip(LABELS, scores[i * nl:(i + 1) * nl]))))
                else:
                    out.append(Result(LABELS[a.label], a.confidence, "otherwise", None))
            return out


        def classify(*args, **fields):
            \"\"\"Classifies one input: \(single ? "`classify(text)` (or the field by name)" : "the fields by name")\(single ? "" : ", or one dict of them").\"\"\"
            if args and fields:
                raise InputError("give the input either positionally or by field name, not both")
            if len(args) > 1:
                raise InputError("classify takes one input; use classify_batch for several")
            x = args[0] if args else (fields[_NAMES[0]] if _SINGLE_TEXT and list(fields) == [_NAMES[0]] else fields)
            return _run([_record(x)])[0]


        def classify_batch(inputs):
            \"\"\"Classifies a list of inputs (\(single ? "texts, or dicts of the field" : "dicts of the fields")) with one native call; answers in order.\"\"\"
            return _run([_record(x) for x in inputs])


        def _text_answers(items):
            \"\"\"Texts classified with one native call and no Python object per answer: the texts are
            joined into one buffer and NumPy lays out the ABI's values over it. None when an item is
            not text.\"\"\"
            import numpy
            try:
                encoded = [x.encode("utf-8") if isinstance(x, str) else bytes(x) if isinstance(x, (bytes, bytearray)) else None for x in items]
            except UnicodeEncodeError:
                return None
            if any(e is None for e in encoded):
                return None
            n = len(encoded)
            answers = numpy.zeros(n, dtype=[("label", numpy.int32), ("decided_by", numpy.int32), ("confidence", numpy.float64)])
            if n == 0:
                return answers
            lengths = numpy.fromiter(map(len, encoded), dtype=numpy.int64, count=n)
            joined = b"".join(encoded) or b"\\0"
            base = _ct.cast(_ct.c_char_p(joined), _ct.c_void_p).value
            values = numpy.zeros(n, dtype=[("ptr", numpy.uint64), ("len", numpy.int64), ("number", numpy.float64)])
            values["ptr"] = numpy.uint64(base) + (numpy.cumsum(lengths) - lengths).astype(numpy.uint64)
            values["len"] = lengths
            _lib.loop_classify_batch(values.ctypes.data_as(_ct.POINTER(_Value)), n, answers.ctypes.data_as(_ct.POINTER(_Answer)), None)
            del joined
            return answers


        def _columns(answers):
            import numpy
            kinds = numpy.array(["score", "otherwise"] + ["rule:" + r for r in RULES], dtype=object)
            d = answers["decided_by"]
            return (numpy.array(LABELS, dtype=object)[answers["label"]], answers["confidence"].copy(),
                    kinds[numpy.where(d >= 0, d + 2, -d - 1)])


        def classify_series(series):
            \"\"\"A pandas Series of inputs -> a DataFrame with columns label, confidence, decided_by (same index).\"\"\"
            try:
                import pandas
            except ImportError:
                raise ImportError("classify_series needs pandas (pip install pandas)") from None
            items = series.tolist()
            answers = _text_answers(items) if _SINGLE_TEXT else None
            if answers is not None:
                label, confidence, decided_by = _columns(answers)
                return pandas.DataFrame({"label": label, "confidence": confidence, "decided_by": decided_by}, index=series.index)
            rs = _run([_record(x) for x in items])
            return pandas.DataFrame({"label": [r.label for r in rs], "confidence": [r.confidence for r in rs],
                                     "decided_by": [r.decided_by for r in rs]}, index=series.index)


        def classify_array(array):
            \"\"\"A NumPy array of inputs -> a dict of arrays: label and decided_by (objects), confidence (float64).\"\"\"
            try:
                import numpy
            except ImportError:
                raise ImportError("classify_array needs numpy (pip install numpy)") from None
            rs = _run([_record(x) for x in numpy.asarray(array, dtype=object).ravel().tolist()])
            return {"label": numpy.array([r.label for r in rs], dtype=object),
                    "confidence": numpy.array([r.confidence for r in rs], dtype=numpy.float64),
                    "decided_by": numpy.array([r.decided_by for r in rs], dtype=object)}


        def _arrow_answers(column):
            \"\"\"A pyarrow string column without nulls, classified in place: the native code reads the
            column's own buffers (no Python object per row). None when the column is not that.\"\"\"
            import numpy
            import pyarrow
            if isinstance(column, pyarrow.ChunkedArray):
                column = column.combine_chunks()
            large = pyarrow.types.is_large_string(column.type) or pyarrow.types.is_large_binary(column.type)
            if not (large or pyarrow.types.is_string(column.type) or pyarrow.types.is_binary(column.type)) or column.null_count:
                return None
            n = len(column)
            answers = numpy.zeros(n, dtype=[("label", numpy.int32), ("decided_by", numpy.int32), ("confidence", numpy.float64)])
            if n == 0:
                return answers
            _, offsets_buf, data_buf = column.buffers()
            offsets = numpy.frombuffer(offsets_buf, dtype=numpy.int64 if large else numpy.int32, count=column.offset + n + 1)[column.offset:]
            base = data_buf.address if data_buf is not None and data_buf.size else 0
            values = numpy.zeros(n, dtype=[("ptr", numpy.uint64), ("len", numpy.int64), ("number", numpy.float64)])
            values["ptr"] = numpy.uint64(base) + offsets[:-1].astype(numpy.uint64)
            values["len"] = numpy.diff(offsets)
            _lib.loop_classify_batch(values.ctypes.data_as(_ct.POINTER(_Value)), n, answers.ctypes.data_as(_ct.POINTER(_Answer)), None)
            return answers


        def register_duckdb(connection, name=None, output="label"):
            \"\"\"Registers NAME(fields...) in a DuckDB connection as a scalar function answering the label
            (output="label"), the confidence ("confidence") or how it was decided ("decided_by"); NAME is the
            program's name by default. `SELECT sms_spam(text) FROM read_csv('texts.csv')`. With pyarrow
            installed, a single-text program reads DuckDB's vectors in place; otherwise row by row.\"\"\"
            import duckdb
            BOOLEAN, DOUBLE, VARCHAR = (duckdb.sqltype(t) for t in ("BOOLEAN", "DOUBLE", "VARCHAR"))
            if output not in ("label", "confidence", "decided_by"):
                raise ValueError("output is label, confidence or decided_by, not %r" % (output,))
            params = [VARCHAR if kind == "text" else DOUBLE if kind == "number" else BOOLEAN for _, kind in FIELDS]
            returns = DOUBLE if output == "confidence" else VARCHAR
            name = name or PROGRAM_NAME

            def from_answers(answers):
                import pyarrow
                label, confidence, decided_by = _columns(answers)
                if output == "confidence":
                    return pyarrow.array(confidence)
                return pyarrow.array(label if output == "label" else decided_by, type=pyarrow.string())

            try:
                import numpy  # noqa: F401
                import pyarrow
            except ImportError:
                pyarrow = None
            if pyarrow is not None:
                def vectorized(*columns):
                    answers = _arrow_answers(columns[0]) if _SINGLE_TEXT else None
                    if answers is not None:
                        return from_answers(answers)
                    # Row by row; a row with a NULL answers NULL.
                    rows = [dict(zip(_NAMES, row)) for row in zip(*(c.to_pylist() for c in columns))]
                    full = [i for i, x in enumerate(rows) if None not in x.values()]
                    out = [None] * len(rows)
                    for i, r in zip(full, _run([_record(rows[i]) for i in full])):
                        out[i] = getattr(r, output)
                    return pyarrow.array(out, type=pyarrow.float64() if output == "confidence" else pyarrow.string())
                connection.create_function(name, vectorized, params, returns, type="arrow")
            else:
                def one(*values):
                    if None in values:
                        return None
                    return getattr(_run([_record(dict(zip(_NAMES, values)))])[0], output)
                connection.create_function(name, one, params, returns)
            return connection

        """
    }

    static func stubs(_ p: TypedProgram) -> String {
        let single = p.fields.count == 1 && p.fields[0].type == .text
        func pyType(_ t: LoopType) -> String { t == .text ? "Union[str, bytes]" : t == .number ? "float" : "bool" }
        let kw = p.fields.map { "\($0.name): \(pyType($0.type))" }.joined(separator: ", ")
        return """
        from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

        ABI_VERSION: int
        PROGRAM_NAME: str
        PROGRAM_HASH: str
        LABELS: Tuple[str, ...]
        RULES: Tuple[str, ...]
        FIELDS: Tuple[Tuple[str, str], ...]

        class InputError(ValueError): ...

        class Result:
            label: str
            confidence: float
            decided_by: str
            scores: Optional[Dict[str, float]]
            def __init__(self, label: str, confidence: float, decided_by: str, scores: Optional[Dict[str, float]]) -> None: ...
            def as_dict(self) -> Dict[str, Any]: ...

        \(single ? "def classify(text: Union[str, bytes]) -> Result: ...\ndef classify_batch(inputs: Iterable[Union[str, bytes, Mapping[str, Any]]]) -> List[Result]: ..." : "def classify(*, \(kw)) -> Result: ...\ndef classify_batch(inputs: Iterable[Mapping[str, Any]]) -> List[Result]: ...")
        def classify_series(series: Any) -> Any: ...
        def classify_array(array: Any) -> Dict[str, Any]: ...
        def register_duckdb(connection: Any, name: Optional[str] = ..., output: str = ...) -> Any: ...

        """
    }
}
