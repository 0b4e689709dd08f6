"""kpilib: B2B SaaS KPIs from a documented data contract.

The public surface is listed here, grouped by topic, in :data:`API`. The implementation lives in
three sub-packages, one module per concern (see the README's layout section): ``kpilib.data``
(contract, files, databases, validation, sample company), ``kpilib.metrics`` (one module per KPI
family) and ``kpilib.report`` (the model, pages, exports, runner). Imports point one way, data then
metrics then report, and tests/test_layout.py keeps it so.

Names load on first use (PEP 562): ``import kpilib`` costs next to nothing, and a process that
needs only the CLI's argument parser or the runner's notebook workers never imports pandas,
scipy, openpyxl or matplotlib for the rest of the API. ``kpi.KpiModel`` imports the model the
first time it is read; ``from kpilib import KpiModel`` works as usual.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

#: module (relative to the package) -> the public names it gives, grouped by topic;
#: a name given as "public=internal" is re-exported under another name.
API: dict[str, tuple[str, ...]] = {
    # --- errors: every error the kit raises on purpose
    ".errors": ("ContractError", "GoalsError", "KpiError", "LanguageError", "ModelFitError", "PeriodError", "ReportError"),
    # --- data layer: contract, loading, the as-of rule, currencies, periods, goals
    ".data.contract": ("TABLES", "contract_markdown"),
    ".data.dataset": ("ContractWarning", "Dataset"),
    ".data.load": ("load_dataset",),
    ".data.asof": ("as_of",),
    ".data.goals": ("Goals", "read_goals"),
    ".periods": ("ReportPeriod", "latest_complete_period", "parse_period"),
    # --- the reader's language: message catalogs and locale formats
    ".i18n": ("languages", "set_language", "using"),
    # --- metrics: one module per KPI family, DataFrame in, DataFrame out
    ".metrics.mrr": ("customer_mrr", "mrr_movements"),
    ".metrics.revenue": ("contract_values", "largest_movements", "monthly_revenue", "period_revenue",
                         "retention_rates", "retention_trend", "revenue_breakdown", "revenue_trend", "rule_of_40"),
    ".metrics.cohorts": ("billing_intervals", "cohort_survivors", "cohorts", "customer_lifetimes",
                         "interval_lifetimes", "km_survival", "logo_retention", "revenue_retention"),
    ".metrics.sbg": ("IntervalChurnModel", "SBGFit", "fit_sbg", "fit_sbg_by_interval", "fit_sbg_lifetimes",
                     "sbg_clv", "sbg_verdict"),
    ".metrics.funnel": ("channel_funnel", "cycle_days", "funnel_counts", "funnel_trend", "rep_leaderboard",
                        "sales_cycle", "stage_conversions", "stage_durations", "trial_metrics", "web_summary",
                        "win_rate"),
    ".metrics.acquisition": ("acquisition_costs", "channel_return", "dataset_unit_economics", "ltv",
                             "marketing_contribution", "new_customers", "period_spend", "unit_economics"),
    ".metrics.voice": ("ces_summary", "churn_by_engagement", "engagement_scores", "notable_comments", "nps_by",
                       "nps_summary", "nps_trend", "period_nps", "survey_wave"),
    ".metrics.forecast": ("backtest", "committed_mrr", "forecast_mrr"),
    ".metrics.pipeline": ("pipeline_mrr",),
    # --- the model: one object per (data, period, segment, currency), and the KPI registry
    ".report.model": ("KpiModel", "MrrForecast"),
    ".report.registry": ("KPIS", "KpiSpec"),
    # --- pages: what notebooks show (formats, titles, tiles, tables, charts)
    ".report.format": ("format_change", "format_money", "format_value"),
    ".report.display": ("Tile", "note_html", "show_table", "tiles_html"),
    ".report.context": ("context_html", "missing_tables_html", "period_coverage"),
    ".report.overview": ("headline_kpis", "kpi_table", "kpi_tiles"),
    ".report.titles": ("trend_title",),
    ".report.pages": ("STAGE_NAMES", "bookings_table", "bridge_caption", "bridge_trend", "caption", "ces_note",
                      "changes_table", "channel_table", "churn_basis_table", "churn_drilldown", "churn_model_table",
                      "churned_table", "cohort_drilldown", "comments_table", "costs_table", "engagement_table",
                      "funnel_drilldown", "funnel_notes", "funnel_rates_table", "funnel_table",
                      "interval_churn_table", "missing_note", "movement_drilldown", "note", "nps_drilldown",
                      "nps_segment_table", "plan_count_note", "rep_table", "stage_table", "table", "tiles",
                      "unit_economics_note",
                      "unit_economics_table", "voice_note", "voice_trend", "web_table",
                      "backtest_note", "backtest_table", "forecast_assumptions_table", "forecast_note",
                      "forecast_table", "pipeline_note", "pipeline_table",
                      "page_header=header", "page_headline=headline"),
    ".report.sections": ("SECTIONS", "section"),  # the pages' headings and prose, in the reader's language
    ".report.charts": ("chart",),  # every chart of the pages, by name
    ".report.plotting": ("cohort_heatmap", "money_axis", "movement_bars", "pct_axis", "short_money",
                         "use_house_style", "waterfall"),
    # --- the runner, and the pages it runs
    ".report.runner": ("build_report", "kept_workers"),
    ".report.sitemap": ("NOTEBOOKS",),
}
#: modules of the API that are themselves public: ``kpi.titles.trend_title(...)``
MODULES = {"titles": ".report.titles"}

#: public name -> (module, name in that module)
_WHERE: dict[str, tuple[str, str]] = {
    public: (module, internal or public)
    for module, names in API.items()
    for public, _, internal in (n.partition("=") for n in names)
}

__all__ = [*_WHERE, *MODULES]

try:
    __version__ = version("kpilib")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name in MODULES:
        value = importlib.import_module(MODULES[name], __name__)
    elif name in _WHERE:
        module, internal = _WHERE[name]
        value = getattr(importlib.import_module(module, __name__), internal)
    else:
        raise AttributeError(f"module 'kpilib' has no attribute {name!r}")
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
