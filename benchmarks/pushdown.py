"""Pushdown benchmark: aggregate millions of raw events in the database, not in pandas.

    .venv/bin/python benchmarks/pushdown.py [--events 5000000] [--sessions 5000000]

1. Generates raw ``product_events`` and ``web_sessions`` tables directly inside
   a DuckDB file with SQL (``range`` + ``random`` after ``setseed``, one thread so
   the draw is reproducible), plus a small customers/subscriptions pair.
2. Runs :func:`kpilib.data.databases.load_database` in a fresh child process, which
   reports its wall time and peak resident memory (``resource.getrusage``); for
   comparison, another child fetches the raw rows into pandas and aggregates there.
3. Checks the child's ``product_usage`` and ``web_traffic`` against a reference
   aggregation written independently in DuckDB SQL (``strftime`` months, window
   functions for first visits).
4. Prints time and memory next to the size of the raw data, on disk and as it
   would be in pandas (measured on a sample, scaled up).

Not a test: run it by hand and read the numbers.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

SEED = 0.42
CUSTOMERS = 1000


def generate(path: Path, events: int, sessions: int) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    con.execute("SET threads = 1")  # random() is reproducible after setseed() on one thread only
    con.execute(f"SELECT setseed({SEED})")
    con.execute(f"""
        CREATE TABLE customers AS
        SELECT 'c' || lpad(i::VARCHAR, 4, '0') AS customer_id, 'Company ' || i AS name,
               ['SMB', 'Mid-Market', 'Enterprise'][1 + i % 3] AS segment,
               ['NA', 'EMEA', 'APAC'][1 + i % 3] AS region, 'Organic Search' AS acquisition_channel,
               DATE '2023-01-01' + (i % 300)::INTEGER AS created_at
        FROM range({CUSTOMERS}) t(i)""")
    con.execute("""
        CREATE TABLE subscriptions AS
        SELECT 's' || substr(customer_id, 2) AS subscription_id, customer_id, 'Pro' AS plan,
               created_at + 1 AS start_date, NULL::DATE AS end_date, 99.0::DOUBLE AS amount,
               'month' AS billing_interval, 'USD' AS currency
        FROM customers""")
    con.execute(f"""
        CREATE TABLE product_events AS
        SELECT 'c' || lpad(floor(random() * {CUSTOMERS})::INTEGER::VARCHAR, 4, '0') AS customer_id,
               TIMESTAMP '2024-01-01' + to_microseconds((random() * 730 * 86400e6)::BIGINT) AS "timestamp",
               ['login', 'report_created', 'export', 'invite_sent', 'dashboard_viewed', 'api_call',
                'comment', 'alert_set'][1 + floor(random() * 8)::INTEGER] AS event
        FROM range({events})""")
    con.execute(f"""
        CREATE TABLE web_sessions AS
        SELECT TIMESTAMP '2025-01-01' + to_microseconds((random() * 365 * 86400e6)::BIGINT) AS "timestamp",
               ['Organic Search', 'Paid Search', 'Direct', 'Referral', 'Social', 'Email']
                   [1 + floor(random() * 6)::INTEGER] AS channel,
               'v' || floor(random() * 800000)::INTEGER AS visitor_id,
               random() < 0.45 AS bounced
        FROM range({sessions})""")
    con.close()


def reference(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The expected aggregates, computed in DuckDB independently of kpilib's SQL."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    usage = con.sql("""
        SELECT customer_id, strftime("timestamp", '%Y-%m') AS month, event, count(*) AS count
        FROM product_events GROUP BY ALL""").df()
    traffic = con.sql("""
        WITH s AS (
            SELECT "timestamp"::DATE AS day, channel, visitor_id, bounced,
                   min("timestamp"::DATE) OVER (PARTITION BY visitor_id) AS first_day
            FROM web_sessions)
        SELECT day AS date, channel, count(*) AS sessions, count(DISTINCT visitor_id) AS unique_visitors,
               count(DISTINCT visitor_id) FILTER (WHERE day = first_day) AS new_visitors,
               count(*) FILTER (WHERE bounced) AS bounced_sessions
        FROM s GROUP BY ALL""").df()
    con.close()
    return (usage.assign(month=pd.PeriodIndex(usage["month"], freq="M")),
            traffic.assign(date=pd.to_datetime(traffic["date"])))


def raw_pandas_bytes(path: Path, table: str, rows: int, sample: int = 200_000) -> float:
    """Bytes the whole raw table would take as a pandas DataFrame, scaled from a sample."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    df = con.sql(f"SELECT * FROM {table} LIMIT {sample}").df()
    con.close()
    return df.memory_usage(deep=True).sum() / len(df) * rows


def measure(url: str, out: Path) -> None:
    """Child process: load through kpilib, save the aggregates, print time and peak RSS."""
    from kpilib.data.databases import load_database

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    ds = load_database(url)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ds.tables["product_usage"].assign(month=lambda d: d["month"].astype(str)).to_parquet(out / "usage.parquet")
    ds.tables["web_traffic"].to_parquet(out / "traffic.parquet")
    print(json.dumps({"seconds": seconds, "peak_rss": peak, "baseline_rss": baseline}))


def measure_in_pandas(path: Path) -> None:
    """Child process, for comparison: fetch the raw rows into pandas and aggregate there."""
    import duckdb

    import kpilib  # noqa: F401  same imports as the pushdown child, for a fair baseline

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    events = con.sql("SELECT * FROM product_events").df()
    usage = events.groupby(["customer_id", events["timestamp"].dt.to_period("M"), "event"]).size()
    del events
    sessions = con.sql("SELECT * FROM web_sessions").df()
    sessions["date"] = sessions["timestamp"].dt.normalize()
    by_day = sessions.groupby(["date", "channel"])
    traffic = pd.DataFrame({"sessions": by_day.size(), "unique_visitors": by_day["visitor_id"].nunique(),
                            "bounced_sessions": by_day["bounced"].sum()})
    con.close()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak_rss": peak, "baseline_rss": baseline,
                      "rows": len(usage) + len(traffic)}))


def _child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sorted(df: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return df.sort_values(key).reset_index(drop=True)


def _check(got: pd.DataFrame, expected: pd.DataFrame, key: list[str]) -> None:
    expected = expected[got.columns].astype({c: got[c].dtype for c in got.columns})
    pd.testing.assert_frame_equal(_sorted(got, key), _sorted(expected, key), check_dtype=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--sessions", type=int, default=5_000_000)
    parser.add_argument("--duckdb-options", default="",
                        help="DuckDB settings as URL query text, e.g. memory_limit=256MB")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure == "generate":
        return generate(Path(args.out), args.events, args.sessions)
    if args.measure == "pandas":
        return measure_in_pandas(Path(args.out))
    if args.measure:
        return measure(args.measure, Path(args.out))

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "raw.duckdb"
        t0 = time.perf_counter()
        # Every heavy step runs in a child: on Linux a child inherits its parent's peak RSS
        # (ru_maxrss survives fork and exec), so the parent must stay small for honest numbers.
        subprocess.run([sys.executable, __file__, "--measure", "generate", "--out", str(path),
                        "--events", str(args.events), "--sessions", str(args.sessions)], check=True)
        print(f"generated {args.events:,} product_events + {args.sessions:,} web_sessions "
              f"in {time.perf_counter() - t0:.1f} s")
        url = f"duckdb:///{path}" + (f"?{args.duckdb_options}" if args.duckdb_options else "")
        stats = _child("--measure", url, "--out", tmp)
        in_pandas = _child("--measure", "pandas", "--out", str(path))

        usage, traffic = reference(path)
        got_usage = pd.read_parquet(Path(tmp) / "usage.parquet")
        got_usage = got_usage.assign(month=pd.PeriodIndex(got_usage["month"], freq="M"))
        _check(got_usage, usage, ["customer_id", "month", "event"])
        _check(pd.read_parquet(Path(tmp) / "traffic.parquet"), traffic, ["date", "channel"])
        assert usage["count"].sum() == args.events and traffic["sessions"].sum() == args.sessions

        raw_rows = args.events + args.sessions
        raw_pandas = (raw_pandas_bytes(path, "product_events", args.events)
                      + raw_pandas_bytes(path, "web_sessions", args.sessions))
        mib = 1024 ** 2
        print("aggregates equal the independent DuckDB reference: "
              f"{len(usage):,} product_usage rows, {len(traffic):,} web_traffic rows")
        print(f"raw rows                       {raw_rows:>12,}")
        print(f"raw size, DuckDB file          {path.stat().st_size / mib:>10.0f} MiB")
        print(f"raw size, as pandas frames     {raw_pandas / mib:>10.0f} MiB")
        print(f"DuckDB options                 {args.duckdb_options or '(defaults)':>14}")
        for label, s in (("pushdown (load_database)", stats), ("raw rows into pandas", in_pandas)):
            print(f"{label:<30} {s['seconds']:>8.1f} s, peak RSS {s['peak_rss'] / mib:>6.0f} MiB "
                  f"(+{(s['peak_rss'] - s['baseline_rss']) / mib:.0f} MiB over "
                  f"{s['baseline_rss'] / mib:.0f} MiB of imports)")


if __name__ == "__main__":
    main()
