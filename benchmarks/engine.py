"""The engine layer against the in-memory path: MRR movements of 10k to 1M subscription rows.

    .venv/bin/python benchmarks/engine.py [--sizes 10k,100k,1M] [--no-spark]

For each size: writes the book (benchmarks/datagen.py) and its fx rates into a DuckDB file and, when
pyspark and a Java runtime are there, into Parquet files that a local Spark (``local[2]``) reads as
views; checks that ``kpilib.engine.engine_movements`` equals ``mrr_movements`` + ``movement_counts``
to the micro-unit on each, then times them (best of 3, in this process) and prints the ratios to
the in-memory path; then the same for logo retention (``engine_cohorts`` against ``logo_retention``
of ``customer_mrr``, DuckDB only); then the engagement figures of k copies of the sample company
(``--copies``, benchmarks/copies.py): the scores from ``engine_usage_sums`` with DuckDB reading the usage's
Parquet file in place (as ``kpi report`` does for a folder) against ``engagement_scores`` of the usage
frame already loaded, after checking that they are equal. An engine's time includes compiling
the expressions and its round trips; the in-memory time starts from the frame already in memory (an
engine never loads it at all). Spark's session start (seconds, once) is not in its times.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kpilib.engine import connect, engine_cohorts, engine_movements  # noqa: E402
from kpilib.metrics.cohorts import logo_retention  # noqa: E402
from kpilib.metrics.mrr import customer_mrr, movement_counts, mrr_movements  # noqa: E402

import datagen  # noqa: E402


def _in_memory(subs: pd.DataFrame) -> pd.DataFrame:
    money = mrr_movements(subs, datagen.FX)
    return pd.concat([money.drop(columns="customers"), movement_counts(subs, datagen.FX)], axis=1)


def _cohorts_in_memory(subs: pd.DataFrame) -> pd.DataFrame:
    return logo_retention(customer_mrr(subs, datagen.FX))


def _cohorts(engine, subs: pd.DataFrame) -> tuple[float, float]:
    """Logo retention in memory (the customer x month grid, then the matrix) and in the engine, after
    checking that they are equal; best of 3 each."""
    pd.testing.assert_frame_equal(engine_cohorts(engine), _cohorts_in_memory(subs), check_exact=False, rtol=1e-12)
    return _best(_cohorts_in_memory, subs), _best(engine_cohorts, engine)


def _best(fn, *args, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def _spark():
    """A local Spark session, or ``None`` (no pyspark, no Java)."""
    import shutil

    try:
        import pyspark  # noqa: F401
    except ImportError:
        return None
    if shutil.which("java") is None:
        return None
    from kpilib.engine import spark_session

    return spark_session("local[2]")


def _on_spark(session, subs: pd.DataFrame, tmp: Path, want: pd.DataFrame) -> float:
    """Time the movements on Spark, over Parquet copies of the book, after checking them."""
    for name, frame in (("subscriptions", subs), ("fx_rates", datagen.FX)):
        path = tmp / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        session.read.parquet(str(path)).createOrReplaceTempView(name)
    engine = connect(session)
    got = engine_movements(engine)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    return _best(engine_movements, engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--no-spark", action="store_true", help="leave Spark out")
    parser.add_argument("--copies", default="1,10,100", help="copies of the sample for the engagement figures")
    args = parser.parse_args()
    session = None if args.no_spark else _spark()
    print(f"{'rows':>6} {'in memory':>10} {'DuckDB engine':>14} {'DuckDB / memory':>16}"
          + (f" {'Spark engine':>13} {'Spark / memory':>15}" if session is not None else ""))
    cohort_lines: list[str] = []
    for size in args.sizes.split(","):
        subs = datagen.subscriptions(datagen.SIZES[size])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "book.duckdb"
            con = duckdb.connect(str(path))
            con.register("s", subs)
            con.register("f", datagen.FX)
            con.execute("CREATE TABLE subscriptions AS SELECT * FROM s")
            con.execute("CREATE TABLE fx_rates AS SELECT * FROM f")
            con.close()
            engine = connect(f"duckdb:///{path}")
            got = engine_movements(engine)
            want = _in_memory(subs)[list(got.columns)]
            pd.testing.assert_frame_equal(got, want, check_exact=True)
            memory = _best(_in_memory, subs)
            pushed = _best(engine_movements, engine)
            cohort_lines.append(f"{size:>6} " + "{:>9.3f}s {:>13.3f}s {r:>15.2f}x".format(
                *(times := _cohorts(engine, subs)), r=times[1] / times[0]))
            engine.close()
            spark = _on_spark(session, subs, Path(tmp), want) if session is not None else None
        line = f"{size:>6} {memory:>9.3f}s {pushed:>13.3f}s {pushed / memory:>15.2f}x"
        if spark is not None:
            line += f" {spark:>12.3f}s {spark / memory:>14.2f}x"
        print(line, flush=True)
    print(f"\nlogo retention (cohorts x ages)\n{'rows':>6} {'in memory':>10} {'DuckDB engine':>14} "
          f"{'DuckDB / memory':>16}")
    print("\n".join(cohort_lines))
    if session is not None:
        session.stop()
    print(f"\nengagement scores (every account-month) of k copies of the sample\n"
          f"{'copies':>6} {'usage rows':>11} {'in memory':>10} {'DuckDB, in place':>17} {'DuckDB / memory':>16}")
    for k in (int(c) for c in args.copies.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            print(_engagement(k, Path(tmp)), flush=True)


def _engagement(k: int, tmp: Path) -> str:
    import copies

    from kpilib import load_dataset
    from kpilib.engine.engagement import engine_usage_sums
    from kpilib.engine.movements import connect_local
    from kpilib.metrics.voice import engagement_scores, scores_of_usage_sums

    folder = copies.write_copies(k, tmp / "copies")
    usage = load_dataset(str(folder)).tables["product_usage"]
    engine = connect_local({"product_usage": folder / "product_usage.parquet"}, "copies")

    def pushed():
        sums = engine_usage_sums(engine)
        return scores_of_usage_sums(sums)

    try:
        pd.testing.assert_frame_equal(pushed(), engagement_scores(usage), check_exact=True)
        memory, engine_time = _best(engagement_scores, usage), _best(pushed)
    finally:
        engine.close()
    return f"{k:>6} {len(usage):>11,} {memory:>9.3f}s {engine_time:>16.3f}s {engine_time / memory:>15.2f}x"


if __name__ == "__main__":
    main()
