"""The whole pack at k copies of the sample company (issue 14): the scaling identity, then wall and memory.

    .venv/bin/python benchmarks/scale.py --copies 1,10,100
    eval "$(bash .ci/postgres.sh)"     # for postgres: exports KPI_TEST_POSTGRES_URL
    .venv/bin/python benchmarks/scale.py --copies 1,10 --sources folder,duckdb,postgres,spark

For every k it first builds the headline figures (what kpis.json holds: kpilib.headline_kpis on a
kpilib.KpiModel, as the runner does) for 1 copy and for k copies, each in a fresh process, and asserts
the scaling identity: money totals and counts x k (to the cent or a relative 1e-9), every ratio, rate,
month count, score and per-account average (ARPA) equal. Only then does it time ``kpi report --period
2025-12`` per k and per source, sampling /proc every 0.2 s for the peak RSS of the parent and of the
whole process tree (parent, pool workers, kernels: the sum of their RSS, so shared pages count once per
process; and the sum of their PSS, which shares those pages out), checks that every pack's kpis.json
holds the folder's figures, and prints a markdown table. The sources (``--sources``, default folder):

* ``folder``: the copies folder itself;
* ``duckdb``: a DuckDB file in a temporary folder, filled by ``kpi load`` (timed apart from the report);
* ``postgres``: the database of KPI_TEST_POSTGRES_URL, its contract tables replaced by ``kpi load``
  (timed apart); skipped with a line saying so when the variable is unset;
* ``spark``: ``spark://local[2]?parquet=<copies folder>``, a local Spark reading the copies' Parquet.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
import psutil
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from copies import cached_copies  # noqa: E402

from kpilib.cli import mask_secrets  # noqa: E402

PERIOD = "2025-12"
KPI = Path(sys.executable).with_name("kpi")
SAMPLE_EVERY = 0.2  # seconds between RSS samples (cheap: /proc/<pid>/statm)
#: seconds between listings of the process tree and between PSS samples: both cost milliseconds a
#: process (PSS walks its page tables through /proc/<pid>/smaps_rollup); sampled every 0.2 s they took
#: 1.6 s of CPU from a 15 s run on two cores, which the run under measurement then lacked
TREE_EVERY, PSS_EVERY = 0.6, 1.0
REL, CENT = 1e-9, 0.01
#: money figures that are per-account averages: equal at k copies, not x k
PER_ACCOUNT = frozenset({"arpa"})
COLUMNS = ("value", "previous", "year_ago")
COUNTED = ("customers", "subscriptions", "leads", "product_usage")
SOURCES = ("folder", "duckdb", "postgres", "spark")
LOADED = frozenset({"duckdb", "postgres"})  # filled by ``kpi load`` before the report; the others read the copies
POSTGRES_ENV = "KPI_TEST_POSTGRES_URL"


def headline(folder: str) -> tuple[pd.DataFrame, float]:
    """The headline figures of ``folder`` for PERIOD, as kpis.json is built, and the seconds it took."""
    from kpilib import KpiModel, headline_kpis, load_dataset

    start = time.perf_counter()
    model = KpiModel(load_dataset(folder), PERIOD)
    kpis = headline_kpis(model)[["kpi", "unit", *COLUMNS]].set_index("kpi")
    return kpis, time.perf_counter() - start


def in_fresh_process(folder: Path) -> tuple[pd.DataFrame, float]:
    """:func:`headline` in a spawned process, so that its memory is given back before the timings."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(headline, str(folder)).result()


def factor(kpi: str, unit: str, k: int) -> int:
    """What a figure is multiplied by at k copies: k for money totals and counts, 1 for the rest."""
    return k if unit in ("money", "count") and kpi not in PER_ACCOUNT else 1


def broken(one: pd.DataFrame, many: pd.DataFrame, k: int) -> list[str]:
    """Every (KPI, column) that breaks the scaling identity, described; empty if it holds."""
    out = []
    for kpi, row in one.iterrows():
        f = factor(str(kpi), row["unit"], k)
        for col in COLUMNS:
            want, got = f * float(row[col]), float(many.loc[kpi, col])
            if math.isnan(want) and math.isnan(got):
                continue  # undefined in both
            if math.isnan(want) or math.isnan(got):
                ok = False
            else:
                err = abs(got - want)
                ok = err <= REL * abs(want) or (row["unit"] == "money" and err <= CENT) or err <= 1e-12
            if not ok:
                out.append(f"{kpi} ({row['unit']}, {col}): 1 copy {float(row[col])!r}, expected x{f} = {want!r}, "
                           f"{k} copies {got!r}")
    return out


def rows(folder: Path, table: str) -> int:
    """Row count of one table of a copies folder."""
    parquet = folder / f"{table}.parquet"
    if parquet.exists():
        return pq.ParquetFile(parquet).metadata.num_rows
    with open(folder / f"{table}.csv", "rb") as handle:
        return sum(1 for _ in handle) - 1


def _hwm(pid: int) -> int:
    """Peak RSS so far of one process (VmHWM), in bytes; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


class _Tree:
    """The RSS and PSS of a process and all its descendants, summed, in bytes, sampled at a cost the
    run under measurement hardly notices: the tree is listed every :data:`TREE_EVERY` seconds, PSS
    (which shares shared pages out) read every :data:`PSS_EVERY` seconds, RSS at every sample."""

    def __init__(self, proc: psutil.Process):
        self.proc, self.members, self.listed, self.pss_read = proc, [proc], -math.inf, -math.inf

    def sample(self, now: float) -> tuple[int, int | None]:
        """RSS now, and PSS when it is due (else ``None``)."""
        if now - self.listed >= TREE_EVERY:
            try:
                self.members = [self.proc, *self.proc.children(recursive=True)]
            except psutil.Error:
                pass  # the runner is ending: keep the last listing
            self.listed = now
        want_pss = now - self.pss_read >= PSS_EVERY
        rss = pss = 0
        for p in self.members:
            try:
                if want_pss:
                    mem = p.memory_full_info()
                    pss += mem.pss
                else:
                    mem = p.memory_info()
            except psutil.Error:
                continue  # ended since it was listed
            rss += mem.rss
        if want_pss:
            self.pss_read = now
        return rss, (pss if want_pss else None)


@dataclass
class Run:
    """One timed ``kpi report`` (and the ``kpi load`` before it, for a database source)."""

    k: int
    source: str
    load: float = math.nan
    wall: float = math.nan
    peak_parent: int = 0
    peak_tree: int = 0
    peak_tree_pss: int = 0
    walls: list[float] = field(default_factory=list)  # each run's, when repeated (``wall``: their median)
    returncode: int | None = None
    error: str = ""
    pages: dict[str, int] = field(default_factory=dict)
    pack_bytes: int = 0
    kpis: dict | None = None


def _failure(returncode: int, stderr: str) -> str:
    """The exit code and the end of the error output, anything shaped like ``user:password@`` masked."""
    return f"exit {returncode}: {mask_secrets(stderr.strip()[-2000:])}"


def time_report(k: int, source: str, data: str, timeout: float) -> Run:
    """Run ``kpi report --period PERIOD`` on ``data`` into a fresh folder; wall clock, peak RSS, pack sizes."""
    run = Run(k, source)
    with tempfile.TemporaryDirectory(prefix=f"kpi-scale-{k}-{source}-") as tmp:
        out, log = Path(tmp) / "out", Path(tmp) / "stderr.txt"
        cmd = [str(KPI), "report", "--period", PERIOD, "--data", data, "--out", str(out), "--no-progress"]
        with open(log, "wb") as err:
            start = time.perf_counter()
            child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
            tree = _Tree(psutil.Process(child.pid))
            while child.poll() is None:
                run.peak_parent = max(run.peak_parent, _hwm(child.pid))
                rss, pss = tree.sample(time.perf_counter())
                run.peak_tree = max(run.peak_tree, rss)
                run.peak_tree_pss = max(run.peak_tree_pss, pss or 0)
                if time.perf_counter() - start > timeout:
                    os.killpg(child.pid, signal.SIGTERM)  # the runner stops its pool and kernels on SIGTERM
                    try:
                        child.wait(30)
                    except subprocess.TimeoutExpired:
                        os.killpg(child.pid, signal.SIGKILL)
                    run.error = f"stopped after {timeout:.0f} s (timeout)"
                    break
                time.sleep(SAMPLE_EVERY)
            run.returncode = child.wait()
            run.wall = time.perf_counter() - start
        if run.returncode != 0:
            failure = _failure(run.returncode, log.read_text(errors="replace"))
            run.error = f"{run.error}; {failure}" if run.error else failure
        pack = out / PERIOD
        if run.returncode == 0 and pack.is_dir():
            run.pages = {p.name: p.stat().st_size for p in sorted(pack.glob("*.html"))}
            run.pack_bytes = sum(p.stat().st_size for p in pack.rglob("*") if p.is_file())
            run.kpis = json.loads((pack / "kpis.json").read_text())
    return run


def data_of(source: str, folder: Path, scratch: Path) -> str:
    """What ``kpi report --data`` reads for ``source`` at the copies in ``folder`` (a DuckDB file in ``scratch``)."""
    if source == "duckdb":
        return f"duckdb:///{scratch / 'copies.duckdb'}"
    if source == "postgres":
        return os.environ[POSTGRES_ENV]
    return f"spark://local[2]?parquet={folder}" if source == "spark" else str(folder)


def load_into(url: str, folder: Path, timeout: float) -> tuple[float, str]:
    """``kpi load --data folder --to url`` (contract tables replaced): seconds taken and the error, "" if none."""
    start = time.perf_counter()
    try:
        done = subprocess.run([str(KPI), "load", "--data", str(folder), "--to", url], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, f"kpi load stopped after {timeout:.0f} s (timeout)"
    error = "" if done.returncode == 0 else "kpi load " + _failure(done.returncode, done.stderr)
    return time.perf_counter() - start, error


def measure(k: int, source: str, folder: Path, timeout: float, repeat: int = 1) -> Run:
    """``kpi report`` on the k copies in ``folder`` read from ``source``, loaded into it first if it is a
    database; ``repeat`` times in a row: the median wall clock (every wall kept), the highest peaks."""
    with tempfile.TemporaryDirectory(prefix=f"kpi-scale-{k}-{source}-db-") as scratch:
        data = data_of(source, folder, Path(scratch))
        load, error = load_into(data, folder, timeout) if source in LOADED else (math.nan, "")
        if error:
            return Run(k, source, error=error, load=load)
        runs = [time_report(k, source, data, timeout) for _ in range(max(1, repeat))]
        run = next((r for r in runs if r.returncode != 0), runs[-1])
        run.walls = [r.wall for r in runs]
        run.wall = statistics.median(run.walls)
        run.peak_parent, run.peak_tree = max(r.peak_parent for r in runs), max(r.peak_tree for r in runs)
        run.peak_tree_pss = max(r.peak_tree_pss for r in runs)
        run.load = load
        return run


def check_pack(run: Run, figures: pd.DataFrame) -> list[str]:
    """kpis.json of the timed pack against the checked figures (kpis.json rounds: money to the cent,
    counts whole, the rest to 6 decimals)."""
    if run.kpis is None:
        return []
    out = []
    for rec in run.kpis["kpis"]:
        for col in COLUMNS:
            want, got = float(figures.loc[rec["kpi"], col]), rec[col]
            digits = {"money": 2, "count": 0}.get(rec["unit"], 6)
            if (got is None) != math.isnan(want) or (got is not None and abs(got - want) > 10.0 ** -digits):
                out.append(f"{rec['kpi']} {col}: kpis.json {got!r}, checked {want!r}")
    return out


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n else "–"


def _seconds(s: float) -> str:
    return "–" if math.isnan(s) else f"{s:.1f}"


def table(runs: list[Run], counts: dict[int, dict[str, int]]) -> str:
    """The results as a markdown table, one row per k and source."""
    pages = sorted({p for r in runs for p in r.pages})
    head = ["copies", "source", *COUNTED[:3], "product_usage rows", "load into engine s", "wall s", "peak RSS parent",
            "peak RSS tree", "peak PSS tree", *(f"{p} bytes" for p in pages), "pack bytes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        spread = f" ({min(r.walls):.1f}–{max(r.walls):.1f})" if len(r.walls) > 1 else ""
        wall = _seconds(r.wall) + spread + ("" if r.returncode == 0 else " (failed)")
        sizes = [f"{r.pages[p]:,}" if p in r.pages else "–" for p in pages]
        cells = [str(r.k), r.source, *(f"{counts[r.k][t]:,}" for t in COUNTED), _seconds(r.load), wall,
                 _gb(r.peak_parent), _gb(r.peak_tree), _gb(r.peak_tree_pss), *sizes,
                 f"{r.pack_bytes:,}" if r.pack_bytes else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    """Cores, RAM, CPU model, Python, pandas and pyarrow versions."""
    import pyarrow

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine())
    return (f"machine: {os.cpu_count()} cores ({model}), {psutil.virtual_memory().total / 2**30:.1f} GiB RAM, "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"pandas {pd.__version__}, pyarrow {pyarrow.__version__}; kpilib from {_kit()}")


def _kit() -> str:
    """The kpilib folder in use (PYTHONPATH can point at a snapshot of the kit) and its git commit."""
    spec = importlib.util.find_spec("kpilib")
    origin = Path(spec.origin).parent if spec is not None and spec.origin else Path("?")
    head = subprocess.run(["git", "-C", str(origin), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"{origin}" + (f" (commit {head.stdout.strip()}, working tree)" if head.returncode == 0 else "")


def _sources(text: str) -> list[str]:
    """``--sources``: comma-separated names out of SOURCES."""
    names = text.split(",")
    unknown = [name for name in names if name not in SOURCES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(SOURCES)}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--copies", default="1,10,100", help="comma-separated k (default 1,10,100)")
    parser.add_argument("--fmt", choices=("parquet", "csv"), default="parquet", help="file format of the copies")
    parser.add_argument("--sources", type=_sources, default=["folder"],
                        help=f"comma-separated sources to read the copies from, out of {', '.join(SOURCES)} "
                             f"(default folder); duckdb and postgres are filled by kpi load first, postgres is "
                             f"the database of {POSTGRES_ENV}, spark is spark://local[2]?parquet=<copies folder>")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a kpi load or report is stopped")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of kpi report per copies and source, back to back: the table gives their median "
                             "wall clock and range, and the highest peaks (default 1)")
    args = parser.parse_args()
    ks = [int(k) for k in args.copies.split(",")]
    sources = args.sources
    if "postgres" in sources and not os.environ.get(POSTGRES_ENV):
        print(f'postgres skipped: {POSTGRES_ENV} is not set (eval "$(bash .ci/postgres.sh)" to set it)', flush=True)
        sources = [s for s in sources if s != "postgres"]
    print(machine(), flush=True)

    folders = {k: cached_copies(k, args.fmt) for k in sorted({1, *ks})}
    counts = {k: {t: rows(folders[k], t) for t in COUNTED} for k in ks}
    one, seconds = in_fresh_process(folders[1])
    figures = {1: one}
    print(f"headline figures, 1 copy: {seconds:.1f} s", flush=True)
    for k in ks:  # the identity for every k before anything is timed
        if k == 1:
            continue
        figures[k], seconds = in_fresh_process(folders[k])
        bad = broken(one, figures[k], k)
        verdict = "BROKEN:" if bad else f"holds for all {len(one)} KPIs x {len(COLUMNS)} columns"
        print(f"headline figures, {k} copies: {seconds:.1f} s; scaling identity {verdict}", flush=True)
        if bad:
            print("\n".join("  " + line for line in bad))
            raise SystemExit(1)

    runs = []
    for k in ks:
        for source in sources:
            busy = os.getloadavg()[0]  # other work on the machine makes the wall clock noisy: said per run
            run = measure(k, source, folders[k], args.timeout, args.repeat)
            runs.append(run)
            loaded = "" if math.isnan(run.load) else f"kpi load into {source} {run.load:.1f} s, then "
            each = f" (median of {', '.join(f'{w:.1f}' for w in run.walls)})" if len(run.walls) > 1 else ""
            report = "no kpi report" if run.returncode is None else f"kpi report {run.wall:.1f} s{each}"
            error = f"; ERROR {run.error}" if run.error else ""
            name = "copy" if k == 1 else "copies"
            print(f"{k} {name} from {source}: {loaded}{report} (load average {busy:.1f} before){error}", flush=True)
            for line in check_pack(run, figures[k]):
                print(f"  kpis.json differs from the folder's figures: {line}")
    print()
    print(table(runs, counts))


if __name__ == "__main__":
    main()
