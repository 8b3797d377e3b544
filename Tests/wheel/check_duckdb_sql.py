"""Run by WheelTests: the HDFS program in DuckDB two ways on the same table — its wheel as a scalar
function, and the SQL `loopai compile --emit duckdb-sql` derives from it — against the
interpreter's labels.  usage: check_duckdb_sql.py MODULE QUERY.sql LINES.txt EXPECTED.txt"""
import sys

import duckdb


def main():
    name, query_path, lines_path, expected_path = sys.argv[1:5]
    m = __import__(name)
    lines = open(lines_path, encoding="utf-8").read().split("\n")[:-1]
    expected = open(expected_path, encoding="utf-8").read().split("\n")[:-1]
    con = duckdb.connect()
    m.register_duckdb(con)
    con.execute("CREATE TABLE input AS SELECT unnest(?) AS message, generate_subscripts(?, 1) AS id", [lines, lines])
    udf = dict(con.execute("SELECT id, %s(message) FROM input" % name).fetchall())
    sql = dict(con.execute("SELECT id, label FROM (%s)" % open(query_path, encoding="utf-8").read()).fetchall())
    bad = [i for i in range(1, len(lines) + 1) if not (udf[i] == sql[i] == expected[i - 1])]
    if len(udf) != len(lines) or len(sql) != len(lines) or bad:
        print("FAIL: %d rows, %d differ; first: line %s wheel %r sql %r expected %r" % (
            len(lines), len(bad), bad[0] if bad else "-", udf.get(bad[0]) if bad else "", sql.get(bad[0]) if bad else "",
            expected[bad[0] - 1] if bad else ""))
        sys.exit(1)
    print("OK DuckDB SQL and the wheel agree with the interpreter on %d rows" % len(lines))


main()
