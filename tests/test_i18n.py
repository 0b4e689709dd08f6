"""The reader's language: every catalog complete, locale formats, and no unmarked words.

The catalog test extracts the messages from the source the way ``make messages`` does (Babel,
keywords ``_``, ``N_`` and ``ngettext``, Python and Jinja files), so a message added to the code
without a translation fails here, in every language, with the message named.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st

import kpilib
from kpilib.i18n import (
    LOCALE_DIR,
    PSEUDO,
    current_locale,
    gettext,
    languages,
    month_name,
    ngettext,
    placeholders,
    using,
)
from kpilib.report.format import format_change, format_value

PACKAGE = Path(kpilib.__file__).parent
TRANSLATED = [lang for lang in languages() if lang != "en"]
METHODS = [("**.py", "python"), ("**/templates/**.j2", "jinja2")]


def _source_messages() -> dict[str, tuple[str, ...]]:
    """msgid -> its forms (one, or singular and plural), as found in kpilib's source."""
    found: dict[str, tuple[str, ...]] = {}
    keywords = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(PACKAGE), METHODS, keywords=keywords, options_map={"**/templates/**.j2": {}}):
        forms = message if isinstance(message, tuple) else (message,)
        found[forms[0]] = tuple(forms)
    return found


@pytest.fixture(scope="module")
def source() -> dict[str, tuple[str, ...]]:
    return _source_messages()


def test_the_languages_are_the_catalogs():
    assert languages()[0] == "en" and {"fr", "it", "ms"} <= set(languages())  # a new .po adds one
    assert all((LOCALE_DIR / f"{lang}.po").exists() for lang in TRANSLATED)


def test_the_source_has_its_messages(source):
    # the extraction itself works: well-known messages of the pages, the sections and the templates
    assert "Year {year}" in source and "MRR bridge" in source
    assert len(source) > 300


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(lang, source):
    with open(LOCALE_DIR / f"{lang}.po", "rb") as f:
        catalog = read_po(f, locale=lang)
    problems = []
    for msgid, forms in sorted(source.items()):
        msg = catalog.get(forms[0] if len(forms) == 1 else forms)
        if msg is None:
            msg = catalog.get(forms[0])
        if msg is None:
            problems.append(f"missing: {msgid!r}")
            continue
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        if msg.fuzzy or not all(strings):
            problems.append(f"untranslated{' (fuzzy)' if msg.fuzzy else ''}: {msgid!r}")
            continue
        wanted = set().union(*(placeholders(f) for f in forms))
        for s in strings:
            if placeholders(s) != wanted:
                problems.append(f"placeholders {sorted(placeholders(s))} instead of {sorted(wanted)}: "
                                f"{msgid!r} -> {s!r}")
        if len(forms) == 2 and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms instead of {catalog.num_plurals}: {msgid!r}")
    assert not problems, f"kpilib/locale/{lang}.po ({len(problems)} problems; `make messages` adds " \
                         f"new messages):\n" + "\n".join(problems[:40])


def test_the_check_catches_a_lost_placeholder():
    assert placeholders("NRR {nrr} at {month:%b}") == {"nrr", "month"}
    assert placeholders("{{literal}} braces") == set()
    assert placeholders("NRR {nrr} au {mois}") != placeholders("NRR {nrr} at {month}")


def test_english_is_the_source():
    with using("en"):
        assert gettext("MRR bridge") == "MRR bridge"
        assert ngettext("{n} customer", "{n} customers", 2) == "{n} customers"
        assert format_value(1396447.0, "money", "USD") == "$1,396,447"
        assert format_value(0.027, "pct") == "2.7%"
        assert format_change(0.03, 0.02, "pct", "Nov 2025") == "+1.0 pp vs Nov 2025"
        assert format_change(20.1, 15.6, "months", "Nov 2025") == "+4.5 months vs Nov 2025"
        assert format_change(40.0, 42.0, "days", "Nov 2025") == "-2 days vs Nov 2025"
        assert format_change(2.4, 2.0, "ratio", "Nov 2025") == "+0.40 vs Nov 2025"
        assert month_name("2025-12") == "December 2025"


def test_a_change_is_the_difference_of_the_values_as_shown():
    """2.1% against 2.0% reads "+0.1 pp" although the unrounded rates differ by 0.198 points: a reader
    who subtracts the two figures on the tile finds the change the tile states."""
    with using("en"):
        now, before = format_value(0.02149, "pct"), format_value(0.01951, "pct")
        assert (now, before) == ("2.1%", "2.0%")
        assert format_change(0.02149, 0.01951, "pct", "Nov 2025") == "+0.1 pp vs Nov 2025"
        assert format_change(3.456, 3.244, "ratio", "Nov 2025") == "+0.22 vs Nov 2025"  # 3.46 - 3.24, not 0.212
        assert format_change(12.04, 11.96, "months", "Nov 2025") == "+0.0 months vs Nov 2025"  # 12.0 both
        assert format_change(0.0215, 0.0215, "pct", "Nov 2025") == "+0.0 pp vs Nov 2025"
    with using("fr"):
        assert format_change(0.02149, 0.01951, "pct", "nov. 2025") == "+0,1 pt vs nov. 2025"


def _spaces(s: str) -> str:
    return re.sub(r"[\u00a0\u202f]", " ", s)


@pytest.mark.parametrize(("lang", "currency", "money", "pct", "month"), [
    ("fr", "EUR", "1 396 447 €", "2,7 %", "décembre 2025"),
    ("it", "EUR", "1.396.447 €", "2,7%", "dicembre 2025"),
    ("ms", "MYR", "RM1,396,447", "2.7%", "Disember 2025"),
])
def test_numbers_and_months_follow_the_locale(lang, currency, money, pct, month):
    with using(lang):
        assert _spaces(format_value(1396447.0, "money", currency)) == money
        assert _spaces(format_value(0.027, "pct")) == pct
        assert month_name("2025-12") == month
        assert format_value(None, "money", currency) == gettext("n/a")


@pytest.mark.parametrize(("unit", "value", "en", "fr"), [
    ("pct", 12.5, "1,250.0%", "1 250,0 %"),  # a growth of 1,250 % is grouped like any number
    ("ratio", 1234.567, "1,234.57", "1 234,57"),
    ("months", 0.95, "0.9 months", "0,9 mois"),  # 0.95 is 0.9499... in binary: the same digits in both
    ("days", 1234.5, "1,234 days", "1 234 jours"),  # ties to even, as Python prints it
    ("points", -7.0, "-7", "-7"),
    ("count", 2047.0, "2,047", "2 047"),
])
def test_every_unit_is_written_by_one_formatter_in_every_language(unit, value, en, fr):
    """English goes through the same CLDR patterns as every other language: only the separators and
    the words differ, never the digits or the grouping."""
    assert format_value(value, unit) == en
    with using("fr"):
        assert _spaces(format_value(value, unit)) == fr


def test_two_values_that_print_alike_get_the_decimals_that_tell_them_apart():
    from kpilib.report.format import format_pair

    assert format_pair(0.032405, 0.032394, "pct") == ("3.241%", "3.239%")
    assert format_pair(1.234, 1.236, "ratio") == ("1.23", "1.24")  # they differ as usually shown
    assert format_pair(1.2341, 1.2344, "ratio") == ("1.2341", "1.2344")
    assert format_pair(4.0, 4.2, "days") == ("4.0 days", "4.2 days")
    with using("fr"):
        assert tuple(_spaces(x) for x in format_pair(0.032405, 0.032394, "pct")) == ("3,241 %", "3,239 %")
    assert format_pair(float("nan"), 0.5, "pct") == (gettext("n/a"), "50.0%")


def test_a_missing_message_falls_back_to_english_and_the_pseudo_language_marks_words():
    with using("fr"):
        assert gettext("a message no catalog has") == "a message no catalog has"
    with using(PSEUDO):
        assert gettext("MRR bridge") == "\u27eaMRR bridge\u27eb"


def test_an_unknown_language_is_refused_with_the_choices():
    from kpilib.errors import LanguageError
    from kpilib.i18n import set_language

    with pytest.raises(LanguageError, match="fr, it, ms"):
        set_language("de")


def test_the_sections_have_no_unmarked_words():
    from kpilib.report.sections import SECTIONS, section_html

    with using(PSEUDO):
        for page, keys in SECTIONS.items():
            for key in keys:
                outside = re.sub(r"<[^>]+>", "", section_html(page, key))
                marked = re.compile(r"\u27ea[^\u27ea\u27eb]*\u27eb")  # innermost first: a field may hold words
                while marked.search(outside):
                    outside = marked.sub("", outside)
                outside = outside.strip()
                assert outside == "", f"{page}:{key}: {outside!r}"


def test_plurals_follow_each_language_rule():
    """French counts 0 and 1 as singular, Italian only 1; Malay has one form."""
    from kpilib.i18n import catalog

    plural = next(m.id for m in catalog("fr") if isinstance(m.id, tuple))
    with using("fr"):
        forms = {n: ngettext(*plural, n) for n in (0, 1, 2)}
        assert forms[0] == forms[1] != forms[2]
    with using("it"):
        forms = {n: ngettext(*plural, n) for n in (0, 1, 2)}
        assert forms[0] == forms[2] != forms[1]
    with using("ms"):
        assert len({ngettext(*plural, n) for n in (0, 1, 2)}) == 1


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_engagement_text_states_every_weight_the_score_uses(lang):
    """The sentence is written from ENGAGEMENT_WEIGHTS, so a new event or weight cannot be left out."""
    from babel.numbers import format_decimal

    from kpilib.metrics.voice import ENGAGEMENT_WEIGHTS
    from kpilib.report.sections import EVENT_NAMES, section_html

    with using(lang):
        text = section_html("05_nps", "engagement")
        for event, weight in ENGAGEMENT_WEIGHTS.items():
            assert f"{gettext(EVENT_NAMES[event])} {format_decimal(weight, locale=current_locale())}" in text, event
    assert set(EVENT_NAMES) == set(ENGAGEMENT_WEIGHTS)


@settings(max_examples=300)
@given(st.one_of(st.sampled_from([0.0215, 0.0225, 0.0105, -0.0105, 0.125, 0.0005, 0.995]),
                 st.integers(-10_000, 10_000).map(lambda n: n / 10_000),
                 st.floats(-1, 1, allow_nan=False)))
def test_every_language_prints_the_same_digits_as_english(v):
    """A language changes the marks, never the figure: 0.0215 is 2.1 % in every language (Babel, left
    to round the float's shortest form, wrote 2,2 % in French where English wrote 2.1%)."""
    from kpilib.report.display import number, percent
    from kpilib.report.format import signed

    def digits(text: str) -> str:  # values under 1,000: no grouping mark, only the decimal comma
        return re.sub(r"[\s\u00a0\u202f%]", "", text).replace(",", ".").replace("\u2212", "-")

    def shown() -> list[str]:
        return [format_value(v, "pct"), percent(v), percent(v, 1), number(v * 100, 1), signed(v * 100),
                format_value(v * 100, "ratio")]

    with using("en"):
        english = [digits(t) for t in shown()]
    for lang in ("fr", "it", "ms"):
        with using(lang):
            assert [digits(t) for t in shown()] == english, lang


def test_a_translated_glossary_carries_the_full_definitions_in_english_with_one_element_per_anchor(tmp_path):
    """A page's pointer (the forecast page: "the glossary's Forecast section") finds its section in every
    language: the translated KPI table first, then docs/metrics.md, marked as English."""
    from kpilib.report.registry import KPIS
    from kpilib.report.render import write_glossary

    with using("fr"):
        page = write_glossary(tmp_path).read_text(encoding="utf-8")
    table, english = page.split('<section lang="en">')
    assert "Définitions complètes, en anglais" in table and '<a id="forecast"></a>Forecast' in english
    ids = re.findall(r'id="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert all(f'id="{spec.anchor}"' in table for spec in KPIS.values())  # each KPI's link lands on its row
