"""The period's customer churn, NRR and GRR, computed in the engine as a pack of that period knows them.

The definitions are the model's (:attr:`kpilib.KpiModel.customer_churn`, :attr:`kpilib.KpiModel.retention`;
docs/metrics.md). Inside the engine, on the subscriptions cut at the period's end
(:func:`~kpilib.engine.asof.known_subscriptions`), from the change cells of :mod:`kpilib.engine.movements`
(a customer's MRR changes only at a cell, so its MRR at a month end is the sum of its changes up to
that month):

1. per customer, its MRR in micro-units at the month end before the period, at the period's first and
   last month ends and twelve months before the last, and whether a cell inside the period left it
   paying;
2. summed over the customers into one row: the starting customers, those lost, those won and lost
   inside the period, and the twelve-month cohort's MRR then, now, and now capped at then.

That row is all that leaves the engine. Counts are exact; NRR and GRR are ratios of integer micro-unit
sums (of float sums in memory: equal to about 1e-12).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.mrr import MICROS
from ..metrics.revenue import monthly_equivalent, ratio
from ..periods import ReportPeriod, parse_period
from .movements import Engine, _changes, _rows

#: What :func:`engine_period_figures` returns, in this order
FIGURES = ("starting_customers", "lost_customers", "customer_churn", "customer_churn_monthly", "won_and_lost",
           "nrr", "grr", "cohort_customers", "cohort_mrr")


def engine_period_figures(engine: Engine, period: ReportPeriod | str, *, base_currency: str = "USD",
                          segment: str | None = None, lookback: int = 12) -> pd.Series:
    """Customer churn of ``period`` on the starting-customers basis and NRR/GRR over the ``lookback``
    months to its end, computed in ``engine`` on the subscriptions known at the period's end (of the
    customers of ``segment``, when given): the series :attr:`~kpilib.KpiModel.customer_churn` and
    :attr:`~kpilib.KpiModel.retention` of the pack of that period show (:data:`FIGURES`)."""
    import ibis

    p = parse_period(period)
    rows = _rows(engine, base_currency.strip().upper(), p.end_date, segment)
    cells = _changes(rows)
    first, last = p.first.ordinal, p.last.ordinal  # month codes: months since 1970-01, as the cells'
    cells = cells.filter(cells.month <= last)
    per = cells.group_by("customer_id").aggregate(
        start=cells.delta.sum(where=cells.month < first).fill_null(0),
        at_first=cells.delta.sum(where=cells.month <= first).fill_null(0),
        end=cells.delta.sum(),
        then=cells.delta.sum(where=cells.month <= last - lookback).fill_null(0),
        paid_later=cells.count(where=(cells.month > first) & (cells.cur > 0)),
    )
    at_start, at_end, cohort = per.start > 0, per.end > 0, per.then > 0
    paid_inside = (per.at_first > 0) | (per.paid_later > 0)
    row = engine.fetch(per.aggregate(
        base=per.count(where=at_start),
        lost=per.count(where=at_start & ~at_end),
        won_and_lost=per.count(where=~at_start & paid_inside & ~at_end),
        cohort_customers=per.count(where=cohort),
        cohort_mrr=per.then.sum(where=cohort),
        now=per.end.sum(where=cohort),
        capped=ibis.least(per.end, per.then).sum(where=cohort),
    )).iloc[0]
    n = {k: 0 if pd.isna(v) else int(v) for k, v in row.items()}  # a sum of no rows is NULL
    rate = ratio(n["lost"], n["base"])
    return pd.Series({
        "starting_customers": float(n["base"]), "lost_customers": float(n["lost"]), "customer_churn": rate,
        "customer_churn_monthly": monthly_equivalent(rate, p.n_months) if np.isfinite(rate) else float("nan"),
        "won_and_lost": float(n["won_and_lost"]),
        "nrr": ratio(n["now"], n["cohort_mrr"]), "grr": ratio(n["capped"], n["cohort_mrr"]),
        "cohort_customers": float(n["cohort_customers"]), "cohort_mrr": n["cohort_mrr"] / MICROS,
    })
