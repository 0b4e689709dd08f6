"""HTML building blocks for notebooks: KPI tiles, safe tables and notes.

Everything that comes from the data (names, plans, comments) is escaped here,
so a notebook cannot show untrusted text live.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from IPython.display import HTML


def number(v: float, decimals: int = 0, *, sign: bool = False, grouped: bool = False) -> str:
    """A plain number for a sentence or a legend: ``+12``, ``4.3``, ``1,204`` in English, with the
    current locale's marks in any other language (the tiles' formatter,
    :func:`~kpilib.report.format.format_value`, so every language prints the same digits)."""
    from .format import _number

    return _number(v, decimals, grouped=grouped, sign=sign)


def percent(v: float, decimals: int = 0) -> str:
    """A fraction as a percentage in the current language: ``5%`` in English, ``5 %`` in French (the
    tiles' formatter, :func:`~kpilib.report.format.format_value`, with ``decimals``)."""
    from .format import format_value

    return format_value(v, "pct", decimals=decimals)


@dataclass(frozen=True)
class Tile:
    """One KPI tile: a label, a formatted value, change lines and a health status."""

    label: str
    value: str
    changes: tuple[str, ...] = ()
    status: str = "none"  # ok | warn | bad | none
    href: str | None = None
    title: str | None = None  # hover text, e.g. the definition or health rule
    goal: str = ""  # progress to the period's goal, in words (kpilib.report.titles.goal_progress)
    verdict: str = ""  # the health in words, shown: the border's colour is never its only sign


def tiles_html(tiles: Iterable[Tile]) -> HTML:
    """A responsive grid of KPI tiles."""
    parts = []
    for t in tiles:
        label = html.escape(t.label)
        if t.href:
            label = f'<a href="{html.escape(t.href)}">{label}</a>'
        changes = "".join(f'<div class="delta">{html.escape(c)}</div>' for c in t.changes)
        if t.goal:
            changes += f'<div class="delta goal">{html.escape(t.goal)}</div>'
        title = f' title="{html.escape(t.title)}"' if t.title else ""
        verdict = f'<div class="verdict">{html.escape(t.verdict)}</div>' if t.verdict else ""
        parts.append(
            f'<div class="kpi-tile {html.escape(t.status)}"{title}><div class="label">{label}</div>'
            f'<div class="value">{html.escape(t.value)}</div>{verdict}{changes}</div>'
        )
    return HTML('<div class="kpi-tiles">' + "".join(parts) + "</div>")


def note_html(text: str) -> HTML:
    """A highlighted note, e.g. 'this period is not fully covered by the data'."""
    return HTML(f'<div class="kpi-note">{html.escape(text)}</div>')


def show_table(df: pd.DataFrame, formats: Mapping[str, str | Callable[[Any], str]] | None = None, *,
               table_id: str = "t", caption: str | None = None, na_rep: str = "–",
               hide_index: bool = False):
    """A deterministic, escaped, readable table.

    Parameters
    ----------
    df
        The frame to show (index and cells are escaped as HTML text).
    formats
        Column -> format string, e.g. ``{"rate": "{:.1%}"}``, or a callable
        (:func:`kpilib.report.pages.table` derives them from the columns' units).
        Numeric columns without a format get thousands separators.
    table_id
        Fixed Styler uuid, so stored notebook outputs are stable.
    """
    if (not hide_index and df.index.nlevels == 1 and df.columns.nlevels == 1 and df.index.name is not None
            and df.columns.name is None):
        # the index's name in the header row's corner, escaped (the Styler writes axis names as they
        # are), instead of on a second header row of its own under the column names
        df = df.rename_axis(index=None, columns=html.escape(str(df.index.name)))
    formats = dict(formats or {})
    for col in df.columns:
        if col not in formats and pd.api.types.is_numeric_dtype(df[col]):
            formats[col] = "{:,.0f}" if pd.api.types.is_integer_dtype(df[col]) else "{:,.2f}"
    styler = (
        df.style.set_uuid(table_id)
        .format(formats, na_rep=na_rep, escape="html")
        .format_index(escape="html", axis=0)
        .format_index(escape="html", axis=1)
    )
    if caption:
        styler = styler.set_caption(html.escape(caption))
    if hide_index:
        styler = styler.hide(axis="index")
    return styler
