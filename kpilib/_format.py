"""Number formatting for pages: money, counts, rates; missing shown as 'n/a', never inf/NaN."""

from __future__ import annotations

import math

from ._plotting import currency_symbol, short_money


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
        sign = "-" if v < 0 else ""
        return f"{sign}{currency_symbol(currency)}{abs(v):,.0f}"
    if unit == "money_short":
        return short_money(v, currency)
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
