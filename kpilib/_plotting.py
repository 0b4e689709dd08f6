"""One house style for every chart, and axis formatters for money and rates."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.ticker import FuncFormatter

PALETTE = ["#2E5EAA", "#5AA469", "#F2A541", "#D1495B", "#7E6B8F", "#3C9D9B", "#8C8C8C", "#B5651D"]
MOVEMENT_COLORS = {
    "new": "#2E5EAA", "expansion": "#5AA469", "reactivation": "#3C9D9B",
    "contraction": "#F2A541", "churn": "#D1495B",
}
FIGSIZE = (9.0, 4.0)
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def use_house_style() -> None:
    """Apply the kit's chart style and make inline figures PNG (deterministic, small)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, font_scale=0.95)
    mpl.rcParams.update({
        "figure.figsize": FIGSIZE, "figure.dpi": 100, "savefig.dpi": 100,
        "axes.titleweight": "bold", "axes.titlesize": 12, "axes.titlelocation": "left",
        "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
        "svg.hashsalt": "kpilib",
    })
    try:  # only inside IPython
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # pragma: no cover - outside a kernel
        pass


def currency_symbol(currency: str) -> str:
    return _SYMBOLS.get(currency.upper(), currency.upper() + " ")


def short_money(x: float, currency: str = "USD") -> str:
    """``$1.2M``, ``$350k``, ``$900`` — for axes and tiles."""
    sym = currency_symbol(currency)
    sign = "-" if x < 0 else ""
    x = abs(x)
    if x >= 1e6:
        return f"{sign}{sym}{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{sign}{sym}{x / 1e3:.0f}k"
    if x >= 1e3:
        return f"{sign}{sym}{x / 1e3:.1f}k"
    return f"{sign}{sym}{x:,.0f}"


def money_axis(ax: plt.Axes, currency: str = "USD", axis: str = "y") -> plt.Axes:
    """Format an axis as money in ``currency``."""
    fmt = FuncFormatter(lambda v, _pos: short_money(v, currency))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    return ax


def pct_axis(ax: plt.Axes, axis: str = "y", decimals: int = 0) -> plt.Axes:
    """Format an axis holding fractions (0.05) as percentages (5%)."""
    fmt = FuncFormatter(lambda v, _pos: f"{v * 100:.{decimals}f}%")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    return ax
