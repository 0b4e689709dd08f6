"""The KPI model: one object per (data, period, segment, base currency) that computes once.

A :class:`KpiModel` holds the dataset *as known at the period's end* (:func:`~kpilib.data.asof.as_of`)
and computes each KPI family on first use, then keeps it: the customer x month MRR grid,
the monthly movements, the period summaries, unit economics, the funnel and the voice of
the customer. Notebooks, tiles and ``kpis.json`` all read from it, so a figure is computed
once and shown the same everywhere.

The heavy steps are the first four cached properties (``wide``, ``monthly``); each is one
call into a pure DataFrame function of the metrics layer, which is where an engine (DuckDB,
a warehouse) can take over without touching the model's readers.

Comparisons (previous period, a year earlier) come from :meth:`KpiModel.at`, a model of the
other period built from the same source data and so cut at *its own* end: the "previous"
figure is exactly what the previous pack showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..data.asof import as_of
from ..data.currency import in_base_currency, is_dated, rates_at
from ..data.dataset import Dataset
from ..data.load import load_dataset
from ..i18n import _, current_language
from ..metrics.mrr import customer_mrr, customer_mrr_revalued
from ..metrics.revenue import (
    largest_movements,
    monthly_equivalent,
    monthly_revenue,
    ratio,
    retention_rates,
    revenue_summary,
    rule_of_40,
)
from ..metrics.voice import ENGAGEMENT_HORIZON, period_nps, survey_wave
from ..periods import ReportPeriod, parse_period

HISTORY_MONTHS = 36  # months of movements kept before the period for trends and comparisons
FORECAST_HORIZON = 12  # months forecast after the period's last month
BACKTEST_LAGS = (3, 6, 12)  # months before the period's end the backtest's forecasts are made
COHORT_MONTHS = 18  # the churn page's cohorts: those of the 18 months up to the period's end
#: Bootstrap replicates of the forecast page's band (each of its four forecasts): the sample's forecast
#: family takes about 1.2 s with them (docs/performance.md); the 10th and 90th percentiles of 100 draws
#: move by 0.5-1 % of MRR (one standard deviation) from one seed to another (docs/metrics.md).
FORECAST_N_BOOT = 100
FORECAST_SEED = 15  # the band's seed: the same data give the same band
FORECAST_LEVEL = 0.8


@dataclass(frozen=True)
class MrrForecast:
    """The forecast page's figures, computed once per model (:attr:`KpiModel.forecast`).

    Attributes
    ----------
    forecast
        :func:`~kpilib.metrics.forecast.forecast_mrr` for the :data:`FORECAST_HORIZON` months after
        the period (``attrs["assumptions"]``: the fitted retention, rates and run-rate).
    backtest
        :func:`~kpilib.metrics.forecast.backtest`: forecasts made :data:`BACKTEST_LAGS` months before
        the period's end, against what happened.
    pipeline
        :func:`~kpilib.metrics.pipeline.pipeline_mrr` of the open opportunities, or ``None`` with
        ``pipeline_missing`` saying why (no leads; leads without a segment in a segment pack).
    """

    forecast: pd.DataFrame
    backtest: pd.DataFrame
    pipeline: pd.DataFrame | None
    pipeline_missing: str = ""


class KpiModel:
    """Every KPI family for one period of one dataset, computed on first use.

    Parameters
    ----------
    dataset
        A validated dataset (already converted to its base currency), *not* yet cut: the
        model cuts it at the period's end. A segment filter, if any, is applied first.
    period
        ``ReportPeriod`` or its label (``2025-12``, ``2025-Q4``, ``2025``).
    segment
        Keep only accounts of this segment (``None`` or ``"all"``: every account).
    """

    def __init__(self, dataset: Dataset, period: ReportPeriod | str, *, segment: str | None = None,
                 _cache: dict | None = None) -> None:
        self.period = parse_period(period)
        self.lang = current_language()  # the words it writes (its notes and the pages' titles)
        if dataset.goals is not None:  # what needs the registry, before any page is written
            from .goals import check_goals

            check_goals(dataset.goals)
        source = dataset.filter(segment=segment) if segment not in (None, "", "all") else dataset
        self.source = in_base_currency(source)  # every amount in the base currency, once
        self.segment = segment if segment not in (None, "", "all") else None
        self.data = as_of(self.source, self.period.end_date)
        self._models = {} if _cache is None else _cache  # shared by the models of one source
        self.memo: dict[str, object] = {}  # results of the report layer (e.g. the headline frame)
        self._cohort_matrices: dict[tuple, pd.DataFrame] = {}  # cohort_matrix's, by its arguments
        self._breakdowns: dict[str, pd.DataFrame] = {}  # breakdown's, by its column
        self._models.setdefault(self.period.label, self)

    @classmethod
    def load(cls, data: str | None = None, period: ReportPeriod | str | None = None, *,
             base_currency: str = "USD", segment: str | None = None, lang: str = "en") -> KpiModel:
        """Load and validate a data source, then build the model (the notebooks' one call).
        ``lang``: the language every later word and number is written in (kpilib/i18n.py)."""
        from ..data.asof import default_period
        from ..i18n import set_language
        from .snapshot import read_snapshot, snapshot_key

        set_language(lang)
        if period:  # inside ``kpi report``: the runner's model, when it was built for these parameters
            label = parse_period(period).label
            shared = read_snapshot(snapshot_key(data, label, base_currency, segment))
            if shared is not None:
                return shared
        dataset = load_dataset(data, base_currency=base_currency)
        chosen = parse_period(period) if period else default_period(dataset)[0]
        return cls(dataset, chosen, segment=segment)

    # --- what the model is about ---------------------------------------------------------

    @property
    def base_currency(self) -> str:
        return self.data.base_currency

    @property
    def is_segment(self) -> bool:
        """True when the model covers one segment: company-wide figures are then withheld."""
        return bool(self.source.filters)

    def at(self, period: ReportPeriod) -> KpiModel:
        """The model of another period of the same source data (cut at that period's end)."""
        if period.label not in self._models:
            KpiModel(self.source, period, _cache=self._models)
        return self._models[period.label]

    @property
    def previous(self) -> KpiModel:
        return self.at(self.period.previous())

    @property
    def year_ago(self) -> KpiModel:
        return self.at(self.period.year_ago())

    # --- revenue --------------------------------------------------------------------------

    @cached_property
    def wide(self) -> pd.DataFrame:
        """Customer x month MRR up to the period's last month (:func:`~kpilib.customer_mrr`)."""
        d = self.data
        return customer_mrr(d.subscriptions, d.fx_rates, end=self.period.last, base_currency=d.base_currency)

    @cached_property
    def wide_revalued(self) -> pd.DataFrame:
        """:attr:`wide` with each month end at the next month's rates: the MRR each month's movements
        start from (:func:`~kpilib.metrics.mrr.customer_mrr_revalued`); :attr:`wide` itself with
        constant rates."""
        d = self.data
        if not is_dated(d.fx_rates):
            return self.wide
        return customer_mrr_revalued(d.subscriptions, d.fx_rates, end=self.period.last,
                                     base_currency=d.base_currency)

    @property
    def dated_rates(self) -> bool:
        """True when fx_rates are dated: MRR moves with the rates and the bridge has an FX impact row."""
        return is_dated(self.data.fx_rates)

    @cached_property
    def monthly(self) -> pd.DataFrame:
        """Movements and customer counts per month, :data:`HISTORY_MONTHS` before the period on."""
        from ..errors import KpiError

        d = self.data
        monthly = monthly_revenue(d.subscriptions, d.fx_rates, self.period.first - HISTORY_MONTHS,
                                  self.period.last, base_currency=d.base_currency)
        flows = monthly[[c for c in ("fx_impact", "new", "expansion", "reactivation", "contraction", "churn")
                         if c in monthly.columns]].sum(axis=1)
        gap = (monthly["closing_mrr"] - monthly["opening_mrr"] - flows).abs()
        if (gap > 0.005).any():  # half a cent: the movements must explain every month's MRR
            raise KpiError(f"the MRR bridge does not add up in {gap.idxmax()}: {gap.max():.6f} unexplained")
        return monthly

    @cached_property
    def revenue(self) -> pd.Series:
        """:func:`~kpilib.metrics.revenue.revenue_summary` of the period, plus the churn basis below."""
        out = revenue_summary(self.monthly, None, self.period, wide=self.wide)
        return pd.concat([out, self.customer_churn])

    @cached_property
    def customer_churn(self) -> pd.Series:
        """Customer churn of the period on the starting-customers basis.

        ``customer_churn`` = customers paying at the period's start (the month end before its
        first month) who are not paying at its end / customers paying at its start;
        ``customer_churn_monthly`` = its monthly equivalent 1 - (1 - rate) ** (1 / months);
        ``won_and_lost`` = customers who started paying inside the period and stopped again
        before its end (not in the starting base, so shown apart).
        """
        p = self.period
        wide = self.wide
        months = [m for m in p.months if m in wide.columns]
        start = p.first - 1
        at_start = wide[start] > 0 if start in wide.columns else pd.Series(False, index=wide.index)
        at_end = wide[p.last] > 0 if p.last in wide.columns else pd.Series(False, index=wide.index)
        paid_inside = (wide[months] > 0).any(axis=1) if months else pd.Series(False, index=wide.index)
        lost = int((at_start & ~at_end).sum())
        base = int(at_start.sum())
        rate = ratio(lost, base)
        return pd.Series({"starting_customers": float(base), "lost_customers": float(lost),
                          "customer_churn": rate,
                          "customer_churn_monthly": monthly_equivalent(rate, p.n_months)
                          if np.isfinite(rate) else float("nan"),
                          "won_and_lost": float((~at_start & paid_inside & ~at_end).sum())})

    @cached_property
    def rule_of_40(self) -> pd.Series:
        """Rule of 40 on the trailing twelve months ending with the period's last month.

        NaN items (with the financials table missing, or a month of it) rather than a
        partial sum. Company-wide by nature.
        """
        fin = self.data.get("financials")
        if fin is None:
            return pd.Series({"rule_of_40": np.nan, "revenue_growth": np.nan, "profit_margin": np.nan,
                              "gross_margin": np.nan})
        return rule_of_40(fin, (self.period.last - 11, self.period.last))

    @cached_property
    def retention(self) -> pd.Series:
        """NRR and GRR over the twelve months to the period's end."""
        return retention_rates(self.wide, self.period.last)

    # --- acquisition, funnel, voice ---------------------------------------------------------

    @cached_property
    def unit_economics(self) -> tuple[pd.DataFrame, dict[str, float]]:
        """CAC, payback, LTV, sBG CLV and LTV:CAC with the inputs used."""
        from ..metrics.acquisition import dataset_unit_economics

        by_interval = self.interval_churn
        clv = by_interval.clv if by_interval is not None and by_interval.coverage > 0 else None
        if clv is None and self.churn_model is not None:
            clv = self.churn_model["clv"]
        return dataset_unit_economics(self.data, self.period, wide=self.wide, monthly=self.monthly,
                                      clv_model={"clv": clv if clv is None or np.isfinite(clv) else None})

    @cached_property
    def gross_margin(self) -> tuple[float, bool]:
        """Gross margin of the period from financials, or the kit's default; and whether from data."""
        from ..metrics.acquisition import DEFAULT_GROSS_MARGIN

        fin = self.table("financials")
        margin = float(rule_of_40(fin, self.period)["gross_margin"]) if fin is not None else float("nan")
        return (margin, True) if np.isfinite(margin) else (DEFAULT_GROSS_MARGIN, False)

    @cached_property
    def interval_churn(self):
        """sBG per billing interval (renewal periods), combined by acquisition mix, or ``None``.

        Annual customers can leave only at a renewal, so each interval's model counts its own
        periods (:func:`kpilib.metrics.sbg.fit_sbg_by_interval` on first-spell lifetimes as known at the
        period's end). The CLV of the CLV/CAC page comes from it.
        """
        from ..errors import KpiError
        from ..metrics.acquisition import ANNUAL_DISCOUNT_RATE
        from ..metrics.cohorts import interval_lifetimes
        from ..metrics.sbg import fit_sbg_by_interval

        lifetimes = interval_lifetimes(self.wide, self.data.subscriptions)
        if lifetimes.empty:
            return None
        try:
            return fit_sbg_by_interval(lifetimes, gross_margin=self.gross_margin[0],
                                       annual_discount_rate=ANNUAL_DISCOUNT_RATE, on_failure="flag")
        except KpiError:
            return None

    @cached_property
    def win_rate(self) -> float:
        from ..metrics.funnel import win_rate

        leads = self.data.get("leads")
        return float(win_rate(leads, self.period)) if leads is not None and len(leads) else float("nan")

    @cached_property
    def web(self) -> pd.Series | None:
        from ..metrics.funnel import web_summary

        web = self.data.get("web_traffic")
        if web is None or web.empty:
            return None
        return web_summary(web, self.period).iloc[0]

    @cached_property
    def funnel(self) -> dict[str, pd.DataFrame] | None:
        """Leads at each stage in the cohort and the flow view
        (:func:`~kpilib.metrics.funnel.funnel_counts`), by view; None without leads."""
        from ..metrics.funnel import funnel_counts

        leads = self.table("leads")
        if leads is None:
            return None
        return {view: funnel_counts(leads, self.period, view) for view in ("cohort", "flow")}

    @cached_property
    def channels(self) -> pd.DataFrame | None:
        """The funnel per acquisition channel (:func:`~kpilib.metrics.funnel.channel_funnel`); None without leads."""
        from ..metrics.funnel import channel_funnel

        leads = self.table("leads")
        return None if leads is None else channel_funnel(leads, self.table("web_traffic"), self.period)

    @cached_property
    def funnel_rates(self) -> pd.Series | None:
        """The funnel page's rates (:func:`~kpilib.metrics.funnel.funnel_rates`); None without leads."""
        from ..metrics.funnel import funnel_rates

        leads = self.table("leads")
        if leads is None:
            return None
        return funnel_rates(leads, self.table("web_traffic"), self.table("sales_activities"), self.period)

    @cached_property
    def engagement(self) -> tuple[pd.DataFrame, pd.DataFrame, int] | None:
        """Engagement scores per account-month, churn by engagement band within
        :data:`~kpilib.metrics.voice.ENGAGEMENT_HORIZON` months, and that horizon; None without product usage."""
        return self._engagement()

    def _engagement(self) -> tuple[pd.DataFrame, pd.DataFrame, int] | None:
        from ..metrics.voice import churn_by_engagement, engagement_scores, scores_of_usage_sums

        sums = self.data.usage_sums  # the usage summed where it is stored (kpilib.engine.engagement)
        if sums is not None:
            if sums.empty:
                return None
            scores = scores_of_usage_sums(sums)
            return scores, churn_by_engagement(scores, self.wide, horizon=ENGAGEMENT_HORIZON), ENGAGEMENT_HORIZON
        usage = self.table("product_usage")
        if usage is None:
            return None
        scores = engagement_scores(usage)
        return scores, churn_by_engagement(scores, self.wide, horizon=ENGAGEMENT_HORIZON), ENGAGEMENT_HORIZON

    @cached_property
    def engagement_summary(self) -> tuple[pd.Period, pd.Series, pd.DataFrame, int] | None:
        """What the pages show of :attr:`engagement`: the latest month, its accounts' scores, churn by
        band and the horizon; None without product usage. Asked alone, it keeps none of the
        per-account-month scores in the model: ``kpi report`` computes it before it hands the model to
        the kernels, which then never read the usage rows (11M at 100 copies of the sample)."""
        found = self.__dict__["engagement"] if "engagement" in self.__dict__ else self._engagement()
        if found is None:
            return None
        scores, by_band, horizon = found
        latest = scores["month"].max()
        return latest, scores.loc[scores["month"] == latest, "score"].reset_index(drop=True), by_band, horizon

    def wave(self, survey: str = "nps") -> ReportPeriod | None:
        """The survey wave this pack reports (the latest closed by the period's end)."""
        return survey_wave(self.data.get("survey_responses"), self.period, survey)

    def voice(self, survey: str = "nps") -> pd.Series:
        """NPS (eNPS) of :meth:`wave` with ``wave`` label, or NaN when there is no closed wave."""
        wave = self.wave(survey)
        if wave is None:
            return _no_wave()
        out = period_nps(self.data.get("survey_responses"), wave, survey)
        return pd.concat([out.astype(object), pd.Series({"wave": wave})])

    def previous_voice(self, survey: str = "nps") -> pd.Series:
        """The wave before :meth:`wave`, for the comparison."""
        wave = self.wave(survey)
        responses = self.data.get("survey_responses")
        before = survey_wave(responses, self.period, survey, before=wave) if wave is not None else None
        if before is None:
            return _no_wave()
        return pd.concat([period_nps(responses, before, survey).astype(object), pd.Series({"wave": before})])

    # --- frames for the pages -----------------------------------------------------------------

    def table(self, name: str) -> pd.DataFrame | None:
        """An optional table as known at the period's end; ``None`` when absent or empty."""
        df = self.data.get(name)
        return None if df is None or df.empty else df

    def has_rows(self, name: str) -> bool:
        """Whether an optional table has rows up to the period's end: ``table(name)`` is not None.
        A model read from a run's snapshot knows every table's row count, so it loads none to say."""
        known = getattr(self.data, "known_edges", None)
        if known is not None and name in known:
            return known[name][0] > 0
        if name == "product_usage" and self.data.usage_sums is not None:  # summed where it is stored
            return not self.data.usage_sums.empty
        return self.table(name) is not None

    def recent(self, months: int = 24) -> pd.DataFrame:
        """Monthly movements and counts of the last ``months`` months to the period's end."""
        return self.monthly.loc[self.period.last - (months - 1): self.period.last]

    def trend(self, kind: str | None = None, periods: int = 8) -> pd.DataFrame:
        """Revenue KPIs of the last ``periods`` whole months, quarters or years."""
        from ..metrics.revenue import revenue_trend

        return revenue_trend(self.monthly, kind or self.period.kind).tail(periods)

    def breakdown(self, by: str) -> pd.DataFrame:
        """MRR and the period's movements per segment, region, channel or plan. Computed once per
        column (the revenue page asks for the segments three times, the workbook once more: 2.3 s a
        time at 100 copies of the sample); each call gets its own copy."""
        from ..metrics.revenue import revenue_breakdown

        if by not in self._breakdowns:
            d = self.data
            self._breakdowns[by] = revenue_breakdown(d.subscriptions, d.fx_rates, d.customers, self.period, by,
                                                     base_currency=d.base_currency, company=self.wide)
        return self._breakdowns[by].copy()

    def retention_trend(self, months: int = 24) -> pd.DataFrame:
        from ..metrics.revenue import retention_trend

        return retention_trend(self.wide, self.recent(months).index)

    @cached_property
    def contracts(self) -> pd.Series:
        from ..metrics.revenue import contract_values

        d = self.data
        return contract_values(d.subscriptions, d.fx_rates, self.period, base_currency=d.base_currency)

    def movers(self, n: int | None = 8) -> pd.DataFrame:
        """The accounts whose MRR moved most over the period (all movers with ``n=None``)."""
        wide = self.wide
        if self.dated_rates:  # both ends at the period end's rates: a currency move is not a movement
            d = self.data
            wide = customer_mrr(d.subscriptions, rates_at(d.fx_rates, self.period.last), end=self.period.last,
                                base_currency=d.base_currency)
        return largest_movements(self.data, self.period, n=len(self.data.customers) if n is None else n,
                                 wide=wide)

    def cohort_matrix(self, kind: str = "logo", max_age: int = 12, cohorts: int = COHORT_MONTHS,
                      by: str | None = None) -> pd.DataFrame:
        """Logo or revenue retention of the cohorts of the last ``cohorts`` months (no rows when no
        customer started paying in them: :func:`~kpilib.report.titles.no_cohorts_note` says so).
        Computed once per arguments (the churn page asks for the logo matrix twice: 0.7 s a time at
        100 copies of the sample); each call gets its own copy."""
        from ..metrics.cohorts import logo_retention, revenue_retention

        matrices = self._cohort_matrices
        key = (kind, max_age, cohorts, by)
        if key not in matrices:
            group = self.data.customers.set_index("customer_id")[by] if by else None
            fn = logo_retention if kind == "logo" else revenue_retention
            matrix = fn(self.wide, max_age=max_age, by=group) if group is not None else fn(self.wide, max_age=max_age)
            if by is None:
                matrix = matrix.loc[self.period.last - (cohorts - 1):]
            matrices[key] = matrix
        return matrices[key].copy()

    @cached_property
    def cohort_start_mrr(self) -> pd.Series:
        """Each cohort's MRR at age 0 (:func:`~kpilib.metrics.cohorts.cohort_start_mrr`): the weights
        that pool the revenue heatmap's cohorts into its title's figure."""
        from ..metrics.cohorts import cohort_start_mrr

        return cohort_start_mrr(self.wide)

    @cached_property
    def cohort_members(self) -> pd.DataFrame:
        """Per paying customer: cohort and the ages it paid at (:func:`~kpilib.metrics.cohorts.cohort_members`)."""
        from ..metrics.cohorts import cohort_members

        return cohort_members(self.wide)

    @cached_property
    def lifetimes(self) -> pd.DataFrame:
        from ..metrics.cohorts import customer_lifetimes

        return customer_lifetimes(self.wide)

    def survival(self, by: str | None = None) -> pd.DataFrame:
        """Kaplan-Meier survival of first spells (per customers column ``by``, e.g. segment)."""
        from ..metrics.cohorts import km_survival

        group = self.data.customers.set_index("customer_id")[by] if by else None
        return km_survival(self.lifetimes, by=group) if group is not None else km_survival(self.lifetimes)

    def segment_retention(self, ages: tuple[int, ...] = (3, 6, 12)) -> pd.DataFrame:
        """Logo retention per segment at the given ages, cohorts weighted by their size."""
        matrix = self.cohort_matrix("logo", max_age=max(ages), by="segment")
        rows = {}
        for name, m in matrix.groupby(level="segment"):
            row = {"cohorts": float(len(m)), "customers": float(m["customers"].sum())}
            for k in ages:
                if k not in m.columns:  # no cohort is that old yet
                    row[f"month {k}"] = float("nan")
                    continue
                seen = m[k].notna()
                row[f"month {k}"] = ratio((m.loc[seen, k] * m.loc[seen, "customers"]).sum(),
                                          m.loc[seen, "customers"].sum())
            rows[name] = row
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("segment")

    @cached_property
    def churn_model(self) -> dict | None:
        """The sBG churn model of the pack (the one behind the sBG CLV of the CLV/CAC page).

        Fitted to the twelve monthly cohorts that started 13-24 months before the period's
        end, observed for 12 months; ``None`` when those cohorts are empty or the fit fails.
        """
        from ..errors import KpiError
        from ..metrics.acquisition import ANNUAL_DISCOUNT_RATE
        from ..metrics.cohorts import cohort_survivors
        from ..metrics.sbg import fit_sbg, sbg_clv

        p = self.period
        try:
            survivors = cohort_survivors(self.lifetimes, p.last - 24, p.last - 13, 12)
            fit = fit_sbg(survivors)
        except KpiError:
            return None
        margin, from_data = self.gross_margin  # the unit economics' margin
        discount = (1 + ANNUAL_DISCOUNT_RATE) ** (1 / 12) - 1
        arpa = float(self.revenue["arpa"])
        return {"fit": fit, "survivors": survivors, "first_cohort": p.last - 24, "last_cohort": p.last - 13,
                "gross_margin": margin, "margin_from_financials": from_data,
                "monthly_discount": discount, "arpa": arpa, "clv": sbg_clv(fit, arpa, margin, discount)}

    @cached_property
    def forecast(self) -> MrrForecast:
        """MRR forecast with its 80 % band, the backtest and the open pipeline, from the data known at
        the period's end (:class:`MrrForecast`; docs/metrics.md, "Forecast").

        The forecast starts from the period's last month (a quarter or a year forecasts the twelve
        months after its last month), covers the model's segment and is in its base currency; the
        band is a seeded bootstrap of :data:`FORECAST_N_BOOT` replicates, so the page is deterministic.
        """
        from ..metrics.forecast import backtest, forecast_mrr
        from ..metrics.pipeline import pipeline_mrr

        d, last = self.data, self.period.last
        frame = forecast_mrr(d.subscriptions, d.fx_rates, as_of=last, horizon=FORECAST_HORIZON, wide=self.wide,
                             n_boot=FORECAST_N_BOOT, seed=FORECAST_SEED, level=FORECAST_LEVEL,
                             base_currency=d.base_currency)
        track = backtest(d.subscriptions, d.fx_rates, end=last, lags=BACKTEST_LAGS, n_boot=FORECAST_N_BOOT,
                         seed=FORECAST_SEED, level=FORECAST_LEVEL, base_currency=d.base_currency)
        leads = self.table("leads")
        if leads is None:
            return MrrForecast(frame, track, None, _("No leads in the data up to the period's end: there is no "
                                                     "open pipeline to weigh."))
        if self.is_segment and not self.leads_have_segment:
            return MrrForecast(frame, track, None, _("Leads carry no segment, so the open pipeline is the "
                                                     "company's, not the segment's: it is not shown for a segment."))
        return MrrForecast(frame, track, pipeline_mrr(leads, as_of=last, horizon=FORECAST_HORIZON))

    @cached_property
    def cohorts(self) -> pd.Series:
        """Cohort (first paid month) per paying customer (:func:`~kpilib.metrics.cohorts.cohorts`),
        found once for the headline, the exports and the account lists."""
        from ..metrics.cohorts import cohorts

        return cohorts(self.wide)

    @cached_property
    def new_customers(self) -> pd.DataFrame:
        """Customers whose first paying month falls in the period, with their channel."""
        from ..metrics.acquisition import new_customers

        return new_customers(self.cohorts, self.data.customers, self.period)

    @cached_property
    def acquisition_costs(self) -> tuple[pd.DataFrame | None, str]:
        """Spend, CPL, CAC and CPA per channel and blended, or ``None`` with the reason.

        Spend is recorded per channel, not per segment: a segment pack gets ``None``.
        """
        from ..metrics.acquisition import acquisition_costs

        spend = self.table("marketing_spend")
        if spend is None:
            return None, _("no marketing_spend rows: CAC, CPL and CPA cannot be computed")
        if self.is_segment:
            return None, _("Marketing and sales spend is recorded per channel, not per segment: CAC, CPL "
                           "and return per channel are company-wide and not shown for a segment.")
        return acquisition_costs(spend, self.table("leads"), self.new_customers, self.period), ""

    def channel_return(self) -> pd.DataFrame | None:
        """New ARR won per unit of spend per channel (``None`` when costs are withheld)."""
        from ..metrics.acquisition import channel_return

        costs, _ = self.acquisition_costs
        if costs is None:
            return None
        new = self.new_customers
        mrr = self.wide.loc[new["customer_id"], self.period.last] if len(new) else pd.Series(dtype="float64")
        by_channel = mrr.groupby(new.set_index("customer_id")["channel"]).sum() if len(new) else mrr
        return channel_return(by_channel, costs, new.groupby("channel").size())

    def marketing_share(self) -> pd.Series:
        from ..metrics.acquisition import marketing_contribution

        return marketing_contribution(self.wide[self.period.last], self.data.customers)

    # --- the headline ------------------------------------------------------------------------

    @property
    def leads_have_segment(self) -> bool:
        """True when leads carry a ``segment`` column, so a segment pack's funnel is its own."""
        leads = self.data.get("leads")
        return leads is not None and "segment" in leads.columns

    def withheld(self, spec) -> bool:
        """A company-wide KPI in a segment pack, unless the data tie it to the segment's accounts."""
        if spec.scope != "company" or not self.is_segment:
            return False
        return not (spec.segment_ready is not None and spec.segment_ready(self))

    def value(self, key: str) -> float:
        """One KPI of the registry for this period (NaN when undefined or withheld)."""
        from .registry import KPIS

        spec = KPIS[key]
        if self.withheld(spec):
            return float("nan")
        v = float(spec.compute(self))
        return v if np.isfinite(v) else float("nan")


def _no_wave() -> pd.Series:
    return pd.Series({"nps": np.nan, "n": 0.0, "margin_of_error": np.nan, "wave": None}, dtype=object)
