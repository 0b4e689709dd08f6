"""The MRR forecast and its backtest on the sample company and on 100 copies of it (issue 15).

    .venv/bin/python benchmarks/forecast.py [--copies 1,100] [--n-boot 100]

Each (data, step) runs in a fresh process: load the data (not timed), then time one step,
``forecast_mrr`` at 2025-12 (12 months, n_boot bootstrap replicates), ``backtest`` at 2025-12 (lags
3, 6, 12: three forecasts) or ``page``: the forecast page's family, ``KpiModel.forecast`` (the
forecast, the backtest and the open pipeline, as the page computes them, with the model's MRR grid
already built, as the pack's runner has it; its n_boot is the model's ``FORECAST_N_BOOT``, the
default here). Peak memory is measured in a second fresh process with ``tracemalloc``
(numpy registers its buffers with it): the step's own peak of Python and numpy allocations above
what the loaded data already held, beside the process's peak resident set (``ru_maxrss``, which the
loading sets at 100 copies). The k copies come from benchmarks/copies.py (ids distinct
per copy, every total x k), so the 100-copy forecast must be 100 x the sample's (checked here).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from copies import cached_copies  # noqa: E402

from kpilib.report.model import FORECAST_N_BOOT  # noqa: E402

PERIOD = "2025-12"

CHILD = r"""
import json, resource, sys, time, tracemalloc
import kpilib as kpi
from kpilib.metrics.forecast import backtest, forecast_mrr
folder, step, n_boot, traced = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "memory"
ds = kpi.load_dataset(None if folder == "sample" else folder)
subs, fx, base = ds.subscriptions, ds.tables.get("fx_rates"), ds.base_currency
if step == "page":
    model = kpi.KpiModel(ds, PERIOD)
    model.wide
if traced:
    tracemalloc.start()
t = time.perf_counter()
if step == "forecast":
    out = forecast_mrr(subs, fx, as_of=PERIOD, n_boot=n_boot, base_currency=base)
    figure = [float(out["central"].iloc[-1]), float(out["low"].iloc[-1]), float(out["high"].iloc[-1])]
elif step == "page":
    out = model.forecast.forecast
    figure = [float(out["central"].iloc[-1]), float(out["low"].iloc[-1]), float(out["high"].iloc[-1])]
else:
    out = backtest(subs, fx, end=PERIOD, lags=(3, 6, 12), n_boot=n_boot, base_currency=base)
    figure = out["forecast"].tolist()
seconds = time.perf_counter() - t
step_mb = tracemalloc.get_traced_memory()[1] / 2**20 if traced else float("nan")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": len(subs), "seconds": seconds, "rss_mb": peak, "step_mb": step_mb, "figure": figure}))
""".replace("PERIOD", repr(PERIOD))


def run(folder: str, step: str, n_boot: int, mode: str) -> dict:
    """One step in a fresh process: ``mode`` "time" (untraced) or "memory" (under tracemalloc)."""
    done = subprocess.run([sys.executable, "-c", CHILD, folder, step, str(n_boot), mode], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", default="1,100", help="comma-separated k (1 = the bundled sample)")
    parser.add_argument("--n-boot", type=int, default=FORECAST_N_BOOT, help="replicates of the forecast and "
                        "backtest steps (the page step always uses the model's)")
    args = parser.parse_args()
    results = {}
    print(f"{'data':<12}{'step':<10}{'subscriptions':>14}{'seconds':>9}{'step peak MB':>14}{'process RSS MB':>16}")
    for k in (int(x) for x in args.copies.split(",")):
        folder = "sample" if k == 1 else str(cached_copies(k))
        for step in ("forecast", "backtest", "page"):
            r = results[k, step] = run(folder, step, args.n_boot, "time")
            m = run(folder, step, args.n_boot, "memory")
            label = "sample" if k == 1 else f"{k} copies"
            print(f"{label:<12}{step:<10}{r['rows']:>14,}{r['seconds']:>9.2f}{m['step_mb']:>14.0f}{m['rss_mb']:>16.0f}")
    for k, step in results:
        if k != 1 and (1, step) in results:  # central lines scale by k exactly; the bands need not
            one, many = results[1, step]["figure"], results[k, step]["figure"]
            ratio = many[0] / one[0] if one[0] else float("nan")
            print(f"{k} copies / sample, {step} central at {PERIOD} + horizon: {ratio:.6f} (expected {k})")


if __name__ == "__main__":
    main()
