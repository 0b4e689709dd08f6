"""A pack in French, Italian and Malay has no English left in what its reader sees.

Each language's pack is built end to end (``build_report(..., lang=...)``, as ``kpi report --lang``
does). Its visible text (every page, the index and the glossary: the text, tooltips and alt texts,
without scripts and styles) is split into words, and a word is English when the kit's English
messages (or the commonest English function words) use it and neither the language's own catalog
nor the data uses it: so the kept acronyms (MRR, NPS...), words both languages share and data
values (customer names, plans, survey comments) pass, and any sentence left untranslated fails,
quoted with its page. The charts are PNG images, so their words are read from the figures.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import pytest
from babel.messages.pofile import read_po

from kpilib.i18n import LOCALE_DIR, languages, using
from kpilib.report.runner import build_report

matplotlib.use("Agg")

TRANSLATED = [lang for lang in languages() if lang != "en"]
FUNCTION_WORDS = set("the and of to in for with from by at on is are was were be not no per each this that "
                     "these those its their it as or but than then there which who what when where how why "
                     "all any more most less only also into over under after before between during above "
                     "below new month months year quarter customers customer".split())
WORD = re.compile(r"[^\W\d_]{3,}|\b(?:of|to|in|by|at|on|is|or|no|as|be)\b", re.UNICODE)


ALPHANUMERIC = re.compile(r"\b\w*\d\w*\b")  # a token with a digit is no word: 64added03a82, a commit


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(ALPHANUMERIC.sub(" ", text))}


def _catalog_words(lang: str) -> tuple[set[str], set[str]]:
    """(words of the English msgids, words of the language's msgstrs)."""
    with open(LOCALE_DIR / f"{lang}.po", "rb") as f:
        catalog = read_po(f, locale=lang)
    english: set[str] = set()
    own: set[str] = set()
    for msg in catalog:
        if not msg.id:
            continue
        for s in msg.id if isinstance(msg.id, tuple) else (msg.id,):
            english |= _words(re.sub(r"\{[^{}]*\}", " ", s))
        for s in msg.string if isinstance(msg.string, tuple) else (msg.string,):
            own |= _words(s)
    return english, own


def _data_words() -> set[str]:
    """Every word of the sample company's text values (names, plans, channels, comments, the
    annotations of its goals file...)."""
    from kpilib.data.load import load_dataset

    words: set[str] = set()
    dataset = load_dataset(None)
    for name in dataset.tables:
        frame = dataset.get(name)
        if frame is None:
            continue
        for column in frame.columns:
            if frame[column].dtype == object or str(frame[column].dtype) in ("string", "str", "category"):
                for value in frame[column].dropna().astype(str).unique():
                    words |= _words(value)
    if dataset.goals is not None:  # the goals file's annotations are the company's words too
        for label in dataset.goals.annotations["label"]:
            words |= _words(str(label))
    return words


class _Visible(HTMLParser):
    """The text a reader sees: data, plus title/alt/placeholder attributes; no script or style, and
    no ``<code>``: identifiers (KPI keys, table names, hashes) are the same in every language. A
    ``<section lang="en">`` is English on purpose and said so (the glossary's full definitions, which
    exist in English only), so it is left out too."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._english = 0  # depth of <section> inside a section marked lang="en"

    def handle_starttag(self, tag, attrs):
        if tag == "section" and (self._english or dict(attrs).get("lang") == "en"):
            self._english += 1
        if tag in ("script", "style", "code"):
            self._skip += 1
        if not self._english:
            self.parts += [v for k, v in attrs if k in ("title", "alt", "placeholder", "aria-label") and v]

    def handle_endtag(self, tag):
        if tag == "section" and self._english:
            self._english -= 1
        if tag in ("script", "style", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and not self._english:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "\n".join(p.strip() for p in parser.parts if p.strip())


def english_left(text: str, english_only: set[str]) -> list[str]:
    """The lines of ``text`` holding an English-only word, with the words."""
    found = []
    for line in text.splitlines():
        hits = sorted(_words(line) & english_only)
        if hits:
            found.append(f"{hits}: {line[:160]}")
    return found


@pytest.fixture(scope="module")
def data_words() -> set[str]:
    return _data_words()


def _month_words(lang: str) -> set[str]:
    """The language's month names, whole and abbreviated (Italian "ago" is August, not "ago")."""
    from babel import Locale

    locale = Locale.parse(lang)
    return {w for width in ("wide", "abbreviated") for ctx in ("format", "stand-alone")
            for name in locale.months[ctx][width].values() for w in _words(name)}


def _english_only(lang: str, data_words: set[str]) -> set[str]:
    english, own = _catalog_words(lang)
    own |= _month_words(lang)
    return (english | FUNCTION_WORDS) - own - data_words


def test_the_detector_finds_an_english_sentence_and_passes_a_translated_one(data_words):
    only = _english_only("fr", data_words)
    assert english_left("Revenu mensuel récurrent (MRR) : 1 396 447 €", only) == []
    assert english_left("The MRR bridge of the period", only)
    said = visible_text('<p>Le pont du MRR</p><section lang="en"><h1>The MRR bridge</h1><section><p>of the '
                        'period</p></section><p>as shown</p></section><p>fin</p>')
    assert said == "Le pont du MRR\nfin"  # English on purpose, marked so, is not a leak
    assert "added" in only and english_left("commit du kit 64added03a82", only) == []  # a hash holds no word


@pytest.fixture(scope="module", params=TRANSLATED)
def pack(request, tmp_path_factory) -> tuple[str, Path]:
    lang = request.param
    folder = build_report("2025-12", out=tmp_path_factory.mktemp(f"pack-{lang}"), lang=lang, progress=False)
    return lang, folder


@pytest.mark.slow
def test_a_translated_pack_has_no_english_left(pack, data_words):
    lang, folder = pack
    assert folder.name == f"2025-12-{lang}"
    only = _english_only(lang, data_words)
    pages = sorted(folder.glob("*.html"))
    assert {p.stem for p in pages} >= {"index", "glossary", "00_overview", "01_revenue", "06_forecast"}
    leaks = {p.name: english_left(visible_text(p.read_text(encoding="utf-8")), only) for p in pages}
    leaks = {k: v for k, v in leaks.items() if v}
    assert not leaks, f"English in the {lang} pack:\n" + "\n".join(
        f"{page}: {line}" for page, lines in leaks.items() for line in lines[:15])
    assert f'lang="{lang}"' in (folder / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_charts_have_no_english_left(lang, data_words):
    from matplotlib.figure import Figure

    from kpilib.report.charts import CHARTS
    from kpilib.report.model import KpiModel

    only = _english_only(lang, data_words)
    leaks = []
    with using(lang):
        m = KpiModel.load("sample", "2025-12", lang=lang)
        for name, (draw, size) in CHARTS.items():
            fig = Figure(figsize=size)
            note = draw(fig, m)
            texts = [note or ""] + [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
            fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
            texts += [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
            leaks += [f"{name}: {line}" for line in english_left("\n".join(texts), only)]
    assert not leaks, f"English in the {lang} charts:\n" + "\n".join(leaks[:30])
