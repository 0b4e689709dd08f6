"""Revenue KPIs per period, built on the monthly MRR movements.

Months, quarters and years aggregate one way throughout: **flows** (new,
expansion, reactivation, contraction, churn, churned customers) are summed over
the period's months; **stocks** (MRR, customers) are taken at the period's last
month end; rates divide by the stock at the period's **start** (the month end
before its first month). Undefined ratios (a zero denominator) are NaN, never inf.
Definitions with formulas and sources: docs/metrics.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._mrr import _movements_full
from ._periods import ReportPeriod

#: Glossary health thresholds.
GROWTH_TARGET = 0.15  # early-stage MRR growth per month
CHURN_BAND = (0.02, 0.05)  # monthly customer churn: <= 2 % healthy, > 5 % unhealthy
RULE_OF_40 = 0.40

FLOWS = ["new", "expansion", "reactivation", "contraction", "churn", "new_customers",
         "expansion_customers", "reactivated_customers", "contraction_customers", "churned_customers"]


def ratio(num: float, den: float) -> float:
    """``num / den``, or NaN when the denominator is 0 or missing (never inf)."""
    try:
        num, den = float(num), float(den)
    except (TypeError, ValueError):
        return float("nan")
    if not np.isfinite(num) or not np.isfinite(den) or den == 0:
        return float("nan")
    return num / den


def monthly_revenue(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None,
                    start: pd.Period, end: pd.Period, *, base_currency: str = "USD") -> pd.DataFrame:
    """Movements, stocks and customer counts per month from ``start`` to ``end``.

    Columns: the movement columns of :func:`~kpilib.mrr_movements` plus the customer
    counts per movement (``new_customers``, ``churned_customers``, ...).
    History before ``start`` is used for the new/reactivation split.
    """
    return _movements_full(subscriptions, fx_rates, start, end, base_currency, None)


def period_revenue(monthly: pd.DataFrame, period: ReportPeriod) -> pd.Series:
    """Revenue KPIs for one period from :func:`monthly_revenue` (which must cover it
    and the month before it).

    Returns
    -------
    Series
        ``mrr, arr, customers, opening_mrr, opening_customers, new, expansion,
        reactivation, contraction, churn, net_new_mrr, new_customers,
        churned_customers, reactivated_customers, arpa, asp_new, mrr_growth,
        quick_ratio, customer_churn_rate, gross_mrr_churn, net_mrr_churn,
        new_bookings_arr``. Money in the base currency; rates as fractions.
    """
    months = [m for m in period.months if m in monthly.index]
    if not months:
        return pd.Series(dtype="float64")
    sub = monthly.loc[months]
    flows = sub[FLOWS].sum()
    opening = float(sub["opening_mrr"].iloc[0])
    mrr = float(sub["closing_mrr"].iloc[-1])
    customers = float(sub["customers"].iloc[-1])
    before = period.first - 1
    opening_customers = float(monthly.loc[before, "customers"]) if before in monthly.index else float("nan")
    gained = flows["new"] + flows["expansion"] + flows["reactivation"]
    lost = flows["contraction"] + flows["churn"]  # negative
    out = {
        "mrr": mrr, "arr": 12 * mrr, "customers": customers,
        "opening_mrr": opening, "opening_customers": opening_customers,
        **{k: float(flows[k]) for k in FLOWS},
        "net_new_mrr": mrr - opening,
        "arpa": ratio(mrr, customers),
        "asp_new": ratio(flows["new"], flows["new_customers"]),
        "mrr_growth": ratio(mrr - opening, opening),
        "mrr_cmgr": (ratio(mrr, opening) ** (1 / len(months)) - 1) if opening > 0 and mrr > 0
        else float("nan"),
        "quick_ratio": ratio(gained, -lost),
        "customer_churn_rate": ratio(flows["churned_customers"], opening_customers),
        "gross_mrr_churn": ratio(-lost, opening),
        "net_mrr_churn": ratio(-(lost + flows["expansion"] + flows["reactivation"]), opening),
        "new_bookings_arr": 12 * gained,
    }
    return pd.Series(out, dtype="float64")


def revenue_trend(monthly: pd.DataFrame, kind: str = "month") -> pd.DataFrame:
    """:func:`period_revenue` for every whole month, quarter or year in ``monthly``."""
    n = {"month": 1, "quarter": 3, "year": 12}[kind]
    months = monthly.index
    rows = {}
    for m in months[1:]:  # the first month has no opening customer count
        if (m.month % n) != 0 or (m - (n - 1)) < months[1]:
            continue
        label = str(m) if kind == "month" else (f"{m.year}-Q{m.quarter}" if kind == "quarter" else str(m.year))
        period = ReportPeriod(kind, m - (n - 1), m)  # type: ignore[arg-type]
        rows[label] = period_revenue(monthly, period)
    return pd.DataFrame(rows).T.rename_axis("period")


def retention_rates(wide: pd.DataFrame, month: pd.Period, lookback: int = 12) -> pd.Series:
    """Net and gross revenue retention over ``lookback`` months, ending at ``month``.

    The cohort is every customer with MRR > 0 at the month end ``lookback`` months
    earlier. NRR = their MRR now / their MRR then (expansion counts, new customers
    don't). GRR = the same with each customer capped at its earlier MRR, so it
    is at most 100 %.
    """
    then_month = month - lookback
    if then_month not in wide.columns or month not in wide.columns:
        return pd.Series({"nrr": float("nan"), "grr": float("nan"), "cohort_customers": 0.0})
    then = wide[then_month]
    cohort = then > 0
    now = wide.loc[cohort, month]
    base = then[cohort]
    return pd.Series({"nrr": ratio(now.sum(), base.sum()),
                      "grr": ratio(np.minimum(now, base).sum(), base.sum()),
                      "cohort_customers": float(cohort.sum())})


def retention_trend(wide: pd.DataFrame, months: pd.PeriodIndex, lookback: int = 12) -> pd.DataFrame:
    """:func:`retention_rates` for each month in ``months``."""
    return pd.DataFrame({m: retention_rates(wide, m, lookback) for m in months}).T.rename_axis("month")


def contract_values(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None, period: ReportPeriod,
                    *, base_currency: str = "USD") -> pd.Series:
    """Bookings of contracts signed in ``period``: TCV and ACV.

    For each subscription row starting in the period: committed months =
    ``term_months``, or one billing interval when it is missing; TCV = row MRR x
    committed months + setup fee; ACV = row MRR x 12 (setup fees excluded).
    Amounts converted at the fixed rate. Returns ``contracts, tcv, acv, setup_fees``.
    """
    from ._mrr import MONTHS_PER_INTERVAL, row_mrr

    starts = subscriptions["start_date"]
    signed = subscriptions[(starts >= period.start_date) & (starts <= period.end_date)]
    mrr = row_mrr(signed, fx_rates, base_currency)
    interval = signed["billing_interval"].map(MONTHS_PER_INTERVAL).astype("float64")
    term = (signed["term_months"].astype("Float64").fillna(interval).astype("float64")
            if "term_months" in signed else interval)
    if "setup_fee" in signed:
        rate = mrr / (signed["amount"] / interval).replace(0, np.nan)  # the row's fx factor
        fees = (signed["setup_fee"].fillna(0.0) * rate.fillna(0.0)).sum()
    else:
        fees = 0.0
    return pd.Series({"contracts": float(len(signed)), "tcv": float((mrr * term).sum() + fees),
                      "acv": float((mrr * 12).sum()), "setup_fees": float(fees)})


def rule_of_40(financials: pd.DataFrame, period: ReportPeriod) -> pd.Series:
    """Rule of 40 = YoY revenue growth + profit margin, from monthly financials.

    Growth compares the period's revenue with the same months a year earlier;
    profit margin = (revenue - cogs - operating_expenses) / revenue over the
    period (an operating margin, used as the EBITDA proxy). Missing months
    make the figure NaN rather than a misleading partial sum.
    """
    fin = financials.set_index("month")

    def total(p: ReportPeriod, col: str) -> float:
        months = list(p.months)
        if not set(months) <= set(fin.index):
            return float("nan")
        return float(fin.loc[months, col].sum())

    revenue, before = total(period, "revenue"), total(period.year_ago(), "revenue")
    profit = revenue - total(period, "cogs") - total(period, "operating_expenses")
    growth, margin = ratio(revenue - before, before), ratio(profit, revenue)
    return pd.Series({"revenue": revenue, "revenue_year_ago": before, "revenue_growth": growth,
                      "profit_margin": margin, "rule_of_40": growth + margin,
                      "gross_margin": ratio(revenue - total(period, "cogs"), revenue)})


def monthly_equivalent(rate: float, months: int) -> float:
    """The constant monthly rate that compounds to ``rate`` over ``months``."""
    if not np.isfinite(rate) or rate >= 1:
        return float("nan")
    return 1 - (1 - rate) ** (1 / months)


def churn_status(rate: float, months: int = 1) -> str:
    """Health of a customer churn rate over ``months`` against the glossary's 2-5 %/month band."""
    rate = monthly_equivalent(rate, months)
    if not np.isfinite(rate):
        return "none"
    return "ok" if rate <= CHURN_BAND[0] else ("warn" if rate <= CHURN_BAND[1] else "bad")


def revenue_breakdown(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None,
                      customers: pd.DataFrame, period: ReportPeriod, by: str, *,
                      base_currency: str = "USD") -> pd.DataFrame:
    """MRR at the period end and the period's movements per group.

    ``by`` is a customers column (segment, region, acquisition_channel) or
    ``plan`` (subscription lines: a plan switch is churn in one plan, new in the other).
    Columns: ``mrr, share, customers, arpa, new, expansion, reactivation,
    contraction, churn, net_new_mrr``; sorted by MRR, largest first.
    """
    key = by if by == "plan" else customers.set_index("customer_id")[by].rename(by)
    mov = _movements_full(subscriptions, fx_rates, period.first, period.last, base_currency, key)
    flows = mov[["new", "expansion", "reactivation", "contraction", "churn"]].groupby(level=0).sum()
    last = mov.xs(period.last, level="month")
    out = flows.assign(mrr=last["closing_mrr"], customers=last["customers"].astype("int64"),
                       net_new_mrr=last["closing_mrr"] - mov.groupby(level=0)["opening_mrr"].first())
    total = out["mrr"].sum()
    out = out.assign(share=out["mrr"] / total if total else float("nan"),
                     arpa=[ratio(m, c) for m, c in zip(out["mrr"], out["customers"])])
    cols = ["mrr", "share", "customers", "arpa", "new", "expansion", "reactivation", "contraction",
            "churn", "net_new_mrr"]
    return out[cols].sort_values("mrr", ascending=False).rename_axis(by)
