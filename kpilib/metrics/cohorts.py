"""Churn cohorts: retention matrices, customer lifetimes and Kaplan-Meier survival.

All functions take the wide customer x month MRR frame of :func:`kpilib.customer_mrr`
(the billing-interval functions also the subscriptions table).
A customer's **cohort** is the month of its first month-end MRR > 0; this is exact
only when the frame starts at the data's first month (``customer_mrr`` without
``start`` does), otherwise customers who paid earlier get a too-late cohort.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.contract import INTERVAL_OF_MONTHS
from .mrr import MONTHS_PER_INTERVAL, _lookup


def cohorts(wide: pd.DataFrame) -> pd.Series:
    """Cohort month per paying customer (customers never paying are left out)."""
    if wide.shape[1] == 0:
        return pd.Series([], index=wide.index[:0], name="cohort", dtype="period[M]")
    return _first_paid(wide, wide.to_numpy() > 0)[2]


def _first_paid(wide: pd.DataFrame, paying: np.ndarray) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Of ``wide``'s customers x months ``paying`` matrix (one month at least): which customers ever
    paid, the column of each one's first paid month, and that month per customer (the cohort)."""
    ever = np.asarray(paying.any(axis=1))
    start = paying.argmax(axis=1)[ever]
    return ever, start, pd.Series(wide.columns[start], index=wide.index[ever], name="cohort")


def _ranges(paying: np.ndarray) -> list[str]:
    """Per row of a boolean (customers x ages) matrix, its true ages as ranges: ``0-5, 8-11``.

    The runs are found for the whole matrix at once (where a row turns true and false again), so
    the only loop is over the runs' text."""
    n_rows = paying.shape[0]
    edges = np.diff(np.pad(paying.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    row, start = np.nonzero(edges == 1)
    _, stop = np.nonzero(edges == -1)  # row-major order: the k-th stop closes the k-th start
    texts = [str(a) if a == b else f"{a}-{b}" for a, b in zip(start.tolist(), (stop - 1).tolist())]
    out = [""] * n_rows
    if texts:
        bounds = np.flatnonzero(np.diff(row)) + 1
        for r, lo, hi in zip(row[np.r_[0, bounds]].tolist(), np.r_[0, bounds].tolist(),
                             np.r_[bounds, len(row)].tolist()):
            out[r] = ", ".join(texts[lo:hi])
    return out


def cohort_members(wide: pd.DataFrame) -> pd.DataFrame:
    """Who is in each cohort cell: per paying customer, its cohort and the ages it paid at.

    Columns: ``cohort`` (first paid month), ``paid_at_ages`` (the ages, in months since the cohort
    month, with MRR > 0 at the month end, as ranges such as ``0-5, 8-11``: the customer is in
    the logo-retention cell of every age listed), ``ages_paid`` (how many), ``first_mrr`` (MRR at
    age 0) and ``last_mrr`` (MRR at the frame's last month). A reactivated customer is in the
    cells of the ages it pays again, exactly as :func:`logo_retention` counts it.
    """
    cohort, aligned = _aligned(wide, wide.to_numpy(dtype=float))
    paying = np.nan_to_num(aligned, nan=0.0) > 0
    last = wide.iloc[:, -1].reindex(cohort.index) if wide.shape[1] else pd.Series(0.0, index=cohort.index)
    return pd.DataFrame({
        "cohort": cohort.array,
        "paid_at_ages": _ranges(paying),
        "ages_paid": paying.sum(axis=1).astype("int64"),
        "first_mrr": aligned[:, 0] if aligned.shape[1] else np.zeros(len(cohort)),
        "last_mrr": last.to_numpy(dtype=float),
    }, index=cohort.index)


def _aligned(wide: pd.DataFrame, values: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Rows shifted so column k is the customer's age k months; NaN once beyond the data."""
    n = wide.shape[1]
    if n == 0:
        return cohorts(wide), np.empty((0, 0))
    ever, start, cohort = _first_paid(wide, values > 0)
    idx = start[:, None] + np.arange(n)[None, :]
    out = np.take_along_axis(values[ever], np.minimum(idx, n - 1), axis=1)
    out[idx >= n] = np.nan
    return cohort, out


def cohort_start_mrr(wide: pd.DataFrame) -> pd.Series:
    """Each cohort's MRR in its first paying month (age 0), the sum of its customers': the base of its
    revenue retention, and the weight that pools cohorts' revenue retention into one figure
    (MRR at age k of the cohorts / their MRR at age 0)."""
    values = wide.to_numpy(dtype=float)
    if not (values > 0).any():
        return pd.Series([], index=pd.PeriodIndex([], freq="M", name="cohort"), name="mrr", dtype=float)
    ever, start, cohort = _first_paid(wide, values > 0)
    first = pd.Series(values[ever][np.arange(len(start)), start], index=pd.PeriodIndex(cohort.array, name="cohort"),
                      name="mrr")
    return first.groupby(level="cohort").sum()


def _matrix(wide: pd.DataFrame, kind: str, max_age: int | None, by: pd.Series | None) -> pd.DataFrame:
    values = wide.to_numpy(dtype=float)
    cohort, aligned = _aligned(wide, values)
    base = aligned[:, 0]
    if kind == "logo":
        numer = np.where(np.isnan(aligned), np.nan, (aligned > 0).astype(float))
        denom = np.ones_like(base)
    else:
        numer, denom = aligned, base
    keys = [cohort.array]
    names = ["cohort"]
    if by is not None:
        keys.insert(0, by.reindex(cohort.index).to_numpy())
        names.insert(0, by.name or "group")
    index = pd.MultiIndex.from_arrays(keys, names=names)
    frame = pd.DataFrame(numer, index=index)
    sums = frame.groupby(level=names).sum(min_count=1)
    observed = frame.notna().groupby(level=names).sum()
    base_sum = pd.Series(denom, index=index).groupby(level=names).sum()
    # only ages observed for the whole cohort (a cohort shares one start month)
    out = sums.where(observed == observed.iloc[:, [0]].to_numpy()).div(base_sum, axis=0)
    sizes = pd.Series(1.0, index=index).groupby(level=names).sum()
    out = retention_frame(out, sizes, max_age)
    if by is None:
        out.index = pd.PeriodIndex(out.index, freq="M", name="cohort")
    return out


def retention_frame(ratios: pd.DataFrame, sizes: pd.Series, max_age: int | None) -> pd.DataFrame:
    """A retention matrix's last steps (shared with :func:`kpilib.engine.engine_cohorts`): ratios
    per cohort (rows) and age (columns 0, 1, ...), capped at ``max_age``, ages never observed dropped,
    and the cohort sizes first, as ``customers``."""
    out = ratios.iloc[:, : max_age + 1] if max_age is not None else ratios
    out = out.set_axis(pd.RangeIndex(out.shape[1], name="age"), axis=1).dropna(axis=1, how="all")
    out.insert(0, "customers", sizes.astype("int64"))
    return out


def logo_retention(wide: pd.DataFrame, *, max_age: int | None = None,
                   by: pd.Series | None = None) -> pd.DataFrame:
    """Share of each cohort paying (MRR > 0) at age k months.

    Returns a frame indexed by cohort (or (group, cohort) with ``by``, a Series
    customer_id -> group) with a ``customers`` column (cohort size) and columns
    0, 1, ... for ages. Age 0 is 100 % by construction. A customer who churned
    and came back counts as retained at the ages it pays again. Ages not yet
    observed for a cohort are NaN, distinct from 0 %.
    """
    return _matrix(wide, "logo", max_age, by)


def revenue_retention(wide: pd.DataFrame, *, max_age: int | None = None,
                      by: pd.Series | None = None) -> pd.DataFrame:
    """Cohort MRR at age k / cohort MRR at age 0 (can exceed 100 % through expansion).

    Same shape and rules as :func:`logo_retention`.
    """
    return _matrix(wide, "revenue", max_age, by)


def customer_lifetimes(wide: pd.DataFrame) -> pd.DataFrame:
    """Length of each customer's first paying spell, for survival analysis.

    ``duration`` = months from the cohort month to the first month end with MRR 0
    (a customer paying in Jan and Feb only has duration 2); ``churned`` is False
    when the customer still pays at the frame's last month (right-censored).
    Later reactivations do not extend the first spell.

    Returns ``customer_id, cohort, duration, churned``.
    """
    paying = wide.to_numpy(dtype=float) > 0
    if not paying.any():
        return pd.DataFrame({"customer_id": pd.Series([], dtype="str"), "cohort": cohorts(wide).array,
                             "duration": pd.Series([], dtype="int64"), "churned": pd.Series([], dtype=bool)})
    ever, start, cohort = _first_paid(wide, paying)
    paying = paying[ever]
    # the first month end at or after the cohort month without MRR ends the first spell
    stopped = ~paying & (np.arange(paying.shape[1])[None, :] >= start[:, None])
    has_stop = stopped.any(axis=1)
    first_stop = np.where(has_stop, stopped.argmax(axis=1), paying.shape[1]) - start
    # .array keeps the months as a PeriodArray (to_numpy() would box every one as a Period object)
    return pd.DataFrame({"customer_id": cohort.index, "cohort": cohort.array,
                         "duration": first_stop.astype("int64"), "churned": has_stop})


def lifetime_counts(lifetimes: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """:func:`customer_lifetimes` counted: customers per ``[group,] cohort, duration, churned`` (the
    aggregate :func:`kpilib.engine.lifetimes.engine_lifetimes` returns from an engine; ``by`` maps
    customer ids to a group, e.g. the segment). :func:`km_survival` takes either."""
    keys = ["cohort", "duration", "churned"]
    frame = lifetimes[keys]
    if by is not None:
        name = by.name or "group"
        frame = frame.assign(**{name: lifetimes["customer_id"].map(by).to_numpy()})
        keys = [name, *keys]
    counts = frame.groupby(keys, sort=True, observed=True).size().rename("customers").reset_index()
    return counts.astype({"duration": "int64", "churned": bool, "customers": "int64"})


def interval_counts(lifetimes: pd.DataFrame) -> pd.DataFrame:
    """:func:`interval_lifetimes` counted: customers per ``billing_interval, periods, churned`` and the
    sum of their ``first_mrr`` (the aggregate :func:`kpilib.engine.lifetimes.engine_interval_counts`
    returns). :func:`kpilib.metrics.sbg.fit_sbg_by_interval` takes either, to the same model. Customers
    with no billing interval (none is active at their cohort month's end) are left out, as the fit
    leaves them out."""
    keys = ["billing_interval", "periods", "churned"]
    counts = lifetimes.groupby(keys, sort=True).agg(customers=("customer_id", "size"),
                                                    first_mrr=("first_mrr", "sum")).reset_index()
    return counts.astype({"billing_interval": "str", "periods": "int64", "churned": bool, "customers": "int64",
                          "first_mrr": "float64"})


def km_survival(lifetimes: pd.DataFrame, by: pd.Series | str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier survival of customer lifetimes with (1 - alpha) confidence bands (lifelines).

    ``lifetimes``: one row per customer (:func:`customer_lifetimes`; ``by`` maps its ids to a group),
    or customers counted per lifetime (:func:`lifetime_counts`; ``by`` names its group column), each
    count then the weight of its row: the same estimate and bands.

    Returns ``[group,] month, survival, ci_lower, ci_upper, at_risk``: no rows when no customer ever
    paid (no lifetime to follow).
    """
    columns = ["month", "survival", "ci_lower", "ci_upper", "at_risk"]
    if by is not None:
        columns.insert(0, by if isinstance(by, str) else by.name or "group")
    if lifetimes.empty:
        return pd.DataFrame(columns=columns)
    from lifelines import KaplanMeierFitter

    if by is None:
        groups = [(None, lifetimes)]
    elif isinstance(by, str):
        groups = list(lifetimes.groupby(by, sort=True))
    else:
        groups = list(lifetimes.groupby(lifetimes["customer_id"].map(by), sort=True))
    frames = []
    for name, part in groups:
        kmf = KaplanMeierFitter(alpha=alpha)
        weights = part["customers"] if "customers" in part.columns else None
        kmf.fit(part["duration"], event_observed=part["churned"], weights=weights)
        ci = kmf.confidence_interval_survival_function_
        frame = pd.DataFrame({
            "month": kmf.survival_function_.index.astype("int64"),
            "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
            "ci_lower": ci.iloc[:, 0].to_numpy(), "ci_upper": ci.iloc[:, 1].to_numpy(),
            # customers at risk: weighted, a count in floats (the weights are whole customers)
            "at_risk": kmf.event_table["at_risk"].to_numpy().round().astype("int64"),
        })
        if by is not None:
            frame.insert(0, columns[0], name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def cohort_survivors(lifetimes: pd.DataFrame, first: pd.Period, last: pd.Period,
                     periods: int) -> list[int]:
    """Counts still in their first paying spell at ages 0..``periods`` for the
    cohorts ``first``..``last`` pooled (each must be observed for ``periods`` months)."""
    pool = lifetimes[(lifetimes["cohort"] >= first) & (lifetimes["cohort"] <= last)]
    return [int(((pool["duration"] > k) | (~pool["churned"] & (pool["duration"] >= k))).sum())
            for k in range(periods + 1)]


def longest_interval(subscriptions: pd.DataFrame, customers: np.ndarray, month_ends: np.ndarray) -> np.ndarray:
    """Months per billing period (1, 3 or 12) of the longest interval among the paying rows (amount >
    0, ``start_date <= d < end_date``) of customer ``customers[i]`` active on day ``month_ends[i]``
    (an annual plan with a monthly add-on leaves at the annual renewal); 0 where none is active. A
    customer may be asked about several days."""
    pairs = pd.DataFrame({"customer_id": customers, "month_end": month_ends, "pair": np.arange(len(customers))})
    rows = subscriptions.loc[subscriptions["amount"] > 0, ["customer_id", "start_date", "end_date", "billing_interval"]]
    rows = rows.merge(pairs, on="customer_id")
    active = rows[(rows["start_date"] <= rows["month_end"])
                  & (rows["end_date"].isna() | (rows["end_date"] > rows["month_end"]))]
    months = _lookup(active["billing_interval"], MONTHS_PER_INTERVAL)
    k = pd.Series(months).groupby(active["pair"].to_numpy()).max()
    return k.reindex(np.arange(len(customers)), fill_value=0).to_numpy(dtype="int64")


def billing_intervals(wide: pd.DataFrame, subscriptions: pd.DataFrame) -> pd.Series:
    """Billing interval (``month``, ``quarter``, ``year``) of each paying customer at acquisition.

    The interval of the paying rows (amount > 0, ``start_date <= d < end_date``) active on the
    last day of the customer's cohort month; with several, the longest (an annual plan with a
    monthly add-on leaves at the annual renewal). A customer keeps this interval for its whole
    first spell, even if it later switches plans. (NaN for a customer with none active then.)
    """
    cohort = cohorts(wide)
    month_end = cohort.dt.end_time.dt.normalize().to_numpy()
    k = longest_interval(subscriptions, cohort.index.to_numpy(), month_end)
    return pd.Series([INTERVAL_OF_MONTHS.get(v, np.nan) for v in k.tolist()], index=cohort.index, dtype=object,
                     name="billing_interval")


def interval_lifetimes(wide: pd.DataFrame, subscriptions: pd.DataFrame) -> pd.DataFrame:
    """First-spell lifetimes counted in renewal periods of each customer's billing interval.

    An annual customer can leave only at a renewal, so its lifetime is in years. With ``duration``
    the first spell in months (:func:`customer_lifetimes`) and k months per period,
    ``periods = ceil(duration / k)`` is the number of periods paid for: a churned customer left
    at the end of period ``periods`` (an annual plan ended after 12 months: 1; cancelled in its
    second year: 2); a customer still paying at the frame's last month (``churned`` False,
    right-censored) has renewed ``periods - 1`` times and may renew again.

    Returns ``customer_id, cohort, billing_interval, months_per_period, duration, periods,
    churned, first_mrr`` (``first_mrr``: MRR in the cohort month).
    """
    lt = customer_lifetimes(wide)
    interval = billing_intervals(wide, subscriptions).reindex(lt["customer_id"]).to_numpy()
    k = np.nan_to_num(_lookup(pd.Series(interval, dtype=object), MONTHS_PER_INTERVAL), nan=1.0).astype("int64")
    rows = wide.index.get_indexer(lt["customer_id"])
    cols = wide.columns.get_indexer(pd.PeriodIndex(lt["cohort"], freq="M")) if len(lt) else rows
    first_mrr = wide.to_numpy(dtype=float)[rows, cols] if len(lt) else np.array([], dtype=float)
    duration = lt["duration"].to_numpy(dtype="int64")
    return pd.DataFrame({"customer_id": lt["customer_id"].to_numpy(), "cohort": lt["cohort"].array,
                         "billing_interval": interval, "months_per_period": k, "duration": duration,
                         "periods": -(-duration // k), "churned": lt["churned"].to_numpy(dtype=bool),
                         "first_mrr": first_mrr})
