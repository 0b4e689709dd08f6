"""Benchmarks: kpilib against DuckDB SQL and a naive pandas baseline, in one run.

    .venv/bin/python benchmarks/run.py                 # 10k, 100k, 1M rows
    .venv/bin/python benchmarks/run.py --sizes 10k,100k --repeats 3

For each size it first checks that the three implementations return equal
movements, then times each in a fresh subprocess (median of --repeats runs) and
records that process's peak RSS. It prints ratios, because a shared 2-core
machine is noisy: kpilib / DuckDB (target <= 1.5) and naive / kpilib (target >= 10).
The naive baseline is run only up to --naive-max rows and extrapolated linearly
(per customer) beyond, as the output says.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
START, END = "2021-01", "2025-12"


def _impl(name: str):
    if name == "kpilib":
        import kpilib

        return lambda subs, fx: kpilib.mrr_movements(subs, fx, start=START, end=END)
    if name == "duckdb":
        from reference_duckdb import mrr_movements_duckdb

        return lambda subs, fx: mrr_movements_duckdb(subs, fx, START, END)
    if name == "naive":
        from naive import mrr_movements_naive

        return lambda subs, fx: mrr_movements_naive(subs, fx, START, END)
    if name == "cohorts":
        import kpilib

        def cohorts(subs, fx):
            wide = kpilib.customer_mrr(subs, fx, end=END)
            return kpilib.logo_retention(wide), kpilib.revenue_retention(wide)
        return cohorts
    if name == "funnel":
        import kpilib

        from datagen import leads

        table = leads(1_000_000)
        period = kpilib.parse_period("2025")

        def funnel(subs, fx):
            return (kpilib.funnel_counts(table, period), kpilib.funnel_counts(table, period, "flow"),
                    kpilib.win_rate(table, period), kpilib.sales_cycle(table, period))
        return funnel
    raise ValueError(name)


def worker(name: str, rows: int, repeats: int) -> None:
    """Run one implementation in this (fresh) process; print timings and peak RSS as JSON."""
    from datagen import FX, subscriptions

    subs = subscriptions(rows)
    fn = _impl(name)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(subs, FX)
        times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"median": statistics.median(times), "peak_mb": peak / 1024, "data_mb": base_rss / 1024}))


def measure(name: str, rows: int, repeats: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", name, str(rows), str(repeats)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_equal(rows: int, naive: bool) -> None:
    import pandas as pd

    from datagen import FX, subscriptions

    subs = subscriptions(rows)
    ours = _impl("kpilib")(subs, FX)
    others = {"duckdb": _impl("duckdb")(subs, FX)}
    if naive:
        others["naive"] = _impl("naive")(subs, FX)
    for frame in others.values():
        pd.testing.assert_frame_equal(ours, frame, check_dtype=False, check_names=False, atol=0.01, rtol=0)
    print(f"  equal results: kpilib = {' = '.join(others)} (to the cent, every month {START}..{END})")


def machine() -> str:
    import duckdb
    import pandas

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 1024 / 1024
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}, "
            f"pandas {pandas.__version__}, duckdb {duckdb.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--naive-max", type=int, default=10_000, help="largest size the naive baseline runs at")
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "ROWS", "REPEATS"), help=argparse.SUPPRESS)
    parser.add_argument("--no-pack", action="store_true", help="skip timing the report pack")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    from datagen import SIZES, subscriptions

    print(f"machine: {machine()}")
    naive_per_row = None
    rows_out = []
    for label in args.sizes.split(","):
        rows = SIZES[label]
        subscriptions(rows)  # build the cache outside the timings
        print(f"\n{label} subscription rows")
        run_naive = rows <= args.naive_max
        check_equal(rows, run_naive)
        ours = measure("kpilib", rows, args.repeats)
        duck = measure("duckdb", rows, args.repeats)
        if run_naive:
            naive = measure("naive", rows, 1)
            naive_per_row = naive["median"] / rows
            naive_time, note = naive["median"], "measured"
        else:
            naive_time, note = naive_per_row * rows, f"extrapolated from {args.naive_max:,} rows"
        row = {"size": label, "kpilib_s": ours["median"], "duckdb_s": duck["median"], "naive_s": naive_time,
               "naive_note": note, "kpilib_mb": ours["peak_mb"], "duckdb_mb": duck["peak_mb"],
               "vs_duckdb": ours["median"] / duck["median"], "vs_naive": naive_time / ours["median"]}
        rows_out.append(row)
        print(f"  kpilib {ours['median']:.3f} s ({ours['peak_mb']:.0f} MB peak) | duckdb {duck['median']:.3f} s "
              f"({duck['peak_mb']:.0f} MB) | naive {naive_time:.1f} s ({note})")
        print(f"  ratio kpilib/duckdb = {row['vs_duckdb']:.2f} (target <= 1.5)   "
              f"naive/kpilib = {row['vs_naive']:.0f}x (target >= 10)")
    if "1M" in args.sizes:
        co = measure("cohorts", SIZES["1M"], 1)
        fu = measure("funnel", SIZES["1M"], args.repeats)
        print(f"\ncohort logo + revenue matrices at 1M rows: {co['median']:.2f} s, {co['peak_mb']:.0f} MB peak")
        print(f"funnel (both views, win rate, cycle) at 1M leads: {fu['median']:.2f} s, {fu['peak_mb']:.0f} MB peak")
    if not args.no_pack:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "kpi"), "report", "--period", "2025-12",
                            "--out", tmp, "--no-progress"], check=True, capture_output=True)
            wall = time.perf_counter() - t
            print(f"\nfull report pack on the sample data: {wall:.1f} s wall (target <= 20 s, issue 11)")
    print("\n| size | kpilib s | DuckDB s | naive s | kpilib / DuckDB | naive / kpilib | kpilib peak MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows_out:
        print(f"| {r['size']} | {r['kpilib_s']:.3f} | {r['duckdb_s']:.3f} | {r['naive_s']:.1f} ({r['naive_note']}) | "
              f"{r['vs_duckdb']:.2f} | {r['vs_naive']:.0f}x | {r['kpilib_mb']:.0f} |")


if __name__ == "__main__":
    main()
