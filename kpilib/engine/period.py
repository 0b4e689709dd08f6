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
    p = parse_period(period)
    first, last = p.first.ordinal, p.last.ordinal  # month codes: months since 1970-01, as the cells'
    cells = _cells(engine, p, base_currency, segment)
    per = cells.group_by("customer_id").aggregate(
        start=_mrr_at(cells, first - 1), at_first=_mrr_at(cells, first), end=cells.delta.sum(),
        then=_mrr_at(cells, last - lookback), paid_later=cells.count(where=(cells.month > first) & (cells.cur > 0)),
    )
    at_start, at_end = per.start > 0, per.end > 0
    paid_inside = (per.at_first > 0) | (per.paid_later > 0)
    row = engine.fetch(per.aggregate(
        base=per.count(where=at_start),
        lost=per.count(where=at_start & ~at_end),
        won_and_lost=per.count(where=~at_start & paid_inside & ~at_end),
        **_retention_sums(per, per.then, per.end),
    )).iloc[0]
    n = _integers(row)
    rate = ratio(n["lost"], n["base"])
    return pd.concat([pd.Series({
        "starting_customers": float(n["base"]), "lost_customers": float(n["lost"]), "customer_churn": rate,
        "customer_churn_monthly": monthly_equivalent(rate, p.n_months) if np.isfinite(rate) else float("nan"),
        "won_and_lost": float(n["won_and_lost"])}), _retention(n)])


def engine_retention_trend(engine: Engine, period: ReportPeriod | str, months: int = 24, *,
                           base_currency: str = "USD", segment: str | None = None, lookback: int = 12) -> pd.DataFrame:
    """NRR and GRR at each of the ``months`` month ends to the period's end, computed in ``engine`` as
    the pack of ``period`` knows them: :meth:`~kpilib.KpiModel.retention_trend` (``nrr, grr,
    cohort_customers, cohort_mrr`` per month). Per customer its MRR at each month end needed (the
    months and those ``lookback`` before), then one row of sums per month: nothing per customer comes
    back. Always ``months`` rows; the model's trend stops at its movements' first month
    (:data:`~kpilib.report.model.HISTORY_MONTHS` before the period), so the two agree up to 37 months
    for a month's pack."""
    p = parse_period(period)
    targets = list(range(p.last.ordinal - months + 1, p.last.ordinal + 1))
    needed = sorted(set(targets) | {t - lookback for t in targets})
    cells = _cells(engine, p, base_currency, segment)
    per = cells.group_by("customer_id").aggregate(**{f"at{i}": _mrr_at(cells, code) for i, code in enumerate(needed)})
    column = {code: per[f"at{i}"] for i, code in enumerate(needed)}
    sums = {f"{name}{j}": value for j, t in enumerate(targets)
            for name, value in _retention_sums(per, column[t - lookback], column[t]).items()}
    row = _integers(engine.fetch(per.aggregate(**sums)).iloc[0])
    frame = pd.DataFrame([_retention({name: row[f"{name}{j}"] for name in _SUMS}) for j in range(len(targets))])
    return frame.set_axis(pd.PeriodIndex.from_ordinals(targets, freq="M", name="month"), axis=0)


_SUMS = ("cohort_customers", "cohort_mrr", "now", "capped")


def _cells(engine: Engine, p: ReportPeriod, base_currency: str, segment: str | None):
    """The change cells up to the period's last month, of the subscriptions known at its end."""
    cells = _changes(_rows(engine, base_currency.strip().upper(), p.end_date, segment))
    return cells.filter(cells.month <= p.last.ordinal)


def _mrr_at(cells, month: int):
    """Per customer (in an aggregate over its cells), its MRR in micro-units at the end of ``month``."""
    return cells.delta.sum(where=cells.month <= month).fill_null(0)


def _retention_sums(per, then, now) -> dict:
    """The sums behind NRR and GRR: the cohort paying ``then``, its MRR then, now, and now capped at then."""
    import ibis

    cohort = then > 0
    return {"cohort_customers": per.count(where=cohort), "cohort_mrr": then.sum(where=cohort),
            "now": now.sum(where=cohort), "capped": ibis.least(now, then).sum(where=cohort)}


def _integers(row: pd.Series) -> dict[str, int]:
    return {k: 0 if pd.isna(v) else int(v) for k, v in row.items()}  # a sum of no rows is NULL


def _retention(n: dict[str, int]) -> pd.Series:
    """NRR, GRR and their cohort, as :func:`kpilib.metrics.revenue.retention_rates` gives them."""
    return pd.Series({"nrr": ratio(n["now"], n["cohort_mrr"]), "grr": ratio(n["capped"], n["cohort_mrr"]),
                      "cohort_customers": float(n["cohort_customers"]), "cohort_mrr": n["cohort_mrr"] / MICROS})
