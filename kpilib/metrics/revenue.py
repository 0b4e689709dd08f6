"""Revenue KPIs per period (month, quarter, year), built on the monthly MRR movements.

Months, quarters and years aggregate one way throughout: **flows** (new, expansion,
reactivation, contraction, churn and the customer counts of each) are summed over
the period's months; **stocks** (MRR, customers) are taken at the period's last
month end; rates divide by the stock at the period's **start** (the month end before
its first month). Undefined ratios (a zero or missing denominator) are NaN, never
inf. Definitions with formulas, sources and edge cases: docs/metrics-revenue.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from ..data.currency import is_dated
from ..errors import KpiError, PeriodError
from ..periods import MONTHS_IN_PERIOD, ReportPeriod, parse_period

if TYPE_CHECKING:
    from ..data.dataset import Dataset
from .mrr import (
    COUNT_COLUMNS,
    FX_COLUMN,
    MICROS,
    MOVEMENT_COLUMNS,
    MonthLike,
    _fx_factor,
    _movements,
    _row_micros,
    _with_fx,
    customer_mrr,
    customer_mrr_revalued,
)

PeriodLike: TypeAlias = ReportPeriod | str | pd.PeriodIndex | tuple

#: Glossary health thresholds.
CHURN_BAND = (0.02, 0.05)  # monthly customer churn: <= 2 % healthy, > 5 % unhealthy
RULE_OF_40 = 0.40

MONEY_FLOWS = ["new", "expansion", "reactivation", "contraction", "churn"]
COUNT_FLOWS = ["new_customers", "expanded_customers", "reactivated_customers",
               "contracted_customers", "churned_customers"]


def ratio(num: float, den: float) -> float:
    """``num / den``, or NaN when the denominator is 0 or either side is missing (never inf); a zero is
    never negative (``-0.0`` of a loss of nothing would print as ``-0.0%``)."""
    try:
        num, den = float(num), float(den)
    except (TypeError, ValueError):
        return float("nan")
    if not np.isfinite(num) or not np.isfinite(den) or den == 0:
        return float("nan")
    return num / den + 0.0


def monthly_revenue(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None,
                    start: MonthLike, end: MonthLike, *, base_currency: str = "USD",
                    by: str | pd.Series | None = None) -> pd.DataFrame:
    """Movements and customer counts per month, in one frame (the input of the period KPIs).

    Columns: those of :func:`~kpilib.mrr_movements` followed by those of
    :func:`~kpilib.metrics.mrr.movement_counts`. History before ``start`` still decides
    new versus reactivation.
    """
    out = _movements(subscriptions, fx_rates, start, end, base_currency, by)
    return out[_with_fx(MOVEMENT_COLUMNS[:-1], out) + COUNT_COLUMNS]


def _period_months(period: PeriodLike) -> tuple[pd.Period, pd.Period, str]:
    """First month, last month and label of a ReportPeriod, a period string or a month range."""
    if isinstance(period, (str, ReportPeriod)):
        p = parse_period(period)
        return p.first, p.last, p.label
    if isinstance(period, tuple):
        first, last = (pd.Period(m, freq="M") for m in period)
    else:
        months = pd.PeriodIndex(period, freq="M")
        if len(months) == 0:
            raise PeriodError("the month range is empty")
        first, last = months.min(), months.max()
    if first > last:
        raise PeriodError(f"month range {first} .. {last} runs backwards")
    return first, last, str(first) if first == last else f"{first}..{last}"


def revenue_summary(movements: pd.DataFrame, counts: pd.DataFrame | None, period: PeriodLike, *,
                    wide: pd.DataFrame | None = None,
                    financials: pd.DataFrame | None = None) -> pd.Series:
    """Every revenue KPI of one period, from monthly movements and customer counts.

    Parameters
    ----------
    movements
        :func:`~kpilib.mrr_movements` (or :func:`monthly_revenue`, then ``counts`` may be None),
        covering every month of ``period``.
    counts
        :func:`~kpilib.metrics.mrr.movement_counts` for the same months.
    period
        A ``ReportPeriod``, a period string (``2025-12``, ``2025-Q4``, ``2025``), a
        ``PeriodIndex`` of months or a ``(first, last)`` pair of months.
    wide
        Optional :func:`~kpilib.customer_mrr` frame reaching 12 months before the period
        end: adds ``nrr``, ``grr`` (see :func:`retention_rates`).
    financials
        Optional financials table: adds the Rule of 40 items (see :func:`rule_of_40`).

    Returns
    -------
    Series (float64), named after the period
        Stocks at the period end: ``mrr``, ``arr`` (12 x MRR), ``customers``; at its start:
        ``opening_mrr``, ``opening_customers``. Flows summed over its months: ``new,
        expansion, reactivation, contraction, churn`` (losses negative), ``fx_impact`` (the
        revaluation of each month's opening MRR with dated rates, else 0), ``net_new_mrr``
        (the five movements, without FX impact)
        and the counts ``new_customers, expanded_customers, reactivated_customers,
        contracted_customers, churned_customers``. Ratios (fractions, 0.05 = 5 %):

        - ``arpa`` = MRR / customers (period end);
        - ``asp_new`` = new MRR / new customers;
        - ``mrr_growth`` = (MRR - opening MRR) / opening MRR over the whole period;
        - ``mrr_cmgr`` = (MRR / opening MRR) ** (1 / months) - 1, the compounded monthly
          growth (equals ``mrr_growth`` for a month; its health target depends on the company's
          stage: :func:`kpilib.report.registry.growth_target`);
        - ``quick_ratio`` = (new + expansion + reactivation) / |churn + contraction|;
        - ``customer_churn_rate`` = churned customers / customers at the period start;
        - ``gross_mrr_churn`` = -(churn + contraction) / opening MRR (a loss is positive);
        - ``net_mrr_churn`` = -(churn + contraction + expansion + reactivation) / opening
          MRR (positive: net loss; negative: "negative net churn");
        - ``new_bookings_arr`` = 12 x (new + expansion + reactivation).

    Notes
    -----
    Undefined values are NaN, never inf: any ratio whose denominator is 0 (no
    customers, no new customers, no opening MRR, no losses for the quick ratio).
    A customer churning twice within a quarter counts twice in ``churned_customers``,
    and customers won and lost inside the period count although they are not in the
    starting base (``customer_churn_rate`` can then exceed a compounded monthly rate).
    """
    if isinstance(movements.index, pd.MultiIndex):
        raise KpiError("revenue_summary takes one series of months; use revenue_breakdown for groups")
    monthly = movements if counts is None else movements.join(
        counts.drop(columns=movements.columns.intersection(counts.columns)))
    first, last, label = _period_months(period)
    months = pd.period_range(first, last, freq="M")
    missing = months.difference(monthly.index)
    if len(missing):
        raise PeriodError(f"the monthly figures do not cover {label}: missing {', '.join(map(str, missing))}")
    sub = monthly.loc[months]
    flows = sub[MONEY_FLOWS + COUNT_FLOWS].sum().astype("float64")
    fx_impact = float(sub[FX_COLUMN].sum()) if FX_COLUMN in sub.columns else 0.0
    opening, mrr = float(sub["opening_mrr"].iloc[0]), float(sub["closing_mrr"].iloc[-1])
    opening_customers, customers = float(sub["opening_customers"].iloc[0]), float(sub["customers"].iloc[-1])
    gained = flows["new"] + flows["expansion"] + flows["reactivation"]
    lost = flows["contraction"] + flows["churn"]  # <= 0
    growth = ratio(mrr - opening, opening)
    cmgr = growth if len(months) == 1 or not np.isfinite(growth) else (1 + growth) ** (1 / len(months)) - 1
    out = {
        "opening_mrr": opening, **flows[MONEY_FLOWS].to_dict(), "mrr": mrr, "arr": 12 * mrr,
        "fx_impact": fx_impact,
        "net_new_mrr": mrr - opening - fx_impact,
        "opening_customers": opening_customers, **flows[COUNT_FLOWS].to_dict(), "customers": customers,
        "arpa": ratio(mrr, customers),
        "asp_new": ratio(flows["new"], flows["new_customers"]),
        "mrr_growth": growth,
        "mrr_cmgr": cmgr,
        "quick_ratio": ratio(gained, -lost),
        "customer_churn_rate": ratio(flows["churned_customers"], opening_customers),
        "gross_mrr_churn": ratio(-lost, opening),
        "net_mrr_churn": ratio(-(lost + flows["expansion"] + flows["reactivation"]), opening),
        "new_bookings_arr": 12 * gained,
        # the bridge: opening + FX impact + new + expansion + reactivation + contraction + churn = closing
        "unexplained": round(mrr - (opening + fx_impact + gained + lost), 2) + 0.0,  # to the cent; no "-0"
    }
    if wide is not None:
        out.update(retention_rates(wide, last)[["nrr", "grr"]].to_dict())
    if financials is not None:
        out.update(rule_of_40(financials, (first, last)).to_dict())
    return pd.Series(out, dtype="float64", name=label)


def period_revenue(monthly: pd.DataFrame, period: PeriodLike) -> pd.Series:
    """:func:`revenue_summary` of a :func:`monthly_revenue` frame (movements and counts in one)."""
    return revenue_summary(monthly, None, period)


def revenue_trend(monthly: pd.DataFrame, kind: str = "month", *, counts: pd.DataFrame | None = None,
                  wide: pd.DataFrame | None = None,
                  financials: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`revenue_summary` for every whole month, quarter or year the months cover, for charts.

    Parameters
    ----------
    monthly
        :func:`monthly_revenue`, or :func:`~kpilib.mrr_movements` with ``counts``.
    kind
        ``"month"``, ``"quarter"`` or ``"year"`` (calendar quarters and years). Periods
        only partly covered by ``monthly`` are left out.

    Returns
    -------
    DataFrame
        One row per period, oldest first, index ``period`` holding the period labels
        (``2025-12``, ``2025-Q4``, ``2025``); the columns of :func:`revenue_summary`.
    """
    if kind not in MONTHS_IN_PERIOD:
        raise PeriodError(f"kind must be month, quarter or year, not {kind!r}")
    n = MONTHS_IN_PERIOD[kind]
    covered = set(monthly.index)
    rows = {}
    for m in sorted(covered):
        if m.month % n == 0 and all(m - i in covered for i in range(n)):
            period = ReportPeriod(kind, m - (n - 1), m)  # type: ignore[arg-type]
            rows[period.label] = revenue_summary(monthly, counts, period, wide=wide,
                                                 financials=financials)
    if not rows:
        return pd.DataFrame(index=pd.Index([], name="period", dtype="str"), dtype="float64")
    return pd.DataFrame(list(rows.values()), index=pd.Index(list(rows), name="period"))


def retention_rates(wide: pd.DataFrame, month: pd.Period | str, lookback: int = 12) -> pd.Series:
    """Net and gross revenue retention over ``lookback`` months, ending at ``month``.

    Parameters
    ----------
    wide
        :func:`~kpilib.customer_mrr` frame holding both ``month`` and ``month - lookback``.

    Returns
    -------
    Series
        ``nrr`` = the cohort's MRR now / its MRR then, where the cohort is every customer
        with MRR > 0 at the end of ``month - lookback`` (expansion and reactivation count,
        customers won since do not). ``grr`` = the same with each customer's MRR now capped
        at its MRR then (so GRR <= 100 %). ``cohort_customers``, ``cohort_mrr``.
        NaN when either month is outside ``wide`` or the cohort is empty.
    """
    month = pd.Period(month, freq="M")
    then_month = month - lookback
    if then_month not in wide.columns or month not in wide.columns:
        return pd.Series({"nrr": np.nan, "grr": np.nan, "cohort_customers": 0.0, "cohort_mrr": 0.0})
    then = wide[then_month].to_numpy(dtype="float64")
    now = wide[month].to_numpy(dtype="float64")
    cohort = then > 0
    base = then[cohort].sum()
    return pd.Series({"nrr": ratio(now[cohort].sum(), base),
                      "grr": ratio(np.minimum(now[cohort], then[cohort]).sum(), base),
                      "cohort_customers": float(cohort.sum()), "cohort_mrr": float(base)})


def retention_trend(wide: pd.DataFrame, months: pd.PeriodIndex, lookback: int = 12) -> pd.DataFrame:
    """:func:`retention_rates` for each month in ``months`` (index ``month``)."""
    rows = [retention_rates(wide, m, lookback) for m in months]
    return pd.DataFrame(rows, index=pd.PeriodIndex(months, freq="M", name="month"))


def contract_values(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None, period: PeriodLike,
                    *, base_currency: str = "USD", default_term_months: int = 12) -> pd.Series:
    """Bookings of contracts signed in ``period``: total and annual contract value.

    A contract is a subscription row whose ``start_date`` falls in the period, except a
    **plan change**: a row that starts on the day another row of the same customer with a
    different plan ends (the switch is a movement of MRR, not a new signature). A row that
    takes over from a row of the same plan is a **renewal**; every other row is **new**
    (a first subscription, an add-on, a return after a gap).

    Formula, per contract, in the base currency (constant-currency rate):
    committed months T = ``term_months``, or ``default_term_months`` (12) when missing or
    when the column is absent; TCV = row MRR x T + ``setup_fee`` (missing fee = 0);
    ACV = TCV / max(T / 12, 1), the average value of one year of the commitment, so a
    contract shorter than a year has ACV = TCV and ACV never exceeds TCV.

    Returns
    -------
    Series
        ``contracts`` (new + renewals), ``new_contracts``, ``renewals``, ``plan_changes``
        (not counted as contracts), ``tcv``, ``acv``, ``setup_fees`` (the one-off part of
        TCV), ``assumed_terms`` (contracts without a term, valued at ``default_term_months``).
    """
    first, last, _ = _period_months(period)
    starts = subscriptions["start_date"]
    in_period = ((starts >= first.start_time) & (starts <= last.end_time)).to_numpy()
    ends = subscriptions[subscriptions["end_date"].notna()][["customer_id", "end_date", "plan"]]
    handover = subscriptions[in_period][["customer_id", "start_date", "plan"]].reset_index().merge(
        ends, left_on=["customer_id", "start_date"], right_on=["customer_id", "end_date"],
        suffixes=("", "_before"))
    changed = set(handover.loc[handover["plan"] != handover["plan_before"], "index"])
    renewed = set(handover.loc[handover["plan"] == handover["plan_before"], "index"]) - changed
    signed_mask = in_period & ~subscriptions.index.isin(list(changed))
    signed = subscriptions[signed_mask]
    mrr = _row_micros(signed, fx_rates, base_currency) / MICROS
    if "term_months" in signed:
        terms = signed["term_months"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    else:
        terms = np.full(len(signed), np.nan)
    assumed = np.isnan(terms)
    terms = np.where(assumed, float(default_term_months), terms)
    fees = (signed["setup_fee"].astype("Float64").fillna(0.0).to_numpy(dtype="float64")
            * _fx_factor(signed, fx_rates, base_currency)) if "setup_fee" in signed else np.zeros(len(signed))
    tcv = mrr * terms + fees
    renewals = float(signed.index.isin(list(renewed)).sum())
    return pd.Series({"contracts": float(len(signed)), "new_contracts": float(len(signed)) - renewals,
                      "renewals": renewals, "plan_changes": float(len(changed)), "tcv": float(tcv.sum()),
                      "acv": float((tcv / np.maximum(terms / 12, 1.0)).sum()),
                      "setup_fees": float(fees.sum()), "assumed_terms": float(assumed.sum())})


def rule_of_40(financials: pd.DataFrame, period: PeriodLike) -> pd.Series:
    """Rule of 40 = year-over-year revenue growth + profit margin, from monthly financials.

    Parameters
    ----------
    financials
        Table ``month`` (Period[M]), ``revenue``, ``cogs``, ``operating_expenses``.
    period
        The period measured; growth compares its revenue with the same months a year earlier.

    Returns
    -------
    Series
        ``revenue``, ``revenue_year_ago``, ``revenue_growth`` = revenue / revenue a year
        ago - 1, ``profit_margin`` = (revenue - cogs - operating_expenses) / revenue (an
        operating margin, standing in for the EBITDA margin the rule is usually quoted
        with), ``gross_margin`` = (revenue - cogs) / revenue, ``rule_of_40`` = growth +
        margin, all as fractions (0.40 = 40 %, the target).

    Notes
    -----
    A period with any month missing from ``financials`` gives NaN (no partial sums),
    as does zero revenue.
    """
    first, last, _ = _period_months(period)
    fin = financials.set_index("month")

    def total(a: pd.Period, b: pd.Period, col: str) -> float:
        months = pd.period_range(a, b, freq="M")
        if not months.isin(fin.index).all():
            return float("nan")
        return float(fin.loc[months, col].sum())

    revenue, before = total(first, last, "revenue"), total(first - 12, last - 12, "revenue")
    cogs = total(first, last, "cogs")
    profit = revenue - cogs - total(first, last, "operating_expenses")
    growth, margin = ratio(revenue - before, before), ratio(profit, revenue)
    return pd.Series({"revenue": revenue, "revenue_year_ago": before, "revenue_growth": growth,
                      "profit_margin": margin, "gross_margin": ratio(revenue - cogs, revenue),
                      "rule_of_40": growth + margin})


def monthly_equivalent(rate: float, months: int) -> float:
    """The constant monthly rate that compounds to ``rate`` over ``months``: 1 - (1 - rate) ** (1 / months).

    Losing everyone (rate 1) is 100 % a month; NaN when the rate is undefined or above 1."""
    if not np.isfinite(rate) or rate > 1:
        return float("nan")
    return 1 - (1 - rate) ** (1 / months)


GROUP_FLOWS = ["new", "expansion", "reactivation", "contraction", "churn", "moved_in", "moved_out"]


def revenue_breakdown(subscriptions: pd.DataFrame, fx_rates: pd.DataFrame | None,
                      customers: pd.DataFrame, period: PeriodLike, by: str, *,
                      base_currency: str = "USD", company: pd.DataFrame | None = None) -> pd.DataFrame:
    """MRR at the period end and the period's movements per group, adding up to the company.

    ``company``: optional :func:`~kpilib.customer_mrr` of the same tables, rates and currency up to
    the period's last month, from the data's first month (a model's frame: not built twice).

    ``by`` is a customers column (segment, region, acquisition_channel) or a subscriptions
    column such as ``plan``. Each month, a customer's movement is classified on its *total*
    MRR, as for the company (:func:`~kpilib.mrr_movements`): new, reactivation and churn are
    credited to the groups the customer enters or leaves. A customer who keeps paying but
    changes group (an upgrade to another plan) is **moved out** of the old group at its MRR
    there and **moved in** to the new one at its MRR there, and any change within a group it
    stays in is expansion or contraction. So, summed over the groups, new, reactivation and
    churn equal the company's; moved in and moved out of switching customers plus the groups'
    expansion and contraction equal the company's expansion and contraction; and net new MRR
    adds up exactly. With dated rates a month's movements are classified on the previous MRR
    revalued at the month's rates, and the revaluation is the group's ``fx_impact`` column.

    The contract's group columns are never empty. Frames from elsewhere may be: rows whose group is
    missing form one group of their own, labelled NaN, so that the groups still add up to the company.

    Returns
    -------
    DataFrame
        One row per group, largest MRR first: ``mrr, share, customers, arpa, new, expansion,
        reactivation, contraction, churn, moved_in, moved_out, net_new_mrr``. ``share`` and
        ``arpa`` are NaN when undefined (no MRR, no customers).

    Raises
    ------
    KpiError
        ``by`` is a column of neither table.
    """
    first, last, _ = _period_months(period)
    if by in subscriptions.columns:
        groups = subscriptions[by].astype("str")
    elif by in customers.columns:
        groups = subscriptions["customer_id"].map(customers.set_index("customer_id")[by]).astype("str")
    else:
        raise KpiError(f"cannot break MRR down by {by!r}: use a customers column (segment, region, "
                       "acquisition_channel) or a subscriptions column such as plan")
    # one integer key per (group, customer), in the order of the group then the customer: the
    # (group, customer) grids are customer_mrr's of the rows keyed so (a missing group is a group:
    # its code is not -1, which would fold its rows into the last group's keys)
    group_code, group_names = pd.factorize(groups, sort=True, use_na_sentinel=False)
    customer_code, customer_ids = pd.factorize(subscriptions["customer_id"], sort=True)
    keyed = subscriptions.assign(customer_id=group_code.astype(np.int64) * len(customer_ids) + customer_code)
    months = pd.period_range(first - 1, last, freq="M")
    # the (group, customer) grids for the months used only: every key is a row whatever the months
    key_wide = customer_mrr(keyed, fx_rates, first - 1, last, base_currency=base_currency)
    # each month's movements are classified on the previous MRR revalued at its rates (dated rates)
    key_revalued = customer_mrr_revalued(keyed, fx_rates, first - 1, last, base_currency=base_currency)
    if company is None:  # every month: whether a customer ever paid before the period decides new or back
        company = customer_mrr(subscriptions, fx_rates, end=last, base_currency=base_currency)
    keys = key_wide.index.to_numpy(dtype=np.int64)
    key_group, who = np.asarray(group_names, dtype=object)[keys // len(customer_ids)], keys % len(customer_ids)
    g = key_wide.reindex(columns=months, fill_value=0.0).to_numpy()
    g_revalued = key_revalued.reindex(index=key_wide.index, columns=months, fill_value=0.0).to_numpy()
    c = company.reindex(index=customer_ids, columns=months, fill_value=0.0).to_numpy()[who]
    earlier = company.loc[:, company.columns < first - 1] if len(company.columns) else company
    paid_before = ((earlier > 0).any(axis=1) if earlier.shape[1] else pd.Series(False, index=company.index))
    ever = np.zeros_like(c, dtype=bool)  # paying at some month end before each month's opening
    ever[:, 0] = paid_before.reindex(customer_ids, fill_value=False).to_numpy()[who]
    for j in range(1, len(months)):
        ever[:, j] = ever[:, j - 1] | (c[:, j - 1] > 0)
    prev_g, cur_g, prev_c, cur_c = g_revalued[:, :-1], g[:, 1:], c[:, :-1], c[:, 1:]
    started, stopped, stays = (prev_c == 0) & (cur_c > 0), (prev_c > 0) & (cur_c == 0), (prev_c > 0) & (cur_c > 0)
    back = ever[:, :-1] | (prev_c > 0)  # paid at some earlier month end: a return is a reactivation
    flows = {
        "new": np.where(started & ~back, cur_g, 0.0),
        "reactivation": np.where(started & back, cur_g, 0.0),
        "churn": np.where(stopped, -prev_g, 0.0),
        "moved_in": np.where(stays & (prev_g == 0) & (cur_g > 0), cur_g, 0.0),
        "moved_out": np.where(stays & (prev_g > 0) & (cur_g == 0), -prev_g, 0.0),
        "expansion": np.where(stays & (prev_g > 0) & (cur_g > prev_g), cur_g - prev_g, 0.0),
        "contraction": np.where(stays & (prev_g > 0) & (cur_g > 0) & (cur_g < prev_g), cur_g - prev_g, 0.0),
    }
    frame = pd.DataFrame({k: v.sum(axis=1) for k, v in flows.items()})
    frame["fx_impact"] = (prev_g - g[:, :-1]).sum(axis=1)
    frame["mrr"], frame["opening"] = g[:, -1], g[:, 0]
    frame["customers"] = (g[:, -1] > 0).astype("int64")
    frame[by] = key_group
    out = frame.groupby(by, sort=False, dropna=False).sum()
    out["net_new_mrr"] = out["mrr"] - out["opening"] - out["fx_impact"]
    total = out["mrr"].sum()
    out = out.assign(share=[ratio(m, total) for m in out["mrr"]],
                     arpa=[ratio(m, n) for m, n in zip(out["mrr"], out["customers"])])
    cols = ["mrr", "share", "customers", "arpa", *GROUP_FLOWS, "net_new_mrr"]
    if is_dated(fx_rates):
        cols.insert(4, "fx_impact")
    return out[cols].sort_values("mrr", ascending=False, kind="stable").rename_axis(by)


def largest_movements(dataset: Dataset, period: ReportPeriod, n: int = 8, *,
                      wide: pd.DataFrame | None = None) -> pd.DataFrame:
    """The accounts whose MRR changed most over ``period``: the "what changed" list.

    Each account's MRR at the period's last month end is compared with its MRR at
    the month end before the period. The movement is classified as for
    :func:`~kpilib.mrr_movements` (new, reactivation, expansion, contraction,
    churn), but over the whole period, so an account that churned and came back
    within a quarter shows its net change only.

    Returns
    -------
    DataFrame
        ``customer_id, name, segment, movement, mrr_before, mrr_after, change``,
        largest absolute change first (ties by customer_id), at most ``n`` rows.
    """
    before_month = period.first - 1
    if wide is None:
        wide = customer_mrr(dataset.subscriptions, dataset.fx_rates, end=period.last,
                            base_currency=dataset.base_currency)
    cols = wide.columns
    after = wide[period.last] if period.last in cols else pd.Series(0.0, index=wide.index)
    before = wide[before_month] if before_month in cols else pd.Series(0.0, index=wide.index)
    earlier = wide.loc[:, cols < before_month]
    was_paying = (earlier > 0).any(axis=1) if earlier.shape[1] else pd.Series(False, index=wide.index)
    change = after - before
    movement = pd.Series("", index=wide.index, dtype="str")
    movement[(before == 0) & (after > 0)] = "new"
    movement[(before == 0) & (after > 0) & was_paying] = "reactivation"
    movement[(before > 0) & (after > before)] = "expansion"
    movement[(before > 0) & (after > 0) & (after < before)] = "contraction"
    movement[(before > 0) & (after == 0)] = "churn"
    frame = pd.DataFrame({"customer_id": wide.index, "movement": movement.to_numpy(),
                          "mrr_before": before.to_numpy(), "mrr_after": after.to_numpy(),
                          "change": change.to_numpy()})
    frame = frame[frame["change"] != 0]
    frame = (frame.assign(size=frame["change"].abs())
             .sort_values(["size", "customer_id"], ascending=[False, True]).head(n)
             .drop(columns="size"))
    info = dataset.customers.set_index("customer_id")[["name", "segment"]]
    return (frame.join(info, on="customer_id")
            [["customer_id", "name", "segment", "movement", "mrr_before", "mrr_after", "change"]]
            .reset_index(drop=True))
