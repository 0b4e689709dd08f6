"""The pack's pages as HTML: the executed notebooks, the index and the glossary, and the links
between every page.

The notebooks' pages are rendered by nbconvert with the ``kpi`` template (``templates/kpi``,
:func:`page_html`); this module also writes the two pages that are not notebooks, from
``templates/kpi/pack_index.html.j2`` and ``templates/kpi/glossary.html.j2``, with autoescaping on
(every text from the data is escaped), and turns the notebooks' links into links between the HTML
pages of one pack.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..i18n import N_, _, current_language, gettext, ngettext
from ..paths import DOCS_DIR, TEMPLATES_DIR
from .sitemap import PAGES

if TYPE_CHECKING:
    import jinja2
    import pandas as pd

    from ..data.dataset import Dataset
    from ..periods import ReportPeriod
    from .restatement import Restatement

SHOWN_ACCOUNTS = 20  # restated customer-months listed on the index; manifest.json holds them all
#: the pack's files the index's sentences link to (placeholders of those sentences)
_FILES = {"kpis_json": "kpis.json", "kpis_csv": "kpis.csv", "movements": "movements.csv",
          "customers": "customers.csv", "workbook": "kpis.xlsx", "manifest": "manifest.json"}


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR / "kpi")), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    # the templates' words go through the catalog: {{ _("Index") }} (Babel's jinja2 extractor finds them)
    env.globals.update(_=gettext, ngettext=ngettext)
    env.filters["text"] = _text
    return env


def _text(value: object):
    """A filter for text between tags: ``&``, ``<`` and ``>`` escaped, quotes left as they are (an
    apostrophe in a sentence stays an apostrophe, as in the English templates' own text)."""
    from markupsafe import Markup

    if hasattr(value, "__html__"):
        return Markup(value.__html__())
    return Markup(html.escape(str(value), quote=False))


def _link(href: str, text: str | None = None):
    from markupsafe import Markup, escape

    return Markup(f'<a href="{escape(href)}">{escape(href if text is None else text)}</a>')


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
    index, glossary = html.escape(_("Index")), html.escape(_("Glossary"))
    return _NAV.sub(lambda m: f'<nav class="kpi-nav"><a href="index.html">{index}</a> · '
                    f'{m[1]} · <a href="glossary.html">{glossary}</a></nav>', page, count=1)


#: nbconvert's alternative text of an image without one (nbconvert.exporters.html), in the pack's language
_NO_ALT = N_("No description has been provided for this image")
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\balt=)")
_FOCUSABLE = re.compile(r'(<div class="[^"]*\b(?:jp-OutputArea-output|jp-Cell-inputWrapper)\b[^"]*")')


@cache
def _page_exporter(language: str):
    """nbconvert's HTML exporter with the ``kpi`` template, made once per process and language.

    Its accessibility pass (an ``alt`` for every image, outputs focusable from the keyboard) is done
    by :func:`_accessible` on the rendered text: nbconvert does it by parsing the whole page with
    BeautifulSoup's pure-Python parser, which took 1.8 s of the 1.9 s a sample pack's seven pages
    took to render."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            info = nb.metadata.get("language_info", {})
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=info.get("pygments_lexer", info.get("name")),
                                                 parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return PageExporter(template_name="kpi", extra_template_basedirs=[str(TEMPLATES_DIR)], exclude_input=True,
                        exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True,
                        language_code=language)


def _accessible(page: str) -> str:
    """What nbconvert's HTML exporter adds after its template: an ``alt`` text on every image that has
    none, and ``tabindex="0"`` on every output and input area, so a keyboard reaches them."""
    alt = html.escape(_(_NO_ALT))
    return _FOCUSABLE.sub(r'\1 tabindex="0"', _IMG_WITHOUT_ALT.sub(f'<img alt="{alt}"', page))


def page_html(nb, title: str, words: dict[str, str]) -> str:
    """An executed notebook as the pack's HTML page: no code, no prompts, no external requests;
    ``words``: those of the page's script, in the current language."""
    body, _resources = _page_exporter(current_language()).from_notebook_node(
        nb, resources={"metadata": {"name": title}, "kpi_words": words})
    return _accessible(body)


def _nav(built: Sequence[str]) -> list[dict[str, str]]:
    """The pack's pages, in reading order, for a navigation bar."""
    return [{"title": _(t), "href": f"{n}.html"} for n, t in PAGES.items() if n in built]


def write_index(pack: Path, period: ReportPeriod, dataset: Dataset, names: Sequence[str], titles: dict[str, str],
                segment: str, siblings: Sequence[str] = (), kpis: pd.DataFrame | None = None,
                audit: dict | None = None, restated: Restatement | None = None,
                translations: Sequence[tuple[str, str]] = ()) -> Path:
    """Write ``index.html``: the headline tiles, the pages, the other packs of the period beside this
    one (``siblings``: other segments, in this pack's language), this pack in other languages
    (``translations``: folder and language code), the data and its audit record, and what an earlier
    pack of the period said differently. Its words are in the current language."""
    from markupsafe import Markup

    from ..data.currency import rate_basis
    from .context import sample_banner_html, source_words

    tiles = ""
    if kpis is not None:
        from .display import tiles_html
        from .overview import kpi_tiles

        tiles = html_links(tiles_html(kpi_tiles(kpis, period, dataset.base_currency)).data, names)
    page = _environment().get_template("pack_index.html.j2").render(
        lang=current_language(), period=period, dataset=dataset, source=source_words(dataset),
        segment="" if segment in ("", "all") else segment,
        pages=[{"href": f"{n}.html", "title": _(titles[n]) if n in titles else n} for n in names],
        siblings=list(siblings),
        translations=[{"name": name, "language": language_name(code)} for name, code in translations],
        tiles=Markup(tiles), banner=Markup(sample_banner_html(dataset)), css=page_css(),
        rate_basis=rate_basis(dataset.fx_rates), restated=_restatement(restated, dataset.base_currency),
        audit=_audit(audit, period), links={name: _link(href) for name, href in _FILES.items()})
    path = pack / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def write_glossary(pack: Path, dataset: Dataset | None = None, built: Sequence[str] | None = None) -> Path:
    """Write ``glossary.html``: docs/metrics.md rendered, so an e-mailed pack carries every
    definition, with the pack's navigation (and the sample company's banner for its packs).

    In a language other than English the page opens with the registry's glossary, translated: each
    KPI's label, definition, unit, scope, meaning per period kind and health target; the full
    definitions (formulas, edge cases, the forecast) follow in English, marked ``lang="en"``, so that a
    page's pointer to a section of the glossary finds it in every language. Their KPI anchors are the
    translated table's."""
    import re

    import mistune
    from markupsafe import Markup

    from .context import sample_banner_html
    from .registry import registry_markdown

    source = DOCS_DIR / "metrics.md"
    text = (source.read_text(encoding="utf-8") if source.exists()
            else "# Metric definitions\n\n" + registry_markdown())
    kpis = None
    if current_language() != "en":
        kpis = glossary_rows()
        text = re.sub(r'<a id="kpi-[^"]+"></a>', "", text)  # one element per anchor: the translated row
    body = Markup(mistune.html(text))
    page = _environment().get_template("glossary.html.j2").render(
        lang=current_language(), css=page_css(), body=body, kpis=kpis,
        nav=_nav(list(PAGES) if built is None else built),
        banner=Markup(sample_banner_html(dataset)) if dataset is not None else "")
    path = pack / "glossary.html"
    path.write_text(page, encoding="utf-8")
    return path


#: the registry's units as the translated glossary names them
UNIT_WORDS = {"money": N_("money"), "count": N_("count"), "pct": N_("percentage"), "ratio": N_("ratio"),
              "months": N_("months"), "points": N_("points")}


def glossary_rows() -> list[dict[str, str]]:
    """The registry's KPIs for the translated glossary, their words in the current language."""
    from .registry import KPIS

    rows = []
    for spec in KPIS.values():
        if spec.scope == "account":
            scope = _("account")
        elif spec.segment_ready:
            scope = _("company-wide (the segment's when leads carry a segment)")
        else:
            scope = _("company-wide")
        rows.append({"anchor": spec.anchor, "key": spec.key, "label": _(spec.label), "definition": _(spec.definition),
                     "unit": _(UNIT_WORDS[spec.unit]) if spec.unit in UNIT_WORDS else spec.unit, "scope": scope,
                     **{kind: _(spec.meaning[kind]) if spec.meaning.get(kind) else "–"
                        for kind in ("month", "quarter", "year")},
                     "target": spec.target_text()})
    return rows


def language_name(code: str) -> str:
    """A language's own name, ``français (fr)``; the pseudo-language and unknown codes as their code."""
    try:
        from babel import Locale

        name = Locale.parse(code).get_display_name(code)
    except Exception:  # babel.UnknownLocaleError, ValueError: "xx" is no locale
        return code
    return f"{name} ({code})" if name else code


def _movement(name: object) -> str:
    """A movement class as the restatement table names it (:data:`~kpilib.report.pages.MOVEMENT_WORDS`)."""
    from .pages import MOVEMENT_WORDS

    return _(MOVEMENT_WORDS[str(name)]) if str(name) in MOVEMENT_WORDS else str(name)


def _restatement(r: Restatement | None, currency: str) -> dict | None:
    """The restatement section's rows, formatted (the values that differ told apart)."""
    if r is None:
        return None
    from .format import format_pair, format_value

    figures = [{"label": _(f.label), "pair": format_pair(f.was, f.now, f.unit, currency)}
               for f in r.figures.itertuples()]
    accounts = []
    for a in r.accounts.head(SHOWN_ACCOUNTS).itertuples():
        was, now = format_pair(a.mrr_after_was, a.mrr_after_now, "money", currency)
        accounts.append({"customer": a.customer_id, "name": a.name, "month": a.month,
                         "was": f"{was} ({_movement(a.movement_was)})", "now": f"{now} ({_movement(a.movement_now)})"})
    more = max(len(r.accounts) - SHOWN_ACCOUNTS, 0)
    return {"against": r.against, "against_link": _link(f"../{r.against}/index.html", r.against),
            "changed": r.changed, "note": r.note(), "figures": figures, "accounts": accounts,
            "more": more, "more_count": format_value(more, "count"), "caveat": r.caveat if r.changed else ""}


def _audit(doc: dict | None, period: ReportPeriod | None = None) -> dict | None:
    """The manifest's tables for the index: rows, first and last dates, staleness, a short hash; the
    stale tables' sentences in the current language (manifest.json keeps them in English)."""
    if not doc:
        return None
    from .format import format_value
    from .manifest import stale_sentence

    tables = [{"name": name, "rows": format_value(t["rows"], "count"), "first": t["first"] or "–",
               "last": t["last"] or "–", "stale": _("stale") if t["stale"] else "",
               # a table left where it is stored (kpilib.engine.engagement) is read there, never hashed here
               "hash": t["sha256"][:12] if t["sha256"] else _("none: read in place")}
              for name, t in doc["tables"].items()]
    stale = doc["stale"]
    if period is not None and current_language() != "en":
        stale = [stale_sentence(name, t["last"], period) for name, t in doc["tables"].items()
                 if t["stale"] and t["last"]]
    return {"tables": tables, "stale": stale, "version": doc["kpilib_version"],
            "commit": doc["kit_commit"][:12] if doc["kit_commit"] else _("an installed package")}
