"""Words from numbers: every chart title and verdict of the pack.

Each function takes the figures a chart or table shows and returns the sentence that
states its finding, so no title can contradict the numbers under it. Notebooks never
type a finding; tests check each claim flips when the numbers do.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..metrics.acquisition import LTV_CAC_TARGET
from ..metrics.funnel import BOUNCE_THRESHOLD
from .format import format_value, is_missing

MOVEMENT_WORDS = {"new": "new business", "expansion": "expansion", "reactivation": "reactivation",
                  "contraction": "contraction", "churn": "churn"}


def _money(x: float, currency: str) -> str:
    return format_value(x, "money_short", currency)


def _pct(x: float, decimals: int = 0) -> str:
    return "n/a" if is_missing(x) else f"{x * 100:.{decimals}f} %"


def waterfall_title(summary: pd.Series, currency: str, period_title: str) -> str:
    """``MRR grew by $36.7k in December 2025`` (or fell, or did not change); with dated rates that
    moved it, ``..., of which FX impact -$1.2k``."""
    change = float(summary["mrr"]) - float(summary["opening_mrr"])
    if is_missing(change) or change == 0:
        return f"MRR did not change in {period_title}"
    verb = "grew" if change > 0 else "fell"
    fx = float(summary.get("fx_impact", 0.0))
    of_which = f", of which FX impact {_money(fx, currency)}" if fx and not is_missing(fx) else ""
    return f"MRR {verb} by {_money(abs(change), currency)} in {period_title}{of_which}"


def largest_gain_title(movements: pd.DataFrame, currency: str) -> str:
    """Which gain (new, expansion, reactivation) added most MRR over the months shown."""
    gains = movements[["new", "expansion", "reactivation"]].sum()
    if len(movements) == 0 or gains.max() <= 0:
        return "No MRR was gained in these months"
    order = gains.sort_values(ascending=False, kind="stable")
    first, second = order.index[0], order.index[1]
    months = len(movements)
    return (f"{MOVEMENT_WORDS[first].capitalize()} added the most MRR over {months} months "
            f"({_money(order.iloc[0], currency)}), ahead of {MOVEMENT_WORDS[second]} "
            f"({_money(order.iloc[1], currency)})")


def retention_title(nrr: float, grr: float, month: pd.Period) -> str:
    """``NRR 101 %, GRR 81 % at Dec 2025: expansion more than offsets losses``."""
    if is_missing(nrr):
        return f"No customers paid twelve months before {month.strftime('%b %Y')}: NRR is undefined"
    verdict = ("expansion more than offsets losses" if nrr > 1 else
               "losses exceed expansion" if nrr < 1 else "expansion exactly offsets losses")
    return f"NRR {_pct(nrr)}, GRR {_pct(grr)} at {month.strftime('%b %Y')}: {verdict}"


def share_title(shares: pd.Series, what: str = "MRR") -> str:
    """``Enterprise brings 52 % of MRR`` from a group -> share series (largest first or not)."""
    s = shares.dropna()
    if s.empty:
        return f"No {what} to break down"
    top = s.idxmax()
    return f"{top} brings {_pct(s.max())} of {what}"


def trend_title(values: pd.Series, label: str, currency: str = "USD") -> str:
    """A chart title stating the finding, e.g. ``MRR grew 38% over 24 months to $612k``."""
    v = values.dropna()
    if len(v) < 2 or v.iloc[0] == 0:
        return f"{label} over time"
    change = v.iloc[-1] / v.iloc[0] - 1
    verb = "grew" if change >= 0 else "fell"
    return (f"{label} {verb} {abs(change) * 100:.0f}% over {len(v) - 1} months "
            f"to {format_value(v.iloc[-1], 'money_short', currency)}")


def churn_trend_title(rates: pd.Series, band: tuple[float, float]) -> str:
    """The last six months' average monthly customer churn, placed against the ``band`` (healthy up to
    its low end, unhealthy above its high end). The average is judged as printed (to 0.1 %), so the
    words never contradict the figure."""
    recent = rates.dropna().tail(6)
    if recent.empty:
        return "No customer churn can be measured yet"
    avg = round(float(recent.mean()), 3)
    low, high = (f"{b * 100:g}" for b in band)
    where = ("inside the healthy range" if avg <= band[0] else
             f"inside the {low}-{high} % watch band" if avg <= band[1] else f"above the {high} % alarm level")
    return f"Customer churn averaged {_pct(avg, 1)} a month over the last {len(recent)} months, {where}"


def cohort_title(kind: str, matrix: pd.DataFrame, age: int = 12) -> str:
    """Logo or revenue retention after ``age`` months, over the cohorts old enough (size-weighted)."""
    seen = matrix[age].notna() if age in matrix.columns else pd.Series(False, index=matrix.index)
    if not seen.any():
        return f"{kind.capitalize()} retention: no cohort is {age} months old yet"
    sizes = matrix.loc[seen, "customers"]
    at_age = float((matrix.loc[seen, age] * sizes).sum() / sizes.sum())
    if kind == "logo":
        return f"Logo retention: {_pct(at_age)} of customers still pay after {age} months"
    return f"Revenue retention: cohorts keep {_pct(at_age)} of their MRR after {age} months"


def survival_title(curves: pd.DataFrame, by: str = "segment", month: int = 24) -> str:
    """The group that lasts longest, from Kaplan-Meier curves (``month``, ``survival``, ``by``)."""
    s = curves[curves["month"] <= month].groupby(by)["survival"].last().dropna()
    if s.empty:
        return "Survival by segment"
    if len(s) > 1 and math.isclose(s.max(), s.min(), abs_tol=0.005):
        return f"Every segment keeps about {_pct(s.mean())} of its customers for {month} months"
    return f"{s.idxmax()} customers last longest: {_pct(s.max())} still pay after {month} months"


def projection_title(survival_36: float) -> str:
    if is_missing(survival_36):
        return "Not enough cohort history to project survival"
    return f"The model projects {_pct(survival_36)} of a new cohort still paying after 36 months"


def funnel_title(lead_to_customer: float, period_title: str) -> str:
    if is_missing(lead_to_customer):
        return f"No leads were created in {period_title}"
    return f"{_pct(lead_to_customer, 1)} of {period_title}'s leads have become customers so far"


def best_channel_title(rates: pd.Series, what: str = "converts leads to customers best") -> str:
    s = rates.dropna()
    if s.empty or s.max() <= 0:
        return "No channel converted a lead into a customer in this period"
    return f"{s.idxmax()} {what} ({_pct(s.max(), 1)})"


def cycle_title(median_days: float, period_title: str) -> str:
    if is_missing(median_days):
        return f"No deal was won in {period_title}"
    return f"Half the deals won in {period_title} closed within {median_days:.0f} days"


def bounce_title(rates: pd.Series, limit: float = BOUNCE_THRESHOLD) -> str:
    high = int((rates.dropna() >= limit).sum())
    if high == 0:
        return f"Every channel bounces below {limit:.0%}"
    return f"{high} channel{'s' if high > 1 else ''} bounce{'' if high > 1 else 's'} at {limit:.0%} or more"


def cac_title(cac: pd.Series) -> str:
    s = cac.dropna()
    if s.empty:
        return "No channel won customers in this period"
    return f"{s.idxmin()} wins customers most cheaply"


def ltv_cac_verdict(ratio: float, target: float = LTV_CAC_TARGET) -> str:
    if is_missing(ratio):
        return "undefined"
    return f"healthy ({target:.0f}:1 or better)" if ratio >= target else f"below the {target:.0f}:1 target"


def nps_title(nps: float, margin: float, n: float, wave_title: str | None) -> str:
    if wave_title is None or is_missing(nps):
        return "No survey wave has closed yet"
    return f"NPS {nps:+.0f} ± {margin:.0f} in the {wave_title} wave (n = {n:.0f})"


def ces_title(mean: float, n: float, wave_title: str | None = None) -> str:
    """``Customer effort: mean 5.6 of 7 from 310 answers (Q4 2025 wave)``."""
    wave = f" ({wave_title} wave)" if wave_title else ""
    if is_missing(mean) or n == 0:
        return "No effort answers in this wave"
    return f"Customer effort: mean {mean:.1f} of 7 from {n:.0f} answers{wave}"


def return_title(returns: pd.Series) -> str:
    """Which channel's new customers bring the most new ARR per unit of its spend."""
    s = returns.dropna()
    if s.empty:
        return "No channel both spent and won customers in this period"
    best = s.idxmax()
    return f"{best} brings the most new ARR per unit of spend ({s.max():.2f})"


def engagement_title(low_rate: float, high_rate: float) -> str:
    """How much more often low-engagement accounts churn than highly engaged ones."""
    if is_missing(low_rate) or is_missing(high_rate):
        return "Engagement and churn"
    if high_rate == 0:
        return ("Highly engaged accounts did not churn; low-engagement ones churned "
                f"{_pct(low_rate, 1)} of the time")
    ratio = low_rate / high_rate
    if ratio >= 1.05:
        return f"Low-engagement accounts churn {ratio:.1f}x as often as highly engaged ones"
    if ratio <= 0.95:
        return f"Highly engaged accounts churn {1 / ratio:.1f}x as often as low-engagement ones"
    return "Engagement does not change how often accounts churn"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def restatement_note(period_title: str, figures: int, accounts: int, customers: int, *,
                     later: str = "when rebuilt from this data", accounts_compared: bool = True,
                     not_compared: str = "") -> str:
    """What a later build of an earlier period showed, in one sentence.

    ``figures``: headline figures whose stored value changed; ``accounts``: customer-months whose
    MRR or movement changed; ``customers``: the distinct customers among them; ``later``: where
    the later figures come from ("when rebuilt from this data", "in 2025-12")."""
    if not_compared:
        return f"The {period_title} pack was {not_compared}"
    if figures == 0 and accounts == 0:
        same = "the same figures and customer movements" if accounts_compared else "the same figures"
        return f"Nothing restated: {later}, {period_title} has {same} as in its pack"
    what = _count(figures, "figure", "figures") if figures else "no headline figure"
    if accounts == 0:
        moved = ", without a customer's MRR moving" if accounts_compared else ""
        return f"Restated: {what} of the {period_title} pack changed {later}{moved}"
    return (f"Restated: {what} of the {period_title} pack changed {later}; "
            f"{_count(accounts, 'customer-month', 'customer-months')} moved, from "
            f"{_count(customers, 'customer', 'customers')}")


# --- goals, forecast, backtest, pipeline ------------------------------------------------------------

def _gap_words(gap: float, unit: str, currency: str) -> str:
    """The size of a gap in its unit, printed with enough digits that a gap that is not 0 never reads 0."""
    g = abs(gap)
    if unit == "money":
        text = format_value(g, "money_short", currency)
        return text if g >= 1 else format_value(g, "money_cents", currency)
    if unit == "pct":
        for digits in (1, 2, 3, 4):
            text = f"{g * 100:.{digits}f} pp"
            if float(text.split()[0]) > 0:
                return text
        return f"{g * 100:.2g} pp"
    if unit == "count":
        return f"{g:,.0f}" if g >= 0.5 else f"{g:.2g}"
    if unit == "points":
        return f"{g:.0f} points" if g >= 0.5 else f"{g:.2g} points"
    if unit == "months":
        return f"{g:.1f} months" if g >= 0.05 else f"{g:.2g} months"
    return f"{g:.2f}" if g >= 0.005 else f"{g:.2g}"


def goal_progress(value: float, goal: float, unit: str, better: str, currency: str = "USD") -> str:
    """Progress to a goal in words, e.g. ``Goal $1.45M: $53.6K short`` or, for a KPI where lower is
    better, ``Goal at most 2.0%: met, 0.3 pp below``; ``""`` without a goal. The words follow the sign
    of value - goal, and the gap is printed with enough digits never to read 0 when it is not (money
    counts to the cent, as kpis.json stores it: less than half a cent apart is "met exactly")."""
    if is_missing(goal):
        return ""
    shown = format_value(goal, "money_short" if unit == "money" else unit, currency)
    target = f"Goal {shown}" if better == "higher" else f"Goal at most {shown}"
    if is_missing(value):
        return f"{target}: no value this period to compare"
    gap = float(value) - float(goal)
    if gap == 0 or (unit == "money" and abs(gap) < 0.005):  # money to the cent, as kpis.json stores it
        return f"{target}: met exactly"
    size = _gap_words(gap, unit, currency)
    if better == "higher":
        return f"{target}: beaten by {size}" if gap > 0 else f"{target}: {size} short"
    return f"{target}: met, {size} below" if gap < 0 else f"{target}: {size} above it"


def _month_words(month: pd.Period) -> str:
    return month.strftime("%B %Y")


def forecast_title(forecast: pd.DataFrame, currency: str) -> str:
    """``MRR is forecast at $1.82M by Dec 2026 (80 % band $1.69M-$1.93M)``, or, without a forecast,
    what the chart shows instead."""
    last = forecast.iloc[-1] if len(forecast) else None
    if last is None or is_missing(last["central"]):
        return "No MRR forecast for this period: MRR so far and committed MRR"
    month = forecast.index[-1].strftime("%b %Y")
    text = f"MRR is forecast at {_money(last['central'], currency)} by {month}"
    if is_missing(last["low"]) or is_missing(last["high"]):
        return text
    level = forecast.attrs.get("assumptions", {}).get("level", 0.8)
    return (f"{text} ({level * 100:.0f} % band {_money(last['low'], currency)}"
            f"–{_money(last['high'], currency)})")


def goal_against_band(goal: float, low: float, high: float) -> str:
    """Where a goal lies against a forecast band: ``inside``, ``above`` or ``below`` (``""`` when
    either is missing). On an edge counts as inside."""
    if is_missing(goal) or is_missing(low) or is_missing(high):
        return ""
    return "above" if goal > high else "below" if goal < low else "inside"


def forecast_note(forecast: pd.DataFrame, goal: tuple[pd.Period, float] | None, currency: str) -> str:
    """What the forecast says, from its figures: the central line and the band at the horizon, the
    committed part, and where the MRR goal of the forecast's months lies against the band."""
    money = lambda v: format_value(v, "money", currency)  # noqa: E731
    if len(forecast) == 0:
        return "No forecast horizon."
    last, end = forecast.iloc[-1], forecast.index[-1]
    committed = (f"Committed MRR, already contracted by signed terms, is {money(forecast['committed'].iloc[0])} "
                 f"in {_month_words(forecast.index[0])} and {money(last['committed'])} in {_month_words(end)}.")
    if is_missing(last["central"]):
        reason = str(last.get("reason", "") or "the data cannot support one")
        return f"No MRR forecast: {reason}. {committed}"
    months = len(forecast)
    text = f"MRR is forecast at {money(last['central'])} in {months} months ({_month_words(end)})"
    level = forecast.attrs.get("assumptions", {}).get("level", 0.8)
    if not (is_missing(last["low"]) or is_missing(last["high"])):
        text += f", {level * 100:.0f} % band {money(last['low'])} to {money(last['high'])}"
    text += f". {committed}"
    if goal is not None:
        month, value = goal
        row = forecast.loc[month]
        where = goal_against_band(value, row["low"], row["high"])
        if where:
            verdict = {"inside": "inside the band", "above": "above the band: the forecast does not reach it",
                       "below": "below the band: the forecast passes it"}[where]
            text += f" The goal of {money(value)} for {_month_words(month)} is {verdict}."
        else:
            side = "above" if value > row["central"] else "below" if value < row["central"] else "at"
            text += f" The goal of {money(value)} for {_month_words(month)} is {side} the forecast."
    return text


def backtest_note(backtest: pd.DataFrame, level: float = 0.8) -> str:
    """The kit's track record in one or two sentences: how many forecasts held the actual inside their
    band, and their errors with the direction."""
    made = backtest[backtest["forecast"].notna()]
    lags = ", ".join(f"{int(h)}" for h in backtest["horizon_months"])
    if made.empty:
        reason = next((r for r in backtest["reason"] if r), "")
        return f"No backtest: no forecast could be made {lags} months before the period's end" + \
            (f" ({reason})." if reason else ".")
    banded = made[made["inside_band"].notna()]
    inside = int(banded["inside_band"].astype(bool).sum())
    errors = [f"{e * 100:+.1f} % at {int(h)} months" for e, h in zip(made["error_pct"], made["horizon_months"])
              if not is_missing(e)]
    text = ""
    if len(banded):
        text = (f"Track record: {inside} of {len(banded)} forecast{'s' if len(banded) > 1 else ''} made before the "
                f"period held the actual MRR inside {'their' if len(banded) > 1 else 'its'} {level * 100:.0f} % band. ")
    if errors:
        signs = {np.sign(e) for e in made["error_pct"] if not is_missing(e)}
        direction = (" (every forecast below what happened)" if signs == {-1.0} else
                     " (every forecast above what happened)" if signs == {1.0} else "")
        text += f"Errors (forecast / actual - 1): {', '.join(errors)}{direction}."
    missing = backtest[backtest["forecast"].isna()]
    for row in missing.itertuples(index=False):
        text += f" No forecast {int(row.horizon_months)} months back: {row.reason}."
    return text.strip()


def pipeline_note(pipeline: pd.DataFrame | None, run_rate: float, currency: str, missing: str = "") -> str:
    """What the open pipeline is expected to bring, against the forecast's new-business run-rate."""
    if pipeline is None:
        return missing
    a = pipeline.attrs
    month = pd.Period(a["as_of"], "M")
    if a["reason"]:
        return f"Open pipeline not weighed: {a['reason']}."
    if a["open"] == 0:
        return f"No opportunity was open at the end of {_month_words(month)}: the pipeline adds no new MRR."
    money = lambda v: format_value(v, "money", currency)  # noqa: E731
    total = float(pipeline["cumulative_new_mrr"].iloc[-1])
    deals = float(pipeline["expected_deals"].sum())
    stale = f", {a['stale']} of them stale (open longer than any deal won)" if a["stale"] else ""
    text = (f"The {_count(a['open'], 'opportunity', 'opportunities')} open at the end of {_month_words(month)}"
            f"{stale} are expected to bring {money(total)} of new MRR in the next {len(pipeline)} months "
            f"({deals:.1f} expected wins at the {_pct(a['win_rate'], 1)} win rate of the last 12 months)")
    first = float(pipeline["expected_new_mrr"].iloc[0])
    if is_missing(run_rate) or run_rate <= 0 or total == 0:
        return text + "."
    share = first / run_rate
    text += (f", {money(first)} of it in {_month_words(pipeline.index[0])}: {_pct(share)} of the "
             f"{money(run_rate)} a month of new and reactivated MRR the forecast's run-rate assumes")
    if share < 1:
        return text + (". The rest of that month's arrivals have to come from leads not yet opportunities, or "
                       "from customers who return.")
    return text + ". The open pipeline alone covers the run-rate for that month: the forecast may be cautious."
