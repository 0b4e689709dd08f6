"""Headline figures for one period, with comparisons, health flags and coverage.

:func:`headline_kpis` is the one place the overview's numbers come from: the
tiles in ``00_overview`` and the machine-readable ``kpis.json`` both use it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.dataset import Dataset
from ..errors import KpiError
from ..periods import ReportPeriod
from .display import Tile
from .format import format_change, format_value
from .model import KpiModel
from .registry import KPIS, KpiSpec

_COLUMNS = ["kpi", "label", "unit", "scope", "value", "previous", "year_ago", "status", "target", "rule",
            "note", "report", "anchor", "goal", "gap", "goal_note"]


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
        One row per KPI of :data:`~kpilib.report.registry.KPIS` with columns ``kpi, label, unit,
        scope, value, previous, year_ago, status, target, rule, note, report, anchor, goal, gap,
        goal_note``. ``unit`` is ``money``, ``count``, ``pct``, ``ratio``, ``months`` or ``points``; NaN
        means "not defined for this period" (the page says n/a), never inf. ``goal`` is the goals
        file's target for the period (:func:`kpilib.report.goals.goal_value`; NaN without one), ``gap``
        = value - goal in the KPI's unit (NaN when either is missing) and ``goal_note`` its words
        (:func:`kpilib.report.titles.goal_progress`; "" without a goal).
    """
    from .goals import goal_value
    from .titles import goal_progress

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
        goal = goal_value(model, spec.key)
        gap = value - goal if np.isfinite(value) and np.isfinite(goal) else float("nan")
        rows.append((spec.key, spec.label, spec.unit, spec.scope, value, previous,
                     model.year_ago.value(spec.key), status, verdict.target if verdict else "",
                     f"{spec.definition} ({spec.meaning[model.period.kind]})", _note(spec, model),
                     spec.page, spec.anchor, goal, gap,
                     goal_progress(value, goal, spec.unit, spec.better, model.base_currency)))
    return pd.DataFrame(rows, columns=_COLUMNS)


def kpi_tiles(kpis: pd.DataFrame, period: ReportPeriod, currency: str = "USD", *,
              keys: list[str] | None = None) -> list[Tile]:
    """Tiles for :func:`headline_kpis` rows: value, changes vs previous and year-ago, health, and the
    progress to the goal when the goals file sets one for the period.

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
            title=hover or None, goal=getattr(row, "goal_note", "") or "",
        ))
    return tiles


_STATUS_WORDS = {"ok": "healthy", "warn": "watch", "bad": "unhealthy", "none": ""}


def kpi_table(kpis: pd.DataFrame, period: ReportPeriod, currency: str = "USD") -> pd.DataFrame:
    """The headline KPIs as a readable table of formatted strings, with each health verdict,
    the target it was judged against, and notes (survey wave, company-wide scope); with a goals file,
    a last column with the progress to each goal of the period."""
    fmt = lambda v, u: format_value(v, u, currency)  # noqa: E731
    goals = {"Goal": kpis["goal_note"].to_numpy()} if "goal" in kpis and kpis["goal"].notna().any() else {}
    return pd.DataFrame({
        "KPI": kpis["label"],
        period.title: [fmt(v, u) for v, u in zip(kpis["value"], kpis["unit"])],
        period.previous().title: [fmt(v, u) for v, u in zip(kpis["previous"], kpis["unit"])],
        period.year_ago().title: [fmt(v, u) for v, u in zip(kpis["year_ago"], kpis["unit"])],
        "Health": [_STATUS_WORDS[s] for s in kpis["status"]],
        "Judged against": kpis["target"],
        "Note": kpis["note"],
        **goals,
    }).set_index("KPI")


