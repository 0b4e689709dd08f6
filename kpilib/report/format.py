"""Number formatting for pages: money, counts, rates; missing shown as 'n/a', never inf/NaN.

Money is formatted by Babel (CLDR data) for its currency and the reader's locale: the symbol,
its position and the separators come from the locale, never from a hard-coded ``$``.
"""

from __future__ import annotations

import math
from functools import lru_cache

from babel import Locale
from babel.numbers import format_compact_currency, format_currency, format_decimal, parse_pattern

from kpilib.i18n import _, current_language, current_locale, printed

DEFAULT_LOCALE = "en_US"


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
    return _whole_money_pattern(locale).apply(x, Locale.parse(locale), currency=currency,
                                              currency_digits=False)


@lru_cache(maxsize=64)
def _percent_pattern(locale: str, decimals: int):
    """The locale's percent format (``2,7 %`` in French, ``2.7%`` in Malay) with ``decimals``."""
    pattern = parse_pattern(Locale.parse(locale).percent_formats[None].pattern)
    pattern.frac_prec = (decimals, decimals)
    return pattern


def is_missing(x: object) -> bool:
    """True for None, NaN, pd.NA and +/-inf: values a page must not print as numbers."""
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def format_value(x: object, unit: str, currency: str = "USD", *, missing: str | None = None) -> str:
    """Format one KPI value by unit: ``money``, ``money_short``, ``count``, ``pct``,
    ``ratio``, ``months``, ``points`` or ``days``; a missing value as ``missing`` (default: the
    current language's "n/a")."""
    if is_missing(x):
        return _("n/a") if missing is None else missing
    v = float(x)  # type: ignore[arg-type]
    if current_language() != "en":
        return _localized(v, unit, currency)
    if unit == "money":
        return format_money(v, currency)
    if unit == "money_cents":  # to the cent, e.g. the bridge's unexplained amount
        return format_currency(v, currency, locale=DEFAULT_LOCALE)
    if unit == "money_short":
        return format_money(v, currency, short=True)
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "pct":
        return f"{v * 100:.1f}%"
    if unit == "ratio":
        return f"{v:.2f}"
    if unit == "months":
        return f"{v:.1f} months"
    if unit == "days":
        return f"{v:.0f} days"
    if unit == "points":
        return f"{v:+.0f}"
    return f"{v:,.2f}"


def _number(v: float, decimals: int, *, grouped: bool = True, sign: bool = False) -> str:
    pattern = ("#,##0" if grouped else "0") + ("." + "0" * decimals if decimals else "")
    if sign:
        pattern = f"+{pattern};-{pattern}"
    return format_decimal(printed(v, decimals), pattern, locale=current_locale())


def _localized(v: float, unit: str, currency: str, decimals: int | None = None) -> str:
    """``format_value`` for a language other than English: CLDR separators, signs and
    percent spacing (``2,7 %`` in French), words from the catalog."""
    d = decimals
    if unit == "money" and d is None:
        return format_money(v, currency)
    if unit in ("money", "money_cents"):
        return format_currency(v, currency, locale=current_locale())
    if unit == "money_short":
        return format_money(v, currency, short=True)
    if unit == "count":
        return _number(v, 0)
    if unit == "pct":
        places = 1 if d is None else d
        return _percent_pattern(current_locale(), places).apply(printed(v, places, percent=True),
                                                                 Locale.parse(current_locale()))
    if unit == "ratio":
        return _number(v, 2 if d is None else d + 1)
    if unit == "months":
        return _("{value} months").format(value=_number(v, 1 if d is None else d))
    if unit == "days":
        return _("{value} days").format(value=_number(v, 0 if d is None else d))
    if unit == "points":
        return _number(v, 0 if d is None else d, sign=True)
    return _number(v, 2)


_FINER = {  # a unit's format with ``d`` decimals, for two values its usual format prints alike
    "money": lambda v, c, d: format_value(v, "money_cents", c),
    "pct": lambda v, c, d: f"{v * 100:.{d}f}%",
    "ratio": lambda v, c, d: f"{v:.{d + 1}f}",
    "months": lambda v, c, d: f"{v:.{d}f} months",
    "days": lambda v, c, d: f"{v:.{d}f} days",
    "points": lambda v, c, d: f"{v:+.{d}f}",
}


def format_pair(was: object, now: object, unit: str, currency: str = "USD") -> tuple[str, str]:
    """Two values of one figure formatted so that a reader sees that they differ: the unit's
    usual format, with more decimals when it would print both alike (``3.24%`` and ``3.23%``,
    not ``3.2%`` twice). Equal values stay equal."""
    a, b = format_value(was, unit, currency), format_value(now, unit, currency)
    digits = 2
    while a == b and unit in _FINER and digits <= 6 and not is_missing(was) and not is_missing(now) \
            and float(was) != float(now):  # type: ignore[arg-type]
        if current_language() != "en":
            a, b = (_localized(float(v), unit, currency, digits) for v in (was, now))  # type: ignore[arg-type]
        else:
            a, b = (_FINER[unit](float(v), currency, digits) for v in (was, now))  # type: ignore[arg-type]
        digits += 1
    return a, b


def signed(v: float, decimals: int = 1) -> str:
    """``+4.2`` / ``-0.3`` with the current locale's decimal mark."""
    if current_language() == "en":
        return f"{v:+.{decimals}f}"
    return _number(v, decimals, sign=True)


#: the decimals a tile shows a unit's value with, e.g. a rate 0.0215 as 2.1% (one decimal of the percentage)
_SHOWN = {"pct": 1, "months": 1, "days": 0, "points": 0, "ratio": 2}


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
    return _("{change}% vs {against}").format(change=signed((v - b) / abs(b) * 100), against=against)
