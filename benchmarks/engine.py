"""The engine layer against the in-memory path: MRR movements of 10k to 1M subscription rows.

    .venv/bin/python benchmarks/engine.py [--sizes 10k,100k,1M]

For each size: writes the book (benchmarks/datagen.py) and its fx rates into a DuckDB file, checks
that ``kpilib.engine.engine_movements`` equals ``mrr_movements`` + ``movement_counts`` to the
micro-unit, then times both (best of 3, in this process) and prints the ratio. The engine's time
includes compiling the expressions and its round trips; the in-memory time starts from the frame
already in memory (the engine's never loads it at all).
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
from kpilib.engine import connect, engine_movements  # noqa: E402
from kpilib.metrics.mrr import movement_counts, mrr_movements  # noqa: E402

import datagen  # noqa: E402


def _in_memory(subs: pd.DataFrame) -> pd.DataFrame:
    money = mrr_movements(subs, datagen.FX)
    return pd.concat([money.drop(columns="customers"), movement_counts(subs, datagen.FX)], axis=1)


def _best(fn, *args, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1M")
    args = parser.parse_args()
    print(f"{'rows':>6} {'in memory':>10} {'DuckDB engine':>14} {'engine / memory':>16}")
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
            engine.close()
        print(f"{size:>6} {memory:>9.3f}s {pushed:>13.3f}s {pushed / memory:>15.2f}x")


if __name__ == "__main__":
    main()
