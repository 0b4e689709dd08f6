"""The reader's language: message catalogs (gettext .po files read by Babel) and locale formats.

Every word a pack shows goes through :func:`gettext` (imported as ``_``); strings defined at
import time, such as the registry's labels, are marked with :func:`N_` and translated where
they are shown. English is the source language: its messages are the msgids, so English needs
no catalog. Every other language is one file, ``kpilib/locale/<lang>.po``; adding a language is
adding that file (and, when its locale is not the language's usual one, a line in
``LOCALES``).

The language is process-wide, not per call: a notebook kernel or a runner worker renders one
pack in one language. ``KpiModel.load(..., lang=...)`` and the runner set it; :func:`using`
sets it for a block. (Not a ``ContextVar``: IPython runs each cell in a copy of the context,
so a language set in one cell would be lost in the next.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from pathlib import Path

from kpilib.errors import LanguageError

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"
#: A pseudo-language for finding unmarked words: every message is shown as ``⟪message⟫``,
#: so visible English outside the brackets was never passed through the catalog.
PSEUDO = "xx"
#: Babel locale used for numbers, currencies and dates when a language's own code is not enough.
LOCALES = {"en": "en_US", "fr": "fr_FR", "it": "it_IT", "ms": "ms_MY", PSEUDO: "en_US"}
_PLACEHOLDER = re.compile(r"\{([^{}:!]*)[^{}]*\}")

_current = SOURCE_LANGUAGE


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark ``message`` for translation without translating it (for import-time strings)."""
    return message


def languages() -> list[str]:
    """The languages a pack can be written in: English and every catalog in kpilib/locale/."""
    return [SOURCE_LANGUAGE] + sorted(p.stem for p in LOCALE_DIR.glob("*.po"))


def check_language(lang: str) -> str:
    """``lang`` if a pack can be written in it, else an error naming the choices."""
    if lang not in languages() and lang != PSEUDO:
        raise LanguageError(f"no catalog for language {lang!r}: kpilib/locale/ has "
                                   f"{', '.join(languages())}; add kpilib/locale/{lang}.po to add one")
    return lang


@cache
def catalog(lang: str):
    """The Babel catalog of ``lang`` (``None`` for English, the source language)."""
    if lang in (SOURCE_LANGUAGE, PSEUDO):
        return None
    from babel.messages.pofile import read_po

    check_language(lang)
    with open(LOCALE_DIR / f"{lang}.po", "rb") as f:
        return read_po(f, locale=LOCALES.get(lang, lang))


@cache
def _messages(lang: str) -> dict[str, str | tuple[str, ...]]:
    cat = catalog(lang)
    out: dict[str, str | tuple[str, ...]] = {}
    if cat is None:
        return out
    for msg in cat:
        if not msg.id or msg.fuzzy:
            continue
        key = msg.id[0] if isinstance(msg.id, tuple) else msg.id
        if isinstance(msg.string, tuple):
            if all(msg.string):
                out[key] = tuple(msg.string)
        elif msg.string:
            out[key] = msg.string
    return out


def current_language() -> str:
    return _current


def current_locale() -> str:
    """The Babel locale of the current language, e.g. ``fr_FR``."""
    return LOCALES.get(_current, _current)


def set_language(lang: str) -> None:
    """Write every later message and number in ``lang`` (``en``, ``fr``, ``it``, ``ms``, ...)."""
    global _current
    _current = check_language(lang)


@contextmanager
def using(lang: str) -> Iterator[None]:
    """Write in ``lang`` inside the block, then restore the language before it."""
    before = _current
    set_language(lang)
    try:
        yield
    finally:
        set_language(before)


def gettext(message: str) -> str:
    """``message`` in the current language (the English source when a catalog lacks it:
    ``tests/test_i18n.py`` fails on any catalog that lacks a message)."""
    if _current == SOURCE_LANGUAGE or not message:
        return message
    if _current == PSEUDO:
        return f"\u27ea{message}\u27eb"
    found = _messages(_current).get(message)
    return found if isinstance(found, str) else message


def ngettext(singular: str, plural: str, n: float) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the current language."""
    if _current in (SOURCE_LANGUAGE, PSEUDO):
        return gettext(singular if n == 1 else plural)
    found = _messages(_current).get(singular)
    if not isinstance(found, tuple):
        return singular if n == 1 else plural
    index = _plural(_current)(int(abs(n)))
    return found[min(index, len(found) - 1)]


@cache
def _plural(lang: str):
    """The catalog's Plural-Forms rule as a function of n (the form's index)."""
    from gettext import c2py

    return c2py(catalog(lang).plural_expr)


_ = gettext


def placeholders(message: str) -> set[str]:
    """The ``str.format`` fields of a message: a translation must keep exactly these."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(message.replace("{{", "").replace("}}", ""))}


def printed(value: float, decimals: int, *, percent: bool = False) -> Decimal:
    """``value`` rounded as the English text prints it (Python's ``format``: from the float's exact
    value, ties to even), as a Decimal for Babel to write in another language. So every language
    shows the same digits: Babel rounds the float's shortest form instead, and 0.0215 printed as
    2.1 % in English but 2,2 % in French. ``percent``: the fraction of a percentage rounded to
    ``decimals`` places of the percentage (0.0215, 1 -> 0.021)."""
    if percent:
        return Decimal(format(value, f".{decimals}%")[:-1]).scaleb(-2)
    return Decimal(format(value, f".{decimals}f"))


def month_name(month, *, short: bool = False) -> str:
    """``December 2025`` / ``Dec 2025`` in English; ``décembre 2025``, ``dic 2025``... elsewhere."""
    import pandas as pd

    ts = pd.Period(month, "M").to_timestamp() if not isinstance(month, pd.Timestamp) else month
    if _current in (SOURCE_LANGUAGE, PSEUDO):
        return ts.strftime("%b %Y" if short else "%B %Y")
    from babel.dates import format_date

    return format_date(ts.date(), "LLL y" if short else "LLLL y", locale=current_locale())


@cache
def _percent_pattern(locale: str, decimals: int):
    from babel import Locale
    from babel.numbers import parse_pattern

    pattern = parse_pattern(Locale.parse(locale).percent_formats[None].pattern)
    pattern.frac_prec = (decimals, decimals)
    return pattern, Locale.parse(locale)


def percent_text(value: float, decimals: int = 0) -> str:
    """A fraction as a percentage in the current language, with English's digits (:func:`printed`):
    ``2.1%`` in English and Malay, ``2,1 %`` in French, ``2,1%`` in Italian (CLDR's percent formats).
    The one percent formatter of the kit: tiles, tables, titles, rules and the sBG notes."""
    pattern, locale = _percent_pattern(current_locale(), decimals)
    return pattern.apply(printed(value, decimals, percent=True), locale)
