"""MRR forecast with a bootstrap band, committed MRR, and a backtest of the kit's own forecasts.

The model (normative; the page's note words it for readers). Months are month ends; ``as_of`` is
the last month known; h = 1 .. H are the months after it.

- **Known at as_of only.** Every function cuts the subscriptions (and dated fx rates) at the last
  day of ``as_of`` with the kit's as-of rule (:func:`kpilib.data.asof.cut_table`): rows starting
  later do not exist, end dates later were still empty. Passing a table already cut, or the full
  table, gives the same forecast.
- **Committed MRR** (:func:`committed_mrr`): rows active at as_of, each until its commitment end:
  its end date when one is known, else the end of the term in force at as_of (``term_months``
  blocks counted from ``start_date``; without a term, one billing interval). Under the as-of rule
  no end date after as_of is known, so in a forecast the commitment comes from the terms.
- **Installed base.** Customer i pays m_i at as_of, is billed by an interval of k_i months
  (its longest paying row at as_of), has been paying for a_i months in its current spell
  (a_i = 0: started in as_of) and is committed for c_i more months. With S_k(x) the survival of
  a customer billed every k months after x months (below),

      P_i(h) = 1 for h <= c_i,  else S_k(a_i + h) / S_k(a_i + c_i)

  (survival conditional on the tenure known to be reached; Fader & Hardie 2010 on projecting an
  existing base: ignoring tenure overstates its churn), and

      installed_base(h) = (1 + e)^h * sum_i m_i P_i(h).

- **Retention** S_k, per billing interval: ``model="sbg"`` fits the shifted-beta-geometric
  model (Fader & Hardie 2007, :func:`kpilib.metrics.sbg.fit_sbg_lifetimes`) to the first-spell
  lifetimes counted in renewal periods (:func:`kpilib.metrics.cohorts.interval_lifetimes`), so
  S_k(x) = S_sBG(floor(x / k)): an annual customer leaves only at a renewal. ``model="geometric"``
  uses one churn rate per renewal period, q = churns / renewal decisions observed (its maximum
  likelihood estimate), S_k(x) = (1 - q)^floor(x / k). An interval with fewer than
  :data:`MIN_CUSTOMERS` customers, or no churn yet, uses the model fitted to every customer's
  lifetime in months, at its own renewals: S_k(x) = S_month(k floor(x / k)).
- **Net expansion** e per month = (expansion + contraction) / MRR of the customers retained, over
  the trailing :data:`WINDOW` months of :func:`kpilib.metrics.mrr.mrr_movements` (0 when no MRR
  was retained).
- **New business**: arrivals (new and reactivated MRR) run at nu = their mean per month over the
  same trailing window; arrivals of month j are retained like new customers of their interval,

      new_business(h) = sum_{j=1..h} (1 + e)^(h-j) sum_k nu_k S_k(h - j)

  with nu_k the part of nu billed every k months.
- **central** = installed_base + new_business (the point forecast with the parameters fitted to
  all the data). Committed MRR is part of the installed base.

**The band** is a predictive bootstrap (Efron & Tibshirani 1993; Davison & Hinkley 1997 on
bootstrap prediction intervals), ``n_boot`` replicates from ``numpy.random.default_rng(seed)``:

1. resample the customers' lifetimes with replacement and refit the retention (parameter
   uncertainty): every replicate's resample is drawn first, then each interval's refits are solved
   together from the point fit (:func:`kpilib.metrics.sbg.fit_sbg_counts_batch`: each reaches the
   maximum :func:`~kpilib.metrics.sbg.fit_sbg_counts` with ``start`` reaches); a refit that fails
   keeps the point fit of that interval;
2. resample the trailing window's months with replacement (whole months: arrivals, expansion and
   contraction together), giving e* and the months future arrivals are drawn from;
3. simulate the outcome: each installed customer keeps paying through h with probability P_i(h)
   (one uniform draw per customer, so a path never comes back); each future month j receives a
   count of arrivals with the mean of the resampled months' counts (Poisson, or negative binomial
   with their variance when it exceeds the mean: campaigns and seasons make arrivals lumpy),
   each drawn from the resampled months' arrivals (its MRR and interval) and retained with
   probability S_k(h - j).

``low`` and ``high`` are the (1 - level) / 2 and (1 + level) / 2 quantiles of the simulated
totals. Calibration (tests/test_forecast.py): on synthetic monthly books drawn from known sBG
parameters and a known new-business rate, the 80 % band held the MRR 6 and 12 months later in 80
of 100 books. The installed base itself is not resampled: who pays at as_of is known, what is uncertain
is who of them leaves (step 3) and at what rate (step 1).

**Undefined cases** return the frame with NaN and a ``reason``, never inf or an exception: no
customer paying at as_of, fewer than :data:`MIN_HISTORY` months of MRR history (the first month of
data included), a retention that cannot be fitted (too few customers, no churn ever). Committed
MRR is a fact, not a model: it is always filled in (0 for an empty book).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from ..data.asof import cut_table
from ..data.currency import rates_at
from ..errors import KpiError, ModelFitError, PeriodError
from ..i18n import N_, _, ngettext
from ..periods import ReportPeriod, parse_period
from .cohorts import interval_lifetimes, longest_interval
from .mrr import MONTHS_PER_INTERVAL, _lookup, customer_mrr, mrr_movements
from .sbg import _number, _pct, fit_sbg_counts, fit_sbg_counts_batch, parameter_text, survival

Model = Literal["sbg", "geometric"]
MODELS = ("sbg", "geometric")
#: Months of MRR history (the first month included) below which no forecast is made.
MIN_HISTORY = 6
#: Trailing months behind the new-business run-rate and the net expansion rate.
WINDOW = 12
#: Customers of a billing interval below which its retention is not fitted on its own.
MIN_CUSTOMERS = 20
#: Billing intervals in the order of the survival table's rows.
INTERVALS: tuple[tuple[str, int], ...] = tuple(MONTHS_PER_INTERVAL.items())
FORECAST_COLUMNS = ["committed", "central", "low", "high", "installed_base", "new_business", "reason"]
BACKTEST_COLUMNS = ["made_at", "horizon_months", "forecast", "low", "high", "actual", "error_pct", "inside_band",
                    "reason"]


def _month(value: pd.Period | str | ReportPeriod) -> pd.Period:
    """The month of ``as_of`` / ``end``: a monthly Period, 'YYYY-MM', or a period's last month."""
    if isinstance(value, (str, ReportPeriod)):
        return parse_period(value).last
    if isinstance(value, pd.Period):
        return value.asfreq("M", how="end")
    raise PeriodError(f"as_of must be 'YYYY-MM' or a pandas Period, not {value!r}")


def _check(horizon: int, n_boot: int, level: float, model: str) -> None:
    if model not in MODELS:
        raise KpiError(f"model {model!r} is not one of {list(MODELS)}")
    if int(horizon) != horizon or horizon < 1:
        raise KpiError(f"horizon must be a whole number of months >= 1, not {horizon!r}")
    if int(n_boot) != n_boot or n_boot < 0:
        raise KpiError(f"n_boot must be a whole number >= 0, not {n_boot!r}")
    if not 0 < level < 1:
        raise KpiError(f"level must be between 0 and 1 (0.8 = an 80 % band), not {level!r}")


def known_at(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None,
             as_of: pd.Period) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Subscriptions and fx rates as known at the last day of ``as_of`` (the kit's as-of rule,
    :func:`kpilib.data.asof.cut_table`); cutting twice changes nothing."""
    last_day = as_of.end_time.normalize()
    fx = cut_table("fx_rates", fx_rates, last_day) if fx_rates is not None else None
    return cut_table("subscriptions", subscriptions, last_day), fx


def committed_mrr(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None = None, *,
                  as_of: pd.Period | str, horizon: int = 12, base_currency: str = "USD") -> pd.DataFrame:
    """MRR already contracted for each of the ``horizon`` months after ``as_of``, per customer.

    Parameters
    ----------
    subscriptions, fx_rates
        Contract tables. End dates in ``subscriptions`` are taken as known: pass a table cut at
        ``as_of`` (:func:`known_at`; :func:`forecast_mrr` does) for the kit's as-of rule, under which
        an end date after ``as_of`` is not yet known.
    as_of
        The last month known.

    Returns
    -------
    DataFrame
        Index ``customer_id`` (every customer of ``subscriptions``), columns the months after
        ``as_of`` (``PeriodIndex`` named ``month``), MRR in the base currency at ``as_of``'s rates.

    Notes
    -----
    A row is committed when it pays at the end of ``as_of`` (``start_date <= last day < end_date``,
    amount > 0), and stays committed at the month ends before its commitment end: its ``end_date``
    when set, else the end of the term in force at ``as_of``, ``start_date`` + n T months with
    T = ``term_months`` (one billing interval when missing or absent) and n the first whole number
    of terms that ends after ``as_of`` (an auto-renewed term counts from its last renewal). Only
    the month of the commitment end matters: a month end counts while it is before it. Row MRR is
    that of :func:`kpilib.metrics.mrr.customer_mrr`.
    """
    month = _month(as_of)
    last_day = month.end_time.normalize()
    subs = subscriptions
    active = ((subs["start_date"] <= last_day) & (subs["end_date"].isna() | (subs["end_date"] > last_day))
              & (subs["amount"] > 0)).to_numpy(dtype=bool)
    rows = subs[active]
    interval = _lookup(rows["billing_interval"], MONTHS_PER_INTERVAL)
    term = (rows["term_months"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
            if "term_months" in rows else np.full(len(rows), np.nan))
    term = np.where(np.isnan(term), interval, term).astype("int64")
    first = pd.DatetimeIndex(rows["start_date"]).to_period("M").asi8
    term_end = first + ((month.ordinal - first) // term + 1) * term
    ends = pd.PeriodIndex.from_ordinals(term_end, freq="M").to_timestamp()
    rows = rows.assign(end_date=rows["end_date"].where(rows["end_date"].notna(), ends.to_numpy()))
    out = customer_mrr(rows, rates_at(fx_rates, month), month + 1, month + horizon, base_currency=base_currency)
    customers = pd.Index(pd.unique(subs["customer_id"]), name="customer_id").sort_values()
    return out.reindex(customers, fill_value=0.0)


@dataclass(frozen=True)
class _Book:
    """What the projection needs, as arrays: the installed base, the trailing window, lifetimes."""

    mrr: np.ndarray  # installed customers' MRR at as_of
    code: np.ndarray  # row of their interval in the survival table (INTERVALS)
    age: np.ndarray  # months paid in the current spell before as_of (0: started in as_of)
    held: np.ndarray  # months committed after as_of, at most the horizon
    arrival_month: np.ndarray  # window month (0 .. W-1) of each arrival (new or reactivated)
    arrival_mrr: np.ndarray
    arrival_code: np.ndarray
    grow: np.ndarray  # per window month: expansion + contraction
    kept: np.ndarray  # per window month: MRR of the customers retained (opening + churn)
    cells: pd.DataFrame  # distinct lifetimes: k, duration, periods, churned
    counts: np.ndarray  # customers per cell
    horizon: int

    @cached_property
    def cell_k(self) -> np.ndarray:
        return self.cells["k"].to_numpy(dtype="int64")

    @cached_property
    def durations(self) -> np.ndarray:
        return self.cells["duration"].to_numpy(dtype="int64")

    @cached_property
    def periods(self) -> np.ndarray:
        return self.cells["periods"].to_numpy(dtype="int64")

    @cached_property
    def churned(self) -> np.ndarray:
        return self.cells["churned"].to_numpy(dtype=bool)

    @property
    def width(self) -> int:
        """Months the survival table covers: every tenure the projection looks up."""
        return int(max(self.age.max(initial=0) + self.horizon, self.horizon)) + 1

    @property
    def needed(self) -> set[int]:
        return set(np.unique(self.code).tolist()) | set(np.unique(self.arrival_code).tolist())


def _codes(subscriptions: pd.DataFrame, customers: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Survival-table row of each (customer, month): the longest interval of its paying rows active
    at that month end (:func:`~kpilib.metrics.cohorts.longest_interval`; monthly when none is)."""
    month_ends = pd.PeriodIndex.from_ordinals(months, freq="M").to_timestamp(how="end").normalize()
    k = longest_interval(subscriptions, customers, month_ends.to_numpy())
    return np.searchsorted([m for _, m in INTERVALS], np.where(k > 0, k, 1))


def _arrivals(wide: pd.DataFrame, window: pd.PeriodIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window month index, customer and MRR of every 0 -> >0 step (new or reactivated) in ``window``."""
    cols = wide.columns.get_indexer(window)
    values = wide.to_numpy(dtype="float64")
    step = (values[:, cols - 1] <= 0) & (values[:, cols] > 0)
    rows, month = np.nonzero(step)
    return month, rows, values[rows, cols[month]]


def _book(wide: pd.DataFrame, subs: pd.DataFrame, fx: pd.DataFrame | None, as_of: pd.Period,
          committed: pd.DataFrame, horizon: int, base_currency: str) -> _Book:
    """Reduce the data known at ``as_of`` to the arrays of :class:`_Book` (``wide`` ends at as_of)."""
    values = wide.to_numpy(dtype="float64")
    paying = values > 0
    now = paying[:, -1]
    run = np.where(paying.all(axis=1), paying.shape[1], np.argmin(paying[:, ::-1], axis=1))
    ids = wide.index.to_numpy()[now]
    held = (committed.reindex(ids, fill_value=0.0).to_numpy() > 0).sum(axis=1)
    window = wide.columns[1:][-WINDOW:]
    month, rows, arrival_mrr = _arrivals(wide, window)
    moves = mrr_movements(subs, fx, window[0], as_of, base_currency=base_currency).reindex(window, fill_value=0.0)
    lifetimes = interval_lifetimes(wide, subs)
    cells = (lifetimes.assign(k=lifetimes["months_per_period"]).groupby(["k", "duration", "periods", "churned"])
             .size().rename("customers").reset_index())
    return _Book(mrr=values[now, -1], code=_codes(subs, ids, np.full(len(ids), as_of.ordinal)),
                 age=run[now] - 1, held=held, arrival_month=month, arrival_mrr=arrival_mrr,
                 arrival_code=_codes(subs, wide.index.to_numpy()[rows], window.asi8[month]),
                 grow=(moves["expansion"] + moves["contraction"]).to_numpy(dtype="float64"),
                 kept=(moves["opening_mrr"] + moves["churn"]).to_numpy(dtype="float64"),
                 cells=cells.drop(columns="customers"), counts=cells["customers"].to_numpy(dtype="int64"),
                 horizon=horizon)


Survival = Callable[[np.ndarray], np.ndarray]


Params = tuple[float, float] | None  # a fitted sBG's (alpha, beta): the start of its bootstrap refits


class _FitFailed(ModelFitError):
    """A retention fit that failed: the message in English, as every error of the kit, and ``reason``,
    the same in the reader's language for the page's notes."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


def _reason(err: ModelFitError) -> str:
    """Why a fit failed, in the reader's language when it says so (:class:`_FitFailed`)."""
    return err.reason if isinstance(err, _FitFailed) else str(err)


def _too_few(n: int, interval: str | None) -> _FitFailed:
    """Too few customers for a fit: those billed by ``interval``, or (``None``) every customer, pooled."""
    if interval is None:
        message = f"only {n} customer{'' if n == 1 else 's'} in all: too few to fit (at least {MIN_CUSTOMERS})"
        return _FitFailed(message, ngettext("only {n} customer in all: too few to fit (at least {minimum})",
                                            "only {n} customers in all: too few to fit (at least {minimum})",
                                            n).format(n=n, minimum=MIN_CUSTOMERS))
    message = (f"only {n} customer{'' if n == 1 else 's'} billed by the {interval}: too few to fit "
               f"(at least {MIN_CUSTOMERS})")
    reason = {"month": ngettext("only {n} customer billed by the month: too few to fit (at least {minimum})",
                                "only {n} customers billed by the month: too few to fit (at least {minimum})", n),
              "quarter": ngettext("only {n} customer billed by the quarter: too few to fit (at least {minimum})",
                                  "only {n} customers billed by the quarter: too few to fit (at least {minimum})", n),
              "year": ngettext("only {n} customer billed by the year: too few to fit (at least {minimum})",
                               "only {n} customers billed by the year: too few to fit (at least {minimum})", n),
              }.get(interval)
    return _FitFailed(message, reason.format(n=n, minimum=MIN_CUSTOMERS) if reason is not None else message)


#: How :func:`kpilib.metrics.sbg.fit_sbg_counts` words a fit that did not converge (the optimiser's own
#: words follow in brackets).
_NOT_CONVERGED = "the sBG optimiser did not converge ("


def _not_converged(message: str) -> _FitFailed:
    """The sBG's failure, its own words kept (the optimiser's detail stays as scipy wrote it)."""
    if message.startswith(_NOT_CONVERGED) and message.endswith(")"):
        detail = message[len(_NOT_CONVERGED):-1]
        return _FitFailed(message, _("the sBG optimiser did not converge ({detail})").format(detail=detail))
    return _FitFailed(message)


def _fit(periods: np.ndarray, churned: np.ndarray, counts: np.ndarray, model: str, interval: str,
         start: Params = None, *, pooled: bool = False) -> tuple[Survival, str, Params]:
    """Survival after t renewal periods fitted to lifetime cells (``counts`` customers each), a note
    naming the fit, and the sBG's (alpha, beta) (None for the geometric model). ``start``: the point
    fit's parameters, where a bootstrap refit starts (:func:`kpilib.metrics.sbg.fit_sbg_counts`);
    ``pooled``: the cells are every customer's lifetime (in ``interval``s), whatever its billing.

    Raises ModelFitError when the cells hold fewer than :data:`MIN_CUSTOMERS` customers, nobody
    churned, or the sBG optimiser did not converge.
    """
    n = int(counts.sum())
    if n < MIN_CUSTOMERS:
        raise _too_few(n, None if pooled else interval)
    if model == "geometric":
        lost = int(counts[churned].sum())
        decisions = float(np.dot(counts, np.where(churned, periods, periods - 1)))
        if lost == 0:
            raise _FitFailed("no customer churned, so retention cannot be modelled",
                             _("no customer churned, so retention cannot be modelled"))
        q = lost / decisions
        note = _("geometric, churn {churn} a {interval} ({n} customers)").format(
            churn=_share(q, 2),
            interval=_(_UNITS.get(interval, interval)), n=n)
        return (lambda t: (1 - q) ** t), note, None
    kept = counts > 0
    seen, left, weights = periods[kept], churned[kept], counts[kept].astype("float64")
    if seen.min() < 1:
        raise _FitFailed("lifetimes must be at least one renewal period long",
                         _("lifetimes must be at least one renewal period long"))
    horizon = int(seen.max())
    lost_counts = np.bincount(seen[left] - 1, weights=weights[left], minlength=horizon)
    censored = np.bincount(seen[~left] - 1, weights=weights[~left], minlength=horizon + 1)
    if not lost_counts.any():  # as fit_sbg_counts says it, with the words for the page beside
        raise _FitFailed("no customer churned, so retention cannot be modelled (beta is unbounded)",
                         _("no customer churned, so retention cannot be modelled (beta is unbounded)"))
    fit = fit_sbg_counts(lost_counts[:horizon], censored[: horizon + 1], interval=interval,  # type: ignore[arg-type]
                         on_failure="flag", start=start)
    if not fit.converged:
        raise _not_converged(fit.message)
    return fit.survival, _sbg_note(fit.alpha, fit.beta, interval, n), (fit.alpha, fit.beta)


def _sbg_note(alpha: float, beta: float, interval: str, n: int) -> str:
    """The fit in words: the sBG chance of leaving at renewal t is alpha / (alpha + beta + t - 1)
    (Fader & Hardie 2007), shown at the first renewal and at the one three years in."""
    later = {"month": 36, "quarter": 12, "year": 3}.get(interval, 3)
    first, last = alpha / (alpha + beta), alpha / (alpha + beta + later - 1)
    text = {"month": _("sBG: churn {first} at the first monthly renewal, {last} three years in (alpha={alpha}, "
                       "beta={beta}; {n} customers)"),
            "quarter": _("sBG: churn {first} at the first quarterly renewal, {last} three years in (alpha={alpha}, "
                         "beta={beta}; {n} customers)"),
            "year": _("sBG: churn {first} at the first annual renewal, {last} three years in (alpha={alpha}, "
                      "beta={beta}; {n} customers)")}.get(interval)
    if text is None:
        text = f"sBG: churn {{first}} at the first {interval} renewal, {{last}} three years in (alpha={{alpha}}, " \
               "beta={beta}; {n} customers)"
    return text.format(first=_share(first, 1), last=_share(last, 1), alpha=parameter_text(alpha),
                       beta=parameter_text(beta), n=_number(n, ","))


_UNITS = {"month": N_("month"), "quarter": N_("quarter"), "year": N_("year")}


def _share(x: float, decimals: int) -> str:
    """``f"{x:.1%}"`` (no space) in English; the locale's percent format elsewhere."""
    from ..i18n import current_language

    return format(x, f".{decimals}%") if current_language() == "en" else _pct(x, decimals)


def _row(book: _Book, counts: np.ndarray, model: str, code: int, pooled: bool,
         start: Params = None) -> tuple[np.ndarray, str, Params]:
    """S_k(x), x = 0 .. width - 1, for interval ``code``: fitted to its own customers' renewal periods,
    or (``pooled``) to every customer's lifetime in months, read at the interval's renewals; with the
    note and parameters of :func:`_fit`."""
    name, k = INTERVALS[code]
    x = np.arange(book.width)
    if pooled:
        s, note, params = _fit(book.durations, book.churned, counts, model, "month", start, pooled=True)
        text = {"month": _("every customer's lifetime in months, read at monthly renewals: {note}"),
                "quarter": _("every customer's lifetime in months, read at quarterly renewals: {note}"),
                "year": _("every customer's lifetime in months, read at yearly renewals: {note}")}.get(name)
        if text is None:
            text = f"every customer's lifetime in months, read at {name}ly renewals: {{note}}"
        return s(k * (x // k)), text.format(note=note), params
    mine = (book.cell_k == k) & (counts > 0)
    s, note, params = _fit(book.periods[mine], book.churned[mine], counts[mine], model, name, start)
    return s(x // k), note, params


def _point_survival(book: _Book, model: str) -> tuple[np.ndarray, dict[str, str], dict[int, bool], dict[int, Params]]:
    """The survival table of the full data (one row per interval of :data:`INTERVALS`, rows no
    customer needs are 1), a note per interval, which intervals use the pooled fit, and each
    interval's fitted parameters.

    An interval that cannot be fitted on its own (too few customers, no churn yet) uses the pooled
    fit; when that fails too, ModelFitError says why.
    """
    table, notes, pooled, params = np.ones((len(INTERVALS), book.width)), {}, {}, {}
    for code in sorted(book.needed):
        name = INTERVALS[code][0]
        try:
            table[code], notes[name], params[code] = _row(book, book.counts, model, code, pooled=False)
            pooled[code] = False
        except ModelFitError as own:
            try:
                table[code], note, params[code] = _row(book, book.counts, model, code, pooled=True)
            except ModelFitError as err:
                raise _FitFailed(f"retention cannot be fitted: {err}",
                                 _("retention cannot be fitted: {reason}").format(reason=_reason(err))) from err
            # the pooled fit's note, then why the interval's own fit failed
            notes[name], pooled[code] = _("{note} ({reason})").format(note=note, reason=_reason(own)), True
    return table, notes, pooled, params


def _boot_survival(book: _Book, counts: np.ndarray, model: str, pooled: dict[int, bool],
                   point: np.ndarray, params: dict[int, Params]) -> tuple[np.ndarray, int]:
    """The survival table refitted to resampled lifetime ``counts`` (each interval from the same
    source as the point fit, its optimiser started at the point fit's parameters); an interval whose
    refit fails keeps the point row. Also returns how many did."""
    table, kept = point.copy(), 0
    for code, is_pooled in pooled.items():
        try:
            table[code] = _row(book, counts, model, code, is_pooled, params[code])[0]
        except ModelFitError:
            kept += 1
    return table, kept


def _boot_tables(book: _Book, draws: np.ndarray, model: str, pooled: dict[int, bool], point: np.ndarray,
                 params: dict[int, Params]) -> tuple[np.ndarray, int]:
    """:func:`_boot_survival` of every resample at once: ``draws`` (replicates x cells) -> the survival
    tables (replicates x intervals x months) and how many refits failed and kept the point row.

    The sBG refits of one interval are solved together (:func:`kpilib.metrics.sbg.fit_sbg_counts_batch`,
    started at the point fit, as each refit was); a replicate that cannot be refitted (too few
    customers, nobody churned, no convergence) keeps the point row, as in :func:`_boot_survival`."""
    tables = np.broadcast_to(point, (len(draws), *point.shape)).copy()
    if model != "sbg":
        failed = 0
        for r, counts in enumerate(draws):
            tables[r], kept = _boot_survival(book, counts, model, pooled, point, params)
            failed += kept
        return tables, failed
    failed = 0
    x = np.arange(book.width)
    for code, is_pooled in pooled.items():
        name, k = INTERVALS[code]
        cells = np.ones(len(book.counts), dtype=bool) if is_pooled else book.cell_k == k
        seen = book.durations[cells] if is_pooled else book.periods[cells]
        left = book.churned[cells]
        counts = draws[:, cells].astype("float64")
        horizon = max(int(seen.max(initial=1)), 1)
        lost = np.zeros((len(draws), horizon))
        censored = np.zeros((len(draws), horizon + 1))
        usable = (seen >= 1) & (seen <= horizon)
        np.add.at(lost.T, seen[left & usable] - 1, counts[:, left & usable].T)
        np.add.at(censored.T, seen[~left & usable] - 1, counts[:, ~left & usable].T)
        fits = (counts.sum(axis=1) >= MIN_CUSTOMERS) & ~(counts[:, seen < 1] > 0).any(axis=1)
        start = params[code]
        alpha, beta, ok = (np.full(len(draws), np.nan), np.full(len(draws), np.nan), np.zeros(len(draws), bool))
        if fits.any() and start is not None:
            alpha[fits], beta[fits], ok[fits] = fit_sbg_counts_batch(lost[fits], censored[fits], start,
                                                                     interval="month" if is_pooled else name)  # type: ignore[arg-type]
        at = (k * (x // k)) if is_pooled else (x // k)
        tables[ok, code] = survival(alpha[ok, None], beta[ok, None], at[None, :])
        failed += int((~ok).sum())
    return tables, failed


def _alive(book: _Book, table: np.ndarray) -> np.ndarray:
    """P_i(h), installed customers x months 1 .. H: 1 while committed, then the survival
    conditional on the tenure known to be reached, S_k(a + h) / S_k(a + c)."""
    return _alive_of(book.code, book.age, book.held, book.horizon, table)


def _alive_of(code: np.ndarray, age: np.ndarray, held: np.ndarray, horizon: int, table: np.ndarray) -> np.ndarray:
    """:func:`_alive` of customers given by their interval row, age and committed months."""
    h = np.arange(1, horizon + 1)
    reached = table[code, age + held]
    later = table[code[:, None], age[:, None] + h[None, :]]
    ratio = np.divide(later, reached[:, None], out=np.zeros_like(later), where=reached[:, None] > 0)
    return np.where(h[None, :] <= held[:, None], 1.0, ratio)


def _kinds(book: _Book) -> tuple[np.ndarray, np.ndarray]:
    """The installed customers' distinct (interval row, age, committed months), 3 x G, and each
    customer's kind: customers of one kind share P(h), so it is computed once per kind (a book of
    200,000 customers has a few hundred kinds)."""
    if not book.mrr.size:
        return np.zeros((3, 0), dtype="int64"), np.zeros(0, dtype="int64")
    kinds, of = np.unique(np.stack([book.code, book.age, book.held]), axis=1, return_inverse=True)
    return kinds, of.ravel()


def _staying_mrr(book: _Book, kinds: np.ndarray, of: np.ndarray, table: np.ndarray, u: np.ndarray) -> np.ndarray:
    """MRR of the installed customers still paying in months 1 .. H, customer i paying in month h
    when its draw u_i < P_i(h): as ``book.mrr @ (u[:, None] < _alive(book, table))``, one month
    at a time, without the customers x months matrices."""
    alive = _alive_of(kinds[0], kinds[1], kinds[2], book.horizon, table)
    return np.array([np.dot(book.mrr, u < alive[of, j]) for j in range(book.horizon)], dtype="float64")


def _rate(grow: np.ndarray, kept: np.ndarray) -> float:
    """Net expansion per month, sum(expansion + contraction) / sum(MRR retained); 0 without any."""
    base = float(kept.sum())
    return float(grow.sum()) / base if base > 0 else 0.0


def _project(book: _Book, table: np.ndarray, e: float) -> tuple[np.ndarray, np.ndarray]:
    """The central line's two parts, months 1 .. H (see the module notes)."""
    h = np.arange(1, book.horizon + 1)
    installed = (1 + e) ** h * (book.mrr @ _alive(book, table))
    months = max(int(book.kept.size), 1)
    nu = np.bincount(book.arrival_code, weights=book.arrival_mrr, minlength=len(INTERVALS)) / months
    kept = (nu @ table)[: book.horizon] * (1 + e) ** np.arange(book.horizon)  # one month's arrivals, x months on
    lag = h[:, None] - h[None, :]  # h - j
    new = np.where(lag >= 0, kept[np.clip(lag, 0, None)], 0.0).sum(axis=1)
    return installed, new


def _counts(rng: np.random.Generator, per_month: np.ndarray, size: int) -> np.ndarray:
    """``size`` monthly arrival counts with the mean and, when larger, the variance of ``per_month``
    (the resampled window's counts): Poisson, or negative binomial when the window is overdispersed."""
    mean, var = float(per_month.mean()), float(per_month.var())
    if mean <= 0:
        return np.zeros(size, dtype=np.int64)
    if var <= mean:
        return rng.poisson(mean, size)
    return rng.negative_binomial(mean ** 2 / (var - mean), mean / var, size)


def _arrive(book: _Book, table: np.ndarray, months: np.ndarray, e: float, rng: np.random.Generator) -> np.ndarray:
    """Simulated new business, months 1 .. H, from the resampled window ``months`` (step 3): each
    future month receives a count drawn by :func:`_counts` of arrivals drawn from those of ``months``,
    each kept with probability S_k(age) and grown by (1 + e)^age."""
    per_month = np.bincount(book.arrival_month, minlength=book.kept.size)
    pool = np.flatnonzero(np.isin(book.arrival_month, months))
    pool = np.repeat(pool, np.bincount(months, minlength=book.kept.size)[book.arrival_month[pool]])
    n = _counts(rng, per_month[months], book.horizon)
    picked = pool[rng.integers(0, max(pool.size, 1), n.sum())]
    arrives = np.repeat(np.arange(book.horizon), n)  # the future month (0 = month 1) each one arrives in
    u, code, mrr = rng.random(picked.size), book.arrival_code[picked], book.arrival_mrr[picked]
    out = np.zeros(book.horizon)
    for age in range(book.horizon):  # one pass per age, no arrivals x months matrices
        kept = (arrives + age < book.horizon) & (u < table[code, age])
        out += np.bincount(arrives[kept] + age, weights=mrr[kept] * (1 + e) ** age, minlength=book.horizon)
    return out


def _simulate(book: _Book, point: np.ndarray, pooled: dict[int, bool], params: dict[int, Params], model: str,
              n_boot: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Simulated MRR, replicates x months 1 .. H (steps 1-3 of the module notes), and how many
    interval refits failed and kept the point fit."""
    h = np.arange(1, book.horizon + 1)
    n_months, n_lives = int(book.kept.size), int(book.counts.sum())
    out = np.empty((n_boot, book.horizon))
    # every replicate's resampled lifetimes first, so that their refits are solved together
    tables, failed = _boot_tables(book, rng.multinomial(n_lives, book.counts / n_lives, size=n_boot), model,
                                  pooled, point, params)
    kinds, of = _kinds(book)
    for b, table in enumerate(tables):
        months = rng.integers(0, n_months, n_months)
        e = _rate(book.grow[months], book.kept[months])
        staying = _staying_mrr(book, kinds, of, table, rng.random(book.mrr.size))
        out[b] = (1 + e) ** h * staying + _arrive(book, table, months, e, rng)
    return out, failed


def _undefined(months: pd.PeriodIndex, committed: np.ndarray, reason: str) -> pd.DataFrame:
    """The forecast frame of an undefined case: committed MRR, NaN elsewhere, and the reason."""
    nan = np.full(len(months), np.nan)
    return pd.DataFrame({"committed": committed, "central": nan, "low": nan, "high": nan,
                         "installed_base": nan, "new_business": nan, "reason": reason}, index=months)


def _why_undefined(wide: pd.DataFrame, as_of: pd.Period) -> str:
    """Why no forecast can be made from ``wide`` at ``as_of``, or "" when one can."""
    if wide.shape[0] == 0 or wide.shape[1] == 0 or not (wide.to_numpy() > 0).any():
        return _("no subscription paid anything by the end of {month}").format(month=as_of)
    if not (wide[as_of] > 0).any():
        return _("no customer pays at the end of {month}").format(month=as_of)
    if wide.shape[1] < MIN_HISTORY:
        return ngettext("only {n} month of MRR history up to {month}: the forecast needs at least {minimum}",
                        "only {n} months of MRR history up to {month}: the forecast needs at least {minimum}",
                        wide.shape[1]).format(n=wide.shape[1], month=as_of, minimum=MIN_HISTORY)
    return ""


def forecast_mrr(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None = None, *, as_of: pd.Period | str,
                 horizon: int = 12, n_boot: int = 200, seed: int = 0, level: float = 0.8, model: Model = "sbg",
                 base_currency: str = "USD", wide: pd.DataFrame | None = None) -> pd.DataFrame:
    """MRR forecast for the ``horizon`` months after ``as_of``, with a ``level`` bootstrap band.

    Parameters
    ----------
    subscriptions, fx_rates
        Contract tables, full or cut at ``as_of``: they are cut at the last day of ``as_of``
        (:func:`known_at`), so nothing later is used.
    as_of
        The last month known (``pandas.Period``, ``'YYYY-MM'`` or a period's last month).
    horizon, n_boot, seed, level
        Months forecast; bootstrap replicates (0: no band) drawn from ``default_rng(seed)``;
        the band's coverage (0.8: the 10th to 90th percentile of the simulated MRR).
    model
        Retention per billing interval: ``"sbg"`` (shifted-beta-geometric) or ``"geometric"``.
    base_currency
        Reporting currency (dated rates: MRR at each month's rates, committed MRR at ``as_of``'s).
    wide
        Optional :func:`kpilib.metrics.mrr.customer_mrr` of the same tables, rates and currency,
        from the data's first month (a model's frame, to avoid building it twice); months after
        ``as_of`` are dropped.

    Returns
    -------
    DataFrame
        Index ``month`` (the months after ``as_of``); columns ``committed, central, low, high,
        installed_base, new_business`` (base-currency MRR) and ``reason`` ("" when the forecast is
        defined). ``attrs["assumptions"]``: the fitted retention per interval, the net expansion
        rate, the new-business run-rate, the window, and how many bootstrap refits failed.

    Notes
    -----
    Formulas, sources and the band: see the module notes. Edge cases: no customer paying at
    ``as_of``, fewer than :data:`MIN_HISTORY` months of history, or a retention that cannot be
    fitted (too few customers, no churn ever) give NaN with the reason; ``committed`` is filled in.
    """
    _check(horizon, n_boot, level, model)
    month = _month(as_of)
    subs, fx = known_at(subscriptions, fx_rates, month)
    months = pd.period_range(month + 1, periods=horizon, freq="M", name="month")
    committed = committed_mrr(subs, fx, as_of=month, horizon=horizon, base_currency=base_currency)
    total = committed.sum(axis=0).to_numpy(dtype="float64")
    if wide is None:
        wide = customer_mrr(subs, fx, end=month, base_currency=base_currency)
    elif len(wide.columns) and wide.columns.max() < month:
        raise PeriodError(f"the MRR frame ends at {wide.columns.max()}, before as_of {month}")
    wide = wide.loc[:, wide.columns <= month]
    if reason := _why_undefined(wide, month):
        return _undefined(months, total, reason)
    book = _book(wide, subs, fx, month, committed, horizon, base_currency)
    try:
        point, notes, pooled, params = _point_survival(book, model)
    except ModelFitError as err:
        return _undefined(months, total, _reason(err))
    e = _rate(book.grow, book.kept)
    installed, new = _project(book, point, e)
    low = high = np.full(horizon, np.nan)
    failed = 0
    if n_boot:
        sims, failed = _simulate(book, point, pooled, params, model, n_boot, np.random.default_rng(seed))
        low, high = np.quantile(sims, [(1 - level) / 2, (1 + level) / 2], axis=0)
    out = pd.DataFrame({"committed": total, "central": installed + new, "low": low, "high": high,
                        "installed_base": installed, "new_business": new, "reason": ""}, index=months)
    out.attrs["assumptions"] = {
        "as_of": str(month), "model": model, "retention": notes, "net_expansion_monthly": e,
        "new_mrr_monthly": float(book.arrival_mrr.sum()) / book.kept.size, "window_months": int(book.kept.size),
        "installed_customers": int(book.mrr.size), "installed_mrr": float(book.mrr.sum()), "level": level,
        "n_boot": n_boot, "seed": seed, "failed_refits": failed}
    return out


def backtest(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None = None, *, end: pd.Period | str,
             lags: Sequence[int] = (3, 6, 12), n_boot: int = 200, seed: int = 0, level: float = 0.8,
             model: Model = "sbg", base_currency: str = "USD") -> pd.DataFrame:
    """The kit's track record: forecasts made ``lags`` months before ``end``, against what happened.

    For each lag L the forecast is :func:`forecast_mrr` at ``end - L`` with ``horizon = L`` from the
    tables as known then (cut at the last day of ``end - L`` by the as-of rule: later rows do not
    exist, later end dates are unknown); the actual is the total MRR at the end of ``end``, from the
    tables as known at ``end``. A rolling-origin evaluation (Tashman 2000, "Out-of-sample tests of
    forecasting accuracy", *International Journal of Forecasting* 16(4)).

    Returns
    -------
    DataFrame
        One row per lag: ``made_at`` (Period), ``horizon_months``, ``forecast`` (the central line at
        ``end``), ``low``, ``high``, ``actual``, ``error_pct`` = forecast / actual - 1 as a fraction
        (NaN when the actual is 0), ``inside_band`` (low <= actual <= high; NA without a band) and
        the forecast's ``reason``.
    """
    month = _month(end)
    if not lags or any(int(lag) != lag or lag < 1 for lag in lags):
        raise KpiError(f"lags must be whole numbers of months >= 1, not {list(lags)!r}")
    subs, fx = known_at(subscriptions, fx_rates, month)
    now = customer_mrr(subs, fx, month, month, base_currency=base_currency)
    actual = float(now[month].sum()) if len(now.columns) else 0.0
    rows = []
    for lag in lags:
        f = forecast_mrr(subs, fx, as_of=month - int(lag), horizon=int(lag), n_boot=n_boot, seed=seed, level=level,
                         model=model, base_currency=base_currency).iloc[-1]
        rows.append({"made_at": month - int(lag), "horizon_months": int(lag), "forecast": f["central"],
                     "low": f["low"], "high": f["high"], "reason": f["reason"]})
    out = pd.DataFrame(rows).assign(actual=actual)
    out["error_pct"] = out["forecast"] / actual - 1 if actual > 0 else np.nan
    band = out["low"].notna() & out["high"].notna()
    inside = (out["low"] <= actual) & (actual <= out["high"])
    out["inside_band"] = pd.array(np.where(band, inside, False), dtype="boolean")
    out.loc[~band, "inside_band"] = pd.NA
    return out[BACKTEST_COLUMNS]
