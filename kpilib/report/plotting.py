"""One house style for every chart, and axis formatters for money and rates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..i18n import N_, _, percent_text
from .format import format_money

if TYPE_CHECKING:
    import pandas as pd

PALETTE = ["#2E5EAA", "#5AA469", "#F2A541", "#D1495B", "#7E6B8F", "#3C9D9B", "#8C8C8C", "#B5651D"]
MOVEMENT_COLORS = {
    "new": "#2E5EAA", "expansion": "#5AA469", "reactivation": "#3C9D9B",
    "contraction": "#F2A541", "churn": "#D1495B", "fx_impact": "#9A6FB0",
}
#: the movements as a chart's legend names them
MOVEMENT_NAMES = {"new": N_("New"), "expansion": N_("Expansion"), "reactivation": N_("Reactivation"),
                  "contraction": N_("Contraction"), "churn": N_("Churn"), "fx_impact": N_("FX impact")}
FIGSIZE = (9.0, 4.0)
_INK = "0.15"  # text and ticks: near-black
_RULE = "0.8"  # frame and grid lines: light grey

#: The kit's chart style, as matplotlib settings: light horizontal and vertical grid lines behind the
#: data, a light frame open at the top and right, no tick marks, dark grey text, titles bold and on the
#: left, the kit's palette, PNG at 100 dpi. Plain matplotlib settings, so a kernel imports no styling
#: library for them.
HOUSE_STYLE = mpl.RcParams({
    "figure.figsize": FIGSIZE, "figure.dpi": 100, "savefig.dpi": 100, "figure.facecolor": "white",
    "axes.facecolor": "white", "axes.edgecolor": _RULE, "axes.linewidth": 1.25, "axes.grid": True,
    "axes.axisbelow": True, "axes.labelcolor": _INK, "axes.labelsize": 11.4, "axes.prop_cycle": cycler(color=PALETTE),
    "axes.titleweight": "bold", "axes.titlesize": 12, "axes.titlelocation": "left",
    # the title just above the axes, where matplotlib puts it when no tick label is at the top (none of
    # the kit's charts has one): a fixed place spares the search for one, a sixth of a chart's drawing
    "axes.titley": 1.0,
    "axes.spines.top": False, "axes.spines.right": False,
    "grid.color": _RULE, "grid.linestyle": "-", "grid.linewidth": 1.0,
    "text.color": _INK, "font.size": 11.4, "font.family": ["sans-serif"],
    "font.sans-serif": ["DejaVu Sans", "Arial", "Liberation Sans", "sans-serif"],
    "xtick.color": _INK, "ytick.color": _INK, "xtick.labelsize": 10.45, "ytick.labelsize": 10.45,
    "xtick.bottom": False, "ytick.left": False, "xtick.major.pad": 3.5, "ytick.major.pad": 3.5,
    "xtick.major.size": 6.0, "ytick.major.size": 6.0, "xtick.minor.size": 4.0, "ytick.minor.size": 4.0,
    "xtick.major.width": 1.25, "ytick.major.width": 1.25, "xtick.minor.width": 1.0, "ytick.minor.width": 1.0,
    "lines.linewidth": 1.5, "lines.markersize": 6.0, "lines.solid_capstyle": "round",
    "patch.edgecolor": "white", "patch.force_edgecolor": True, "patch.linewidth": 1.0,
    "legend.frameon": False, "legend.fontsize": 10.45, "legend.title_fontsize": 11.4,
    "svg.hashsalt": "kpilib",
    "text.parse_math": False,  # titles hold currency symbols: "$734k ... $456k" is not TeX
})


def use_house_style() -> None:
    """Apply the kit's chart style (:data:`HOUSE_STYLE`) and make inline figures PNG (deterministic, small)."""
    mpl.rcParams.update(HOUSE_STYLE)
    try:  # only inside IPython
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # pragma: no cover - outside a kernel
        pass


def short_money(x: float, currency: str = "USD") -> str:
    """``$1.4M``, ``$350K``, ``$900`` — for axes and labels (Babel's compact currency format)."""
    return format_money(x, currency, short=True)


def money_axis(ax: plt.Axes, currency: str = "USD", axis: str = "y") -> plt.Axes:
    """Format an axis as money in ``currency``. A horizontal one gets at most five ticks: amounts side
    by side ran into each other where the locale writes them long (``100 k $US`` in French)."""
    fmt = FuncFormatter(lambda v, _pos: short_money(v, currency))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    if axis == "x":
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    return ax


def pct_axis(ax: plt.Axes, axis: str = "y", decimals: int = 0) -> plt.Axes:
    """Format an axis holding fractions (0.05) as percentages (5%)."""
    fmt = FuncFormatter(lambda v, _pos: percent_text(v, decimals))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)
    return ax


def waterfall(ax: plt.Axes, movements: pd.Series, currency: str = "USD") -> plt.Axes:
    """Opening MRR, each movement as a floating bar, closing MRR (with an FX impact bar after the
    opening when the rates moved it, dated rates only)."""
    import numpy as np

    steps = ["new", "expansion", "reactivation", "contraction", "churn"]
    labels = [_("Opening"), _("New"), _("Expansion"), _("Reactivation"), _("Contraction"), _("Churn"), _("Closing")]
    if float(movements.get("fx_impact", 0.0)) != 0.0:
        steps, labels = ["fx_impact", *steps], [labels[0], _("FX impact"), *labels[1:]]
    closing = movements["closing_mrr"] if "closing_mrr" in movements else movements["mrr"]
    values = [float(movements["opening_mrr"]), *(float(movements[s]) for s in steps), float(closing)]
    bottoms, level = [0.0], values[0]
    for v in values[1:-1]:
        bottoms.append(level if v >= 0 else level + v)
        level += v
    bottoms.append(0.0)
    heights = [values[0], *(abs(v) for v in values[1:-1]), values[-1]]
    colors = ["#8C8C8C", *(MOVEMENT_COLORS[s] for s in steps), "#2E5EAA"]
    ax.bar(np.arange(len(labels)), heights, bottom=bottoms, color=colors, width=0.65)
    for i, (b, h, v) in enumerate(zip(bottoms, heights, values)):
        ax.annotate(short_money(v, currency), (i, b + h), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(np.arange(len(labels)), labels)
    _fit_labels(ax, labels)
    lo = min(bottoms[1:-1] + [values[0], values[-1]])
    top = max(b + h for b, h in zip(bottoms, heights)) * 1.06
    # no MRR and no movement at all (nobody has paid yet): the bars lie on zero, under an axis from 0 to 1
    ax.set_ylim(max(0.0, lo * 0.9), top if top > 0 else 1.0)
    return money_axis(ax, currency)


def axis_break(ax: plt.Axes) -> plt.Axes:
    """Two short slashes across the foot of the y axis: the axis does not start at zero."""
    style = {"transform": ax.transAxes, "color": mpl.rcParams["axes.edgecolor"], "clip_on": False,
             "linewidth": 1.25}
    for dy in (0.0, 0.035):
        ax.plot([-0.012, 0.012], [0.01 + dy, 0.04 + dy], **style)
    return ax


def _fit_labels(ax: plt.Axes, labels: list[str]) -> None:
    """Smaller category labels on ``ax`` when the widest would not fit its bar's slot (``Désabonnement``
    beside ``Contraction`` in French), down to 7 points: measured from the font, without drawing."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    font, measure = FontProperties(size=mpl.rcParams["xtick.labelsize"]), TextToPath()
    size = font.get_size_in_points()
    widest = max(measure.get_text_width_height_descent(label, font, ismath=False)[0] for label in labels)
    fig = ax.get_figure(root=True)
    assert fig is not None  # an axes of a chart belongs to its figure
    slot = ax.get_position().width * fig.get_figwidth() * 72 / len(labels)  # points
    if widest > 0.95 * slot:
        ax.tick_params(axis="x", labelsize=max(7.0, size * 0.95 * slot / widest))


def movement_bars(ax: plt.Axes, movements: pd.DataFrame, currency: str = "USD") -> plt.Axes:
    """Monthly movements as stacked bars (gains up, losses down) with net new MRR as a line."""
    import numpy as np

    x = np.arange(len(movements))
    up = np.zeros(len(movements))
    down = np.zeros(len(movements))
    names = ("fx_impact",) * ("fx_impact" in movements.columns) + ("new", "expansion", "reactivation",
                                                                     "contraction", "churn")
    for name in names:
        v = movements[name].to_numpy(dtype=float)
        base = np.where(v >= 0, up, down)
        label = _(MOVEMENT_NAMES[name])
        ax.bar(x, v, bottom=base, color=MOVEMENT_COLORS[name], label=label, width=0.8)
        up = np.where(v >= 0, up + v, up)
        down = np.where(v < 0, down + v, down)
    net = movements["closing_mrr"].to_numpy(dtype=float) - movements["opening_mrr"].to_numpy(dtype=float)
    ax.plot(x, net, color="#1f2328", marker="o", markersize=3, linewidth=1.5, label=_("Net new MRR"))
    ax.axhline(0, color="#57606a", linewidth=0.8)
    ticks = x[:: max(1, len(x) // 8)]
    ax.set_xticks(ticks, [str(movements.index[i]) for i in ticks])
    ax.legend(ncol=6, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.12))
    return money_axis(ax, currency)


def cohort_heatmap(ax: plt.Axes, matrix: pd.DataFrame, title: str) -> plt.Axes:
    """A cohort x age retention heatmap, each cell with its percentage in the language's format (the
    ``customers`` column is dropped; ages a cohort has not reached yet stay blank). The first cohort
    is at the top; a cell's text is white on dark blue, dark on light blue."""
    import numpy as np

    from .display import percent

    data = matrix.drop(columns=["customers"], errors="ignore")
    values = data.to_numpy(dtype=float)
    rows, columns = values.shape
    norm = mpl.colors.Normalize(vmin=0.0, vmax=max(1.0, float(np.nanmax(values, initial=0.0))))
    cmap = mpl.colormaps["Blues"]
    ax.pcolormesh(np.ma.masked_invalid(values), cmap=cmap, norm=norm, edgecolors="white", linewidth=0.3)
    for (row, column), value in np.ndenumerate(values):
        if value == value:  # not NaN
            dark = _luminance(cmap(norm(value))) < 0.408
            ax.text(column + 0.5, row + 0.5, percent(value), ha="center", va="center", fontsize=6,
                    color="white" if dark else _INK)
    ax.set_xlim(0, columns)
    ax.set_ylim(rows, 0)
    ax.set_xticks(np.arange(columns) + 0.5, [str(c) for c in data.columns])
    ax.set_yticks(np.arange(rows) + 0.5, [str(i) for i in data.index])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set(title=title, xlabel=_("Months since first payment (age)"), ylabel=_("Cohort (first paying month)"))
    ax.tick_params(labelsize=7)
    return ax


def _luminance(rgba: tuple[float, ...]) -> float:
    """A colour's relative luminance (WCAG 2: sRGB channels linearised, weighted 0.2126, 0.7152, 0.0722)."""
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3]]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


GOAL_COLOR = "#1a7f37"
ANNOTATION_COLOR = "#57606a"


def month_end_axis(ax: plt.Axes, months: pd.PeriodIndex, most: int = 8) -> plt.Axes:
    """Ticks at the month ends the chart plots, each labelled with its own month (``2025-12`` at 31
    December), the last month always among them: matplotlib's date ticks fall on the 1st, so December's
    point sat on a ``2026-01`` tick. At most ``most`` ticks, every k-th month counted back from the last."""
    if len(months) == 0:
        return ax
    step = -(-len(months) // most)  # ceiling
    shown = months[::-1][::step][::-1]
    ax.set_xticks(shown.to_timestamp(how="end"), [str(m) for m in shown])
    return ax


def goal_line(ax: plt.Axes, points: pd.Series, label: str | None = None) -> plt.Axes:
    """A KPI's goals (month -> value) as diamonds at their month ends, joined by a dashed line."""
    if len(points) == 0:
        return ax
    x = points.index.to_timestamp(how="end")
    ax.plot(x, points.to_numpy(dtype=float), color=GOAL_COLOR, linestyle="--" if len(points) > 1 else "none",
            linewidth=1.2, marker="D", markersize=5, label=_("Goal") if label is None else label)
    return ax


def annotation_marks(ax: plt.Axes, annotations: pd.DataFrame) -> plt.Axes:
    """Dated events (``date``, ``label``) as thin vertical lines, labelled at the foot of the axes (money
    charts start at 0, so the foot is clear of the lines)."""
    for day, text in zip(annotations["date"], annotations["label"]):
        ax.axvline(day, color=ANNOTATION_COLOR, linewidth=0.8, linestyle=(0, (2, 2)))
        ax.annotate(text, xy=(day, 0.0), xycoords=("data", "axes fraction"), xytext=(3, 3),
                    textcoords="offset points", ha="left", va="bottom", fontsize=7, color=ANNOTATION_COLOR)
    return ax
