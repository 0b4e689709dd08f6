"""What a report is about: period, segment, data source, coverage."""

from __future__ import annotations

import html

from IPython.display import HTML

from ..data.currency import rate_basis
from ..data.dataset import Dataset
from ..periods import ReportPeriod

SAMPLE_SOURCE = "the bundled sample company"  # Dataset.source of the bundled sample


def period_coverage(dataset: Dataset, period: ReportPeriod) -> str | None:
    """A sentence when the data do not fully cover ``period``, else ``None``."""
    end, start = dataset.data_end, dataset.data_start
    if period.end_date > end:
        return (f"The data end on {end.date()}, before this period ends on {period.end_date.date()}: "
                "figures for the period are partial.")
    if period.start_date < start:
        return (f"The data start on {start.date()}, after this period begins on "
                f"{period.start_date.date()}: figures for the period are partial.")
    return None


def sample_banner_html(dataset: Dataset) -> str:
    """The red banner of every page of a pack built from the bundled sample company (else empty)."""
    if dataset.source != SAMPLE_SOURCE:
        return ""
    return ('<div class="kpi-sample">These are the figures of the bundled sample company, not your '
            "data: pass --data (or the notebook's data parameter) to report on your own.</div>")


def context_html(dataset: Dataset, period: ReportPeriod) -> HTML:
    """One line saying what the report covers, plus a coverage warning if needed."""
    filters = ", ".join(f"{k} = {v}" for k, v in dataset.filters.items()) or "all accounts"
    line = (
        f"<p><b>{html.escape(period.title)}</b> ({period.start_date.date()} to {period.end_date.date()})"
        f" &middot; {html.escape(filters)} &middot; data: {html.escape(dataset.source)}, "
        f"through {dataset.data_end.date()} &middot; amounts in {html.escape(dataset.base_currency)} "
        f"{html.escape(rate_basis(dataset.fx_rates))}</p>"
    )
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
    return HTML(f'<div class="kpi-note">{html.escape(dataset.source)} has no {html.escape(listed)} '
                "table: the sections that need it are left out.</div>")
