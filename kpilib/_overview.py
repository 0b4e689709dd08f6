"""Headline figures for one period, with comparisons, health flags and coverage.

:func:`headline_kpis` is the one place the overview's numbers come from: the
tiles in ``00_overview`` and the machine-readable ``kpis.json`` both use it.
"""

from __future__ import annotations

import pandas as pd

from ._loading import Dataset
import numpy as np

from ._mrr import customer_mrr
from ._revenue import (GROWTH_TARGET, RULE_OF_40, churn_status, monthly_equivalent, monthly_revenue,
                       period_revenue, retention_rates, rule_of_40)
from ._periods import ReportPeriod
from ._display import Tile
from ._format import format_change, format_value

_COLUMNS = ["kpi", "label", "unit", "value", "previous", "year_ago", "status", "rule", "report"]


def _kpi_rows(dataset: Dataset, periods: dict[str, ReportPeriod]) -> dict[str, dict[str, float]]:
    """Every headline value for each of the named periods (value, previous, year_ago)."""
    p = periods["value"]
    first = min(q.first for q in periods.values()) - 13
    monthly = monthly_revenue(dataset.subscriptions, dataset.fx_rates, first, p.last,
                              base_currency=dataset.base_currency)
    wide = customer_mrr(dataset.subscriptions, dataset.fx_rates, end=p.last,
                        base_currency=dataset.base_currency)
    fin = dataset.get("financials")
    out: dict[str, dict[str, float]] = {}
    for name, q in periods.items():
        rev = period_revenue(monthly, q)
        ret = retention_rates(wide, q.last)
        r40 = rule_of_40(fin, q) if fin is not None else pd.Series(dtype="float64")
        growth = rev.get("mrr_growth", float("nan")) if q.kind == "month" else rev.get("mrr_cmgr", float("nan"))
        out[name] = {
            "mrr": rev.get("mrr", float("nan")), "arr": rev.get("arr", float("nan")),
            "customers": rev.get("customers", float("nan")), "arpa": rev.get("arpa", float("nan")),
            "net_new_mrr": rev.get("net_new_mrr", float("nan")), "mrr_growth": growth,
            "customer_churn": rev.get("customer_churn_rate", float("nan")),
            "gross_mrr_churn": rev.get("gross_mrr_churn", float("nan")),
            "nrr": ret["nrr"], "quick_ratio": rev.get("quick_ratio", float("nan")),
            "rule_of_40": r40.get("rule_of_40", float("nan")),
        }
        out[name].update(extra_kpis(dataset, q))
    return out


#: kpi -> (label, unit, report, health rule shown on hover)
KPI_SPECS: dict[str, tuple[str, str, str, str]] = {
    "mrr": ("MRR", "money", "01_revenue", "Monthly recurring revenue at the period's last month end"),
    "arr": ("ARR", "money", "01_revenue", "12 x MRR"),
    "customers": ("Paying customers", "count", "01_revenue", "Customers with MRR > 0 at the period end"),
    "arpa": ("ARPA", "money", "01_revenue", "MRR / paying customers"),
    "net_new_mrr": ("Net new MRR", "money", "01_revenue", "Closing minus opening MRR of the period"),
    "mrr_growth": ("MRR growth", "pct", "01_revenue",
                   "Monthly growth (compounded monthly for quarters and years); early-stage target >= 15 %/month"),
    "customer_churn": ("Customer churn", "pct", "02_churn_cohorts",
                       "Churned customers / customers at the period start; healthy <= 2 %/month, "
                       "unhealthy > 5 %/month"),
    "gross_mrr_churn": ("Gross MRR churn", "pct", "02_churn_cohorts", "(Churn + contraction) / opening MRR"),
    "nrr": ("NRR (12 months)", "pct", "01_revenue",
            "MRR now of customers paying 12 months ago / their MRR then"),
    "quick_ratio": ("Quick ratio", "ratio", "01_revenue",
                    "(New + expansion + reactivation) / |churn + contraction|"),
    "ltv_cac": ("LTV:CAC", "ratio", "04_clv_cac", "Healthy at 3:1 or more"),
    "cac_payback": ("CAC payback", "months", "04_clv_cac", "Months of gross margin to earn back CAC"),
    "nps": ("NPS", "points", "05_nps", "% promoters - % detractors"),
    "win_rate": ("Win rate", "pct", "03_funnel", "Won / (won + lost), deals closed in the period"),
    "bounce_rate": ("Bounce rate", "pct", "03_funnel", "Bounced / sessions; healthy below 50 %"),
    "rule_of_40": ("Rule of 40", "pct", "01_revenue",
                   "YoY revenue growth + profit margin; healthy at 40 % or more"),
}


def _status(kpi: str, value: float, period: ReportPeriod) -> str:
    if not np.isfinite(value):
        return "none"
    if kpi == "mrr_growth":
        return "ok" if value >= GROWTH_TARGET else "warn"
    if kpi == "customer_churn":
        return churn_status(value, 1)  # already a per-month-start rate for months
    if kpi == "ltv_cac":
        return "ok" if value >= 3 else "bad"
    if kpi == "bounce_rate":
        return "ok" if value < 0.5 else "bad"
    if kpi == "rule_of_40":
        return "ok" if value >= RULE_OF_40 else "warn"
    return "none"


def headline_kpis(dataset: Dataset, period: ReportPeriod) -> pd.DataFrame:
    """The headline KPIs for ``period``, the previous period and a year earlier.

    Stocks (MRR, ARR, customers) are taken at the period's last month end;
    flows (net new MRR) are summed over the period's months; rates divide by the
    stock at the period's start. For quarters and years, growth is the compounded
    monthly rate and customer churn is compared with the monthly band through its
    monthly equivalent.

    Returns
    -------
    DataFrame
        One row per KPI with columns ``kpi, label, unit, value, previous, year_ago,
        status, rule, report``. ``unit`` is ``money``, ``count``, ``pct``, ``ratio``,
        ``months`` or ``points``; NaN means "not defined for this period" (the page
        says n/a), never inf.
    """
    values = _kpi_rows(dataset, {"value": period, "previous": period.previous(),
                                 "year_ago": period.year_ago()})
    rows = []
    for kpi, (label, unit, report, rule) in KPI_SPECS.items():
        v = [float(values[k].get(kpi, float("nan"))) for k in ("value", "previous", "year_ago")]
        v = [x if np.isfinite(x) else float("nan") for x in v]
        judged = v[0]
        if kpi == "customer_churn" and period.kind != "month":
            judged = monthly_equivalent(v[0], period.n_months)
        rows.append((kpi, label, unit, *v, _status(kpi, judged, period), rule, report))
    return pd.DataFrame(rows, columns=_COLUMNS)


def extra_kpis(dataset: Dataset, period: ReportPeriod) -> dict[str, float]:
    """Headline figures from the other KPI families; a missing table gives NaN."""
    from ._acquisition import dataset_unit_economics
    from ._funnel import web_summary, win_rate
    from ._voice import period_nps

    econ, _ = dataset_unit_economics(dataset, period)
    leads, web, survey = dataset.get("leads"), dataset.get("web_traffic"), dataset.get("survey_responses")
    return {
        "ltv_cac": float(econ.loc["LTV:CAC", "value"]),
        "cac_payback": float(econ.loc["CAC payback (months)", "value"]),
        "win_rate": win_rate(leads, period) if leads is not None else float("nan"),
        "bounce_rate": float(web_summary(web, period)["bounce_rate"].iloc[0]) if web is not None else float("nan"),
        "nps": float(period_nps(survey, period.quarter())["nps"]) if survey is not None else float("nan"),
    }


def kpi_tiles(kpis: pd.DataFrame, period: ReportPeriod, currency: str = "USD") -> list[Tile]:
    """Tiles for :func:`headline_kpis` rows: value, change vs previous and year-ago, health."""
    prev, ago = period.previous().title, period.year_ago().title
    tiles = []
    for row in kpis.itertuples(index=False):
        unit = "money_short" if row.unit == "money" else row.unit
        tiles.append(Tile(
            label=row.label,
            value=format_value(row.value, unit, currency),
            changes=(format_change(row.value, row.previous, row.unit, prev),
                     format_change(row.value, row.year_ago, row.unit, ago)),
            status=row.status, href=f"{row.report}.html" if row.report else None,
            title=row.rule or None,
        ))
    return tiles


def kpi_table(kpis: pd.DataFrame, period: ReportPeriod, currency: str = "USD") -> pd.DataFrame:
    """The headline KPIs as a readable table of formatted strings."""
    fmt = lambda v, u: format_value(v, u, currency)  # noqa: E731
    return pd.DataFrame({
        "KPI": kpis["label"],
        period.title: [fmt(v, u) for v, u in zip(kpis["value"], kpis["unit"])],
        period.previous().title: [fmt(v, u) for v, u in zip(kpis["previous"], kpis["unit"])],
        period.year_ago().title: [fmt(v, u) for v, u in zip(kpis["year_ago"], kpis["unit"])],
    }).set_index("KPI")


def trend_title(values: pd.Series, label: str, currency: str = "USD") -> str:
    """A chart title stating the finding, e.g. ``MRR grew 38% over 24 months to $612k``."""
    v = values.dropna()
    if len(v) < 2 or v.iloc[0] == 0:
        return f"{label} over time"
    change = v.iloc[-1] / v.iloc[0] - 1
    verb = "grew" if change >= 0 else "fell"
    return (f"{label} {verb} {abs(change) * 100:.0f}% over {len(v) - 1} months "
            f"to {format_value(v.iloc[-1], 'money_short', currency)}")


def largest_movements(dataset: Dataset, period: ReportPeriod, n: int = 8) -> pd.DataFrame:
    """The accounts whose MRR changed most over ``period``: the "what changed" list.

    Each account's MRR at the period's last month end is compared with its MRR at
    the month end before the period. The movement is classified as for
    :func:`~kpilib.mrr_movements` (new, reactivation, expansion, contraction,
    churn), but over the whole period, so an account that churned and came back
    within a quarter shows its net change only.

    Returns
    -------
    DataFrame
        ``customer_id, name, segment, movement, mrr_before, mrr_after, change``,
        largest absolute change first (ties by customer_id), at most ``n`` rows.
    """
    before_month = period.first - 1
    wide = customer_mrr(dataset.subscriptions, dataset.fx_rates, end=period.last,
                        base_currency=dataset.base_currency)
    cols = wide.columns
    after = wide[period.last] if period.last in cols else pd.Series(0.0, index=wide.index)
    before = wide[before_month] if before_month in cols else pd.Series(0.0, index=wide.index)
    earlier = wide.loc[:, cols < before_month]
    was_paying = (earlier > 0).any(axis=1) if earlier.shape[1] else pd.Series(False, index=wide.index)
    change = after - before
    movement = pd.Series("", index=wide.index, dtype="str")
    movement[(before == 0) & (after > 0)] = "new"
    movement[(before == 0) & (after > 0) & was_paying] = "reactivation"
    movement[(before > 0) & (after > before)] = "expansion"
    movement[(before > 0) & (after > 0) & (after < before)] = "contraction"
    movement[(before > 0) & (after == 0)] = "churn"
    frame = pd.DataFrame({"customer_id": wide.index, "movement": movement.to_numpy(),
                          "mrr_before": before.to_numpy(), "mrr_after": after.to_numpy(),
                          "change": change.to_numpy()})
    frame = frame[frame["change"] != 0]
    frame = (frame.assign(size=frame["change"].abs())
             .sort_values(["size", "customer_id"], ascending=[False, True]).head(n)
             .drop(columns="size"))
    info = dataset.customers.set_index("customer_id")[["name", "segment"]]
    return (frame.join(info, on="customer_id")
            [["customer_id", "name", "segment", "movement", "mrr_before", "mrr_after", "change"]]
            .reset_index(drop=True))
