"""kpilib: B2B SaaS KPIs from a documented data contract.

The public surface is re-exported here; implementation lives in private modules,
one per concern (contract and loading, periods, each KPI family, plotting, the
report runner and the CLI).
"""

from __future__ import annotations

from . import _titles as titles
from ._acquisition import (
                     acquisition_costs,
                     channel_return,
                     dataset_unit_economics,
                     ltv,
                     marketing_contribution,
                     new_customers,
                     period_spend,
                     unit_economics,
)
from ._asof import as_of
from ._cohorts import cohort_survivors, cohorts, customer_lifetimes, km_survival, logo_retention, revenue_retention
from ._context import context_html, missing_tables_html, period_coverage
from ._contract import TABLES, contract_markdown
from ._display import Tile, note_html, show_table, tiles_html
from ._errors import ContractError, KpiError, PeriodError, ReportError
from ._format import format_change, format_value
from ._funnel import (
                     channel_funnel,
                     cycle_days,
                     funnel_counts,
                     funnel_trend,
                     rep_leaderboard,
                     sales_cycle,
                     stage_durations,
                     trial_metrics,
                     web_summary,
                     win_rate,
)
from ._loading import ContractWarning, Dataset, load_dataset
from ._model import KpiModel
from ._mrr import customer_mrr, mrr_movements
from ._overview import headline_kpis, kpi_table, kpi_tiles, largest_movements, trend_title
from ._pages import (
                     STAGE_NAMES,
                     bookings_table,
                     churn_model_table,
                     funnel_notes,
                     funnel_rates_table,
                     missing_note,
                     note,
                     table,
                     tiles,
                     unit_economics_note,
                     unit_economics_table,
                     voice_note,
                     voice_trend,
                     web_table,
)
from ._pages import header as page_header
from ._pages import headline as page_headline
from ._periods import ReportPeriod, latest_complete_period, parse_period
from ._plotting import cohort_heatmap, money_axis, movement_bars, pct_axis, short_money, use_house_style, waterfall
from ._registry import KPIS, KpiSpec
from ._report import NOTEBOOKS, build_report
from ._revenue import (
                     contract_values,
                     monthly_revenue,
                     period_revenue,
                     retention_rates,
                     retention_trend,
                     revenue_breakdown,
                     revenue_trend,
                     rule_of_40,
)
from ._sbg import SBGFit, fit_sbg, sbg_clv
from ._voice import (
                     ces_summary,
                     churn_by_engagement,
                     engagement_scores,
                     notable_comments,
                     nps_by,
                     nps_summary,
                     nps_trend,
                     period_nps,
                     survey_wave,
)

__all__ = [
    "TABLES", "contract_markdown",
    "Tile", "note_html", "show_table", "tiles_html",
    "ContractError", "KpiError", "PeriodError", "ReportError",
    "ContractWarning", "Dataset", "load_dataset",
    "customer_mrr", "mrr_movements",
    "as_of", "KpiModel", "KPIS", "KpiSpec", "titles",
    "STAGE_NAMES", "bookings_table", "churn_model_table", "funnel_notes", "funnel_rates_table",
    "missing_note", "unit_economics_note", "unit_economics_table", "voice_note", "voice_trend", "web_table", "page_header", "page_headline", "note", "table", "tiles",
    "context_html", "missing_tables_html", "period_coverage", "format_change", "format_value",
    "headline_kpis", "kpi_table", "kpi_tiles", "largest_movements", "trend_title",
    "ReportPeriod", "latest_complete_period", "parse_period",
    "cohort_survivors", "cohorts", "customer_lifetimes", "km_survival", "logo_retention",
    "revenue_retention", "SBGFit", "fit_sbg", "sbg_clv", "cohort_heatmap",
    "channel_funnel", "cycle_days", "funnel_counts", "funnel_trend", "rep_leaderboard", "sales_cycle",
    "stage_durations", "trial_metrics", "web_summary", "win_rate",
    "acquisition_costs", "channel_return", "dataset_unit_economics", "ltv", "marketing_contribution", "new_customers", "period_spend",
    "unit_economics",
    "ces_summary", "churn_by_engagement", "engagement_scores", "notable_comments", "nps_by", "nps_summary",
    "nps_trend", "period_nps", "survey_wave",
    "money_axis", "movement_bars", "pct_axis", "short_money", "use_house_style", "waterfall",
    "contract_values", "monthly_revenue", "period_revenue", "retention_rates", "retention_trend",
    "revenue_breakdown", "revenue_trend", "rule_of_40",
    "NOTEBOOKS", "build_report",
]
__version__ = "0.1.0"
