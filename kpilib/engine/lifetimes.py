"""First paying spells counted in the engine: the Kaplan-Meier survival's input, with nothing per customer.

The definition is :func:`kpilib.metrics.cohorts.customer_lifetimes`'s: a customer's first spell runs from
its cohort month (its first paid month) to the first month end where it pays nothing, censored when it
still pays at ``end``; reactivations do not extend it. From the change cells of
:mod:`kpilib.engine.movements` (MRR changes only at a cell, so a spell ends at the first cell leaving
the customer at 0), per customer its cohort and that month; then the customers counted per (cohort,
duration, churned), and per group when asked. Those counts (cohorts x durations) are all that leaves
the engine; :func:`kpilib.metrics.cohorts.km_survival` fits them as weights, to the same curve as one row
per customer.
"""

from __future__ import annotations

import pandas as pd

from ..errors import KpiError
from ..metrics.mrr import MonthLike, window
from .movements import Engine, _bounds, _changes, _rows

#: The customers columns a count can be grouped by (those the engine's customers table is read with)
GROUPS = ("segment",)


def engine_lifetimes(engine: Engine, end: MonthLike = None, *, by: str | None = None, base_currency: str = "USD",
                     as_of=None, segment: str | None = None) -> pd.DataFrame:
    """:func:`kpilib.metrics.cohorts.lifetime_counts` of the customer x month MRR up to ``end`` (the
    latest month of the book when ``None``), computed in ``engine``: customers per ``[by,] cohort,
    duration, churned``. ``as_of`` and ``segment`` cut the subscriptions as a pack does
    (:func:`~kpilib.engine.asof.known_subscriptions`)."""
    if by is not None and by not in GROUPS:
        raise KpiError(f"lifetimes are grouped in the engine by {', '.join(GROUPS)} only, not {by!r}")
    rows = _rows(engine, base_currency.strip().upper(), as_of, segment)
    bounds = _bounds(engine, rows)
    span = window(None, end, rows=bounds.pop("n"), **bounds)
    keys = ([by] if by else []) + ["cohort", "duration", "churned"]
    if span is None:
        return _typed(pd.DataFrame(columns=[*keys, "customers"]))
    last = span[1]
    cells = _changes(rows)
    cells = cells.filter(cells.month <= last)
    per = cells.group_by("customer_id").aggregate(cohort=cells.first_paid.min(),
                                                  stop=cells.month.min(where=cells.cur == 0))
    per = per.mutate(duration=per.stop.fill_null(last + 1) - per.cohort, churned=per.stop.notnull())
    if by:
        customers = engine.table("customers")
        if customers is None:
            raise KpiError(f"{engine.label} has no customers table: lifetimes by {by} need it")
        per = per.left_join(customers.select("customer_id", by), "customer_id")
    counts = engine.fetch(per.group_by(keys).aggregate(customers=per.count()))
    counts["cohort"] = pd.PeriodIndex.from_ordinals(counts["cohort"].to_numpy(dtype="int64"), freq="M")
    return _typed(counts.sort_values(keys, ignore_index=True))


def _typed(counts: pd.DataFrame) -> pd.DataFrame:
    out = counts.astype({"duration": "int64", "churned": bool, "customers": "int64"})
    if out.empty:
        out["cohort"] = pd.PeriodIndex([], freq="M")
    return out
