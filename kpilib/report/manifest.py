"""The audit trail of a pack: what went in, from where, and whether any table had stopped early.

:func:`input_tables` describes every input table (rows, first and last date, a content hash);
:func:`stale_tables` names the tables whose data stop well before the period's end, which every
page flags; :func:`manifest` gathers these with the parameters, the kpilib version and the kit's
git commit into the pack's ``manifest.json``. Nothing in it depends on the clock, so the same
inputs give the same manifest.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping

import pandas as pd

from ..data.asof import CUTS
from ..data.contract import TABLES
from ..data.dataset import Dataset
from ..i18n import _, using
from ..paths import PROJECT_DIR
from ..periods import ReportPeriod

#: Feeds expected to have rows every month (quarterly for surveys): a table is stale when its last
#: row is more than this many days before the period's end. Customers and subscriptions are dated by
#: sales, and a month without a sale is not a stale export, so they are never flagged.
STALE_AFTER_DAYS = {"leads": 35, "web_traffic": 35, "marketing_spend": 35, "sales_activities": 35,
                    "product_usage": 35, "financials": 35, "survey_responses": 100}


def _edge_day(column: pd.Series, last: bool) -> pd.Timestamp | None:
    """The earliest (or latest) day a date or month column covers; months count to their edge day."""
    values = column.dropna()
    if values.empty:
        return None
    value = values.max() if last else values.min()
    if isinstance(column.dtype, pd.PeriodDtype):
        return (value.end_time if last else value.start_time).normalize()
    return pd.Timestamp(value).normalize()


def table_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's content (values and column names, not row order of the source file)."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def table_edges(name: str, frame: pd.DataFrame) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    """Rows, earliest and latest row date of one input table (months count to their edge days)."""
    column = CUTS[name].row_date
    dated = bool(column) and column in frame.columns
    first = _edge_day(frame[column], last=False) if dated else None
    last = _edge_day(frame[column], last=True) if dated else None
    return len(frame), first, last


def usage_edges(sums: pd.DataFrame) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    """:func:`table_edges` of the product usage from its sums per account-month
    (:attr:`kpilib.Dataset.usage_sums`): the usage rows summed, the first and last months' edge days."""
    return int(sums["rows"].sum()), _edge_day(sums["month"], last=False), _edge_day(sums["month"], last=True)


def table_hashes(dataset: Dataset) -> dict[str, str]:
    """Every input table's :func:`table_hash`, by name: pure (it only reads the tables), so the runner
    computes it in a thread beside the model's build."""
    return {name: table_hash(frame) for name, frame in dataset.tables.items()}


def input_tables(dataset: Dataset, period: ReportPeriod | None = None, *,
                 hashes: bool | Mapping[str, str] = True) -> pd.DataFrame:
    """One row per input table: ``rows, first, last, sha256, stale``.

    ``first`` and ``last`` are the earliest and latest row dates (months count to their last day);
    ``stale`` is True when a feed ends more than :data:`STALE_AFTER_DAYS` days before the
    period's end. ``hashes=False`` leaves ``sha256`` empty (it reads every cell of every table); then
    a dataset that knows its tables' edges (a run's snapshot, :mod:`kpilib.report.snapshot`) is not
    read at all. ``hashes`` may also be the hashes already computed (:func:`table_hashes`).
    """
    known = None if hashes else getattr(dataset, "known_edges", None)
    edges: dict[str, tuple[int, pd.Timestamp | None, pd.Timestamp | None, str | None]] = {}
    for name in dataset.tables:
        if known is not None and name in known:
            edges[name] = (*known[name], None)
        else:
            frame = dataset.tables[name]
            edges[name] = (*table_edges(name, frame), hashes[name] if isinstance(hashes, Mapping) else
                           table_hash(frame) if hashes else None)
    # the usage summed where it is stored: its rows never read here, not hashed
    if known is not None and "product_usage" in known and "product_usage" not in edges:
        edges["product_usage"] = (*known["product_usage"], None)
    elif dataset.usage_sums is not None:
        edges["product_usage"] = (*usage_edges(dataset.usage_sums), None)
    rows = []
    order = list(TABLES)
    for name, (count, first, last, digest) in sorted(edges.items(), key=lambda item: order.index(item[0])):
        stale = bool(period is not None and last is not None and name in STALE_AFTER_DAYS
                     and (period.end_date - last).days > STALE_AFTER_DAYS[name])
        rows.append({"table": name, "rows": count, "first": first.date().isoformat() if first else None,
                     "last": last.date().isoformat() if last else None, "sha256": digest, "stale": stale})
    return pd.DataFrame(rows).set_index("table")


def stale_tables(dataset: Dataset, period: ReportPeriod) -> list[str]:
    """Sentences naming the tables whose data stop well before the period's end (in the current language)."""
    tables = input_tables(dataset, period, hashes=False)  # every page asks: no hashing
    return [stale_sentence(str(name), row["last"], period) for name, row in tables[tables["stale"]].iterrows()]


def stale_sentence(name: str, last: str, period: ReportPeriod) -> str:
    """``'leads' ends on 2025-10-31, 61 days before the period's end: its figures are stale``."""
    return _("'{table}' ends on {last}, {days} days before the period's end: its figures are stale").format(
        table=name, last=last, days=(period.end_date - pd.Timestamp(last)).days)


def kit_commit() -> str | None:
    """The git commit of the kit's checkout, or ``None`` for an installed package."""
    if not (PROJECT_DIR / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True,
                              timeout=10, check=False)
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def manifest(dataset: Dataset, period: ReportPeriod, parameters: dict[str, str],
             hashes: Mapping[str, str] | None = None) -> dict:
    """The pack's manifest: inputs (tables and the goals file), parameters, kpilib version and kit
    commit (no timestamps). Machine-readable: its sentences are English whatever the pack's language.
    ``hashes``: the tables' :func:`table_hashes`, when already computed."""
    from .. import __version__

    tables = input_tables(dataset, period, hashes=True if hashes is None else hashes)
    return {
        "period": period.label, "parameters": parameters, "data_source": dataset.source,
        "kpilib_version": __version__, "kit_commit": kit_commit(),
        "tables": {name: {k: (None if pd.isna(v) else v) if not isinstance(v, (bool, int)) else v
                          for k, v in row.items()} for name, row in tables.astype(object).iterrows()},
        "stale": _english_stale(dataset, period),
        "goals": goals_record(dataset),
    }


def _english_stale(dataset: Dataset, period: ReportPeriod) -> list[str]:
    with using("en"):
        return stale_tables(dataset, period)


def goals_record(dataset: Dataset) -> dict | None:
    """The goals file behind the pack's goals and annotations: how many of each and a content hash
    (``None`` without a goals file)."""
    goals = dataset.goals
    if goals is None:
        return None
    digest = hashlib.sha256((table_hash(goals.targets) + table_hash(goals.annotations)
                             + str(goals.currency)).encode("utf-8")).hexdigest()
    return {"goals": len(goals.targets), "annotations": len(goals.annotations), "currency": goals.currency,
            "sha256": digest}
