"""What a notebook page shows, built from a :class:`~kpilib.KpiModel`.

Notebooks call these and nothing else for layout: the page header (house style, the
styles the tiles and notes need, navigation, what the page covers), KPI tiles from the
registry, and tables whose headers are words and whose formats follow each column's
unit. So a notebook looks the same in JupyterLab as in the pack, and no format or label
is typed in a notebook.
"""

from __future__ import annotations

import html
from importlib import resources

import pandas as pd
from IPython.display import HTML

from ..errors import KpiError
from ..i18n import N_, _, month_name, ngettext
from ..metrics.revenue import RULE_OF_40
from .display import number, percent, show_table, tiles_html
from .format import format_value, is_missing, signed
from .model import KpiModel
from .sitemap import PAGES

#: Table column -> (header, unit). Units: money, count, pct, ratio, months, days, points, text.
COLUMNS: dict[str, tuple[str, str]] = {
    "mrr": (N_("MRR"), "money"), "arr": (N_("ARR"), "money"), "arpa": (N_("ARPA"), "money"),
    "opening_mrr": (N_("Opening MRR"), "money"), "closing_mrr": (N_("Closing MRR"), "money"),
    "new": (N_("New"), "money"), "expansion": (N_("Expansion"), "money"), "reactivation": (N_("Reactivation"), "money"),
    "contraction": (N_("Contraction"), "money"), "churn": (N_("Churn"), "money"),
    "net_new_mrr": (N_("Net new MRR"), "money"), "moved_in": (N_("Moved in"), "money"),
    "fx_impact": (N_("FX impact"), "money"),
    "moved_out": (N_("Moved out"), "money"), "unexplained": (N_("Unexplained (must be 0)"), "money_cents"),
    "share": (N_("Share of MRR"), "pct"),
    "customers": (N_("Customers"), "count"), "mrr_before": (N_("MRR before"), "money"),
    "mrr_after": (N_("MRR after"), "money"), "change": (N_("Change"), "money"),
    "name": (N_("Name"), "text"), "segment": (N_("Segment"), "text"), "movement": (N_("Movement"), "text"),
    "customer_id": (N_("Account"), "text"), "plan": (N_("Plan"), "text"), "channel": (N_("Channel"), "text"),
    "metric": (N_("Metric"), "text"), "stage": (N_("Stage"), "text"), "owner": (N_("Sales rep"), "text"),
    "period": (N_("Period"), "text"), "band": (N_("Engagement band"), "text"), "region": (N_("Region"), "text"),
    "wave": (N_("Survey wave"), "text"),
    "nps": (N_("NPS"), "points"), "margin_of_error": (N_("± margin (95%)"), "points_abs"),
    "promoters": (N_("Promoters"), "count"), "passives": (N_("Passives"), "count"),
    "detractors": (N_("Detractors"), "count"), "n": (N_("Answers"), "count"),
    "account_months": (N_("Account-months"), "count"), "churned": (N_("Churned"), "count"),
    "churn_rate": (N_("Churn within 3 months"), "pct"),
    "marketing": (N_("Marketing spend"), "money"), "sales": (N_("Sales spend"), "money"),
    "total": (N_("Total spend"), "money"), "cac": (N_("CAC"), "money"), "cpl": (N_("CPL"), "money"),
    "cpa": (N_("CPA"), "money"), "new_customers": (N_("New customers"), "count"), "leads": (N_("Leads"), "count"),
    "won_deals": (N_("Deals won"), "count"), "note": (N_("Why undefined"), "text"),
    "new_arr": (N_("New ARR"), "money"), "return": (N_("New ARR per unit of spend"), "ratio"),
    "cohorts": (N_("Cohorts"), "count"), "month 3": (N_("Month 3"), "pct"), "month 6": (N_("Month 6"), "pct"),
    "month 12": (N_("Month 12"), "pct"),
    "group": (N_("Group"), "text"), "score": (N_("Score"), "count"), "responded_at": (N_("Answered on"), "text"),
    "comment": (N_("Comment"), "text"),
    "lead_to_customer": (N_("Lead -> customer"), "pct"), "win_rate": (N_("Win rate"), "pct"),
    "bounce_rate": (N_("Bounce rate"), "pct"), "visitor_to_lead": (N_("Visitor -> lead"), "pct"),
    "unique_visitors": (N_("Unique visitors"), "count"), "sessions": (N_("Sessions"), "count"),
    "new_visitors": (N_("New visitors"), "count"), "bounced_sessions": (N_("Bounced sessions"), "count"),
    "median_days": (N_("Median days"), "days"), "mean_days": (N_("Mean days"), "days"),
    "won": (N_("Won"), "count"), "days": (N_("Active days"), "count"), "calls": (N_("Calls"), "count"),
    "demos_booked": (N_("Demos booked"), "count"), "demos_held": (N_("Demos held"), "count"),
    "calls_per_day": (N_("Calls per day"), "ratio"), "demo_conversion": (N_("Demos held / booked"), "pct"),
    "deal_conversion": (N_("Deals won / leads"), "pct"),
    "count": (N_("Leads"), "count"), "step_conversion": (N_("From the stage before"), "pct"),
    "from_lead": (N_("From lead"), "pct"), "flow": (N_("Flow: events in the period"), "count"),
    "cohort": (N_("Cohort: leads created in the period"), "count"),
    "starting_customers": (N_("Customers at the start"), "count"), "lost_customers": (N_("Lost"), "count"),
    "lead": (N_("Leads"), "count"), "mql": (N_("MQLs"), "count"), "sql": (N_("SQLs"), "count"),
    "opportunity": (N_("Opportunities"), "count"), "value": (N_("Value"), "text"),
    "why undefined": (N_("Why undefined"), "text"),
    "leads_created": (N_("Leads created"), "count"), "ces": (N_("Customer effort"), "ratio"),
    "central": (N_("Forecast MRR"), "money"), "low": (N_("Band low"), "money"), "high": (N_("Band high"), "money"),
    "committed": (N_("Committed MRR"), "money"), "installed_base": (N_("From today's customers"), "money"),
    "new_business": (N_("From new business"), "money"), "made_at": (N_("Forecast made at the end of"), "text"),
    "horizon_months": (N_("Months ahead"), "count"), "forecast": (N_("Forecast MRR"), "money"),
    "actual": (N_("Actual MRR"), "money"), "error_pct": (N_("Error (forecast / actual - 1)"), "pct"),
    "inside_band": (N_("Actual inside the band"), "text"), "reason": (N_("Why no forecast"), "text"),
    "expected_deals": (N_("Expected wins"), "ratio"), "expected_new_mrr": (N_("Expected new MRR"), "money"),
    "cumulative_new_mrr": (N_("Expected new MRR, cumulative"), "money"),
    "month": (N_("Month"), "text"),
}


def _css() -> str:
    return resources.files("kpilib").joinpath("templates/kpi/kpi.css").read_text(encoding="utf-8")


def header(model: KpiModel, page: str) -> HTML:
    """The top of a page: styles, navigation to every page, and what the figures cover.

    Links point to the notebooks (``.ipynb``), which is what JupyterLab opens; the pack's renderer
    (:func:`kpilib.report.render.html_links`) turns them into links to the HTML pages it holds and
    adds the pack's index and glossary, which exist only in a pack."""
    from .context import context_html
    from .plotting import use_house_style

    use_house_style()
    links = " · ".join(
        f"<b>{html.escape(_(title))}</b>" if name == page else
        f'<a href="{html.escape(name)}.ipynb">{html.escape(_(title))}</a>'
        for name, title in PAGES.items())
    nav = f'<nav class="kpi-nav">{links}</nav>'  # the pack's renderer adds its index and glossary
    scope = ""
    if model.is_segment:
        scope = '<div class="kpi-note">' + html.escape(_(
            "Segment pack: figures are this segment's; company-wide figures (web traffic, spend, financials, "
            "the funnel before a deal is won) are marked as such and not shown as the segment's."),
            quote=False) + "</div>"
    from .manifest import stale_tables

    context = context_html(model.data, model.period).data
    stale = "".join(note(line).data for line in stale_tables(model.data, model.period))  # as of the period
    return HTML(f"<style>{_css()}</style>{nav}{context}{scope}{stale}")


def tiles(model: KpiModel, keys: list[str] | None = None) -> HTML:
    """KPI tiles of the registry (all shown for the period kind, or ``keys``)."""
    from .overview import kpi_tiles

    return tiles_html(kpi_tiles(headline(model), model.period, model.base_currency, keys=keys))


def headline(model: KpiModel) -> pd.DataFrame:
    """:func:`~kpilib.headline_kpis` of the model, computed once per model."""
    from .overview import headline_kpis

    if "headline" not in model.memo:
        model.memo["headline"] = headline_kpis(model)
    return model.memo["headline"]


def table(frame: pd.DataFrame | None, model: KpiModel, table_id: str, *, caption: str | None = None,
          hide_index: bool = False, units: dict[str, str] | None = None,
          missing: str | None = None):
    """A table with worded headers and formats from each column's unit (:data:`COLUMNS`); for
    ``None`` (the period lacks the data), the ``missing`` note instead (nothing when the page
    already says why, e.g. in the chart's place).

    ``units`` overrides or adds units for columns not in :data:`COLUMNS`. Money is formatted
    in the model's base currency; missing values read "–".
    """
    if frame is None:
        missing = missing or _(MISSING.get(table_id, ""))
        return note(missing) if missing else HTML("")
    units = {c: COLUMNS[c][1] for c in frame.columns if c in COLUMNS} | dict(units or {})
    currency = model.base_currency
    formats = {}
    for column, unit in units.items():
        if column not in frame.columns or unit == "text":
            continue
        if unit == "points_abs":
            formats[column] = lambda v: format_value(v, "points", currency, missing="–").lstrip("+")
        else:
            formats[column] = (lambda u: lambda v: format_value(v, u, currency, missing="–"))(unit)
    shown = frame.rename(columns=_header)
    formats = {_header(c): f for c, f in formats.items()}
    index_name = frame.index.name
    if index_name in COLUMNS:
        shown = shown.rename_axis(_(COLUMNS[index_name][0]))
    return show_table(shown, formats, table_id=table_id, caption=caption, hide_index=hide_index)


def _header(column):
    """A column's header in words (:data:`COLUMNS`), in the current language; other names as they are."""
    return _(COLUMNS[column][0]) if column in COLUMNS else column


#: What a table's place says when the period lacks its data (tables whose chart says it already: none).
MISSING = {
    "churned": N_("No account churned in this period."),
    "reps": N_("No leads table: no sales rep to rank."),
    "enps": N_("No employee survey wave has closed by the period's end."),
    "nps_trend": "",
    "comments": "",
    "pipeline": "",
}


def note(text: str) -> HTML:
    from .display import note_html

    return note_html(text)


def plan_count_note(model: KpiModel) -> HTML | None:
    """Under the table by plan, when its customers add up to more than the company's: a customer paying
    for several plans at once counts under each (MRR and movements still add up); ``None`` otherwise."""
    counted = float(model.breakdown("plan")["customers"].sum())
    company = float(model.revenue["customers"])
    if not counted > company:
        return None
    return note(_("The plans count {counted} customers, the company {company}: a customer paying for several plans "
                  "at once counts under each plan.").format(counted=format_value(counted, "count"),
                                                           company=format_value(company, "count")))


def movement_drilldown(model: KpiModel) -> HTML:
    """The period's movements, each openable to the customers behind it (:mod:`~kpilib.report.drill`)."""
    from .drill import movement_accounts, movement_drilldown_html

    return HTML(movement_drilldown_html(movement_accounts(model), model.revenue, model.base_currency))


def churn_drilldown(model: KpiModel) -> HTML:
    """Every churned account of the period, openable (the churn rate's numerator)."""
    from .drill import churned_drill, drill_html

    return HTML(drill_html([churned_drill(model)], model.base_currency))


def cohort_drilldown(model: KpiModel) -> HTML:
    """Each cohort of the heatmaps, openable to its customers and the ages they paid at."""
    from .drill import cohort_drills, drill_html
    from .model import COHORT_MONTHS
    from .titles import no_cohorts_note

    shown = pd.PeriodIndex(model.cohort_matrix("logo").index, freq="M")
    if shown.empty:
        return note(no_cohorts_note(COHORT_MONTHS, model.period.last))
    return HTML(drill_html(cohort_drills(model, shown[::-1]), model.base_currency))


def funnel_drilldown(model: KpiModel) -> HTML:
    """Each funnel stage (cohort view), openable to its leads; a note when there are no leads."""
    from .drill import drill_html, funnel_drills

    drills = funnel_drills(model, stage_names())
    return HTML(drill_html(drills, model.base_currency)) if drills else note(_("No leads table: no stage to open."))


def nps_drilldown(model: KpiModel) -> HTML:
    """Promoters, passives and detractors of the reported wave, each openable to the answers."""
    from .drill import drill_html, nps_drills

    drills = nps_drills(model)
    return HTML(drill_html(drills, model.base_currency)) if drills else \
        note(_("No NPS wave has closed by the period's end: no answers to open."))


def bridge_trend(model: KpiModel) -> pd.DataFrame:
    """The revenue page's bridge by month, quarter or year: MRR, the movements (and the FX impact
    with dated rates), net new MRR, the unexplained remainder (must be 0), customers and ARPA."""
    fx = ["fx_impact"] if model.dated_rates else []
    return model.trend()[["mrr", *fx, "new", "expansion", "reactivation", "contraction", "churn", "net_new_mrr",
                          "unexplained", "customers", "arpa"]]


def bridge_caption(model: KpiModel) -> str:
    """The bridge table's caption: its unit and the identity it satisfies."""
    kind = model.period.kind
    words = (_BRIDGE_CAPTIONS_FX if model.dated_rates else _BRIDGE_CAPTIONS)[kind]
    return _(words).format(currency=model.base_currency)


#: the bridge table's caption by period kind (one whole sentence each, for translators)
_BRIDGE_CAPTIONS = {
    "month": N_("By month, in {currency}: opening MRR + the movements = closing MRR (unexplained 0)"),
    "quarter": N_("By quarter, in {currency}: opening MRR + the movements = closing MRR (unexplained 0)"),
    "year": N_("By year, in {currency}: opening MRR + the movements = closing MRR (unexplained 0)"),
}
_BRIDGE_CAPTIONS_FX = {
    "month": N_("By month, in {currency} at each month's exchange rates: opening MRR + FX impact + the movements "
                "= closing MRR (unexplained 0)"),
    "quarter": N_("By quarter, in {currency} at each month's exchange rates: opening MRR + FX impact + the "
                  "movements = closing MRR (unexplained 0)"),
    "year": N_("By year, in {currency} at each month's exchange rates: opening MRR + FX impact + the movements "
               "= closing MRR (unexplained 0)"),
}


def bookings_table(model: KpiModel) -> pd.DataFrame:
    """Bookings and efficiency figures of the revenue page, formatted, one column for the period.

    Rule of 40 items are company-wide (financials): withheld from a segment pack with the reason.
    """
    rev, con, r40 = model.revenue, model.contracts, model.rule_of_40
    cur = model.base_currency
    company = _("company-wide: not shown for a segment")

    def fmt(v: float, unit: str, decimals: int | None = None) -> str:
        return format_value(v, unit, cur, missing=_("n/a"), decimals=decimals)

    rows = {
        _("Quick ratio"): fmt(rev["quick_ratio"], "ratio"),
        _("New bookings (ARR of new, expansion and reactivation MRR)"): fmt(rev["new_bookings_arr"], "money"),
        _("Contracts signed (new + renewals)"): _("{contracts} (new: {new}, renewals: {renewals})").format(
            contracts=fmt(con["contracts"], "count"), new=fmt(con["new_contracts"], "count"),
            renewals=fmt(con["renewals"], "count")),
        _("Plan changes (not contracts)"): fmt(con["plan_changes"], "count"),
        _("TCV signed (committed term)"): fmt(con["tcv"], "money") + (
            " " + _("({count} without a recorded term, valued at 12 months)").format(
                count=fmt(con["assumed_terms"], "count")) if con["assumed_terms"] else ""),
        _("ACV signed (at most one year of each commitment: a one-month term counts one month)"):
            fmt(con["acv"], "money"),
        _("ASP of new business (MRR per new customer)"): fmt(rev["asp_new"], "money"),
    }
    ttm = {_("Revenue growth, trailing 12 months (YoY)"): ("revenue_growth", "pct"),
           _("Profit margin, trailing 12 months"): ("profit_margin", "pct"),
           _("Rule of 40, trailing 12 months (target {target})").format(target=percent(RULE_OF_40)):
               ("rule_of_40", "pct")}
    for label, (key, unit) in ttm.items():
        if model.is_segment:
            rows[label] = company
        elif model.table("financials") is None:
            rows[label] = _("n/a: no financials table")
        else:  # to 0.01 %, so that growth and margin as shown add up to the score (45.82% - 4.76% = 41.06%)
            rows[label] = fmt(r40[key], unit, 2)
    return pd.DataFrame({model.period.title: rows})


def churn_model_table(model: KpiModel) -> pd.DataFrame | None:
    """The sBG model's parameters and what they imply, in words and formatted numbers (None when
    there is no model: the chart above says why)."""
    from ..metrics.sbg import sbg_verdict

    cm = model.churn_model
    if cm is None:
        return None
    fit, cur, d = cm["fit"], model.base_currency, cm["monthly_discount"]
    margin = (_("Gross margin (from financials)") if cm["margin_from_financials"]
              else _("Gross margin (default: no financials table)"))
    rows = {
        _("Cohorts fitted ({first} to {last}), customers at month 0").format(
            first=cm["first_cohort"], last=cm["last_cohort"]): format_value(cm["survivors"][0], "count"),
        _("Mean monthly churn, alpha / (alpha + beta)"): format_value(fit.mean_churn, "pct"),
        _("What the fit says"): sbg_verdict(fit),
        _("Polarization 1 / (alpha + beta + 1)"): number(fit.polarization, 3),
        # r(t) is one month's renewal among that month's survivors, not the share still paying at t
        _("Renewal in month 1, r(1) (of those paying in month 0)"): format_value(fit.retention(1), "pct"),
        _("Renewal in month 12, r(12) (of those still paying in month 11)"): format_value(fit.retention(12), "pct"),
        _("DERL of a new customer (months)"): number(fit.derl(d, 0), 1),
        _("ARPA (installed base)"): format_value(cm["arpa"], "money", cur),
        margin: format_value(cm["gross_margin"], "pct"),
        _("sBG CLV at installed-base ARPA (pooled monthly cohorts; the CLV/CAC page uses the per-interval "
          "model below)"): format_value(cm["clv"], "money", cur),
    }
    return pd.DataFrame({"value": rows})


def funnel_rates_table(model: KpiModel) -> pd.DataFrame | None:
    """Conversion and activity figures of the funnel page (:func:`~kpilib.metrics.funnel.funnel_rates`),
    worded and formatted; None without a leads table."""
    rates = model.funnel_rates
    if rates is None:
        return None
    pct = lambda v: format_value(v, "pct")  # noqa: E731
    rows = {
        _("Visitor -> lead (leads created / unique visitors)"): pct(rates["visitor_to_lead"]),
        _("Lead -> SQL (leads created in the period that reached SQL)"): pct(rates["lead_to_sql"]),
        _("Lead -> customer (same leads, won so far)"): pct(rates["lead_to_customer"]),
        _("Win rate (won / deals closed in the period)"): pct(rates["win_rate"]),
        _("Trials started"): format_value(rates["trials"], "count"),
        _("Activation rate (activated / trials)"): pct(rates["activation_rate"]),
        _("Trial -> paid"): pct(rates["trial_to_paid"]),
        _("Demos booked"): format_value(rates["demos_booked"], "count"),
        _("Demos held / demos booked"): pct(rates["demo_conversion"]),
        _("ASP of deals won (ACV)"): format_value(rates["asp_won"], "money", model.base_currency),
    }
    return pd.DataFrame({model.period.title: rows})


def funnel_table(model: KpiModel) -> pd.DataFrame | None:
    """Leads at each stage in both views, with the conversions of the cohort view."""
    if model.funnel is None:
        return None
    cohort, flow = model.funnel["cohort"], model.funnel["flow"]
    return (cohort.assign(flow=flow["count"]).rename(columns={"count": "cohort"})
            .rename(index=stage_names()))


def channel_table(model: KpiModel) -> pd.DataFrame | None:
    """The funnel per acquisition channel (:func:`~kpilib.metrics.funnel.channel_funnel`)."""
    return model.channels


def stage_table(model: KpiModel) -> pd.DataFrame | None:
    """Days spent in each stage by the period's leads (:func:`~kpilib.metrics.funnel.stage_durations`)."""
    from ..metrics.funnel import stage_durations

    leads = model.table("leads")
    return None if leads is None else stage_durations(leads, model.period).rename(index=_stage_steps())


def rep_table(model: KpiModel) -> pd.DataFrame | None:
    """The sales reps' leaderboard (:func:`~kpilib.metrics.funnel.rep_leaderboard`)."""
    from ..metrics.funnel import rep_leaderboard

    leads = model.table("leads")
    return None if leads is None else rep_leaderboard(leads, model.table("sales_activities"), model.period)


def changes_table(model: KpiModel, n: int = 8) -> pd.DataFrame:
    """The ``n`` accounts whose MRR moved most over the period (the overview's "what changed")."""
    movers = model.movers(n)
    return movers.assign(movement=movers["movement"].map(lambda v: _(MOVEMENT_WORDS[v]) if v in MOVEMENT_WORDS
                                                         else v)).set_index("customer_id")


#: a customer-month's movement class as a table shows it
MOVEMENT_WORDS = {"new": N_("new"), "expansion": N_("expansion"), "reactivation": N_("reactivation"),
                  "contraction": N_("contraction"), "churn": N_("churn"), "unchanged": N_("unchanged")}


def churned_table(model: KpiModel, n: int = 10) -> pd.DataFrame | None:
    """The ``n`` largest accounts lost in the period (MRR at its start), or None when none churned."""
    movers = model.movers(None)
    churned = movers[movers["movement"] == "churn"].head(n)
    return None if churned.empty else churned.set_index("customer_id")[["name", "segment", "mrr_before"]]


def costs_table(model: KpiModel) -> pd.DataFrame | None:
    """Spend, CAC, CPL and CPA per channel and for all channels (None with the reason on the page)."""
    costs = model.acquisition_costs[0]
    if costs is None:
        return None
    return costs.assign(note=costs["note"].map(cost_note)).rename(index={"All channels": _("All channels")})


def cost_note(note: object) -> object:
    """A channel's reasons for undefined cost ratios in the page's language: the catalog's words clause
    by clause, joined as the language joins clauses (`` ; `` in French); anything else as it is."""
    from ..metrics.acquisition import NOTE_SEPARATOR

    if not isinstance(note, str) or not note:
        return note
    return _("; ").join(_(clause) for clause in note.split(NOTE_SEPARATOR))


def nps_segment_table(model: KpiModel) -> pd.DataFrame | None:
    """NPS per segment in the reported wave."""
    from ..metrics.voice import nps_by

    wave = model.wave("nps")
    if wave is None:
        return None
    return nps_by(model.data.tables["survey_responses"], model.data.customers, wave, "segment")


def comments_table(model: KpiModel, n: int = 5) -> pd.DataFrame | None:
    """The latest commented answers of promoters and detractors in the reported wave, as written."""
    from ..metrics.voice import notable_comments

    wave = model.wave("nps")
    if wave is None:
        return None
    comments = notable_comments(model.data.tables["survey_responses"], wave, n=n)
    return comments.assign(responded_at=comments["responded_at"].dt.date.astype(str),
                           group=comments["group"].map(lambda g: _(_GROUP_WORDS[g]) if g in _GROUP_WORDS
                                                       else str(g).capitalize()))


def engagement_table(model: KpiModel) -> pd.DataFrame | None:
    """Churn within the engagement horizon by band (low, medium, high)."""
    found = model.engagement_summary
    return None if found is None else found[2].rename(index=lambda b: _(_BANDS[b]) if b in _BANDS
                                                       else str(b).capitalize())


#: NPS groups and engagement bands as a table shows them (the data's words, capitalised, in English)
_GROUP_WORDS = {"promoter": N_("Promoter"), "passive": N_("Passive"), "detractor": N_("Detractor")}
_BANDS = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High")}


def caption(model: KpiModel, name: str) -> str:
    """A table's caption, from the figures it shows (so it names the right wave or horizon)."""
    wave = model.wave("nps")
    if name == "nps_segment":
        if wave is None:
            return _("NPS by segment")
        return (_("NPS by segment, every answer of {year}").format(year=wave.label) if wave.kind == "year" else
                _("NPS by segment, {wave} wave").format(wave=wave.title))
    if name == "segment_retention":
        return _("Logo retention by segment, cohorts weighted by their size")
    if name == "nps_trend":
        return _("NPS by wave")
    if name == "enps":
        return _("eNPS by wave (company-wide)")
    raise KpiError(f"no caption named {name!r}")


#: Funnel stages as readers name them (in English: translate with :func:`stage_names`).
STAGE_NAMES = {"lead": N_("Lead"), "mql": N_("MQL"), "sql": N_("SQL"), "opportunity": N_("Opportunity"),
               "won": N_("Won")}


def stage_names() -> dict[str, str]:
    """:data:`STAGE_NAMES` in the current language."""
    return {stage: _(name) for stage, name in STAGE_NAMES.items()}


def _stage_steps() -> dict[str, str]:
    """``lead -> mql`` -> ``Lead -> MQL``, in the current language."""
    names = stage_names()
    return {f"{a} -> {b}": f"{names[a]} -> {names[b]}" for a, b in zip(list(names)[:-1], list(names)[1:])}


def web_table(model: KpiModel) -> pd.DataFrame | None:
    """Web traffic per channel with the total row, for the funnel page; None without web traffic."""
    from ..metrics.funnel import web_summary

    web = model.table("web_traffic")
    if web is None:
        return None
    by_channel = web_summary(web, model.period, by_channel=True).sort_values("bounce_rate")
    total = web_summary(web, model.period).rename(index={"total": _("All channels")})
    return pd.concat([by_channel, total]).rename_axis("channel")  # the index's header: "Channel"


def missing_note(model: KpiModel, names: list[str]) -> HTML:
    """A note naming the optional tables a page needs that the data lack (or have no rows)."""
    from .context import source_words

    missing = [n for n in names if not model.has_rows(n)]
    if not missing:
        return HTML("")
    listed = ", ".join(f"'{n}'" for n in missing)
    return note(_("{source} has no rows in {tables} up to {date}: the sections that need them are left out.")
                .format(source=source_words(model.data), tables=listed, date=model.period.end_date.date()))


def funnel_notes(model: KpiModel) -> HTML:
    """The funnel page's notes: missing tables, and that every figure on it is company-wide."""
    parts = [missing_note(model, ["leads", "web_traffic", "sales_activities"]).data]
    if model.is_segment and model.leads_have_segment:
        parts.append(note(_("Leads carry a segment, so the funnel, win rate and sales cycle are the "
                            "segment's own; web traffic and rep activity remain company-wide.")).data)
    elif model.is_segment:
        parts.append(note(_("Company-wide figures: leads, web traffic and rep activity are not tied to "
                            "a segment before a deal is won, so this page shows the whole company's "
                            "funnel, not the segment's (add a segment column to leads to change that).")).data)
    return HTML("".join(parts))


def unit_economics_note(model: KpiModel) -> HTML:
    """The LTV:CAC verdict with the inputs it rests on, written from the figures."""
    econ, inputs = model.unit_economics
    value = econ.loc["LTV:CAC", "value"]
    cur = model.base_currency
    # the churn window is ChartMogul's, the six months before the period's last month: the churn page's
    # six-month average ends with that month, so the two are named apart
    return note(_("LTV:CAC is {ratio}: {verdict}. Inputs: ARPA of the period's new customers {new_arpa} "
                  "(the installed base's is {arpa}, shown beside), gross margin {gross_margin}, churn {churn} "
                  "a month on average over the six months before {month}.").format(
        ratio=format_value(value, "ratio", missing=_("undefined")), verdict=_undefined_because(econ, value),
        month=month_name(model.period.last),
        new_arpa=format_value(inputs["new_arpa"], "money", cur), arpa=format_value(inputs["arpa"], "money", cur),
        gross_margin=format_value(inputs["gross_margin"], "pct"), churn=format_value(inputs["churn_6m"], "pct")))


def _undefined_because(econ: pd.DataFrame, value: float) -> str:
    """The LTV:CAC verdict; when the ratio is undefined, why: the reason of CAC, else of LTV, else its own
    (not a second "undefined")."""
    from ..metrics.acquisition import CAC_ROW, LTV_CAC_ROW, LTV_ROW
    from .titles import ltv_cac_verdict

    if not is_missing(value):
        return ltv_cac_verdict(value)
    reasons = [econ.loc[row, "note"] for row in (CAC_ROW, LTV_ROW, LTV_CAC_ROW)
               if is_missing(econ.loc[row, "value"]) and econ.loc[row, "note"]]
    return _(reasons[0]) if reasons else ltv_cac_verdict(value)


def unit_economics_table(model: KpiModel) -> pd.DataFrame:
    """CAC, payback, LTV, sBG CLV and LTV:CAC formatted, with why any is undefined."""
    econ, _inputs = model.unit_economics
    shown = pd.DataFrame({"value": [format_value(v, u, model.base_currency, missing=_("undefined"))
                                    for v, u in zip(econ["value"], econ["unit"])],
                          "why undefined": [_(n) if isinstance(n, str) and n else "" for n in econ["note"]]},
                         index=pd.Index([_(i) for i in econ.index], name=econ.index.name))
    # the reasons only when a figure is undefined: an empty column on every row says nothing
    return shown if shown["why undefined"].ne("").any() else shown.drop(columns="why undefined")


def voice_trend(model: KpiModel, survey: str = "nps", waves: int = 8) -> pd.DataFrame | None:
    """NPS (or eNPS) of the last ``waves`` closed waves up to the pack's wave, oldest first, each named
    as the page's text names a wave (``Q4 2025``, in the current language); ``None`` if none.

    A quarter still open at the period's end (answers still coming in) is left out.
    """
    from ..metrics.voice import nps_trend
    from ..periods import parse_period

    wave = model.wave(survey)
    responses = model.table("survey_responses")
    if wave is None or responses is None:
        return None
    trend = nps_trend(responses, survey)
    closed = trend[[q.end_time.normalize() <= model.period.end_date for q in trend.index]].tail(waves)
    names = [parse_period(f"{q.year}-Q{q.quarter}").title for q in closed.index]
    return closed.set_axis(pd.Index(names, name="wave"))


_SURVEYS = {"nps": N_("NPS"), "enps": N_("eNPS"), "ces": N_("Customer effort")}


def _wave_words(wave) -> str:
    """``the Q4 2025 wave (2025-10-01 to 2025-12-31)``, or for a year pack ``every answer of 2025``."""
    if wave.kind == "year":
        return _("every answer of {year}").format(year=wave.label)
    return _("the {wave} wave ({start} to {end})").format(wave=wave.title, start=wave.start_date.date(),
                                                          end=wave.end_date.date())


def _answers(n: float) -> str:
    """The number of answers, grouped (``1,204``)."""
    return format_value(n, "count")


def _compared(text: str, earlier: str | None) -> str:
    """A wave's figure, then the earlier wave's (or that there is none): one note."""
    return text + "; " + (earlier if earlier is not None else _("there is no earlier wave to compare with."))


def voice_note(model: KpiModel, survey: str = "nps") -> HTML:
    """Which wave the page reports for ``survey`` (nps, enps) and what it is compared with, or that
    none has closed."""
    name = _(_SURVEYS[survey])
    now, before = model.voice(survey), model.previous_voice(survey)
    if now["wave"] is None:
        return note(_("No {survey} survey wave had closed by {date}: {survey} is not shown.").format(
            survey=name, date=model.period.end_date.date()))
    words = (ngettext("{survey} {score} ± {margin} from {wave}, {answers} answer (company-wide)",
                      "{survey} {score} ± {margin} from {wave}, {answers} answers (company-wide)", now["n"])
             if survey == "enps" else
             ngettext("{survey} {score} ± {margin} from {wave}, {answers} answer",
                      "{survey} {score} ± {margin} from {wave}, {answers} answers", now["n"]))
    text = words.format(survey=name, score=signed(now["nps"], 0), margin=number(now["margin_of_error"]),
                        wave=_wave_words(now["wave"]), answers=_answers(now["n"]))
    earlier = None
    if before["wave"] is not None:
        earlier = ngettext("{wave} gave {score} ({answers} answer).", "{wave} gave {score} ({answers} answers).",
                           before["n"]).format(wave=_wave_words(before["wave"]), score=signed(before["nps"], 0),
                                               answers=_answers(before["n"]))
    return note(_compared(text, earlier))


def ces_note(model: KpiModel) -> HTML:
    """The customer effort score of the reported wave, compared with the wave before it."""
    from ..metrics.voice import ces_summary, survey_wave

    responses = model.table("survey_responses")
    wave = model.wave("ces")
    if wave is None or responses is None:
        return note(_("No customer effort wave had closed by {date}.").format(date=model.period.end_date.date()))
    now = ces_summary(responses, wave)
    text = ngettext("Customer effort {score} of 7 from {wave}, {answers} answer",
                    "Customer effort {score} of 7 from {wave}, {answers} answers", now["n"]).format(
        score=number(now["mean"], 1), wave=_wave_words(wave), answers=_answers(now["n"]))
    before = survey_wave(responses, model.period, "ces", before=wave)
    earlier = None
    if before is not None:
        then = ces_summary(responses, before)
        earlier = ngettext("{wave} gave {score} ({answers} answer).", "{wave} gave {score} ({answers} answers).",
                           then["n"]).format(wave=_wave_words(before), score=number(then["mean"], 1),
                                             answers=_answers(then["n"]))
    return note(_compared(text, earlier))


def churn_basis_table(model: KpiModel) -> pd.DataFrame:
    """Who the period's customer churn counts: the starting customers, those lost, and apart from
    them the customers who started and stopped paying inside the period."""
    c = model.customer_churn
    rows = {
        _("Customers paying at the period's start"): format_value(c["starting_customers"], "count"),
        _("... of whom no longer paying at its end"): format_value(c["lost_customers"], "count"),
        _("Customer churn of the period (share of the starting customers)"):
            format_value(c["customer_churn"], "pct"),
        _("Monthly equivalent"): format_value(c["customer_churn_monthly"], "pct"),
        _("Not counted above: started and stopped paying inside the period"):
            format_value(c["won_and_lost"], "count"),
    }
    return pd.DataFrame({model.period.title: rows})


def interval_churn_table(model: KpiModel) -> pd.DataFrame:
    """The per-billing-interval churn model: who is fitted, churn per renewal and per month, CLV,
    and what each fit says (its sentence is written from its parameters)."""
    icm = model.interval_churn
    says = _("What the model says")
    if icm is None:
        return pd.DataFrame({says: {}})
    cur = model.base_currency
    summary = icm.summary
    share = _("Share")
    intervals = {"month": _("Monthly plans"), "quarter": _("Quarterly plans"), "year": _("Annual plans"),
                 "all": _("All (acquisition mix)")}
    shown = pd.DataFrame({
        _("Customers"): [format_value(v, "count") for v in summary["customers"]],
        share: [format_value(v, "pct") for v in summary["weight"]],
        _("Churn per renewal"): [format_value(v, "pct") for v in summary["period_churn"]],
        _("Monthly equivalent (first year)"): [format_value(v, "pct") for v in summary["monthly_churn"]],
        _("CLV of a new customer"): [format_value(v, "money", cur) for v in summary["clv"]],
        says: summary["verdict"].fillna("").to_numpy(),
    }, index=[intervals.get(g, g) for g in summary.index])
    shown.loc[intervals["all"], share] = _("{share} fitted").format(share=format_value(icm.coverage, "pct"))
    return shown.rename_axis(_("Billing interval"))


# --- the forecast page -------------------------------------------------------------------------------


def forecast_goal(model: KpiModel) -> tuple[pd.Period, float] | None:
    """The MRR goal the forecast is judged against: the latest goal among the forecast's months (its
    last month's when the goals file sets one), or ``None``."""
    from .goals import goal_points

    points = goal_points(model, "mrr", model.forecast.forecast.index)
    return (points.index[-1], float(points.iloc[-1])) if len(points) else None


def forecast_note(model: KpiModel) -> HTML:
    """The forecast in words, from its figures (:func:`kpilib.report.titles.forecast_note`), and, when
    the goals file sets no MRR goal for the forecast's months, that it does not."""
    from .goals import has_goals
    from .titles import forecast_note as words

    fc = model.forecast.forecast
    goal = forecast_goal(model)
    text = words(fc, goal, model.base_currency)
    if goal is None and has_goals(model) and len(fc):
        text += " " + _("The goals file sets no MRR goal for {first} to {last}.").format(
            first=month_name(fc.index[0]), last=month_name(fc.index[-1]))
    return note(text)


def forecast_table(model: KpiModel) -> pd.DataFrame:
    """The forecast by month: central line, band, committed MRR and the central line's two parts."""
    fc = model.forecast.forecast
    out = fc[["central", "low", "high", "committed", "installed_base", "new_business"]]
    return out.set_axis([month_name(p, short=True) for p in fc.index], axis=0).rename_axis("month")


def forecast_assumptions_table(model: KpiModel) -> pd.DataFrame:
    """What the forecast rests on, worded and formatted: retention per billing interval, net expansion,
    the new-business run-rate, the installed base and the band's bootstrap (or why there is no forecast)."""
    fc = model.forecast.forecast
    cur = model.base_currency
    a = fc.attrs.get("assumptions")
    if a is None:
        reason = str(fc["reason"].iloc[0]) if len(fc) else ""
        return pd.DataFrame({"value": {_("Why there is no forecast"): reason}})
    names = {"month": N_("Retention, monthly plans"), "quarter": N_("Retention, quarterly plans"),
             "year": N_("Retention, annual plans")}
    rows = {_(names[k]) if k in names else _("Retention, {interval}").format(interval=k): v
            for k, v in a["retention"].items()}
    rows |= {
        _("Net expansion a month: expansion + contraction over the MRR retained, last 12 months"):
            format_value(a["net_expansion_monthly"], "pct"),
        _("New and reactivated MRR a month (run-rate, last {months} months)").format(months=a["window_months"]):
            format_value(a["new_mrr_monthly"], "money", cur),
        _("Customers paying at the end of {month}").format(month=month_name(model.period.last)):
            format_value(a["installed_customers"], "count"),
        _("Their MRR"): format_value(a["installed_mrr"], "money", cur),
        _("Band"): (_("{level} predictive bootstrap, {replicates} replicates (seed {seed})").format(
            level=percent(a["level"]), replicates=number(a["n_boot"], grouped=True), seed=a["seed"])
                    if a["n_boot"] else _("none (no bootstrap)")),
        _("Bootstrap refits that failed (each replaced by the fit on the actual data)"):
            format_value(a["failed_refits"], "count"),
    }
    return pd.DataFrame({"value": rows})


def backtest_table(model: KpiModel) -> pd.DataFrame:
    """The backtest: each forecast made months before the period's end against the MRR that happened;
    the reason column only when a forecast could not be made."""
    bt = model.forecast.backtest
    shown = bt.assign(made_at=bt["made_at"].map(lambda p: month_name(p, short=True)),
                      inside_band=[(_("yes") if v else _("no")) if v is not pd.NA and not pd.isna(v) else "–"
                                   for v in bt["inside_band"]])
    columns = ["horizon_months", "forecast", "low", "high", "actual", "error_pct", "inside_band"]
    if (bt["reason"] != "").any():
        columns.append("reason")
    return shown.set_index("made_at")[columns]


def backtest_note(model: KpiModel) -> HTML:
    """The kit's track record in words (:func:`kpilib.report.titles.backtest_note`)."""
    from .titles import backtest_note as words

    return note(words(model.forecast.backtest, model.forecast.forecast.attrs.get("assumptions", {}).get("level", 0.8)))


def pipeline_table(model: KpiModel) -> pd.DataFrame | None:
    """Expected wins and new MRR of the open pipeline by expected close month (months with any);
    None when there is nothing to show (the note says why)."""
    pipe = model.forecast.pipeline
    if pipe is None or pipe.attrs["reason"]:
        return None
    shown = pipe[pipe["expected_deals"] > 0]
    return None if shown.empty else shown.set_axis([month_name(p, short=True) for p in shown.index],
                                                   axis=0).rename_axis("month")


def pipeline_note(model: KpiModel) -> HTML:
    """The open pipeline against the forecast's run-rate, in words (:func:`kpilib.report.titles.pipeline_note`)."""
    from .titles import pipeline_note as words

    f = model.forecast
    run_rate = f.forecast.attrs.get("assumptions", {}).get("new_mrr_monthly", float("nan"))
    return note(words(f.pipeline, run_rate, model.base_currency, f.pipeline_missing))
