"""kpilib: B2B SaaS KPIs from a documented data contract.

The public surface is re-exported here, grouped by topic. The implementation lives in three
sub-packages, one module per concern (see the README's layout section): ``kpilib.data`` (contract,
files, databases, validation, sample company), ``kpilib.metrics`` (one module per KPI family) and
``kpilib.report`` (the model, pages, exports, runner). Imports point one way, data then metrics
then report, and tests/test_layout.py keeps it so.
"""

from importlib.metadata import PackageNotFoundError, version

# --- errors: every error the kit raises on purpose ----------------------------------------------
from .errors import ContractError, KpiError, ModelFitError, PeriodError, ReportError

# --- data layer: contract, loading, the as-of rule, currencies, periods --------------------------
from .data.contract import TABLES, contract_markdown
from .data.dataset import ContractWarning, Dataset
from .data.load import load_dataset
from .data.asof import as_of
from .periods import ReportPeriod, latest_complete_period, parse_period

# --- metrics: one module per KPI family, DataFrame in, DataFrame out ------------------------------
from .metrics.mrr import customer_mrr, mrr_movements
from .metrics.revenue import (contract_values, largest_movements, monthly_revenue, period_revenue, retention_rates, retention_trend,
                       revenue_breakdown, revenue_trend, rule_of_40)
from .metrics.cohorts import (billing_intervals, cohort_survivors, cohorts, customer_lifetimes, interval_lifetimes,
                       km_survival, logo_retention, revenue_retention)
from .metrics.sbg import (IntervalChurnModel, SBGFit, fit_sbg, fit_sbg_by_interval, fit_sbg_lifetimes,
                   sbg_clv, sbg_verdict)
from .metrics.funnel import (channel_funnel, cycle_days, funnel_counts, funnel_trend, rep_leaderboard, sales_cycle,
                      stage_conversions, stage_durations, trial_metrics, web_summary, win_rate)
from .metrics.acquisition import (acquisition_costs, channel_return, dataset_unit_economics, ltv,
                           marketing_contribution, new_customers, period_spend, unit_economics)
from .metrics.voice import (ces_summary, churn_by_engagement, engagement_scores, notable_comments, nps_by,
                     nps_summary, nps_trend, period_nps, survey_wave)

# --- the model: one object per (data, period, segment, currency), and the KPI registry ---------
from .report.model import KpiModel
from .report.registry import KPIS, KpiSpec

# --- pages: what notebooks show (formats, titles, tiles, tables, charts) ------------------------
from .report import titles as titles
from .report.format import format_change, format_money, format_value
from .report.display import Tile, note_html, show_table, tiles_html
from .report.context import context_html, missing_tables_html, period_coverage
from .report.overview import headline_kpis, kpi_table, kpi_tiles
from .report.titles import trend_title
from .report.pages import (STAGE_NAMES, bookings_table, bridge_caption, bridge_trend, caption, ces_note, changes_table,
                     channel_table, churn_basis_table, churn_drilldown, churn_model_table, churned_table,
                     cohort_drilldown, comments_table, costs_table, engagement_table, funnel_drilldown, funnel_notes,
                     funnel_rates_table, funnel_table, interval_churn_table, missing_note, movement_drilldown, note,
                     nps_drilldown, nps_segment_table, rep_table, stage_table, table, tiles, unit_economics_note,
                     unit_economics_table, voice_note, voice_trend, web_table)
from .report.pages import header as page_header
from .report.pages import headline as page_headline
# charts: matplotlib and seaborn load on first use (the runner and the model never need them)
_PLOTTING = ("cohort_heatmap", "money_axis", "movement_bars", "pct_axis", "short_money", "use_house_style",
             "waterfall")

# --- the runner -----------------------------------------------------------------------------------
from .report.runner import NOTEBOOKS, build_report

__all__ = [
    # errors
    "ContractError", "KpiError", "ModelFitError", "PeriodError", "ReportError",
    # data layer
    "TABLES", "contract_markdown", "ContractWarning", "Dataset", "load_dataset", "as_of",
    "ReportPeriod", "latest_complete_period", "parse_period",
    # metrics
    "customer_mrr", "mrr_movements",
    "contract_values", "largest_movements", "monthly_revenue", "period_revenue", "retention_rates", "retention_trend",
    "revenue_breakdown", "revenue_trend", "rule_of_40",
    "billing_intervals", "cohort_survivors", "cohorts", "customer_lifetimes", "interval_lifetimes",
    "km_survival", "logo_retention", "revenue_retention",
    "IntervalChurnModel", "SBGFit", "fit_sbg", "fit_sbg_by_interval", "fit_sbg_lifetimes", "sbg_clv", "sbg_verdict",
    "channel_funnel", "cycle_days", "funnel_counts", "funnel_trend", "rep_leaderboard", "sales_cycle",
    "stage_conversions", "stage_durations", "trial_metrics", "web_summary", "win_rate",
    "acquisition_costs", "channel_return", "dataset_unit_economics", "ltv", "marketing_contribution",
    "new_customers", "period_spend", "unit_economics",
    "ces_summary", "churn_by_engagement", "engagement_scores", "notable_comments", "nps_by", "nps_summary",
    "nps_trend", "period_nps", "survey_wave",
    # model
    "KpiModel", "KPIS", "KpiSpec",
    # pages
    "titles", "format_change", "format_money", "format_value", "Tile", "note_html", "show_table", "tiles_html",
    "context_html", "missing_tables_html", "period_coverage",
    "headline_kpis", "kpi_table", "kpi_tiles", "trend_title",
    "STAGE_NAMES", "bookings_table", "bridge_caption", "bridge_trend", "caption", "ces_note", "changes_table", "channel_table",
    "churn_basis_table", "churn_drilldown", "churn_model_table", "churned_table", "cohort_drilldown",
    "comments_table", "costs_table", "engagement_table", "funnel_drilldown", "funnel_notes", "funnel_rates_table",
    "funnel_table", "interval_churn_table", "missing_note", "movement_drilldown", "note", "nps_drilldown",
    "nps_segment_table", "rep_table", "stage_table", "table", "tiles", "unit_economics_note",
    "unit_economics_table", "voice_note", "voice_trend", "web_table", "page_header", "page_headline",
    "cohort_heatmap", "money_axis", "movement_bars", "pct_axis", "short_money", "use_house_style", "waterfall",
    "chart",
    # runner
    "NOTEBOOKS", "build_report",
]

try:
    __version__ = version("kpilib")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str):
    if name in _PLOTTING:
        from .report import plotting

        return getattr(plotting, name)
    if name == "chart":  # every chart of the pages, by name (kpilib.report.charts)
        from .report.charts import chart

        return chart
    raise AttributeError(f"module 'kpilib' has no attribute {name!r}")
