"""The KPI model on the sample company: load, build the model and compute every headline KPI.

    .venv/bin/python benchmarks/model.py [--repeats 5]

Each repeat runs in a fresh subprocess (cold caches, imports excluded from the timings) and prints
the median of: loading and validating the sample, building a KpiModel for 2025-12 and computing the
19 headline KPIs for the period, the previous period and a year earlier (three models, each cut at
its own period's end), and the same for the quarter 2025-Q4 and the year 2025. Target (issue 11):
the model for the sample in at most 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, time
import importlib, pkgutil
import kpilib as kpi
from kpilib.report.overview import headline_kpis
# kpilib loads its modules lazily (scipy with the first sBG fit): import them all before timing
for mod in pkgutil.walk_packages(kpi.__path__, "kpilib."):
    if not mod.name.startswith("kpilib.report.runner") and mod.name != "kpilib.cli":
        importlib.import_module(mod.name)
t0 = time.perf_counter(); ds = kpi.load_dataset(None); t1 = time.perf_counter()
out = {"load": t1 - t0}
for label in ("2025-12", "2025-Q4", "2025"):
    t = time.perf_counter(); headline_kpis(kpi.KpiModel(ds, label)); out[label] = time.perf_counter() - t
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    runs = [json.loads(subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                                      check=True).stdout) for _ in range(args.repeats)]
    print(f"{'step':<40}{'median':>10}")
    for key, label in (("load", "load and validate the sample"), ("2025-12", "model + headline, month 2025-12"),
                       ("2025-Q4", "model + headline, quarter 2025-Q4"), ("2025", "model + headline, year 2025")):
        print(f"{label:<40}{statistics.median(r[key] for r in runs):>9.2f}s")
    worst = max(statistics.median(r[k] for r in runs) for k in ("2025-12", "2025-Q4", "2025"))
    print(f"target: model + headline <= 1 s; worst period {worst:.2f} s -> {'met' if worst <= 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
