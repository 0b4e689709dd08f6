"""Every chart of the pages, drawn from the model: a notebook cell is one ``kpi.chart(m, name)``.

Each chart function takes a :class:`~kpilib.KpiModel` and a matplotlib ``Figure`` and draws on it
with the house style: its title is written from the figures by :mod:`kpilib.report.titles`, its
thresholds come from the KPI registry, and money is formatted for the base currency. A chart
whose data the period lacks returns the sentence that says so instead of drawing, and
:func:`chart` shows that note in the figure's place. So a page holds no arithmetic, no
threshold and no typed finding (tests/test_notebooks.py checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import KpiError
from ..i18n import N_, _, month_name
from ..metrics.funnel import BOUNCE_THRESHOLD
from ..metrics.revenue import CHURN_BAND
from . import titles
from .display import number, percent
from .plotting import (
    PALETTE,
    annotation_marks,
    axis_break,
    cohort_heatmap,
    goal_line,
    money_axis,
    month_end_axis,
    movement_bars,
    pct_axis,
    short_money,
    waterfall,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .model import KpiModel

#: how many months the history charts show
HISTORY = 24
#: months shown by the survival and projection charts
HORIZON = 36


def _goals_and_events(ax, m: KpiModel, months) -> bool:
    """The MRR goals of ``months`` and the annotations dated inside them (on or before the period's
    end); True when anything was drawn (the chart then needs a legend)."""
    from .goals import dated_annotations, goal_points

    points = goal_points(m, "mrr", months)
    events = dated_annotations(m)
    if len(months):
        events = events[events["date"] >= months[0].start_time]
    goal_line(ax, points, _("MRR goal"))
    annotation_marks(ax, events)
    return len(points) > 0 or len(events) > 0


def _mrr(m: KpiModel, words: str = N_("MRR ({currency})")) -> str:
    """An axis label naming the base currency: ``MRR (USD)``."""
    return _(words).format(currency=m.base_currency)


def mrr_trend(fig: Figure, m: KpiModel) -> str | None:
    trend = m.recent(HISTORY)["closing_mrr"]
    ax = fig.subplots()
    ax.plot(trend.index.to_timestamp(how="end"), trend, marker="o", markersize=3, label=_("MRR"))
    if _goals_and_events(ax, m, trend.index):
        ax.legend(loc="upper left")
    month_end_axis(ax, trend.index)
    money_axis(ax, m.base_currency)
    ax.set(title=titles.trend_title(trend, "MRR", m.base_currency), xlabel=_("Month end"),
           ylabel=_mrr(m), ylim=(0, None))
    return None


def forecast(fig: Figure, m: KpiModel) -> str | None:
    """MRR of the last months, the forecast's central line and band, committed MRR, the MRR goals and
    the annotations."""
    fc = m.forecast.forecast
    history = m.recent(HISTORY)["closing_mrr"]
    if history.empty or not (history > 0).any():
        return _("No MRR yet: there is nothing to forecast from.")
    ax = fig.subplots()
    past = history.index.to_timestamp(how="end")
    ahead = fc.index.to_timestamp(how="end")
    ax.plot(past, history, marker="o", markersize=3, label=_("MRR"))
    joined = [past[-1], *ahead]
    if fc["central"].notna().all():
        start = float(history.iloc[-1])
        if fc["low"].notna().all() and fc["high"].notna().all():
            level = fc.attrs.get("assumptions", {}).get("level", 0.8)
            ax.fill_between(joined, [start, *fc["low"]], [start, *fc["high"]], color=PALETTE[0], alpha=0.18,
                            linewidth=0, label=_("{level} band").format(level=percent(level)))
        ax.plot(joined, [start, *fc["central"]], color=PALETTE[0], linestyle="--", label=_("Forecast"))
    ax.plot(ahead, fc["committed"], color=PALETTE[4], linestyle=":", linewidth=1.8, label=_("Committed MRR"))
    _goals_and_events(ax, m, history.index.append(fc.index))
    month_end_axis(ax, history.index.append(fc.index))
    money_axis(ax, m.base_currency)
    ax.set(title=titles.forecast_title(fc, m.base_currency), xlabel=_("Month end"), ylabel=_mrr(m), ylim=(0, None))
    ax.legend(loc="upper left", fontsize=8)
    return None


def bridge(fig: Figure, m: KpiModel) -> str | None:
    ax = fig.subplots()
    waterfall(ax, m.revenue, m.base_currency)
    ylabel, low = _mrr(m), ax.get_ylim()[0]
    if low > 0:  # zoomed in on the movements: the opening and closing bars are cut, and the axis says so
        ylabel = _("{label}, axis from {amount}").format(label=ylabel, amount=short_money(low, m.base_currency))
        axis_break(ax)
    ax.set(title=titles.waterfall_title(m.revenue, m.base_currency, m.period.title), ylabel=ylabel)
    return None


def movement_history(fig: Figure, m: KpiModel) -> str | None:
    recent = m.recent(HISTORY)
    ax = fig.subplots()
    movement_bars(ax, recent, m.base_currency)
    ax.set(title=titles.largest_gain_title(recent, m.base_currency), ylabel=_mrr(m, N_("MRR change ({currency})")))
    return None


def mrr_by_group(fig: Figure, m: KpiModel) -> str | None:
    axes = fig.subplots(1, 2)
    by_segment = m.breakdown("segment")
    for ax, name in zip(axes, ("segment", "plan")):
        frame = m.breakdown(name)
        ax.barh(frame.index.astype(str)[::-1], frame["mrr"][::-1])
        money_axis(ax, m.base_currency, axis="x")
        ax.set(title=_("MRR by segment") if name == "segment" else _("MRR by plan"), xlabel=_mrr(m))
    fig.suptitle(titles.share_title(by_segment["share"]), x=0.01, ha="left", fontweight="bold")
    fig.tight_layout()
    return None


def retention(fig: Figure, m: KpiModel) -> str | None:
    rates = m.retention_trend(HISTORY)
    ax = fig.subplots()
    months = rates.index.to_timestamp(how="end")  # a month's NRR is measured at its end
    ax.plot(months, rates["nrr"], marker="o", markersize=3, label=_("NRR"))
    ax.plot(months, rates["grr"], marker="o", markersize=3, label=_("GRR"))
    ax.axhline(1.0, color="#57606a", linewidth=0.8, linestyle="--")
    month_end_axis(ax, rates.index)
    pct_axis(ax)
    ax.set(title=titles.retention_title(m.retention["nrr"], m.retention["grr"], m.period.last),
           ylabel=_("Retention over 12 months"), xlabel=_("Month end"))
    ax.legend()
    return None


def churn_trend(fig: Figure, m: KpiModel) -> str | None:
    from ..periods import parse_period

    trend = m.trend("month", periods=HISTORY)
    # each month at its first day, where the axis writes its name (at its last day, December's point
    # sat under the next year's January), and an axis that ends with the data
    months = trend.index.map(lambda label: parse_period(label).start_date)
    ax = fig.subplots()
    ax.margins(x=0.02)
    low, high = CHURN_BAND
    ax.axhspan(low, high, color="#F2A541", alpha=0.15,
               label=_("{low}-{high} band").format(low=percent(low), high=percent(high)))
    ax.plot(months, trend["customer_churn_rate"], marker="o", markersize=3, label=_("Customer churn"))
    ax.plot(months, trend["gross_mrr_churn"], marker="o", markersize=3, label=_("Gross MRR churn"))
    pct_axis(ax, decimals=1)
    ax.set(title=titles.churn_trend_title(trend["customer_churn_rate"], CHURN_BAND),
           ylabel=_("Monthly rate"), xlabel=_("Month"), ylim=(0, None))
    # under the axis: inside, wherever it stood, a rate of some month could run under it
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    return None


def _cohorts(kind: str) -> Callable[[Figure, KpiModel], str | None]:
    def draw(fig: Figure, m: KpiModel) -> str | None:
        from .model import COHORT_MONTHS

        matrix = m.cohort_matrix(kind)
        if matrix.empty:
            return titles.no_cohorts_note(COHORT_MONTHS, m.period.last)
        start = m.cohort_start_mrr if kind == "revenue" else None
        cohort_heatmap(fig.subplots(), matrix, titles.cohort_title(kind, matrix, start_mrr=start))
        return None
    draw.__doc__ = f"The {kind} retention heatmap of the cohorts shown on the churn page."
    return draw


def survival(fig: Figure, m: KpiModel) -> str | None:
    km = m.survival("segment")
    if km.empty:
        return _("No customer has paid yet: there is no lifetime to follow.")
    ax = fig.subplots()
    for name in km["segment"].unique():
        curve = km[km["segment"] == name]
        ax.step(curve["month"], curve["survival"], where="post", label=name)
        ax.fill_between(curve["month"], curve["ci_lower"], curve["ci_upper"], step="post", alpha=0.15)
    pct_axis(ax)
    ax.set(title=titles.survival_title(km, "segment"), xlabel=_("Months since first payment"),
           ylabel=_("Still paying (Kaplan-Meier)"), xlim=(0, HORIZON), ylim=(0, 1.02))
    ax.legend()
    return None


def projection(fig: Figure, m: KpiModel) -> str | None:
    cm = m.churn_model
    if cm is None:
        return _("Not enough cohort history before this period to fit the churn model.")
    fit, horizon = cm["fit"], np.arange(0, HORIZON + 1)
    observed = np.asarray(cm["survivors"], dtype=float)
    ax = fig.subplots()
    ax.plot(horizon, fit.survival(horizon),
            label=_("sBG projection (mean churn {churn}/month)").format(churn=percent(fit.mean_churn, 1)))
    ax.plot(np.arange(len(observed)), observed / observed[0], "o", label=_("Observed (fitted months)"))
    pct_axis(ax)
    ax.set(title=titles.projection_title(fit.survival(HORIZON)), xlabel=_("Months since first payment"),
           ylabel=_("Still paying"), ylim=(0, 1.02))
    ax.legend()
    return None


def funnel(fig: Figure, m: KpiModel) -> str | None:
    from .pages import stage_names

    if m.funnel is None:
        return _("No leads table: the funnel cannot be drawn.")
    cohort, flow = m.funnel["cohort"], m.funnel["flow"]
    ax = fig.subplots()
    y = np.arange(len(cohort))[::-1]
    ax.barh(y + 0.2, cohort["count"], height=0.4, label=_("Cohort: leads created in the period"))
    ax.barh(y - 0.2, flow["count"], height=0.4, label=_("Flow: events in the period"))
    names = stage_names()
    ax.set_yticks(y, [names[s] for s in cohort.index])
    ax.set(title=titles.funnel_title(cohort.loc["won", "from_lead"], m.period.title), xlabel=_("Leads"))
    ax.legend(loc="lower right")
    return None


def channels(fig: Figure, m: KpiModel) -> str | None:
    by_channel = m.channels
    if by_channel is None:
        return _("No leads table: no channel to compare.")
    ordered = by_channel.sort_values("lead_to_customer")
    ax = fig.subplots()
    ax.barh(ordered.index, ordered["lead_to_customer"])
    pct_axis(ax, axis="x", decimals=1)
    ax.set(title=titles.best_channel_title(by_channel["lead_to_customer"]),
           xlabel=_("Leads created in the period that became customers"))
    return None


def sales_cycle(fig: Figure, m: KpiModel) -> str | None:
    from ..metrics.funnel import cycle_days

    leads = m.table("leads")
    if leads is None:
        return _("No leads table: no sales cycle to show.")
    days = cycle_days(leads, m.period)
    if days.empty:
        return _("{title}, so there is no sales cycle to show.").format(
            title=titles.cycle_title(float("nan"), m.period.title))
    median = float(days.median())  # the median of sales_cycle(): the same won deals
    ax = fig.subplots()
    ax.hist(days, bins=20)
    ax.axvline(median, color="#D1495B", linestyle="--", label=_("median {days} days").format(days=number(median)))
    ax.set(title=titles.cycle_title(median, m.period.title), xlabel=_("Days from lead to won"), ylabel=_("Deals"))
    ax.legend()
    return None


def bounce(fig: Figure, m: KpiModel) -> str | None:
    from ..metrics.funnel import web_summary

    web = m.table("web_traffic")
    if web is None:
        return _("No web_traffic table: no bounce rate to show.")
    by_channel = web_summary(web, m.period, by_channel=True).sort_values("bounce_rate")
    ax = fig.subplots()
    colors = ["#D1495B" if r >= BOUNCE_THRESHOLD else "#2E5EAA" for r in by_channel["bounce_rate"]]
    ax.barh(by_channel.index, by_channel["bounce_rate"], color=colors)
    ax.axvline(BOUNCE_THRESHOLD, color="#57606a", linestyle="--")
    pct_axis(ax, axis="x")
    ax.set(title=titles.bounce_title(by_channel["bounce_rate"]), xlabel=_("Bounce rate"))
    return None


def cac(fig: Figure, m: KpiModel) -> str | None:
    costs, reason = m.acquisition_costs
    if costs is None:
        return reason
    shown = costs.drop(index="All channels").dropna(subset=["cac"]).sort_values("cac", ascending=False)
    ax = fig.subplots()
    ax.barh(shown.index, shown["cac"])
    ax.axvline(costs.loc["All channels", "cac"], color="#D1495B", linestyle="--", label=_("blended CAC"))
    money_axis(ax, m.base_currency, axis="x")
    ax.set(title=titles.cac_title(shown["cac"]), xlabel=_mrr(m, N_("CAC ({currency})")))
    ax.legend()
    return None


def channel_return(fig: Figure, m: KpiModel) -> str | None:
    ret = m.channel_return()
    if ret is None:
        return _("Spend, leads or new customers are missing: no return per channel to show.")
    ax = fig.subplots()
    ax.barh(ret.index[::-1], ret["return"][::-1])
    ax.axvline(1.0, color="#57606a", linestyle="--", label=_("spend paid back in a year of new ARR"))
    ax.set(title=titles.return_title(ret["return"], ret["new_customers"]), xlabel=_("New ARR per unit of spend"))
    ax.legend(loc="lower right")
    return None


def nps(fig: Figure, m: KpiModel) -> str | None:
    from .pages import voice_trend

    trend = voice_trend(m, "nps")
    if trend is None:
        return _("No NPS wave has closed by the period's end.")
    voice = m.voice("nps")
    ax = fig.subplots()
    ax.errorbar(list(trend.index), trend["nps"], yerr=trend["margin_of_error"], marker="o", capsize=4)
    ax.axhline(0, color="#57606a", linewidth=0.8)
    wave = voice["wave"]
    year = wave is not None and wave.kind == "year"
    ax.set(title=titles.nps_title(voice["nps"], voice["margin_of_error"], voice["n"],
                                  None if wave is None else wave.label if year else wave.title, year=year),
           ylabel=_("NPS (points)"), xlabel=_("Survey wave (quarter)"), ylim=(-100, 100))
    return None


def ces(fig: Figure, m: KpiModel) -> str | None:
    from ..metrics.voice import ces_summary

    wave = m.wave("ces")
    if wave is None:
        return _("No customer effort wave has closed by the period's end.")
    summary = ces_summary(m.data.tables["survey_responses"], wave)
    ax = fig.subplots()
    ax.bar(range(1, 8), summary[[f"score_{k}" for k in range(1, 8)]].to_numpy())
    year = wave.kind == "year"
    ax.set(title=titles.ces_title(summary["mean"], summary["n"], wave.label if year else wave.title, year=year),
           xlabel=_("Score (7 = very easy)"), ylabel=_("Answers"))
    return None


def engagement(fig: Figure, m: KpiModel) -> str | None:
    found = m.engagement_summary
    if found is None:
        return _("No product_usage table: no engagement score.")
    latest_month, latest_scores, by_band, horizon = found
    axes = fig.subplots(1, 2)
    axes[0].hist(latest_scores, bins=10)
    axes[0].set(title=_("Scores in {month}").format(month=month_name(latest_month, short=True)),
                xlabel=_("Engagement score"), ylabel=_("Accounts"))
    axes[1].bar([_(_BANDS[b]) if b in _BANDS else b for b in by_band.index.astype(str)], by_band["churn_rate"])
    pct_axis(axes[1])
    axes[1].set(title=_("Churn within {months} months by band").format(months=horizon),
                xlabel=_("Engagement band"), ylabel=_("Churned"))
    fig.suptitle(titles.engagement_title(by_band.loc["low", "churn_rate"], by_band.loc["high", "churn_rate"]),
                 x=0.01, ha="left", fontweight="bold")
    fig.tight_layout()
    return None


#: the engagement bands as the chart's axis names them
_BANDS = {"low": N_("low"), "medium": N_("medium"), "high": N_("high")}


#: name -> (draw, figure size in inches)
CHARTS: dict[str, tuple[Callable[[Figure, KpiModel], str | None], tuple[float, float]]] = {
    "mrr_trend": (mrr_trend, (9.0, 4.0)),
    "forecast": (forecast, (9.0, 4.5)),
    "bridge": (bridge, (9.0, 4.0)),
    "movement_history": (movement_history, (9.0, 4.5)),
    "mrr_by_group": (mrr_by_group, (9.0, 3.5)),
    "retention": (retention, (9.0, 4.0)),
    "churn_trend": (churn_trend, (9.0, 4.0)),
    "logo_cohorts": (_cohorts("logo"), (9.0, 5.5)),
    "revenue_cohorts": (_cohorts("revenue"), (9.0, 5.5)),
    "survival": (survival, (9.0, 4.0)),
    "projection": (projection, (9.0, 4.0)),
    "funnel": (funnel, (9.0, 4.0)),
    "channels": (channels, (9.0, 4.0)),
    "sales_cycle": (sales_cycle, (9.0, 4.0)),
    "bounce": (bounce, (9.0, 4.0)),
    "cac": (cac, (9.0, 4.0)),
    "channel_return": (channel_return, (9.0, 4.0)),
    "nps": (nps, (9.0, 4.0)),
    "ces": (ces, (9.0, 3.0)),
    "engagement": (engagement, (9.0, 3.5)),
}


def chart(m: KpiModel, name: str) -> None:
    """Draw chart ``name`` of :data:`CHARTS` and show it (or the note saying why it cannot be drawn)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from .pages import note

    if name not in CHARTS:
        raise KpiError(f"unknown chart {name!r}; known: {', '.join(CHARTS)}")
    draw, size = CHARTS[name]
    fig = plt.figure(figsize=size)
    missing = draw(fig, m)
    if missing is not None:
        plt.close(fig)
        display(note(missing))
        return
    display(fig, metadata={"image/png": {"alt": alt_text(fig)}})  # the page's <img alt> (templates/kpi)
    plt.close(fig)


def alt_text(fig: Figure) -> str:
    """What a chart says for a reader who cannot see it: its titles, the figure's then each axes', in the
    page's language (they are written from the figures: :mod:`kpilib.report.titles`)."""
    titles_ = [fig.get_suptitle()] + [ax.get_title(loc=loc) for ax in fig.axes for loc in ("left", "center", "right")]
    return ". ".join(t.strip().rstrip(".") for t in titles_ if t and t.strip()) + "."
