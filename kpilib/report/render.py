"""The pack's own pages, rendered from Jinja templates: the index and the glossary, and the links
between every page.

The notebooks' pages are rendered by nbconvert with the ``kpi`` template (``templates/kpi``); this
module writes the two pages that are not notebooks, from ``templates/kpi/pack_index.html.j2`` and
``templates/kpi/glossary.html.j2``, with autoescaping on (every text from the data is escaped), and
turns the notebooks' links into links between the HTML pages of one pack.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..paths import DOCS_DIR, TEMPLATES_DIR
from .context import sample_banner_html
from .pages import PAGES

if TYPE_CHECKING:
    import jinja2
    import pandas as pd

    from ..data.dataset import Dataset
    from ..periods import ReportPeriod
    from .restatement import Restatement

SHOWN_ACCOUNTS = 20  # restated customer-months listed on the index; manifest.json holds them all


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR / "kpi")), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def page_css() -> str:
    """The style every page of the pack shares (the notebooks' pages carry the same file)."""
    return (TEMPLATES_DIR / "kpi" / "kpi.css").read_text(encoding="utf-8")


_NAV = re.compile(r'<nav class="kpi-nav">(.*?)</nav>', re.S)


def html_links(page: str, built: Sequence[str] | None = None) -> str:
    """Links of a rendered page within the pack: a notebook link becomes its HTML page when the pack
    holds it (``built``; default every page) and plain text otherwise, and the navigation bar gains
    the pack's index and glossary (which do not exist beside the notebooks in JupyterLab)."""
    names = list(PAGES) if built is None else list(built)
    for name in PAGES:
        if name in names:
            page = page.replace(f'href="{name}.ipynb"', f'href="{name}.html"')
        else:
            page = re.sub(rf'<a href="{re.escape(name)}\.ipynb">(.*?)</a>', r"\1", page)
    return _NAV.sub(lambda m: '<nav class="kpi-nav"><a href="index.html">Index</a> · '
                    f'{m[1]} · <a href="glossary.html">Glossary</a></nav>', page, count=1)


def _nav(built: Sequence[str]) -> list[dict[str, str]]:
    """The pack's pages, in reading order, for a navigation bar."""
    return [{"title": t, "href": f"{n}.html"} for n, t in PAGES.items() if n in built]


def write_index(pack: Path, period: ReportPeriod, dataset: Dataset, names: Sequence[str], titles: dict[str, str],
                segment: str, siblings: Sequence[str] = (), kpis: pd.DataFrame | None = None,
                audit: dict | None = None, restated: Restatement | None = None) -> Path:
    """Write ``index.html``: the headline tiles, the pages, the other packs of the period beside this
    one, the data and its audit record, and what an earlier pack of the period said differently."""
    from markupsafe import Markup

    from ..data.currency import rate_basis

    tiles = ""
    if kpis is not None:
        from .display import tiles_html
        from .overview import kpi_tiles

        tiles = html_links(tiles_html(kpi_tiles(kpis, period, dataset.base_currency)).data, names)
    page = _environment().get_template("pack_index.html.j2").render(
        period=period, dataset=dataset, segment="" if segment in ("", "all") else segment,
        pages=[{"href": f"{n}.html", "title": titles.get(n, n)} for n in names], siblings=list(siblings),
        tiles=Markup(tiles), banner=Markup(sample_banner_html(dataset)), css=page_css(),
        rate_basis=rate_basis(dataset.fx_rates), restated=_restatement(restated, dataset.base_currency),
        audit=_audit(audit))
    path = pack / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def write_glossary(pack: Path, dataset: Dataset | None = None, built: Sequence[str] | None = None) -> Path:
    """Write ``glossary.html``: docs/metrics.md rendered, so an e-mailed pack carries every
    definition, with the pack's navigation (and the sample company's banner for its packs)."""
    import mistune
    from markupsafe import Markup

    from .registry import registry_markdown

    source = DOCS_DIR / "metrics.md"
    text = source.read_text(encoding="utf-8") if source.exists() else "# Metric definitions\n\n" + registry_markdown()
    page = _environment().get_template("glossary.html.j2").render(
        css=page_css(), body=Markup(mistune.html(text)), nav=_nav(list(PAGES) if built is None else built),
        banner=Markup(sample_banner_html(dataset)) if dataset is not None else "")
    path = pack / "glossary.html"
    path.write_text(page, encoding="utf-8")
    return path


def _restatement(r: Restatement | None, currency: str) -> dict | None:
    """The restatement section's rows, formatted (the values that differ told apart)."""
    if r is None:
        return None
    from .format import format_pair

    figures = [{"label": f.label, "pair": format_pair(f.was, f.now, f.unit, currency)} for f in r.figures.itertuples()]
    accounts = []
    for a in r.accounts.head(SHOWN_ACCOUNTS).itertuples():
        was, now = format_pair(a.mrr_after_was, a.mrr_after_now, "money", currency)
        accounts.append({"customer": a.customer_id, "name": a.name, "month": a.month,
                         "was": f"{was} ({a.movement_was})", "now": f"{now} ({a.movement_now})"})
    return {"against": r.against, "changed": r.changed, "note": r.note(), "figures": figures, "accounts": accounts,
            "more": max(len(r.accounts) - SHOWN_ACCOUNTS, 0), "caveat": r.caveat if r.changed else ""}


def _audit(doc: dict | None) -> dict | None:
    """The manifest's tables for the index: rows, first and last dates, staleness, a short hash."""
    if not doc:
        return None
    tables = [{"name": name, "rows": f"{t['rows']:,}", "first": t["first"] or "–", "last": t["last"] or "–",
               "stale": "stale" if t["stale"] else "", "hash": t["sha256"][:12]} for name, t in doc["tables"].items()]
    return {"tables": tables, "stale": doc["stale"], "version": doc["kpilib_version"],
            "commit": doc["kit_commit"][:12] if doc["kit_commit"] else "an installed package"}
