"""The KPI model: one object per (data, period, segment, base currency) that computes once.

A :class:`KpiModel` holds the dataset *as known at the period's end* (:func:`~kpilib._asof.as_of`)
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

from functools import cached_property

import numpy as np
import pandas as pd

from ._asof import as_of
from ._loading import Dataset, load_dataset
from ._mrr import customer_mrr
from ._periods import ReportPeriod, parse_period
from ._revenue import (monthly_equivalent, monthly_revenue, ratio, retention_rates, revenue_summary,
                       rule_of_40)
from ._voice import period_nps, survey_wave

HISTORY_MONTHS = 36  # months of movements kept before the period for trends and comparisons


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
        self.source = dataset.filter(segment=segment) if segment not in (None, "", "all") else dataset
        self.segment = segment if segment not in (None, "", "all") else None
        self.data = as_of(self.source, self.period.end_date)
        self._models = {} if _cache is None else _cache  # shared by the models of one source
        self._models.setdefault(self.period.label, self)

    @classmethod
    def load(cls, data: str | None = None, period: ReportPeriod | str | None = None, *,
             base_currency: str = "USD", segment: str | None = None) -> KpiModel:
        """Load and validate a data source, then build the model (the notebooks' one call)."""
        from ._periods import latest_complete_period

        dataset = load_dataset(data, base_currency=base_currency)
        chosen = parse_period(period) if period else latest_complete_period(dataset.data_end)
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
    def monthly(self) -> pd.DataFrame:
        """Movements and customer counts per month, :data:`HISTORY_MONTHS` before the period on."""
        d = self.data
        return monthly_revenue(d.subscriptions, d.fx_rates, self.period.first - HISTORY_MONTHS,
                               self.period.last, base_currency=d.base_currency)

    @cached_property
    def revenue(self) -> pd.Series:
        """:func:`~kpilib._revenue.revenue_summary` of the period, plus the churn basis below."""
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
        from ._acquisition import dataset_unit_economics

        return dataset_unit_economics(self.data, self.period)

    @cached_property
    def win_rate(self) -> float:
        from ._funnel import win_rate

        leads = self.data.get("leads")
        return float(win_rate(leads, self.period)) if leads is not None and len(leads) else float("nan")

    @cached_property
    def web(self) -> pd.Series | None:
        from ._funnel import web_summary

        web = self.data.get("web_traffic")
        if web is None or web.empty:
            return None
        return web_summary(web, self.period).iloc[0]

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

    # --- the headline ------------------------------------------------------------------------

    def value(self, key: str) -> float:
        """One KPI of the registry for this period (NaN when undefined or withheld)."""
        from ._registry import KPIS

        spec = KPIS[key]
        if spec.scope == "company" and self.is_segment:
            return float("nan")
        v = float(spec.compute(self))
        return v if np.isfinite(v) else float("nan")


def _no_wave() -> pd.Series:
    return pd.Series({"nps": np.nan, "n": 0.0, "margin_of_error": np.nan, "wave": None}, dtype=object)
