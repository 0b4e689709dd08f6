"""Headline figures for one period, with comparisons, health flags and coverage.

:func:`headline_kpis` is the one place the overview's numbers come from: the
tiles in ``00_overview`` and the machine-readable ``kpis.json`` both use it.
"""

from __future__ import annotations

import pandas as pd

from ._loading import Dataset
from ._mrr import customer_mrr, mrr_movements
from ._periods import ReportPeriod
from ._display import Tile
from ._format import format_change, format_value

_COLUMNS = ["kpi", "label", "unit", "value", "previous", "year_ago", "status", "rule", "report"]


def _movements(dataset: Dataset, first: pd.Period, last: pd.Period) -> pd.DataFrame:
    return mrr_movements(dataset.subscriptions, dataset.fx_rates, start=first, end=last,
                         base_currency=dataset.base_currency)


def _stock(mov: pd.DataFrame, month: pd.Period, column: str) -> float:
    return float(mov[column].get(month, float("nan"))) if month in mov.index else float("nan")


def headline_kpis(dataset: Dataset, period: ReportPeriod) -> pd.DataFrame:
    """The overview's KPIs for ``period``, the previous period and a year earlier.

    Stocks (MRR, ARR, customers) are taken at the period's last month end;
    flows (net new MRR) are summed over the period's months.

    Returns
    -------
    DataFrame
        One row per KPI with columns ``kpi, label, unit, value, previous, year_ago,
        status, rule, report``. ``unit`` is ``money``, ``count``, ``pct`` or ``ratio``;
        missing values are NaN and mean "not defined for this period".
    """
    prev, ago = period.previous(), period.year_ago()
    mov = _movements(dataset, ago.first, period.last)

    def stock(col: str, p: ReportPeriod) -> float:
        return _stock(mov, p.last, col)

    def flow(p: ReportPeriod) -> float:
        months = [m for m in p.months if m in mov.index]
        if not months:
            return float("nan")
        sub = mov.loc[months]
        return float((sub["closing_mrr"] - sub["opening_mrr"]).sum())

    rows = [
        ("mrr", "MRR", "money", *(stock("closing_mrr", p) for p in (period, prev, ago)), "", "01_revenue"),
        ("arr", "ARR", "money", *(12 * stock("closing_mrr", p) for p in (period, prev, ago)), "",
         "01_revenue"),
        ("customers", "Paying customers", "count", *(stock("customers", p) for p in (period, prev, ago)),
         "", "01_revenue"),
        ("net_new_mrr", "Net new MRR", "money", *(flow(p) for p in (period, prev, ago)), "",
         "01_revenue"),
    ]
    out = pd.DataFrame(
        [(k, label, unit, v, pv, ya, "none", rule, rep) for k, label, unit, v, pv, ya, rule, rep in rows],
        columns=_COLUMNS,
    )
    return out


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
