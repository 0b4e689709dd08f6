"""What a report is about: period, segment, data source, coverage."""

from __future__ import annotations

import html

from IPython.display import HTML

from ..data.currency import rate_basis
from ..data.dataset import Dataset
from ..i18n import N_, _
from ..periods import ReportPeriod

SAMPLE_SOURCE = N_("the bundled sample company")  # Dataset.source of the bundled sample (English: a key)


def source_words(dataset: Dataset) -> str:
    """The data source as a page names it: a folder or database as it is, the sample in the reader's language."""
    return _(SAMPLE_SOURCE) if dataset.source == SAMPLE_SOURCE else dataset.source


def period_coverage(dataset: Dataset, period: ReportPeriod) -> str | None:
    """A sentence when the data do not fully cover ``period``, else ``None``."""
    end, start = dataset.data_end, dataset.data_start
    if period.end_date > end:
        return _("The data end on {data_end}, before this period ends on {period_end}: figures for the period "
                 "are partial.").format(data_end=end.date(), period_end=period.end_date.date())
    if period.start_date < start:
        return _("The data start on {data_start}, after this period begins on {period_start}: figures for the "
                 "period are partial.").format(data_start=start.date(), period_start=period.start_date.date())
    return None


def sample_banner_html(dataset: Dataset) -> str:
    """The red banner of every page of a pack built from the bundled sample company (else empty)."""
    if dataset.source != SAMPLE_SOURCE:
        return ""
    text = _("These are the figures of the bundled sample company, not your data: pass --data (or the notebook's "
             "data parameter) to report on your own.")
    return f'<div class="kpi-sample">{html.escape(text, quote=False)}</div>'


def context_html(dataset: Dataset, period: ReportPeriod) -> HTML:
    """One line saying what the report covers, plus a coverage warning if needed."""
    filters = ", ".join(f"{k} = {v}" for k, v in dataset.filters.items()) or _("all accounts")
    esc = html.escape
    line = "<p>" + _("{period} ({start} to {end}) &middot; {filters} &middot; data: {source}, through {data_end} "
                     "&middot; amounts in {currency} {rate_basis}").format(
        period=f"<b>{esc(period.title)}</b>", start=period.start_date.date(), end=period.end_date.date(),
        filters=esc(filters), source=esc(source_words(dataset)), data_end=dataset.data_end.date(),
        currency=esc(dataset.base_currency), rate_basis=esc(rate_basis(dataset.fx_rates))) + "</p>"
    line = sample_banner_html(dataset) + line
    gap = period_coverage(dataset, period)
    if gap:
        line += f'<div class="kpi-note">{html.escape(gap)}</div>'
    return HTML(line)


def missing_tables_html(dataset: Dataset, names: list[str]) -> HTML:
    """A note naming the optional tables this report needs but the source lacks (empty if none)."""
    missing = [n for n in names if not dataset.has(n)]
    if not missing:
        return HTML("")
    listed = ", ".join(f"'{n}'" for n in missing)
    text = _("{source} has no {tables} table: the sections that need it are left out.").format(
        source=source_words(dataset), tables=listed)
    return HTML(f'<div class="kpi-note">{html.escape(text)}</div>')
