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
from ..metrics.revenue import RULE_OF_40
from .display import show_table, tiles_html
from .format import format_value
from .model import KpiModel

#: Pages of the pack, in reading order: file stem -> (title in the navigation, title on the index).
PAGE_TITLES: dict[str, tuple[str, str]] = {
    "00_overview": ("Overview", "Overview: how did we do?"),
    "01_revenue": ("Revenue", "Revenue: MRR, ARR and movements"),
    "02_churn_cohorts": ("Churn and cohorts", "Churn and cohorts"),
    "03_funnel": ("Funnel", "Funnel and sales activity"),
    "04_clv_cac": ("CAC and lifetime value", "Acquisition cost and lifetime value"),
    "05_nps": ("Customer voice", "Customer voice and engagement"),
    "06_forecast": ("Forecast", "Forecast: MRR in twelve months, the track record and the goals"),
}
#: file stem -> the short title of the navigation bars
PAGES: dict[str, str] = {name: nav for name, (nav, _) in PAGE_TITLES.items()}

#: Table column -> (header, unit). Units: money, count, pct, ratio, months, days, points, text.
COLUMNS: dict[str, tuple[str, str]] = {
    "mrr": ("MRR", "money"), "arr": ("ARR", "money"), "arpa": ("ARPA", "money"),
    "opening_mrr": ("Opening MRR", "money"), "closing_mrr": ("Closing MRR", "money"),
    "new": ("New", "money"), "expansion": ("Expansion", "money"), "reactivation": ("Reactivation", "money"),
    "contraction": ("Contraction", "money"), "churn": ("Churn", "money"),
    "net_new_mrr": ("Net new MRR", "money"), "moved_in": ("Moved in", "money"),
    "fx_impact": ("FX impact", "money"),
    "moved_out": ("Moved out", "money"), "unexplained": ("Unexplained (must be 0)", "money_cents"),
    "share": ("Share of MRR", "pct"),
    "customers": ("Customers", "count"), "mrr_before": ("MRR before", "money"),
    "mrr_after": ("MRR after", "money"), "change": ("Change", "money"),
    "name": ("Name", "text"), "segment": ("Segment", "text"), "movement": ("Movement", "text"),
    "customer_id": ("Account", "text"), "plan": ("Plan", "text"), "channel": ("Channel", "text"),
    "metric": ("Metric", "text"), "stage": ("Stage", "text"), "owner": ("Sales rep", "text"),
    "period": ("Period", "text"), "band": ("Engagement band", "text"), "region": ("Region", "text"),
    "nps": ("NPS", "points"), "margin_of_error": ("± margin (95 %)", "points_abs"),
    "promoters": ("Promoters", "count"), "passives": ("Passives", "count"),
    "detractors": ("Detractors", "count"), "n": ("Answers", "count"),
    "account_months": ("Account-months", "count"), "churned": ("Churned", "count"),
    "churn_rate": ("Churn within 3 months", "pct"),
    "marketing": ("Marketing spend", "money"), "sales": ("Sales spend", "money"),
    "total": ("Total spend", "money"), "cac": ("CAC", "money"), "cpl": ("CPL", "money"),
    "cpa": ("CPA", "money"), "new_customers": ("New customers", "count"), "leads": ("Leads", "count"),
    "won_deals": ("Deals won", "count"), "note": ("Why undefined", "text"),
    "new_arr": ("New ARR", "money"), "return": ("New ARR per unit of spend", "ratio"),
    "cohorts": ("Cohorts", "count"), "month 3": ("Month 3", "pct"), "month 6": ("Month 6", "pct"),
    "month 12": ("Month 12", "pct"),
    "group": ("Group", "text"), "score": ("Score", "count"), "responded_at": ("Answered on", "text"),
    "comment": ("Comment", "text"),
    "lead_to_customer": ("Lead -> customer", "pct"), "win_rate": ("Win rate", "pct"),
    "bounce_rate": ("Bounce rate", "pct"), "visitor_to_lead": ("Visitor -> lead", "pct"),
    "unique_visitors": ("Unique visitors", "count"), "sessions": ("Sessions", "count"),
    "new_visitors": ("New visitors", "count"), "bounced_sessions": ("Bounced sessions", "count"),
    "median_days": ("Median days", "days"), "mean_days": ("Mean days", "days"),
    "won": ("Won", "count"), "days": ("Active days", "count"), "calls": ("Calls", "count"),
    "demos_booked": ("Demos booked", "count"), "demos_held": ("Demos held", "count"),
    "calls_per_day": ("Calls per day", "ratio"), "demo_conversion": ("Demos held / booked", "pct"),
    "deal_conversion": ("Deals won / leads", "pct"),
    "count": ("Leads", "count"), "step_conversion": ("From the stage before", "pct"),
    "from_lead": ("From lead", "pct"), "flow": ("Flow: events in the period", "count"),
    "cohort": ("Cohort: leads created in the period", "count"),
    "starting_customers": ("Customers at the start", "count"), "lost_customers": ("Lost", "count"),
    "lead": ("Leads", "count"), "mql": ("MQLs", "count"), "sql": ("SQLs", "count"),
    "opportunity": ("Opportunities", "count"), "value": ("Value", "text"), "why undefined": ("Why undefined", "text"),
    "leads_created": ("Leads created", "count"), "ces": ("Customer effort", "ratio"),
    "central": ("Forecast MRR", "money"), "low": ("Band low", "money"), "high": ("Band high", "money"),
    "committed": ("Committed MRR", "money"), "installed_base": ("From today's customers", "money"),
    "new_business": ("From new business", "money"), "made_at": ("Forecast made at the end of", "text"),
    "horizon_months": ("Months ahead", "count"), "forecast": ("Forecast MRR", "money"),
    "actual": ("Actual MRR", "money"), "error_pct": ("Error (forecast / actual - 1)", "pct"),
    "inside_band": ("Actual inside the band", "text"), "reason": ("Why no forecast", "text"),
    "expected_deals": ("Expected wins", "ratio"), "expected_new_mrr": ("Expected new MRR", "money"),
    "cumulative_new_mrr": ("Expected new MRR, cumulative", "money"),
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
        f"<b>{html.escape(title)}</b>" if name == page else
        f'<a href="{html.escape(name)}.ipynb">{html.escape(title)}</a>'
        for name, title in PAGES.items())
    nav = f'<nav class="kpi-nav">{links}</nav>'  # the pack's renderer adds its index and glossary
    scope = ""
    if model.is_segment:
        scope = ('<div class="kpi-note">Segment pack: figures are this segment\'s; company-wide figures '
                 "(web traffic, spend, financials, the funnel before a deal is won) are marked as such "
                 "and not shown as the segment's.</div>")
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
        missing = missing or MISSING.get(table_id)
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
    shown = frame.rename(columns=lambda c: COLUMNS.get(c, (c, ""))[0])
    formats = {COLUMNS.get(c, (c, ""))[0]: f for c, f in formats.items()}
    index_name = frame.index.name
    if index_name in COLUMNS:
        shown = shown.rename_axis(COLUMNS[index_name][0])
    return show_table(shown, formats, table_id=table_id, caption=caption, hide_index=hide_index)


#: What a table's place says when the period lacks its data (tables whose chart says it already: none).
MISSING = {
    "churned": "No account churned in this period.",
    "reps": "No leads table: no sales rep to rank.",
    "enps": "No employee survey wave has closed by the period's end.",
    "nps_trend": "",
    "comments": "",
    "pipeline": "",
}


def note(text: str) -> HTML:
    from .display import note_html

    return note_html(text)


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

    shown = pd.PeriodIndex(model.cohort_matrix("logo").index, freq="M")
    return HTML(drill_html(cohort_drills(model, shown[::-1]), model.base_currency))


def funnel_drilldown(model: KpiModel) -> HTML:
    """Each funnel stage (cohort view), openable to its leads; a note when there are no leads."""
    from .drill import drill_html, funnel_drills

    drills = funnel_drills(model, STAGE_NAMES)
    return HTML(drill_html(drills, model.base_currency)) if drills else note("No leads table: no stage to open.")


def nps_drilldown(model: KpiModel) -> HTML:
    """Promoters, passives and detractors of the reported wave, each openable to the answers."""
    from .drill import drill_html, nps_drills

    drills = nps_drills(model)
    return HTML(drill_html(drills, model.base_currency)) if drills else \
        note("No NPS wave has closed by the period's end: no answers to open.")


def bridge_trend(model: KpiModel) -> pd.DataFrame:
    """The revenue page's bridge by month, quarter or year: MRR, the movements (and the FX impact
    with dated rates), net new MRR, the unexplained remainder (must be 0), customers and ARPA."""
    fx = ["fx_impact"] if model.dated_rates else []
    return model.trend()[["mrr", *fx, "new", "expansion", "reactivation", "contraction", "churn", "net_new_mrr",
                          "unexplained", "customers", "arpa"]]


def bridge_caption(model: KpiModel) -> str:
    """The bridge table's caption: its unit and the identity it satisfies."""
    p = model.period
    if model.dated_rates:
        return (f"By {p.kind}, in {model.base_currency} at each month's exchange rates: opening MRR + FX impact "
                f"+ the movements = closing MRR (unexplained 0)")
    return f"By {p.kind}, in {model.base_currency}: opening MRR + the movements = closing MRR (unexplained 0)"


def bookings_table(model: KpiModel) -> pd.DataFrame:
    """Bookings and efficiency figures of the revenue page, formatted, one column for the period.

    Rule of 40 items are company-wide (financials): withheld from a segment pack with the reason.
    """
    rev, con, r40 = model.revenue, model.contracts, model.rule_of_40
    cur = model.base_currency
    company = "company-wide: not shown for a segment"

    def fmt(v: float, unit: str) -> str:
        return format_value(v, unit, cur, missing="n/a")

    rows = {
        "Quick ratio": fmt(rev["quick_ratio"], "ratio"),
        "New bookings (ARR of new, expansion and reactivation MRR)": fmt(rev["new_bookings_arr"], "money"),
        "Contracts signed (new + renewals)": f"{fmt(con['contracts'], 'count')} "
                                             f"({fmt(con['new_contracts'], 'count')} new, "
                                             f"{fmt(con['renewals'], 'count')} renewals)",
        "Plan changes (not contracts)": fmt(con["plan_changes"], "count"),
        "TCV signed (committed term)": fmt(con["tcv"], "money") + (
            f" ({fmt(con['assumed_terms'], 'count')} without a recorded term, valued at 12 months)"
            if con["assumed_terms"] else ""),
        "ACV signed (one year of each commitment)": fmt(con["acv"], "money"),
        "ASP of new business (MRR per new customer)": fmt(rev["asp_new"], "money"),
    }
    ttm = {"Revenue growth, trailing 12 months (YoY)": ("revenue_growth", "pct"),
           "Profit margin, trailing 12 months": ("profit_margin", "pct"),
           f"Rule of 40, trailing 12 months (target {RULE_OF_40 * 100:g} %)": ("rule_of_40", "pct")}
    for label, (key, unit) in ttm.items():
        if model.is_segment:
            rows[label] = company
        elif model.table("financials") is None:
            rows[label] = "n/a: no financials table"
        else:
            rows[label] = fmt(r40[key], unit)
    return pd.DataFrame({model.period.title: rows})


def churn_model_table(model: KpiModel) -> pd.DataFrame | None:
    """The sBG model's parameters and what they imply, in words and formatted numbers (None when
    there is no model: the chart above says why)."""
    from ..metrics.sbg import sbg_verdict

    cm = model.churn_model
    if cm is None:
        return None
    fit, cur, d = cm["fit"], model.base_currency, cm["monthly_discount"]
    margin_source = "from financials" if cm["margin_from_financials"] else "default: no financials table"
    rows = {
        f"Cohorts fitted ({cm['first_cohort']} to {cm['last_cohort']}), customers at month 0":
            format_value(cm["survivors"][0], "count"),
        "Mean monthly churn, alpha / (alpha + beta)": format_value(fit.mean_churn, "pct"),
        "What the fit says": sbg_verdict(fit),
        "Polarization 1 / (alpha + beta + 1)": f"{fit.polarization:.3f}",
        "Month-1 retention r(1)": format_value(fit.retention(1), "pct"),
        "Month-12 retention r(12)": format_value(fit.retention(12), "pct"),
        "DERL of a new customer (months)": f"{fit.derl(d, 0):.1f}",
        "ARPA (installed base)": format_value(cm["arpa"], "money", cur),
        f"Gross margin ({margin_source})": format_value(cm["gross_margin"], "pct"),
        "sBG CLV at installed-base ARPA (pooled monthly cohorts; the CLV/CAC page uses the per-interval "
        "model below)": format_value(cm["clv"], "money", cur),
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
        "Visitor -> lead (leads created / unique visitors)": pct(rates["visitor_to_lead"]),
        "Lead -> SQL (leads created in the period that reached SQL)": pct(rates["lead_to_sql"]),
        "Lead -> customer (same leads, won so far)": pct(rates["lead_to_customer"]),
        "Win rate (won / deals closed in the period)": pct(rates["win_rate"]),
        "Trials started": format_value(rates["trials"], "count"),
        "Activation rate (activated / trials)": pct(rates["activation_rate"]),
        "Trial -> paid": pct(rates["trial_to_paid"]),
        "Demos booked": format_value(rates["demos_booked"], "count"),
        "Demos held / demos booked": pct(rates["demo_conversion"]),
        "ASP of deals won (ACV)": format_value(rates["asp_won"], "money", model.base_currency),
    }
    return pd.DataFrame({model.period.title: rows})


def funnel_table(model: KpiModel) -> pd.DataFrame | None:
    """Leads at each stage in both views, with the conversions of the cohort view."""
    if model.funnel is None:
        return None
    cohort, flow = model.funnel["cohort"], model.funnel["flow"]
    return (cohort.assign(flow=flow["count"]).rename(columns={"count": "cohort"})
            .rename(index=STAGE_NAMES))


def channel_table(model: KpiModel) -> pd.DataFrame | None:
    """The funnel per acquisition channel (:func:`~kpilib.metrics.funnel.channel_funnel`)."""
    return model.channels


def stage_table(model: KpiModel) -> pd.DataFrame | None:
    """Days spent in each stage by the period's leads (:func:`~kpilib.metrics.funnel.stage_durations`)."""
    from ..metrics.funnel import stage_durations

    leads = model.table("leads")
    return None if leads is None else stage_durations(leads, model.period).rename(index=_STAGE_STEPS)


def rep_table(model: KpiModel) -> pd.DataFrame | None:
    """The sales reps' leaderboard (:func:`~kpilib.metrics.funnel.rep_leaderboard`)."""
    from ..metrics.funnel import rep_leaderboard

    leads = model.table("leads")
    return None if leads is None else rep_leaderboard(leads, model.table("sales_activities"), model.period)


def changes_table(model: KpiModel, n: int = 8) -> pd.DataFrame:
    """The ``n`` accounts whose MRR moved most over the period (the overview's "what changed")."""
    return model.movers(n).set_index("customer_id")


def churned_table(model: KpiModel, n: int = 10) -> pd.DataFrame | None:
    """The ``n`` largest accounts lost in the period (MRR at its start), or None when none churned."""
    movers = model.movers(None)
    churned = movers[movers["movement"] == "churn"].head(n)
    return None if churned.empty else churned.set_index("customer_id")[["name", "segment", "mrr_before"]]


def costs_table(model: KpiModel) -> pd.DataFrame | None:
    """Spend, CAC, CPL and CPA per channel and for all channels (None with the reason on the page)."""
    return model.acquisition_costs[0]


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
                           group=comments["group"].str.capitalize())


def engagement_table(model: KpiModel) -> pd.DataFrame | None:
    """Churn within the engagement horizon by band (low, medium, high)."""
    found = model.engagement
    return None if found is None else found[1].rename(index=str.capitalize)


def caption(model: KpiModel, name: str) -> str:
    """A table's caption, from the figures it shows (so it names the right wave or horizon)."""
    wave = model.wave("nps")
    if name == "nps_segment":
        return f"NPS by segment, {wave.title} wave" if wave is not None else "NPS by segment"
    if name == "segment_retention":
        return "Logo retention by segment, cohorts weighted by their size"
    if name == "nps_trend":
        return "NPS by wave"
    if name == "enps":
        return "eNPS by wave (company-wide)"
    raise KpiError(f"no caption named {name!r}")


#: Funnel stages as readers name them.
STAGE_NAMES = {"lead": "Lead", "mql": "MQL", "sql": "SQL", "opportunity": "Opportunity", "won": "Won"}
_STAGE_STEPS = {f"{a} -> {b}": f"{STAGE_NAMES[a]} -> {STAGE_NAMES[b]}"
                for a, b in zip(list(STAGE_NAMES)[:-1], list(STAGE_NAMES)[1:])}


def web_table(model: KpiModel) -> pd.DataFrame | None:
    """Web traffic per channel with the total row, for the funnel page; None without web traffic."""
    from ..metrics.funnel import web_summary

    web = model.table("web_traffic")
    if web is None:
        return None
    by_channel = web_summary(web, model.period, by_channel=True).sort_values("bounce_rate")
    return pd.concat([by_channel, web_summary(web, model.period).rename(index={"total": "All channels"})])


def missing_note(model: KpiModel, names: list[str]) -> HTML:
    """A note naming the optional tables a page needs that the data lack (or have no rows)."""
    missing = [n for n in names if model.table(n) is None]
    if not missing:
        return HTML("")
    listed = ", ".join(f"'{n}'" for n in missing)
    return note(f"{model.data.source} has no rows in {listed} up to {model.period.end_date.date()}: "
                "the sections that need them are left out.")


def funnel_notes(model: KpiModel) -> HTML:
    """The funnel page's notes: missing tables, and that every figure on it is company-wide."""
    parts = [missing_note(model, ["leads", "web_traffic", "sales_activities"]).data]
    if model.is_segment and model.leads_have_segment:
        parts.append(note("Leads carry a segment, so the funnel, win rate and sales cycle are the "
                          "segment's own; web traffic and rep activity remain company-wide.").data)
    elif model.is_segment:
        parts.append(note("Company-wide figures: leads, web traffic and rep activity are not tied to "
                          "a segment before a deal is won, so this page shows the whole company's "
                          "funnel, not the segment's (add a segment column to leads to change that).").data)
    return HTML("".join(parts))


def unit_economics_note(model: KpiModel) -> HTML:
    """The LTV:CAC verdict with the inputs it rests on, written from the figures."""
    from .titles import ltv_cac_verdict

    econ, inputs = model.unit_economics
    value = econ.loc["LTV:CAC", "value"]
    cur = model.base_currency
    return note(f"LTV:CAC is {format_value(value, 'ratio', missing='undefined')}: {ltv_cac_verdict(value)}. "
                f"Inputs: ARPA of the period's new customers {format_value(inputs['new_arpa'], 'money', cur)} "
                f"(the installed base's is {format_value(inputs['arpa'], 'money', cur)}, shown beside), gross margin "
                f"{format_value(inputs['gross_margin'], 'pct')}, six-month average churn "
                f"{format_value(inputs['churn_6m'], 'pct')} a month.")


def unit_economics_table(model: KpiModel) -> pd.DataFrame:
    """CAC, payback, LTV, sBG CLV and LTV:CAC formatted, with why any is undefined."""
    econ, _ = model.unit_economics
    return pd.DataFrame({"value": [format_value(v, u, model.base_currency, missing="undefined")
                                   for v, u in zip(econ["value"], econ["unit"])],
                         "why undefined": econ["note"]}, index=econ.index)


def voice_trend(model: KpiModel, survey: str = "nps", waves: int = 8) -> pd.DataFrame | None:
    """NPS (or eNPS) of the last ``waves`` closed waves up to the pack's wave; ``None`` if none.

    A quarter still open at the period's end (answers still coming in) is left out.
    """
    from ..metrics.voice import nps_trend

    wave = model.wave(survey)
    responses = model.table("survey_responses")
    if wave is None or responses is None:
        return None
    trend = nps_trend(responses, survey)
    closed = trend[[q.end_time.normalize() <= model.period.end_date for q in trend.index]]
    return closed.tail(waves)


_SURVEYS = {"nps": "NPS", "enps": "eNPS", "ces": "Customer effort"}


def _wave_words(wave) -> str:
    """``the Q4 2025 wave (2025-10-01 to 2025-12-31)``, or for a year pack ``every answer of 2025``."""
    if wave.kind == "year":
        return f"every answer of {wave.label}"
    return f"the {wave.title} wave ({wave.start_date.date()} to {wave.end_date.date()})"


def voice_note(model: KpiModel, survey: str = "nps") -> HTML:
    """Which wave the page reports for ``survey`` (nps, enps) and what it is compared with, or that
    none has closed."""
    name = _SURVEYS[survey]
    now, before = model.voice(survey), model.previous_voice(survey)
    if now["wave"] is None:
        return note(f"No {name} survey wave had closed by {model.period.end_date.date()}: {name} is not shown.")
    text = (f"{name} {now['nps']:+.0f} ± {now['margin_of_error']:.0f} from {_wave_words(now['wave'])}, "
            f"{now['n']:,.0f} answers")
    if survey == "enps":
        text += " (company-wide)"
    if before["wave"] is not None:
        text += f"; {_wave_words(before['wave'])} gave {before['nps']:+.0f} ({before['n']:,.0f} answers)."
    else:
        text += "; there is no earlier wave to compare with."
    return note(text)


def ces_note(model: KpiModel) -> HTML:
    """The customer effort score of the reported wave, compared with the wave before it."""
    from ..metrics.voice import ces_summary, survey_wave

    responses = model.table("survey_responses")
    wave = model.wave("ces")
    if wave is None or responses is None:
        return note(f"No customer effort wave had closed by {model.period.end_date.date()}.")
    now = ces_summary(responses, wave)
    text = f"Customer effort {now['mean']:.1f} of 7 from {_wave_words(wave)}, {now['n']:,.0f} answers"
    before = survey_wave(responses, model.period, "ces", before=wave)
    if before is not None:
        then = ces_summary(responses, before)
        text += f"; {_wave_words(before)} gave {then['mean']:.1f} ({then['n']:,.0f} answers)."
    else:
        text += "; there is no earlier wave to compare with."
    return note(text)


def churn_basis_table(model: KpiModel) -> pd.DataFrame:
    """Who the period's customer churn counts: the starting customers, those lost, and apart from
    them the customers who started and stopped paying inside the period."""
    c = model.customer_churn
    rows = {
        "Customers paying at the period's start": format_value(c["starting_customers"], "count"),
        "... of whom no longer paying at its end": format_value(c["lost_customers"], "count"),
        "Customer churn of the period (share of the starting customers)": format_value(c["customer_churn"], "pct"),
        "Monthly equivalent": format_value(c["customer_churn_monthly"], "pct"),
        "Not counted above: started and stopped paying inside the period": format_value(c["won_and_lost"], "count"),
    }
    return pd.DataFrame({model.period.title: rows})


def interval_churn_table(model: KpiModel) -> pd.DataFrame:
    """The per-billing-interval churn model: who is fitted, churn per renewal and per month, CLV,
    and what each fit says (its sentence is written from its parameters)."""
    icm = model.interval_churn
    if icm is None:
        return pd.DataFrame({"What the model says": {}})
    cur = model.base_currency
    summary = icm.summary
    shown = pd.DataFrame({
        "Customers": [format_value(v, "count") for v in summary["customers"]],
        "Share": [format_value(v, "pct") for v in summary["weight"]],
        "Churn per renewal": [format_value(v, "pct") for v in summary["period_churn"]],
        "Monthly equivalent (first year)": [format_value(v, "pct") for v in summary["monthly_churn"]],
        "CLV of a new customer": [format_value(v, "money", cur) for v in summary["clv"]],
        "What the model says": summary["verdict"].fillna("").to_numpy(),
    }, index=[{"month": "Monthly plans", "quarter": "Quarterly plans", "year": "Annual plans",
               "all": "All (acquisition mix)"}.get(g, g) for g in summary.index])
    shown.loc["All (acquisition mix)", "Share"] = format_value(icm.coverage, "pct") + " fitted"
    return shown.rename_axis("Billing interval")


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
        text += (f" The goals file sets no MRR goal for {fc.index[0].strftime('%B %Y')} to "
                 f"{fc.index[-1].strftime('%B %Y')}.")
    return note(text)


def forecast_table(model: KpiModel) -> pd.DataFrame:
    """The forecast by month: central line, band, committed MRR and the central line's two parts."""
    fc = model.forecast.forecast
    out = fc[["central", "low", "high", "committed", "installed_base", "new_business"]]
    return out.set_axis(fc.index.strftime("%b %Y"), axis=0).rename_axis("month")


def forecast_assumptions_table(model: KpiModel) -> pd.DataFrame:
    """What the forecast rests on, worded and formatted: retention per billing interval, net expansion,
    the new-business run-rate, the installed base and the band's bootstrap (or why there is no forecast)."""
    fc = model.forecast.forecast
    cur = model.base_currency
    a = fc.attrs.get("assumptions")
    if a is None:
        reason = str(fc["reason"].iloc[0]) if len(fc) else ""
        return pd.DataFrame({"value": {"Why there is no forecast": reason}})
    names = {"month": "monthly plans", "quarter": "quarterly plans", "year": "annual plans"}
    rows = {f"Retention, {names.get(k, k)}": v for k, v in a["retention"].items()}
    rows |= {
        "Net expansion a month: expansion + contraction over the MRR retained, last 12 months":
            format_value(a["net_expansion_monthly"], "pct"),
        f"New and reactivated MRR a month (run-rate, last {a['window_months']} months)":
            format_value(a["new_mrr_monthly"], "money", cur),
        f"Customers paying at the end of {model.period.last.strftime('%B %Y')}":
            format_value(a["installed_customers"], "count"),
        "Their MRR": format_value(a["installed_mrr"], "money", cur),
        "Band": (f"{a['level'] * 100:.0f} % predictive bootstrap, {a['n_boot']:,} replicates (seed {a['seed']})"
                 if a["n_boot"] else "none (no bootstrap)"),
        "Bootstrap refits that kept the point fit": format_value(a["failed_refits"], "count"),
    }
    return pd.DataFrame({"value": rows})


def backtest_table(model: KpiModel) -> pd.DataFrame:
    """The backtest: each forecast made months before the period's end against the MRR that happened;
    the reason column only when a forecast could not be made."""
    bt = model.forecast.backtest
    shown = bt.assign(made_at=bt["made_at"].map(lambda p: p.strftime("%b %Y")),
                      inside_band=[("yes" if v else "no") if v is not pd.NA and not pd.isna(v) else "–"
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
    return None if shown.empty else shown.set_axis(shown.index.strftime("%b %Y"), axis=0).rename_axis("month")


def pipeline_note(model: KpiModel) -> HTML:
    """The open pipeline against the forecast's run-rate, in words (:func:`kpilib.report.titles.pipeline_note`)."""
    from .titles import pipeline_note as words

    f = model.forecast
    run_rate = f.forecast.attrs.get("assumptions", {}).get("new_mrr_monthly", float("nan"))
    return note(words(f.pipeline, run_rate, model.base_currency, f.pipeline_missing))
