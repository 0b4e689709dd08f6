"""Number formatting for pages: money, counts, rates; missing shown as 'n/a', never inf/NaN.

Money is formatted by Babel (CLDR data) for its currency and the reader's locale: the symbol,
its position and the separators come from the locale, never from a hard-coded ``$``.
"""

from __future__ import annotations

import math
from functools import lru_cache

from babel import Locale
from babel.numbers import format_compact_currency, format_currency, parse_pattern

DEFAULT_LOCALE = "en_US"


@lru_cache(maxsize=64)
def _whole_money_pattern(locale: str):
    pattern = parse_pattern(Locale.parse(locale).currency_formats["standard"].pattern)
    pattern.frac_prec = (0, 0)
    return pattern


def format_money(x: float, currency: str, locale: str = DEFAULT_LOCALE, *, short: bool = False) -> str:
    """An amount in ``currency`` for ``locale``: ``$1,396,447``, ``1 396 447 €`` (fr_FR),
    ``RM1,396,447`` (MYR in ms_MY); ``short``: compact, ``$1.4M``, ``$36.7K``."""
    if short and abs(x) >= 1e3:  # below a thousand the compact form would not round
        return format_compact_currency(x, currency, locale=locale, fraction_digits=2 if abs(x) >= 1e6 else 1)
    return _whole_money_pattern(locale).apply(x, Locale.parse(locale), currency=currency,
                                              currency_digits=False)


def is_missing(x: object) -> bool:
    """True for None, NaN, pd.NA and +/-inf: values a page must not print as numbers."""
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def format_value(x: object, unit: str, currency: str = "USD", *, missing: str = "n/a") -> str:
    """Format one KPI value by unit: ``money``, ``money_short``, ``count``, ``pct``,
    ``ratio``, ``months``, ``points`` or ``days``."""
    if is_missing(x):
        return missing
    v = float(x)  # type: ignore[arg-type]
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
        a, b = (_FINER[unit](float(v), currency, digits) for v in (was, now))  # type: ignore[arg-type]
        digits += 1
    return a, b


def format_change(value: object, base: object, unit: str, against: str) -> str:
    """``+4.2% vs Nov 2025``; for rates the change is in percentage points."""
    if is_missing(value) or is_missing(base):
        return f"no comparison vs {against}"
    v, b = float(value), float(base)  # type: ignore[arg-type]
    if unit in ("pct",):
        return f"{(v - b) * 100:+.1f} pp vs {against}"
    if unit in ("points", "ratio", "months", "days"):
        return f"{v - b:+.1f} vs {against}"
    if b == 0:
        return f"from 0 vs {against}"
    return f"{(v - b) / abs(b) * 100:+.1f}% vs {against}"
