"""Expected new MRR from the open pipeline: open opportunities weighted by the win rate and timed
by the sales cycle.

The rule (normative; docs/metrics.md, "Forecast"). ``as_of`` is the last month known; its last
day is D.

- **Known at as_of.** The leads are cut at D by the kit's as-of rule
  (:func:`kpilib.data.asof.cut_table`): a stage date or a close after D was not yet known.
- **Open opportunity**: ``opportunity_at`` on or before D and no ``closed_at``.
- **History**: the opportunities closed (``closed_at`` in the :data:`WINDOW` months to as_of,
  ``opportunity_at`` set). Win rate w = won / (won + lost); the won deals' cycles
  d_1 .. d_n = ``closed_at - opportunity_at`` in days.
- **Value** of an opportunity: its ``amount`` (the deal's annual contract value, in the base
  currency) / 12 as MRR; without an amount, the mean amount of the deals won in the window.
- **Timing.** An opportunity open for a days at D (a = D - ``opportunity_at``) closes, if won, after
  one of the won cycles longer than a, each equally likely: on day D + (d_k - a). So its expected new
  MRR in month j is w x value x (the share of those d_k whose close day falls in month j), counted in
  the month it closes. An opportunity older than every won cycle (a >= max d_k) is **stale** and
  expected to bring nothing; closes after the horizon are left out (counted in ``attrs``).

The expected MRR is gross new MRR at its close month (no churn after it). The forecast's new
business (:func:`kpilib.metrics.forecast.forecast_mrr`) follows the trailing run-rate of new MRR,
which already counts the deals that came through this pipeline, so the two are compared, not added.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.asof import cut_table
from ..errors import KpiError
from ..i18n import _, ngettext
from .revenue import ratio

#: Months of closed opportunities behind the win rate and the cycles.
WINDOW = 12
PIPELINE_COLUMNS = ["expected_deals", "expected_new_mrr", "cumulative_new_mrr"]


def _close_shares(age: np.ndarray, cycles: np.ndarray, day: pd.Timestamp, month: pd.Period,
                  width: int) -> tuple[np.ndarray, int]:
    """Per open opportunity, the share of the won cycles longer than its age that close it in each of
    the ``width - 1`` months after ``month`` (the last column: any later month), and how many are
    stale (no won cycle is longer). Computed once per distinct age and distinct cycle length."""
    out = np.zeros((len(age), width))
    lengths, counts = np.unique(cycles, return_counts=True)
    stale = 0
    first = (month + 1).ordinal
    for a in np.unique(age):
        longer = lengths > a
        rows = age == a
        if not longer.any():
            stale += int(rows.sum())
            continue
        close = (np.datetime64(day.date(), "D") + (lengths[longer] - a)).astype("datetime64[M]").astype("int64")
        offset = close - first  # datetime64[M] and monthly Period ordinals both count months from 1970-01
        column = np.clip(offset, 0, width - 1)
        out[rows] = np.bincount(column, weights=counts[longer], minlength=width) / counts[longer].sum()
    return out, stale


def pipeline_mrr(leads: pd.DataFrame, *, as_of: pd.Period | str, horizon: int = 12) -> pd.DataFrame:
    """Expected new MRR from the opportunities open at the end of ``as_of``, by expected close month.

    Parameters
    ----------
    leads
        The contract's leads table (amounts in the base currency), full or cut at ``as_of``: it is
        cut at the last day of ``as_of``, so nothing later is used.
    as_of
        The last month known (``pandas.Period`` or ``'YYYY-MM'``).
    horizon
        Months after ``as_of`` shown.

    Returns
    -------
    DataFrame
        Index ``month`` (the ``horizon`` months after ``as_of``); columns ``expected_deals`` (sum of
        the win probabilities of the deals expected to close that month), ``expected_new_mrr`` and
        ``cumulative_new_mrr``. ``attrs``: ``open`` (opportunities open at as_of), ``stale``,
        ``beyond_horizon`` (expected MRR closing later), ``win_rate``, ``closed`` and ``won`` (the
        window's opportunities), ``mean_amount`` (of the won deals), ``imputed`` (open opportunities
        valued at that mean), ``median_cycle_days`` and ``reason``: "" when the expected MRR is
        defined; without a closed opportunity in the window the win rate is undefined (and without an
        amount to value an opportunity by, so is its MRR): the frame is then NaN with the reason.

    Notes
    -----
    See the module notes for the rule; examples are worked by hand in tests/test_pipeline.py.
    """
    if int(horizon) != horizon or horizon < 1:
        raise KpiError(f"horizon must be a whole number of months >= 1, not {horizon!r}")
    month = pd.Period(as_of, freq="M") if isinstance(as_of, str) else as_of.asfreq("M", how="end")
    day = month.end_time.normalize()
    known = cut_table("leads", leads, day)
    months = pd.period_range(month + 1, periods=int(horizon), freq="M", name="month")
    closed_month = known["closed_at"].dt.to_period("M")
    history = known[known["opportunity_at"].notna() & known["closed_at"].notna()
                    & (closed_month > month - WINDOW) & (closed_month <= month)]
    won = history[history["outcome"] == "won"]
    lost = int((history["outcome"] == "lost").sum())
    w = ratio(len(won), len(won) + lost)
    cycles = (won["closed_at"] - won["opportunity_at"]).dt.days.to_numpy(dtype="int64")
    mean_amount = float(won["amount"].mean()) if won["amount"].notna().any() else float("nan")
    open_ = known[known["opportunity_at"].notna() & known["closed_at"].isna()]
    age = (day - open_["opportunity_at"]).dt.days.to_numpy(dtype="int64")
    amount = open_["amount"].to_numpy(dtype="float64")
    imputed = int(np.isnan(amount).sum())
    value = np.where(np.isnan(amount), mean_amount, amount) / 12
    reason = ""
    if not np.isfinite(w):
        reason = _("no opportunity closed in the {months} months to {month}: no win rate to weigh the "
                   "pipeline").format(months=WINDOW, month=month)
    elif imputed and not np.isfinite(mean_amount) and len(won):
        reason = ngettext("{n} open opportunity has no amount and no deal won in the {months} months to {month} "
                          "has one to value it by",
                          "{n} open opportunities have no amount and no deal won in the {months} months to {month} "
                          "has one to value them by", imputed).format(n=imputed, months=WINDOW, month=month)
    shares, stale = _close_shares(age, cycles, day, month, len(months) + 1)  # the last column: beyond
    weight = (w if np.isfinite(w) else 0.0) * np.where(np.isfinite(value), value, 0.0)
    deals = (w if np.isfinite(w) else 0.0) * shares[:, :-1].sum(axis=0)
    mrr = weight @ shares[:, :-1]
    beyond = float(weight @ shares[:, -1])
    out = pd.DataFrame({"expected_deals": deals, "expected_new_mrr": mrr, "cumulative_new_mrr": np.cumsum(mrr)},
                       index=months)
    if reason:
        out[:] = np.nan
    out.attrs = {"as_of": str(month), "open": int(len(open_)), "stale": stale, "beyond_horizon": beyond,
                 "win_rate": w, "closed": int(len(history)), "won": int(len(won)), "mean_amount": mean_amount,
                 "imputed": imputed, "median_cycle_days": float(np.median(cycles)) if cycles.size else float("nan"),
                 "reason": reason}
    return out
