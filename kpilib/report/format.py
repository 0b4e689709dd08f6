"""Number formatting for pages: money, counts, rates; missing shown as 'n/a', never inf/NaN.

Money is formatted by Babel (CLDR data) for its currency and the reader's locale: the symbol,
its position and the separators come from the locale, never from a hard-coded ``$``.
"""

from __future__ import annotations

import math
from functools import lru_cache

from babel import Locale
from babel.numbers import format_compact_currency, format_currency, parse_pattern

from kpilib.i18n import _, current_locale, percent_text, printed


@lru_cache(maxsize=64)
def _whole_money_pattern(locale: str):
    pattern = parse_pattern(Locale.parse(locale).currency_formats["standard"].pattern)
    pattern.frac_prec = (0, 0)
    return pattern


def format_money(x: float, currency: str, locale: str | None = None, *, short: bool = False) -> str:
    """An amount in ``currency`` for ``locale`` (default: the current language's):
    ``$1,396,447``, ``1 396 447 €`` (fr_FR), ``RM1,396,447`` (MYR in ms_MY); ``short``:
    compact, ``$1.4M``, ``$36.7K``."""
    locale = locale or current_locale()
    if short and abs(x) >= 1e3:  # below a thousand the compact form would not round
        return format_compact_currency(x, currency, locale=locale, fraction_digits=2 if abs(x) >= 1e6 else 1)
    return _whole_money_pattern(locale).apply(x, _locale(locale), currency=currency,
                                              currency_digits=False)


def is_missing(x: object) -> bool:
    """True for None, NaN, pd.NA and +/-inf: values a page must not print as numbers."""
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


#: the decimals a unit's value is shown with, e.g. a rate 0.0215 as 2.1% (one decimal of the percentage)
_SHOWN = {"pct": 1, "ratio": 2, "months": 1, "days": 0, "points": 0}


def format_value(x: object, unit: str, currency: str = "USD", *, missing: str | None = None,
                 decimals: int | None = None) -> str:
    """Format one KPI value by unit: ``money``, ``money_short``, ``money_cents``, ``count``, ``pct``,
    ``ratio``, ``months``, ``points`` or ``days``, in the current language (CLDR separators, signs
    and percent spacing: ``2.7%`` in English, ``2,7 %`` in French), with the unit's usual decimals
    or ``decimals``; a missing value as ``missing`` (default: the current language's "n/a")."""
    if is_missing(x):
        return _("n/a") if missing is None else missing
    return _formatted(float(x), unit, currency, decimals)  # type: ignore[arg-type]


@lru_cache(maxsize=64)
def _number_pattern(decimals: int, grouped: bool, sign: bool):
    pattern = ("#,##0" if grouped else "0") + ("." + "0" * decimals if decimals else "")
    return parse_pattern(f"+{pattern};-{pattern}" if sign else pattern)


def _number(v: float, decimals: int, *, grouped: bool = True, sign: bool = False) -> str:
    """``v`` with ``decimals`` places, the current locale's separators (parsed once per form: every
    table cell of a page comes through here)."""
    return _number_pattern(decimals, grouped, sign).apply(printed(v, decimals), _locale(current_locale()))


@lru_cache(maxsize=16)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def _formatted(v: float, unit: str, currency: str, decimals: int | None = None) -> str:
    """:func:`format_value` of a number, with the unit's usual decimals (:data:`_SHOWN`) or
    ``decimals`` (money then to the cent); every language's digits are English's
    (:func:`~kpilib.i18n.printed`), its separators and words its own."""
    if unit == "money" and decimals is None:
        return format_money(v, currency)
    if unit in ("money", "money_cents"):
        return format_currency(v, currency, locale=current_locale())
    if unit == "money_short":
        return format_money(v, currency, short=True)
    if unit == "count":
        return _number(v, 0)
    d = _SHOWN.get(unit, 2) if decimals is None else decimals
    if unit == "pct":
        return percent_text(v, d)
    if unit == "months":
        return _("{value} months").format(value=_number(v, d))
    if unit == "days":
        return _("{value} days").format(value=_number(v, d))
    if unit == "points":
        return _number(v, d, sign=True)
    return _number(v, d)


def format_pair(was: object, now: object, unit: str, currency: str = "USD") -> tuple[str, str]:
    """Two values of one figure formatted so that a reader sees that they differ: the unit's
    usual format, with more decimals when it would print both alike (``3.24%`` and ``3.23%``,
    not ``3.2%`` twice; money then to the cent). Equal values stay equal."""
    a, b = format_value(was, unit, currency), format_value(now, unit, currency)
    if is_missing(was) or is_missing(now) or float(was) == float(now):  # type: ignore[arg-type]
        return a, b
    finer = _SHOWN.get(unit, 0) + 1
    while a == b and (unit in _SHOWN or unit == "money") and finer <= 6:
        a, b = (_formatted(float(v), unit, currency, finer) for v in (was, now))  # type: ignore[arg-type]
        finer += 1
    return a, b


def signed(v: float, decimals: int = 1) -> str:
    """``+4.2`` / ``-0.3`` with the current locale's decimal mark."""
    return _number(v, decimals, sign=True)


def format_change(value: object, base: object, unit: str, against: str) -> str:
    """``+4.2% vs Nov 2025``; for rates the change is in percentage points, for month and day counts
    in months and days. A change in points, months, days or of a ratio is the difference of the two
    values as they are shown (2.149% against 1.951% shows as 2.1% against 2.0%, and its change as
    "+0.1 pp", not the unrounded "+0.2 pp"), so that a reader who subtracts them finds the same."""
    if is_missing(value) or is_missing(base):
        return _("no comparison vs {against}").format(against=against)
    v, b = float(value), float(base)  # type: ignore[arg-type]
    if unit in _SHOWN:
        decimals, pct = _SHOWN[unit], unit == "pct"
        # the two values as printed (i18n.printed, as every language prints them), in the unit shown
        change = signed(float((printed(v, decimals, percent=pct) - printed(b, decimals, percent=pct))
                              .scaleb(2 if pct else 0)), decimals)
        if unit == "pct":
            return _("{change} pp vs {against}").format(change=change, against=against)
        if unit == "months":  # a payback's change is in months, said so
            return _("{change} months vs {against}").format(change=change, against=against)
        if unit == "days":
            return _("{change} days vs {against}").format(change=change, against=against)
        return _("{change} vs {against}").format(change=change, against=against)
    if b == 0:
        return _("from 0 vs {against}").format(against=against)
    change = percent_text((v - b) / abs(b), 1)  # relative, the locale's percent (2,7 % in French)
    return _("{change} vs {against}").format(change=change if change.startswith("-") else "+" + change,
                                             against=against)
