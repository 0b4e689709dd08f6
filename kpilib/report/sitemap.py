"""The pack's pages: each notebook's file stem, the short title of the navigation bars and the title
the index shows, in reading order.

A module of its own, without pandas, because the notebook workers import it to render pages
(:mod:`kpilib.report.worker`), and a worker that imported pandas only for these names paid about
0.6 s of CPU for it.
"""

from __future__ import annotations

from ..i18n import N_

#: file stem -> (short title for the navigation bars, the index's title of the page)
PAGE_TITLES: dict[str, tuple[str, str]] = {
    "00_overview": (N_("Overview"), N_("Overview: how did we do?")),
    "01_revenue": (N_("Revenue"), N_("Revenue: MRR, ARR and movements")),
    "02_churn_cohorts": (N_("Churn and cohorts"), N_("Churn and cohorts")),
    "03_funnel": (N_("Funnel"), N_("Funnel and sales activity")),
    "04_clv_cac": (N_("CAC and lifetime value"), N_("Acquisition cost and lifetime value")),
    "05_nps": (N_("Customer voice"), N_("Customer voice and engagement")),
    "06_forecast": (N_("Forecast"), N_("Forecast: MRR in twelve months, the track record and the goals")),
}
#: file stem -> the short title of the navigation bars
PAGES: dict[str, str] = {name: nav for name, (nav, _index_title) in PAGE_TITLES.items()}
#: Notebooks of the pack, in reading order, with the title shown in the index
NOTEBOOKS: dict[str, str] = {name: title for name, (_nav, title) in PAGE_TITLES.items()}
