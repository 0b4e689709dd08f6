"""Who is in a figure: the accounts or leads behind it, openable on the page itself.

Each figure that counts accounts or leads (each MRR movement, the churned accounts, each cohort,
each funnel stage, each NPS group) becomes a ``<details>`` element whose summary states the
figure and whose body lists the rows behind it, so an e-mailed page answers "who?" offline. The
lists are plain HTML tables (the pack's template makes them searchable, sortable and
downloadable as CSV); without scripts they still open and read.

**Size limit.** A list holds at most its ``limit`` rows (:data:`DRILL_ROWS`, 1,000; a cohort
:data:`COHORT_ROWS`, 250), the largest or first by the list's own order, and then says how many
more there are and where they all are (``movements.csv``, ``customers.csv``, or the source
table). A page therefore carries at most a few thousand list rows whatever the size of the
company: about 1 MB of HTML more at the most (docs/performance.md gives the measured sizes).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pandas as pd

from ..data.dataset import is_member
from ..i18n import N_, _, ngettext
from .format import format_value

if TYPE_CHECKING:
    from .model import KpiModel

#: rows written per list; above it the first ones are shown and the page says how many more
DRILL_ROWS = 1000
#: rows written per cohort (18 cohorts on the churn page)
COHORT_ROWS = 250

MOVEMENTS = {"new": N_("New business"), "expansion": N_("Expansion"), "reactivation": N_("Reactivation"),
             "contraction": N_("Contraction"), "churn": N_("Churn")}

CellUnit = Literal["text", "money", "count"]


@dataclass(frozen=True)
class Drill:
    """One openable list: ``summary`` is the figure in words, ``rows`` the rows behind it, shown
    in the order given with ``columns`` (key, header, unit). ``total`` is the figure itself,
    written as ``data-total`` so a reader (or a test) can check the list against it."""

    key: str
    summary: str
    rows: pd.DataFrame
    columns: tuple[tuple[str, str, CellUnit], ...]
    total: float | None = None
    where_all: str = ""  # where every row is when the list is cut: "movements.csv", ...
    limit: int = DRILL_ROWS


def _cell(value: object, unit: CellUnit, currency: str, key: str) -> str:
    if unit == "text":
        return f"<td>{html.escape('' if pd.isna(value) else str(value))}</td>"
    css = ' class="kpi-change"' if key == "change" else ""
    if pd.isna(value):
        return f"<td{css}></td>"
    text = format_value(value, "money" if unit == "money" else "count", currency)
    return f'<td{css} data-value="{float(value)!r}">{html.escape(text)}</td>'  # type: ignore[arg-type]


def drill_html(drills: list[Drill], currency: str) -> str:
    """The lists as ``<details>`` elements in one ``<div class="kpi-drills">``."""
    parts = []
    for d in drills:
        shown = d.rows.head(d.limit)
        head = "".join(f"<th>{html.escape(header)}</th>" for _key, header, _unit in d.columns)
        body = "".join("<tr>" + "".join(_cell(row[k], unit, currency, k) for k, _header, unit in d.columns) + "</tr>"
                       for row in shown.to_dict("records"))
        table = (f'<table class="kpi-drill-list"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
                 if len(shown) else "")
        more = ""
        if len(d.rows) > len(shown):
            words = (_("The first {shown} of {total} are listed; all of them are in {where}.") if d.where_all
                     else _("The first {shown} of {total} are listed."))
            text = words.format(shown=format_value(len(shown), "count"), total=format_value(len(d.rows), "count"),
                                where=_(d.where_all))
            more = f'<p class="kpi-drill-more">{html.escape(text)}</p>'
        total = f' data-total="{float(d.total)!r}"' if d.total is not None else ""
        parts.append(f'<details class="kpi-drill" data-drill="{html.escape(d.key)}"{total}>'
                     f"<summary>{html.escape(d.summary)}</summary>{table}{more}</details>")
    return '<div class="kpi-drills">' + "".join(parts) + "</div>"


def _count(n: int) -> str:
    """``1,204``: a count in a list's summary."""
    return format_value(n, "count")


def _headers(columns: tuple[tuple[str, str, CellUnit], ...], **fields: object) -> tuple[tuple[str, str, CellUnit], ...]:
    """Columns with their headers (marked with ``N_``) in the current language, their ``{fields}`` filled."""
    return tuple((key, _(header).format(**fields) if fields else _(header), unit) for key, header, unit in columns)


# --- revenue: the movements ------------------------------------------------------------------

def movement_accounts(model: KpiModel) -> pd.DataFrame:
    """The customer-months behind the period's movements, largest change first.

    Columns: ``customer_id, name, segment, plans`` (active at the period's end, or for a customer
    no longer paying, those of its last subscriptions), ``cohort`` (first paid month), ``month``,
    ``tenure`` (months since the cohort month), ``mrr_before``, ``mrr_after``, ``change``
    (after - before) and ``movement``. Summed by movement, ``change`` gives the bridge's figures."""
    from .export import movement_rows

    rows = movement_rows(model)
    rows = rows[rows["movement"] != "unchanged"].copy()
    rows["cohort"] = rows["customer_id"].map(model.cohorts.astype(str)).astype(object).fillna("")
    rows = rows.join(last_plans(model, rows["customer_id"].unique()).rename("plans"), on="customer_id")
    rows["plans"] = rows["plans"].astype(object).fillna("")
    months = pd.PeriodIndex(rows["month"], freq="M")
    firsts = pd.PeriodIndex(rows["cohort"].replace("", None), freq="M")
    rows["tenure"] = [(m - c).n if not pd.isna(c) else pd.NA for m, c in zip(months, firsts)]
    rows["change"] = rows["mrr_after"] - rows["mrr_before"]
    rows = rows.assign(size=rows["change"].abs()).sort_values(["size", "customer_id", "month"],
                                                              ascending=[False, True, True], kind="stable")
    return rows[["customer_id", "name", "segment", "plans", "cohort", "month", "tenure", "mrr_before",
                 "mrr_after", "change", "movement"]].reset_index(drop=True)


def last_plans(model: KpiModel, customers: Iterable[str] | None = None) -> pd.Series:
    """Per customer, the plans of its subscriptions active at the period's end; for a customer
    with none active then, the plans of the subscriptions that ended last (``A + B``, sorted).
    ``customers``: only these (a list names a few of 200,000: the rest are not worked out)."""
    from .export import joined_plans

    subs = model.data.subscriptions
    if customers is not None:
        subs = subs[is_member(subs["customer_id"], customers)]
    end = model.period.end_date
    started = subs[subs["start_date"] <= end]
    stop = started["end_date"].where(started["end_date"].notna() & (started["end_date"] <= end), pd.Timestamp.max)
    latest = stop.groupby(started["customer_id"]).transform("max")
    return joined_plans(started[stop == latest])


_MOVEMENT_COLUMNS: tuple[tuple[str, str, CellUnit], ...] = (
    ("customer_id", N_("Customer"), "text"), ("name", N_("Name"), "text"), ("segment", N_("Segment"), "text"),
    ("plans", N_("Plans (current or last)"), "text"), ("cohort", N_("Cohort"), "text"), ("month", N_("Month"), "text"),
    ("tenure", N_("Tenure (months)"), "text"), ("mrr_before", N_("MRR before"), "money"),
    ("mrr_after", N_("MRR after"), "money"), ("change", N_("Change"), "money"))


def movement_drills(accounts: pd.DataFrame, totals: pd.Series, currency: str,
                    limit: int = DRILL_ROWS) -> list[Drill]:
    """One list per movement: the summary states the figure and the number of customers."""
    money = lambda v: format_value(v, "money", currency)  # noqa: E731
    drills = []
    columns = _headers(_MOVEMENT_COLUMNS)
    for movement, words in MOVEMENTS.items():
        rows = accounts[accounts["movement"] == movement]
        total = float(totals.get(movement, 0.0))
        customers = rows["customer_id"].nunique()
        summary = (ngettext("{movement}: {amount} from {n} customer", "{movement}: {amount} from {n} customers",
                            customers).format(movement=_(words), amount=money(total), n=_count(customers))
                   if len(rows) else _("{movement}: {amount}, no customer").format(movement=_(words),
                                                                                 amount=money(total)))
        drills.append(Drill(movement, summary, rows, columns, total, "movements.csv", limit))
    return drills


def movement_drilldown_html(accounts: pd.DataFrame, totals: pd.Series, currency: str,
                            limit: int = DRILL_ROWS) -> str:
    """The revenue page's lists, one per movement (see :func:`movement_drills`)."""
    return drill_html(movement_drills(accounts, totals, currency, limit), currency)


# --- churn: the churned accounts and the cohorts ---------------------------------------------

def churned_accounts(model: KpiModel) -> pd.DataFrame:
    """The customers paying at the period's start and not at its end (the churn rate's numerator),
    largest MRR lost first: ``customer_id, name, segment, plans, cohort, tenure`` (months from the
    cohort month to the period's end), ``mrr_before`` (MRR at the start)."""
    movers = model.movers(None)
    rows = movers[movers["movement"] == "churn"].copy()
    rows = rows.join(last_plans(model, rows["customer_id"].unique()).rename("plans"), on="customer_id")
    rows["cohort"] = rows["customer_id"].map(model.cohorts.astype(str))
    rows["tenure"] = [(model.period.last - pd.Period(c, freq="M")).n if isinstance(c, str) else pd.NA
                      for c in rows["cohort"]]
    return rows[["customer_id", "name", "segment", "plans", "cohort", "tenure", "mrr_before"]].reset_index(drop=True)


def churned_drill(model: KpiModel) -> Drill:
    rows = churned_accounts(model)
    lost = float(rows["mrr_before"].sum())
    money = format_value(lost, "money", model.base_currency)
    summary = (ngettext("Churned accounts: {n} customer paying at the period's start, not at its end "
                        "({amount} of MRR at the start)",
                        "Churned accounts: {n} customers paying at the period's start, not at its end "
                        "({amount} of MRR at the start)", len(rows)).format(n=_count(len(rows)), amount=money)
               if len(rows) else _("Churned accounts: none in this period"))
    columns: tuple[tuple[str, str, CellUnit], ...] = (
        ("customer_id", N_("Customer"), "text"), ("name", N_("Name"), "text"), ("segment", N_("Segment"), "text"),
        ("plans", N_("Last plans"), "text"), ("cohort", N_("Cohort"), "text"),
        ("tenure", N_("Months since cohort"), "text"),
        ("mrr_before", N_("MRR at the start"), "money"))
    return Drill("churned", summary, rows, _headers(columns), float(len(rows)), "movements.csv")


def cohort_drills(model: KpiModel, cohorts: pd.PeriodIndex) -> list[Drill]:
    """One list per cohort of the heatmaps: its customers and the ages they paid at (a customer is
    in the logo-retention cell of each age listed)."""
    members = model.cohort_members
    info = model.data.customers.set_index("customer_id")[["name", "segment"]]
    columns = _headers((
        ("customer_id", N_("Customer"), "text"), ("name", N_("Name"), "text"), ("segment", N_("Segment"), "text"),
        ("paid_at_ages", N_("Paying at ages (months)"), "text"), ("ages_paid", N_("Months paid"), "count"),
        ("first_mrr", N_("MRR at age 0"), "money"), ("last_mrr", N_("MRR at {month}"), "money")),
        month=model.period.last)
    members = members.join(info)  # once: the customer ids hashed once, not once per cohort
    drills = []
    for cohort in cohorts:
        rows = members[members["cohort"] == cohort].rename_axis("customer_id").reset_index()
        rows = rows.sort_values(["first_mrr", "customer_id"], ascending=[False, True], kind="stable")
        paying = int((rows["last_mrr"] > 0).sum())
        summary = ngettext("Cohort {cohort}: {n} customer, {paying} paying at {month}",
                           "Cohort {cohort}: {n} customers, {paying} paying at {month}", len(rows)).format(
            cohort=cohort, n=_count(len(rows)), paying=_count(paying), month=model.period.last)
        drills.append(Drill(f"cohort-{cohort}", summary, rows, columns, float(len(rows)), "customers.csv",
                            COHORT_ROWS))
    return drills


# --- funnel: each stage ----------------------------------------------------------------------

#: a lead's outcome (the contract's values) as the lists show it, in the reader's language
_OUTCOMES = {"won": N_("Deal won"), "lost": N_("Deal lost")}


def funnel_drills(model: KpiModel, stage_names: dict[str, str]) -> list[Drill]:
    """One list per funnel stage (cohort view): the leads created in the period that reached it."""
    from ..metrics.funnel import STAGES, stage_leads

    leads = model.table("leads")
    if leads is None:
        return []
    columns: tuple[tuple[str, str, CellUnit], ...] = (
        ("lead_id", N_("Lead"), "text"), ("channel", N_("Channel"), "text"), ("owner", N_("Sales rep"), "text"),
        ("created", N_("Created"), "text"), ("reached", N_("Reached the stage"), "text"),
        ("outcome", N_("Outcome"), "text"),
        ("customer_id", N_("Customer"), "text"))
    drills = []
    for stage, column in STAGES.items():
        rows = stage_leads(leads, model.period, stage)
        shown = pd.DataFrame({
            "lead_id": rows["lead_id"], "channel": rows["channel"],
            "owner": rows["owner"] if "owner" in rows else "",
            "created": rows["created_at"].dt.date.astype(str),
            "reached": rows[column].dt.date.astype(str).where(rows[column].notna(), _("(a later stage)")),
            "outcome": rows["outcome"].map(lambda o: _(_OUTCOMES[o]) if o in _OUTCOMES else o),
            "customer_id": rows["customer_id"] if "customer_id" in rows else ""})
        summary = ngettext("{stage}: {n} lead", "{stage}: {n} leads", len(rows)).format(stage=stage_names[stage],
                                                                                         n=_count(len(rows)))
        drills.append(Drill(f"stage-{stage}", summary, shown, _headers(columns), float(len(rows)),
                            N_("the leads table")))
    return drills


# --- voice: each NPS group -------------------------------------------------------------------

_GROUPS = {"promoter": N_("Promoters (9-10)"), "passive": N_("Passives (7-8)"), "detractor": N_("Detractors (0-6)")}


def nps_drills(model: KpiModel) -> list[Drill]:
    """One list per NPS group of the wave the page reports: who answered what, and when."""
    from ..metrics.voice import nps_answers

    wave = model.wave("nps")
    responses = model.table("survey_responses")
    if wave is None or responses is None:
        return []
    answers = nps_answers(responses, wave)
    info = model.data.customers.set_index("customer_id")[["name", "segment"]]
    answers = answers.join(info, on="respondent_id").assign(
        answered=answers["responded_at"].dt.date.astype(str))
    columns: tuple[tuple[str, str, CellUnit], ...] = (
        ("respondent_id", N_("Customer"), "text"), ("name", N_("Name"), "text"), ("segment", N_("Segment"), "text"),
        ("score", N_("Score"), "count"), ("answered", N_("Answered on"), "text"), ("comment", N_("Comment"), "text"))
    drills = []
    for group, words in _GROUPS.items():
        rows = answers[answers["group"] == group]
        summary = (ngettext("{group}: {n} answer in {year}", "{group}: {n} answers in {year}", len(rows))
                   if wave.kind == "year" else
                   ngettext("{group}: {n} answer in the {wave} wave", "{group}: {n} answers in the {wave} wave",
                            len(rows))).format(group=_(words), n=_count(len(rows)), wave=wave.title, year=wave.label)
        drills.append(Drill(f"nps-{group}", summary, rows, _headers(columns), float(len(rows)),
                            N_("the survey_responses table")))
    return drills
