"""First paying spells counted in the engine: the Kaplan-Meier survival's input, with nothing per customer.

The definition is :func:`kpilib.metrics.cohorts.customer_lifetimes`'s: a customer's first spell runs from
its cohort month (its first paid month) to the first month end where it pays nothing, censored when it
still pays at ``end``; reactivations do not extend it. From the change cells of
:mod:`kpilib.engine.movements` (MRR changes only at a cell, so a spell ends at the first cell leaving
the customer at 0), per customer its cohort and that month; then the customers counted per (cohort,
duration, churned), and per group when asked. Those counts (cohorts x durations) are all that leaves
the engine; :func:`kpilib.metrics.cohorts.km_survival` fits them as weights, to the same curve as one row
per customer.

:func:`engine_interval_counts` counts the same spells in renewal periods of each customer's billing
interval at acquisition (:func:`kpilib.metrics.cohorts.interval_lifetimes`): the sBG per interval of the
CLV/CAC page fits those counts (:func:`kpilib.metrics.sbg.fit_sbg_by_interval`).
"""

from __future__ import annotations

import pandas as pd

from ..data.contract import INTERVAL_OF_MONTHS
from ..metrics.mrr import MICROS, MonthLike, window
from .movements import Engine, _bounds, _changes, _groups, _rows


def engine_lifetimes(engine: Engine, end: MonthLike = None, *, by: str | None = None, base_currency: str = "USD",
                     as_of=None, segment: str | None = None) -> pd.DataFrame:
    """:func:`kpilib.metrics.cohorts.lifetime_counts` of the customer x month MRR up to ``end`` (the
    latest month of the book when ``None``), computed in ``engine``: customers per ``[by,] cohort,
    duration, churned``. ``as_of`` and ``segment`` cut the subscriptions as a pack does
    (:func:`~kpilib.engine.asof.known_subscriptions`)."""
    customers = _groups(engine, by, "lifetimes") if by is not None else None
    keys = ([by] if by else []) + ["cohort", "duration", "churned"]
    found = _spells(engine, end, base_currency, as_of, segment)
    if found is None:
        return _typed(pd.DataFrame(columns=[*keys, "customers"]))
    per = found[1]
    if customers is not None:
        per = per.left_join(customers.select("customer_id", by), "customer_id")
    counts = engine.fetch(per.group_by(keys).aggregate(customers=per.count()))
    counts["cohort"] = pd.PeriodIndex.from_ordinals(counts["cohort"].to_numpy(dtype="int64"), freq="M")
    return _typed(counts.sort_values(keys, ignore_index=True))


def _spells(engine: Engine, end: MonthLike, base_currency: str, as_of, segment: str | None):
    """The rows, and per customer paying by ``end``: cohort, the month its first spell ended (null: still
    paying), the spell's duration and whether it ended, and its MRR in the cohort month, in micro-units;
    ``None`` for an empty window."""
    rows = _rows(engine, base_currency.strip().upper(), as_of, segment)
    bounds = _bounds(engine, rows)
    span = window(None, end, rows=bounds.pop("n"), **bounds)
    if span is None:
        return None
    last = span[1]
    cells = _changes(rows)
    cells = cells.filter(cells.month <= last)
    per = cells.group_by("customer_id").aggregate(cohort=cells.first_paid.min(),
                                                  ended=cells.month.min(where=cells.cur == 0),
                                                  first_mrr=cells.delta.sum(where=cells.month == cells.first_paid))
    per = per.mutate(duration=per.ended.fill_null(last + 1) - per.cohort, churned=per.ended.notnull())
    return rows, per


def engine_interval_counts(engine: Engine, end: MonthLike = None, *, base_currency: str = "USD", as_of=None,
                           segment: str | None = None) -> pd.DataFrame:
    """:func:`kpilib.metrics.cohorts.interval_counts` of the first spells up to ``end``, computed in
    ``engine``: customers per ``billing_interval, periods, churned`` and the sum of their MRR in the
    cohort month (``first_mrr``). A customer's interval is the longest among its paying rows (amount > 0)
    active on its cohort month's last day; ``periods`` its spell in those intervals, rounded up."""
    keys = ["billing_interval", "periods", "churned"]
    found = _spells(engine, end, base_currency, as_of, segment)
    if found is None:
        return _interval_typed(pd.DataFrame(columns=[*keys, "customers", "first_mrr"]))
    rows, per = found
    paid = rows.filter(rows.paid)
    active = paid.join(per.select("customer_id", "cohort"), "customer_id")
    active = active.filter((active.first <= active.cohort) & (active.stop > active.cohort))
    longest = active.group_by("customer_id").aggregate(k=active.interval_months.max())
    per = per.join(longest, "customer_id")
    per = per.mutate(periods=(per.duration + per.k - 1) // per.k)
    counts = engine.fetch(per.group_by(["k", "periods", "churned"]).aggregate(customers=per.count(),
                                                                             first_mrr=per.first_mrr.sum()))
    counts.insert(0, "billing_interval", [INTERVAL_OF_MONTHS[int(k)] for k in counts.pop("k")])
    counts["first_mrr"] = counts["first_mrr"].astype("int64") / MICROS
    return _interval_typed(counts[[*keys, "customers", "first_mrr"]].sort_values(keys, ignore_index=True))


def _interval_typed(counts: pd.DataFrame) -> pd.DataFrame:
    return counts.astype({"billing_interval": "str", "periods": "int64", "churned": bool, "customers": "int64",
                          "first_mrr": "float64"})


def _typed(counts: pd.DataFrame) -> pd.DataFrame:
    out = counts.astype({"duration": "int64", "churned": bool, "customers": "int64"})
    if out.empty:
        out["cohort"] = pd.PeriodIndex([], freq="M")
    return out
