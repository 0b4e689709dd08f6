"""Words from numbers: every chart title and verdict of the pack.

Each function takes the figures a chart or table shows and returns the sentence that
states its finding, so no title can contradict the numbers under it. Notebooks never
type a finding; tests check each claim flips when the numbers do.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import KpiError
from ..i18n import N_, _, current_language, month_name, ngettext
from ..metrics.acquisition import LTV_CAC_TARGET
from ..metrics.funnel import BOUNCE_THRESHOLD
from .display import number, percent
from .format import format_value, is_missing

#: The MRR movements as sentences name them (English: translate with ``_()`` where shown).
MOVEMENT_WORDS = {"new": N_("new business"), "expansion": N_("expansion"), "reactivation": N_("reactivation"),
                  "contraction": N_("contraction"), "churn": N_("churn")}


def _money(x: float, currency: str) -> str:
    return format_value(x, "money_short", currency)


def _pct(x: float, decimals: int = 0) -> str:
    return _("n/a") if is_missing(x) else percent(x, decimals)


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def waterfall_title(summary: pd.Series, currency: str, period_title: str) -> str:
    """``MRR grew by $36.7k in December 2025`` (or fell, or did not change); with dated rates that
    moved it, ``..., of which FX impact -$1.2k``."""
    change = float(summary["mrr"]) - float(summary["opening_mrr"])
    if is_missing(change) or change == 0:
        return _("MRR did not change in {period}").format(period=period_title)
    fx = float(summary.get("fx_impact", 0.0))
    amount = _money(abs(change), currency)
    if fx and not is_missing(fx):
        text = (_("MRR grew by {amount} in {period}, of which FX impact {fx}") if change > 0 else
                _("MRR fell by {amount} in {period}, of which FX impact {fx}"))
        return text.format(amount=amount, period=period_title, fx=_money(fx, currency))
    text = _("MRR grew by {amount} in {period}") if change > 0 else _("MRR fell by {amount} in {period}")
    return text.format(amount=amount, period=period_title)


def largest_gain_title(movements: pd.DataFrame, currency: str) -> str:
    """Which gain (new, expansion, reactivation) added most MRR over the months shown."""
    gains = movements[["new", "expansion", "reactivation"]].sum()
    if len(movements) == 0 or gains.max() <= 0:
        return _("No MRR was gained in these months")
    order = gains.sort_values(ascending=False, kind="stable")
    first, second = order.index[0], order.index[1]
    return _("{gain} added the most MRR over {months} months ({amount}), ahead of {second} "
             "({second_amount})").format(gain=_first_upper(_(MOVEMENT_WORDS[first])), months=len(movements),
                                         amount=_money(order.iloc[0], currency), second=_(MOVEMENT_WORDS[second]),
                                         second_amount=_money(order.iloc[1], currency))


def retention_title(nrr: float, grr: float, month: pd.Period) -> str:
    """``NRR 101 %, GRR 81 % at Dec 2025: expansion more than offsets losses``."""
    if is_missing(nrr):
        return _("No customers paid twelve months before {month}: NRR is undefined").format(
            month=month_name(month, short=True))
    verdict = (_("expansion more than offsets losses") if nrr > 1 else
               _("losses exceed expansion") if nrr < 1 else _("expansion exactly offsets losses"))
    return _("NRR {nrr}, GRR {grr} at {month}: {verdict}").format(
        nrr=_pct(nrr), grr=_pct(grr), month=month_name(month, short=True), verdict=verdict)


def share_title(shares: pd.Series, what: str = "MRR") -> str:
    """``Enterprise brings 52 % of MRR`` from a group -> share series (largest first or not).
    ``what``: an English message (translated here)."""
    s = shares.dropna()
    if s.empty:
        return _("No {what} to break down").format(what=_(what))
    top = s.idxmax()
    return _("{group} brings {share} of {what}").format(group=top, share=_pct(s.max()), what=_(what))


def trend_title(values: pd.Series, label: str, currency: str = "USD") -> str:
    """A chart title stating the finding, e.g. ``MRR grew 38% over 24 months to $612k``.
    ``label``: an English message, such as a registry label (translated here)."""
    v = values.dropna()
    if len(v) < 2 or v.iloc[0] == 0:
        return _("{label} over time").format(label=_(label))
    change = v.iloc[-1] / v.iloc[0] - 1
    text = (_("{label} grew {change} over {months} months to {value}") if change >= 0 else
            _("{label} fell {change} over {months} months to {value}"))
    return text.format(label=_(label), change=percent(abs(change)), months=len(v) - 1,
                       value=format_value(v.iloc[-1], "money_short", currency))


def churn_trend_title(rates: pd.Series, band: tuple[float, float]) -> str:
    """The last six months' average monthly customer churn, placed against the ``band`` (healthy up to
    its low end, unhealthy above its high end). The average is judged as printed (to 0.1 %), so the
    words never contradict the figure."""
    recent = rates.dropna().tail(6)
    if recent.empty:
        return _("No customer churn can be measured yet")
    avg = round(float(recent.mean()), 3)
    low, high = (_pct(b) for b in band)
    if avg <= band[0]:
        text = _("Customer churn averaged {churn} a month over the last {months} months, inside the healthy range")
    elif avg <= band[1]:
        text = _("Customer churn averaged {churn} a month over the last {months} months, inside the {low}-{high} "
                 "watch band")
    else:
        text = _("Customer churn averaged {churn} a month over the last {months} months, above the {high} "
                 "alarm level")
    return text.format(churn=_pct(avg, 1), months=len(recent), low=low, high=high)


def no_cohorts_note(months: int, last) -> str:
    """Why the churn page shows no cohort: nobody started paying in the ``months`` months (several:
    the page's window, :data:`~kpilib.report.model.COHORT_MONTHS`) up to ``last``. Older cohorts
    may exist; the page shows the recent ones only."""
    return _("No customer started paying in the {n} months up to {month}: there is no recent cohort to "
             "show.").format(n=months, month=month_name(last))


def cohort_title(kind: str, matrix: pd.DataFrame, age: int = 12, start_mrr: pd.Series | None = None) -> str:
    """Logo or revenue retention after ``age`` months of the cohorts old enough, pooled: for logos,
    the share of their customers still paying (cohorts weighted by size); for revenue, their MRR at
    ``age`` over their MRR at age 0 (cohorts weighted by ``start_mrr``, cohort -> MRR at age 0, which
    a revenue title needs: weighting by customer counts would let a cohort of small accounts move the
    figure as much as one of large accounts)."""
    seen = matrix[age].notna() if age in matrix.columns else pd.Series(False, index=matrix.index)
    if not seen.any():
        if kind == "logo":
            return _("Logo retention: no cohort is {age} months old yet").format(age=age)
        if kind == "revenue":
            return _("Revenue retention: no cohort is {age} months old yet").format(age=age)
        return _("{kind} retention: no cohort is {age} months old yet").format(kind=kind.capitalize(), age=age)
    if kind == "revenue":
        if start_mrr is None:
            raise KpiError("a revenue retention title needs each cohort's MRR at age 0 (start_mrr)")
        weights = start_mrr.reindex(matrix.index[seen]).astype(float)
    else:
        weights = matrix.loc[seen, "customers"].astype(float)
    at_age = float((matrix.loc[seen, age] * weights).sum() / weights.sum())
    if kind == "logo":
        return _("Logo retention: {share} of customers still pay after {age} months").format(
            share=_pct(at_age), age=age)
    return _("Revenue retention: cohorts keep {share} of their MRR after {age} months").format(
        share=_pct(at_age), age=age)


def survival_title(curves: pd.DataFrame, by: str = "segment", month: int = 24) -> str:
    """The group that lasts longest, from Kaplan-Meier curves (``month``, ``survival``, ``by``); with one
    group, its survival alone."""
    s = curves[curves["month"] <= month].groupby(by)["survival"].last().dropna()
    if s.empty:
        return _("Survival by segment")
    if len(s) > 1 and math.isclose(s.max(), s.min(), abs_tol=0.005):
        return _("Every segment keeps about {share} of its customers for {months} months").format(
            share=_pct(s.mean()), months=month)
    if len(s) == 1:  # one group (a segment pack): nothing to be longest against
        return _("{group} customers: {share} still pay after {months} months").format(
            group=s.index[0], share=_pct(s.iloc[0]), months=month)
    return _("{group} customers last longest: {share} still pay after {months} months").format(
        group=s.idxmax(), share=_pct(s.max()), months=month)


def projection_title(survival_36: float) -> str:
    if is_missing(survival_36):
        return _("Not enough cohort history to project survival")
    return _("The model projects {share} of a new cohort still paying after 36 months").format(
        share=_pct(survival_36))


def funnel_title(lead_to_customer: float, period_title: str) -> str:
    if is_missing(lead_to_customer):
        return _("No leads were created in {period}").format(period=period_title)
    return _("{share} of {period}'s leads have become customers so far").format(
        share=_pct(lead_to_customer, 1), period=period_title)


_CONVERTS_BEST = N_("converts leads to customers best")


def best_channel_title(rates: pd.Series, what: str = _CONVERTS_BEST) -> str:
    """``what``: an English message saying what the best channel does (translated here)."""
    s = rates.dropna()
    if s.empty or s.max() <= 0:
        return _("No channel converted a lead into a customer in this period")
    if what == _CONVERTS_BEST:
        return _("{channel} converts leads to customers best ({rate})").format(channel=s.idxmax(),
                                                                               rate=_pct(s.max(), 1))
    return _("{channel} {what} ({rate})").format(channel=s.idxmax(), what=_(what), rate=_pct(s.max(), 1))


def cycle_title(median_days: float, period_title: str) -> str:
    if is_missing(median_days):
        return _("No deal was won in {period}").format(period=period_title)
    return _("Half the deals won in {period} closed within {days} days").format(
        period=period_title, days=number(median_days))


def bounce_title(rates: pd.Series, limit: float = BOUNCE_THRESHOLD) -> str:
    high = int((rates.dropna() >= limit).sum())
    if high == 0:
        return _("Every channel bounces below {limit}").format(limit=percent(limit))
    return ngettext("{n} channel bounces at {limit} or more", "{n} channels bounce at {limit} or more",
                    high).format(n=high, limit=percent(limit))


def cac_title(cac: pd.Series) -> str:
    s = cac.dropna()
    if s.empty:
        return _("No channel won customers in this period")
    return _("{channel} wins customers most cheaply").format(channel=s.idxmin())


def ltv_cac_verdict(ratio: float, target: float = LTV_CAC_TARGET) -> str:
    if is_missing(ratio):
        return _("undefined")
    if ratio >= target:
        return _("healthy ({target}:1 or better)").format(target=number(target))
    return _("below the {target}:1 target").format(target=number(target))


def nps_title(nps: float, margin: float, n: float, wave_title: str | None, *, year: bool = False) -> str:
    """``NPS +37 ± 4 in the Q4 2025 wave (n = 362)``; ``year``: ``wave_title`` is a year (``2025``), whose
    NPS is every answer of it, not a wave."""
    if wave_title is None or is_missing(nps):
        return _("No survey wave has closed yet")
    text = (_("NPS {nps} ± {margin} from every answer of {wave} (n = {n})") if year else
            _("NPS {nps} ± {margin} in the {wave} wave (n = {n})"))
    return text.format(nps=number(nps, sign=True), margin=number(margin), wave=wave_title, n=number(n, grouped=True))


def ces_title(mean: float, n: float, wave_title: str | None = None, *, year: bool = False) -> str:
    """``Customer effort: mean 5.6 of 7 from 310 answers (Q4 2025 wave)``; ``year``: ``wave_title`` is a
    year (``2025``), every answer of it."""
    if is_missing(mean) or n == 0:
        return _("No effort answers in this wave")
    if wave_title:
        text = (_("Customer effort: mean {mean} of 7 from {n} answers in {wave}") if year else
                _("Customer effort: mean {mean} of 7 from {n} answers ({wave} wave)"))
        return text.format(mean=number(mean, 1), n=number(n, grouped=True), wave=wave_title)
    return _("Customer effort: mean {mean} of 7 from {n} answers").format(mean=number(mean, 1),
                                                                         n=number(n, grouped=True))


def return_title(returns: pd.Series, new_customers: pd.Series | None = None) -> str:
    """Which channel's new customers bring the most new ARR per unit of its spend, and from how many new
    customers (``new_customers`` per channel): a few large deals make a high return that the next
    period need not repeat."""
    s = returns.dropna()
    if s.empty:
        return _("No channel both spent and won customers in this period")
    channel, ratio = s.idxmax(), number(s.max(), 2)
    if new_customers is None:
        return _("{channel} brings the most new ARR per unit of spend ({ratio})").format(channel=channel, ratio=ratio)
    n = int(new_customers.get(channel, 0))
    return ngettext("{channel} brings the most new ARR per unit of spend ({ratio}, from {n} new customer)",
                    "{channel} brings the most new ARR per unit of spend ({ratio}, from {n} new customers)",
                    n).format(channel=channel, ratio=ratio, n=number(n, grouped=True))


def engagement_title(low_rate: float, high_rate: float) -> str:
    """How much more often low-engagement accounts churn than highly engaged ones."""
    if is_missing(low_rate) or is_missing(high_rate):
        return _("Engagement and churn")
    if high_rate == 0:
        return _("Highly engaged accounts did not churn; low-engagement ones churned {share} of the time").format(
            share=_pct(low_rate, 1))
    ratio = low_rate / high_rate
    if ratio >= 1.05:
        return _("Low-engagement accounts churn {ratio}x as often as highly engaged ones").format(
            ratio=number(ratio, 1))
    if ratio <= 0.95:
        return _("Highly engaged accounts churn {ratio}x as often as low-engagement ones").format(
            ratio=number(1 / ratio, 1))
    return _("Engagement does not change how often accounts churn")


def _count(message: str, n: int) -> str:
    """``message``: the ``ngettext`` form for ``n``, with an ``{n}`` field (``1,204 customers``)."""
    return message.format(n=number(n, grouped=True))


#: Where a restatement's later figures come from, by default.
REBUILT = N_("when rebuilt from this data")


def restatement_note(period_title: str, figures: int, accounts: int, customers: int, *,
                     later: str = REBUILT, accounts_compared: bool = True,
                     not_compared: str = "") -> str:
    """What a later build of an earlier period showed, in one sentence.

    ``figures``: headline figures whose stored value changed; ``accounts``: customer-months whose
    MRR or movement changed; ``customers``: the distinct customers among them; ``later``: where
    the later figures come from ("when rebuilt from this data", "in 2025-12"), and ``not_compared``
    why the packs were not compared, both in the reader's language (:data:`REBUILT` is translated here)."""
    if later == REBUILT:
        later = _(REBUILT)
    if not_compared:
        return _("The {period} pack was {not_compared}").format(period=period_title, not_compared=not_compared)
    if figures == 0 and accounts == 0:
        text = (_("Nothing restated: {later}, {period} has the same figures and customer movements as in its pack")
                if accounts_compared else _("Nothing restated: {later}, {period} has the same figures as in its pack"))
        return text.format(later=later, period=period_title)
    what = _count(ngettext("{n} figure", "{n} figures", figures), figures) if figures else _("no headline figure")
    if accounts == 0:
        text = (_("Restated: {figures} of the {period} pack changed {later}, without a customer's MRR moving")
                if accounts_compared else _("Restated: {figures} of the {period} pack changed {later}"))
        return text.format(figures=what, period=period_title, later=later)
    return _("Restated: {figures} of the {period} pack changed {later}; {accounts} moved, from {customers}").format(
        figures=what, period=period_title, later=later,
        accounts=_count(ngettext("{n} customer-month", "{n} customer-months", accounts), accounts),
        customers=_count(ngettext("{n} customer", "{n} customers", customers), customers))


# --- goals, forecast, backtest, pipeline ------------------------------------------------------------

def _fixed(v: float, digits: int) -> str:
    return f"{v:.{digits}f}" if current_language() == "en" else number(v, digits)


def _two_digits(v: float) -> str:
    """``f"{v:.2g}"`` (two significant digits) with the locale's decimal mark."""
    text = f"{v:.2g}"
    if current_language() == "en" or "e" in text:
        return text
    return number(v, len(text.split(".")[1]) if "." in text else 0)


def _gap_words(gap: float, unit: str, currency: str) -> str:
    """The size of a gap in its unit, printed with enough digits that a gap that is not 0 never reads 0."""
    g = abs(gap)
    if unit == "money":
        text = format_value(g, "money_short", currency)
        return text if g >= 1 else format_value(g, "money_cents", currency)
    if unit == "pct":
        for digits in (1, 2, 3, 4):
            if float(f"{g * 100:.{digits}f}") > 0:
                return _("{value} pp").format(value=_fixed(g * 100, digits))
        return _("{value} pp").format(value=_two_digits(g * 100))
    if unit == "count":
        return number(g, grouped=True) if g >= 0.5 else _two_digits(g)
    if unit == "points":
        return _("{value} points").format(value=_fixed(g, 0) if g >= 0.5 else _two_digits(g))
    if unit == "months":
        return _("{value} months").format(value=_fixed(g, 1) if g >= 0.05 else _two_digits(g))
    return _fixed(g, 2) if g >= 0.005 else _two_digits(g)


def goal_progress(value: float, goal: float, unit: str, better: str, currency: str = "USD") -> str:
    """Progress to a goal in words, e.g. ``Goal $1.45M: $53.6K short`` or, for a KPI where lower is
    better, ``Goal at most 2.0%: met, 0.3 pp below``; ``""`` without a goal. The words follow the sign
    of value - goal, and the gap is printed with enough digits never to read 0 when it is not (money
    counts to the cent, as kpis.json stores it: less than half a cent apart is "met exactly")."""
    if is_missing(goal):
        return ""
    shown = format_value(goal, "money_short" if unit == "money" else unit, currency)
    higher = better == "higher"
    if is_missing(value):
        text = (_("Goal {goal}: no value this period to compare") if higher else
                _("Goal at most {goal}: no value this period to compare"))
        return text.format(goal=shown)
    gap = float(value) - float(goal)
    if gap == 0 or (unit == "money" and abs(gap) < 0.005):  # money to the cent, as kpis.json stores it
        return (_("Goal {goal}: met exactly") if higher else _("Goal at most {goal}: met exactly")).format(goal=shown)
    size = _gap_words(gap, unit, currency)
    if higher:
        text = _("Goal {goal}: beaten by {gap}") if gap > 0 else _("Goal {goal}: {gap} short")
    else:
        text = _("Goal at most {goal}: met, {gap} below") if gap < 0 else _("Goal at most {goal}: {gap} above it")
    return text.format(goal=shown, gap=size)


def _month_words(month: pd.Period) -> str:
    return month_name(month)


def forecast_title(forecast: pd.DataFrame, currency: str) -> str:
    """``MRR is forecast at $1.82M by Dec 2026 (80 % band $1.69M-$1.93M)``, or, without a forecast,
    what the chart shows instead."""
    last = forecast.iloc[-1] if len(forecast) else None
    if last is None or is_missing(last["central"]):
        return _("No MRR forecast for this period: MRR so far and committed MRR")
    month = month_name(forecast.index[-1], short=True)
    central = _money(last["central"], currency)
    if is_missing(last["low"]) or is_missing(last["high"]):
        return _("MRR is forecast at {amount} by {month}").format(amount=central, month=month)
    level = forecast.attrs.get("assumptions", {}).get("level", 0.8)
    return _("MRR is forecast at {amount} by {month} ({level} band {low}–{high})").format(
        amount=central, month=month, level=percent(level), low=_money(last["low"], currency),
        high=_money(last["high"], currency))


def goal_against_band(goal: float, low: float, high: float) -> str:
    """Where a goal lies against a forecast band: ``inside``, ``above`` or ``below`` (``""`` when
    either is missing). On an edge counts as inside. (A key, not words.)"""
    if is_missing(goal) or is_missing(low) or is_missing(high):
        return ""
    return "above" if goal > high else "below" if goal < low else "inside"


def forecast_note(forecast: pd.DataFrame, goal: tuple[pd.Period, float] | None, currency: str) -> str:
    """What the forecast says, from its figures: the central line and the band at the horizon, the
    committed part, and where the MRR goal of the forecast's months lies against the band."""
    money = lambda v: format_value(v, "money", currency)  # noqa: E731
    if len(forecast) == 0:
        return _("No forecast horizon.")
    last, end = forecast.iloc[-1], forecast.index[-1]
    committed = _("Committed MRR, already contracted by signed terms, is {first} in {first_month} and {last} in "
                  "{last_month}.").format(first=money(forecast["committed"].iloc[0]),
                                          first_month=_month_words(forecast.index[0]), last=money(last["committed"]),
                                          last_month=_month_words(end))
    if is_missing(last["central"]):
        reason = str(last.get("reason", "") or _("the data cannot support one"))
        return _("No MRR forecast: {reason}.").format(reason=reason) + " " + committed
    months = len(forecast)
    level = forecast.attrs.get("assumptions", {}).get("level", 0.8)
    if not (is_missing(last["low"]) or is_missing(last["high"])):
        text = _("MRR is forecast at {amount} in {months} months ({month}), {level} band {low} to {high}.").format(
            amount=money(last["central"]), months=months, month=_month_words(end), level=percent(level),
            low=money(last["low"]), high=money(last["high"]))
    else:
        text = _("MRR is forecast at {amount} in {months} months ({month}).").format(
            amount=money(last["central"]), months=months, month=_month_words(end))
    text += " " + committed
    if goal is not None:
        month, value = goal
        row = forecast.loc[month]
        where = goal_against_band(value, row["low"], row["high"])
        if not where:
            where = "above_central" if value > row["central"] else "below_central" if value < row["central"] \
                else "at_central"
        sentence = {
            "inside": _("The goal of {goal} for {month} is inside the band."),
            "above": _("The goal of {goal} for {month} is above the band: the forecast does not reach it."),
            "below": _("The goal of {goal} for {month} is below the band: the forecast passes it."),
            "above_central": _("The goal of {goal} for {month} is above the forecast."),
            "below_central": _("The goal of {goal} for {month} is below the forecast."),
            "at_central": _("The goal of {goal} for {month} is at the forecast."),
        }[where]
        text += " " + sentence.format(goal=money(value), month=_month_words(month))
    return text


def backtest_note(backtest: pd.DataFrame, level: float = 0.8) -> str:
    """The kit's track record in one or two sentences: how many forecasts held the actual inside their
    band, and their errors with the direction."""
    made = backtest[backtest["forecast"].notna()]
    lags = ", ".join(f"{int(h)}" for h in backtest["horizon_months"])
    if made.empty:
        reason = next((r for r in backtest["reason"] if r), "")
        if reason:
            return _("No backtest: no forecast could be made {lags} months before the period's end "
                     "({reason}).").format(lags=lags, reason=reason)
        return _("No backtest: no forecast could be made {lags} months before the period's end.").format(lags=lags)
    banded = made[made["inside_band"].notna()]
    inside = int(banded["inside_band"].astype(bool).sum())
    errors = [_("{error} at {months} months").format(error=("+" if e > 0 else "") + percent(e, 1), months=int(h))
              for e, h in zip(made["error_pct"], made["horizon_months"]) if not is_missing(e)]
    text = ""
    if len(banded):
        text = ngettext("Track record: {inside} of {n} forecast made before the period held the actual MRR inside "
                        "its {level} band.",
                        "Track record: {inside} of {n} forecasts made before the period held the actual MRR inside "
                        "their {level} band.", len(banded)).format(inside=inside, n=len(banded),
                                                                   level=percent(level)) + " "
    if errors:
        signs = {np.sign(e) for e in made["error_pct"] if not is_missing(e)}
        listed = ", ".join(errors)
        if signs == {-1.0}:
            text += _("Errors (forecast / actual - 1): {errors} (every forecast below what happened).").format(
                errors=listed)
        elif signs == {1.0}:
            text += _("Errors (forecast / actual - 1): {errors} (every forecast above what happened).").format(
                errors=listed)
        else:
            text += _("Errors (forecast / actual - 1): {errors}.").format(errors=listed)
    missing = backtest[backtest["forecast"].isna()]
    for row in missing.itertuples(index=False):
        text += " " + _("No forecast {months} months back: {reason}.").format(months=int(row.horizon_months),
                                                                             reason=row.reason)
    return text.strip()


def pipeline_note(pipeline: pd.DataFrame | None, run_rate: float, currency: str, missing: str = "") -> str:
    """What the open pipeline is expected to bring, against the forecast's new-business run-rate.
    ``missing``: why there is no pipeline, in the reader's language."""
    if pipeline is None:
        return missing
    a = pipeline.attrs
    month = pd.Period(a["as_of"], "M")
    if a["reason"]:
        return _("Open pipeline not weighed: {reason}.").format(reason=a["reason"])
    if a["open"] == 0:
        return _("No opportunity was open at the end of {month}: the pipeline adds no new MRR.").format(
            month=_month_words(month))
    money = lambda v: format_value(v, "money", currency)  # noqa: E731
    total = float(pipeline["cumulative_new_mrr"].iloc[-1])
    deals = float(pipeline["expected_deals"].sum())
    fields = {"opportunities": _count(ngettext("{n} opportunity", "{n} opportunities", a["open"]), a["open"]),
              "month": _month_words(month), "stale": a["stale"], "amount": money(total), "months": len(pipeline),
              "deals": number(deals, 1), "win_rate": _pct(a["win_rate"], 1)}
    if a["stale"]:
        text = _("The {opportunities} open at the end of {month}, {stale} of them stale (open longer than any deal "
                 "won) are expected to bring {amount} of new MRR in the next {months} months ({deals} expected wins "
                 "at the {win_rate} win rate of the last 12 months)").format(**fields)
    else:
        text = _("The {opportunities} open at the end of {month} are expected to bring {amount} of new MRR in the "
                 "next {months} months ({deals} expected wins at the {win_rate} win rate of the last 12 "
                 "months)").format(**fields)
    first = float(pipeline["expected_new_mrr"].iloc[0])
    if is_missing(run_rate) or run_rate <= 0 or total == 0:
        return text + "."
    share = first / run_rate
    text += _(", {first} of it in {month}: {share} of the {run_rate} a month of new and reactivated MRR the "
              "forecast's run-rate assumes").format(first=money(first), month=_month_words(pipeline.index[0]),
                                                    share=_pct(share), run_rate=money(run_rate))
    if share < 1:
        return text + ". " + _("The rest of that month's arrivals have to come from leads not yet opportunities, "
                               "or from customers who return.")
    return text + ". " + _("The open pipeline alone covers the run-rate for that month: the forecast may be "
                           "cautious.")
