"""Words from numbers: every chart title and verdict of the pack.

Each function takes the figures a chart or table shows and returns the sentence that
states its finding, so no title can contradict the numbers under it. Notebooks never
type a finding; tests check each claim flips when the numbers do.
"""

from __future__ import annotations

import math

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
