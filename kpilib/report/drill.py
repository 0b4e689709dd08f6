"""Who is in a figure: the accounts behind each MRR movement, openable on the page itself.

Each movement of the period's bridge (new, expansion, reactivation, contraction, churn) becomes
a ``<details>`` element whose summary is the figure and whose body lists the customer-months
behind it, so an e-mailed page answers "who?" offline. The lists are plain HTML tables (the
pack's template makes them searchable, sortable and downloadable); without scripts they still
open and read. At most :data:`DRILL_ROWS` rows per movement are written, the largest first, so
a page stays small at any number of customers; the rest are in ``movements.csv``.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd

from .format import format_value

if TYPE_CHECKING:
    from .model import KpiModel

#: rows written per movement list; above it the largest are shown and the page says how many more
DRILL_ROWS = 1000

MOVEMENTS = {"new": "New business", "expansion": "Expansion", "reactivation": "Reactivation",
             "contraction": "Contraction", "churn": "Churn"}


def movement_accounts(model: KpiModel) -> pd.DataFrame:
    """The customer-months behind the period's movements, largest change first.

    Columns: ``customer_id, name, segment, plans`` (active at the period's end, or for a customer
    no longer paying, those of its last subscriptions), ``cohort`` (first
    paid month), ``month``, ``tenure`` (months since the cohort month), ``mrr_before``,
    ``mrr_after``, ``change`` (after - before) and ``movement``. Summed by movement, ``change``
    gives the bridge's figures."""
    from .export import customer_rows, movement_rows

    rows = movement_rows(model)
    rows = rows[rows["movement"] != "unchanged"].copy()
    info = customer_rows(model).set_index("customer_id")[["cohort"]]
    rows = rows.join(info, on="customer_id").join(last_plans(model).rename("plans"), on="customer_id")
    rows["plans"] = rows["plans"].fillna("")
    months = pd.PeriodIndex(rows["month"], freq="M")
    cohorts = pd.PeriodIndex(rows["cohort"].replace("", None), freq="M")
    rows["tenure"] = [(m - c).n if not pd.isna(c) else pd.NA for m, c in zip(months, cohorts)]
    rows["change"] = rows["mrr_after"] - rows["mrr_before"]
    rows = rows.assign(size=rows["change"].abs()).sort_values(["size", "customer_id", "month"],
                                                              ascending=[False, True, True], kind="stable")
    return rows[["customer_id", "name", "segment", "plans", "cohort", "month", "tenure", "mrr_before",
                 "mrr_after", "change", "movement"]].reset_index(drop=True)


def last_plans(model: KpiModel) -> pd.Series:
    """Per customer, the plans of its subscriptions active at the period's end; for a customer
    with none active then, the plans of the subscriptions that ended last (``A + B``, sorted)."""
    subs = model.data.subscriptions
    end = model.period.end_date
    started = subs[subs["start_date"] <= end]
    stop = started["end_date"].where(started["end_date"].notna() & (started["end_date"] <= end), pd.Timestamp.max)
    latest = stop.groupby(started["customer_id"]).transform("max")
    last = started[stop == latest]
    return last.groupby("customer_id")["plan"].agg(lambda s: " + ".join(sorted(set(s))))


_HEADERS = ["Customer", "Name", "Segment", "Plans (current or last)", "Cohort", "Month", "Tenure (months)",
            "MRR before", "MRR after", "Change"]


def movement_drilldown_html(accounts: pd.DataFrame, totals: pd.Series, currency: str,
                            limit: int = DRILL_ROWS) -> str:
    """One openable list per movement: the summary states the figure and the number of customers,
    the table lists them (``data-value`` holds each change exactly, ``data-total`` the figure)."""
    money = lambda v: format_value(v, "money", currency)  # noqa: E731
    parts = []
    for movement, words in MOVEMENTS.items():
        rows = accounts[accounts["movement"] == movement]
        total = float(totals.get(movement, 0.0))
        customers = rows["customer_id"].nunique()
        summary = (f"{words}: {money(total)} from {customers:,} customer{'s' if customers != 1 else ''}"
                   if len(rows) else f"{words}: {money(total)}, no customer")
        shown = rows.head(limit)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                r.customer_id, r.name, r.segment, r.plans, r.cohort, r.month,
                "" if pd.isna(r.tenure) else r.tenure)) +
            f'<td data-value="{float(r.mrr_before)!r}">{money(r.mrr_before)}</td>'
            f'<td data-value="{float(r.mrr_after)!r}">{money(r.mrr_after)}</td>'
            f'<td class="kpi-change" data-value="{float(r.change)!r}">{money(r.change)}</td></tr>'
            for r in shown.itertuples())
        more = (f'<p class="kpi-drill-more">The {len(shown):,} largest of {len(rows):,} are listed; all of them '
                f"are in movements.csv.</p>" if len(rows) > len(shown) else "")
        head = "".join(f"<th>{h}</th>" for h in _HEADERS)
        table = (f'<table class="kpi-drill-list"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
                 if len(rows) else "")
        parts.append(f'<details class="kpi-drill" data-movement="{movement}" data-total="{total!r}">'
                     f"<summary>{html.escape(summary)}</summary>{table}{more}</details>")
    return '<div class="kpi-drills">' + "".join(parts) + "</div>"
