"""Acquisition cost and lifetime value: CPL, CAC, CPA, CAC payback, LTV and LTV:CAC.

Attribution: a customer belongs to its ``customers.acquisition_channel``; a new
customer is one whose first paying month (its cohort) lies in the period. Channel
CAC divides the channel's own marketing and sales spend rows by its new customers;
blended CAC divides all spend by all new customers. An undefined figure (no new
customers, zero churn...) is NaN with a reason, never inf.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..i18n import N_
from ..periods import ReportPeriod
from .revenue import ratio

LTV_CAC_TARGET = 3.0  # glossary: healthy at 3:1 or better
#: channels counted as marketing-sourced for "marketing contribution"
MARKETING_CHANNELS = frozenset({"Organic Search", "Paid Search", "Paid Social", "Content", "Events"})
#: The blended row of :func:`acquisition_costs`: an index key, kept in English (translate with
#: ``_()`` where a page shows it).
ALL_CHANNELS = N_("All channels")


def period_spend(spend: pd.DataFrame, period: ReportPeriod) -> pd.DataFrame:
    """Marketing and sales spend per channel in the period (columns marketing, sales, total)."""
    rows = spend[spend["month"].isin(list(period.months))]
    out = rows.pivot_table(index="channel", columns="category", values="amount", aggfunc="sum", fill_value=0.0)
    out = out.reindex(columns=["marketing", "sales"], fill_value=0.0).astype("float64")
    return out.assign(total=out["marketing"] + out["sales"]).rename_axis("channel")


def new_customers(first_month: pd.Series, customers: pd.DataFrame, period: ReportPeriod) -> pd.DataFrame:
    """Customers whose first paying month is in the period, with their acquisition channel.

    ``first_month``: customer_id -> cohort month (:func:`kpilib.cohorts`).
    """
    new = first_month[(first_month >= period.first) & (first_month <= period.last)]
    info = customers.set_index("customer_id")["acquisition_channel"]
    return pd.DataFrame({"customer_id": new.index, "channel": info.reindex(new.index).to_numpy()})


def acquisition_costs(spend: pd.DataFrame, leads: pd.DataFrame | None, new: pd.DataFrame,
                      period: ReportPeriod) -> pd.DataFrame:
    """Per channel and blended: spend, leads, new customers, won deals, CPL, CAC and CPA.

    CPL = marketing spend / leads created; CAC = (marketing + sales spend) / new customers;
    CPA = (marketing + sales spend) / deals won in the period. A ``note`` column says why a
    figure is undefined. The blended row is :data:`ALL_CHANNELS`; it and the notes are English
    (marked for the catalog), translated with ``_()`` where a page shows them.
    """
    money = period_spend(spend, period)
    counts = new.groupby("channel").size().rename("new_customers").astype("float64")
    out = money.join(counts, how="outer").fillna(0.0)
    if leads is not None:
        created = leads[(leads["created_at"] >= period.start_date) & (leads["created_at"] <= period.end_date)]
        won = leads[(leads["closed_at"] >= period.start_date) & (leads["closed_at"] <= period.end_date)
                    & (leads["outcome"] == "won")]
        out = out.join(created.groupby("channel").size().rename("leads").astype("float64"), how="outer")
        out = out.join(won.groupby("channel").size().rename("won_deals").astype("float64"), how="outer")
        out = out.fillna(0.0)
    total = out.sum().rename(ALL_CHANNELS)
    out = pd.concat([out, total.to_frame().T]).rename_axis("channel")
    out["cac"] = [ratio(s, n) for s, n in zip(out["total"], out["new_customers"])]
    if "leads" in out:
        out["cpl"] = [ratio(s, n) for s, n in zip(out["marketing"], out["leads"])]
        out["cpa"] = [ratio(s, n) for s, n in zip(out["total"], out["won_deals"])]
    out["note"] = [_note(r) for r in out.itertuples()]
    return out


#: Why a channel's CAC, CPL or CPA is undefined, one clause each: stored in English and joined by
#: :data:`NOTE_SEPARATOR`; a page translates the clauses one by one (``report.pages.costs_table``).
_COST_NOTES = {"cac": N_("CAC undefined: no new customers"),
               "cpl": N_("CPL undefined: spend but no leads"),
               "cpa": N_("CPA undefined: spend but no deals won")}
NOTE_SEPARATOR = "; "


def _note(row) -> str:
    undefined = {"cac": row.new_customers == 0,
                 "cpl": getattr(row, "leads", 1) == 0 and row.marketing > 0,
                 "cpa": getattr(row, "won_deals", 1) == 0 and row.total > 0}
    return NOTE_SEPARATOR.join(_COST_NOTES[k] for k, missing in undefined.items() if missing)


def ltv(arpa: float, gross_margin: float, monthly_churn: float) -> float:
    """LTV = ARPA x gross margin / monthly customer churn.

    ChartMogul divides ARPA by the average churn of the six months before the report
    month; the glossary's version used here also multiplies by gross margin.

    NaN when churn is zero or missing: with no churn the formula has no finite value.
    """
    return ratio(arpa * gross_margin, monthly_churn) if np.isfinite(monthly_churn) and monthly_churn > 0 \
        else float("nan")


#: The rows of :func:`unit_economics` (index keys, kept in English: a page shows them through ``_()``).
CAC_ROW = N_("CAC")
NEW_ARPA_ROW = N_("ARPA of new customers")
PAYBACK_ROW = N_("CAC payback (months)")
LTV_ROW = N_("LTV (new-customer ARPA x margin / churn)")
LTV_CAC_ROW = N_("LTV:CAC")
LTV_BASE_ROW = N_("LTV on installed-base ARPA (beside)")
LTV_CAC_BASE_ROW = N_("LTV:CAC on installed-base ARPA (beside)")
SBG_CLV_ROW = N_("sBG CLV (per billing interval, acquisition mix)")
#: Why a unit-economics figure is undefined (the ``note`` column: English, shown through ``_()``).
NO_NEW_CUSTOMERS = N_("no new customers in the period")
NO_CHURN = N_("no churn in the last six months")


def unit_economics(*, cac: float, arpa: float, new_arpa: float, gross_margin: float,
                   churn_6m: float, sbg_clv: float | None = None,
                   cac_note: str = NO_NEW_CUSTOMERS) -> pd.DataFrame:
    """CAC, CAC payback, LTV and LTV:CAC with the reason for any undefined value.

    **One ARPA basis.** CAC buys *new* customers, so the figures judged against it use the
    ARPA of the customers it bought (``new_arpa``: new MRR / new customers of the period):
    CAC payback (months) = CAC / (new ARPA x gross margin) and
    LTV = new ARPA x gross margin / ``churn_6m``, LTV:CAC = LTV / CAC. The installed-base
    ARPA version (ChartMogul's LTV basis) is shown beside it, never mixed in.
    ``churn_6m`` is the average monthly customer churn of the six months before the report
    month (ChartMogul's trailing window, current month excluded).

    The index (``metric``) and the ``note`` column hold the English labels and reasons (marked
    for the catalog): keys for code, translated with ``_()`` where a page shows them.
    """
    value_ltv = ltv(new_arpa, gross_margin, churn_6m)
    payback = ratio(cac, new_arpa * gross_margin)
    base_ltv = ltv(arpa, gross_margin, churn_6m)
    no_ltv = NO_CHURN if not (np.isfinite(churn_6m) and churn_6m > 0) else NO_NEW_CUSTOMERS
    no_ratio = N_("LTV or CAC undefined")
    rows = {
        CAC_ROW: (cac, "money", "" if np.isfinite(cac) else cac_note),
        NEW_ARPA_ROW: (new_arpa, "money", "" if np.isfinite(new_arpa) else N_("no new customers")),
        PAYBACK_ROW: (payback, "months", "" if np.isfinite(payback) else N_("CAC or new ARPA undefined")),
        LTV_ROW: (value_ltv, "money", "" if np.isfinite(value_ltv) else no_ltv),
        LTV_CAC_ROW: (ratio(value_ltv, cac), "ratio", "" if np.isfinite(ratio(value_ltv, cac)) else no_ratio),
        LTV_BASE_ROW: (base_ltv, "money", "" if np.isfinite(base_ltv) else NO_CHURN),
        LTV_CAC_BASE_ROW: (ratio(base_ltv, cac), "ratio", "" if np.isfinite(ratio(base_ltv, cac)) else no_ratio),
        SBG_CLV_ROW: (np.nan if sbg_clv is None else sbg_clv, "money",
                      "" if sbg_clv is not None else N_("no cohort model fitted")),
    }
    return pd.DataFrame([(k, v, u, n) for k, (v, u, n) in rows.items()],
                        columns=["metric", "value", "unit", "note"]).set_index("metric")


def marketing_contribution(mrr: pd.Series, customers: pd.DataFrame,
                           channels: frozenset[str] = MARKETING_CHANNELS) -> pd.Series:
    """Share of MRR from marketing-sourced customers (``mrr``: customer_id -> MRR now)."""
    channel = customers.set_index("customer_id")["acquisition_channel"].reindex(mrr.index)
    return pd.Series({"marketing_mrr": float(mrr[channel.isin(channels)].sum()), "total_mrr": float(mrr.sum()),
                      "share": ratio(mrr[channel.isin(channels)].sum(), mrr.sum())})


def channel_return(new_mrr: pd.Series, costs: pd.DataFrame, new_customers: pd.Series | None = None) -> pd.DataFrame:
    """Per channel: new ARR won (12 x new MRR) per unit of spend in the period; with ``new_customers``
    (per channel), how many new customers that ARR comes from (``new_customers`` column)."""
    arr = (12 * new_mrr).rename("new_arr")
    out = costs[["total"]].drop(index=ALL_CHANNELS, errors="ignore").join(arr, how="left").fillna(0.0)
    if new_customers is not None:
        out["new_customers"] = new_customers.reindex(out.index).fillna(0).astype("float64")
    out["return"] = [ratio(a, s) for a, s in zip(out["new_arr"], out["total"])]
    return out.sort_values("return", ascending=False)


DEFAULT_GROSS_MARGIN = 0.8  # used when the source has no financials table
ANNUAL_DISCOUNT_RATE = 0.10


def dataset_unit_economics(dataset, period: ReportPeriod, *, wide: pd.DataFrame | None = None,
                           monthly: pd.DataFrame | None = None,
                           clv_model: dict | None = None) -> tuple[pd.DataFrame, dict[str, float]]:
    """:func:`unit_economics` for a loaded dataset and period, with the inputs used.

    Gross margin from financials (or :data:`DEFAULT_GROSS_MARGIN`); churn is the
    average monthly customer churn of the six months before the period's last month
    (ChartMogul's window). ``wide``, ``monthly`` and ``clv_model`` (the KpiModel's grid,
    movements and sBG model) are reused when given; otherwise they are computed, with the
    sBG fitted to the twelve cohorts that started 13-24 months before the period end
    (omitted when the model cannot be fitted). Returns ``(economics, inputs)``.
    """
    from ..errors import KpiError
    from .cohorts import cohort_survivors, cohorts, customer_lifetimes
    from .mrr import customer_mrr
    from .revenue import monthly_revenue, period_revenue, rule_of_40
    from .sbg import fit_sbg, sbg_clv

    subs, fx, base = dataset.subscriptions, dataset.fx_rates, dataset.base_currency
    if wide is None:
        wide = customer_mrr(subs, fx, end=period.last, base_currency=base)
    if monthly is None:
        monthly = monthly_revenue(subs, fx, period.first - 30, period.last, base_currency=base)
    rev = period_revenue(monthly, period)
    # ChartMogul: the six months before the report month, the report month itself excluded
    window = monthly.loc[period.last - 6: period.last - 1]
    rates = [ratio(c, o) for c, o in zip(window["churned_customers"], window["opening_customers"])]
    churn_6m = float(np.nanmean(rates)) if rates and not np.all(np.isnan(rates)) else float("nan")
    fin = dataset.get("financials")
    margin = float(rule_of_40(fin, period)["gross_margin"]) if fin is not None else DEFAULT_GROSS_MARGIN
    if not np.isfinite(margin):
        margin = DEFAULT_GROSS_MARGIN
    if clv_model is not None:
        clv = clv_model["clv"]
    else:
        try:
            fit = fit_sbg(cohort_survivors(customer_lifetimes(wide), period.last - 24, period.last - 13, 12))
            clv = sbg_clv(fit, rev["arpa"], margin, (1 + ANNUAL_DISCOUNT_RATE) ** (1 / 12) - 1)
        except KpiError:
            clv = None
    spend = dataset.get("marketing_spend")
    new = new_customers(cohorts(wide), dataset.customers, period)
    if spend is None:
        cac, note = float("nan"), N_("no marketing_spend table")
    elif dataset.filters:  # spend is company-wide: dividing it by one segment's customers misleads
        cac, note = float("nan"), N_("spend is not attributed to segments, so CAC is company-wide only")
    else:
        cac = float(acquisition_costs(spend, dataset.get("leads"), new, period).loc[ALL_CHANNELS, "cac"])
        note = NO_NEW_CUSTOMERS
    econ = unit_economics(cac=cac, arpa=rev["arpa"], new_arpa=rev["asp_new"], gross_margin=margin,
                          churn_6m=churn_6m, sbg_clv=clv, cac_note=note)
    return econ, {"arpa": float(rev["arpa"]), "new_arpa": float(rev["asp_new"]), "gross_margin": margin,
                  "churn_6m": churn_6m}
