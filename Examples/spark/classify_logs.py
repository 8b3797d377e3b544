#!/usr/bin/env python3
"""Classifies log lines inside Spark twice in one run, on the same cached rows:

  loopai  the compiled program's wheel (`loopai compile P --emit wheel`) inside mapInPandas;
  sql     the same program as Spark SQL (`loopai compile P --emit spark-sql`): CASE WHEN ... RLIKE,
          what a Spark user would write by hand.

Both are written as Parquet; then the two answers are compared row by row, and, with --expected
(one label per line, e.g. from `loopai run`), the wheel's answers against it.

usage: classify_logs.py --module hdfs_logs --sql hdfs_logs.sql --field message --input LINES.txt
                        --output DIR [--master local[2]] [--expected LABELS.txt]
Prints one JSON line of figures."""
import argparse
import json
import os
import sys
import time

import pandas
from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--module", required=True, help="the wheel's module (the program's name)")
    a.add_argument("--sql", required=True, help="the query from loopai compile --emit spark-sql")
    a.add_argument("--field", default="message", help="the program's text field")
    a.add_argument("--input", required=True, help="one log line per line")
    a.add_argument("--output", required=True, help="directory for the Parquet outputs")
    a.add_argument("--master", default="local[2]")
    a.add_argument("--expected", help="one expected label per input line")
    a.add_argument("--driver-memory", default="4g", help="local mode runs in the driver's JVM")
    args = a.parse_args()
    cores = int(args.master[len("local["):-1]) if args.master.startswith("local[") and args.master[-2].isdigit() else 1

    # The Python workers run this interpreter (the environment where the wheel is installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master(args.master).appName("loopai-classify-logs")
             .config("spark.driver.memory", args.driver_memory).config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(max(2, cores)))
             .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    lines = (spark.read.text(args.input).withColumnRenamed("value", args.field)
             .withColumn("id", F.monotonically_increasing_id()).cache())
    n = lines.count()   # read and cached once: both runs classify the same rows in memory
    module, field = args.module, args.field

    def classify(batches):
        import importlib
        m = importlib.import_module(module)
        for pdf in batches:
            r = m.classify_series(pdf[field])
            yield pandas.DataFrame({"id": pdf["id"].values, "label": r["label"].values,
                                    "confidence": r["confidence"].values, "decided_by": r["decided_by"].values})

    t0 = time.time()
    (lines.mapInPandas(classify, schema="id long, label string, confidence double, decided_by string")
     .write.mode("overwrite").parquet(args.output + "/loopai"))
    loop_s = time.time() - t0

    lines.createOrReplaceTempView("input")
    query = open(args.sql, encoding="utf-8").read()
    t0 = time.time()
    spark.sql(query).select("id", "label").write.mode("overwrite").parquet(args.output + "/sql")
    sql_s = time.time() - t0

    loop = spark.read.parquet(args.output + "/loopai")
    sql = spark.read.parquet(args.output + "/sql").withColumnRenamed("label", "sql_label")
    both = loop.join(sql, "id")
    differ = both.filter(F.col("label") != F.col("sql_label")).count()
    out = {"rows": n, "cores": cores, "loopai_seconds": round(loop_s, 3), "sql_seconds": round(sql_s, 3),
           "loopai_rows_per_s_per_core": round(n / loop_s / cores), "sql_rows_per_s_per_core": round(n / sql_s / cores),
           "compared": both.count(), "differ": differ}
    if args.expected:
        expected = [l.rstrip("\n") for l in open(args.expected, encoding="utf-8")]
        got = [r["label"] for r in loop.join(lines.select("id"), "id").orderBy("id").select("label").collect()]
        out["agree_with_expected"] = sum(1 for x, y in zip(got, expected) if x == y)
        out["expected"] = len(expected)
    print(json.dumps(out))
    spark.stop()


if __name__ == "__main__":
    main()
