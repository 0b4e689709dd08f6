"""The naive baseline: plain pandas, one groupby().apply() per customer, the way it is often written."""

from __future__ import annotations

import pandas as pd

MONTHS = {"month": 1, "quarter": 3, "year": 12}


def _customer_series(rows: pd.DataFrame, months: pd.PeriodIndex) -> pd.Series:
    ends = months.to_timestamp(how="end").normalize()
    values = []
    for day in ends:
        active = rows[(rows["start_date"] <= day) & (rows["end_date"].isna() | (rows["end_date"] > day))]
        values.append(round(float(active["mrr"].sum()), 6))
    return pd.Series(values, index=months)


def mrr_movements_naive(subs: pd.DataFrame, fx: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    rates = fx.set_index("currency")["rate_to_base"]
    subs = subs.assign(mrr=subs["amount"] / subs["billing_interval"].map(MONTHS) * subs["currency"].map(rates))
    first = pd.Period(subs["start_date"].min(), "M")
    months = pd.period_range(first, end, freq="M")
    wide = subs.groupby("customer_id").apply(lambda g: _customer_series(g, months), include_groups=False)
    window = pd.period_range(start, end, freq="M", name="month")
    rows = []
    for m in window:
        prev, cur = wide[m - 1] if (m - 1) in wide.columns else 0.0 * wide[m], wide[m]
        before = wide.loc[:, wide.columns < m - 1]
        ever = (before > 0).any(axis=1) if before.shape[1] else pd.Series(False, index=wide.index)
        start_ = (prev == 0) & (cur > 0)
        both = (prev > 0) & (cur > 0)
        rows.append({"opening_mrr": prev.sum(), "new": cur[start_ & ~ever].sum(),
                     "expansion": (cur - prev)[both & (cur > prev)].sum(),
                     "reactivation": cur[start_ & ever].sum(),
                     "contraction": (cur - prev)[both & (cur < prev)].sum(),
                     "churn": -prev[(prev > 0) & (cur == 0)].sum(), "closing_mrr": cur.sum(),
                     "customers": int((cur > 0).sum())})
    return pd.DataFrame(rows, index=window)
