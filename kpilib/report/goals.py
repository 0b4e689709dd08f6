"""Goals on the pages: each KPI's goal for the pack's period and its gap, the goal points the charts
draw, and the annotations they mark.

The goals come from the data folder's ``goals.yaml`` (:mod:`kpilib.data.goals`, which checks its
structure). What needs the KPI registry is checked here, by :func:`check_goals`, when a
:class:`~kpilib.KpiModel` is built, so before any page or file of a pack is written:

- every key names a KPI of the registry (:data:`~kpilib.report.registry.KPIS`);
- a rate (unit ``pct``) is a fraction between -1 and 10 (``1.05`` for 105 %, not ``105``), and a share
  of a whole (``KpiSpec.share``: churn, GRR, win rate, bounce rate) between 0 and 1 (``0.02`` for 2 %);
- an NPS goal lies between -100 and 100 points; counts, ratios and months are not negative.

**Which goal a pack shows.** A goal belongs to one period label: ``2025-12`` is the December pack's,
``2025-Q4`` the fourth quarter's, ``2025`` the year's. A company pack reads the file's ``goals``; a
segment pack only its ``segments: <name>`` section (a company target is not a segment's). Money
goals are in the file's ``currency`` (default: the data currency) and are converted to the base
currency like every other amount, at the rates of the period's last month. The **gap** is value -
goal in the KPI's unit (money in the base currency, rates as fractions): positive means above the
goal, which is good when the KPI's ``better`` is ``"higher"`` and bad when it is ``"lower"``.

**Charts** draw a KPI's goals as points at month ends: a month's goal at its end, a quarter's or a
year's at its last month's end (MRR is a month-end stock); annotations dated on or before the
period's end (the as-of rule: a pack never shows what was written about later dates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data.currency import data_currency, factors, rates_at
from ..data.goals import Goals
from ..errors import GoalsError
from ..periods import parse_period
from .registry import KPIS

if TYPE_CHECKING:
    from .model import KpiModel

#: Allowed range of a goal per KPI unit, and the rule's words.
_RANGES = {"pct": (-1.0, 10.0, "a rate is a fraction between -1 and 10 (0.02 for 2 %, 1.05 for 105 %)"),
           "points": (-100.0, 100.0, "NPS is in points between -100 and 100"),
           "count": (0.0, np.inf, "a count is not negative"), "ratio": (0.0, np.inf, "a ratio is not negative"),
           "months": (0.0, np.inf, "months are not negative")}
#: The range of a KPI that is a share of a whole (``KpiSpec.share``: churn, GRR, win rate, bounce rate).
_SHARE = (0.0, 1.0, "a share is a fraction between 0 and 1 (0.02 for 2 %)")


def check_goals(goals: Goals) -> None:
    """Check the goals against the registry (see the module notes); raise :class:`GoalsError` naming
    the file, the key and the rule."""
    for row in goals.targets.itertuples(index=False):
        where = f"segments.{row.segment}.{row.kpi}" if row.segment else f"goals.{row.kpi}"
        if row.kpi not in KPIS:
            raise GoalsError(goals.file, where, f"no KPI is called {row.kpi!r}; the KPIs are {', '.join(KPIS)}")
        spec = KPIS[row.kpi]
        low, high, rule = _SHARE if spec.share else _RANGES.get(spec.unit, (-np.inf, np.inf, ""))
        if not low <= row.value <= high:
            raise GoalsError(goals.file, f"{where}.{row.period}", f"{row.value:g} is out of range: {rule}")


def _money_factor(model: KpiModel, goals: Goals, month: pd.Period) -> float:
    """Base-currency units per unit of the goals' currency, at the rates of ``month``."""
    fx = model.data.fx_rates
    currency = goals.currency or data_currency(fx, model.base_currency)
    if currency == model.base_currency:
        return 1.0
    return float(factors(pd.Series([currency]), rates_at(fx, month), model.base_currency)[0])


def _targets(model: KpiModel, key: str) -> pd.DataFrame:
    goals = model.source.goals
    if goals is None or goals.targets.empty:
        return goals.targets.iloc[:0] if goals is not None else pd.DataFrame(columns=["period", "value"])
    t = goals.targets
    return t[(t["segment"] == (model.segment or "")) & (t["kpi"] == key)]


def goal_value(model: KpiModel, key: str) -> float:
    """The goal of KPI ``key`` for the model's period, in the KPI's unit (money in the base currency);
    NaN without one."""
    rows = _targets(model, key)
    rows = rows[rows["period"] == model.period.label]
    if rows.empty:
        return float("nan")
    value = float(rows["value"].iloc[0])
    if KPIS[key].unit == "money":
        assert model.source.goals is not None
        value *= _money_factor(model, model.source.goals, model.period.last)
    return value


def goal_points(model: KpiModel, key: str, months: pd.PeriodIndex) -> pd.Series:
    """Goals of ``key`` at the month ends of ``months`` (a quarter's or year's at its last month; a
    month's own goal first, then its quarter's, then its year's), converted like :func:`goal_value`.
    Empty without goals there."""
    rows = _targets(model, key)
    if rows.empty or len(months) == 0:
        return pd.Series(dtype="float64", index=pd.PeriodIndex([], freq="M", name="month"))
    periods = [parse_period(label) for label in rows["period"]]
    order = {"month": 0, "quarter": 1, "year": 2}
    picked: dict[pd.Period, tuple[int, float]] = {}
    for p, value in zip(periods, rows["value"].astype(float)):
        if p.last in months and (p.last not in picked or order[p.kind] < picked[p.last][0]):
            picked[p.last] = (order[p.kind], value)
    goals = model.source.goals
    assert goals is not None
    out = {m: v * (_money_factor(model, goals, m) if KPIS[key].unit == "money" else 1.0)
           for m, (_, v) in sorted(picked.items())}
    return pd.Series(out, dtype="float64").rename_axis("month")


def dated_annotations(model: KpiModel) -> pd.DataFrame:
    """The goals file's annotations dated on or before the period's end (``date``, ``label``)."""
    goals = model.source.goals
    if goals is None:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[us]"), "label": pd.Series(dtype=str)})
    a = goals.annotations
    return a[a["date"] <= model.period.end_date].reset_index(drop=True)


def has_goals(model: KpiModel) -> bool:
    """True when the data have a goals file with a goal for this pack's scope (company or segment)."""
    goals = model.source.goals
    return goals is not None and bool((goals.targets["segment"] == (model.segment or "")).any())
