"""Headline figures for one period, with comparisons, health flags and coverage.

:func:`headline_kpis` is the one place the overview's numbers come from: the
tiles in ``00_overview`` and the machine-readable ``kpis.json`` both use it.

Its text columns (``label``, ``target``, ``rule``, ``note``, ``goal_note``) are English whatever the
language, because ``kpis.json`` stores them; the same texts in the current language are kept in
``frame.attrs["shown"]`` (:data:`TEXT_COLUMNS` per KPI), which :func:`kpi_tiles` and :func:`kpi_table` show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.dataset import Dataset
from ..errors import KpiError
from ..i18n import N_, SOURCE_LANGUAGE, _, current_language, using
from ..periods import ReportPeriod
from .display import Tile
from .format import format_change, format_value
from .model import KpiModel
from .registry import KPIS, KpiSpec

_COLUMNS = ["kpi", "label", "unit", "scope", "value", "previous", "year_ago", "status", "target", "rule",
            "note", "report", "anchor", "goal", "gap", "goal_note"]
#: The columns of :func:`headline_kpis` that are words (English in the frame, shown translated).
TEXT_COLUMNS = ("label", "target", "rule", "note", "goal_note")


def _model(data: Dataset | KpiModel, period: ReportPeriod | None) -> KpiModel:
    if isinstance(data, KpiModel):
        return data
    if period is None:
        raise KpiError("headline_kpis needs a period with a dataset")
    return KpiModel(data, period)


def _whole(n: float) -> str:
    return f"{n:.0f}" if current_language() == SOURCE_LANGUAGE else format_value(n, "count")


def _note(spec: KpiSpec, model: KpiModel) -> str:
    if model.withheld(spec):
        return _("company-wide: {reason}; not shown for a segment").format(reason=_(spec.company_reason))
    if spec.key == "nps":
        now, before = model.voice("nps"), model.previous_voice("nps")
        if now["wave"] is None:
            return _("no survey wave closed by {date}").format(date=model.period.end_date.date())
        if now["wave"].kind == "year":  # a year's NPS is every answer of it, not a wave
            if before["wave"] is None:
                return _("answers of {year}, n = {n}").format(year=now["wave"].label, n=_whole(now["n"]))
            return _("answers of {year}, n = {n}; previous: answers of {previous}").format(
                year=now["wave"].label, n=_whole(now["n"]), previous=before["wave"].label)
        if before["wave"] is None:
            return _("survey wave {wave}, n = {n}").format(wave=now["wave"].title, n=_whole(now["n"]))
        return _("survey wave {wave}, n = {n}; previous: wave {previous}").format(
            wave=now["wave"].title, n=_whole(now["n"]), previous=before["wave"].title)
    return ""


def _texts(spec: KpiSpec, model: KpiModel, value: float, goal: float) -> tuple[str, ...]:
    """The :data:`TEXT_COLUMNS` of one KPI's row, in the current language."""
    from .titles import goal_progress

    verdict = spec.health(value, model) if spec.health else None
    rule = _("{definition} ({meaning})").format(definition=_(spec.definition),
                                                 meaning=_(spec.meaning[model.period.kind]))
    return (_(spec.label), verdict.target if verdict else "", rule, _note(spec, model),
            goal_progress(value, goal, spec.unit, spec.better, model.base_currency))


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

    model = _model(data, period)
    rows = []
    shown: dict[str, dict[str, str]] = {}
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
        words = _texts(spec, model, value, goal)
        if current_language() != SOURCE_LANGUAGE:
            shown[spec.key] = dict(zip(TEXT_COLUMNS, words))
            with using(SOURCE_LANGUAGE):  # kpis.json keeps its words in English
                words = _texts(spec, model, value, goal)
        label, target, rule, note, goal_note = words
        rows.append((spec.key, label, spec.unit, spec.scope, value, previous,
                     model.year_ago.value(spec.key), status, target, rule, note,
                     spec.page, spec.anchor, goal, gap, goal_note))
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    frame.attrs["shown"] = shown
    return frame


def _shown(kpis: pd.DataFrame) -> pd.DataFrame:
    """The :data:`TEXT_COLUMNS` of ``kpis`` in the current language: the translations
    :func:`headline_kpis` kept, else the columns (labels translated: they are the registry's msgids)."""
    words = kpis.attrs.get("shown") or {}
    out = kpis.copy()
    out.attrs = {}
    for column in TEXT_COLUMNS:
        if column not in out:
            continue
        out[column] = [words[k][column] if k in words else (_(v) if column == "label" else v)
                       for k, v in zip(out["kpi"], out[column])]
    return out


#: a KPI's health in words, on its tile and in the headline table (``none``: no health rule, no word)
_STATUS_WORDS = {"ok": N_("healthy"), "warn": N_("watch"), "bad": N_("unhealthy"), "none": ""}


def kpi_tiles(kpis: pd.DataFrame, period: ReportPeriod, currency: str = "USD", *,
              keys: list[str] | None = None) -> list[Tile]:
    """Tiles for :func:`headline_kpis` rows: value, changes vs previous and year-ago, health, and the
    progress to the goal when the goals file sets one for the period.

    Only the KPIs the registry shows for this kind of period (or ``keys``, in that order).
    The health is a word on the tile as well as its border's colour; the hover text gives the
    definition, the target the status was judged against, and the note (survey wave, company-wide
    scope).
    """
    prev, ago = period.previous().title, period.year_ago().title
    frame = _shown(kpis).set_index("kpi", drop=False)
    chosen = keys if keys is not None else [k for k in frame.index if period.kind in KPIS[k].kinds]
    # a year's previous period is the year before (for NPS, the year's answers before): one change
    once = period.previous() == period.year_ago()
    tiles = []
    for row in frame.loc[chosen].itertuples(index=False):
        unit = "money_short" if row.unit == "money" else row.unit
        against = _("previous wave") if row.kpi == "nps" and not once else prev
        target = row.target and _("target: {target}").format(target=row.target)
        hover = " · ".join(t for t in (row.rule, target, row.note) if t)
        tiles.append(Tile(
            label=row.label,
            value=format_value(row.value, unit, currency, missing=None if not row.note else "–"),
            changes=(format_change(row.value, row.previous, row.unit, against),
                     *(() if once else (format_change(row.value, row.year_ago, row.unit, ago),))),
            status=row.status, href=f"{row.report}.ipynb" if row.report else None,  # .html in the pack
            title=hover or None, goal=getattr(row, "goal_note", "") or "",
            verdict=_(_STATUS_WORDS[row.status]),  # "" for a KPI without a health rule
        ))
    return tiles


def kpi_table(kpis: pd.DataFrame, period: ReportPeriod, currency: str = "USD") -> pd.DataFrame:
    """The headline KPIs as a readable table of formatted strings, with each health verdict,
    the target it was judged against, and notes (survey wave, company-wide scope); with a goals file,
    a last column with the progress to each goal of the period."""
    fmt = lambda v, u: format_value(v, u, currency)  # noqa: E731
    words = _shown(kpis)
    goals = {_("Goal"): words["goal_note"].to_numpy()} if "goal" in kpis and kpis["goal"].notna().any() else {}
    return pd.DataFrame({
        _("KPI"): words["label"],
        period.title: [fmt(v, u) for v, u in zip(kpis["value"], kpis["unit"])],
        period.previous().title: [fmt(v, u) for v, u in zip(kpis["previous"], kpis["unit"])],
        period.year_ago().title: [fmt(v, u) for v, u in zip(kpis["year_ago"], kpis["unit"])],
        _("Health"): [_(_STATUS_WORDS[s]) for s in kpis["status"]],
        _("Judged against"): words["target"],
        _("Note"): words["note"],
        **goals,
    }).set_index(_("KPI"))


