"""Headline figures for one period, with comparisons, health flags and coverage.

:func:`headline_kpis` is the one place the overview's numbers come from: the
tiles in ``00_overview`` and the machine-readable ``kpis.json`` both use it.
"""

from __future__ import annotations

import pandas as pd

from ._display import Tile
from ._errors import KpiError
from ._format import format_change, format_value
from ._loading import Dataset
from ._model import KpiModel
from ._mrr import customer_mrr
from ._periods import ReportPeriod
from ._registry import KPIS, KpiSpec

_COLUMNS = ["kpi", "label", "unit", "scope", "value", "previous", "year_ago", "status", "target", "rule",
            "note", "report", "anchor"]


def _model(data: Dataset | KpiModel, period: ReportPeriod | None) -> KpiModel:
    if isinstance(data, KpiModel):
        return data
    if period is None:
        raise KpiError("headline_kpis needs a period with a dataset")
    return KpiModel(data, period)


def _note(spec: KpiSpec, model: KpiModel) -> str:
    if model.withheld(spec):
        return f"company-wide: {spec.company_reason}; not shown for a segment"
    if spec.key == "nps":
        now, before = model.voice("nps"), model.previous_voice("nps")
        if now["wave"] is None:
            return f"no survey wave closed by {model.period.end_date.date()}"
        text = f"survey wave {now['wave'].title}, n = {now['n']:.0f}"
        return text + (f"; previous: wave {before['wave'].title}" if before["wave"] is not None else "")
    return ""


def headline_kpis(data: Dataset | KpiModel, period: ReportPeriod | None = None) -> pd.DataFrame:
    """The registry's KPIs for the period, the previous period and a year earlier.

    Every value comes from a :class:`~kpilib.KpiModel`, cut at its own period's end, so
    the "previous" column is what the previous pack showed. Company-wide KPIs are NaN in a
    segment pack, with the reason in ``note``. NPS compares with the previous survey wave.

    Returns
    -------
    DataFrame
        One row per KPI of :data:`~kpilib._registry.KPIS` with columns ``kpi, label, unit,
        scope, value, previous, year_ago, status, target, rule, note, report, anchor``.
        ``unit`` is ``money``, ``count``, ``pct``, ``ratio``, ``months`` or ``points``; NaN
        means "not defined for this period" (the page says n/a), never inf.
    """
    model = _model(data, period)
    rows = []
    for spec in KPIS.values():
        value = model.value(spec.key)
        if spec.key == "nps":
            before = model.previous_voice("nps")
            previous = float(before["nps"]) if before["wave"] is not None else float("nan")
        else:
            previous = model.previous.value(spec.key)
        verdict = spec.health(value, model) if spec.health else None
        status = verdict.status if verdict else "none"
        if model.withheld(spec):
            status = "none"
        rows.append((spec.key, spec.label, spec.unit, spec.scope, value, previous,
                     model.year_ago.value(spec.key), status, verdict.target if verdict else "",
                     f"{spec.definition} ({spec.meaning[model.period.kind]})", _note(spec, model),
                     spec.page, spec.anchor))
    return pd.DataFrame(rows, columns=_COLUMNS)


def kpi_tiles(kpis: pd.DataFrame, period: ReportPeriod, currency: str = "USD", *,
              keys: list[str] | None = None) -> list[Tile]:
    """Tiles for :func:`headline_kpis` rows: value, changes vs previous and year-ago, health.

    Only the KPIs the registry shows for this kind of period (or ``keys``, in that order).
    The hover text gives the definition, the target the status was judged against, and
    the note (survey wave, company-wide scope).
    """
    prev, ago = period.previous().title, period.year_ago().title
    frame = kpis.set_index("kpi", drop=False)
    chosen = keys if keys is not None else [k for k in frame.index if period.kind in KPIS[k].kinds]
    tiles = []
    for row in frame.loc[chosen].itertuples(index=False):
        unit = "money_short" if row.unit == "money" else row.unit
        against = "previous wave" if row.kpi == "nps" else prev
        hover = " · ".join(t for t in (row.rule, row.target and f"target: {row.target}", row.note) if t)
        tiles.append(Tile(
            label=row.label,
            value=format_value(row.value, unit, currency, missing="n/a" if not row.note else "–"),
            changes=(format_change(row.value, row.previous, row.unit, against),
                     format_change(row.value, row.year_ago, row.unit, ago)),
            status=row.status, href=f"{row.report}.ipynb" if row.report else None,  # .html in the pack
            title=hover or None,
        ))
    return tiles


_STATUS_WORDS = {"ok": "healthy", "warn": "watch", "bad": "unhealthy", "none": ""}


def kpi_table(kpis: pd.DataFrame, period: ReportPeriod, currency: str = "USD") -> pd.DataFrame:
    """The headline KPIs as a readable table of formatted strings, with each health verdict,
    the target it was judged against, and notes (survey wave, company-wide scope)."""
    fmt = lambda v, u: format_value(v, u, currency)  # noqa: E731
    return pd.DataFrame({
        "KPI": kpis["label"],
        period.title: [fmt(v, u) for v, u in zip(kpis["value"], kpis["unit"])],
        period.previous().title: [fmt(v, u) for v, u in zip(kpis["previous"], kpis["unit"])],
        period.year_ago().title: [fmt(v, u) for v, u in zip(kpis["year_ago"], kpis["unit"])],
        "Health": [_STATUS_WORDS[s] for s in kpis["status"]],
        "Judged against": kpis["target"],
        "Note": kpis["note"],
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


def largest_movements(dataset: Dataset, period: ReportPeriod, n: int = 8, *,
                      wide: pd.DataFrame | None = None) -> pd.DataFrame:
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
    if wide is None:
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
